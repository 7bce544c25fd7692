//! Where the store is: a data directory, and the size of sled's page cache.

use std::path::PathBuf;

use modelyard_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// A data directory and how to open it, read from a `sled://` URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SledConfig {
    /// The data directory: the database under `db/`, files under `blobs/`. Created (0700) if
    /// missing.
    pub path: PathBuf,
    /// The most sled's page cache may hold, in bytes. Records read often stay decoded in front
    /// of it anyway (every collection keeps a few MiB of them), so a small cache costs little;
    /// sled's own default (1 GiB) would let the cache grow with the data for as long as a
    /// server runs.
    #[serde(default = "default_cache_bytes")]
    pub cache_bytes: u64,
}

fn default_cache_bytes() -> u64 {
    SledConfig::DEFAULT_CACHE_BYTES
}

impl SledConfig {
    /// The page cache by default: 64 MiB.
    pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

    /// The data directory `path` with the default page cache.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), cache_bytes: Self::DEFAULT_CACHE_BYTES }
    }

    /// Sets the page cache's size in bytes.
    pub fn with_cache_bytes(mut self, cache_bytes: u64) -> Self {
        self.cache_bytes = cache_bytes;
        self
    }

    /// Parses `sled://./data`, `sled:///abs/path` or `sled:relative`, each with an optional
    /// `?cache_mb=N` (the page cache in MiB, 1 to 1,048,576). Errors name the field `store`, as
    /// the setting is called.
    pub fn from_url(url: &str) -> Result<Self> {
        let rest = url.strip_prefix("sled:").ok_or_else(|| {
            Error::validation("store", format!("{url:?} is not a sled URL (sled://./data)"))
        })?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() {
            return Err(Error::validation(
                "store",
                format!("{url:?} names no directory; try sled://./modelyard-data"),
            ));
        }
        let mut config = Self::new(path);
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if key != "cache_mb" {
                return Err(Error::validation(
                    "store",
                    format!("a sled URL takes one option, cache_mb, not {key:?}"),
                ));
            }
            let mib = value.parse::<u64>().ok().filter(|mib| (1..=1 << 20).contains(mib));
            let mib = mib.ok_or_else(|| {
                Error::validation(
                    "store",
                    format!("cache_mb={value:?}: the page cache in MiB, from 1 to 1048576"),
                )
            })?;
            config.cache_bytes = mib << 20;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_directory_and_optionally_the_page_cache() {
        let parsed = |url: &str| SledConfig::from_url(url).map(|c| (c.path, c.cache_bytes));
        let default = SledConfig::DEFAULT_CACHE_BYTES;
        assert_eq!(parsed("sled://./data").unwrap(), ("./data".into(), default));
        assert_eq!(parsed("sled:rel?cache_mb=16").unwrap(), ("rel".into(), 16 << 20));
        assert_eq!(parsed("sled:///abs?cache_mb=1").unwrap(), ("/abs".into(), 1 << 20));
        for bad in [
            "sled://",
            "sled:",
            "sled://x?cache_mb=0",
            "sled://x?cache_mb=2000000",
            "sled://x?cache=1",
            "mongodb://h",
        ] {
            let err = SledConfig::from_url(bad).expect_err(bad);
            assert_eq!((err.code(), err.field()), ("VALIDATION", Some("store")), "{bad}");
        }
    }
}
