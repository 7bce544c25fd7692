//! Behaviour of the default trainer: regression, reproducibility, checkpoint and resume,
//! cancellation, early stopping, parameter errors, artifacts and predictions.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use modelyard_core::{
    Activation, CancelToken, EarlyStopping, EpochMetrics, LayerSpec, Optimizer, Prediction,
    TrainParams, Trainer, TrainingInput, TrainingOutcome,
};
use modelyard_ml::MlpTrainer;
use support::{Recorder, load, model, repo_file, stratified_split, train};

const REGRESSION: &str = "ml/tests/data/regression.csv";
const IRIS: &str = "examples/data/iris.csv";

/// Metrics without wall-clock fields.
fn timeless(epochs: &[EpochMetrics]) -> Vec<EpochMetrics> {
    epochs
        .iter()
        .map(|m| EpochMetrics { duration_ms: 0, samples_per_sec: 0.0, ..m.clone() })
        .collect()
}

fn every_layer_kind() -> Vec<LayerSpec> {
    vec![
        LayerSpec::Dense { units: 16, activation: Activation::Gelu },
        LayerSpec::BatchNorm,
        LayerSpec::Dropout { rate: 0.2 },
        LayerSpec::Dense { units: 8, activation: Activation::Tanh },
    ]
}

#[test]
fn regression_with_defaults_reports_r2_on_held_out_rows() {
    let (model, trained, evaluation) = support::train_and_score(REGRESSION, "y");
    assert!(!support::is_classifier(&model));
    let m = &evaluation.metrics;
    eprintln!(
        "regression test: r2 {:.4} mae {:.4} rmse {:.4}; train {:?}",
        m["r2"], m["mae"], m["rmse"], trained.metrics
    );
    assert!(m["r2"] >= 0.9, "{m:?}");
    assert!(evaluation.confusion_matrix.is_none());
}

#[test]
fn the_same_seed_gives_the_same_metrics_and_weights_bit_for_bit() {
    let (schema, table) = load(&repo_file(IRIS));
    let model = model(&schema, "species", Some(every_layer_kind()));
    let params = TrainParams { epochs: 8, seed: 11, ..TrainParams::default() };
    let (a, ra) = train(&model, &schema, &table, &params, None);
    let (b, rb) = train(&model, &schema, &table, &params, None);
    assert_eq!(timeless(&ra.epochs), timeless(&rb.epochs));
    assert_eq!(a.files, b.files);
    let (c, _) = train(&model, &schema, &table, &TrainParams { seed: 12, ..params }, None);
    assert_ne!(a.files, c.files, "another seed trains another model");
}

fn resume_equals_uninterrupted(path: &str, target: &str, params: TrainParams, stop_at: usize) {
    let (schema, table) = load(&repo_file(path));
    let model = model(&schema, target, Some(every_layer_kind()));
    let (whole, full) = train(&model, &schema, &table, &params, None);
    let checkpoint = full.checkpoints[stop_at - 1].clone();
    let (resumed, rest) = train(&model, &schema, &table, &params, Some(checkpoint));
    assert_eq!(timeless(&full.epochs[stop_at..]), timeless(&rest.epochs));
    assert_eq!(whole.files, resumed.files);
    assert_eq!(whole.metrics, resumed.metrics);
}

#[test]
fn resuming_from_a_checkpoint_equals_uninterrupted_training() {
    let adamw = TrainParams {
        epochs: 6,
        optimizer: Optimizer::Adamw,
        weight_decay: 0.01,
        seed: 3,
        ..TrainParams::default()
    };
    resume_equals_uninterrupted(IRIS, "species", adamw, 2);
    let sgd = TrainParams {
        epochs: 5,
        optimizer: Optimizer::Sgd,
        learning_rate: 0.01,
        seed: 4,
        ..TrainParams::default()
    };
    resume_equals_uninterrupted(REGRESSION, "y", sgd, 3);
    let stopping = TrainParams {
        epochs: 60,
        learning_rate: 0.05,
        early_stopping: Some(EarlyStopping { patience: 2, min_delta: 0.0 }),
        ..TrainParams::default()
    };
    resume_equals_uninterrupted(IRIS, "species", stopping, 4);
}

