//! The backends of this build, found by URL scheme: each `storage-*` crate names its schemes
//! (`SCHEMES`) and parses its own URLs (`XConfig::from_url`); this table only says which crate
//! answers which setting. A backend added to the workspace is one entry here, not a new arm of
//! every match that reads a URL.

use std::path::PathBuf;
use std::sync::LazyLock;

use futures::future::BoxFuture;
use modelyard_core::{Backend, Error, Result};

/// Which setting a backend URL is given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// `store`: the records, and whatever else the backend provides (queue, blobs, cache).
    Records,
    /// `blobs`: file bytes, in place of the record store's own.
    Blobs,
    /// `cache`: the cache (login rate-limit counters included) and live events.
    Cache,
}

impl Role {
    /// The setting, as errors name it.
    fn setting(self) -> &'static str {
        match self {
            Self::Records => "store",
            Self::Blobs => "blobs",
            Self::Cache => "cache",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::Records => "a record store (the `store` setting)",
            Self::Blobs => "a blob store (the `blobs` setting)",
            Self::Cache => "a cache (the `cache` setting)",
        }
    }
}

/// What opening a backend is given.
#[cfg_attr(not(any(feature = "s3", feature = "redis")), allow(dead_code))]
pub(crate) struct Opening {
    /// Its URL.
    pub url: String,
    /// For a `Blobs` or `Cache` backend: the backend it joins.
    pub base: Option<Backend>,
    /// For a `Cache` backend: the prefix of every key it writes.
    pub namespace: String,
}

/// A backend built into this build.
pub(crate) struct Registered {
    /// The URL schemes its crate registers.
    schemes: &'static [&'static str],
    role: Role,
    /// Checks a URL without connecting; returns the local directory its data lives in, if any
    /// (such a store is opened once per process and shared).
    check: fn(&str) -> Result<Option<PathBuf>>,
    /// Opens it; a `Blobs` or `Cache` backend returns its base with itself attached.
    open: fn(Opening) -> BoxFuture<'static, Result<Backend>>,
}

/// Schemes of the backends a build may leave out, with the feature that builds each in: a
/// URL of one of them gets "not built in" rather than "unknown".
const OPTIONAL: &[(&str, &str)] = &[
    ("sled", "sled"),
    ("mongodb", "mongo"),
    ("mongodb+srv", "mongo"),
    ("redis", "redis"),
    ("rediss", "redis"),
    ("redis+unix", "redis"),
    ("unix", "redis"),
    ("s3", "s3"),
];

fn registry() -> &'static [Registered] {
    static REGISTRY: LazyLock<Vec<Registered>> = LazyLock::new(built_in);
    &REGISTRY
}

/// One entry per backend this build has, each behind its feature.
#[allow(unused_mut, clippy::vec_init_then_push)]
fn built_in() -> Vec<Registered> {
    let mut registry = Vec::new();
    #[cfg(feature = "sled")]
    registry.push(Registered {
        schemes: modelyard_storage_sled::SCHEMES,
        role: Role::Records,
        check: sled::check,
        open: sled::open,
    });
    #[cfg(feature = "mongo")]
    registry.push(Registered {
        schemes: modelyard_storage_mongo::SCHEMES,
        role: Role::Records,
        check: mongo::check,
        open: mongo::open,
    });
    #[cfg(feature = "s3")]
    registry.push(Registered {
        schemes: modelyard_storage_s3::SCHEMES,
        role: Role::Blobs,
        check: s3::check,
        open: s3::open,
    });
    #[cfg(feature = "redis")]
    registry.push(Registered {
        schemes: modelyard_storage_redis::SCHEMES,
        role: Role::Cache,
        check: redis::check,
        open: redis::open,
    });
    registry
}

