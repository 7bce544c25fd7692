//! Backups: a whole deployment, or one account's workspace, as one streamed archive of records
//! and files with a checksum per entry, restorable into any backend.
//!
//! # The archive (format version 1)
//!
//! A POSIX tar file, written in one pass and read in two (verify everything, then write):
//! - `manifest.json` first: the format's name and version, what was backed up, when, by what;
//! - then, account by account:
//!   - `users/<id>/user.json`;
//!   - `users/<id>/blobs/<key>`, the files of its datasets, then `users/<id>/datasets.jsonl`;
//!   - the files of its trained models, then `models.jsonl`;
//!   - `runs.jsonl` and `notifications.jsonl` (every `.jsonl` holds one record per line);
//!   - `users/<id>/history/<run>.jsonl`: each run's epoch metrics;
//! - `checksums.json` last: every entry before it with its size and SHA-256, and the counts.
//!
//! An archive without that last entry is truncated; one whose entries differ from it, or with
//! an entry out of place, is corrupt. Either is refused before anything is written. The
//! checksums find damage, not tampering: an archive is as trusted as whoever hands it over.
//!
//! Not in an archive: the cache, live events, the job queue and training checkpoints. A run
//! that was queued or running when it was backed up comes back failed, to be started again.

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, BufReader, ReadBuf};
use tokio_tar as tar;

use crate::{
    BlobKey, Dataset, DatasetId, EpochMetrics, Error, Model, ModelId, Notification, NotificationId,
    Record, Result, RunId, RunStatus, Stores, Timestamp, TrainingRun, User, UserId,
};

/// What the first entry of every archive calls its format.
pub const FORMAT: &str = "modelyard-backup";
/// The format version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// Users read per round while backing up a deployment.
const USER_PAGE: usize = 100;
/// The chunk in which a file is read from an archive into a blob store.
const CHUNK: usize = 256 * 1024;

/// What a backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every account and everything they own.
    Deployment,
    /// One account and its workspace.
    User(UserId),
}

/// What an archive holds, counted as it is written or restored.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupSummary {
    /// Accounts.
    pub users: u64,
    /// Datasets.
    pub datasets: u64,
    /// Models.
    pub models: u64,
    /// Training runs.
    pub runs: u64,
    /// Epoch records of those runs.
    pub epochs: u64,
    /// Notifications.
    pub notifications: u64,
    /// Files (datasets' and trained models').
    pub blobs: u64,
    /// Their bytes.
    pub blob_bytes: u64,
    /// Records left out because their file vanished while the backup ran (deleted meanwhile).
    pub skipped: u64,
}

/// The first entry: what the archive is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    format: String,
    version: u32,
    scope: ManifestScope,
    created_at: Timestamp,
    producer: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ManifestScope {
    Deployment,
    User { id: UserId },
}

/// The last entry: every entry before it, and the counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checksums {
    entries: Vec<EntrySum>,
    summary: BackupSummary,
}

/// One entry's path, size and SHA-256 (lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct EntrySum {
    path: String,
    size: u64,
    sha256: String,
}

/// Backs up and restores the records and files of a deployment's stores.
#[derive(Clone)]
pub struct BackupService {
    stores: Stores,
}

impl BackupService {
    /// A service over a deployment's stores.
    pub fn new(stores: Stores) -> Self {
        Self { stores }
    }

