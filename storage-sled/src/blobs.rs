//! Blobs as files under `<data dir>/blobs/<key segments>`. A put writes a temporary file in
//! `blobs/.tmp/`, syncs it and renames it into place, so a key only ever names a whole blob.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use modelyard_core::store::private_fs::{
    create_private_dir_all, create_private_dirs, create_private_file,
};
use modelyard_core::{BlobKey, BlobStore, ByteStream, Error, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where unfinished puts are written, inside the blob root so the final rename stays on one
/// file system.
const TMP_DIR: &str = ".tmp";

/// A put syncs what it has written whenever this much more has arrived (see `put`).
const EARLY_SYNC_BYTES: u64 = 8 * 1024 * 1024;

/// Bytes per chunk of a blob read.
const READ_CHUNK: usize = 64 * 1024;

/// A blob store on a local directory.
#[derive(Debug, Clone)]
pub struct FileBlobStore {
    root: PathBuf,
}

/// Maps a file-system failure: the disk may come back, so it is `Unavailable`.
fn io_error(err: std::io::Error) -> Error {
    Error::unavailable(format!("blob store: {err}"))
}

/// Deletes an unfinished temporary file when a put fails or is abandoned mid-stream.
struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    /// The put finished: the file has been renamed and must not be deleted.
    fn keep(mut self) {
        self.path = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            // Best effort: a leftover is also swept when the store is next opened.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Makes a directory's entries (a renamed or created file) durable.
async fn sync_dir(dir: &Path) -> Result<()> {
    tokio::fs::File::open(dir).await.map_err(io_error)?.sync_all().await.map_err(io_error)
}

impl FileBlobStore {
    /// Opens (or creates) a blob store rooted at `root`, discarding puts a crash left unfinished.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        let tmp = root.join(TMP_DIR);
        match std::fs::remove_dir_all(&tmp) {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::NotFound => {}
            Err(err) => return Err(io_error(err)),
        }
        create_private_dir_all(&root).map_err(io_error)?;
        create_private_dir_all(&tmp).map_err(io_error)?;
        Ok(Self { root })
    }

    /// The directory blobs live in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of `key`, checked to stay under the root.
    fn path_of(&self, key: &BlobKey) -> Result<PathBuf> {
        if key.segments().next() == Some(TMP_DIR) {
            return Err(Error::validation("blob_key", "reserved blob key prefix"));
        }
        let path = key.segments().fold(self.root.clone(), |path, segment| path.join(segment));
        // Keys are validated segments already; this guards against that check ever loosening.
        if !path.starts_with(&self.root) || path == self.root {
            return Err(Error::internal(format!("blob key {key} leaves the blob root")));
        }
        Ok(path)
    }

    /// Creates `dir` and any missing parents, syncing each new entry so the blob stays reachable
    /// after a crash.
    async fn create_dirs(&self, dir: &Path) -> Result<()> {
        if tokio::fs::metadata(dir).await.is_ok() {
            return Ok(());
        }
        create_private_dirs(dir).await.map_err(io_error)?;
        let mut parent = dir.parent();
        while let Some(p) = parent {
            sync_dir(p).await?;
            if p == self.root {
                break;
            }
            parent = p.parent();
        }
        Ok(())
    }
}

#[async_trait]
impl BlobStore for FileBlobStore {
    async fn put(&self, key: &BlobKey, mut data: ByteStream) -> Result<u64> {
        let path = self.path_of(key)?;
        let tmp_path = self.root.join(TMP_DIR).join(uuid::Uuid::new_v4().to_string());
        let mut file = create_private_file(&tmp_path).await.map_err(io_error)?;
        let tmp = TempFile { path: Some(tmp_path.clone()) };
        let mut size = 0u64;
        let mut unsynced = 0u64;
        let mut syncing: Option<tokio::task::JoinHandle<std::io::Result<()>>> = None;
        while let Some(chunk) = data.next().await {
            // An error from the stream drops `tmp`, which deletes the partial file.
            let chunk: Bytes = chunk?;
            file.write_all(&chunk).await.map_err(io_error)?;
            size += chunk.len() as u64;
            unsynced += chunk.len() as u64;
            // A large blob goes to the disk while it arrives, not all at the final sync: the
            // data written so far is synced in the background while writing goes on.
            if unsynced >= EARLY_SYNC_BYTES && syncing.as_ref().is_none_or(|s| s.is_finished()) {
                if let Some(synced) = syncing.take() {
                    synced.await.map_err(Error::internal)?.map_err(io_error)?;
                }
                file.flush().await.map_err(io_error)?;
                let early = file.try_clone().await.map_err(io_error)?.into_std().await;
                syncing = Some(tokio::task::spawn_blocking(move || early.sync_data()));
                unsynced = 0;
            }
        }
        if let Some(synced) = syncing.take() {
            synced.await.map_err(Error::internal)?.map_err(io_error)?;
        }
        file.flush().await.map_err(io_error)?;
        file.sync_all().await.map_err(io_error)?;
        drop(file);
        let dir = path.parent().ok_or_else(|| Error::internal("blob path has no parent"))?;
        self.create_dirs(dir).await?;
        tokio::fs::rename(&tmp_path, &path).await.map_err(io_error)?;
        tmp.keep();
        sync_dir(dir).await?;
        Ok(size)
    }

    async fn get(&self, key: &BlobKey) -> Result<ByteStream> {
        let path = self.path_of(key)?;
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(err) if err.kind() == ErrorKind::NotFound => return Err(Error::not_found("blob")),
            Err(err) => return Err(io_error(err)),
        };
        // A key that names a directory (a prefix of other keys) is not a blob.
        if !file.metadata().await.map_err(io_error)?.is_file() {
            return Err(Error::not_found("blob"));
        }
        let chunks = futures::stream::try_unfold(file, |mut file| async move {
            let mut buf = vec![0u8; READ_CHUNK];
            let read = file.read(&mut buf).await.map_err(io_error)?;
            if read == 0 {
                return Ok(None);
            }
            buf.truncate(read);
            Ok(Some((Bytes::from(buf), file)))
        });
        Ok(chunks.boxed())
    }

    async fn delete(&self, key: &BlobKey) -> Result<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => sync_dir(path.parent().unwrap_or(&self.root)).await,
            // Idempotent: nothing (or no blob, only a directory of other keys) to remove.
            Err(err) if matches!(err.kind(), ErrorKind::NotFound | ErrorKind::IsADirectory) => {
                Ok(())
            }
            Err(err) => Err(io_error(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_stay_under_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::open(dir.path()).unwrap();
        let key = BlobKey::parse("datasets/abc").unwrap();
        let path = store.path_of(&key).unwrap();
        assert_eq!(path, dir.path().join("datasets").join("abc"));
    }

    #[test]
    fn the_temporary_directory_is_not_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::open(dir.path()).unwrap();
        let key = BlobKey::parse(".tmp/x").unwrap();
        assert_eq!(store.path_of(&key).unwrap_err().code(), "VALIDATION");
    }

    #[tokio::test]
    async fn a_failed_put_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::open(dir.path()).unwrap();
        let key = BlobKey::parse("datasets/broken").unwrap();
        let chunks = vec![Ok(Bytes::from_static(b"part")), Err(Error::unavailable("upload cut"))];
        let err = store.put(&key, futures::stream::iter(chunks).boxed()).await.unwrap_err();
        assert_eq!(err.code(), "UNAVAILABLE");
        assert_eq!(store.get(&key).await.err().unwrap().code(), "NOT_FOUND");
        assert_eq!(std::fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_big_blob_reads_back_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::open(dir.path()).unwrap();
        let key = BlobKey::parse("artifacts/run/weights.safetensors").unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(store.put_bytes(&key, Bytes::from(data.clone())).await.unwrap(), 200_000);
        let chunks: Vec<Bytes> =
            futures::TryStreamExt::try_collect(store.get(&key).await.unwrap()).await.unwrap();
        assert!(chunks.len() > 1);
        assert_eq!(chunks.concat(), data);
    }

    #[tokio::test]
    async fn a_directory_of_other_keys_is_not_a_blob() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::open(dir.path()).unwrap();
        store.put_bytes(&BlobKey::parse("a/b").unwrap(), Bytes::from_static(b"x")).await.unwrap();
        let prefix = BlobKey::parse("a").unwrap();
        assert_eq!(store.get(&prefix).await.err().unwrap().code(), "NOT_FOUND");
        store.delete(&prefix).await.unwrap();
    }
}