#[test]
fn early_stopping_ends_training_once_validation_loss_stalls() {
    let (schema, table) = load(&repo_file(IRIS));
    let model = model(&schema, "species", None);
    let params = TrainParams {
        epochs: 500,
        learning_rate: 0.05,
        early_stopping: Some(EarlyStopping { patience: 3, min_delta: 0.0 }),
        ..TrainParams::default()
    };
    let (trained, recorder) = train(&model, &schema, &table, &params, None);
    assert!(recorder.epochs.len() < 500, "stopped after {} epochs", recorder.epochs.len());
    let best = trained.metrics["best_epoch"] as usize;
    assert_eq!(recorder.epochs.len(), best + 3);
}

#[test]
fn cancellation_stops_within_the_next_batch() {
    let (schema, table) = load(&repo_file(IRIS));
    let model = model(&schema, "species", None);
    let params = TrainParams { epochs: 50, ..TrainParams::default() };
    let token = CancelToken::new();
    let mut recorder = Recorder { cancel_after: Some((2, token.clone())), ..Recorder::default() };
    let input = TrainingInput { model: &model, schema: &schema, table: &table, params: &params };
    let outcome = MlpTrainer::new().train(input, None, &mut recorder, &token).unwrap();
    assert_eq!(outcome, TrainingOutcome::Cancelled);
    assert_eq!(recorder.epochs.len(), 2);
}

#[test]
fn bad_parameters_name_their_field() {
    let (schema, table) = load(&repo_file(IRIS));
    let model = model(&schema, "species", None);
    let params = TrainParams { learning_rate: 0.0, ..TrainParams::default() };
    let input = TrainingInput { model: &model, schema: &schema, table: &table, params: &params };
    let err = MlpTrainer::new()
        .train(input, None, &mut Recorder::default(), &CancelToken::new())
        .unwrap_err();
    assert_eq!(err.field(), Some("learning_rate"), "{err}");
}

#[test]
fn a_saved_artifact_predicts_what_evaluation_scored() {
    let (schema, table) = load(&repo_file(IRIS));
    let (train_table, test_table) = stratified_split(&table, "species", 0.2, 1);
    let model = model(&schema, "species", None);
    let params = TrainParams { epochs: 40, ..TrainParams::default() };
    let (trained, _) = train(&model, &schema, &train_table, &params, None);
    let names: Vec<&str> = trained.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["weights.safetensors", "model.json"]);

    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in &trained.files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let files: Vec<(String, Vec<u8>)> =
        names.iter().map(|n| (n.to_string(), std::fs::read(dir.path().join(n)).unwrap())).collect();
    let loaded = MlpTrainer::new().load(&files).unwrap();
    let predictions = loaded.predict(&test_table).unwrap();
    let evaluation = loaded.evaluate(&test_table).unwrap();
    let actual = match &test_table.column("species").unwrap().values {
        modelyard_core::ColumnValues::Text(v) => {
            v.iter().map(|v| v.map(str::to_owned)).collect::<Vec<_>>()
        }
        _ => unreachable!(),
    };
    let mut right = 0;
    for (prediction, actual) in predictions.iter().zip(&actual) {
        let Prediction::Class { label, probabilities } = prediction else { panic!("a class") };
        assert_eq!(probabilities.len(), 3);
        assert!((probabilities.values().sum::<f64>() - 1.0).abs() < 1e-9);
        let top = probabilities.iter().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(top, label);
        right += usize::from(Some(&**label) == actual.as_deref());
    }
    let accuracy = right as f64 / predictions.len() as f64;
    assert_eq!(accuracy, evaluation.metrics["accuracy"]);
    let matrix = evaluation.confusion_matrix.unwrap();
    assert_eq!(matrix.matrix.iter().flatten().sum::<u64>(), test_table.rows as u64);

    let mut missing = test_table.clone();
    missing.columns.retain(|c| c.name != "petal_width");
    let err = loaded.predict(&missing).unwrap_err();
    assert_eq!(err.field(), Some("features[3]"), "{err}");
}
