//! The shared sled handles, the mapping of sled's errors into Modelyard's kinds, and the encoding
//! of values (JSON, so a store can be inspected and migrated with ordinary tools).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use modelyard_core::memo::DecodeMemo;
use modelyard_core::{Dataset, Error, Model, Notification, Result, TrainingRun, UserId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::ConflictableTransactionResult;

/// The on-disk layout this crate reads and writes; bumped on an incompatible change.
const FORMAT_VERSION: &[u8] = b"2";
/// The layout before run histories became records of their own; opening it migrates it.
const FORMAT_V1: &[u8] = b"1";

use crate::SledConfig;
use crate::error::map_error;
use crate::history::{History, stored_epoch_key};
use crate::records::Collection;

/// Memory for decoded users remembered (about 3,000 signed-in users).
const USERS_MEMO_BYTES: u64 = 4 * 1024 * 1024;

/// Every tree of a store, opened once and shared by the trait implementations.
pub(crate) struct Trees {
    /// The database, for flushes and sequence numbers.
    pub(crate) db: Db,
    /// User id -> user.
    pub(crate) users: sled::Tree,
    /// Users decoded from unchanged bytes are not parsed again (every request reads its user).
    pub(crate) users_memo: DecodeMemo<[u8; 16]>,
    /// Normalised email -> user id.
    pub(crate) users_by_email: sled::Tree,
    /// Lower-cased username -> user id.
    pub(crate) users_by_username: sled::Tree,
    /// Dataset records with their owner index.
    pub(crate) datasets: Arc<Collection<Dataset>>,
    /// Model records with their owner index.
    pub(crate) models: Arc<Collection<Model>>,
    /// Training runs with their owner index.
    pub(crate) runs: Arc<Collection<TrainingRun>>,
    /// Notifications with their owner index.
    pub(crate) notifications: Arc<Collection<Notification>>,
    /// Per-epoch metrics of runs.
    pub(crate) history: Arc<History>,
    /// Cache key -> expiry ++ value.
    pub(crate) cache: sled::Tree,
    /// Jobs waiting for a worker, oldest first.
    pub(crate) queue_ready: sled::Tree,
    /// Jobs held by a worker, by run id.
    pub(crate) queue_leased: sled::Tree,
    /// Run id -> its key in `queue_ready`.
    pub(crate) queue_index: sled::Tree,
    /// Owner id -> the sequence number of their latest claim (big-endian), for fair claiming.
    pub(crate) queue_served: sled::Tree,
}

impl Trees {
    /// Opens every tree of the database at `path`.
    pub(crate) fn open(path: &Path, options: &SledConfig) -> Result<Self> {
        let (db, format) = open_db(path, options)?;
        if format.as_deref() == Some(FORMAT_V1) {
            migrate_v1_histories(&db)?;
            set_format(&db, format.as_deref())?;
        }
        let db = Db::new(db);
        Ok(Self {
            users: open_tree(&db, "users")?,
            users_memo: DecodeMemo::new(USERS_MEMO_BYTES),
            users_by_email: open_tree(&db, "users_by_email")?,
            users_by_username: open_tree(&db, "users_by_username")?,
            datasets: Arc::new(Collection::open(&db, "datasets")?),
            models: Arc::new(Collection::open(&db, "models")?),
            runs: Arc::new(Collection::open(&db, "runs")?),
            notifications: Arc::new(Collection::open(&db, "notifications")?),
            history: Arc::new(History::open(&db)?),
            cache: open_tree(&db, "cache")?,
            queue_ready: open_tree(&db, "queue_ready")?,
            queue_leased: open_tree(&db, "queue_leased")?,
            queue_index: open_tree(&db, "queue_index")?,
            queue_served: open_tree(&db, "queue_served")?,
            db,
        })
    }
}

/// What a transaction closure returns: aborts carry a Modelyard error.
pub(crate) type TxResult<T> = ConflictableTransactionResult<T, Error>;

/// Opens (or creates) the sled database and checks it holds this crate's format, or the one
/// before it (returned, for [`Trees::open`] to migrate).
fn open_db(path: &Path, options: &SledConfig) -> Result<(sled::Db, Option<Vec<u8>>)> {
    let db = open_when_unlocked(path, options)?;
    let meta = db.open_tree("meta").map_err(map_error)?;
    // A store written by an incompatible version must fail loudly, not be misread.
    match meta.compare_and_swap("format", None::<&[u8]>, Some(FORMAT_VERSION)).map_err(map_error)? {
        Ok(()) => Ok((db, None)),
        Err(cas) if cas.current.as_deref() == Some(FORMAT_VERSION) => Ok((db, None)),
        Err(cas) if cas.current.as_deref() == Some(FORMAT_V1) => {
            Ok((db, cas.current.map(|v| v.to_vec())))
        }
        Err(cas) => Err(Error::internal(format!(
            "sled store format {:?} is not supported (expected {:?})",
            cas.current.map(|v| String::from_utf8_lossy(&v).into_owned()),
            String::from_utf8_lossy(FORMAT_VERSION),
        ))),
    }
}

/// Marks the store as this crate's format, once it was migrated from `from`.
fn set_format(db: &sled::Db, from: Option<&[u8]>) -> Result<()> {
    let meta = db.open_tree("meta").map_err(map_error)?;
    meta.compare_and_swap("format", from, Some(FORMAT_VERSION))
        .map_err(map_error)?
        .map_err(|_| Error::internal("the sled store's format changed while it was migrated"))?;
    db.flush().map_err(map_error)?;
    Ok(())
}

/// Format 1 kept each run's epochs in the run's record (`history`); format 2 keeps them in the
/// `run_epochs` tree. Moves every run's epochs there, then drops them from the run, counting
/// them in `epochsCompleted`. Each run is rewritten only after its epochs are flushed, so a
/// migration interrupted by a crash resumes where it stopped.
fn migrate_v1_histories(db: &sled::Db) -> Result<()> {
    let runs = open_tree(db, "runs")?;
    let epochs = open_tree(db, "run_epochs")?;
    let mut migrated = 0usize;
    for entry in runs.iter() {
        let (id, bytes) = entry.map_err(map_error)?;
        let mut run: serde_json::Map<String, serde_json::Value> = decode(&bytes, "run")?;
        let Some(history) = run.remove("history") else { continue };
        let owner: UserId = run
            .get("owner")
            .cloned()
            .and_then(|owner| serde_json::from_value(owner).ok())
            .ok_or_else(|| Error::internal("a stored run has no readable owner"))?;
        let history: Vec<modelyard_core::EpochMetrics> = serde_json::from_value(history)
            .map_err(|err| Error::internal(format!("a stored run's history: {err}")))?;
        let id: [u8; 16] = id.as_ref().try_into().map_err(|_| Error::internal("run key"))?;
        let mut batch = sled::Batch::default();
        for metrics in &history {
            batch.insert(&stored_epoch_key(owner, id, metrics.epoch)[..], encode(metrics)?);
        }
        epochs.apply_batch(batch).map_err(map_error)?;
        db.flush().map_err(map_error)?;
        let completed = history.iter().map(|m| m.epoch).max().unwrap_or(0);
        run.insert("epochsCompleted".into(), completed.into());
        runs.insert(id, encode(&run)?).map_err(map_error)?;
        migrated += 1;
    }
    db.flush().map_err(map_error)?;
    tracing::info!(runs = migrated, "sled store migrated to format 2: run histories as records");
    Ok(())
}

/// Opens the database, waiting up to two seconds for its file lock: a handle dropped a moment
/// ago (in this process or a dying one) releases the lock only when its background flusher
/// has stopped. Another live process keeps the lock, and the error then says so.
fn open_when_unlocked(path: &Path, options: &SledConfig) -> Result<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match sled::Config::new().path(path).cache_capacity(options.cache_bytes).open() {
            Err(sled::Error::Io(io))
                if is_lock_held(&io) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(sled::Error::Io(io)) if is_lock_held(&io) => {
                return Err(Error::unavailable(format!(
                    "sled store {} is open in another process (its file lock is held): {io}",
                    path.display()
                )));
            }
            other => return other.map_err(map_error),
        }
    }
}

