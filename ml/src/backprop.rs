//! The training step's forward and backward pass, written out by hand over flat `f32` buffers.
//!
//! Each step used to wrap the parameters in candle `Var`s, build candle's autograd graph and
//! copy the gradients out; on the large peer shape half the time went into candle's elementwise
//! thread pool spin-waiting against gemm's rayon workers on 2 cores, plus allocations and copies.
//! Here the three matrix products of each dense layer call `gemm` directly, in the layouts the
//! buffers already have (no transposed copies), the bias is folded into the forward product's
//! destination, and weight and bias gradients land straight in the flat gradient buffer. All
//! buffers live in a [`Workspace`] reused across steps. The elementwise work (activations,
//! dropout masks, batch-norm, softmax) is one plain pass each.
//!
//! Inference runs [`forward_eval`], the same kernels in eval mode. The tests compare every
//! gradient and output of these passes against candle's autograd and forward on the same
//! network, which artifacts still load into.

use gemm::{Parallelism, gemm};
use modelyard_core::Activation;

use crate::network::{BN_EPSILON, BN_MOMENTUM, Layer, Network};
use crate::rng::SeededRng;

/// The loss of a training step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Mean cross-entropy of softmax(logits) against one-hot targets.
    CrossEntropy,
    /// Mean squared error over all outputs.
    MeanSquared,
}

/// Reusable buffers of the training step: each layer's output, what its backward needs, and two
/// gradient buffers used in turn.
#[derive(Debug, Default)]
pub struct Workspace {
    /// Output of each layer, `[rows, width]`.
    outputs: Vec<Vec<f32>>,
    /// Per layer: GELU's pre-activation, dropout's mask, batch-norm's normalised input.
    saved: Vec<Vec<f32>>,
    /// Per layer: batch-norm's `1 / sqrt(var + eps)`.
    inv_std: Vec<Vec<f32>>,
    grad: Vec<f32>,
    grad_in: Vec<f32>,
}

impl Workspace {
    /// Empty buffers, sized on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// The network's output of the last step, `[rows, outputs]`.
    pub fn output(&self) -> &[f32] {
        self.outputs.last().map_or(&[], Vec::as_slice)
    }
}

