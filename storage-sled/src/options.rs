//! How a sled store is opened, beyond its directory.

/// Options for [`crate::open_with`] and [`crate::SledStore::open_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SledOptions {
    /// The most sled's page cache may hold, in bytes. Records read often stay decoded in
    /// front of it anyway (every collection keeps a few MiB of them), so a small cache costs
    /// little; sled's own default (1 GiB) would let the cache grow with the data for as long as
    /// a server runs.
    pub cache_bytes: u64,
}

impl SledOptions {
    /// The page cache by default: 64 MiB.
    pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

    /// Sets the page cache's size in bytes.
    pub fn with_cache_bytes(mut self, cache_bytes: u64) -> Self {
        self.cache_bytes = cache_bytes;
        self
    }
}

impl Default for SledOptions {
    fn default() -> Self {
        Self { cache_bytes: Self::DEFAULT_CACHE_BYTES }
    }
}
