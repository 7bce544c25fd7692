//! The Rust side of the bindings' benchmarks (`scripts/bench-python`, `scripts/bench-node`,
//! benches/README.md): the same facade calls as `bindings-python/bench/bench.py` and
//! `bindings-node/bench/bench.mjs`, through `modelyard::blocking`, timed the same way, printed as
//! one JSON line that `benches/bindings/report.py` reads.
//!
//! ```sh
//! cargo run --profile bindings -p modelyard-bindings-bench -- train large.csv 5
//! cargo run --profile bindings -p modelyard-bindings-bench -- predict examples/data/iris.csv 2000 200
//! ```
//!
//! - `train CSV EPOCHS`: uploads the peers' large set (`benches/peers/gen_data.py`), creates a
//!   784-512-512-10 relu classifier and trains it (batch 128, Adam 1e-3, no validation split);
//!   prints the upload time, the wall time from `train` to the end of `wait`, and each epoch's
//!   metrics as the trainer recorded them.
//! - `predict CSV CALLS WARMUP`: trains a default model on iris, then times `predict` on the
//!   file's first row, one row per call: WARMUP untimed calls, then CALLS timed ones (ns each).
//!
//! Each invocation opens a fresh sled store in a temporary directory.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use modelyard::{
    Activation, ConfigSpec, LayerSpec, ModelRequest, Optimizer, RunStatus, Task, TrainParams,
    TrainingRun, Upload, blocking,
};
use serde_json::{Map, Value, json};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Opens a store in `dir` with the settings bench.py and bench.mjs pass: room for the 137 MiB
/// CSV, and a 10 ms queue poll so that the worker's pickup (250 ms by default) adds no noise.
fn open(dir: &Path) -> Result<blocking::Modelyard> {
    let spec = ConfigSpec::from_value(json!({
        "store": format!("sled://{}", dir.display()),
        "max_upload_bytes": 256u64 << 20,
        "poll_interval_ms": 10,
    }))?;
    Ok(blocking::Modelyard::open(spec)?)
}

/// A fresh directory under the system's temporary one, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH)?.as_nanos();
        let dir = std::env::temp_dir().join(format!("bench-facade-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn completed(run: TrainingRun) -> Result<TrainingRun> {
    match run.status {
        RunStatus::Completed => Ok(run),
        status => Err(format!("run ended {status:?}: {:?}", run.error).into()),
    }
}

fn train(csv: &str, epochs: u32) -> Result<Value> {
    let dir = TempDir::new()?;
    let yard = open(&dir.0)?;
    let session = yard.register("bench", "bench@example.com", "correct horse battery")?;

    let started = Instant::now();
    let dataset = session.upload_dataset("large", Upload::path(csv))?;
    let upload_s = started.elapsed().as_secs_f64();

    let hidden = LayerSpec::Dense { units: 512, activation: Activation::Relu };
    let model = session.create_model(ModelRequest {
        name: "large mlp".into(),
        dataset_id: dataset.id,
        target: "label".into(),
        features: None,
        task: Some(Task::Classification),
        layers: Some(vec![hidden.clone(), hidden]),
    })?;
    let params = TrainParams {
        epochs,
        batch_size: 128,
        learning_rate: 1e-3,
        optimizer: Optimizer::Adam,
        validation_split: 0.0,
        ..TrainParams::default()
    };
    let started = Instant::now();
    let run = completed(session.train(model.id, params)?.wait()?)?;
    let wall_s = started.elapsed().as_secs_f64();
    yard.close()?;

    let epochs: Vec<Value> = run
        .history
        .iter()
        .map(|m| {
            json!({
                "epoch": m.epoch,
                "loss": m.loss,
                "duration_ms": m.duration_ms,
                "samples_per_sec": m.samples_per_sec,
            })
        })
        .collect();
    Ok(json!({
        "side": "rust", "step": "train", "rows": dataset.row_count,
        "upload_s": upload_s, "wall_s": wall_s, "epochs": epochs,
    }))
}

/// The first data row of a CSV with a header, without `target`: numbers as numbers.
fn first_row(csv: &str, target: &str) -> Result<Map<String, Value>> {
    let text = std::fs::read_to_string(csv)?;
    let mut lines = text.lines();
    let (header, row) = lines.next().zip(lines.next()).ok_or("a header and one row")?;
    Ok(header
        .split(',')
        .zip(row.split(','))
        .filter(|(name, _)| *name != target)
        .map(|(name, cell)| {
            let value = cell.parse::<f64>().map_or_else(|_| json!(cell), |v| json!(v));
            (name.to_owned(), value)
        })
        .collect())
}

fn predict(csv: &str, calls: usize, warmup: usize) -> Result<Value> {
    let dir = TempDir::new()?;
    let yard = open(&dir.0)?;
    let session = yard.register("bench", "bench@example.com", "correct horse battery")?;
    let iris = session.upload_dataset("iris", Upload::path(csv))?;
    let model = session.create_model(ModelRequest {
        name: "iris mlp".into(),
        dataset_id: iris.id,
        target: "species".into(),
        features: None,
        task: None,
        layers: None,
    })?;
    let params = TrainParams { epochs: 30, ..TrainParams::default() };
    completed(session.train(model.id, params)?.wait()?)?;

    let rows = modelyard::Records::from(vec![first_row(csv, "species")?]);
    for _ in 0..warmup {
        session.predict(model.id, &rows)?;
    }
    let mut ns = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let predictions = session.predict(model.id, &rows)?;
        ns.push(started.elapsed().as_nanos() as u64);
        std::hint::black_box(predictions);
    }
    yard.close()?;
    Ok(json!({ "side": "rust", "step": "predict", "ns": ns }))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| -> Result<usize> {
        Ok(args.get(i).ok_or("missing argument")?.parse::<usize>()?)
    };
    let result = match args.first().map(String::as_str) {
        Some("train") => train(args.get(1).ok_or("CSV")?, u32::try_from(number(2)?)?)?,
        Some("predict") => predict(args.get(1).ok_or("CSV")?, number(2)?, number(3)?)?,
        _ => return Err("usage: bench_facade train CSV EPOCHS | predict CSV CALLS WARMUP".into()),
    };
    println!("{result}");
    Ok(())
}
