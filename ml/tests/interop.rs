//! Writes trained artifacts with their input rows and Modelyard's predictions, for the Python
//! interop test (`ml/tests/python/test_interop.py`, run by `ml/ci.sh`) to rebuild the forward
//! pass from `weights.safetensors` + `model.json` alone. Writes into `MODELYARD_INTEROP_DIR`
//! when set, else into a temporary directory (checking only that the files are complete).
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use modelyard_core::{Activation, LayerSpec, Optimizer, Prediction, TrainParams, Trainer};
use modelyard_ml::MlpTrainer;
use support::{load, model, repo_file, train};

fn every_layer_kind() -> Vec<LayerSpec> {
    vec![
        LayerSpec::Dense { units: 16, activation: Activation::Gelu },
        LayerSpec::BatchNorm,
        LayerSpec::Dropout { rate: 0.1 },
        LayerSpec::Dense { units: 12, activation: Activation::Tanh },
        LayerSpec::Dense { units: 8, activation: Activation::Sigmoid },
        LayerSpec::Dense { units: 8, activation: Activation::Relu },
        LayerSpec::Dense { units: 8, activation: Activation::Linear },
    ]
}

fn write_case(dir: &std::path::Path, name: &str, csv: &str, target: &str) {
    let bytes = repo_file(csv);
    let (schema, table) = load(&bytes);
    let model = model(&schema, target, Some(every_layer_kind()));
    let params = TrainParams {
        epochs: 15,
        optimizer: Optimizer::Adamw,
        weight_decay: 0.01,
        ..TrainParams::default()
    };
    let (trained, _) = train(&model, &schema, &table, &params, None);
    let predictions = MlpTrainer::new().load(&trained.files).unwrap().predict(&table).unwrap();
    assert_eq!(predictions.len(), table.rows);
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    for (file, content) in &trained.files {
        std::fs::write(out.join(file), content).unwrap();
    }
    std::fs::write(out.join("input.csv"), &bytes).unwrap();
    let expected: Vec<serde_json::Value> = predictions
        .iter()
        .map(|p| match p {
            Prediction::Class { label, probabilities } => {
                serde_json::json!({ "label": label, "probabilities": probabilities })
            }
            Prediction::Value { value } => serde_json::json!({ "value": value }),
        })
        .collect();
    std::fs::write(out.join("expected.json"), serde_json::to_vec(&expected).unwrap()).unwrap();
}

#[test]
fn artifacts_and_predictions_are_written_for_python() {
    let temp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("MODELYARD_INTEROP_DIR")
        .map_or_else(|| temp.path().to_path_buf(), std::path::PathBuf::from);
    write_case(&dir, "classification", "examples/data/iris.csv", "species");
    write_case(&dir, "regression", "ml/tests/data/regression.csv", "y");
    for case in ["classification", "regression"] {
        for file in ["weights.safetensors", "model.json", "input.csv", "expected.json"] {
            assert!(dir.join(case).join(file).is_file(), "{case}/{file}");
        }
    }
}
