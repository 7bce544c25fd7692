//! Blobs in the GridFS bucket `blobs` (`blobs.files`, `blobs.chunks`), the blob key as the
//! file name.
//!
//! Every `put` uploads a new GridFS file with a fresh UUID v7 text `_id`. GridFS writes the
//! chunks first and the files document last, on close, so a blob is visible only once complete;
//! a failed put aborts its upload (deleting its chunks), and an abandoned one is cleaned up by
//! the driver when the upload stream is dropped. After a put completes, older files of the same
//! key are deleted. `get` reads the newest complete file of the key (the greatest `_id`).

use async_trait::async_trait;
use bytes::Bytes;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::stream::{StreamExt, TryStreamExt};
use modelyard_core::{BlobKey, BlobStore, ByteStream, Error, Result};
use mongodb::bson::{Bson, doc};
use mongodb::error::{ErrorKind, GridFsErrorKind};

use crate::MongoStore;
use crate::error::map_error;

/// How much of a blob one read asks for.
const READ_CHUNK: usize = 256 * 1024;

/// An I/O error from a GridFS stream, with its driver error when there is one.
fn io_error(err: std::io::Error) -> Error {
    match err.into_inner() {
        Some(inner) => match inner.downcast::<mongodb::error::Error>() {
            Ok(driver) => map_error(*driver),
            Err(other) => Error::unavailable(format!("GridFS: {other}")),
        },
        None => Error::unavailable("GridFS stream failed"),
    }
}

impl MongoStore {
    /// The ids of the complete files of `key`, with an `_id` filter added.
    async fn file_ids(
        &self,
        key: &BlobKey,
        id_filter: Option<mongodb::bson::Document>,
    ) -> Result<Vec<Bson>> {
        let mut filter = doc! { "filename": key.as_str() };
        if let Some(id_filter) = id_filter {
            filter.insert("_id", id_filter);
        }
        let files = self.bucket.find(filter).await.map_err(map_error)?;
        let files: Vec<_> = files.try_collect().await.map_err(map_error)?;
        Ok(files.into_iter().map(|file| file.id).collect())
    }

    /// Deletes GridFS files by id; a file already gone is fine.
    async fn delete_files(&self, ids: Vec<Bson>) -> Result<()> {
        for id in ids {
            match self.bucket.delete(id).await {
                Ok(()) => {}
                Err(err)
                    if matches!(
                        err.kind.as_ref(),
                        ErrorKind::GridFs(GridFsErrorKind::FileNotFound { .. })
                    ) => {}
                Err(err) => return Err(map_error(err)),
            }
        }
        Ok(())
    }
}

#[async_trait]
impl BlobStore for MongoStore {
    async fn put(&self, key: &BlobKey, mut data: ByteStream) -> Result<u64> {
        let id = uuid::Uuid::now_v7().to_string();
        let mut upload = self
            .bucket
            .open_upload_stream(key.as_str())
            .id(Bson::String(id.clone()))
            .await
            .map_err(map_error)?;
        let mut size = 0u64;
        let written: Result<()> = async {
            while let Some(chunk) = data.next().await {
                let chunk = chunk?;
                upload.write_all(&chunk).await.map_err(io_error)?;
                size += chunk.len() as u64;
            }
            upload.close().await.map_err(io_error)
        }
        .await;
        if let Err(err) = written {
            // Best effort: a failed abort leaves orphan chunks, never a visible blob.
            if let Err(abort) = upload.abort().await {
                tracing::warn!(key = %key, error = %abort, "could not discard a failed upload");
            }
            return Err(err);
        }
        // The new file is complete: the older files of the key go.
        let older = self.file_ids(key, Some(doc! { "$lt": &id })).await?;
        self.delete_files(older).await?;
        Ok(size)
    }

    async fn get(&self, key: &BlobKey) -> Result<ByteStream> {
        let newest = self
            .bucket
            .find_one(doc! { "filename": key.as_str() })
            .sort(doc! { "_id": -1 })
            .await
            .map_err(map_error)?
            .ok_or_else(|| Error::not_found("blob"))?;
        let download = match self.bucket.open_download_stream(newest.id).await {
            Ok(download) => download,
            Err(err)
                if matches!(
                    err.kind.as_ref(),
                    ErrorKind::GridFs(GridFsErrorKind::FileNotFound { .. })
                ) =>
            {
                return Err(Error::not_found("blob"));
            }
            Err(err) => return Err(map_error(err)),
        };
        let chunks = futures::stream::try_unfold(download, |mut download| async move {
            let mut buffer = vec![0u8; READ_CHUNK];
            let read = download.read(&mut buffer).await.map_err(io_error)?;
            if read == 0 {
                return Ok(None);
            }
            buffer.truncate(read);
            Ok(Some((Bytes::from(buffer), download)))
        });
        Ok(chunks.boxed())
    }

    async fn delete(&self, key: &BlobKey) -> Result<()> {
        let ids = self.file_ids(key, None).await?;
        self.delete_files(ids).await
    }
}
