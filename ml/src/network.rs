//! The network: a layer plan over one flat parameter buffer, and its forward pass on candle.
//!
//! Parameters live in a `Vec<f32>` owned by the trainer (so the optimizer updates them in place,
//! in one fused pass). Training steps run the hand-written pass of [`crate::backprop`]; the
//! candle forward pass here serves inference, and with [`Network::vars`] and candle's autograd
//! it is the reference the backprop tests compare every gradient against. Only ops that record
//! a backward are used (no `softmax_last_dim`, no `layer_norm` fast paths).

use candle_core::{D, DType, Device, Tensor, Var};
use modelyard_core::{Activation, Error, LayerSpec, Result};
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

/// How a forward pass runs.
pub enum Mode<'a> {
    /// Training: dropout draws from `rng`; BatchNorm uses batch statistics and folds them into
    /// `stats`.
    Train {
        /// Dropout masks.
        rng: &'a mut SeededRng,
        /// Running statistics, updated.
        stats: &'a mut [f32],
    },
    /// Inference: no dropout; BatchNorm uses `stats`.
    Eval {
        /// Running statistics.
        stats: &'a [f32],
    },
}

/// Maps a candle error into the core error.
pub fn candle_err(err: candle_core::Error) -> Error {
    Error::internal(format!("candle: {err}"))
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

    /// Wraps the parameter buffer in one candle `Var` per segment.
    pub fn vars(&self, params: &[f32]) -> Result<Vec<Var>> {
        self.segments
            .iter()
            .map(|s| {
                Var::from_slice(
                    &params[s.offset..s.offset + s.len()],
                    s.shape.as_slice(),
                    &Device::Cpu,
                )
                .map_err(candle_err)
            })
            .collect()
    }

    /// Constant tensors of the parameters, for inference.
    pub fn tensors(&self, params: &[f32]) -> Result<Vec<Tensor>> {
        self.segments
            .iter()
            .map(|s| {
                Tensor::from_slice(
                    &params[s.offset..s.offset + s.len()],
                    s.shape.as_slice(),
                    &Device::Cpu,
                )
                .map_err(candle_err)
            })
            .collect()
    }

    /// The forward pass of `x` (`[batch, input_width]`) to logits or scaled values.
    pub fn forward(&self, params: &[Tensor], x: &Tensor, mode: &mut Mode<'_>) -> Result<Tensor> {
        self.forward_inner(params, x, mode).map_err(candle_err)
    }

    fn forward_inner(
        &self,
        params: &[Tensor],
        x: &Tensor,
        mode: &mut Mode<'_>,
    ) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for layer in &self.layers {
            h = match layer {
                Layer::Dense { activation, weight, bias, .. } => {
                    let z = h.matmul(&params[*weight])?.broadcast_add(&params[*bias])?;
                    activate(&z, *activation)?
                }
                Layer::Dropout { rate, .. } => match mode {
                    Mode::Train { rng, .. } if *rate > 0.0 => {
                        let keep = 1.0 - rate;
                        let scale = (1.0 / keep) as f32;
                        let mask: Vec<f32> = (0..h.elem_count())
                            .map(|_| if rng.next_f64() < keep { scale } else { 0.0 })
                            .collect();
                        h.mul(&Tensor::from_vec(mask, h.shape(), &Device::Cpu)?)?
                    }
                    _ => h,
                },
                Layer::BatchNorm { width, gamma, beta, stats: at, .. } => {
                    let (gamma, beta) = (&params[*gamma], &params[*beta]);
                    match mode {
                        Mode::Train { stats, .. } => {
                            let rows = h.dim(0)?;
                            let mean = h.mean_keepdim(0)?;
                            let centred = h.broadcast_sub(&mean)?;
                            let var = centred.sqr()?.mean_keepdim(0)?;
                            let normed =
                                centred.broadcast_div(&(var.clone() + BN_EPSILON)?.sqrt()?)?;
                            let mean_v = mean.flatten_all()?.to_vec1::<f32>()?;
                            let var_v = var.flatten_all()?.to_vec1::<f32>()?;
                            // Running variance is unbiased, as in PyTorch.
                            let unbias =
                                if rows > 1 { rows as f32 / (rows - 1) as f32 } else { 1.0 };
                            for j in 0..*width {
                                let m = &mut stats[at + j];
                                *m = (1.0 - BN_MOMENTUM) * *m + BN_MOMENTUM * mean_v[j];
                                let v = &mut stats[at + width + j];
                                *v = (1.0 - BN_MOMENTUM) * *v + BN_MOMENTUM * var_v[j] * unbias;
                            }
                            normed.broadcast_mul(gamma)?.broadcast_add(beta)?
                        }
                        Mode::Eval { stats } => {
                            let mean = Tensor::from_slice(
                                &stats[*at..at + width],
                                (1, *width),
                                &Device::Cpu,
                            )?;
                            let var = Tensor::from_slice(
                                &stats[at + width..at + 2 * width],
                                (1, *width),
                                &Device::Cpu,
                            )?;
                            h.broadcast_sub(&mean)?
                                .broadcast_div(&(var + BN_EPSILON)?.sqrt()?)?
                                .broadcast_mul(gamma)?
                                .broadcast_add(beta)?
                        }
                    }
                }
            };
        }
        Ok(h)
    }
}