    /// Writes `scope` to `out` as an archive, streaming: memory holds one account's records
    /// of one kind at a time, never a file. A user missing for [`Scope::User`] is `NotFound`.
    ///
    /// Run it while no process writes, for an exact copy. Run live, every record is
    /// consistent with its files, and a record whose file is deleted meanwhile is left out
    /// (counted in [`BackupSummary::skipped`]).
    pub async fn export<W>(&self, scope: Scope, out: W) -> Result<BackupSummary>
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        Ok(self.write_archive(scope, out).await?.0)
    }

    /// [`BackupService::export`] into the file `path`, created 0600: written beside it under a
    /// temporary name, synced, then renamed over it, so that a failed backup never leaves a
    /// partial archive or spoils an earlier one there.
    pub async fn export_file(&self, scope: Scope, path: &Path) -> Result<BackupSummary> {
        let name = path
            .file_name()
            .ok_or_else(|| Error::validation("archive", "names a directory, not a file"))?;
        if tokio::fs::metadata(path).await.is_ok_and(|m| m.is_dir()) {
            return Err(Error::validation("archive", "names a directory, not a file"));
        }
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let partial = dir.join(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            uuid::Uuid::new_v4().simple()
        ));
        let file =
            crate::store::private_fs::create_private_file(&partial).await.map_err(|err| {
                Error::validation("archive", format!("cannot create {}: {err}", partial.display()))
            })?;
        // Removes the partial file however this ends short of the rename, cancellation included.
        let mut partial_guard = PartialFile(Some(partial.clone()));
        let written = async {
            let out = tokio::io::BufWriter::with_capacity(CHUNK, file);
            let (summary, out) = self.write_archive(scope, out).await?;
            out.into_inner().sync_all().await.map_err(write_error)?;
            tokio::fs::rename(&partial, path).await.map_err(write_error)?;
            Ok(summary)
        }
        .await;
        if written.is_ok() {
            partial_guard.0 = None;
        }
        written
    }

    async fn write_archive<W>(&self, scope: Scope, out: W) -> Result<(BackupSummary, W)>
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let mut writer =
            Writer { tar: tar::Builder::new(out), sums: Vec::new(), summary: <_>::default() };
        let manifest = Manifest {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            scope: match scope {
                Scope::Deployment => ManifestScope::Deployment,
                Scope::User(id) => ManifestScope::User { id },
            },
            created_at: crate::now(),
            producer: format!("modelyard-core {}", env!("CARGO_PKG_VERSION")),
        };
        writer.entry("manifest.json", &json(&manifest)?).await?;
        match scope {
            Scope::User(id) => {
                let user = self.stores.users.get_user(id).await?;
                self.export_user(&mut writer, &user).await?;
            }
            Scope::Deployment => {
                let mut after = None;
                loop {
                    let users = self.stores.users.list_users(after, USER_PAGE).await?;
                    for user in &users {
                        self.export_user(&mut writer, user).await?;
                    }
                    match users.last() {
                        Some(last) if users.len() == USER_PAGE => after = Some(last.id),
                        _ => break,
                    }
                }
            }
        }
        let checksums = Checksums { entries: writer.sums.clone(), summary: writer.summary };
        let summary = writer.summary;
        writer.entry("checksums.json", &json(&checksums)?).await?;
        let mut out = writer.tar.into_inner().await.map_err(write_error)?;
        tokio::io::AsyncWriteExt::flush(&mut out).await.map_err(write_error)?;
        Ok((summary, out))
    }

    /// One account: its record, files, records of every kind, then its runs' histories.
    async fn export_user<W>(&self, writer: &mut Writer<W>, user: &User) -> Result<()>
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let dir = format!("users/{}", user.id);
        writer.entry(&format!("{dir}/user.json"), &json(user)?).await?;
        writer.summary.users += 1;
        let stores = &self.stores;

        let mut lines = Vec::new();
        for dataset in stores.datasets.list_all(user.id).await? {
            let file = [(dataset.blob_key.clone(), dataset.size_bytes)];
            if writer.blobs(&self.stores, &dir, &file).await? {
                push_line(&mut lines, &dataset)?;
                writer.summary.datasets += 1;
            }
        }
        writer.entry(&format!("{dir}/datasets.jsonl"), &lines).await?;

        lines.clear();
        for model in stores.models.list_all(user.id).await? {
            if writer.blobs(&self.stores, &dir, &model_files(&model)).await? {
                push_line(&mut lines, &model)?;
                writer.summary.models += 1;
            }
        }
        writer.entry(&format!("{dir}/models.jsonl"), &lines).await?;

        lines.clear();
        let runs = stores.runs.list_all(user.id).await?;
        for run in &runs {
            push_line(&mut lines, run)?;
        }
        writer.summary.runs += runs.len() as u64;
        writer.entry(&format!("{dir}/runs.jsonl"), &lines).await?;

        lines.clear();
        for notification in stores.notifications.list_all(user.id).await? {
            push_line(&mut lines, &notification)?;
            writer.summary.notifications += 1;
        }
        writer.entry(&format!("{dir}/notifications.jsonl"), &lines).await?;

        for run in &runs {
            lines.clear();
            let epochs = stores.history.all_epochs(user.id, run.id).await?;
            if epochs.is_empty() {
                continue;
            }
            for epoch in &epochs {
                push_line(&mut lines, epoch)?;
            }
            writer.summary.epochs += epochs.len() as u64;
            writer.entry(&format!("{dir}/history/{}.jsonl", run.id), &lines).await?;
        }
        Ok(())
    }

    /// Checks an archive whole, writing nothing: every entry against its checksum, every
    /// record against its type and owner, every file a record names present. Returns what
    /// it holds. A damaged, truncated or foreign file is a `Validation` error on `archive`.
    pub async fn verify(archive: &Path) -> Result<BackupSummary> {
        Ok(read_archive(archive, &mut Verify).await?.summary)
    }

    /// Restores an archive into this deployment's stores: [`BackupService::verify`] first,
    /// so a damaged archive writes nothing; then a check that none of its accounts, emails or
    /// files exists here (`Conflict`, naming it); then every account, file and record. Should
    /// a store fail midway, what was written is removed again before the error returns.
    ///
    /// A run that was queued or running when backed up is restored as failed: its queue entry
    /// and checkpoint are not in the archive.
    pub async fn import(&self, archive: &Path) -> Result<BackupSummary> {
        let verified = read_archive(archive, &mut Verify).await?;
        self.check_free(&verified).await?;
        let mut restore = Restore { stores: self.stores.clone(), written: Some(<_>::default()) };
        match read_archive(archive, &mut restore).await {
            Ok(restored) => {
                restore.written = None;
                Ok(restored.summary)
            }
            Err(err) => {
                tracing::warn!(%err, "restore failed; removing what it wrote");
                if let Some(written) = restore.written.take() {
                    written.undo(&self.stores).await;
                }
                Err(err)
            }
        }
    }

    /// `Conflict` when an account or file of the archive already exists here.
    async fn check_free(&self, verified: &Read) -> Result<()> {
        for user in &verified.users {
            match self.stores.users.get_user(user.id).await {
                Ok(_) => {
                    return Err(Error::Conflict(format!(
                        "account {} ({}) already exists here",
                        user.id, user.email
                    )));
                }
                Err(Error::NotFound(_)) => {}
                Err(err) => return Err(err),
            }
            if self.stores.users.find_user_by_email(&user.email).await?.is_some() {
                return Err(Error::Conflict(format!(
                    "email {} is already registered here",
                    user.email
                )));
            }
        }
        for key in &verified.blobs {
            match self.stores.blobs.get_range(key, 0..1).await {
                Ok(_) => {
                    return Err(Error::Conflict(format!("file {key} already exists here")));
                }
                Err(Error::NotFound(_)) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }
}

/// A backup file being written: removed when dropped, unless it was renamed into place.
struct PartialFile(Option<std::path::PathBuf>);

impl Drop for PartialFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take()
            && let Err(err) = std::fs::remove_file(&path)
        {
            tracing::warn!(%err, path = %path.display(), "partial backup not removed");
        }
    }
}

