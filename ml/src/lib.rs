//! Modelyard's default [`modelyard_core::Trainer`]: preprocessing fitted on the training split,
//! MLPs on candle (CPU), metrics and `weights.safetensors` + `model.json` artifacts.
//!
//! Training is deterministic for a seed on one machine: weights are initialised and batches
//! shuffled from the crate's own seeded generator ([`rng::SeededRng`]), never candle's.
//!
//! Threads: training's and inference's matrix products run on the caller's rayon pool (by
//! default the global one, sized once from `RAYON_NUM_THREADS` or the available CPUs; run them
//! inside `ThreadPool::install` to bound it); small products stay on the calling thread.
//! candle describes the networks and loads artifacts, and checks the hand-written passes in
//! tests; no prediction goes through candle's kernels, which re-detect the CPUs on every call.

pub mod artifact;
pub mod backprop;
pub mod checkpoint;
pub mod inference;
pub mod metrics;
pub mod network;
pub mod optim;
pub mod preprocess;
pub mod rng;
mod train;

use std::sync::Arc;

use modelyard_core::{
    CancelToken, Checkpoint, Predictor, Result, Trainer, TrainingInput, TrainingObserver,
    TrainingOutcome,
};

/// The candle trainer: dense, dropout and batch-norm layers; SGD, Adam, AdamW; CPU only.
#[derive(Debug, Clone, Copy, Default)]
pub struct CandleTrainer;

impl CandleTrainer {
    /// A trainer.
    pub fn new() -> Self {
        Self
    }
}

impl Trainer for CandleTrainer {
    fn train(
        &self,
        input: TrainingInput<'_>,
        resume: Option<Checkpoint>,
        observer: &mut dyn TrainingObserver,
        cancel: &CancelToken,
    ) -> Result<TrainingOutcome> {
        train::train(input, resume, observer, cancel)
    }

    fn load(&self, files: &[(String, Vec<u8>)]) -> Result<Arc<dyn Predictor>> {
        Ok(Arc::new(inference::Predictor::load(files)?))
    }
}
