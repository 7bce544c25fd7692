//! Where the cache is: a Redis URL and the namespace every key lives under.

use modelyard_core::text::redact_url;
use modelyard_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// A Redis server and the key namespace Modelyard uses on it, read from a `redis://`,
/// `rediss://`, `redis+unix://` or `unix://` URL. Its `Debug` output hides the URL's password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RedisConfig {
    /// The URL as given (`redis://[:password@]host:port/db`), passed to redis-rs.
    pub url: String,
    /// The prefix of every key (`<namespace>:...`), so several deployments (or tests) can share
    /// one server.
    pub namespace: String,
}

impl RedisConfig {
    /// The namespace of every key when none is given.
    pub const DEFAULT_NAMESPACE: &str = "modelyard";

    /// Checks that `url` is of one of [`SCHEMES`](crate::SCHEMES) (`redis://host:6379/0`,
    /// `rediss://...`), under the namespace [`RedisConfig::DEFAULT_NAMESPACE`]. The URL is
    /// parsed whole when the store opens. Errors name the field `cache`, as the setting is
    /// called, and quote the URL without its password.
    pub fn from_url(url: &str) -> Result<Self> {
        let known =
            url.split_once("://").is_some_and(|(scheme, _)| crate::SCHEMES.contains(&scheme));
        if !known {
            return Err(Error::validation(
                "cache",
                format!(
                    "{:?} is not a Redis URL (redis://host:6379/0, rediss://...)",
                    redact_url(url)
                ),
            ));
        }
        Ok(Self { url: url.to_owned(), namespace: Self::DEFAULT_NAMESPACE.to_owned() })
    }

    /// This configuration with every key under `namespace:` ([`RedisConfig::DEFAULT_NAMESPACE`]
    /// when `namespace` is empty).
    #[must_use]
    pub fn with_namespace(mut self, namespace: &str) -> Self {
        let namespace = if namespace.is_empty() { Self::DEFAULT_NAMESPACE } else { namespace };
        namespace.clone_into(&mut self.namespace);
        self
    }
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &redact_url(&self.url))
            .field("namespace", &self.namespace)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_of_each_scheme_is_taken_under_the_default_namespace() {
        for url in [
            "redis://127.0.0.1:6379/0",
            "rediss://:pw@cache.example.com:6380",
            "redis+unix:///run/redis.sock?db=1",
            "unix:///run/redis.sock",
        ] {
            let config = RedisConfig::from_url(url).unwrap();
            assert_eq!((config.url.as_str(), config.namespace.as_str()), (url, "modelyard"));
        }
    }

    #[test]
    fn a_url_of_another_scheme_is_refused_naming_cache_without_its_password() {
        for url in ["http://h:6379", "memory", "", "mongodb://u:s3cret@h/db"] {
            let err = RedisConfig::from_url(url).expect_err(url);
            assert_eq!(err.field(), Some("cache"), "{url}: {err}");
            assert!(!err.to_string().contains("s3cret"), "{err}");
        }
        let err = RedisConfig::from_url("http://h:6379").unwrap_err();
        assert!(err.to_string().contains("http://h:6379"), "{err}");
    }

    #[test]
    fn the_namespace_is_set_and_empty_keeps_the_default() {
        let config = RedisConfig::from_url("redis://h").unwrap();
        assert_eq!(config.clone().with_namespace("tenant-a").namespace, "tenant-a");
        assert_eq!(config.with_namespace("tenant-a").with_namespace("").namespace, "modelyard");
    }

    #[test]
    fn debug_hides_the_password() {
        let config = RedisConfig::from_url("redis://user:s3cret@h:6379/0").unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret") && shown.contains("h:6379"), "{shown}");
        let config = RedisConfig::from_url("redis+unix:///run/r.sock?pass=s3cret").unwrap();
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn serde_round_trips_and_refuses_unknown_fields() {
        let config = RedisConfig::from_url("redis://h:6379/0").unwrap().with_namespace("ns");
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(json, r#"{"url":"redis://h:6379/0","namespace":"ns"}"#);
        assert_eq!(serde_json::from_str::<RedisConfig>(&json).unwrap(), config);
        let unknown = r#"{"url":"redis://h","namespace":"ns","db":1}"#;
        assert!(serde_json::from_str::<RedisConfig>(unknown).is_err());
    }
}