/// A model's trained files with their sizes.
fn model_files(model: &Model) -> Vec<(BlobKey, u64)> {
    model.artifact_files().map(|file| (file.blob_key.clone(), file.size_bytes)).collect()
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|err| Error::internal(format!("encoding: {err}")))
}

fn push_line<T: Serialize>(lines: &mut Vec<u8>, value: &T) -> Result<()> {
    serde_json::to_writer(&mut *lines, value)
        .map_err(|err| Error::internal(format!("encoding: {err}")))?;
    lines.push(b'\n');
    Ok(())
}

fn write_error(err: io::Error) -> Error {
    Error::Unavailable(format!("writing the backup: {err}"))
}

/// A refused archive: a user mistake about the file given as `archive`.
fn bad_archive(message: impl std::fmt::Display) -> Error {
    Error::validation("archive", message.to_string())
}

/// The archive being written, with its checksums so far.
struct Writer<W: AsyncWrite + Unpin + Send + 'static> {
    tar: tar::Builder<W>,
    sums: Vec<EntrySum>,
    summary: BackupSummary,
}

impl<W: AsyncWrite + Unpin + Send + 'static> Writer<W> {
    /// An entry held in memory.
    async fn entry(&mut self, path: &str, data: &[u8]) -> Result<()> {
        let mut reader = Tally::new(data);
        self.append(path, data.len() as u64, &mut reader).await?;
        self.sums.push(EntrySum { path: path.into(), size: reader.bytes, sha256: reader.hex() });
        Ok(())
    }

    /// Every file of one record, streamed from the blob store; `false` (writing nothing more)
    /// when one of them is gone.
    async fn blobs(
        &mut self,
        stores: &Stores,
        dir: &str,
        files: &[(BlobKey, u64)],
    ) -> Result<bool> {
        let mut streams = Vec::with_capacity(files.len());
        for (key, _) in files {
            match stores.blobs.get(key).await {
                Ok(stream) => streams.push(stream),
                Err(Error::NotFound(_)) => {
                    tracing::warn!(%key, "file deleted while backing up: its record is left out");
                    self.summary.skipped += 1;
                    return Ok(false);
                }
                Err(err) => return Err(err),
            }
        }
        for ((key, size), stream) in files.iter().zip(streams) {
            let reader = tokio_util::io::StreamReader::new(stream.map_err(io::Error::other));
            // One byte more than the record says, to tell a longer file from a whole one.
            let mut reader = Tally::new(reader.take(size + 1));
            let path = format!("{dir}/blobs/{key}");
            self.append(&path, *size, &mut (&mut reader).take(*size)).await?;
            let mut probe = [0u8; 1];
            let extra = reader.read(&mut probe).await.map_err(read_blob_error)?;
            if reader.bytes != *size || extra != 0 {
                return Err(Error::internal(format!(
                    "file {key} is {} bytes, its record says {size}",
                    if extra == 0 { reader.bytes.to_string() } else { "more than that".into() }
                )));
            }
            self.sums.push(EntrySum { path, size: *size, sha256: reader.hex() });
            self.summary.blobs += 1;
            self.summary.blob_bytes += size;
        }
        Ok(true)
    }

    async fn append<R: AsyncRead + Unpin>(&mut self, path: &str, size: u64, data: R) -> Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(size);
        header.set_mode(0o600);
        header.set_mtime(crate::now().timestamp().max(0) as u64);
        self.tar
            .append_data(&mut header, path, data)
            .await
            .map_err(|err| store_error_or(err, write_error))
    }
}

