//! Where the store is: a MongoDB connection string and a database.

use modelyard_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// A MongoDB deployment and the database Modelyard uses on it, read from a `mongodb://` or
/// `mongodb+srv://` URL. Its `Debug` output hides the URL's password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MongoConfig {
    /// The connection string as given, passed to the driver (its options included).
    pub url: String,
    /// The database: the URL's path, `modelyard` when it has none.
    pub database: String,
}

impl MongoConfig {
    /// The database every store uses when the URL names none.
    pub const DEFAULT_DATABASE: &str = "modelyard";

    /// `url` with `database` in place of the one its path names (if any).
    pub fn new(url: impl Into<String>, database: impl Into<String>) -> Self {
        Self { url: url.into(), database: database.into() }
    }

    /// Parses `mongodb://host:27017/db?options` or `mongodb+srv://...`; the database is the
    /// URL's path, [`MongoConfig::DEFAULT_DATABASE`] without one. Errors name the field
    /// `store`, as the setting is called.
    pub fn from_url(url: &str) -> Result<Self> {
        let rest = crate::SCHEMES
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme)?.strip_prefix("://"))
            .ok_or_else(|| {
                Error::validation(
                    "store",
                    format!("{:?} is not a MongoDB URL (mongodb://host/db)", redacted(url)),
                )
            })?;
        let database = rest
            .split_once('/')
            .map(|(_hosts, path)| path.split('?').next().unwrap_or_default())
            .filter(|database| !database.is_empty())
            .unwrap_or(Self::DEFAULT_DATABASE);
        Ok(Self::new(url, database))
    }
}

fn redacted(url: &str) -> std::borrow::Cow<'_, str> {
    modelyard_core::text::redact_url(url)
}

impl std::fmt::Debug for MongoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoConfig")
            .field("url", &redacted(&self.url))
            .field("database", &self.database)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_the_path_or_the_default() {
        let cases = [
            ("mongodb://h:27017/shop", "shop"),
            ("mongodb://h:27017/shop?tls=true", "shop"),
            ("mongodb://h:27017/", "modelyard"),
            ("mongodb://h:27017", "modelyard"),
            ("mongodb://h/?replicaSet=rs", "modelyard"),
            ("mongodb+srv://u:p@cluster.example.com/prod", "prod"),
        ];
        for (url, database) in cases {
            let config = MongoConfig::from_url(url).unwrap();
            assert_eq!((config.url.as_str(), config.database.as_str()), (url, database));
        }
        assert_eq!(MongoConfig::from_url("redis://h").unwrap_err().code(), "VALIDATION");
    }

    #[test]
    fn debug_hides_the_password() {
        let config = MongoConfig::from_url("mongodb://user:s3cret@h/db").unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret") && shown.contains("db"), "{shown}");
    }
}
