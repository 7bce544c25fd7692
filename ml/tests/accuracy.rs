//! Test accuracy with the default architecture and parameters on a stratified 80/20 split.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

fn accuracy_of(path: &str, target: &str) -> f64 {
    let (model, trained, evaluation) = support::train_and_score(path, target);
    assert!(support::is_classifier(&model));
    let accuracy = evaluation.metrics["accuracy"];
    eprintln!(
        "{path}: test accuracy {accuracy:.4}, macro F1 {:.4}, train metrics {:?}",
        evaluation.metrics["macro_f1"], trained.metrics
    );
    accuracy
}

#[test]
fn iris_reaches_093_test_accuracy_with_defaults() {
    let accuracy = accuracy_of("examples/data/iris.csv", "species");
    assert!(accuracy >= 0.93, "iris test accuracy {accuracy}");
}

#[test]
fn breast_cancer_reaches_095_test_accuracy_with_defaults() {
    let accuracy = accuracy_of("examples/data/breast_cancer.csv", "diagnosis");
    assert!(accuracy >= 0.95, "breast_cancer test accuracy {accuracy}");
}

#[test]
fn digits_reaches_095_test_accuracy_with_defaults() {
    let accuracy = accuracy_of("examples/data/digits.csv", "digit");
    assert!(accuracy >= 0.95, "digits test accuracy {accuracy}");
}