fn read_blob_error(err: io::Error) -> Error {
    store_error_or(err, |err| Error::Unavailable(format!("reading a file: {err}")))
}

/// The store's own error when an I/O error carries one (a blob stream read as bytes), else
/// `other` of the I/O error.
fn store_error_or(err: io::Error, other: impl FnOnce(io::Error) -> Error) -> Error {
    match err.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(store) => store.clone(),
        None => other(err),
    }
}

/// A reader that counts and hashes what passes through it.
struct Tally<R> {
    inner: R,
    sha: Sha256,
    bytes: u64,
}

impl<R> Tally<R> {
    fn new(inner: R) -> Self {
        Self { inner, sha: Sha256::new(), bytes: 0 }
    }

    fn hex(&self) -> String {
        format!("{:x}", self.sha.clone().finalize())
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Tally<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let read = &buf.filled()[before..];
            this.sha.update(read);
            this.bytes += read.len() as u64;
        }
        polled
    }
}

/// Where an entry belongs, from its path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    Manifest,
    Checksums,
    User(UserId),
    Blob(UserId, BlobKey),
    Records(UserId, Kind),
    History(UserId, RunId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Datasets,
    Models,
    Runs,
    Notifications,
}

impl Place {
    fn parse(path: &str) -> Option<Self> {
        match path {
            "manifest.json" => return Some(Self::Manifest),
            "checksums.json" => return Some(Self::Checksums),
            _ => {}
        }
        let rest = path.strip_prefix("users/")?;
        let (text, rest) = rest.split_once('/')?;
        let user: UserId = text.parse().ok()?;
        // One spelling per id: the one the writer uses.
        if user.to_string() != text {
            return None;
        }
        Some(match rest {
            "user.json" => Self::User(user),
            "datasets.jsonl" => Self::Records(user, Kind::Datasets),
            "models.jsonl" => Self::Records(user, Kind::Models),
            "runs.jsonl" => Self::Records(user, Kind::Runs),
            "notifications.jsonl" => Self::Records(user, Kind::Notifications),
            _ => {
                if let Some(key) = rest.strip_prefix("blobs/") {
                    Self::Blob(user, BlobKey::parse(key).ok()?)
                } else {
                    let run = rest.strip_prefix("history/")?.strip_suffix(".jsonl")?;
                    let id: RunId = run.parse().ok()?;
                    (id.to_string() == run).then_some(Self::History(user, id))?
                }
            }
        })
    }

