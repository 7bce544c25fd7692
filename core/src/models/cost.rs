//! What training a model costs, estimated from its summary before any memory is spent, and the
//! limits that refuse a model or a run whose cost would take the machine down.
//!
//! The estimate follows what the trainer holds (`modelyard-ml`): the parameters with their
//! gradients and optimizer moments (and the best epoch's copy under early stopping), the
//! checkpoint written after each epoch (its safetensors encoding and the framed copy the blob
//! store receives), each layer's activations for one batch (its output, what its backward pass
//! saves, the gradient flowing back), and the encoded training matrix. Every value is an `f32`.

use crate::{Error, ModelSummary, Optimizer, Result, TrainParams};

/// Limits on what one model and one training run may cost. Passing one is the caller's mistake
/// (a `Validation` error naming the field to change), never a worker killed by the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostLimits {
    /// Most parameters a model may have (default 20 million: 80 MB of weights).
    pub max_params: u64,
    /// Most memory one run may need by [`TrainingCost`]'s estimate, in bytes (default 2 GiB).
    pub max_training_bytes: u64,
    /// Most rows one run may go through: the dataset's rows times the epochs (default 100
    /// million: a million rows for 100 epochs).
    pub max_row_epochs: u64,
}

impl Default for CostLimits {
    fn default() -> Self {
        Self {
            max_params: 20_000_000,
            max_training_bytes: 2 * 1024 * 1024 * 1024,
            max_row_epochs: 100_000_000,
        }
    }
}

/// The memory one training run needs, by part, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainingCost {
    /// Parameters, gradients, optimizer moments, the best epoch's copy and the checkpoint.
    pub parameters: u64,
    /// One batch's activations, saved values and gradients.
    pub activations: u64,
    /// The encoded training matrix (features and targets of every row).
    pub data: u64,
}

impl TrainingCost {
    /// The estimate for training a model of `summary` on `rows` rows with `params`.
    pub fn estimate(summary: &ModelSummary, rows: u64, params: &TrainParams) -> Self {
        const F32: u64 = 4;
        let p = summary.total_params;
        let moments = match params.optimizer {
            Optimizer::Sgd => 1,
            Optimizer::Adam | Optimizer::Adamw => 2,
        };
        let best = u64::from(params.early_stopping.is_some());
        // Live: weights, gradients, moments, best weights. Checkpoint: weights, moments and best
        // weights encoded, then framed for the blob store (two transient copies).
        let live = 2 + moments + best;
        let checkpoint = 2 * (1 + moments + best);
        let widths: u64 = summary.input_width
            + summary
                .layers
                .iter()
                .map(|layer| layer.output_shape.last().copied().flatten().unwrap_or(0))
                .sum::<u64>();
        let outputs = summary
            .layers
            .last()
            .and_then(|layer| layer.output_shape.last().copied().flatten())
            .unwrap_or(1);
        Self {
            parameters: p.saturating_mul(live + checkpoint).saturating_mul(F32),
            activations: u64::from(params.batch_size)
                .saturating_mul(widths)
                .saturating_mul(3 * F32),
            data: rows.saturating_mul(summary.input_width + outputs).saturating_mul(F32),
        }
    }

    /// The whole estimate.
    pub fn total(&self) -> u64 {
        self.parameters.saturating_add(self.activations).saturating_add(self.data)
    }
}

impl CostLimits {
    /// Checks a model about to be created: its parameter count, and its training cost on the
    /// dataset's `rows` with the default training parameters. Errors name `layers`.
    pub fn check_model(&self, summary: &ModelSummary, rows: u64) -> Result<()> {
        if summary.total_params > self.max_params {
            return Err(Error::validation(
                "layers",
                format!(
                    "the model would have {} parameters, above this deployment's limit of {}: use \
                     fewer or narrower layers",
                    summary.total_params, self.max_params
                ),
            ));
        }
        let cost = TrainingCost::estimate(summary, rows, &TrainParams::default());
        if cost.total() > self.max_training_bytes {
            return Err(Error::validation(
                "layers",
                format!(
                    "training this model on {rows} rows needs about {} of memory, above this \
                     deployment's limit of {}: use fewer or narrower layers",
                    mib(cost.total()),
                    mib(self.max_training_bytes)
                ),
            ));
        }
        Ok(())
    }

