//! The limits of the datasets service.

/// Limits applied to uploads and to CSV bodies; passing any of them is the user's error, never a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetConfig {
    /// Largest file accepted, in bytes; reading stops as soon as it is passed (default 2 GiB:
    /// an upload is streamed, so the limit bounds disk use, not memory).
    pub max_upload_bytes: u64,
    /// Most columns a file may have (default 2 000).
    pub max_columns: usize,
    /// Longest single cell, in bytes (default 64 KiB).
    pub max_field_bytes: usize,
    /// Most data rows a file may have; `None` leaves only the size limit (the default).
    pub max_rows: Option<u64>,
    /// Total size of the datasets one user may keep, in bytes (default 4 GiB: two files of the
    /// largest size).
    pub quota_bytes_per_user: u64,
    /// Number of datasets one user may keep (default 200).
    pub quota_files_per_user: u64,
    /// Uploads one user may have under way at once, in this process (default 2).
    pub max_concurrent_uploads_per_user: u32,
    /// Most rows a preview returns; larger requests are clamped (default 1 000).
    pub preview_max_rows: usize,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 2 * 1024 * 1024 * 1024,
            max_columns: 2_000,
            max_field_bytes: 64 * 1024,
            max_rows: None,
            quota_bytes_per_user: 4 * 1024 * 1024 * 1024,
            quota_files_per_user: 200,
            max_concurrent_uploads_per_user: 2,
            preview_max_rows: 1_000,
        }
    }
}

/// The structural limits a CSV reader enforces, taken from a [`DatasetConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CsvLimits {
    pub(crate) max_columns: usize,
    pub(crate) max_field_bytes: usize,
    pub(crate) max_rows: Option<u64>,
}

impl From<&DatasetConfig> for CsvLimits {
    fn from(config: &DatasetConfig) -> Self {
        Self {
            max_columns: config.max_columns,
            max_field_bytes: config.max_field_bytes,
            max_rows: config.max_rows,
        }
    }
}

impl CsvLimits {
    /// The limits for reading back a file already stored under `schema`: it passed the limits
    /// in force when it was uploaded, which may have been wider than today's, so only its own
    /// shape bounds it (twice its columns, as for any stored file; no row or field limit).
    pub(crate) fn stored(schema: &crate::DatasetSchema) -> Self {
        Self {
            max_columns: Self::default().max_columns.max(schema.columns.len().saturating_mul(2)),
            max_field_bytes: usize::MAX,
            max_rows: None,
        }
    }
}

impl Default for CsvLimits {
    fn default() -> Self {
        Self::from(&DatasetConfig::default())
    }
}
