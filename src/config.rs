//! How a [`crate::Modelyard`] is opened: a store URL plus service settings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use modelyard_core::auth::AuthConfig;
use modelyard_core::cached::CachePolicy;
use modelyard_core::datasets::DatasetConfig;
use modelyard_core::models::DEFAULT_LOADED_MODELS_BYTES;
use modelyard_core::training::TrainingConfig;
use modelyard_core::{Error, Result, Trainer};

mod auth_settings;
mod from_spec;
mod keys;
mod redacted;
mod spec;

pub use auth_settings::AuthSettings;
pub use spec::ConfigSpec;

/// Everything [`crate::Modelyard::open`] needs. Build one with [`Config::new`] from a store URL
/// and adjust the public fields, or from plain data with [`Config::from_spec`]. Its `Debug`
/// output shows no secret.
#[derive(Clone)]
pub struct Config {
    /// Where records live: `sled://<directory>` (the embedded default; `?cache_mb=N` sizes its
    /// page cache, 64 by default) or `mongodb://host/db`.
    pub store: StoreUrl,
    /// The HS256 secret signing access tokens (at least 32 bytes). Without one, a random secret
    /// is generated once and kept in the data directory (`jwt-secret`), readable by the owner only.
    pub jwt_secret: Option<Vec<u8>>,
    /// Authentication settings beyond the key (issuer, audience, token lifetime, rate limits).
    pub auth: Option<AuthConfig>,
    /// Token and login-limit settings applied around the key [`crate::Modelyard::open`] picks
    /// (`jwt_secret`, or the persisted development secret); unused when `auth` is set.
    pub auth_settings: AuthSettings,
    /// Upload limits and quotas.
    pub datasets: DatasetConfig,
    /// Workers per process, leases, attempts.
    pub training: TrainingConfig,
    /// Memory for trained models kept loaded between predictions, in bytes; 0 reads the
    /// model's files on every call.
    pub loaded_models_bytes: u64,
    /// Models one user may have (default 200).
    pub max_models_per_user: u64,
    /// Time to live of cached records, for the read-through cache in front of MongoDB (sled
    /// records are read directly: they are already in process).
    pub cache_policy: CachePolicy,
    /// The training engine; without one this process serves but does not train. [`Config::new`]
    /// sets the default trainer when built with the `ml` feature (the default).
    pub trainer: Option<Arc<dyn Trainer>>,
    /// A Redis URL (`redis://host:6379/0`) for the cache (with the login rate-limit counters)
    /// and live events, shared by every process using it (needs the `redis` feature).
    /// Without one they stay in-process. The job queue is never moved to Redis: it stays in the
    /// record store (MongoDB's `jobs` collection, sled), which is durable, so flushing or
    /// restarting Redis loses no queued run.
    pub cache: Option<String>,
    /// The prefix of every Redis key, so deployments can share one server.
    pub cache_namespace: String,
    /// Where file bytes (datasets, models, checkpoints) go instead of the record store's own
    /// blob store: `s3://bucket/prefix` (needs the `s3` feature), with `?endpoint=` for an
    /// S3-compatible server and credentials from `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY`. API servers on many machines then share files through the
    /// bucket alone.
    pub blobs: Option<String>,
}

impl Config {
    /// Settings with defaults for the store at `url`.
    pub fn new(url: &str) -> Result<Self> {
        Ok(Self {
            store: StoreUrl::parse(url)?,
            jwt_secret: None,
            auth: None,
            auth_settings: AuthSettings::default(),
            datasets: DatasetConfig::default(),
            training: TrainingConfig::default(),
            loaded_models_bytes: DEFAULT_LOADED_MODELS_BYTES,
            max_models_per_user: modelyard_core::models::DEFAULT_MAX_MODELS_PER_USER,
            cache_policy: CachePolicy::default(),
            trainer: default_trainer(),
            cache: None,
            cache_namespace: "modelyard".to_owned(),
            blobs: None,
        })
    }

    /// Sets the training engine.
    pub fn with_trainer(mut self, trainer: Arc<dyn Trainer>) -> Self {
        self.trainer = Some(trainer);
        self
    }
}

/// The built-in training engine, with the `ml` feature: the MLP trainer (hand-written passes
/// over gemm).
pub fn default_trainer() -> Option<Arc<dyn Trainer>> {
    #[cfg(feature = "ml")]
    {
        Some(Arc::new(modelyard_ml::MlpTrainer::new()))
    }
    #[cfg(not(feature = "ml"))]
    {
        None
    }
}

/// A store URL, checked by the backend that registered its scheme (`sled://`, `mongodb://`,
/// `mongodb+srv://`, as built in). Its `Debug` output hides the URL's password.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreUrl {
    url: String,
    /// Where a store of this process's own keeps its data (sled), if it has a directory.
    data_dir: Option<PathBuf>,
}

impl StoreUrl {
    /// Parses and checks a record store URL: `sled://./data`, `sled:///abs/path` or
    /// `sled:relative` (each with an optional `?cache_mb=N`), `mongodb://host/db` or
    /// `mongodb+srv://...` (the database from the URL's path, `modelyard` without one).
    /// `NotSupported` for a backend this build leaves out, a `Validation` error on `store`
    /// otherwise.
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        let data_dir = crate::backends::check(crate::backends::Role::Records, url)?;
        Ok(Self { url: url.to_owned(), data_dir })
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The local data directory, for stores that have one.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }
}

/// Anything [`crate::Modelyard::open`] accepts: a store URL, a [`ConfigSpec`] or a whole [`Config`].
pub trait IntoConfig {
    /// The settings to open with.
    fn into_config(self) -> Result<Config>;
}

impl IntoConfig for Config {
    fn into_config(self) -> Result<Config> {
        Ok(self)
    }
}

impl IntoConfig for &str {
    fn into_config(self) -> Result<Config> {
        Config::new(self)
    }
}

impl IntoConfig for String {
    fn into_config(self) -> Result<Config> {
        Config::new(&self)
    }
}

/// Reads the persisted development secret, creating it on first use.
pub(crate) fn persisted_secret(dir: &Path) -> Result<Vec<u8>> {
    use modelyard_core::store::private_fs;
    use rand::RngCore;
    let path = dir.join("jwt-secret");
    match std::fs::read(&path) {
        Ok(secret) if secret.len() >= 32 => return Ok(secret),
        Ok(_) => {
            return Err(Error::Internal(format!("{} is shorter than 32 bytes", path.display())));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(Error::unavailable(err)),
    }
    let mut secret = vec![0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    private_fs::create_private_dir_all(dir).map_err(Error::unavailable)?;
    private_fs::write_private_file(&path, &secret).map_err(Error::unavailable)?;
    tracing::warn!(path = %path.display(), "no JWT secret configured: generated one for development");
    Ok(secret)
}
