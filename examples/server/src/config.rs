//! Command-line flags and environment variables, turned into the facade's [`Config`] and the
//! server's [`ServerSettings`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use modelyard::{Config, ConfigSpec, Result};

use crate::connections::ConnectionLimits;
use crate::middleware::admission::Admission;
use crate::middleware::rate_limit::RateSpec;
use crate::state::ServerSettings;

/// What this process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Serves HTTP only; other processes train.
    Api,
    /// Trains only (answers `/healthz` and `/readyz`).
    Worker,
    /// Serves HTTP and trains.
    All,
}

/// What to do instead of serving.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Writes every account and everything it owns (records, files, run histories) to one
    /// archive file, with a checksum per entry. A sled store is held by one process: stop the
    /// server first (with MongoDB, stop writers for an exact copy).
    Backup {
        /// The archive to write (replaced if it exists; created 0600).
        #[arg(long)]
        out: PathBuf,
        /// Only this account's workspace, by email.
        #[arg(long)]
        user: Option<String>,
    },
    /// Restores an archive of `backup` into the store given by `--store`/`--blobs`: checked
    /// whole first, so a damaged or truncated archive, or one whose accounts or files exist
    /// there already, writes nothing.
    Restore {
        /// The archive to read.
        #[arg(long)]
        from: PathBuf,
    },
}

/// `modelyard-server` flags; each can also be set by its environment variable.
#[derive(Debug, Clone, Parser)]
#[command(name = "modelyard-server", version, about = "Modelyard's REST API and web dashboard")]
pub struct Args {
    /// Serve (no command), or back up or restore the store and exit.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Address to listen on.
    #[arg(long, env = "MODELYARD_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,
    /// Where records live.
    #[arg(long, env = "MODELYARD_STORE", default_value = "sled://./modelyard-data", global = true)]
    pub store: String,
    /// A Redis URL (`redis://host:6379/0`) for the cache (login rate-limit counters included)
    /// and live events shared by every process; without it (or with `memory`) they
    /// stay in this process. The job queue stays in the record store, which is durable.
    #[arg(long, env = "MODELYARD_CACHE", global = true)]
    pub cache: Option<String>,
    /// Where file bytes go instead of the store's own blobs: `s3://bucket/prefix` with
    /// `?endpoint=http://host:8333` for an S3-compatible server (needs the `s3` feature);
    /// credentials from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    #[arg(long, env = "MODELYARD_BLOBS", global = true)]
    pub blobs: Option<String>,
    /// HS256 secret for access tokens (at least 32 bytes). Without it, a development secret is
    /// generated once and kept in the data directory.
    #[arg(long, env = "MODELYARD_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    /// Training workers in this process (default 1; 0 with `--role api`).
    #[arg(long, env = "MODELYARD_WORKERS")]
    pub workers: Option<usize>,
    /// Seconds a worker holds a run without a heartbeat; a killed worker's run is reclaimed by
    /// another worker after this long (default 30).
    #[arg(long, env = "MODELYARD_LEASE_SECS", value_parser = positive_seconds)]
    pub lease_secs: Option<f64>,
    /// Seconds between a worker's lease renewals (default 10, or a third of `--lease-secs`);
    /// must be shorter than the lease.
    #[arg(long, env = "MODELYARD_HEARTBEAT_SECS", value_parser = positive_seconds)]
    pub heartbeat_secs: Option<f64>,
    /// `api`, `worker` or `all`.
    #[arg(long, env = "MODELYARD_ROLE", value_enum, default_value = "all")]
    pub role: Role,
    /// The dashboard's directory (default: the `static` folder of this crate).
    #[arg(long, env = "MODELYARD_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Origins allowed to call the API from a browser, comma-separated.
    #[arg(long = "cors-origin", env = "MODELYARD_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Largest dataset upload, in MiB (default 2048).
    #[arg(long, env = "MODELYARD_MAX_UPLOAD_MB")]
    pub max_upload_mb: Option<u64>,
    /// Most parameters a model may have (default 20 million).
    #[arg(long, env = "MODELYARD_MAX_MODEL_PARAMS")]
    pub max_model_params: Option<u64>,
    /// Most memory one training run may need by the estimate, in MiB (default 2048).
    #[arg(long, env = "MODELYARD_MAX_TRAINING_MB")]
    pub max_training_mb: Option<u64>,
    /// Most rows one run may go through, dataset rows times epochs (default 100 million).
    #[arg(long, env = "MODELYARD_MAX_RUN_ROW_EPOCHS")]
    pub max_run_row_epochs: Option<u64>,
    /// Runs one user may have queued or running at once (default 10).
    #[arg(long, env = "MODELYARD_MAX_ACTIVE_RUNS_PER_USER")]
    pub max_active_runs_per_user: Option<u32>,
    /// Runs one user may keep, finished ones included (default 1000).
    #[arg(long, env = "MODELYARD_MAX_RUNS_PER_USER")]
    pub max_runs_per_user: Option<u64>,
    /// Notifications one user keeps; older ones go (default 500).
    #[arg(long, env = "MODELYARD_MAX_NOTIFICATIONS_PER_USER")]
    pub max_notifications_per_user: Option<u64>,
    /// Models one user may have (default 200).
    #[arg(long, env = "MODELYARD_MAX_MODELS_PER_USER")]
    pub max_models_per_user: Option<u64>,
    /// Memory for trained models kept loaded between predictions, in MiB (default 256; 0 reads
    /// the model's files on every prediction).
    #[arg(long, env = "MODELYARD_LOADED_MODELS_MB")]
    pub loaded_models_mb: Option<u64>,
    /// Requests per second allowed per client on the API besides sign-in (0 turns it off).
    #[arg(long, env = "MODELYARD_API_RATE_LIMIT", default_value_t = 1000.0)]
    pub api_rate_limit: f64,
    /// Seconds a client may take to send a request head, or stay idle between requests, before
    /// it is disconnected (default 10).
    #[arg(long, env = "MODELYARD_HEADER_READ_TIMEOUT_SECS", value_parser = positive_seconds)]
    pub header_read_timeout_secs: Option<f64>,
    /// Most connections open at once from one client address (default 256).
    #[arg(long, env = "MODELYARD_MAX_CONNECTIONS_PER_ADDRESS")]
    pub max_connections_per_address: Option<usize>,
    /// API requests served at once; one more waits `--queue-wait-secs` for a slot and is then
    /// answered 503 with `Retry-After` (default 1024).
    #[arg(long, env = "MODELYARD_MAX_IN_FLIGHT", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_in_flight: Option<u64>,
    /// Seconds a request waits for a slot when `--max-in-flight` are being served (default 5).
    #[arg(long, env = "MODELYARD_QUEUE_WAIT_SECS", value_parser = positive_seconds)]
    pub queue_wait_secs: Option<f64>,
    /// Threads for short blocking work: file operations and syncs, password hashes, large
    /// predictions. More of it waits its turn. Uploads, downloads, table reads and trainings
    /// run on threads of their own.
    #[arg(long, env = "MODELYARD_BLOCKING_THREADS", default_value_t = 32,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub blocking_threads: u16,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "MODELYARD_LOG_JSON")]
    pub log_json: bool,
    /// Write the logs to files in this directory instead of stderr: `server.<date>.log` (the
    /// server's events), `error.<date>.log` (warnings and errors) and `access.<date>.log` (one
    /// line per answer), a new file each day (UTC).
    #[arg(long, env = "MODELYARD_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
    /// Days of log files kept in `--log-dir`, per log (default 14).
    #[arg(long, env = "MODELYARD_LOG_RETENTION_DAYS", default_value_t = 14,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub log_retention_days: u16,
    /// Also serve a bare hello-world router at this address, as a load-test baseline.
    #[arg(long, hide = true)]
    pub bench_hello: Option<SocketAddr>,
}

