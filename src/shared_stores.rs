//! One set of stores per sled directory in this process. sled locks its directory against every
//! other open, this process's included, so a second [`crate::Modelyard::open`] of a directory
//! that a live yard holds shares that yard's stores — records, queue, blobs, cache and event
//! bus alike, so each yard sees the other's writes and live events — instead of failing.
//!
//! Only yards keep a directory shareable. A [`crate::Run`] handle, or a worker of a yard dropped
//! without [`crate::Modelyard::close`], that outlives every yard keeps the database (and its lock)
//! open, so an open meanwhile fails on sled's lock like a second process would.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use modelyard_core::{Error, Result, Stores};
use tokio::sync::Mutex;

/// Canonical sled directory -> the stores of the yards that have it open. Weak, so the database
/// closes (and its lock is released) when the last of those yards is dropped.
static OPEN_DIRECTORIES: Mutex<BTreeMap<PathBuf, Weak<Stores>>> = Mutex::const_new(BTreeMap::new());

/// The stores of the sled directory `dir` (created if missing): those of a live yard of this
/// process that has it open, else the ones `open` makes, remembered for the next caller. The
/// whole of `open` runs under the registry's lock, so two concurrent first opens of a directory
/// make one set of stores, not a lock error.
pub(crate) async fn open_or_share<F, Fut>(dir: &Path, open: F) -> Result<Arc<Stores>>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Stores>>,
{
    let key = canonical_directory(dir)?;
    let mut open_directories = OPEN_DIRECTORIES.lock().await;
    if let Some(stores) = open_directories.get(&key).and_then(Weak::upgrade) {
        return Ok(stores);
    }
    let stores = Arc::new(open().await?);
    open_directories.retain(|_, stores| stores.strong_count() > 0);
    open_directories.insert(key, Arc::downgrade(&stores));
    Ok(stores)
}

/// `dir` created and canonicalized, so `./data`, `data/` and a symlink to it are one directory.
fn canonical_directory(dir: &Path) -> Result<PathBuf> {
    let unavailable =
        |err: std::io::Error| Error::unavailable(format!("data dir {}: {err}", dir.display()));
    modelyard_core::store::private_fs::create_private_dir_all(dir).map_err(unavailable)?;
    std::fs::canonicalize(dir).map_err(unavailable)
}

#[cfg(all(test, feature = "sled"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::open_or_share;
    use crate::backends::{Opening, Role};
    use crate::fill_defaults;

    /// Opens `dir` through the registry, counting the sled opens it really makes.
    async fn open(dir: &std::path::Path, opened: &AtomicUsize) -> Arc<modelyard_core::Stores> {
        open_or_share(dir, || async {
            opened.fetch_add(1, Ordering::SeqCst);
            let url = format!("sled://{}", dir.display());
            let opening = Opening { url, base: None, namespace: String::new() };
            fill_defaults(crate::backends::open(Role::Records, opening).await?)
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn spellings_of_one_live_directory_share_one_open() {
        let root = tempfile::tempdir().unwrap();
        let opened = AtomicUsize::new(0);
        let first = open(&root.path().join("data"), &opened).await;
        let second = open(&root.path().join("data/./"), &opened).await;
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(opened.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_directory_whose_stores_were_all_dropped_opens_anew() {
        let root = tempfile::tempdir().unwrap();
        let opened = AtomicUsize::new(0);
        drop(open(root.path(), &opened).await);
        drop(open(root.path(), &opened).await);
        assert_eq!(opened.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_missing_directory_is_created() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("new/nested");
        let _stores = open(&dir, &AtomicUsize::new(0)).await;
        assert!(dir.is_dir());
    }
}