    fn user(&self) -> Option<UserId> {
        match self {
            Self::User(u) | Self::Blob(u, _) | Self::Records(u, _) | Self::History(u, _) => {
                Some(*u)
            }
            Self::Manifest | Self::Checksums => None,
        }
    }
}

/// What one pass over an archive does with each entry, once its place is checked.
trait Visitor {
    /// A whole account record.
    async fn user(&mut self, user: &User) -> Result<()>;
    /// A file: `chunks` yields its bytes (checked against the archive's checksum after the
    /// last one); the visitor must read them all or fail.
    async fn blob(&mut self, key: &BlobKey, chunks: ChunkReader<'_>) -> Result<()>;
    /// One record line, decoded.
    async fn dataset(&mut self, record: Dataset) -> Result<()>;
    async fn model(&mut self, record: Model) -> Result<()>;
    async fn run(&mut self, record: TrainingRun) -> Result<()>;
    async fn notification(&mut self, record: Notification) -> Result<()>;
    async fn epoch(&mut self, owner: UserId, run: RunId, metrics: EpochMetrics) -> Result<()>;
}

/// What a pass read.
#[derive(Default)]
struct Read {
    summary: BackupSummary,
    users: Vec<User>,
    blobs: HashSet<BlobKey>,
}

/// The entry being read, chunk by chunk.
struct ChunkReader<'a> {
    reader: &'a mut (dyn AsyncRead + Unpin + Send),
}

impl ChunkReader<'_> {
    /// The next chunk, `None` at the end.
    async fn next(&mut self) -> Result<Option<Bytes>> {
        let mut buf = BytesMut::with_capacity(CHUNK);
        while buf.len() < CHUNK {
            let read = self.reader.read_buf(&mut buf).await.map_err(truncated)?;
            if read == 0 {
                break;
            }
        }
        Ok((!buf.is_empty()).then(|| buf.freeze()))
    }
}

fn truncated(err: io::Error) -> Error {
    bad_archive(format!("not a complete Modelyard backup (truncated or damaged): {err}"))
}

