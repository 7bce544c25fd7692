//! [`BlobStore`] on an S3 bucket through `object_store`: uploads (one `PUT`, or a multipart
//! upload aborted unless completed), streamed and ranged reads, deletes.

use std::ops::Range;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use modelyard_core::{BlobKey, BlobStore, ByteStream, Error, Result};
use object_store::buffered::BufWriter;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;

use crate::S3Store;
use crate::error::{map_error, map_io_error};

/// Bytes per part of a multipart upload; a blob smaller than this is one `PUT`. S3's smallest
/// part is 5 MiB.
const PART_BYTES: usize = 5 * 1024 * 1024;

/// Parts of one upload in flight at once: an upload holds at most this many parts, plus the
/// one filling, in memory.
const PARTS_IN_FLIGHT: usize = 2;

/// An upload not yet completed: aborted when dropped, so an abandoned multipart upload leaves
/// no parts behind (a small blob has sent nothing yet, and its abort is free).
struct Upload(Option<BufWriter>);

impl Upload {
    async fn put(&mut self, bytes: bytes::Bytes) -> Result<()> {
        match &mut self.0 {
            Some(writer) => writer.put(bytes).await.map_err(map_error),
            None => Err(Error::internal("S3 upload used after it ended")),
        }
    }

    /// Completes the upload (one `PUT`, or the multipart completion).
    async fn finish(mut self) -> Result<()> {
        let Some(mut writer) = self.0.take() else {
            return Err(Error::internal("S3 upload used after it ended"));
        };
        writer.shutdown().await.map_err(map_io_error)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        let Some(mut writer) = self.0.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        runtime.spawn(async move {
            if let Err(err) = writer.abort().await {
                tracing::warn!(%err, "aborting an unfinished S3 upload failed");
            }
        });
    }
}

#[async_trait]
impl BlobStore for S3Store {
    async fn put(&self, key: &BlobKey, mut data: ByteStream) -> Result<u64> {
        let writer = BufWriter::with_capacity(self.store.clone(), self.location(key), PART_BYTES)
            .with_max_concurrency(PARTS_IN_FLIGHT);
        let mut upload = Upload(Some(writer));
        let mut size = 0u64;
        // An error of the stream returns here and drops (aborts) the upload.
        while let Some(chunk) = data.try_next().await? {
            size += chunk.len() as u64;
            upload.put(chunk).await?;
        }
        upload.finish().await?;
        Ok(size)
    }

    async fn get(&self, key: &BlobKey) -> Result<ByteStream> {
        let object = self.store.get(&self.location(key)).await.map_err(map_error)?;
        Ok(object.into_stream().map_err(map_error).boxed())
    }

    async fn get_range(&self, key: &BlobKey, range: Range<u64>) -> Result<ByteStream> {
        let location = self.location(key);
        if range.start >= range.end {
            // Nothing to read, but a missing key is still `NotFound`.
            self.store.head(&location).await.map_err(map_error)?;
            return Ok(futures::stream::empty().boxed());
        }
        let options =
            GetOptions { range: Some(GetRange::Bounded(range.clone())), ..GetOptions::default() };
        match self.store.get_opts(&location, options).await {
            Ok(object) => Ok(object.into_stream().map_err(map_error).boxed()),
            Err(err @ object_store::Error::NotFound { .. }) => Err(map_error(err)),
            // A range starting past the end is refused (416): it holds no bytes.
            Err(err) => match self.store.head(&location).await {
                Ok(meta) if range.start >= meta.size => Ok(futures::stream::empty().boxed()),
                _ => Err(map_error(err)),
            },
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<()> {
        match self.store.delete(&self.location(key)).await {
            Ok(()) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(map_error(err)),
        }
    }
}
