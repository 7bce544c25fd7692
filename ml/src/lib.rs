//! Modelyard's default [`modelyard_core::Trainer`]: preprocessing fitted on the training split,
//! MLPs on the CPU, metrics and `weights.safetensors` + `model.json` artifacts.
//!
//! Training is deterministic for a seed on one machine: weights are initialised and batches
//! shuffled from the crate's own seeded generator ([`rng::SeededRng`]).
//!
//! Threads: training's and inference's matrix products run on the caller's rayon pool (by
//! default the global one, sized once from `RAYON_NUM_THREADS` or the available CPUs; run them
//! inside `ThreadPool::install` to bound it); small products stay on the calling thread.
//! The forward and backward passes are hand-written over gemm's kernels ([`backprop`]); the
//! tests check them against candle's forward pass and autograd (a dev-dependency only).

pub mod artifact;
pub mod backprop;
pub mod checkpoint;
pub mod inference;
pub mod metrics;
pub mod network;
pub mod optim;
pub mod preprocess;
#[cfg(test)]
mod reference;
pub mod rng;
mod train;

use std::sync::Arc;

use modelyard_core::{
    CancelToken, Checkpoint, Predictor, Result, Trainer, TrainingInput, TrainingObserver,
    TrainingOutcome,
};

/// The default trainer: dense, dropout and batch-norm layers; SGD, Adam, AdamW; CPU only.
#[derive(Debug, Clone, Copy, Default)]
pub struct MlpTrainer;

/// The former name of [`MlpTrainer`], from when its passes ran on candle.
#[deprecated(since = "0.1.0", note = "renamed MlpTrainer: training no longer runs on candle")]
pub type CandleTrainer = MlpTrainer;

impl MlpTrainer {
    /// A trainer.
    pub fn new() -> Self {
        Self
    }
}

impl Trainer for MlpTrainer {
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
