//! Inference: the eval-mode forward pass in chunks, predictions and evaluations of an artifact.

use std::collections::BTreeMap;
use std::sync::Arc;

use modelyard_core::{Evaluation, Prediction, Result, Table, Task};

use crate::artifact::{self, LoadedModel};
use crate::backprop::forward_eval;
use crate::metrics;
use crate::network::Network;
use crate::preprocess::{EncodedTarget, labelled_rows};

/// Rows per inference chunk: bounds the activations held at once.
const CHUNK_ROWS: usize = 4096;

/// Network outputs (logits or scaled values), row-major, for the encoded rows `x`, computed a
/// chunk of rows at a time by [`crate::backprop::forward_eval`].
pub fn infer(network: &Network, params: &[f32], stats: &[f32], x: &[f32]) -> Result<Vec<f32>> {
    let width = network.input_width.max(1);
    let rows = x.len() / width;
    if rows <= CHUNK_ROWS {
        return Ok(forward_eval(network, params, stats, x));
    }
    let mut out = Vec::with_capacity(rows * network.outputs);
    for chunk in x.chunks(CHUNK_ROWS * width) {
        out.extend(forward_eval(network, params, stats, chunk));
    }
    Ok(out)
}

/// Class probabilities of one row of logits, computed in f64.
pub fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(f64::from(x)));
    let exps: Vec<f64> = logits.iter().map(|&x| (f64::from(x) - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// Index of the largest value (the first on ties).
pub fn argmax(values: &[f32]) -> u32 {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best as u32
}

/// Mean loss of `outputs` against `targets`: cross-entropy for classes, squared error of the
/// scaled value otherwise.
pub fn mean_loss(outputs: &[f32], targets: &[EncodedTarget], width: usize) -> f64 {
    if targets.is_empty() {
        return 0.0;
    }
    let total: f64 = outputs
        .chunks_exact(width)
        .zip(targets)
        .map(|(row, target)| match target {
            EncodedTarget::Class(c) => {
                let max = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(f64::from(x)));
                let log_sum = row.iter().map(|&x| (f64::from(x) - max).exp()).sum::<f64>().ln();
                log_sum + max - f64::from(row[*c as usize])
            }
            EncodedTarget::Value(y) => (f64::from(row[0]) - f64::from(*y)).powi(2),
        })
        .sum();
    total / targets.len() as f64
}

/// A trained artifact loaded for inference.
pub struct Predictor {
    model: LoadedModel,
    /// The class names, shared by every prediction made.
    classes: Vec<Arc<str>>,
}

impl Predictor {
    /// Reads the artifact's files.
    pub fn load(files: &[(String, Vec<u8>)]) -> Result<Self> {
        let model = artifact::load(files)?;
        let classes =
            model.file.preprocessing.classes().iter().map(|c| Arc::from(c.as_str())).collect();
        Ok(Self { model, classes })
    }

    /// The network's outputs for `rows` of `table`, row after row. Rows are encoded and
    /// inferred in slices of [`CHUNK_ROWS`], as [`infer`] runs them: a slice's inputs are all
    /// that is held at once, whatever the table's length (evaluating 20,000 rows of 784 features
    /// encoded 63 MB of inputs at once before).
    fn run(&self, table: &Table, rows: &[usize]) -> Result<Vec<f32>> {
        let model = &self.model;
        let mut outputs = Vec::with_capacity(rows.len() * model.network.outputs);
        for slice in rows.chunks(CHUNK_ROWS) {
            let x = model.file.preprocessing.encode_features(table, slice)?;
            outputs.extend(infer(&model.network, &model.params, &model.stats, &x)?);
        }
        Ok(outputs)
    }
}

impl modelyard_core::Predictor for Predictor {
    fn predict(&self, table: &Table) -> Result<Vec<Prediction>> {
        let model = &self.model;
        let rows: Vec<usize> = (0..table.rows).collect();
        let outputs = self.run(table, &rows)?;
        let prep = &model.file.preprocessing;
        Ok(outputs
            .chunks_exact(model.network.outputs)
            .map(|row| match model.file.task {
                Task::Classification => {
                    let probabilities = softmax(row);
                    let classes = &self.classes;
                    Prediction::Class {
                        label: classes[argmax(row) as usize].clone(),
                        probabilities: classes
                            .iter()
                            .cloned()
                            .zip(probabilities)
                            .collect::<BTreeMap<_, _>>(),
                    }
                }
                Task::Regression => {
                    Prediction::Value { value: prep.decode_value(f64::from(row[0])) }
                }
            })
            .collect())
    }

    fn evaluate(&self, table: &Table) -> Result<Evaluation> {
        let model = &self.model;
        let rows = labelled_rows(table, &model.file.target)?;
        let prep = &model.file.preprocessing;
        let targets = prep.encode_targets(table, &rows)?;
        let outputs = self.run(table, &rows)?;
        let width = model.network.outputs;
        let loss = mean_loss(&outputs, &targets, width);
        Ok(match model.file.task {
            Task::Classification => {
                let actual: Vec<u32> = targets
                    .iter()
                    .map(|t| if let EncodedTarget::Class(c) = t { *c } else { 0 })
                    .collect();
                let predicted: Vec<u32> = outputs.chunks_exact(width).map(argmax).collect();
                metrics::classification(prep.classes(), &actual, &predicted, loss)
            }
            Task::Regression => {
                let actual = prep.target_values(table, &rows)?;
                let predicted: Vec<f64> =
                    outputs.iter().map(|&y| prep.decode_value(f64::from(y))).collect();
                metrics::regression(&actual, &predicted, loss)
            }
        })
    }

    fn memory_bytes(&self) -> usize {
        // The flat parameters, the running statistics, and a rough allowance for the
        // description (preprocessing: category names, scalers).
        let floats = self.model.params.len() + self.model.stats.len();
        floats * std::mem::size_of::<f32>() + 64 * 1024
    }

    fn cost_per_row(&self) -> u64 {
        // A dense layer does one multiply-add per weight and row; the rest is small beside it.
        self.model.network.param_count as u64
    }
}
