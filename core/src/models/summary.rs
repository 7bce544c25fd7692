//! Keras-style summaries: output shape and parameter count per layer.

use crate::{Activation, LayerSpec, LayerSummary, ModelSummary, Task};

/// Summarises a network of `layers` between an input of `input_width` and `outputs` units.
///
/// Dense: `inputs * units + units` parameters. BatchNorm: `4 * width`, of which `2 * width`
/// (scale, shift) are trainable and `2 * width` (running mean, variance) are not. Dropout: none.
pub fn summarize(input_width: u64, layers: &[LayerSpec], outputs: u64, task: Task) -> ModelSummary {
    let mut width = input_width;
    let mut counters = [0u32; 3];
    let mut rows = Vec::with_capacity(layers.len() + 1);
    for layer in layers {
        let (slot, kind, params, trainable) = match layer {
            LayerSpec::Dense { units, activation } => {
                let units = u64::from(*units);
                let params = width * units + units;
                width = units;
                (0, format!("Dense ({})", activation_name(*activation)), params, params)
            }
            LayerSpec::Dropout { rate } => (1, format!("Dropout ({rate})"), 0, 0),
            LayerSpec::BatchNorm => (2, "BatchNorm".to_owned(), 4 * width, 2 * width),
        };
        counters[slot] += 1;
        let prefix = ["dense", "dropout", "batch_norm"][slot];
        rows.push(LayerSummary {
            name: format!("{prefix}_{}", counters[slot]),
            kind,
            output_shape: vec![None, Some(width)],
            params,
            trainable_params: trainable,
        });
    }
    let output_params = width * outputs + outputs;
    let head = match task {
        Task::Classification => "Dense (softmax)",
        Task::Regression => "Dense (linear)",
    };
    rows.push(LayerSummary {
        name: "output".to_owned(),
        kind: head.to_owned(),
        output_shape: vec![None, Some(outputs)],
        params: output_params,
        trainable_params: output_params,
    });
    ModelSummary {
        input_width,
        total_params: rows.iter().map(|r| r.params).sum(),
        trainable_params: rows.iter().map(|r| r.trainable_params).sum(),
        layers: rows,
    }
}

fn activation_name(activation: Activation) -> &'static str {
    match activation {
        Activation::Relu => "relu",
        Activation::Gelu => "gelu",
        Activation::Tanh => "tanh",
        Activation::Sigmoid => "sigmoid",
        Activation::Linear => "linear",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iris_default_mlp_counts_like_keras() {
        // 4 -> 64 -> 32 -> 3: (4*64+64) + (64*32+32) + (32*3+3) = 320 + 2080 + 99.
        let summary = summarize(4, &crate::default_layers(), 3, Task::Classification);
        let params: Vec<u64> = summary.layers.iter().map(|l| l.params).collect();
        assert_eq!(params, [320, 2080, 99]);
        assert_eq!(summary.total_params, 2499);
        assert_eq!(summary.layers[2].output_shape, vec![None, Some(3)]);
    }

    #[test]
    fn batch_norm_running_statistics_are_not_trainable() {
        let layers = [
            LayerSpec::Dense { units: 8, activation: Activation::Relu },
            LayerSpec::BatchNorm,
            LayerSpec::Dropout { rate: 0.5 },
        ];
        let summary = summarize(2, &layers, 1, Task::Regression);
        assert_eq!(summary.layers[1].params, 32);
        assert_eq!(summary.layers[1].trainable_params, 16);
        assert_eq!(summary.layers[2].params, 0);
        assert_eq!(summary.layers[2].name, "dropout_1");
        assert_eq!(summary.total_params - summary.trainable_params, 16);
    }
}