/// One forward and backward pass over a batch: `x` is `[rows, input_width]`, `targets` is
/// `[rows, outputs]` (one-hot for cross-entropy). Writes every parameter's gradient into `grads`
/// (overwriting it), folds batch-norm statistics into `stats`, draws dropout masks from `rng`
/// (in the same order as the candle forward pass) and returns the batch's mean loss; the
/// outputs are left in [`Workspace::output`].
#[allow(clippy::too_many_arguments)]
pub fn train_step(
    network: &Network,
    params: &[f32],
    grads: &mut [f32],
    x: &[f32],
    targets: &[f32],
    loss: Loss,
    rng: &mut SeededRng,
    stats: &mut [f32],
    ws: &mut Workspace,
) -> f64 {
    let rows = targets.len() / network.outputs.max(1);
    let layers = network.layers.len();
    ws.outputs.resize_with(layers, Vec::new);
    ws.saved.resize_with(layers, Vec::new);
    ws.inv_std.resize_with(layers, Vec::new);
    let seg = |index: usize| {
        let s = &network.segments[index];
        s.offset..s.offset + s.len()
    };

    // Forward.
    let mut widths = Vec::with_capacity(layers + 1);
    widths.push(network.input_width);
    for (i, layer) in network.layers.iter().enumerate() {
        let (done, rest) = ws.outputs.split_at_mut(i);
        let input: &[f32] = if i == 0 { x } else { &done[i - 1] };
        let in_width = widths[i];
        let out = &mut rest[0];
        let saved = &mut ws.saved[i];
        let width = match layer {
            Layer::Dense { units, activation, weight, bias, .. } => {
                let units = *units;
                out.clear();
                let b = &params[seg(*bias)];
                for _ in 0..rows {
                    out.extend_from_slice(b);
                }
                // out = x @ W + out
                matmul(
                    (rows, units, in_width),
                    out,
                    (units, 1),
                    true,
                    input,
                    (in_width, 1),
                    &params[seg(*weight)],
                    (units, 1),
                );
                if *activation == Activation::Gelu {
                    saved.clear();
                    saved.extend_from_slice(out);
                }
                activate(out, *activation);
                units
            }
            Layer::Dropout { rate, .. } => {
                out.clear();
                out.extend_from_slice(input);
                saved.clear();
                if *rate > 0.0 {
                    let keep = 1.0 - rate;
                    let scale = (1.0 / keep) as f32;
                    saved.extend(
                        (0..out.len()).map(|_| if rng.next_f64() < keep { scale } else { 0.0 }),
                    );
                    for (o, m) in out.iter_mut().zip(saved.iter()) {
                        *o *= m;
                    }
                }
                in_width
            }
            Layer::BatchNorm { width, gamma, beta, stats: at, .. } => {
                let w = *width;
                let (mut mean, mut var) = (vec![0f64; w], vec![0f64; w]);
                for row in input.chunks_exact(w) {
                    for (m, v) in mean.iter_mut().zip(row) {
                        *m += f64::from(*v);
                    }
                }
                let n = rows as f64;
                mean.iter_mut().for_each(|m| *m /= n);
                for row in input.chunks_exact(w) {
                    for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                        let d = f64::from(*v) - m;
                        *s += d * d;
                    }
                }
                var.iter_mut().for_each(|v| *v /= n);
                let inv_std = &mut ws.inv_std[i];
                inv_std.clear();
                inv_std.extend(var.iter().map(|v| (1.0 / (v + BN_EPSILON).sqrt()) as f32));
                let (g, bt) = (&params[seg(*gamma)], &params[seg(*beta)]);
                saved.clear();
                out.clear();
                for row in input.chunks_exact(w) {
                    for j in 0..w {
                        let normed = (row[j] - mean[j] as f32) * inv_std[j];
                        saved.push(normed);
                        out.push(normed * g[j] + bt[j]);
                    }
                }
                // Running variance is unbiased, as in PyTorch.
                let unbias = if rows > 1 { rows as f32 / (rows - 1) as f32 } else { 1.0 };
                for j in 0..w {
                    let m = &mut stats[at + j];
                    *m = (1.0 - BN_MOMENTUM) * *m + BN_MOMENTUM * mean[j] as f32;
                    let v = &mut stats[at + w + j];
                    *v = (1.0 - BN_MOMENTUM) * *v + BN_MOMENTUM * var[j] as f32 * unbias;
                }
                w
            }
        };
        widths.push(width);
    }

    // Loss and its gradient with respect to the outputs.
    let outputs = network.outputs;
    let out = ws.outputs.last().map_or(&[][..], Vec::as_slice);
    let grad = &mut ws.grad;
    grad.clear();
    grad.resize(out.len(), 0.0);
    let mut total = 0f64;
    match loss {
        Loss::CrossEntropy => {
            let scale = 1.0 / rows as f32;
            for ((o, t), g) in out
                .chunks_exact(outputs)
                .zip(targets.chunks_exact(outputs))
                .zip(grad.chunks_exact_mut(outputs))
            {
                let max = o.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f32 = o.iter().map(|v| (v - max).exp()).sum();
                let log_sum = sum.ln();
                for ((v, t), g) in o.iter().zip(t).zip(g.iter_mut()) {
                    let log_p = v - max - log_sum;
                    total -= f64::from(t * log_p);
                    *g = (log_p.exp() - t) * scale;
                }
            }
            total /= rows as f64;
        }
        Loss::MeanSquared => {
            let n = out.len().max(1);
            let scale = 2.0 / n as f32;
            for ((o, t), g) in out.iter().zip(targets).zip(grad.iter_mut()) {
                let d = o - t;
                total += f64::from(d * d);
                *g = d * scale;
            }
            total /= n as f64;
        }
    }

    // Backward: `ws.grad` holds the gradient of the current layer's output.
    for (i, layer) in network.layers.iter().enumerate().rev() {
        let input: &[f32] = if i == 0 { x } else { &ws.outputs[i - 1] };
        let (in_width, width) = (widths[i], widths[i + 1]);
        let g = &mut ws.grad;
        match layer {
            Layer::Dense { units, activation, weight, bias, .. } => {
                let units = *units;
                activation_backward(g, &ws.outputs[i], &ws.saved[i], *activation);
                let gb = &mut grads[seg(*bias)];
                gb.fill(0.0);
                for row in g.chunks_exact(units) {
                    for (s, v) in gb.iter_mut().zip(row) {
                        *s += v;
                    }
                }
                // dW = x^T @ g: x read through its transpose's strides.
                matmul(
                    (in_width, units, rows),
                    &mut grads[seg(*weight)],
                    (units, 1),
                    false,
                    input,
                    (1, in_width),
                    g,
                    (units, 1),
                );
                if i > 0 {
                    // dx = g @ W^T.
                    let gi = &mut ws.grad_in;
                    gi.clear();
                    gi.resize(rows * in_width, 0.0);
                    matmul(
                        (rows, in_width, units),
                        gi,
                        (in_width, 1),
                        false,
                        g,
                        (units, 1),
                        &params[seg(*weight)],
                        (1, units),
                    );
                    std::mem::swap(&mut ws.grad, &mut ws.grad_in);
                }
            }
            Layer::Dropout { rate, .. } => {
                if *rate > 0.0 {
                    for (v, m) in g.iter_mut().zip(&ws.saved[i]) {
                        *v *= m;
                    }
                }
            }
            Layer::BatchNorm { gamma, beta, .. } => {
                let normed = &ws.saved[i];
                let (mut sum_g, mut sum_gn) = (vec![0f64; width], vec![0f64; width]);
                for (row, nrow) in g.chunks_exact(width).zip(normed.chunks_exact(width)) {
                    for j in 0..width {
                        sum_g[j] += f64::from(row[j]);
                        sum_gn[j] += f64::from(row[j] * nrow[j]);
                    }
                }
                let dbeta: Vec<f32> = sum_g.iter().map(|v| *v as f32).collect();
                let dgamma: Vec<f32> = sum_gn.iter().map(|v| *v as f32).collect();
                let gamma_v = &params[seg(*gamma)];
                let inv_std = &ws.inv_std[i];
                let n = rows as f32;
                for (row, nrow) in g.chunks_exact_mut(width).zip(normed.chunks_exact(width)) {
                    for j in 0..width {
                        let k = gamma_v[j] * inv_std[j] / n;
                        row[j] = k * (n * row[j] - dbeta[j] - nrow[j] * dgamma[j]);
                    }
                }
                grads[seg(*gamma)].copy_from_slice(&dgamma);
                grads[seg(*beta)].copy_from_slice(&dbeta);
            }
        }
    }
    total
}