/// Whether sled failed to open because another handle holds the database's file lock. sled
/// 0.34 reports it as `ErrorKind::Other` ("could not acquire lock on ..."), not `WouldBlock`.
fn is_lock_held(io: &std::io::Error) -> bool {
    io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("could not acquire lock")
}

/// Opens one named tree.
pub(crate) fn open_tree(db: &sled::Db, name: &str) -> Result<sled::Tree> {
    db.open_tree(name).map_err(map_error)
}

/// Encodes a value for storage.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|err| Error::internal(format!("encoding: {err}")))
}

/// Decodes a stored value; bad bytes are a broken store (`Internal`), never a panic.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|err| Error::internal(format!("stored {what} does not decode: {err}")))
}

/// The key of an owner-index entry: owner then id, so a prefix scan lists one owner's records and
/// (ids being UUID v7) iterating it backwards yields the newest first.
pub(crate) fn owner_key(owner: UserId, id: [u8; 16]) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(&owner.to_bytes());
    key[16..].copy_from_slice(&id);
    key
}

/// The id half of an owner-index key, or `None` for a key of another shape.
pub(crate) fn id_of_owner_key(key: &[u8]) -> Option<[u8; 16]> {
    if key.len() != 32 {
        return None;
    }
    key[16..].try_into().ok()
}

