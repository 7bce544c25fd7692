//! Modelyard: a self-hostable machine-learning training platform — user accounts, tabular
//! datasets, declarative neural networks, training runs with live metrics, predictions.
//!
//! ```no_run
//! # async fn demo() -> modelyard::Result<()> {
//! let yard = modelyard::Modelyard::open("sled://./modelyard-data").await?;
//! yard.register("ada", "ada@example.com", "correct horse battery").await?;
//! let session = yard.login("ada@example.com", "correct horse battery").await?;
//! let iris = session.upload_dataset("iris", modelyard::Upload::path("examples/data/iris.csv")).await?;
//! println!("{} rows, columns {:?}", iris.row_count,
//!     iris.schema.columns.iter().map(|c| &c.name).collect::<Vec<_>>());
//! # Ok(()) }
//! ```

mod archive;
mod backends;
pub mod blocking;
pub mod case;
mod config;
pub mod defaults;
mod run;
mod session;
mod shared_stores;
mod signed_in;
pub mod trainer;
mod upload;

pub use archive::{DatasetDownload, ModelArchive, ModelFile};
pub use config::{AuthSettings, Config, ConfigSpec, IntoConfig, StoreUrl, default_trainer};
pub use modelyard_core::auth::{AuthConfig, JwtConfig, JwtKey, RateLimit};
pub use modelyard_core::backup::BackupSummary;
pub use modelyard_core::cached::CachePolicy;
pub use modelyard_core::datasets::{DatasetConfig, Records};
pub use modelyard_core::json;
pub use modelyard_core::models::{CostLimits, ModelRequest, PredictOptions, TrainingCost};
pub use modelyard_core::training::{RunEvent, TrainingConfig};
pub use modelyard_core::views::{ArtifactFile, Dataset, Model, ModelVersion, TrainingRun};
pub use modelyard_core::{
    Activation, ByteStream, CategoryCount, ClassMetrics, ColumnKind, ColumnSchema, ColumnStats,
    ConfusionMatrix, DatasetId, DatasetSchema, EarlyStopping, EpochMetrics, Error, Evaluation,
    LayerSpec, LayerSummary, ModelId, ModelSummary, Notification, NotificationId, NotificationKind,
    Optimizer, Prediction, Preview, PublicUser, Result, RunId, RunStatus, Task, Timestamp,
    TrainParams, TrainRequest, UserId,
};
pub use run::{HistoryOptions, Run};
pub use session::{ListOptions, ListPage, Session};
pub use upload::Upload;

/// The layers underneath: domain records, store traits, services and the backend conformance
/// suite. Not part of the documented API: backends and tests use it; applications use the
/// names above.
#[doc(hidden)]
pub use modelyard_core as core;

use std::sync::Arc;

use modelyard_core::auth::AuthService;
use modelyard_core::backup::{BackupService, Scope};
use modelyard_core::cached::with_read_through_cache;
use modelyard_core::datasets::DatasetService;
use modelyard_core::models::ModelService;
use modelyard_core::notifications::NotificationService;
use modelyard_core::training::{TrainingService, WorkerHandle};
use modelyard_core::workspace::WorkspaceService;
use modelyard_core::{Backend, Stores};
use tokio::sync::Mutex;

/// The configured backends joined into one: the record store of `store`, with the blob store
/// of `blobs` in place of its own, and the cache of `cache` (records' read-through cache, login
/// rate-limit counters) and its event bus attached. The job queue stays the record
/// store's own, durable one (MongoDB's `jobs` collection, sled's tree): a Redis restart or
/// `FLUSHALL` never loses a queued run.
async fn open_backend(config: &Config) -> Result<Backend> {
    use backends::{Opening, Role};
    let opening = |url: &str, base| Opening {
        url: url.to_owned(),
        base,
        namespace: config.cache_namespace.clone(),
    };
    let mut backend = backends::open(Role::Records, opening(config.store.as_str(), None)).await?;
    if let Some(url) = &config.blobs {
        backend = backends::open(Role::Blobs, opening(url, Some(backend))).await?;
    }
    if let Some(url) = &config.cache {
        backend = backends::open(Role::Cache, opening(url, Some(backend))).await?;
    }
    Ok(backend)
}

/// An open Modelyard: the entry point. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Modelyard {
    inner: Arc<Inner>,
}