/// The backend that answers `url` in the setting of `role`, or an error: `NotSupported` for a
/// backend this build leaves out or one that cannot serve the setting, `Validation` naming the
/// setting otherwise.
fn find(role: Role, url: &str) -> Result<&'static Registered> {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme).unwrap_or_default();
    let scheme = scheme.to_ascii_lowercase();
    if let Some(found) =
        registry().iter().find(|r| r.role == role && r.schemes.contains(&scheme.as_str()))
    {
        return Ok(found);
    }
    // A backend that cannot serve this setting (Redis holds no records): not a typo, a
    // capability this deployment does not have.
    if let Some(other) = registry().iter().find(|r| r.schemes.contains(&scheme.as_str())) {
        return Err(Error::NotSupported(format!(
            "{scheme}:// is {}: it cannot be {}",
            other.role.what(),
            role.what()
        )));
    }
    if let Some((_, feature)) = OPTIONAL.iter().find(|(known, _)| *known == scheme) {
        return Err(Error::NotSupported(format!(
            "the {scheme}:// backend is not built in (enable the `{feature}` feature of modelyard)"
        )));
    }
    let known: Vec<String> = registry()
        .iter()
        .filter(|r| r.role == role)
        .flat_map(|r| r.schemes.iter().map(|s| format!("{s}://")))
        .collect();
    // The URL itself is not echoed: it may hold a password.
    Err(Error::validation(
        role.setting(),
        format!("not a URL this build opens here; it knows {}", known.join(", ")),
    ))
}

/// Checks `url` for the setting of `role` without connecting; the local directory its data
/// lives in, if any.
pub(crate) fn check(role: Role, url: &str) -> Result<Option<PathBuf>> {
    (find(role, url)?.check)(url)
}

/// Opens the backend of `url` in the setting of `role`.
pub(crate) async fn open(role: Role, opening: Opening) -> Result<Backend> {
    (find(role, &opening.url)?.open)(opening).await
}

#[cfg(feature = "sled")]
mod sled {
    use modelyard_storage_sled::{SledConfig, SledStore};

    use super::*;

    pub(super) fn check(url: &str) -> Result<Option<PathBuf>> {
        Ok(Some(SledConfig::from_url(url)?.path))
    }

    pub(super) fn open(opening: Opening) -> BoxFuture<'static, Result<Backend>> {
        Box::pin(async move {
            let config = SledConfig::from_url(&opening.url)?;
            // sled opens synchronously and may wait up to two seconds for the directory's lock:
            // not on a runtime thread.
            let opened = tokio::task::spawn_blocking(move || SledStore::open(&config)).await;
            Ok(opened.map_err(Error::internal)??.backend())
        })
    }
}

#[cfg(feature = "mongo")]
mod mongo {
    use modelyard_storage_mongo::{MongoConfig, MongoStore};

    use super::*;

    pub(super) fn check(url: &str) -> Result<Option<PathBuf>> {
        MongoConfig::from_url(url).map(|_| None)
    }

    pub(super) fn open(opening: Opening) -> BoxFuture<'static, Result<Backend>> {
        Box::pin(async move {
            Ok(MongoStore::open(&MongoConfig::from_url(&opening.url)?).await?.backend())
        })
    }
}

#[cfg(feature = "s3")]
mod s3 {
    use modelyard_storage_s3::{S3Config, S3Store};

    use super::*;

    pub(super) fn check(url: &str) -> Result<Option<PathBuf>> {
        S3Config::from_url(url).map(|_| None)
    }

    pub(super) fn open(opening: Opening) -> BoxFuture<'static, Result<Backend>> {
        Box::pin(async move {
            let base = opening.base.ok_or_else(|| Error::internal("blobs without a store"))?;
            Ok(S3Store::open(&S3Config::from_url(&opening.url)?).await?.attach(base))
        })
    }
}

#[cfg(feature = "redis")]
mod redis {
    use modelyard_storage_redis::{RedisConfig, RedisStore};

    use super::*;

    pub(super) fn check(url: &str) -> Result<Option<PathBuf>> {
        RedisConfig::from_url(url).map(|_| None)
    }

    pub(super) fn open(opening: Opening) -> BoxFuture<'static, Result<Backend>> {
        Box::pin(async move {
            let base = opening.base.ok_or_else(|| Error::internal("a cache without a store"))?;
            let config = RedisConfig::from_url(&opening.url)?.with_namespace(&opening.namespace);
            Ok(RedisStore::open(&config).await?.attach(base))
        })
    }
}
