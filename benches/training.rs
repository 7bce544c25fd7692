//! Training throughput (samples/s) of the default trainer on the two synthetic shapes of the
//! PyTorch peer (benches/peers/torch_mlp.py): small = 20,000 x 64, 64-128-64-10, batch 64; large =
//! 20,000 x 784, 784-512-512-10, batch 128; Adam 1e-3; shuffled mini-batches; all rows trained.
//!
//! ```sh
//! PEERDATA=/some/dir RAYON_NUM_THREADS=2 cargo bench --bench training
//! ```
//!
//! With `PEERDATA` (written by `peers/gen_data.py`) the bench reads the very bytes the peer
//! trains on; without it, it draws the same kind of data from a fixed seed. Each measured
//! iteration is one epoch, timed by the trainer itself (training loop only, like the peer),
//! after one warm-up epoch. Peak RSS is printed at the end.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};
use modelyard::core::models::{ModelRequest, resolve_spec};
use modelyard::core::{
    Activation, CancelToken, CategoryCount, Checkpoint, ColumnKind, ColumnSchema, ColumnStats,
    ColumnValues, DatasetId, DatasetSchema, EpochMetrics, LayerSpec, Model, ModelId, Result, Table,
    TableColumn, TrainParams, Trainer, TrainingInput, TrainingObserver, UserId,
};
use modelyard_ml::MlpTrainer;
use modelyard_ml::rng::SeededRng;

const ROWS: usize = 20_000;

struct Shape {
    name: &'static str,
    inputs: usize,
    hidden: [u32; 2],
    batch: u32,
}

const SHAPES: [Shape; 2] = [
    Shape { name: "small", inputs: 64, hidden: [128, 64], batch: 64 },
    Shape { name: "large", inputs: 784, hidden: [512, 512], batch: 128 },
];

/// Features (row-major) and labels of a shape.
fn data(shape: &Shape) -> (Vec<f32>, Vec<i32>) {
    if let Ok(dir) = std::env::var("PEERDATA") {
        let x = std::fs::read(format!("{dir}/{}_X.f32", shape.name)).expect("PEERDATA features");
        let y = std::fs::read(format!("{dir}/{}_y.i32", shape.name)).expect("PEERDATA labels");
        let x = x.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let y = y.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        return (x, y);
    }
    // Same recipe as gen_data.py: Gaussian features, labels from a random tanh projection.
    let mut rng = SeededRng::new(7, 0);
    let mut normal = || {
        let (u, v) = (rng.next_f64().max(1e-12), rng.next_f64());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    };
    let x: Vec<f32> = (0..ROWS * shape.inputs).map(|_| normal()).collect();
    let w: Vec<f32> = (0..shape.inputs * 10).map(|_| normal()).collect();
    let y = (0..ROWS)
        .map(|r| {
            let row = &x[r * shape.inputs..(r + 1) * shape.inputs];
            let scores: Vec<f32> = (0..10)
                .map(|k| row.iter().enumerate().map(|(i, v)| v * w[i * 10 + k]).sum::<f32>().tanh())
                .collect();
            (0..10).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap_or(0) as i32
        })
        .collect();
    (x, y)
}

fn dataset(shape: &Shape) -> (DatasetSchema, Table, Model) {
    let (x, y) = data(shape);
    let mut columns: Vec<TableColumn> = (0..shape.inputs)
        .map(|i| TableColumn {
            name: format!("f{i}"),
            values: ColumnValues::Numeric(
                (0..ROWS).map(|r| Some(f64::from(x[r * shape.inputs + i]))).collect(),
            ),
        })
        .collect();
    columns.push(TableColumn {
        name: "label".into(),
        values: ColumnValues::Numeric(y.iter().map(|&v| Some(f64::from(v))).collect()),
    });
    let numeric = |name: String, integers: bool, values: Option<Vec<CategoryCount>>| ColumnSchema {
        name,
        kind: ColumnKind::Numeric,
        missing: 0,
        distinct: values.as_ref().map_or(ROWS as u64, |v| v.len() as u64),
        stats: ColumnStats::Numeric { min: -5.0, max: 5.0, mean: 0.0, std: 1.0, integers, values },
    };
    let mut schema_columns: Vec<ColumnSchema> =
        (0..shape.inputs).map(|i| numeric(format!("f{i}"), false, None)).collect();
    let classes = (0..10).map(|k| CategoryCount { value: k.to_string(), count: 1 }).collect();
    schema_columns.push(numeric("label".into(), true, Some(classes)));
    let schema = DatasetSchema { delimiter: ',', columns: schema_columns };
    let layers = shape
        .hidden
        .iter()
        .map(|&units| LayerSpec::Dense { units, activation: Activation::Relu })
        .collect();
    let request = ModelRequest {
        name: shape.name.into(),
        dataset_id: DatasetId::new(),
        target: "label".into(),
        features: None,
        task: None,
        layers: Some(layers),
    };
    let spec = resolve_spec(&request, &schema).unwrap();
    let model = Model {
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
        created_at: modelyard::core::now(),
    };
    (schema, Table { columns, rows: ROWS }, model)
}

#[derive(Default)]
struct Epochs(Vec<EpochMetrics>);

impl TrainingObserver for Epochs {
    fn on_epoch(&mut self, metrics: &EpochMetrics, _: &Checkpoint) -> Result<()> {
        self.0.push(metrics.clone());
        Ok(())
    }
}

fn bench_training(c: &mut Criterion) {
    let trainer = MlpTrainer::new();
    for shape in &SHAPES {
        let (schema, table, model) = dataset(shape);
        let mut group = c.benchmark_group("training");
        group.sample_size(10).sampling_mode(SamplingMode::Flat);
        group.measurement_time(Duration::from_secs(if shape.name == "small" { 10 } else { 30 }));
        group.throughput(Throughput::Elements(ROWS as u64));
        group.bench_function(shape.name, |b| {
            b.iter_custom(|iters| {
                let params = TrainParams {
                    epochs: iters as u32 + 1,
                    batch_size: shape.batch,
                    learning_rate: 1e-3,
                    validation_split: 0.0,
                    ..TrainParams::default()
                };
                let input = TrainingInput {
                    model: &model,
                    schema: &schema,
                    table: &table,
                    params: &params,
                };
                let mut epochs = Epochs::default();
                trainer.train(input, None, &mut epochs, &CancelToken::new()).unwrap();
                let timed = &epochs.0[1..];
                let secs: f64 = timed.iter().map(|m| ROWS as f64 / m.samples_per_sec).sum();
                let rate =
                    timed.iter().map(|m| m.samples_per_sec).sum::<f64>() / timed.len() as f64;
                eprintln!(
                    "modelyard {}: {rate:.0} samples/s over {} epochs",
                    shape.name,
                    timed.len()
                );
                Duration::from_secs_f64(secs)
            })
        });
        group.finish();
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM"))
    {
        eprintln!("peak RSS of the bench process: {}", line.trim_start_matches("VmHWM:").trim());
    }
}

criterion::criterion_group!(benches, bench_training);

#[allow(unsafe_code)]
fn main() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: no other thread runs yet, so nothing reads the environment concurrently.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "2") };
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
