//! Prediction through the facade on the iris model (4 features, the default hidden layers,
//! 3 classes), trained once in a temporary sled store: one row per call (latency), and batches
//! of 10,000 rows (the most one call takes) as JSON objects (already read, and read from a request
//! body's bytes in the call) and as CSV (rows per second).
//!
//! ```sh
//! cargo bench --bench predict
//! ```
//!
//! The model stays loaded between calls (the facade's `LoadedModels`), as in a server: each call
//! reads the model and dataset records, turns the rows into a table against the dataset's schema,
//! runs the network and builds one `Prediction` (label and class probabilities) per row.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput};
use modelyard::{ConfigSpec, ModelRequest, Records, TrainParams, Upload, blocking};
use serde_json::{Map, Value, json};

/// Rows per batch call: the facade's limit for JSON rows.
const BATCH: usize = 10_000;

/// The iris rows as JSON objects of their four features, and the CSV header and lines.
fn iris_rows() -> (Vec<Map<String, Value>>, String, Vec<String>) {
    let text = std::fs::read_to_string("examples/data/iris.csv").unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let features = &header[..4];
    let mut rows = Vec::new();
    let mut csv_lines = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        let row: Map<String, Value> = features
            .iter()
            .zip(&cells)
            .map(|(name, cell)| ((*name).to_owned(), json!(cell.parse::<f64>().unwrap())))
            .collect();
        rows.push(row);
        csv_lines.push(cells[..4].join(","));
    }
    (rows, features.join(","), csv_lines)
}

/// A predict request's body, as the server reads it.
#[derive(serde::Deserialize)]
struct JsonBody {
    rows: Records,
}

fn bench_predict(c: &mut Criterion) {
    let scratch = tempfile::tempdir().unwrap();
    let spec = ConfigSpec::from_value(json!({
        "store": format!("sled://{}", scratch.path().join("store").display()),
    }))
    .unwrap();
    let yard = blocking::Modelyard::open(spec).unwrap();
    let session = yard.register("bench", "bench@example.com", "correct horse battery").unwrap();
    let dataset = session.upload_dataset("iris", Upload::path("examples/data/iris.csv")).unwrap();
    let model = session
        .create_model(ModelRequest {
            name: "iris".into(),
            dataset_id: dataset.id,
            target: "species".into(),
            features: None,
            task: None,
            layers: None,
        })
        .unwrap();
    let params = TrainParams { epochs: 30, ..TrainParams::default() };
    let trained = session.train(model.id, params).unwrap().wait().unwrap();
    assert_eq!(trained.status, modelyard::RunStatus::Completed, "{trained:?}");

    let (rows, header, csv_lines) = iris_rows();
    let batch: Vec<Map<String, Value>> = rows.iter().cycle().take(BATCH).cloned().collect();
    let one = Records::from(&rows[..1]);
    let mut csv = header.clone();
    for line in csv_lines.iter().cycle().take(BATCH) {
        csv.push('\n');
        csv.push_str(line);
    }
    let csv = csv.into_bytes();
    let batch = Records::from(batch);
    // The same rows as a request body, read the way the server's route reads it.
    let body =
        serde_json::to_vec(&json!({ "rows": rows.iter().cycle().take(BATCH).collect::<Vec<_>>() }))
            .unwrap();
    // The first call loads the model; every measured call finds it loaded.
    assert_eq!(session.predict(model.id, &batch).unwrap().len(), BATCH);

    let mut group = c.benchmark_group("predict_iris");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_row", |b| b.iter(|| session.predict(model.id, &one).unwrap()));
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("json_rows_10000", |b| {
        b.iter(|| session.predict(model.id, &batch).unwrap())
    });
    group.bench_function("json_body_10000", |b| {
        b.iter(|| {
            let body: JsonBody = serde_json::from_slice(&body).unwrap();
            session.predict(model.id, &body.rows).unwrap()
        })
    });
    group.bench_function("csv_rows_10000", |b| {
        b.iter(|| session.predict_csv(model.id, &csv).unwrap())
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_predict(&mut criterion);
    criterion.final_summary();
}