impl Args {
    /// The facade's settings named by flags and environment variables, as plain data; an API
    /// process (`--role api`) runs no training workers.
    pub fn config_spec(&self) -> ConfigSpec {
        ConfigSpec {
            store: Some(self.store.clone()),
            cache: self.cache.clone(),
            blobs: self.blobs.clone(),
            jwt_secret: self.jwt_secret.clone(),
            workers: if self.role == Role::Api { Some(0) } else { self.workers },
            lease_secs: self.lease_secs,
            heartbeat_secs: self.heartbeat_secs,
            max_upload_bytes: self.max_upload_mb.map(|mb| mb.saturating_mul(1024 * 1024)),
            max_model_params: self.max_model_params,
            max_training_bytes: self.max_training_mb.map(|mb| mb.saturating_mul(1024 * 1024)),
            max_run_row_epochs: self.max_run_row_epochs,
            max_active_runs_per_user: self.max_active_runs_per_user,
            max_runs_per_user: self.max_runs_per_user,
            max_notifications_per_user: self.max_notifications_per_user,
            max_models_per_user: self.max_models_per_user,
            loaded_models_bytes: self.loaded_models_mb.map(|mb| mb.saturating_mul(1024 * 1024)),
            ..ConfigSpec::default()
        }
    }

    /// The facade's configuration: [`Args::config_spec`], checked.
    pub fn facade_config(&self) -> Result<Config> {
        Config::from_spec(self.config_spec())
    }