/// The eval-mode forward pass of `x` (`rows` rows of `input_width`) to logits or scaled values,
/// `[rows, outputs]`: no dropout, batch-norm with the running `stats`. The same kernels as the
/// training step, on the caller's thread and rayon pool; gemm stays on one thread for small
/// products. (candle's forward, used before, re-read the CPU count from `/proc/cpuinfo` on
/// every matrix product: most of a one-row prediction.)
pub fn forward_eval(network: &Network, params: &[f32], stats: &[f32], x: &[f32]) -> Vec<f32> {
    let rows = x.len() / network.input_width.max(1);
    let seg = |index: usize| {
        let s = &network.segments[index];
        s.offset..s.offset + s.len()
    };
    let mut h = std::borrow::Cow::Borrowed(&x[..rows * network.input_width]);
    let mut width = network.input_width;
    let mut next = Vec::new();
    for layer in &network.layers {
        match layer {
            Layer::Dense { units, activation, weight, bias, .. } => {
                let units = *units;
                next.clear();
                next.resize(rows * units, 0.0);
                // next = h @ W, then + bias: unlike training's folded bias, a row's result does
                // not depend on how many rows share the call (gemm adds into a destination in
                // a kernel-dependent order), so one row predicts the same alone or in a batch.
                matmul(
                    (rows, units, width),
                    &mut next,
                    (units, 1),
                    false,
                    &h,
                    (width, 1),
                    &params[seg(*weight)],
                    (units, 1),
                );
                let b = &params[seg(*bias)];
                for row in next.chunks_exact_mut(units) {
                    row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
                }
                activate(&mut next, *activation);
                let done = std::mem::replace(&mut h, std::borrow::Cow::Owned(next));
                next = match done {
                    std::borrow::Cow::Owned(buffer) => buffer,
                    std::borrow::Cow::Borrowed(_) => Vec::new(),
                };
                width = units;
            }
            Layer::Dropout { .. } => {}
            Layer::BatchNorm { width: w, gamma, beta, stats: at, .. } => {
                let w = *w;
                let (g, bt) = (&params[seg(*gamma)], &params[seg(*beta)]);
                let (mean, var) = (&stats[*at..at + w], &stats[at + w..at + 2 * w]);
                // As candle computed it: (x - mean) / sqrt(var + eps) * gamma + beta, in f32.
                let std: Vec<f32> = var.iter().map(|v| (v + BN_EPSILON as f32).sqrt()).collect();
                for row in h.to_mut().chunks_exact_mut(w) {
                    for j in 0..w {
                        row[j] = (row[j] - mean[j]) / std[j] * g[j] + bt[j];
                    }
                }
            }
        }
    }
    h.into_owned()
}

