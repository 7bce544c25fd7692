//! Datasets: CSV uploads checked and profiled in one pass, stored under server-generated keys,
//! previewed, loaded as typed tables, downloaded safely and deleted when no model uses them.
//!
//! Upload rules, in the order they are applied (nothing is stored by a rejected upload):
//! 1. the name is 1..=200 characters without control or format characters;
//! 2. the user has fewer than `max_concurrent_uploads_per_user` uploads under way in this process
//!    and is under the quota of files (`Conflict`) and of bytes (`PayloadTooLarge`);
//! 3. the body is read as it arrives, up to `max_upload_bytes` (or what is left of the quota) and
//!    no further, into the blob store and through the checks at once, so memory holds a few
//!    chunks, never the file;
//! 4. the content is CSV text: no compressed/binary signature or NUL byte
//!    (`UnsupportedMediaType`), valid UTF-8 (a BOM is ignored), not empty;
//! 5. the delimiter (`,` `;` tab `|`) is sniffed, the header names every column uniquely, every row
//!    has the header's field count, no cell or column count passes the limits, numeric columns
//!    hold no infinity; rows are numbered from 1 after the header, with their line number;
//! 6. the schema and statistics come out of the same pass (see [`check_and_infer`]).

mod cell;
mod config;
mod export;
mod ingest;
mod names;
mod preview;
mod records;
mod rows;
mod schema;
mod sniff;
mod table;
#[cfg(test)]
mod tests;

pub use cell::MISSING_MARKERS;
pub use config::DatasetConfig;
pub use export::neutralize_cell;
pub use names::{
    DEFAULT_FILENAME, MAX_FILENAME_CHARS, MAX_NAME_CHARS, default_dataset_name, download_filename,
    sanitize_filename, validate_dataset_name,
};
pub use records::Records;
pub use rows::MAX_COLUMN_NAME_CHARS;
pub use schema::{check_and_infer, infer_schema};
pub use table::{parse_table, parse_table_columns, refuse_missing, table_from_records};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use self::config::CsvLimits;
use self::ingest::{Ingested, ingest};
use crate::{
    BlobKey, BlobStore, ByteStream, Dataset, DatasetId, Error, Listed, Model, Page, Preview,
    RecordStore, Result, Stores, Table, UserId, now,
};

/// Uploads, reads, previews, loads, downloads and deletes a user's datasets.
#[derive(Clone)]
pub struct DatasetService {
    datasets: Arc<dyn RecordStore<Dataset>>,
    models: Arc<dyn RecordStore<Model>>,
    blobs: Arc<dyn BlobStore>,
    config: DatasetConfig,
    uploading: Arc<Mutex<HashMap<UserId, u32>>>,
}

impl DatasetService {
    /// A service over the dataset records, the model records (to refuse deleting a dataset in
    /// use) and the blob store holding the files.
    pub fn new(
        datasets: Arc<dyn RecordStore<Dataset>>,
        models: Arc<dyn RecordStore<Model>>,
        blobs: Arc<dyn BlobStore>,
        config: DatasetConfig,
    ) -> Self {
        Self { datasets, models, blobs, config, uploading: Arc::default() }
    }

    /// A service over a deployment's stores.
    pub fn from_stores(stores: &Stores, config: DatasetConfig) -> Self {
        Self::new(stores.datasets.clone(), stores.models.clone(), stores.blobs.clone(), config)
    }

    /// The limits in force.
    pub fn config(&self) -> &DatasetConfig {
        &self.config
    }

    /// Checks, profiles and stores an uploaded CSV file (see the module docs for the rules).
    ///
    /// `filename` is only recorded, sanitised; the file is stored under a generated key.
    pub async fn upload(
        &self,
        owner: UserId,
        name: &str,
        filename: &str,
        data: ByteStream,
    ) -> Result<Dataset> {
        let name = validate_dataset_name(name)?;
        let original_filename = sanitize_filename(filename);
        let _slot = self.upload_slot(owner)?;
        let limit = self.upload_room(owner).await?;
        let max = self.config.max_upload_bytes;
        let too_large = || {
            if limit < max {
                Error::PayloadTooLarge(format!(
                    "the file does not fit in your storage quota of {}; {} are left — delete a dataset first",
                    human_bytes(self.config.quota_bytes_per_user),
                    human_bytes(limit)
                ))
            } else {
                Error::PayloadTooLarge(format!(
                    "the file is larger than the {} limit",
                    human_bytes(max)
                ))
            }
        };

        let blob_key = BlobKey::generate("datasets")?;
        // Until its record is stored the blob belongs to this upload alone: when the upload
        // stops before that (an error, or its caller gone mid-way: a closed connection, Ctrl-C
        // in Python), the guard deletes it.
        let pending = PendingBlob { blobs: Some(self.blobs.clone()), key: blob_key.clone() };
        let Ingested { schema, row_count, size_bytes } =
            ingest(data, limit, too_large, &*self.blobs, &blob_key, self.config.clone()).await?;
        let dataset = Dataset {
            id: DatasetId::new(),
            owner,
            name,
            original_filename,
            blob_key,
            size_bytes,
            row_count,
            schema,
            uploaded_at: now(),
        };
        self.datasets.insert(&dataset).await?;
        pending.keep();
        Ok(dataset)
    }