struct Inner {
    auth: AuthService,
    datasets: DatasetService,
    models: ModelService,
    training: TrainingService,
    notifications: NotificationService,
    workspace: WorkspaceService,
    backup: BackupService,
    /// This yard's running workers; `None` once [`Modelyard::close`] has stopped them.
    workers: Mutex<Option<Vec<WorkerHandle>>>,
    /// For [`Modelyard::check_ready`].
    users: Arc<dyn modelyard_core::UserStore>,
    /// Held so that a later open of the same sled directory in this process shares these stores.
    _shared: Arc<Stores>,
}

impl Modelyard {
    /// Opens the store at a URL (`sled://./modelyard-data`) or with a whole [`Config`], and starts
    /// its training workers when a trainer is configured.
    ///
    /// A sled directory that a live yard of this process has open is not opened again: the new
    /// yard shares that yard's stores (records, queue, blobs, cache, live events), and the
    /// first open's `cache` (Redis) setting wins while any yard of the directory lives. Another
    /// process holding the directory makes this fail with `Unavailable`, naming it.
    pub async fn open(config: impl IntoConfig) -> Result<Self> {
        let config = config.into_config()?;
        if config.jwt_secret.is_none() && config.auth.is_none() && config.store.data_dir().is_none()
        {
            return Err(Error::validation(
                "jwt_secret",
                "this store has no local data directory to keep a generated secret in: set \
                 jwt_secret (at least 32 random bytes, the same in every process)",
            ));
        }
        // A store of this process's own (sled's directory) is opened once per process and
        // shared. Its records already live in this process, decoded values memoised: a
        // read-through cache in front of them (a tree of the same database, or Redis over the
        // network) would only add a read to every read and an invalidation to every write. A
        // remote record store (MongoDB) gets one, sparing it a round trip.
        let shared = match config.store.data_dir() {
            Some(dir) => {
                shared_stores::open_or_share(dir, || async {
                    fill_defaults(open_backend(&config).await?)
                })
                .await?
            }
            None => {
                let stores = fill_defaults(open_backend(&config).await?)?;
                Arc::new(with_read_through_cache(stores, &config.cache_policy))
            }
        };
        let stores = Stores::clone(&shared);
        let auth_config = match config.auth.clone() {
            Some(auth) => auth,
            None => {
                let secret = match (&config.jwt_secret, config.store.data_dir()) {
                    (Some(secret), _) => secret.clone(),
                    (None, Some(dir)) => config::persisted_secret(dir)?,
                    (None, None) => return Err(Error::internal("no JWT secret")),
                };
                config.auth_settings.apply(AuthConfig::new(JwtKey::hs256(secret)?))
            }
        };
        let trainer = config.trainer.clone();
        let training =
            TrainingService::new(stores.clone(), trainer.clone(), config.training.clone());
        let datasets = DatasetService::new(
            stores.datasets.clone(),
            stores.models.clone(),
            stores.blobs.clone(),
            config.datasets.clone(),
        );
        let models = ModelService::new(
            stores.clone(),
            trainer.clone(),
            config.training.cost_limits,
            config.loaded_models_bytes,
            config.max_models_per_user,
        );
        let yard = Self {
            inner: Arc::new(Inner {
                auth: AuthService::new(stores.users.clone(), stores.cache.clone(), auth_config)?,
                workspace: WorkspaceService::new(stores.clone(), datasets.clone(), models.clone()),
                backup: BackupService::new(stores.clone()),
                datasets,
                models,
                users: stores.users.clone(),
                notifications: NotificationService::new(stores),
                training,
                workers: Mutex::new(Some(Vec::new())),
                _shared: shared,
            }),
        };
        if trainer.is_some() {
            yard.start_workers(config.training.workers).await?;
        }
        Ok(yard)
    }

    /// Starts `count` more training workers in this process. `Conflict` once this yard is
    /// closed.
    pub async fn start_workers(&self, count: usize) -> Result<()> {
        let mut workers = self.inner.workers.lock().await;
        let workers = workers.as_mut().ok_or_else(|| {
            Error::Conflict("this Modelyard is closed: it starts no new workers".into())
        })?;
        for _ in 0..count {
            let name = format!("{}-{}-{}", hostname(), std::process::id(), workers.len() + 1);
            workers.push(self.inner.training.worker(name)?.spawn());
        }
        Ok(())
    }

    /// Stops this yard's training workers gracefully and waits for them. A run in flight stops
    /// within one batch and goes back to the queue as `queued`, keeping the epochs it recorded
    /// and its checkpoint: a worker of another process, or of the next open of this store,
    /// resumes it after its last epoch. Afterwards this yard and its clones and sessions still
    /// read and write the store but start no workers ([`Modelyard::start_workers`] is refused);
    /// closing again does nothing. Workers of other yards sharing the store keep running.
    pub async fn close(&self) {
        let workers = self.inner.workers.lock().await.take().unwrap_or_default();
        futures::future::join_all(workers.into_iter().map(WorkerHandle::shutdown)).await;
    }

