//! The whole path a user takes, through the facade on sled: upload the peers' large CSV
//! (20,000 x 784 floats and a label), train the large MLP (784-512-512-10, batch 128, Adam 1e-3,
//! every row trained) for `PIPELINE_EPOCHS` epochs (default 4), evaluate it on the same dataset.
//! Prints each step's time, each epoch's samples/s as the trainer recorded it, and the process's
//! resident memory after each step, each step's peak and the overall peak, against #14's
//! budget: twice the data as f32 plus 200 MB.
//!
//! ```sh
//! PEERDATA=~/.cache/modelyard/peerdata RAYON_NUM_THREADS=2 cargo bench --profile bindings --bench pipeline
//! ```
//!
//! `PIPELINE_SHAPE=wide` runs #14's scale test instead: a generated CSV of `PIPELINE_ROWS`
//! (1,000,000) rows x 50 columns (49 numbers, a 5-class label: `large_csv::wide_csv`), a
//! 49-128-64-5 MLP, batch 256, `PIPELINE_EPOCHS` (3 for this shape).
//!
//! Run `cargo bench --bench training` and `benches/peers/torch_mlp.py` alongside for the
//! kernel's and PyTorch's samples/s on the same data (benches/README.md).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use modelyard::core::{Activation, LayerSpec};
use modelyard::{ConfigSpec, ModelRequest, TrainParams, Upload, blocking};
use serde_json::json;

#[path = "support/large_csv.rs"]
mod large_csv;
#[path = "support/memory.rs"]
mod memory;

/// A field of `/proc/self/status`, in MiB.
fn status_mib(field: &str) -> u64 {
    memory::status_kib(field) >> 10
}

fn main() {
    // `cargo bench` passes `--bench`; a filter or `--list` from the harness is ignored.
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<usize>().ok());
    let wide = std::env::var("PIPELINE_SHAPE").is_ok_and(|shape| shape == "wide");
    let (csv, hidden, batch_size, default_epochs) = if wide {
        let rows = number("PIPELINE_ROWS").unwrap_or(1_000_000);
        let started = Instant::now();
        let csv = large_csv::wide_csv(scratch.path(), rows);
        println!("generated {rows} rows x 50 columns in {:.1} s", started.elapsed().as_secs_f64());
        (csv, [128, 64], 256, 3)
    } else {
        (large_csv::csv_file(scratch.path()), [512, 512], 128, 4)
    };
    let file_mib = std::fs::metadata(&csv).unwrap().len() as f64 / f64::from(1 << 20);
    let epochs = number("PIPELINE_EPOCHS").map_or(default_epochs, |e| e as u32);
    let spec = ConfigSpec::from_value(json!({
        "store": format!("sled://{}", scratch.path().join("store").display()),
        "max_upload_bytes": 4u64 << 30,
        "workers": 1,
    }))
    .unwrap();
    let yard = blocking::Modelyard::open(spec).unwrap();
    let session = yard.register("bench", "bench@example.com", "correct horse battery").unwrap();
    println!("start: RSS {} MiB", status_mib("VmRSS:"));
    let mut peak = 0;
    // Each step's own peak: the high-water mark is reset before it and read after it.
    let mut step_peak = || {
        let step = status_mib("VmHWM:");
        peak = peak.max(step);
        memory::reset_peak();
        step
    };
    step_peak();

    let started = Instant::now();
    let dataset = session.upload_dataset("pipeline", Upload::path(&csv)).unwrap();
    let upload = started.elapsed().as_secs_f64();
    println!(
        "upload: {upload:.2} s ({:.0} MiB/s, {} rows x {} columns); RSS {} MiB, peak {} MiB",
        file_mib / upload,
        dataset.row_count,
        dataset.schema.columns.len(),
        status_mib("VmRSS:"),
        step_peak()
    );

    let layers = hidden
        .into_iter()
        .map(|units| LayerSpec::Dense { units, activation: Activation::Relu })
        .collect();
    let model = session
        .create_model(ModelRequest {
            name: "pipeline".into(),
            dataset_id: dataset.id,
            target: "label".into(),
            features: None,
            task: None,
            layers: Some(layers),
        })
        .unwrap();
    let params = TrainParams {
        epochs,
        batch_size,
        learning_rate: 1e-3,
        validation_split: 0.0,
        ..TrainParams::default()
    };
    let started = Instant::now();
    let run = session.train(model.id, params).unwrap();
    let finished = run.wait().unwrap();
    let train = started.elapsed().as_secs_f64();
    assert!(finished.status.is_final() && finished.error.is_none(), "{finished:?}");
    println!(
        "train: {train:.2} s for {epochs} epochs (queue, load, train, save); RSS {} MiB, peak {} MiB",
        status_mib("VmRSS:"),
        step_peak()
    );
    for epoch in run.history().unwrap() {
        println!(
            "  epoch {}: {:.0} samples/s, loss {:.4}",
            epoch.epoch, epoch.samples_per_sec, epoch.loss
        );
    }

    let started = Instant::now();
    let evaluation = session.evaluate(model.id, dataset.id).unwrap();
    println!(
        "evaluate: {:.2} s, accuracy {:.4}; RSS {} MiB, peak {} MiB",
        started.elapsed().as_secs_f64(),
        evaluation.metrics["accuracy"],
        status_mib("VmRSS:"),
        step_peak()
    );
    let cells = dataset.row_count as f64 * dataset.schema.columns.len() as f64;
    let f32_data_mb = cells * 4.0 / 1e6;
    println!(
        "peak RSS {peak} MiB; budget 2 x {f32_data_mb:.0} MB (the data as f32) + 200 MB = {:.0} MiB",
        (2.0 * f32_data_mb + 200.0) * 1e6 / f64::from(1 << 20)
    );
}