    /// One of the owner's `max_concurrent_uploads_per_user` upload slots, held until the upload
    /// ends; `Conflict` when all are taken.
    fn upload_slot(&self, owner: UserId) -> Result<UploadSlot> {
        let mut uploading = self.uploading.lock().unwrap_or_else(PoisonError::into_inner);
        let under_way = uploading.entry(owner).or_insert(0);
        let most = self.config.max_concurrent_uploads_per_user;
        if *under_way >= most {
            return Err(Error::Conflict(format!(
                "you have {most} uploads under way, the most allowed at once; wait for one to finish"
            )));
        }
        *under_way += 1;
        Ok(UploadSlot { uploading: self.uploading.clone(), owner })
    }

    /// How many bytes the owner's next upload may have: the size limit or what is left of the
    /// quota. Fails when the owner is at the quota already.
    ///
    /// Two concurrent uploads may both pass this check: records have no transactions, so the
    /// quota is a limit against accumulation, not an exact bound.
    async fn upload_room(&self, owner: UserId) -> Result<u64> {
        let existing = self.datasets.list_all(owner).await?;
        let files = existing.len() as u64;
        if files >= self.config.quota_files_per_user {
            return Err(Error::Conflict(format!(
                "you have {files} datasets, the most allowed is {}; delete one first",
                self.config.quota_files_per_user
            )));
        }
        let used = existing.iter().fold(0u64, |sum, d| sum.saturating_add(d.size_bytes));
        let left = self.config.quota_bytes_per_user.saturating_sub(used);
        if left == 0 {
            return Err(Error::PayloadTooLarge(format!(
                "your storage quota of {} is used up; delete a dataset first",
                human_bytes(self.config.quota_bytes_per_user)
            )));
        }
        Ok(left.min(self.config.max_upload_bytes))
    }

    /// The owner's datasets, newest first.
    pub async fn list(&self, owner: UserId) -> Result<Vec<Dataset>> {
        self.datasets.list_all(owner).await
    }

    /// A page of the owner's datasets, newest first.
    pub async fn list_page(&self, owner: UserId, page: Page<DatasetId>) -> Result<Listed<Dataset>> {
        self.datasets.list(owner, page).await
    }

    /// One of the owner's datasets.
    pub async fn get(&self, owner: UserId, id: DatasetId) -> Result<Dataset> {
        self.datasets.get(owner, id).await
    }

    /// The header and first `limit` rows (clamped to `1..=preview_max_rows`), cells as written.
    pub async fn preview(&self, owner: UserId, id: DatasetId, limit: usize) -> Result<Preview> {
        let dataset = self.get(owner, id).await?;
        let limit = limit.clamp(1, self.config.preview_max_rows.max(1));
        let data = self.blobs.get(&dataset.blob_key).await?;
        let limits = CsvLimits::stored(&dataset.schema);
        preview::stream_preview(data, delimiter_of(&dataset)?, limit, limits).await
    }

    /// Deletes a dataset and its file; `Conflict` while one of the owner's models uses it.
    pub async fn delete(&self, owner: UserId, id: DatasetId) -> Result<()> {
        let dataset = self.get(owner, id).await?;
        let models = self.models.list_all(owner).await?;
        if let Some(model) = models.iter().find(|m| m.dataset_id == id) {
            return Err(Error::Conflict(format!("dataset is used by model {}", model.name)));
        }
        self.remove(&dataset).await
    }

    /// Deletes a dataset record and its file, used or not (erasing a workspace removes the
    /// models first).
    pub(crate) async fn remove_owned(&self, dataset: Dataset) -> Result<()> {
        self.remove(&dataset).await
    }

    async fn remove(&self, dataset: &Dataset) -> Result<()> {
        self.datasets.delete(dataset.owner, dataset.id).await?;
        self.forget_blob(&dataset.blob_key).await;
        Ok(())
    }

    /// The dataset and its file as CSV, cells that could run as spreadsheet formulas neutralised
    /// (see [`neutralize_cell`]: plain numbers are kept as they are), streamed as it is written.
    pub async fn download(&self, owner: UserId, id: DatasetId) -> Result<(Dataset, ByteStream)> {
        let dataset = self.get(owner, id).await?;
        let delimiter = delimiter_of(&dataset)?;
        let data = self.blobs.get(&dataset.blob_key).await?;
        let limits = CsvLimits::stored(&dataset.schema);
        Ok((dataset, export::export_stream(data, delimiter, limits)))
    }