/// One pass over the archive at `path`: every entry checked for its place, decoded and handed
/// to `visitor`, and every checksum compared with the list at the end.
async fn read_archive(path: &Path, visitor: &mut impl Visitor) -> Result<Read> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|err| bad_archive(format!("cannot open {}: {err}", path.display())))?;
    let mut archive = tar::Archive::new(BufReader::with_capacity(CHUNK, file));
    let mut entries = archive.entries().map_err(truncated)?;
    let mut read = Read::default();
    let mut sums = Vec::new();
    let mut manifest = None;
    let mut checksums: Option<Checksums> = None;
    // The account being read, the record files seen for it, and its files and runs so far.
    let mut current: Option<UserId> = None;
    let mut last_kind: Option<Kind> = None;
    let mut files: HashSet<BlobKey> = HashSet::new();
    let mut runs: HashSet<RunId> = HashSet::new();
    let mut seen: HashSet<UserId> = HashSet::new();
    while let Some(entry) = entries.next().await {
        let mut entry = entry.map_err(truncated)?;
        let raw_path = entry.path().map_err(truncated)?.to_string_lossy().into_owned();
        if checksums.is_some() {
            return Err(bad_archive(format!("entry {raw_path} follows checksums.json")));
        }
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(bad_archive(format!("entry {raw_path} is not a file")));
        }
        if manifest.is_none() && raw_path != "manifest.json" {
            return Err(bad_archive(
                "not a Modelyard backup: it does not start with manifest.json",
            ));
        }
        let place = Place::parse(&raw_path)
            .ok_or_else(|| bad_archive(format!("unexpected entry {raw_path}")))?;
        // Entries of an account follow its user.json, in the order the writer puts them.
        if let Some(user) = place.user() {
            let order_ok = match &place {
                Place::User(_) => true,
                // A kind's files come before its records: datasets', then models'.
                Place::Blob(..) => {
                    current == Some(user) && last_kind.is_none_or(|last| last < Kind::Models)
                }
                Place::Records(_, kind) => {
                    current == Some(user) && last_kind.is_none_or(|last| last < *kind)
                }
                Place::History(..) => {
                    current == Some(user) && last_kind == Some(Kind::Notifications)
                }
                Place::Manifest | Place::Checksums => true,
            };
            if !order_ok {
                return Err(bad_archive(format!("entry {raw_path} is out of place")));
            }
        }
        let mut reader = Tally::new(&mut entry);
        match &place {
            Place::Manifest => {
                if manifest.is_some() {
                    return Err(bad_archive("a second manifest.json"));
                }
                let found: Manifest =
                    decode_whole(&mut reader, &raw_path, SMALL_ENTRY_BYTES).await?;
                if found.format != FORMAT {
                    return Err(bad_archive(format!(
                        "not a Modelyard backup (format {:?})",
                        found.format
                    )));
                }
                if found.version > FORMAT_VERSION {
                    return Err(bad_archive(format!(
                        "written by a newer Modelyard (format version {}); this one reads up \
                         to version {FORMAT_VERSION}",
                        found.version
                    )));
                }
                manifest = Some(found);
            }
            Place::Checksums => {
                checksums = Some(decode_whole(&mut reader, &raw_path, CHECKSUMS_BYTES).await?);
                continue;
            }
            Place::User(id) => {
                let user: User = decode_whole(&mut reader, &raw_path, SMALL_ENTRY_BYTES).await?;
                if user.id != *id {
                    return Err(bad_archive(format!("{raw_path} holds account {}", user.id)));
                }
                if let Some(ManifestScope::User { id: only }) = manifest.as_ref().map(|m| m.scope)
                    && only != *id
                {
                    return Err(bad_archive(format!(
                        "{raw_path}: a backup of account {only} holds another"
                    )));
                }
                if !seen.insert(*id) {
                    return Err(bad_archive(format!("account {id} appears twice")));
                }
                visitor.user(&user).await?;
                read.users.push(user);
                read.summary.users += 1;
                current = Some(*id);
                last_kind = None;
                files.clear();
                runs.clear();
            }
            Place::Blob(_, key) => {
                if !read.blobs.insert(key.clone()) {
                    return Err(bad_archive(format!("file {key} appears twice")));
                }
                files.insert(key.clone());
                visitor.blob(key, ChunkReader { reader: &mut reader }).await?;
                read.summary.blobs += 1;
                read.summary.blob_bytes += reader.bytes;
            }
            Place::Records(owner, kind) => {
                last_kind = Some(*kind);
                let mut lines = BufReader::new(&mut reader).lines();
                let mut number = 0;
                while let Some(line) = lines.next_line().await.map_err(truncated)? {
                    number += 1;
                    let at = || format!("{raw_path} line {number}");
                    match kind {
                        Kind::Datasets => {
                            let dataset: Dataset = decode_owned(&line, *owner, &at)?;
                            if !files.contains(&dataset.blob_key) {
                                return Err(bad_archive(format!("{}: its file is missing", at())));
                            }
                            visitor.dataset(dataset).await?;
                            read.summary.datasets += 1;
                        }
                        Kind::Models => {
                            let model: Model = decode_owned(&line, *owner, &at)?;
                            if model_files(&model).iter().any(|(key, _)| !files.contains(key)) {
                                return Err(bad_archive(format!(
                                    "{}: a trained file is missing",
                                    at()
                                )));
                            }
                            visitor.model(model).await?;
                            read.summary.models += 1;
                        }
                        Kind::Runs => {
                            let run: TrainingRun = decode_owned(&line, *owner, &at)?;
                            runs.insert(run.id);
                            visitor.run(run).await?;
                            read.summary.runs += 1;
                        }
                        Kind::Notifications => {
                            visitor.notification(decode_owned(&line, *owner, &at)?).await?;
                            read.summary.notifications += 1;
                        }
                    }
                }
            }
            Place::History(owner, run) => {
                if !runs.remove(run) {
                    return Err(bad_archive(format!(
                        "{raw_path}: no such run, or a second history"
                    )));
                }
                let mut lines = BufReader::new(&mut reader).lines();
                let mut number = 0;
                while let Some(line) = lines.next_line().await.map_err(truncated)? {
                    number += 1;
                    let metrics: EpochMetrics = serde_json::from_str(&line)
                        .map_err(|err| bad_archive(format!("{raw_path} line {number}: {err}")))?;
                    visitor.epoch(*owner, *run, metrics).await?;
                    read.summary.epochs += 1;
                }
            }
        }
        // Whatever a visitor left unread still counts towards the checksum.
        tokio::io::copy(&mut reader, &mut tokio::io::sink()).await.map_err(truncated)?;
        sums.push(EntrySum { path: raw_path, size: reader.bytes, sha256: reader.hex() });
    }
    let checksums = checksums.ok_or_else(|| {
        bad_archive("not a complete Modelyard backup: it ends before checksums.json (truncated)")
    })?;
    if let Some((at, (found, listed))) =
        sums.iter().zip(&checksums.entries).enumerate().find(|(_, (a, b))| a != b)
    {
        return Err(bad_archive(format!(
            "entry {} ({}) does not match its checksum (listed as {} at position {at}): the \
             archive is damaged",
            found.path, found.size, listed.path
        )));
    }
    if sums.len() != checksums.entries.len() {
        return Err(bad_archive(format!(
            "the archive has {} entries, its checksums list {}: it is damaged",
            sums.len(),
            checksums.entries.len()
        )));
    }
    if checksums.summary != (BackupSummary { skipped: checksums.summary.skipped, ..read.summary }) {
        return Err(bad_archive("the archive's counts do not match its contents: it is damaged"));
    }
    read.summary.skipped = 0;
    Ok(read)
}

