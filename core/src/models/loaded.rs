//! Trained models kept loaded between predictions, as the original platform's `modelCache` did:
//! reading and parsing an artifact costs far more than predicting a few rows with it.
//!
//! Entries are keyed by model and remember the version (the run that trained it) they were
//! loaded from: a retrain, here or in another process sharing the store, gives the model a new
//! version, so the next prediction reloads; deleting the model drops its entry. The cache is
//! bounded by the bytes its models hold ([`crate::Predictor::memory_bytes`]) and evicts the least
//! recently used first.

use std::sync::Arc;

use moka::sync::Cache;

use crate::{ModelId, Predictor, RunId};

/// What the cache holds by default: room for a dozen large models (the default cost limit of
/// 20 million parameters is 80 MB of f32), or thousands of small ones.
pub const DEFAULT_LOADED_MODELS_BYTES: u64 = 256 * 1024 * 1024;

/// A loaded model and the version it was loaded from.
type Entry = (RunId, Arc<dyn Predictor>);

/// Loaded models by id, bounded in bytes.
#[derive(Clone)]
pub(super) struct LoadedModels {
    cache: Option<Cache<ModelId, Entry>>,
}

impl LoadedModels {
    /// A cache of at most `max_bytes`; 0 keeps nothing loaded (every call reads the artifact).
    pub(super) fn new(max_bytes: u64) -> Self {
        let cache = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_: &ModelId, (_, predictor): &Entry| {
                    u32::try_from(predictor.memory_bytes()).unwrap_or(u32::MAX)
                })
                .build()
        });
        Self { cache }
    }

    /// The model loaded from `version`, if it is.
    pub(super) fn get(&self, model: ModelId, version: RunId) -> Option<Arc<dyn Predictor>> {
        let (loaded_from, predictor) = self.cache.as_ref()?.get(&model)?;
        (loaded_from == version).then_some(predictor)
    }

    /// Keeps `predictor`, loaded from `version`, in place of any older version of `model`.
    pub(super) fn insert(&self, model: ModelId, version: RunId, predictor: Arc<dyn Predictor>) {
        if let Some(cache) = &self.cache {
            cache.insert(model, (version, predictor));
        }
    }

    /// Forgets `model` (deleted).
    pub(super) fn remove(&self, model: ModelId) {
        if let Some(cache) = &self.cache {
            cache.invalidate(&model);
        }
    }
}
