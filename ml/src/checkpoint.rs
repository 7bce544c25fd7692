//! A trainer's state after an epoch — parameters, running statistics, optimizer moments and
//! step, generator state, early-stopping bookkeeping — as one safetensors blob whose metadata
//! carries the scalars.

use std::collections::HashMap;

use modelyard_core::{Error, Optimizer, Result};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use crate::artifact::{f32_bytes, read_tensor, serialize, tensor_err};
use crate::optim::OptimizerState;

const STATE_KEY: &str = "modelyard_state";
const STATE_VERSION: u32 = 1;

/// The scalars of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Format version.
    pub version: u32,
    /// Last completed epoch.
    pub epoch: u32,
    /// Optimizer steps taken.
    pub step: u64,
    /// The optimizer that made the moments.
    pub optimizer: Optimizer,
    /// Shuffling and dropout generator.
    pub rng: [u64; 2],
    /// Best validation loss so far and its epoch.
    pub best: Option<(f64, u32)>,
    /// Epochs since the best one.
    pub stale_epochs: u32,
    /// Parameter count, checked on resume.
    pub param_count: usize,
    /// Statistics count, checked on resume.
    pub stats_count: usize,
}

/// Everything a resumed run needs.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainState {
    /// Scalars.
    pub progress: Progress,
    /// Parameters.
    pub params: Vec<f32>,
    /// Running statistics.
    pub stats: Vec<f32>,
    /// Optimizer moments.
    pub optimizer: OptimizerState,
    /// Parameters and statistics of the best epoch, kept for early stopping.
    pub best_weights: Option<(Vec<f32>, Vec<f32>)>,
}

/// Serialises a state.
pub fn encode(state: &TrainState) -> Result<Vec<u8>> {
    let p = &state.progress;
    let mut tensors = vec![
        ("params".to_owned(), vec![p.param_count], f32_bytes(&state.params)),
        ("stats".to_owned(), vec![p.stats_count], f32_bytes(&state.stats)),
        ("m".to_owned(), vec![state.optimizer.m.len()], f32_bytes(&state.optimizer.m)),
        ("v".to_owned(), vec![state.optimizer.v.len()], f32_bytes(&state.optimizer.v)),
    ];
    if let Some((params, stats)) = &state.best_weights {
        tensors.push(("best_params".to_owned(), vec![params.len()], f32_bytes(params)));
        tensors.push(("best_stats".to_owned(), vec![stats.len()], f32_bytes(stats)));
    }
    let meta = serde_json::to_string(p).map_err(Error::internal)?;
    serialize(&tensors, Some(HashMap::from([(STATE_KEY.to_owned(), meta)])))
}

/// Reads a state back, checking it fits a network of `param_count` parameters and
/// `stats_count` statistics trained with `optimizer`.
pub fn decode(
    bytes: &[u8],
    param_count: usize,
    stats_count: usize,
    optimizer: Optimizer,
) -> Result<TrainState> {
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(tensor_err)?;
    let meta = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(STATE_KEY))
        .ok_or_else(|| Error::internal("checkpoint without state"))?;
    let progress: Progress = serde_json::from_str(meta).map_err(Error::internal)?;
    if progress.version != STATE_VERSION
        || progress.param_count != param_count
        || progress.stats_count != stats_count
        || progress.optimizer != optimizer
    {
        return Err(Error::internal(
            "the checkpoint does not match this model and parameters: cannot resume from it",
        ));
    }
    let tensors = SafeTensors::deserialize(bytes).map_err(tensor_err)?;
    let moments = if optimizer == Optimizer::Sgd { 0 } else { param_count };
    let best_weights = if tensors.names().contains(&"best_params") {
        Some((
            read_tensor(&tensors, "best_params", &[param_count])?,
            read_tensor(&tensors, "best_stats", &[stats_count])?,
        ))
    } else {
        None
    };
    Ok(TrainState {
        params: read_tensor(&tensors, "params", &[param_count])?,
        stats: read_tensor(&tensors, "stats", &[stats_count])?,
        optimizer: OptimizerState {
            kind: optimizer,
            m: read_tensor(&tensors, "m", &[param_count])?,
            v: read_tensor(&tensors, "v", &[moments])?,
            step: progress.step,
        },
        best_weights,
        progress,
    })
}