/// The largest `manifest.json` or `user.json` read.
const SMALL_ENTRY_BYTES: u64 = 1024 * 1024;
/// The largest `checksums.json` read: it lists every entry (about 150 bytes each), so it is
/// the one part of an archive held in memory whole — up to about 7 million entries.
const CHECKSUMS_BYTES: u64 = 1024 * 1024 * 1024;

/// A whole entry of at most `limit` bytes, decoded.
async fn decode_whole<T: DeserializeOwned>(
    reader: &mut (impl AsyncRead + Unpin),
    path: &str,
    limit: u64,
) -> Result<T> {
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes).await.map_err(truncated)?;
    if bytes.len() as u64 > limit {
        return Err(bad_archive(format!("{path} is larger than {limit} bytes")));
    }
    serde_json::from_slice(&bytes).map_err(|err| bad_archive(format!("{path}: {err}")))
}

/// One record line, decoded, of the account whose entry it is in.
fn decode_owned<T: Record>(line: &str, owner: UserId, at: &dyn Fn() -> String) -> Result<T> {
    let record: T =
        serde_json::from_str(line).map_err(|err| bad_archive(format!("{}: {err}", at())))?;
    if record.owner() != owner {
        return Err(bad_archive(format!("{}: a {} of another account", at(), T::KIND)));
    }
    Ok(record)
}

/// The first pass: reads and checks, writes nothing.
struct Verify;

impl Visitor for Verify {
    async fn user(&mut self, _: &User) -> Result<()> {
        Ok(())
    }
    async fn blob(&mut self, _: &BlobKey, mut chunks: ChunkReader<'_>) -> Result<()> {
        while chunks.next().await?.is_some() {}
        Ok(())
    }
    async fn dataset(&mut self, _: Dataset) -> Result<()> {
        Ok(())
    }
    async fn model(&mut self, _: Model) -> Result<()> {
        Ok(())
    }
    async fn run(&mut self, _: TrainingRun) -> Result<()> {
        Ok(())
    }
    async fn notification(&mut self, _: Notification) -> Result<()> {
        Ok(())
    }
    async fn epoch(&mut self, _: UserId, _: RunId, _: EpochMetrics) -> Result<()> {
        Ok(())
    }
}

