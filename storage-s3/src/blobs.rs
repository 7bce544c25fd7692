//! [`BlobStore`] on an S3 bucket through `object_store`.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use modelyard_core::{BlobKey, BlobStore, ByteStream, Error, Result};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;

use crate::S3Config;
use crate::error::{map_error, map_io_error};

/// Bytes per part of a multipart upload; a blob smaller than this is one `PUT`. S3's smallest
/// part is 5 MiB.
const PART_BYTES: usize = 5 * 1024 * 1024;

/// Parts of one upload in flight at once: an upload holds at most this many parts, plus the
/// one filling, in memory.
const PARTS_IN_FLIGHT: usize = 2;

/// Blobs as objects under `<prefix>/<key>` in a bucket.
#[derive(Clone)]
pub struct S3BlobStore {
    store: Arc<dyn ObjectStore>,
    prefix: Option<Path>,
    description: String,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore").field("at", &self.description).finish_non_exhaustive()
    }
}

impl S3BlobStore {
    /// Opens the bucket of `config`, credentials from the environment, and lists its prefix
    /// once: a missing bucket, a wrong endpoint or refused credentials fail here.
    pub async fn connect(config: &S3Config) -> Result<Self> {
        let store = Self::open(config)?;
        store.check().await?;
        Ok(store)
    }

    /// Builds the client without contacting the server (see [`S3BlobStore::connect`]).
    pub fn open(config: &S3Config) -> Result<Self> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&config.bucket);
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                // S3-compatible servers take the bucket in the path.
                .with_virtual_hosted_style_request(false);
        }
        if let Some(region) = &config.region {
            builder = builder.with_region(region);
        }
        let store = builder.build().map_err(|err| {
            Error::validation("blobs", format!("the S3 settings are incomplete: {err}"))
        })?;
        let prefix = (!config.prefix.is_empty()).then(|| Path::from(config.prefix.as_str()));
        let endpoint = config.endpoint.as_deref().unwrap_or("AWS");
        let description = format!("s3://{}/{} at {endpoint}", config.bucket, config.prefix);
        Ok(Self { store: Arc::new(store), prefix, description })
    }

    /// Lists one page of the prefix: the bucket exists and the credentials are accepted.
    async fn check(&self) -> Result<()> {
        self.store.list_with_delimiter(self.prefix.as_ref()).await.map_err(|err| {
            let err = map_error(err);
            Error::unavailable(format!("{}: {err}", self.description))
        })?;
        tracing::info!(blobs = %self.description, "S3 blob store reachable");
        Ok(())
    }

    /// The object of a key: the prefix, then the key's own segments (already checked).
    fn location(&self, key: &BlobKey) -> Path {
        let mut parts: Vec<object_store::path::PathPart<'_>> =
            self.prefix.iter().flat_map(|prefix| prefix.parts()).collect();
        parts.extend(key.segments().map(object_store::path::PathPart::from));
        Path::from_iter(parts)
    }
}

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
impl BlobStore for S3BlobStore {
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
