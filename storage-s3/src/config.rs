//! Where the blobs go: a bucket, a prefix, and an endpoint for S3-compatible servers.

use modelyard_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// A bucket and a prefix in it, read from an `s3://bucket/prefix` URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct S3Config {
    /// The bucket, which must exist.
    pub bucket: String,
    /// The folder of every key in the bucket (`/`-separated, without leading or trailing `/`),
    /// or empty for the bucket's root.
    pub prefix: String,
    /// An S3-compatible server's URL (`http://127.0.0.1:8333`); AWS's own without one (or
    /// `AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// The region; `AWS_REGION` without one (`us-east-1` without either).
    pub region: Option<String>,
}

impl S3Config {
    /// A bucket and prefix with the endpoint and region from the environment.
    pub fn new(bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self { bucket: bucket.into(), prefix: prefix.into(), endpoint: None, region: None }
    }

    /// Parses `s3://bucket`, `s3://bucket/a/prefix`, each with optional `?endpoint=URL` and
    /// `&region=NAME`. Errors name the field `blobs`, as the setting is called.
    pub fn from_url(url: &str) -> Result<Self> {
        let rest = crate::SCHEMES
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme)?.strip_prefix("://"))
            .ok_or_else(|| invalid(url, "it must start s3://"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        if !valid_bucket(bucket) {
            return Err(invalid(url, "the bucket must be 3-63 of a-z, 0-9, '.' and '-'"));
        }
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() && !prefix.split('/').all(valid_segment) {
            return Err(invalid(
                url,
                "the prefix must be '/'-separated segments of a-z, A-Z, 0-9, '.', '_' and '-'",
            ));
        }
        let mut config = Self::new(bucket, prefix);
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "endpoint" if value.starts_with("http://") || value.starts_with("https://") => {
                    config.endpoint = Some(value.trim_end_matches('/').to_owned());
                }
                "endpoint" => return Err(invalid(url, "endpoint must be an http(s):// URL")),
                "region" if !value.is_empty() => config.region = Some(value.to_owned()),
                _ => {
                    return Err(invalid(
                        url,
                        &format!("unknown option {key:?}: endpoint= and region= are known"),
                    ));
                }
            }
        }
        Ok(config)
    }
}

/// S3's bucket naming rules (lower case, no leading or trailing `.` or `-`).
fn valid_bucket(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && !bucket.starts_with(['.', '-'])
        && !bucket.ends_with(['.', '-'])
}

fn valid_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn invalid(url: &str, why: &str) -> Error {
    // The URL carries no secret (credentials come from the environment), so it is quoted.
    Error::validation("blobs", format!("{url:?} is not an S3 location: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gives_bucket_prefix_endpoint_and_region() {
        let config =
            S3Config::from_url("s3://my-bucket/a/b/?endpoint=http://127.0.0.1:8333/&region=eu-1")
                .unwrap();
        assert_eq!(config.bucket, "my-bucket");
        assert_eq!(config.prefix, "a/b");
        assert_eq!(config.endpoint.as_deref(), Some("http://127.0.0.1:8333"));
        assert_eq!(config.region.as_deref(), Some("eu-1"));
        assert_eq!(S3Config::from_url("s3://bkt").unwrap(), S3Config::new("bkt", ""));
    }

    #[test]
    fn a_bad_url_is_refused_naming_blobs() {
        for url in [
            "http://bucket",
            "s3://",
            "s3://ab",
            "s3://Upper",
            "s3://-bucket",
            "s3://bucket/../x",
            "s3://bucket/a//b",
            "s3://bucket/a b",
            "s3://bucket?endpoint=ftp://x",
            "s3://bucket?secret=x",
            "s3://bucket?region=",
        ] {
            let err = S3Config::from_url(url).expect_err(url);
            assert_eq!(err.field(), Some("blobs"), "{url}: {err}");
        }
    }
}
