//! Where the server's logs go: stderr by default, or, with `--log-dir`, three files rotated
//! daily (UTC) and kept for `--log-retention-days`, as the original platform kept
//! `logs/server.log`, `error.log` and `access.log`:
//!
//! - `server.<date>.log`: the server's own events, at the level `RUST_LOG` sets (default `info`);
//! - `error.<date>.log`: every warning and error, whatever `RUST_LOG` says;
//! - `access.<date>.log`: one line per answer (status, latency, with the request's method, path
//!   and id), at all times.
//!
//! Text or JSON lines (`--log-json`). Colour codes only ever go to a terminal: never into a
//! file, nor into stderr when it is redirected. Files are written by a background thread; the
//! [`Logs`] guard flushes them when dropped, at the end of `main`.

use std::error::Error;
use std::io::IsTerminal;
use std::path::Path;

use tracing::Level;
use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::{EnvFilter, LevelFilter, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// The target of the access log's events (`middleware::access_log::log_response`).
pub const ACCESS_TARGET: &str = "access";

/// The level filter when `RUST_LOG` sets none.
const DEFAULT_FILTER: &str = "info,tower_http=warn,sled=warn";

/// Keeps the log files' writers running; dropping it flushes what they hold.
#[must_use = "dropping the guard stops the log files' writers"]
pub struct Logs {
    _writers: Vec<WorkerGuard>,
}

/// Installs the process's logger: stderr, or the files of `dir` keeping `retention_days` files
/// of each log.
pub fn init(json: bool, dir: Option<&Path>, retention_days: u16) -> Result<Logs, Box<dyn Error>> {
    let Some(dir) = dir else {
        let ansi = std::io::stderr().is_terminal();
        tracing_subscriber::registry()
            .with(format(std::io::stderr, json, ansi).with_filter(env_filter()))
            .init();
        return Ok(Logs { _writers: Vec::new() });
    };
    modelyard::core::store::private_fs::create_private_dir_all(dir)
        .map_err(|err| format!("--log-dir {}: {err}", dir.display()))?;
    let (server, server_guard) = daily(dir, "server", retention_days)?;
    let (errors, errors_guard) = daily(dir, "error", retention_days)?;
    let (access, access_guard) = daily(dir, "access", retention_days)?;
    let is_access = |meta: &tracing::Metadata<'_>| meta.target() == ACCESS_TARGET;
    let layers = vec![
        format(server, json, false)
            .with_filter(filter_fn(move |meta| !is_access(meta)))
            .with_filter(env_filter())
            .boxed(),
        format(errors, json, false).with_filter(LevelFilter::WARN).boxed(),
        format(access, json, false)
            // Spans too: an access line carries its request's (method, path, id).
            .with_filter(filter_fn(move |meta| {
                meta.is_span() || (is_access(meta) && *meta.level() <= Level::INFO)
            }))
            .boxed(),
    ];
    tracing_subscriber::registry().with(layers).init();
    Ok(Logs { _writers: vec![server_guard, errors_guard, access_guard] })
}

fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// `name.<date>.log` in `dir`, a new one each day, the newest `keep` kept.
fn daily(dir: &Path, name: &str, keep: u16) -> Result<(NonBlocking, WorkerGuard), Box<dyn Error>> {
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(name)
        .filename_suffix("log")
        .max_log_files(usize::from(keep))
        .build(dir)
        .map_err(|err| format!("--log-dir {}: {err}", dir.display()))?;
    Ok(tracing_appender::non_blocking(appender))
}

/// Text or JSON lines to `writer`, in colour only when `ansi`.
fn format<W>(writer: W, json: bool, ansi: bool) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(ansi);
    if json { layer.json().boxed() } else { layer.boxed() }
}