fn activate(z: &Tensor, activation: Activation) -> candle_core::Result<Tensor> {
    match activation {
        Activation::Relu => z.relu(),
        // The tanh approximation, as the artifact documents for other runtimes.
        Activation::Gelu => z.gelu(),
        Activation::Tanh => z.tanh(),
        Activation::Sigmoid => candle_nn::ops::sigmoid(z),
        Activation::Linear => Ok(z.clone()),
    }
}

/// Mean cross-entropy of `logits` against one-hot `targets` (`[batch, classes]`), built from
/// ops that all have a backward.
pub fn cross_entropy(logits: &Tensor, one_hot: &Tensor) -> Result<Tensor> {
    let inner = || -> candle_core::Result<Tensor> {
        let log_probs = candle_nn::ops::log_softmax(logits, D::Minus1)?;
        let rows = logits.dim(0)? as f64;
        (log_probs.mul(one_hot)?.sum_all()? / -rows)?.to_dtype(DType::F32)
    };
    inner().map_err(candle_err)
}

/// Mean squared error of `outputs` (`[batch, 1]`) against `targets` (`[batch, 1]`).
pub fn mean_squared_error(outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
    outputs.sub(targets).and_then(|d| d.sqr()).and_then(|d| d.mean_all()).map_err(candle_err)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every parameter of every layer kind and activation gets a non-zero gradient: no op on the
    /// path silently records no backward.
    #[test]
    fn every_parameter_receives_a_gradient() {
        let layers = [
            LayerSpec::Dense { units: 6, activation: Activation::Relu },
            LayerSpec::BatchNorm,
            LayerSpec::Dense { units: 5, activation: Activation::Gelu },
            LayerSpec::Dropout { rate: 0.2 },
            LayerSpec::Dense { units: 5, activation: Activation::Tanh },
            LayerSpec::Dense { units: 4, activation: Activation::Sigmoid },
            LayerSpec::Dense { units: 4, activation: Activation::Linear },
        ];
        for outputs in [3, 1] {
            let net = Network::plan(3, &layers, outputs);
            let mut rng = SeededRng::new(5, 0);
            let (params, mut stats) = net.init(&mut rng);
            let vars = net.vars(&params).unwrap();
            let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
            let rows = 16;
            let x: Vec<f32> = (0..rows * 3).map(|_| rng.symmetric(2.0) as f32).collect();
            let x = Tensor::from_vec(x, (rows, 3), &Device::Cpu).unwrap();
            let mut mode = Mode::Train { rng: &mut rng, stats: &mut stats };
            let out = net.forward(&tensors, &x, &mut mode).unwrap();
            let loss = if outputs == 1 {
                let y = Tensor::ones((rows, 1), DType::F32, &Device::Cpu).unwrap();
                mean_squared_error(&out, &y).unwrap()
            } else {
                let hot: Vec<f32> =
                    (0..rows * 3).map(|i| if i % 3 == (i / 3) % 3 { 1.0 } else { 0.0 }).collect();
                let hot = Tensor::from_vec(hot, (rows, 3), &Device::Cpu).unwrap();
                cross_entropy(&out, &hot).unwrap()
            };
            let grads = loss.backward().unwrap();
            for (segment, var) in net.segments.iter().zip(&vars) {
                let grad = grads
                    .get(var.as_tensor())
                    .unwrap_or_else(|| panic!("{} has no gradient", segment.name));
                let g = grad.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                assert_eq!(g.len(), segment.len());
                assert!(g.iter().all(|x| x.is_finite()), "{}", segment.name);
                assert!(g.iter().any(|x| *x != 0.0), "{} has an all-zero gradient", segment.name);
            }
        }
    }
}
