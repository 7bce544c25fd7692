//! The training loop: split, fit preprocessing, shuffled mini-batches, validation, early
//! stopping, per-epoch checkpoints, cancellation within one batch.

use std::collections::BTreeMap;
use std::time::Instant;

use modelyard_core::training::validate_params;
use modelyard_core::{
    CancelToken, Checkpoint, EpochMetrics, Error, Result, Table, Task, TrainedModel, TrainingInput,
    TrainingObserver, TrainingOutcome,
};

use crate::artifact::{self, FORMAT, FORMAT_VERSION, ModelFile};
use crate::backprop::{self, Loss, Workspace};
use crate::checkpoint::{self, Progress, TrainState};
use crate::inference::{argmax, infer, mean_loss};
use crate::metrics;
use crate::network::Network;
use crate::optim::OptimizerState;
use crate::preprocess::{EncodedTarget, Preprocessor, labelled_rows, text_cell};
use crate::rng::SeededRng;

/// Generator streams of one seed: the split, weight initialisation, shuffling and dropout.
const SPLIT_STREAM: u64 = 1;
const INIT_STREAM: u64 = 2;
const TRAIN_STREAM: u64 = 3;

/// Encoded rows of one split.
struct Split {
    x: Vec<f32>,
    y: Vec<EncodedTarget>,
}

impl Split {
    fn rows(&self) -> usize {
        self.y.len()
    }
}