    /// Whether the record store answers now: one cheap read (an email lookup no account can
    /// have). `Unavailable` while the store is down or unreachable; `Ok` again as soon as it is
    /// back, with no reopening. Readiness probes call this.
    pub async fn check_ready(&self) -> Result<()> {
        self.inner.users.find_user_by_email("readiness-probe@modelyard.invalid").await.map(|_| ())
    }

    /// Backs up every account and everything they own (records, files, run histories) into
    /// the file `archive`: a versioned tar archive with a checksum per entry, written under a
    /// temporary name and renamed into place when complete (created 0600, replacing an
    /// earlier file there). Restore it with [`Modelyard::import`] into any backend: this is
    /// how a deployment moves from the embedded store to MongoDB + Redis + S3.
    ///
    /// For an exact copy, run it while no other process writes (a sled store is held by one
    /// process at a time, so stop the server first). The cache, live events, the job queue
    /// and checkpoints are not backed up.
    pub async fn export(&self, archive: impl AsRef<std::path::Path>) -> Result<BackupSummary> {
        self.inner.backup.export_file(Scope::Deployment, archive.as_ref()).await
    }

    /// Backs up one account, found by email, with its whole workspace, as
    /// [`Session::export`] does for the signed-in account. `NotFound` when no account has the
    /// email.
    pub async fn export_account(
        &self,
        email: &str,
        archive: impl AsRef<std::path::Path>,
    ) -> Result<BackupSummary> {
        let user = self.inner.users.find_user_by_email(email).await?;
        let user = user.ok_or_else(|| Error::not_found("account"))?;
        self.inner.backup.export_file(Scope::User(user.id), archive.as_ref()).await
    }

    /// Restores an archive of [`Modelyard::export`] (or [`Session::export`]) into this
    /// yard's stores. The whole archive is checked first: a damaged, truncated or foreign
    /// file is refused (`Validation` on `archive`) and nothing is written; so is an archive
    /// with an account, email or file this yard already has (`Conflict`). A run that was
    /// queued or running when backed up comes back failed, to be started again.
    pub async fn import(&self, archive: impl AsRef<std::path::Path>) -> Result<BackupSummary> {
        self.inner.backup.import(archive.as_ref()).await
    }

    /// Creates an account and returns a signed-in session.
    pub async fn register(&self, username: &str, email: &str, password: &str) -> Result<Session> {
        let (user, token) = self.inner.auth.register(username, email, password).await?;
        Ok(Session::new(self.clone(), user.public(), token))
    }

    /// Signs in. `client` (an IP address, say) adds a per-client limit to the per-account one.
    pub async fn login(&self, email: &str, password: &str) -> Result<Session> {
        self.login_from(email, password, None).await
    }

    /// Signs in on behalf of a network client, rate-limited per account and per client.
    pub async fn login_from(
        &self,
        email: &str,
        password: &str,
        client: Option<&str>,
    ) -> Result<Session> {
        let (user, token) = self.inner.auth.login(email, password, client).await?;
        Ok(Session::new(self.clone(), user.public(), token))
    }

    /// The session of an access token, checked now (signature, expiry, revocation).
    pub async fn session(&self, token: &str) -> Result<Session> {
        // One verification: the principal carries the expiry.
        let principal = self.inner.auth.principal(token).await?;
        let issued = modelyard_core::auth::IssuedToken {
            token: token.to_owned(),
            expires_at: principal.expires_at,
        };
        Ok(Session::new(self.clone(), principal.user.public(), issued))
    }
}

/// Fills what a backend lacks with in-process defaults. Blobs have no default: every backend
/// that keeps records must say where file bytes go.
fn fill_defaults(backend: Backend) -> Result<Stores> {
    let blobs =
        backend.blobs.ok_or_else(|| Error::NotSupported("the backend stores no blobs".into()))?;
    Ok(Stores {
        users: backend.users,
        datasets: backend.datasets,
        models: backend.models,
        runs: backend.runs,
        history: backend.history,
        notifications: backend.notifications,
        blobs,
        cache: backend.cache.unwrap_or_else(|| Arc::new(defaults::MokaCache::default())),
        queue: backend
            .queue
            .ok_or_else(|| Error::NotSupported("the backend has no job queue".into()))?,
        events: backend.events.unwrap_or_else(|| Arc::new(defaults::LocalEventBus::default())),
    })
}

fn hostname() -> String {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "worker".into())
}

/// README.md's Rust examples, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
