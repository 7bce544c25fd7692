//! Quickstart: open the embedded store, sign up, upload the bundled iris CSV (split 80/20 into a
//! training and a test dataset), define a model, train it with a progress bar and a per-epoch
//! table, print its test accuracy and predict three rows.
//!
//! ```sh
//! cargo run --release --example quickstart
//! ```

use std::collections::BTreeMap;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use modelyard::{Error, ModelRequest, Modelyard, Prediction, RunEvent, TrainParams, Upload};

// Sets the thread count before any thread exists: candle reads RAYON_NUM_THREADS on every
// matrix product and re-detects the CPUs when it is unset.
#[allow(unsafe_code)]
fn main() -> modelyard::Result<()> {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: no other thread runs yet, so nothing reads the environment concurrently.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::internal)?
        .block_on(quickstart())
}

async fn quickstart() -> modelyard::Result<()> {
    let yard = Modelyard::open("sled://./quickstart-data").await?;
    let (email, password) = ("ada@example.com", "correct horse battery");
    match yard.register("ada", email, password).await {
        Ok(_) => println!("registered ada"),
        Err(Error::Conflict(_)) => println!("ada already registered in ./quickstart-data"),
        Err(err) => return Err(err),
    }
    let session = yard.login(email, password).await?;

    let csv = include_str!("data/iris.csv");
    let (train_csv, test_csv) = split_by_class(csv, 5);
    let iris =
        session.upload_dataset("iris-train", Upload::bytes("iris-train.csv", train_csv)).await?;
    let test =
        session.upload_dataset("iris-test", Upload::bytes("iris-test.csv", test_csv)).await?;
    println!(
        "\nuploaded {:?}: {} rows; held out {} rows for testing",
        iris.name, iris.row_count, test.row_count
    );
    println!("{:<14} {:<12} {:>8}  stats", "column", "kind", "missing");
    for column in &iris.schema.columns {
        let kind = format!("{:?}", column.kind);
        println!("{:<14} {kind:<12} {:>8}  {}", column.name, column.missing, column.stats);
    }

    let model = session
        .create_model(ModelRequest {
            name: "iris mlp".into(),
            dataset_id: iris.id,
            target: "species".into(),
            features: None,
            task: None,
            layers: None,
        })
        .await?;
    println!("\nmodel {:?} ({:?}) on features {:?}", model.name, model.task, model.features);
    println!("{:<12} {:<18} {:>12} {:>8}", "layer", "kind", "output", "params");
    for layer in &model.summary.layers {
        let shape: Vec<i64> =
            layer.output_shape.iter().map(|d| d.map_or(-1, |d| d as i64)).collect();
        println!(
            "{:<12} {:<18} {:>12} {:>8}",
            layer.name,
            layer.kind,
            format!("{shape:?}"),
            layer.params
        );
    }
    println!("total parameters: {}\n", model.summary.total_params);

    let params = TrainParams::default();
    let run = session.train(model.id, params.clone()).await?;
    let bar = ProgressBar::new(u64::from(params.epochs));
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} epochs  {msg}")
            .map_err(Error::internal)?,
    );
    // Above the bar on a terminal; plain lines when the output is piped.
    let line = |text: String| if bar.is_hidden() { println!("{text}") } else { bar.println(text) };
    line(format!(
        "{:>5} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "epoch", "loss", "accuracy", "val_loss", "val_acc", "ms"
    ));
    let mut events = run.events().await?;
    while let Some(event) = events.next().await {
        match event? {
            RunEvent::Epoch { metrics: m } => {
                let opt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.4}"));
                if m.epoch.is_multiple_of(10) || m.epoch == 1 {
                    line(format!(
                        "{:>5} {:>9.4} {:>9} {:>9} {:>9} {:>7}",
                        m.epoch,
                        m.loss,
                        opt(m.accuracy),
                        opt(m.val_loss),
                        opt(m.val_accuracy),
                        m.duration_ms
                    ));
                }
                bar.set_position(u64::from(m.epoch));
                bar.set_message(format!("loss {:.4}", m.loss));
            }
            RunEvent::Status { status, error } if status.is_final() => {
                bar.finish_with_message(format!("{status:?}"));
                if let Some(error) = error {
                    return Err(Error::Internal(error));
                }
                break;
            }
            RunEvent::Status { .. } => {}
        }
    }
    let finished = run.wait().await?;
    println!("final metrics: {:?}", finished.final_metrics.unwrap_or_default());

    let evaluation = session.evaluate(model.id, test.id).await?;
    println!("\ntest accuracy: {:.4}", evaluation.metrics["accuracy"]);
    if let Some(classes) = &evaluation.per_class {
        for c in classes {
            println!(
                "  {:<12} precision {:.3}  recall {:.3}  f1 {:.3}  support {}",
                c.label, c.precision, c.recall, c.f1, c.support
            );
        }
    }

    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        [[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 5.1, 1.6], [6.9, 3.1, 5.4, 2.1]]
            .iter()
            .map(|r| {
                ["sepal_length", "sepal_width", "petal_length", "petal_width"]
                    .iter()
                    .zip(r)
                    .map(|(name, value)| ((*name).to_owned(), serde_json::json!(value)))
                    .collect()
            })
            .collect();
    println!("\npredictions:");
    for (row, prediction) in
        rows.iter().zip(session.predict(model.id, &rows.as_slice().into()).await?)
    {
        let cells: Vec<String> = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
            .iter()
            .map(|name| format!("{name}={}", row[*name]))
            .collect();
        match prediction {
            Prediction::Class { label, probabilities } => {
                let probabilities: BTreeMap<std::sync::Arc<str>, String> =
                    probabilities.into_iter().map(|(k, p)| (k, format!("{p:.3}"))).collect();
                println!("  [{}] -> {label} {probabilities:?}", cells.join(", "));
            }
            Prediction::Value { value } => println!("  [{}] -> {value:.4}", cells.join(", ")),
        }
    }
    yard.close().await;
    Ok(())
}

/// Splits a CSV by its last column: every `k`-th row of each class goes to the test part.
fn split_by_class(csv: &str, k: usize) -> (Vec<u8>, Vec<u8>) {
    let mut lines = csv.lines();
    let header = lines.next().unwrap_or_default();
    let (mut train, mut test) = (format!("{header}\n"), format!("{header}\n"));
    let mut seen = BTreeMap::<&str, usize>::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let class = line.rsplit(',').next().unwrap_or_default();
        let count = seen.entry(class).or_default();
        *count += 1;
        let part = if count.is_multiple_of(k) { &mut test } else { &mut train };
        part.push_str(line);
        part.push('\n');
    }
    (train.into_bytes(), test.into_bytes())
}