fn activate(z: &mut [f32], activation: Activation) {
    match activation {
        Activation::Relu => z.iter_mut().for_each(|v| *v = v.max(0.0)),
        // The tanh approximation, as candle's `gelu`.
        Activation::Gelu => z.iter_mut().for_each(|v| {
            let x = *v;
            *v = 0.5
                * x
                * (1.0
                    + f32::tanh(
                        std::f32::consts::FRAC_2_SQRT_PI
                            * std::f32::consts::FRAC_1_SQRT_2
                            * x
                            * (1.0 + 0.044715 * x * x),
                    ));
        }),
        Activation::Tanh => z.iter_mut().for_each(|v| *v = v.tanh()),
        Activation::Sigmoid => z.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp())),
        Activation::Linear => {}
    }
}

/// Multiplies `g` (the gradient of the activation's output `a`) by the activation's derivative;
/// `z` is the pre-activation, kept for GELU only.
fn activation_backward(g: &mut [f32], a: &[f32], z: &[f32], activation: Activation) {
    match activation {
        Activation::Relu => {
            for (g, a) in g.iter_mut().zip(a) {
                if *a <= 0.0 {
                    *g = 0.0;
                }
            }
        }
        Activation::Gelu => {
            // candle's GELU backward, with its constants.
            for (g, x) in g.iter_mut().zip(z) {
                let cube = x * x * x;
                let t = (0.035_677_4 * cube + 0.797_885 * x).tanh();
                *g *= 0.5 * t + (0.053_516_1 * cube + 0.398_942 * x) * (1.0 - t * t) + 0.5;
            }
        }
        Activation::Tanh => g.iter_mut().zip(a).for_each(|(g, a)| *g *= 1.0 - a * a),
        Activation::Sigmoid => g.iter_mut().zip(a).for_each(|(g, a)| *g *= a * (1.0 - a)),
        Activation::Linear => {}
    }
}

