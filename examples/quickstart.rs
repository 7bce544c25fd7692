//! Quickstart: open the embedded store, sign up, upload the bundled iris CSV, look at its schema
//! and define a model on it.
//!
//! ```sh
//! cargo run --release --example quickstart
//! ```

use modelyard::{Error, ModelRequest, Modelyard, Upload};

#[tokio::main]
async fn main() -> modelyard::Result<()> {
    let yard = Modelyard::open("sled://./quickstart-data").await?;
    let (email, password) = ("ada@example.com", "correct horse battery");
    match yard.register("ada", email, password).await {
        Ok(_) => println!("registered ada"),
        Err(Error::Conflict(_)) => println!("ada already registered in ./quickstart-data"),
        Err(err) => return Err(err),
    }
    let session = yard.login(email, password).await?;

    let csv = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/iris.csv");
    let iris = session.upload_dataset("iris", Upload::path(csv)).await?;
    println!("\nuploaded {:?}: {} rows, {} bytes", iris.name, iris.row_count, iris.size_bytes);
    println!("{:<14} {:<12} {:>8}  stats", "column", "kind", "missing");
    for column in &iris.schema.columns {
        let stats = &column.stats;
        println!(
            "{:<14} {:<12} {:>8}  {stats}",
            column.name,
            format!("{:?}", column.kind),
            column.missing
        );
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
        let shape = format!(
            "{:?}",
            layer.output_shape.iter().map(|d| d.map_or(-1, |d| d as i64)).collect::<Vec<_>>()
        );
        println!("{:<12} {:<18} {:>12} {:>8}", layer.name, layer.kind, shape, layer.params);
    }
    println!("total parameters: {}", model.summary.total_params);
    Ok(())
}