/// What a restore wrote, to remove should it fail. Each write is recorded before it is made,
/// so a write cut off by cancellation is removed too (removing what is not there is no error;
/// the records and files are checked not to exist before the restore begins).
#[derive(Default)]
struct Written {
    users: Vec<UserId>,
    blobs: Vec<BlobKey>,
    datasets: Vec<(UserId, DatasetId)>,
    models: Vec<(UserId, ModelId)>,
    runs: Vec<(UserId, RunId)>,
    notifications: Vec<(UserId, NotificationId)>,
}

impl Written {
    /// Removes everything, newest first; failures are logged (the error that stopped the
    /// restore is the one the caller sees).
    async fn undo(self, stores: &Stores) {
        fn logged(what: &str, result: Result<()>) {
            match result {
                Ok(()) | Err(Error::NotFound(_)) => {}
                Err(err) => tracing::warn!(%err, what, "a restored record was not removed"),
            }
        }
        for (owner, id) in self.notifications {
            logged("notification", stores.notifications.delete(owner, id).await);
        }
        for (owner, run) in self.runs {
            logged("history", stores.history.delete_epochs(owner, run).await);
            logged("run", stores.runs.delete(owner, run).await);
        }
        for (owner, id) in self.models {
            logged("model", stores.models.delete(owner, id).await);
        }
        for (owner, id) in self.datasets {
            logged("dataset", stores.datasets.delete(owner, id).await);
        }
        for key in self.blobs {
            logged("file", stores.blobs.delete(&key).await);
        }
        for user in self.users {
            logged("account", stores.users.delete_user(user).await);
        }
    }
}

/// The second pass: writes every entry into the stores, remembering what it writes.
///
/// Dropped before it finished (its caller cancelled the restore), it removes what it wrote
/// in a task of its own.
struct Restore {
    stores: Stores,
    /// `None` once the restore succeeded or its writes were undone.
    written: Option<Written>,
}

impl Restore {
    fn written(&mut self) -> &mut Written {
        self.written.get_or_insert_with(Written::default)
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        let Some(written) = self.written.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                tracing::warn!("restore cancelled; removing what it wrote");
                let stores = self.stores.clone();
                runtime.spawn(async move { written.undo(&stores).await });
            }
            Err(_) => tracing::warn!("restore cancelled outside a runtime: its writes stay"),
        }
    }
}

impl Visitor for Restore {
    async fn user(&mut self, user: &User) -> Result<()> {
        self.written().users.push(user.id);
        self.stores.users.create_user(user).await
    }

    async fn blob(&mut self, key: &BlobKey, mut chunks: ChunkReader<'_>) -> Result<()> {
        let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Bytes>>(2);
        self.written().blobs.push(key.clone());
        let feed = async move {
            loop {
                let chunk = chunks.next().await;
                let last = !matches!(chunk, Ok(Some(_)));
                let item = match chunk {
                    Ok(Some(bytes)) => Ok(bytes),
                    Ok(None) => break,
                    Err(err) => Err(err),
                };
                if tx.send(item).await.is_err() || last {
                    break;
                }
            }
        };
        let (put, ()) = tokio::join!(self.stores.blobs.put(key, rx.boxed()), feed);
        put.map(|_| ())
    }

    async fn dataset(&mut self, record: Dataset) -> Result<()> {
        self.written().datasets.push((record.owner, record.id));
        self.stores.datasets.insert(&record).await
    }

    async fn model(&mut self, record: Model) -> Result<()> {
        self.written().models.push((record.owner, record.id));
        self.stores.models.insert(&record).await
    }

    async fn run(&mut self, mut record: TrainingRun) -> Result<()> {
        if !record.status.is_final() {
            record.error = Some(format!(
                "interrupted: this run was {} when the deployment was backed up; start it again",
                if record.status == RunStatus::Queued { "queued" } else { "running" }
            ));
            record.status = RunStatus::Failed;
            record.lease = None;
            record.finished_at = Some(crate::now());
        }
        self.written().runs.push((record.owner, record.id));
        self.stores.runs.insert(&record).await
    }

    async fn notification(&mut self, record: Notification) -> Result<()> {
        self.written().notifications.push((record.owner, record.id));
        self.stores.notifications.insert(&record).await
    }

    async fn epoch(&mut self, owner: UserId, run: RunId, metrics: EpochMetrics) -> Result<()> {
        self.stores.history.put_epoch(owner, run, &metrics).await
    }
}