/// Trains as [`modelyard_core::Trainer::train`] describes.
pub fn train(
    input: TrainingInput<'_>,
    resume: Option<Checkpoint>,
    observer: &mut dyn TrainingObserver,
    cancel: &CancelToken,
) -> Result<TrainingOutcome> {
    let TrainingInput { model, schema, table, params: hp } = input;
    validate_params(hp)?;
    let (train_rows, val_rows) =
        split_rows(table, &model.target, model.task, hp.validation_split, hp.seed)?;
    if hp.early_stopping.is_some() && val_rows.is_empty() {
        return Err(Error::validation(
            "validation_split",
            "too small to hold out any row for early stopping on this dataset",
        ));
    }
    let prep =
        Preprocessor::fit(table, schema, &model.features, &model.target, model.task, &train_rows)?;
    let encode = |rows: &[usize]| -> Result<Split> {
        Ok(Split { x: prep.encode_features(table, rows)?, y: prep.encode_targets(table, rows)? })
    };
    let (train_set, val_set) = (encode(&train_rows)?, encode(&val_rows)?);
    let network = Network::plan(prep.input_width(), &model.layers, prep.target.outputs());

    let mut state = match resume {
        Some(cp) => {
            let state = checkpoint::decode(
                &cp.state,
                network.param_count,
                network.stats_count,
                hp.optimizer,
            )?;
            if state.progress.epoch != cp.epoch {
                return Err(Error::internal("checkpoint epoch and state disagree"));
            }
            state
        }
        None => {
            let (params, stats) = network.init(&mut SeededRng::new(hp.seed, INIT_STREAM));
            TrainState {
                progress: Progress {
                    version: 1,
                    epoch: 0,
                    step: 0,
                    optimizer: hp.optimizer,
                    rng: SeededRng::new(hp.seed, TRAIN_STREAM).state(),
                    best: None,
                    stale_epochs: 0,
                    param_count: network.param_count,
                    stats_count: network.stats_count,
                },
                params,
                stats,
                optimizer: OptimizerState::new(hp.optimizer, network.param_count),
                best_weights: None,
            }
        }
    };
    let patience_spent = |state: &TrainState| {
        hp.early_stopping.as_ref().is_some_and(|s| state.progress.stale_epochs >= s.patience)
    };

    let mut grads = vec![0f32; network.param_count];
    let mut rng = SeededRng::from_state(state.progress.rng);
    let batch = (hp.batch_size as usize).clamp(1, train_set.rows().max(1));
    let width = network.input_width;
    let outputs = network.outputs;
    let mut xb = Vec::with_capacity(batch * width);
    let mut yb = Vec::with_capacity(batch * outputs);
    let mut workspace = Workspace::new();
    let loss_kind = match model.task {
        Task::Classification => Loss::CrossEntropy,
        Task::Regression => Loss::MeanSquared,
    };
    while state.progress.epoch < hp.epochs && !patience_spent(&state) {
        let epoch = state.progress.epoch + 1;
        let started = Instant::now();
        let mut order: Vec<usize> = (0..train_set.rows()).collect();
        rng.shuffle(&mut order);
        let (mut loss_sum, mut right) = (0.0f64, 0usize);
        let (mut seen_y, mut seen_pred) = (Vec::new(), Vec::new());
        for chunk in order.chunks(batch) {
            if cancel.is_cancelled() {
                return Ok(TrainingOutcome::Cancelled);
            }
            xb.clear();
            yb.clear();
            for &r in chunk {
                xb.extend_from_slice(&train_set.x[r * width..(r + 1) * width]);
                match train_set.y[r] {
                    EncodedTarget::Class(c) => {
                        yb.extend((0..outputs).map(|k| if k == c as usize { 1.0f32 } else { 0.0 }))
                    }
                    EncodedTarget::Value(y) => yb.push(y),
                }
            }
            let rows = chunk.len();
            // One step on a rayon worker: gemm's parallel loops then fork from inside the pool
            // (the waiting thread works too) instead of each being injected from outside it.
            let batch_loss = rayon::scope(|_| {
                let loss = backprop::train_step(
                    &network,
                    &state.params,
                    &mut grads,
                    &xb,
                    &yb,
                    loss_kind,
                    &mut rng,
                    &mut state.stats,
                    &mut workspace,
                );
                state.optimizer.step(&mut state.params, &grads, hp);
                loss
            });
            loss_sum += batch_loss * rows as f64;
            let out = workspace.output();
            match model.task {
                Task::Classification => {
                    for (row, &r) in out.chunks_exact(outputs).zip(chunk) {
                        right += usize::from(train_set.y[r] == EncodedTarget::Class(argmax(row)));
                    }
                }
                Task::Regression => {
                    seen_pred.extend(out.iter().map(|&v| f64::from(v)));
                    seen_y.extend(yb.iter().map(|&v| f64::from(v)));
                }
            }
        }
        let n = train_set.rows().max(1) as f64;
        let elapsed = started.elapsed();
        let (val_loss, val_score) =
            score(&network, &state.params, &state.stats, &val_set, model.task)?;
        let metrics = EpochMetrics {
            epoch,
            loss: loss_sum / n,
            accuracy: (model.task == Task::Classification).then(|| right as f64 / n),
            r2: (model.task == Task::Regression).then(|| metrics::r2(&seen_y, &seen_pred)),
            val_loss,
            val_accuracy: val_score.filter(|_| model.task == Task::Classification),
            val_r2: val_score.filter(|_| model.task == Task::Regression),
            learning_rate: hp.learning_rate,
            duration_ms: elapsed.as_millis() as u64,
            samples_per_sec: n / elapsed.as_secs_f64().max(1e-9),
        };
        if let (Some(stopping), Some(loss)) = (&hp.early_stopping, val_loss) {
            let improved =
                state.progress.best.is_none_or(|(best, _)| loss < best - stopping.min_delta);
            if improved {
                state.progress.best = Some((loss, epoch));
                state.progress.stale_epochs = 0;
                state.best_weights = Some((state.params.clone(), state.stats.clone()));
            } else {
                state.progress.stale_epochs += 1;
            }
        }
        state.progress.epoch = epoch;
        state.progress.step = state.optimizer.step;
        state.progress.rng = rng.state();
        let checkpoint = Checkpoint { epoch, state: checkpoint::encode(&state)? };
        observer.on_epoch(&metrics, &checkpoint)?;
    }
    if let Some((params, stats)) = state.best_weights.take() {
        state.params = params;
        state.stats = stats;
    }

    let mut final_metrics = BTreeMap::new();
    let (loss, train_score) = score(&network, &state.params, &state.stats, &train_set, model.task)?;
    let (val_loss, val_score) = score(&network, &state.params, &state.stats, &val_set, model.task)?;
    let name = if model.task == Task::Classification { "accuracy" } else { "r2" };
    final_metrics.insert("loss".to_owned(), loss.unwrap_or(0.0));
    final_metrics.extend(train_score.map(|s| (name.to_owned(), s)));
    final_metrics.extend(val_loss.map(|l| ("val_loss".to_owned(), l)));
    final_metrics.extend(val_score.map(|s| (format!("val_{name}"), s)));
    final_metrics.insert("epochs".to_owned(), f64::from(state.progress.epoch));
    if let Some((_, best_epoch)) = state.progress.best {
        final_metrics.insert("best_epoch".to_owned(), f64::from(best_epoch));
    }
    let file = ModelFile {
        format: FORMAT.to_owned(),
        format_version: FORMAT_VERSION,
        library: concat!("modelyard-ml ", env!("CARGO_PKG_VERSION")).to_owned(),
        task: model.task,
        features: model.features.clone(),
        target: model.target.clone(),
        input_width: network.input_width,
        outputs: network.outputs,
        architecture: model.layers.clone(),
        layers: artifact::layer_files(&network),
        output: match model.task {
            Task::Classification => "softmax".to_owned(),
            Task::Regression => "identity".to_owned(),
        },
        classes: prep.classes().to_vec(),
        preprocessing: prep,
        metrics: final_metrics.clone(),
    };
    let files = artifact::write(&file, &network, &state.params, &state.stats)?;
    Ok(TrainingOutcome::Trained(TrainedModel { files, metrics: final_metrics }))
}

