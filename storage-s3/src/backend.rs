//! The store: one bucket and a prefix in it, opened from an [`S3Config`], and how it joins a
//! [`Backend`] (as its blob store).

use std::sync::Arc;

use modelyard_core::{Backend, BlobKey, Error, Result};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;

use crate::S3Config;
use crate::error::map_error;

/// Blobs as objects under `<prefix>/<key>` in a bucket. Cheap to clone.
#[derive(Clone)]
pub struct S3Store {
    /// The bucket's client.
    pub(crate) store: Arc<dyn ObjectStore>,
    prefix: Option<Path>,
    description: String,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store").field("at", &self.description).finish_non_exhaustive()
    }
}

impl S3Store {
    /// Opens the bucket of `config`, credentials from the environment, and lists its prefix
    /// once: a missing bucket, a wrong endpoint or refused credentials fail here.
    pub async fn open(config: &S3Config) -> Result<Self> {
        let store = Self::client(config)?;
        store.check().await?;
        Ok(store)
    }

    /// `backend` with this store as its blob store, in place of the backend's own.
    pub fn attach(self, backend: Backend) -> Backend {
        Backend { blobs: Some(Arc::new(self)), ..backend }
    }

    /// Builds the client without contacting the server.
    fn client(config: &S3Config) -> Result<Self> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&config.bucket);
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                // S3-compatible servers take the bucket in the path.
                .with_virtual_hosted_style_request(false);
        }
        if let Some(region) = &config.region {
            builder = builder.with_region(region);
        }
        let store = builder.build().map_err(|err| {
            Error::validation("blobs", format!("the S3 settings are incomplete: {err}"))
        })?;
        let prefix = (!config.prefix.is_empty()).then(|| Path::from(config.prefix.as_str()));
        let endpoint = config.endpoint.as_deref().unwrap_or("AWS");
        let description = format!("s3://{}/{} at {endpoint}", config.bucket, config.prefix);
        Ok(Self { store: Arc::new(store), prefix, description })
    }

    /// Lists one page of the prefix: the bucket exists and the credentials are accepted.
    async fn check(&self) -> Result<()> {
        self.store.list_with_delimiter(self.prefix.as_ref()).await.map_err(|err| {
            let err = map_error(err);
            Error::unavailable(format!("{}: {err}", self.description))
        })?;
        tracing::info!(blobs = %self.description, "S3 blob store reachable");
        Ok(())
    }

    /// The object of a key: the prefix, then the key's own segments (already checked).
    pub(crate) fn location(&self, key: &BlobKey) -> Path {
        let mut parts: Vec<object_store::path::PathPart<'_>> =
            self.prefix.iter().flat_map(|prefix| prefix.parts()).collect();
        parts.extend(key.segments().map(object_store::path::PathPart::from));
        Path::from_iter(parts)
    }
}
