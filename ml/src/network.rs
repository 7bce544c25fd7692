//! The network: a layer plan over one flat parameter buffer, its parameter layout and its
//! initialisation.
//!
//! Parameters live in a `Vec<f32>` owned by the trainer (so the optimizer updates them in place,
//! in one fused pass). Training and inference run the hand-written passes of [`crate::backprop`];
//! the tests check them against candle's forward pass and autograd (`crate::reference`).

use modelyard_core::{Activation, LayerSpec};
use serde::{Deserialize, Serialize};

use crate::rng::SeededRng;

/// BatchNorm's epsilon, as in PyTorch and Keras.
pub const BN_EPSILON: f64 = 1e-5;
/// Weight of the newest batch in BatchNorm's running statistics, as in PyTorch.
pub const BN_MOMENTUM: f32 = 0.1;

/// One named parameter tensor inside the flat buffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// `dense_1.weight`, `batch_norm_1.gamma`, ...
    pub name: String,
    /// Its shape (`[inputs, units]` for a dense weight).
    pub shape: Vec<usize>,
    /// Where it starts in the buffer.
    pub offset: usize,
}

impl Segment {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether it holds no value (a zero-width layer).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One layer of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Layer {
    /// `activation(x @ weight + bias)`, weight shaped `[inputs, units]`.
    Dense {
        /// `dense_1`... or `output`.
        name: String,
        /// Output width.
        units: usize,
        /// Applied after the affine map.
        activation: Activation,
        /// Segment index of the weight.
        weight: usize,
        /// Segment index of the bias.
        bias: usize,
    },
    /// Inverted dropout while training, identity at inference.
    Dropout {
        /// `dropout_1`...
        name: String,
        /// Fraction dropped.
        rate: f64,
    },
    /// `(x - mean) / sqrt(var + eps) * gamma + beta`; batch statistics while training, running
    /// ones at inference.
    BatchNorm {
        /// `batch_norm_1`...
        name: String,
        /// Width normalised.
        width: usize,
        /// Segment index of gamma.
        gamma: usize,
        /// Segment index of beta.
        beta: usize,
        /// Where this layer's running mean starts in the statistics buffer (the variance follows).
        stats: usize,
    },
}

/// The whole network: layers, parameter layout, statistics layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Encoded input width.
    pub input_width: usize,
    /// Output width (classes, or 1).
    pub outputs: usize,
    /// Layers in order, the output layer last.
    pub layers: Vec<Layer>,
    /// Parameter tensors in buffer order.
    pub segments: Vec<Segment>,
    /// Total parameter values.
    pub param_count: usize,
    /// Running-statistics values (BatchNorm means and variances).
    pub stats_count: usize,
}

impl Network {
    /// Plans the network for `layers` between `input_width` inputs and `outputs` outputs.
    pub fn plan(input_width: usize, layers: &[LayerSpec], outputs: usize) -> Self {
        let mut segments: Vec<Segment> = Vec::new();
        let mut add = |name: String, shape: Vec<usize>| {
            let offset = segments.last().map_or(0, |s| s.offset + s.len());
            segments.push(Segment { name, shape, offset });
            segments.len() - 1
        };
        let mut planned = Vec::with_capacity(layers.len() + 1);
        let (mut width, mut stats_count) = (input_width, 0);
        let mut counters = [0usize; 3];
        for spec in layers {
            match spec {
                LayerSpec::Dense { units, activation } => {
                    counters[0] += 1;
                    let name = format!("dense_{}", counters[0]);
                    let units = *units as usize;
                    let weight = add(format!("{name}.weight"), vec![width, units]);
                    let bias = add(format!("{name}.bias"), vec![units]);
                    planned.push(Layer::Dense {
                        name,
                        units,
                        activation: *activation,
                        weight,
                        bias,
                    });
                    width = units;
                }
                LayerSpec::Dropout { rate } => {
                    counters[1] += 1;
                    planned.push(Layer::Dropout {
                        name: format!("dropout_{}", counters[1]),
                        rate: *rate,
                    });
                }
                LayerSpec::BatchNorm => {
                    counters[2] += 1;
                    let name = format!("batch_norm_{}", counters[2]);
                    let gamma = add(format!("{name}.gamma"), vec![width]);
                    let beta = add(format!("{name}.beta"), vec![width]);
                    planned.push(Layer::BatchNorm { name, width, gamma, beta, stats: stats_count });
                    stats_count += 2 * width;
                }
            }
        }
        let weight = add("output.weight".into(), vec![width, outputs]);
        let bias = add("output.bias".into(), vec![outputs]);
        planned.push(Layer::Dense {
            name: "output".into(),
            units: outputs,
            activation: Activation::Linear,
            weight,
            bias,
        });
        let param_count = segments.last().map_or(0, |s| s.offset + s.len());
        Self { input_width, outputs, layers: planned, segments, param_count, stats_count }
    }

    /// Initial parameters: dense weights and biases uniform in ±1/sqrt(inputs) (PyTorch's
    /// default), BatchNorm gamma 1 and beta 0; running means 0 and variances 1.
    pub fn init(&self, rng: &mut SeededRng) -> (Vec<f32>, Vec<f32>) {
        let mut params = vec![0f32; self.param_count];
        for layer in &self.layers {
            match layer {
                Layer::Dense { weight, bias, .. } => {
                    let inputs = self.segments[*weight].shape[0].max(1);
                    let bound = 1.0 / (inputs as f64).sqrt();
                    for index in [*weight, *bias] {
                        let s = &self.segments[index];
                        for p in &mut params[s.offset..s.offset + s.len()] {
                            *p = rng.symmetric(bound) as f32;
                        }
                    }
                }
                Layer::BatchNorm { gamma, .. } => {
                    let s = &self.segments[*gamma];
                    params[s.offset..s.offset + s.len()].fill(1.0);
                }
                Layer::Dropout { .. } => {}
            }
        }
        let mut stats = vec![0f32; self.stats_count];
        for layer in &self.layers {
            if let Layer::BatchNorm { width, stats: at, .. } = layer {
                stats[at + width..at + 2 * width].fill(1.0);
            }
        }
        (params, stats)
    }
}