    /// The server's own settings, given the facade configuration it will open.
    pub fn settings(&self, config: &Config) -> ServerSettings {
        let defaults = ServerSettings::default();
        ServerSettings {
            max_upload_bytes: config.datasets.max_upload_bytes,
            cors_origins: self
                .cors_origins
                .iter()
                .filter(|o| !o.trim().is_empty())
                .cloned()
                .collect(),
            static_dir: Some(self.static_dir.clone().unwrap_or_else(crate::default_static_dir)),
            api_rate: (self.api_rate_limit > 0.0).then(|| RateSpec {
                burst: burst_for(self.api_rate_limit),
                per_second: self.api_rate_limit,
            }),
            connections: ConnectionLimits {
                header_read_timeout: self
                    .header_read_timeout_secs
                    .map_or(defaults.connections.header_read_timeout, Duration::from_secs_f64),
                max_per_address: self
                    .max_connections_per_address
                    .unwrap_or(defaults.connections.max_per_address)
                    .max(1),
                ..defaults.connections
            },
            admission: Admission {
                max_in_flight: self.max_in_flight.map_or(defaults.admission.max_in_flight, |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                }),
                queue_wait: self
                    .queue_wait_secs
                    .map_or(defaults.admission.queue_wait, Duration::from_secs_f64),
            },
            ..defaults
        }
    }
}

/// A number of seconds: finite, above zero, at most a day.
fn positive_seconds(text: &str) -> std::result::Result<f64, String> {
    let seconds: f64 = text.trim().parse().map_err(|_| format!("{text:?} is not a number"))?;
    if seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0 {
        Ok(seconds)
    } else {
        Err(format!("{text:?}: expected seconds above 0 and at most 86400"))
    }
}

fn burst_for(per_second: f64) -> u32 {
    // Two seconds' worth; float to integer clamped so the cast cannot overflow.
    (per_second * 2.0).clamp(1.0, f64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;

    #[test]
    fn defaults_serve_sled_on_loopback_port_3000() {
        let args = Args::try_parse_from(["modelyard-server"]).unwrap();
        assert_eq!(args.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(args.role, Role::All);
        let config = args.facade_config().unwrap();
        assert_eq!(config.store, modelyard::StoreUrl::parse("sled://./modelyard-data").unwrap());
        assert!(config.cache.is_none());
        let settings = args.settings(&config);
        assert_eq!(settings.static_dir, Some(crate::default_static_dir()));
    }

    #[test]
    fn an_api_role_runs_no_workers_and_flags_reach_the_facade() {
        let args = Args::try_parse_from([
            "modelyard-server",
            "--role",
            "api",
            "--workers",
            "4",
            "--max-upload-mb",
            "2",
            "--jwt-secret",
            "0123456789abcdef0123456789abcdef",
            "--cors-origin",
            "https://a.example,https://b.example",
        ])
        .unwrap();
        let config = args.facade_config().unwrap();
        assert_eq!(config.training.workers, 0);
        assert_eq!(config.datasets.max_upload_bytes, 2 * 1024 * 1024);
        assert_eq!(config.jwt_secret.as_deref(), Some(&b"0123456789abcdef0123456789abcdef"[..]));
        let settings = args.settings(&config);
        assert_eq!(settings.max_upload_bytes, 2 * 1024 * 1024);
        assert_eq!(settings.cors_origins.len(), 2);
        let worker =
            Args::try_parse_from(["modelyard-server", "--role", "worker", "--workers", "3"])
                .unwrap();
        assert_eq!(worker.facade_config().unwrap().training.workers, 3);
    }

    #[test]
    fn lease_and_heartbeat_seconds_reach_the_training_config() {
        let args = Args::try_parse_from(["modelyard-server", "--lease-secs", "2.5"]).unwrap();
        let config = args.facade_config().unwrap();
        assert_eq!(config.training.lease, Duration::from_millis(2500));
        assert!(config.training.heartbeat < config.training.lease);
        let args = Args::try_parse_from([
            "modelyard-server",
            "--lease-secs",
            "3",
            "--heartbeat-secs",
            "0.5",
        ])
        .unwrap();
        assert_eq!(args.facade_config().unwrap().training.heartbeat, Duration::from_millis(500));
        let args = Args::try_parse_from(["modelyard-server", "--heartbeat-secs", "40"]).unwrap();
        assert_eq!(args.facade_config().err().unwrap().field(), Some("heartbeat_secs"));
        assert!(Args::try_parse_from(["modelyard-server", "--lease-secs", "0"]).is_err());
        assert!(Args::try_parse_from(["modelyard-server", "--lease-secs", "NaN"]).is_err());
    }

    #[test]
    fn an_unknown_store_scheme_is_a_validation_error() {
        let args = Args::try_parse_from(["modelyard-server", "--store", "ftp://x"]).unwrap();
        let Err(err) = args.facade_config() else { panic!("ftp:// accepted") };
        assert_eq!(err.code(), "VALIDATION");
    }
}
