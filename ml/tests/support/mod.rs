//! Shared test fixtures: loading a CSV as Modelyard would, a stratified split, a recording
//! observer, training and scoring in one call.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use modelyard_core::datasets::{infer_schema, parse_table};
use modelyard_core::models::{ModelRequest, resolve_spec};
use modelyard_core::{
    CancelToken, Checkpoint, ColumnValues, DatasetId, DatasetSchema, EpochMetrics, Evaluation,
    LayerSpec, Model, ModelId, Result, Table, TableColumn, Task, TrainParams, TrainedModel,
    Trainer, TrainingInput, TrainingObserver, TrainingOutcome, UserId,
};
use modelyard_ml::MlpTrainer;

/// A dataset file of the repository.
pub fn repo_file(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A CSV parsed as the dataset service would.
pub fn load(bytes: &[u8]) -> (DatasetSchema, Table) {
    let (schema, _) = infer_schema(bytes).unwrap();
    let table = parse_table(bytes, &schema).unwrap();
    (schema, table)
}

/// A model on every other column, resolved as the model service would.
pub fn model(schema: &DatasetSchema, target: &str, layers: Option<Vec<LayerSpec>>) -> Model {
    let request = ModelRequest {
        name: "test".into(),
        dataset_id: DatasetId::new(),
        target: target.into(),
        features: None,
        task: None,
        layers,
    };
    let spec = resolve_spec(&request, schema).unwrap();
    Model {
        id: ModelId::new(),
        owner: UserId::new(),
        name: spec.name,
        dataset_id: request.dataset_id,
        target: spec.target,
        features: spec.features,
        task: spec.task,
        layers: spec.layers,
        summary: spec.summary,
        latest_version: None,
        created_at: modelyard_core::now(),
    }
}

/// The rows `rows` of `table`.
pub fn subset(table: &Table, rows: &[usize]) -> Table {
    let columns = table
        .columns
        .iter()
        .map(|c| TableColumn {
            name: c.name.clone(),
            values: match &c.values {
                ColumnValues::Numeric(v) => {
                    ColumnValues::Numeric(rows.iter().map(|&r| v.get(r)).collect())
                }
                ColumnValues::Text(v) => {
                    ColumnValues::Text(rows.iter().map(|&r| v.get(r)).collect())
                }
            },
        })
        .collect();
    Table { columns, rows: rows.len() }
}

/// A stratified split holding out `fraction` of each class (every k-th row of the class in a
/// seeded order), or of all rows for a numeric target.
pub fn stratified_split(table: &Table, target: &str, fraction: f64, seed: u64) -> (Table, Table) {
    let column = table.column(target).unwrap();
    let mut groups = BTreeMap::<String, Vec<usize>>::new();
    for r in 0..table.rows {
        let key = match &column.values {
            ColumnValues::Text(v) => v.get(r).unwrap_or_default().to_owned(),
            ColumnValues::Numeric(v) => format!("{:?}", v.get(r)),
        };
        groups.entry(key).or_default().push(r);
    }
    if groups.len() > 50 {
        groups = BTreeMap::from([(String::new(), (0..table.rows).collect())]);
    }
    let mut rng = modelyard_ml::rng::SeededRng::new(seed, 99);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for mut rows in groups.into_values() {
        rng.shuffle(&mut rows);
        let held = (rows.len() as f64 * fraction).round() as usize;
        test.extend_from_slice(&rows[..held]);
        train.extend_from_slice(&rows[held..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (subset(table, &train), subset(table, &test))
}

/// Keeps every epoch's metrics and checkpoint; optionally cancels after an epoch.
#[derive(Default)]
pub struct Recorder {
    pub epochs: Vec<EpochMetrics>,
    pub checkpoints: Vec<Checkpoint>,
    pub cancel_after: Option<(u32, CancelToken)>,
}

impl TrainingObserver for Recorder {
    fn on_epoch(&mut self, metrics: &EpochMetrics, checkpoint: &Checkpoint) -> Result<()> {
        self.epochs.push(metrics.clone());
        self.checkpoints.push(checkpoint.clone());
        if let Some((epoch, token)) = &self.cancel_after
            && metrics.epoch == *epoch
        {
            token.cancel();
        }
        Ok(())
    }
}

/// Trains to the end and returns the model with the recorder.
pub fn train(
    model: &Model,
    schema: &DatasetSchema,
    table: &Table,
    params: &TrainParams,
    resume: Option<Checkpoint>,
) -> (TrainedModel, Recorder) {
    let mut recorder = Recorder::default();
    let input = TrainingInput { model, schema, table, params };
    match MlpTrainer::new().train(input, resume, &mut recorder, &CancelToken::new()).unwrap() {
        TrainingOutcome::Trained(trained) => (trained, recorder),
        TrainingOutcome::Cancelled => panic!("not cancelled"),
    }
}

/// Trains with default layers and params on 80% of a dataset, scores the other 20%.
pub fn train_and_score(path: &str, target: &str) -> (Model, TrainedModel, Evaluation) {
    let (schema, table) = load(&repo_file(path));
    let (train_table, test_table) = stratified_split(&table, target, 0.2, 7);
    let model = model(&schema, target, None);
    let (trained, _) = train(&model, &schema, &train_table, &TrainParams::default(), None);
    let evaluation = MlpTrainer::new().load(&trained.files).unwrap().evaluate(&test_table).unwrap();
    (model, trained, evaluation)
}

/// Whether the model is a classifier.
pub fn is_classifier(model: &Model) -> bool {
    model.task == Task::Classification
}
