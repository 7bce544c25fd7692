//! Optimizers as one fused, in-place pass over the flat parameter buffer: each parameter is
//! read and written once per step, with its moment estimates beside it (candle's AdamW makes
//! about ten whole-tensor passes per parameter instead).

use modelyard_core::{Optimizer, TrainParams};

/// Adam's first-moment decay.
pub const BETA1: f64 = 0.9;
/// Adam's second-moment decay.
pub const BETA2: f64 = 0.999;
/// Adam's denominator guard.
pub const EPSILON: f64 = 1e-8;

/// An optimizer's state: moment buffers and the step count.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerState {
    /// Update rule.
    pub kind: Optimizer,
    /// SGD velocity or Adam's first moment.
    pub m: Vec<f32>,
    /// Adam's second moment (empty for SGD).
    pub v: Vec<f32>,
    /// Steps taken.
    pub step: u64,
}

impl OptimizerState {
    /// Zeroed state for `count` parameters.
    pub fn new(kind: Optimizer, count: usize) -> Self {
        let v = if kind == Optimizer::Sgd { Vec::new() } else { vec![0.0; count] };
        Self { kind, m: vec![0.0; count], v, step: 0 }
    }

    /// Applies one step of `grads` to `params`. Large buffers are updated in two halves via
    /// `rayon::join` (each element's update is independent, so the result does not depend on
    /// the split).
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], hp: &TrainParams) {
        self.step += 1;
        let rule = match self.kind {
            Optimizer::Sgd => Rule::Sgd {
                lr: hp.learning_rate as f32,
                wd: hp.weight_decay as f32,
                mu: hp.momentum as f32,
            },
            Optimizer::Adam | Optimizer::Adamw => {
                let t = self.step as i32;
                let (lr, wd) = (hp.learning_rate as f32, hp.weight_decay as f32);
                let decoupled = self.kind == Optimizer::Adamw;
                Rule::Adam {
                    step_size: (hp.learning_rate / (1.0 - BETA1.powi(t))) as f32,
                    c2_sqrt: (1.0 - BETA2.powi(t)).sqrt() as f32,
                    l2: if decoupled { 0.0 } else { wd },
                    shrink: if decoupled { 1.0 - lr * wd } else { 1.0 },
                }
            }
        };
        update(rule, params, grads, &mut self.m, &mut self.v);
    }
}

/// One step's constants.
#[derive(Clone, Copy)]
enum Rule {
    Sgd { lr: f32, wd: f32, mu: f32 },
    Adam { step_size: f32, c2_sqrt: f32, l2: f32, shrink: f32 },
}

/// Below this many parameters the update runs on the calling thread.
const PARALLEL_MIN: usize = 1 << 16;

fn update(rule: Rule, params: &mut [f32], grads: &[f32], m: &mut [f32], v: &mut [f32]) {
    if params.len() >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
        let half = params.len() / 2;
        let (p1, p2) = params.split_at_mut(half);
        let (g1, g2) = grads.split_at(half);
        let (m1, m2) = m.split_at_mut(half);
        let (v1, v2) = if v.is_empty() { (&mut [][..], &mut [][..]) } else { v.split_at_mut(half) };
        rayon::join(|| update(rule, p1, g1, m1, v1), || update(rule, p2, g2, m2, v2));
        return;
    }
    match rule {
        Rule::Sgd { lr, wd, mu } => {
            // PyTorch's SGD: v = momentum * v + (g + wd * p); p -= lr * v.
            for ((p, g), m) in params.iter_mut().zip(grads).zip(m) {
                let g = g + wd * *p;
                *m = mu * *m + g;
                *p -= lr * *m;
            }
        }
        Rule::Adam { step_size, c2_sqrt, l2, shrink } => {
            let (b1, b2) = (BETA1 as f32, BETA2 as f32);
            let eps = EPSILON as f32;
            for (((p, g), m), v) in params.iter_mut().zip(grads).zip(m).zip(v) {
                let g = g + l2 * *p;
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                let denom = v.sqrt() / c2_sqrt + eps;
                *p = *p * shrink - step_size * *m / denom;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_first_step_moves_each_parameter_by_the_learning_rate() {
        let hp = TrainParams { learning_rate: 0.1, ..TrainParams::default() };
        let mut state = OptimizerState::new(Optimizer::Adam, 2);
        let mut params = [1.0f32, -1.0];
        state.step(&mut params, &[0.5, -3.0], &hp);
        assert!((params[0] - 0.9).abs() < 1e-5 && (params[1] + 0.9).abs() < 1e-5, "{params:?}");
    }

    #[test]
    fn sgd_with_momentum_accumulates_velocity() {
        let hp = TrainParams { learning_rate: 0.1, momentum: 0.5, ..TrainParams::default() };
        let mut state = OptimizerState::new(Optimizer::Sgd, 1);
        let mut params = [0.0f32];
        state.step(&mut params, &[1.0], &hp);
        state.step(&mut params, &[1.0], &hp);
        assert!((params[0] + 0.25).abs() < 1e-6, "{params:?}");
    }

    #[test]
    fn adamw_decays_weights_without_a_gradient() {
        let hp = TrainParams { learning_rate: 0.1, weight_decay: 0.5, ..TrainParams::default() };
        let mut state = OptimizerState::new(Optimizer::Adamw, 1);
        let mut params = [2.0f32];
        state.step(&mut params, &[0.0], &hp);
        assert!((params[0] - 1.9).abs() < 1e-6, "{params:?}");
    }
}
