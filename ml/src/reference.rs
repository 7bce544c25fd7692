//! The reference the hand-written passes of [`crate::backprop`] are tested against: the same
//! network as a candle forward pass, whose autograd gives the gradients. Test-only: no training
//! step or prediction runs on candle (its kernels re-detect the CPUs on every call), so candle is
//! a dev-dependency and stays out of every build users run. Only ops that record a backward are
//! used (no `softmax_last_dim`, no `layer_norm` fast paths).

use candle_core::{D, DType, Device, Tensor, Var};
use modelyard_core::Activation;

use crate::network::{BN_EPSILON, BN_MOMENTUM, Layer, Network};
use crate::rng::SeededRng;

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

impl Network {
    /// Wraps the parameter buffer in one candle `Var` per segment.
    pub fn vars(&self, params: &[f32]) -> candle_core::Result<Vec<Var>> {
        self.segments
            .iter()
            .map(|s| {
                Var::from_slice(
                    &params[s.offset..s.offset + s.len()],
                    s.shape.as_slice(),
                    &Device::Cpu,
                )
            })
            .collect()
    }

    /// The parameters as tensors, for an eval-mode forward pass.
    pub fn tensors(&self, params: &[f32]) -> candle_core::Result<Vec<Tensor>> {
        Ok(self.vars(params)?.into_iter().map(Var::into_inner).collect())
    }

    /// The forward pass of `x` (`[batch, input_width]`) to logits or scaled values.
    pub fn forward(
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
pub fn cross_entropy(logits: &Tensor, one_hot: &Tensor) -> candle_core::Result<Tensor> {
    let log_probs = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let rows = logits.dim(0)? as f64;
    (log_probs.mul(one_hot)?.sum_all()? / -rows)?.to_dtype(DType::F32)
}

/// Mean squared error of `outputs` (`[batch, 1]`) against `targets` (`[batch, 1]`).
pub fn mean_squared_error(outputs: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    outputs.sub(targets)?.sqr()?.mean_all()
}

/// A network with every layer kind and every activation, in the order the tests check them:
/// dense, batch-norm, dropout, and ReLU, GELU, tanh, sigmoid, linear.
pub fn every_layer_kind() -> Vec<modelyard_core::LayerSpec> {
    use modelyard_core::LayerSpec::{BatchNorm, Dense, Dropout};
    vec![
        Dense { units: 6, activation: Activation::Relu },
        BatchNorm,
        Dense { units: 5, activation: Activation::Gelu },
        Dropout { rate: 0.2 },
        Dense { units: 5, activation: Activation::Tanh },
        Dense { units: 4, activation: Activation::Sigmoid },
        Dense { units: 4, activation: Activation::Linear },
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every parameter of every layer kind and activation gets a non-zero gradient: no op on the
    /// path silently records no backward.
    #[test]
    fn every_parameter_receives_a_gradient() {
        let layers = every_layer_kind();
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
