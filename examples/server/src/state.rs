//! What every handler shares: the open facade and the server's own settings.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use modelyard::Modelyard;
use tokio_util::sync::CancellationToken;

use crate::connections::ConnectionLimits;
use crate::middleware::admission::Admission;
use crate::middleware::rate_limit::{RateLimiter, RateSpec};

/// HTTP-side settings; every business limit stays in the facade's [`modelyard::Config`].
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Largest dataset upload in bytes; the same number as the facade's `max_upload_bytes`, used
    /// to refuse a declared oversized body before reading it.
    pub max_upload_bytes: u64,
    /// Largest JSON request body in bytes.
    pub max_json_bytes: usize,
    /// Origins allowed by CORS (`https://app.example.com`); empty allows same-origin only.
    pub cors_origins: Vec<String>,
    /// Where the dashboard's static files are; `None` serves no dashboard.
    pub static_dir: Option<PathBuf>,
    /// Per-client limit on register and login.
    pub auth_rate: RateSpec,
    /// Per-client limit on every other API route; `None` turns it off.
    pub api_rate: Option<RateSpec>,
    /// Timeouts and size limits of connections and request heads.
    pub connections: ConnectionLimits,
    /// How many API requests run at once before more are shed.
    pub admission: Admission,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            max_upload_bytes: modelyard::DatasetConfig::default().max_upload_bytes,
            max_json_bytes: 2 * 1024 * 1024,
            cors_origins: Vec::new(),
            static_dir: None,
            auth_rate: RateSpec { burst: 20, per_second: 0.5 },
            api_rate: Some(RateSpec { burst: 2_000, per_second: 1_000.0 }),
            connections: ConnectionLimits::default(),
            admission: Admission::default(),
        }
    }
}

/// The state behind every route. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    yard: Modelyard,
    settings: ServerSettings,
    auth_limiter: RateLimiter,
    api_limiter: Option<RateLimiter>,
    admission_slots: tokio::sync::Semaphore,
    shutdown: CancellationToken,
    draining: AtomicBool,
}

impl AppState {
    /// State over an open yard.
    pub fn new(yard: Modelyard, settings: ServerSettings) -> Self {
        let auth_limiter = RateLimiter::new(settings.auth_rate);
        let api_limiter = settings.api_rate.map(RateLimiter::new);
        let admission_slots = tokio::sync::Semaphore::new(settings.admission.max_in_flight.max(1));
        Self {
            inner: Arc::new(Inner {
                yard,
                settings,
                auth_limiter,
                api_limiter,
                admission_slots,
                shutdown: CancellationToken::new(),
                draining: AtomicBool::new(false),
            }),
        }
    }

    /// The facade.
    pub fn yard(&self) -> &Modelyard {
        &self.inner.yard
    }

    /// The server's settings.
    pub fn settings(&self) -> &ServerSettings {
        &self.inner.settings
    }

    pub(crate) fn auth_limiter(&self) -> &RateLimiter {
        &self.inner.auth_limiter
    }

    pub(crate) fn admission_slots(&self) -> &tokio::sync::Semaphore {
        &self.inner.admission_slots
    }

    pub(crate) fn api_limiter(&self) -> Option<&RateLimiter> {
        self.inner.api_limiter.as_ref()
    }

    /// Cancelled when the server starts shutting down: live streams end so connections drain.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// Marks the server as draining (`/readyz` answers 503) and ends live streams.
    pub fn begin_shutdown(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
        self.inner.shutdown.cancel();
    }

    /// Whether the server is shutting down.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }
}