    /// Checks a run about to be queued: rows times epochs, the parameter count (the limits may
    /// have changed since the model was made) and the training cost with the run's batch size.
    /// Errors name `epochs`, `batch_size` or `model_id`.
    pub fn check_run(&self, summary: &ModelSummary, rows: u64, params: &TrainParams) -> Result<()> {
        let row_epochs = rows.saturating_mul(u64::from(params.epochs));
        if row_epochs > self.max_row_epochs {
            let most = self.max_row_epochs / rows.max(1);
            return Err(Error::validation(
                "epochs",
                format!(
                    "{} epochs over {rows} rows is {row_epochs} rows of training, above this \
                     deployment's limit of {}: ask for at most {most} epochs",
                    params.epochs, self.max_row_epochs
                ),
            ));
        }
        if summary.total_params > self.max_params {
            return Err(Error::validation(
                "model_id",
                format!(
                    "the model has {} parameters, above this deployment's limit of {}: create a \
                     smaller model",
                    summary.total_params, self.max_params
                ),
            ));
        }
        let cost = TrainingCost::estimate(summary, rows, params);
        if cost.total() <= self.max_training_bytes {
            return Ok(());
        }
        let fixed = cost.parameters.saturating_add(cost.data);
        let per_row = cost.activations / u64::from(params.batch_size.max(1));
        if fixed.saturating_add(per_row) > self.max_training_bytes {
            return Err(Error::validation(
                "model_id",
                format!(
                    "training this model on {rows} rows needs about {} of memory even one row at \
                     a time, above this deployment's limit of {}: create a smaller model",
                    mib(fixed.saturating_add(per_row)),
                    mib(self.max_training_bytes)
                ),
            ));
        }
        let largest = (self.max_training_bytes - fixed) / per_row.max(1);
        Err(Error::validation(
            "batch_size",
            format!(
                "a batch of {} rows needs about {} of memory for this model, above this \
                 deployment's limit of {}: use a batch of at most {largest} rows",
                params.batch_size,
                mib(cost.total()),
                mib(self.max_training_bytes)
            ),
        ))
    }
}

/// Bytes in MiB, for messages.
fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes.div_ceil(1024 * 1024))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::models::summarize;
    use crate::{Activation, LayerSpec, Task};

    fn dense(count: usize, units: u32) -> Vec<LayerSpec> {
        vec![LayerSpec::Dense { units, activation: Activation::Relu }; count]
    }

    fn field(result: Result<()>) -> String {
        result.unwrap_err().field().unwrap().to_owned()
    }

    #[test]
    fn the_attackers_model_is_refused_by_its_parameter_count() {
        // 8 dense layers of 4 096 units on iris: 118 M parameters, several GiB to train.
        let summary = summarize(4, &dense(8, 4096), 3, Task::Classification);
        assert!(summary.total_params > 100_000_000);
        let limits = CostLimits::default();
        assert_eq!(field(limits.check_model(&summary, 150)), "layers");
        let cost = TrainingCost::estimate(&summary, 150, &TrainParams::default());
        assert!(cost.total() > 4 * 1024 * 1024 * 1024, "{cost:?}");
    }

    #[test]
    fn a_model_within_the_parameter_limit_can_still_cost_too_much_memory() {
        let summary = summarize(784, &dense(2, 1024), 10, Task::Classification);
        let limits = CostLimits { max_training_bytes: 16 * 1024 * 1024, ..CostLimits::default() };
        assert!(summary.total_params <= limits.max_params);
        let err = limits.check_model(&summary, 1_000).unwrap_err();
        assert_eq!(err.field(), Some("layers"));
        assert!(err.to_string().contains("MiB"), "{err}");
    }

    #[test]
    fn ordinary_models_pass() {
        let limits = CostLimits::default();
        let iris = summarize(4, &crate::default_layers(), 3, Task::Classification);
        limits.check_model(&iris, 150).unwrap();
        limits
            .check_run(&iris, 150, &TrainParams { epochs: 2_000, ..TrainParams::default() })
            .unwrap();
        // The large peer shape: 20 000 rows of 784 features, two hidden layers of 256.
        let mnist = summarize(784, &dense(2, 256), 10, Task::Classification);
        limits.check_model(&mnist, 20_000).unwrap();
        limits
            .check_run(&mnist, 20_000, &TrainParams { batch_size: 4096, ..TrainParams::default() })
            .unwrap();
    }

    #[test]
    fn a_run_names_epochs_batch_size_or_the_model() {
        let summary = summarize(784, &dense(2, 256), 10, Task::Classification);
        let limits = CostLimits::default();
        let epochs = TrainParams { epochs: 10_000, ..TrainParams::default() };
        let err = limits.check_run(&summary, 20_000, &epochs).unwrap_err();
        assert_eq!(err.field(), Some("epochs"));
        assert!(err.to_string().contains("at most 5000 epochs"), "{err}");

        let wide = summarize(784, &dense(1, 4096), 10, Task::Classification);
        let tight = CostLimits { max_training_bytes: 512 * 1024 * 1024, ..limits };
        let batch = TrainParams { batch_size: 65_536, ..TrainParams::default() };
        let err = tight.check_run(&wide, 1_000, &batch).unwrap_err();
        assert_eq!(err.field(), Some("batch_size"));
        // The batch it suggests fits.
        let most: u32 = err
            .to_string()
            .rsplit("at most ")
            .next()
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        tight.check_run(&wide, 1_000, &TrainParams { batch_size: most, ..batch.clone() }).unwrap();
        assert!(
            tight.check_run(&wide, 1_000, &TrainParams { batch_size: most + 1, ..batch }).is_err()
        );

        let lowered = CostLimits { max_params: 1_000, ..limits };
        assert_eq!(field(lowered.check_run(&summary, 100, &TrainParams::default())), "model_id");
    }
}