    /// The dataset read into typed columns with its stored schema; the file is streamed into
    /// the table, never held whole.
    pub async fn load_table(&self, owner: UserId, id: DatasetId) -> Result<(Dataset, Table)> {
        let dataset = self.get(owner, id).await?;
        let table = read_stored_table(self.blobs.as_ref(), &dataset, None).await?;
        Ok((dataset, table))
    }

    /// Deletes a blob whose record is gone or was never written; a failure only leaves an
    /// unreachable file behind, so it is logged rather than returned.
    async fn forget_blob(&self, key: &BlobKey) {
        if let Err(err) = self.blobs.delete(key).await {
            tracing::warn!(%err, %key, "orphaned dataset blob");
        }
    }
}

/// An upload under way, counted against its owner until dropped.
struct UploadSlot {
    uploading: Arc<Mutex<HashMap<UserId, u32>>>,
    owner: UserId,
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut uploading = self.uploading.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(under_way) = uploading.get_mut(&self.owner) {
            *under_way = under_way.saturating_sub(1);
            if *under_way == 0 {
                uploading.remove(&self.owner);
            }
        }
    }
}

/// A blob written by an upload whose record is not stored yet. Dropped before
/// [`PendingBlob::keep`] — an error, or the upload's future dropped by a caller that went away —
/// it deletes the blob in the background, so a stopped upload leaves nothing behind.
struct PendingBlob {
    /// `None` once kept.
    blobs: Option<Arc<dyn BlobStore>>,
    key: BlobKey,
}

impl PendingBlob {
    /// The record is stored: the blob stays.
    fn keep(mut self) {
        self.blobs = None;
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        let Some(blobs) = self.blobs.take() else { return };
        let key = self.key.clone();
        let forget = async move {
            if let Err(err) = blobs.delete(&key).await {
                tracing::warn!(%err, %key, "orphaned dataset blob");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(forget)),
            Err(_) => {
                tracing::warn!(key = %self.key, "orphaned dataset blob: no runtime to delete it on")
            }
        }
    }
}

/// A stored dataset's file read into a table of its schema's columns, or of those of `columns`
/// it has (a model's features and target: a run reads no column it does not use), in the
/// schema's order (a training run's data, an evaluation's). The file is streamed from the blob
/// store into the CSV reader on a thread of its own: memory holds the table and a few chunks,
/// never the whole file, and no runtime thread waits on the parse. Each column is sized once
/// for the rows the record says the file has, and numeric columns are `f32` where their upload's
/// statistics show nothing that matters is lost (whole numbers under 2^24, or values within 16
/// standard deviations of zero): a training matrix is `f32`, and holding the table in `f64`
/// beside it cost half as much memory again. Today's upload limits do not apply to a file
/// already stored.
pub async fn read_stored_table(
    blobs: &dyn BlobStore,
    dataset: &Dataset,
    columns: Option<&[String]>,
) -> Result<Table> {
    let delimiter = delimiter_of(dataset)?;
    let text = ingest::stored_text(blobs.get(&dataset.blob_key).await?);
    let schema = dataset.schema.clone();
    let wanted: Option<Vec<String>> = columns
        .map(|columns| {
            schema
                .columns
                .iter()
                .filter(|column| columns.contains(&column.name))
                .map(|column| column.name.clone())
                .collect::<Vec<_>>()
        })
        // None of them: the whole table, so that the caller names what is missing.
        .filter(|wanted| !wanted.is_empty());
    // Sized by the record, but never for more rows than the file has bytes.
    let rows = usize::try_from(dataset.row_count.min(dataset.size_bytes)).unwrap_or(0);
    let layout = table::Layout { rows, narrow: true };
    // On a thread of its own: it waits for the chunks the blob store reads (`threads`).
    crate::threads::on_own_thread("modelyard-table", move || {
        let limits = CsvLimits::stored(&schema);
        table::read_table(text, delimiter, &schema, wanted.as_deref(), limits, layout)
    })
    .await?
}

/// The stored delimiter as a byte; anything else means the record was tampered with.
fn delimiter_of(dataset: &Dataset) -> Result<u8> {
    u8::try_from(dataset.schema.delimiter)
        .ok()
        .filter(|d| sniff::DELIMITERS.contains(d))
        .ok_or_else(|| Error::internal(format!("dataset {} has an invalid delimiter", dataset.id)))
}

/// `100 MiB`, `512 KiB`, `12 bytes`.
fn human_bytes(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = KIB * 1024;
    const GIB: u64 = MIB * 1024;
    match bytes {
        b if b >= GIB && b % GIB == 0 => format!("{} GiB", b / GIB),
        b if b >= MIB => format!("{:.1} MiB", b as f64 / MIB as f64).replace(".0 MiB", " MiB"),
        b if b >= KIB => format!("{:.1} KiB", b as f64 / KIB as f64).replace(".0 KiB", " KiB"),
        b => format!("{b} bytes"),
    }
}