/// `dst = lhs @ rhs` (or `dst += lhs @ rhs` with `accumulate`) for `(m, n, k)`, each operand
/// given with its `(row, column)` strides; gemm runs on the caller's rayon pool (its size is
/// read once, when the pool starts: `RAYON_NUM_THREADS` or the available CPUs).
#[allow(unsafe_code, clippy::too_many_arguments)]
fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    (dst_rs, dst_cs): (usize, usize),
    accumulate: bool,
    lhs: &[f32],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[f32],
    (rhs_rs, rhs_cs): (usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    let last = |rs: usize, cs: usize, r: usize, c: usize| (r - 1) * rs + (c - 1) * cs;
    assert!(last(dst_rs, dst_cs, m, n) < dst.len(), "gemm destination out of bounds");
    assert!(last(lhs_rs, lhs_cs, m, k) < lhs.len(), "gemm lhs out of bounds");
    assert!(last(rhs_rs, rhs_cs, k, n) < rhs.len(), "gemm rhs out of bounds");
    // `Rayon(0)`: as many threads as the current rayon pool has; gemm itself falls back to one
    // thread for small products and on a one-thread pool.
    let parallelism = Parallelism::Rayon(0);
    // SAFETY: the asserts above keep every element gemm reads or writes inside its slice, and
    // `dst` is borrowed mutably, so it aliases neither operand.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_cs as isize,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use candle_core::{DType, Device, Tensor};
    use modelyard_core::LayerSpec;

    use super::*;
    use crate::reference::{Mode, cross_entropy, every_layer_kind, mean_squared_error};

    /// candle's autograd gradients, loss, outputs and statistics for one batch.
    fn autograd(
        net: &Network,
        params: &[f32],
        x: &[f32],
        targets: &[f32],
        loss: Loss,
        rng: &mut SeededRng,
        stats: &mut [f32],
    ) -> (Vec<f32>, f64, Vec<f32>) {
        let rows = targets.len() / net.outputs;
        let vars = net.vars(params).unwrap();
        let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
        let x = Tensor::from_slice(x, (rows, net.input_width), &Device::Cpu).unwrap();
        let y = Tensor::from_slice(targets, (rows, net.outputs), &Device::Cpu).unwrap();
        let mut mode = Mode::Train { rng, stats };
        let out = net.forward(&tensors, &x, &mut mode).unwrap();
        let l = match loss {
            Loss::CrossEntropy => cross_entropy(&out, &y).unwrap(),
            Loss::MeanSquared => mean_squared_error(&out, &y).unwrap(),
        };
        let backward = l.backward().unwrap();
        let mut grads = vec![0f32; net.param_count];
        for (segment, var) in net.segments.iter().zip(&vars) {
            let g = backward
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{} has no gradient", segment.name));
            let g = g.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            grads[segment.offset..segment.offset + segment.len()].copy_from_slice(&g);
        }
        let l = f64::from(l.to_dtype(DType::F32).unwrap().to_scalar::<f32>().unwrap());
        (grads, l, out.flatten_all().unwrap().to_vec1::<f32>().unwrap())
    }

    /// Largest difference relative to the larger magnitude; values under 1/20 of the largest
    /// compare against that floor instead (their f32 sums cancel, so summation order shows).
    fn max_relative(a: &[f32], b: &[f32]) -> f32 {
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
        let floor = scale / 20.0;
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs() / a.abs().max(b.abs()).max(floor).max(f32::MIN_POSITIVE))
            .fold(0.0, f32::max)
    }

    fn check(layers: &[LayerSpec], inputs: usize, outputs: usize, rows: usize, seed: u64) {
        let loss = if outputs == 1 { Loss::MeanSquared } else { Loss::CrossEntropy };
        let net = Network::plan(inputs, layers, outputs);
        let mut rng = SeededRng::new(seed, 0);
        let (params, stats) = net.init(&mut rng);
        let x: Vec<f32> = (0..rows * inputs).map(|_| rng.symmetric(2.0) as f32).collect();
        let targets: Vec<f32> = if outputs == 1 {
            (0..rows).map(|_| rng.symmetric(1.5) as f32).collect()
        } else {
            (0..rows * outputs)
                .map(|i| if i % outputs == (i / outputs * 7 + 3) % outputs { 1.0 } else { 0.0 })
                .collect()
        };
        let (mut rng_a, mut rng_b) = (rng.clone(), rng.clone());
        let (mut stats_a, mut stats_b) = (stats.clone(), stats);
        let (want, want_loss, want_out) =
            autograd(&net, &params, &x, &targets, loss, &mut rng_a, &mut stats_a);
        let mut grads = vec![f32::NAN; net.param_count];
        let mut ws = Workspace::new();
        // Twice, so reused buffers are exercised too.
        for _ in 0..2 {
            let mut r = rng.clone();
            let mut s = stats_b.clone();
            train_step(&net, &params, &mut grads, &x, &targets, loss, &mut r, &mut s, &mut ws);
        }
        let got_loss = train_step(
            &net,
            &params,
            &mut grads,
            &x,
            &targets,
            loss,
            &mut rng_b,
            &mut stats_b,
            &mut ws,
        );
        let what = format!("{layers:?} -> {outputs}");
        assert_eq!(rng_a.state(), rng_b.state(), "{what}: dropout draws differ");
        assert!(max_relative(ws.output(), &want_out) < 1e-5, "{what}: outputs differ");
        assert!(((got_loss - want_loss) / want_loss.abs().max(1e-6)).abs() < 1e-5, "{what}: loss");
        assert!(max_relative(&stats_b, &stats_a) < 1e-5, "{what}: running statistics differ");
        for segment in &net.segments {
            let range = segment.offset..segment.offset + segment.len();
            let (g, w) = (&grads[range.clone()], &want[range]);
            // One row through batch-norm normalises to 0: nothing flows back, rightly.
            if rows > 1 {
                assert!(g.iter().any(|v| *v != 0.0), "{what}: {} is all zero", segment.name);
            }
            let err = max_relative(g, w);
            assert!(err < 1e-5, "{what}: {} differs by {err:e}\n{g:?}\n{w:?}", segment.name);
        }
    }

    fn dense(units: u32, activation: Activation) -> LayerSpec {
        LayerSpec::Dense { units, activation }
    }

    /// The eval-mode forward matches candle's, for every layer kind and activation, with
    /// batch-norm statistics that are not the identity.
    #[test]
    fn the_eval_forward_matches_candles() {
        // Batch-norm first too: its statistics then act on the raw inputs.
        let layers = [vec![LayerSpec::BatchNorm], every_layer_kind()].concat();
        for (inputs, outputs, rows) in [(3, 3, 1), (3, 1, 17), (3, 3, 300)] {
            let net = Network::plan(inputs, &layers, outputs);
            let mut rng = SeededRng::new(7 + rows as u64, 0);
            let (params, mut stats) = net.init(&mut rng);
            stats.iter_mut().enumerate().for_each(|(i, s)| *s += 0.1 + (i % 5) as f32 * 0.3);
            let x: Vec<f32> = (0..rows * inputs).map(|_| rng.symmetric(2.0) as f32).collect();
            let tensors = net.tensors(&params).unwrap();
            let input = Tensor::from_slice(&x, (rows, inputs), &Device::Cpu).unwrap();
            let want = net.forward(&tensors, &input, &mut Mode::Eval { stats: &stats }).unwrap();
            let want = want.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let got = forward_eval(&net, &params, &stats, &x);
            assert_eq!(got.len(), rows * outputs);
            let err = max_relative(&got, &want);
            assert!(err < 1e-5, "{rows} rows -> {outputs}: differs by {err:e}");
        }
    }

    /// A row's outputs are the same, bit for bit, alone and inside batches of any size.
    #[test]
    fn a_row_predicts_the_same_alone_and_in_a_batch() {
        use Activation::*;
        let layers = [dense(16, Relu), LayerSpec::BatchNorm, dense(16, Gelu)];
        let net = Network::plan(4, &layers, 3);
        let mut rng = SeededRng::new(11, 0);
        let (params, stats) = net.init(&mut rng);
        let x: Vec<f32> = (0..300 * 4).map(|_| rng.symmetric(2.0) as f32).collect();
        let alone: Vec<f32> =
            x.chunks_exact(4).flat_map(|row| forward_eval(&net, &params, &stats, row)).collect();
        for rows in [2, 7, 64, 300] {
            let batch = forward_eval(&net, &params, &stats, &x[..rows * 4]);
            assert_eq!(batch, alone[..rows * 3], "{rows} rows");
        }
    }

    /// The hand-written backward matches candle's autograd, parameter by parameter, for every
    /// activation, every layer kind (and their orders) and both losses.
    #[test]
    fn gradients_match_candle_autograd() {
        use Activation::*;
        for (i, activation) in [Relu, Gelu, Tanh, Sigmoid, Linear].into_iter().enumerate() {
            for outputs in [3, 1] {
                let seed = i as u64 * 10 + outputs as u64;
                check(&[dense(7, activation)], 5, outputs, 9, seed);
                check(&[dense(6, activation), dense(4, activation)], 3, outputs, 16, seed + 1);
                check(&[], 4, outputs, 8, seed + 2);
            }
        }
        let mixed = every_layer_kind();
        let leading = [
            LayerSpec::BatchNorm,
            LayerSpec::Dropout { rate: 0.3 },
            dense(8, Relu),
            LayerSpec::Dropout { rate: 0.0 },
            LayerSpec::BatchNorm,
        ];
        for outputs in [3, 1] {
            for rows in [1, 5, 17] {
                check(&mixed, 3, outputs, rows, 40 + rows as u64);
                check(&leading, 6, outputs, rows, 50 + rows as u64);
            }
        }
        // The large peer shape's layout (smaller widths), with batch sizes gemm splits.
        check(&[dense(64, Relu), dense(64, Relu)], 96, 10, 128, 60);
    }
}