/// Mean loss and accuracy (or R² of the scaled target, equal to R² in the target's units) of a
/// split in inference mode; `None` for an empty split.
fn score(
    network: &Network,
    params: &[f32],
    stats: &[f32],
    set: &Split,
    task: Task,
) -> Result<(Option<f64>, Option<f64>)> {
    if set.rows() == 0 {
        return Ok((None, None));
    }
    let outputs = infer(network, params, stats, &set.x)?;
    let loss = mean_loss(&outputs, &set.y, network.outputs);
    let score = match task {
        Task::Classification => {
            let right = outputs
                .chunks_exact(network.outputs)
                .zip(&set.y)
                .filter(|(row, y)| **y == EncodedTarget::Class(argmax(row)))
                .count();
            right as f64 / set.rows() as f64
        }
        Task::Regression => {
            let actual: Vec<f64> = set
                .y
                .iter()
                .map(|y| if let EncodedTarget::Value(v) = y { f64::from(*v) } else { 0.0 })
                .collect();
            let predicted: Vec<f64> = outputs.iter().map(|&v| f64::from(v)).collect();
            metrics::r2(&actual, &predicted)
        }
    };
    Ok((Some(loss), Some(score)))
}

/// Splits the labelled rows into training and validation, from the seed: stratified by class
/// for classification, so each class keeps its share in both parts.
fn split_rows(
    table: &Table,
    target: &str,
    task: Task,
    fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let rows = labelled_rows(table, target)?;
    if rows.len() < 2 {
        return Err(Error::validation(
            "target",
            "the dataset needs at least 2 rows with a target value",
        ));
    }
    let mut rng = SeededRng::new(seed, SPLIT_STREAM);
    let groups: Vec<Vec<usize>> = match (task, table.column(target)) {
        (Task::Classification, Some(column)) => {
            let mut by_class = BTreeMap::<String, Vec<usize>>::new();
            for &r in &rows {
                by_class.entry(text_cell(column, r).unwrap_or_default()).or_default().push(r);
            }
            by_class.into_values().collect()
        }
        _ => vec![rows],
    };
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for mut group in groups {
        rng.shuffle(&mut group);
        let held =
            ((group.len() as f64 * fraction).round() as usize).min(group.len().saturating_sub(1));
        val.extend_from_slice(&group[..held]);
        train.extend_from_slice(&group[held..]);
    }
    train.sort_unstable();
    val.sort_unstable();
    Ok((train, val))
}