/// The database and its group commit. Every acknowledged write is flushed first ("anything
/// reported as created is flushed"); with many requests writing at once, a flush per write
/// would hold a blocking thread each (the pool grew to dozens of threads under the soak, each
/// with its own allocator caches) and fsync the same log again and again. Instead one flush
/// runs at a time, and a caller whose writes an already finished flush covers returns at once.
#[derive(Clone)]
pub(crate) struct Db {
    sled: sled::Db,
    commit: Arc<GroupCommit>,
}

/// The state of [`Db::flush`].
#[derive(Default)]
struct GroupCommit {
    /// Flushes asked for so far; each caller takes the next number after its writes.
    asked: AtomicU64,
    /// Every number up to this one is covered by a flush that has finished.
    covered: AtomicU64,
    /// Held while a flush runs; callers queue on it in order.
    running: tokio::sync::Mutex<()>,
    /// Flushes that reached the disk, for the tests.
    flushed: AtomicU64,
}

impl std::ops::Deref for Db {
    type Target = sled::Db;

    fn deref(&self) -> &sled::Db {
        &self.sled
    }
}

impl Db {
    fn new(sled: sled::Db) -> Self {
        Self { sled, commit: Arc::default() }
    }

    /// Makes every write this caller made before the call durable.
    ///
    /// A flush started after the caller's writes covers them: each caller takes a number, and a
    /// flush records the highest number taken before it started. sled 0.34's `flush_async` can
    /// leave concurrent callers waiting forever (spacejam/sled#1241, #1308; our eight-claimer
    /// queue test hung on it), so the blocking flush runs on the blocking pool, one at a time.
    /// A caller dropped while its flush runs leaves that flush to finish and record nothing.
    pub(crate) async fn flush(&self) -> Result<()> {
        let commit = &self.commit;
        let ticket = commit.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let _running = commit.running.lock().await;
        if commit.covered.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let covers = commit.asked.load(Ordering::SeqCst);
        let db = self.sled.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|err| Error::internal(format!("flush task failed: {err}")))?
            .map_err(map_error)?;
        commit.flushed.fetch_add(1, Ordering::Relaxed);
        commit.covered.fetch_max(covers, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_keys_put_the_owner_first_and_the_id_last() {
        let owner = UserId::new();
        let id = [7u8; 16];
        let key = owner_key(owner, id);
        assert_eq!(&key[..16], &owner.to_bytes());
        assert_eq!(id_of_owner_key(&key), Some(id));
        assert_eq!(id_of_owner_key(&key[..31]), None);
    }

    #[test]
    fn owner_keys_of_later_ids_sort_later_within_an_owner() {
        let owner = UserId::new();
        let first = modelyard_core::DatasetId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = modelyard_core::DatasetId::new();
        assert!(owner_key(owner, first.to_bytes()) < owner_key(owner, second.to_bytes()));
    }

    #[test]
    fn undecodable_bytes_are_an_internal_error() {
        let err = decode::<modelyard_core::Job>(b"{not json", "job").unwrap_err();
        assert_eq!(err.code(), "INTERNAL");
    }

    #[test]
    fn io_failures_are_retryable_and_others_are_not() {
        let io = sled::Error::Io(std::io::Error::other("disk gone"));
        assert_eq!(map_error(io).code(), "UNAVAILABLE");
        let bug = sled::Error::Unsupported("nope".into());
        assert_eq!(map_error(bug).code(), "INTERNAL");
    }

    #[tokio::test]
    async fn a_format_1_store_moves_its_run_histories_into_epoch_records() {
        use modelyard_core::testkit::{sample_epoch, sample_run};
        let dir = tempfile::tempdir().unwrap();
        let run = sample_run(
            UserId::new(),
            modelyard_core::ModelId::new(),
            modelyard_core::DatasetId::new(),
        );
        let (owner, id) = (run.owner, run.id);
        {
            // A run as format 1 stored it: its epochs inside, no count.
            let db = sled::Config::new().path(dir.path().join("db")).open().unwrap();
            db.open_tree("meta").unwrap().insert("format", FORMAT_V1).unwrap();
            let mut stored = serde_json::to_value(&run).unwrap();
            let fields = stored.as_object_mut().unwrap();
            fields.remove("epochsCompleted");
            let history: Vec<_> = (1..=3).map(sample_epoch).collect();
            fields.insert("history".into(), serde_json::to_value(&history).unwrap());
            let key = id.to_bytes();
            db.open_tree("runs").unwrap().insert(key, encode(&stored).unwrap()).unwrap();
            let index = db.open_tree("runs_by_owner").unwrap();
            index.insert(owner_key(owner, key), sled::IVec::default()).unwrap();
            db.flush().unwrap();
        }
        for _ in 0..2 {
            // Migrated on the first open; the second finds format 2 and changes nothing.
            let backend = crate::SledStore::open(&SledConfig::new(dir.path())).unwrap().backend();
            let read = backend.runs.get(owner, id).await.unwrap();
            assert_eq!(read.epochs_completed, 3);
            let epochs = backend.history.all_epochs(owner, id).await.unwrap();
            assert_eq!(epochs, (1..=3).map(sample_epoch).collect::<Vec<_>>());
            drop(backend);
        }
        let (_, format) = open_db(&dir.path().join("db"), &SledConfig::new("unused")).unwrap();
        assert_eq!(format, None, "the store is format 2 now");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_flushes_share_disk_flushes_and_each_covers_its_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (sled, _) = open_db(dir.path(), &SledConfig::new("unused")).unwrap();
        let db = Db::new(sled);
        let tree = open_tree(&db, "t").unwrap();
        let writers: Vec<_> = (0u32..64)
            .map(|i| {
                let (db, tree) = (db.clone(), tree.clone());
                tokio::spawn(async move {
                    tree.insert(i.to_be_bytes(), &[1u8; 512][..]).unwrap();
                    db.flush().await.unwrap();
                    // Covered: a flush that started after this write has finished.
                    assert!(db.commit.covered.load(Ordering::SeqCst) > 0);
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let flushed = db.commit.flushed.load(Ordering::SeqCst);
        assert!((1..64).contains(&flushed), "64 callers, {flushed} disk flushes");
        assert_eq!(db.commit.covered.load(Ordering::SeqCst), 64, "every caller is covered");
        // Nothing written since: a flush still runs once (its caller's writes may be anywhere).
        db.flush().await.unwrap();
        assert_eq!(db.commit.flushed.load(Ordering::SeqCst), flushed + 1);
        assert_eq!(tree.len(), 64);
    }

    #[test]
    fn a_store_of_another_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (db, _) = open_db(dir.path(), &SledConfig::new("unused")).unwrap();
            db.open_tree("meta").unwrap().insert("format", "999").unwrap();
            db.flush().unwrap();
        }
        let err = open_db(dir.path(), &SledConfig::new("unused")).unwrap_err();
        assert_eq!(err.code(), "INTERNAL", "{err}");
    }
}
