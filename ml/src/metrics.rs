//! Scores: accuracy, per-class precision/recall/F1 and the confusion matrix; MAE, RMSE and R².

use std::collections::BTreeMap;

use modelyard_core::{ClassMetrics, ConfusionMatrix, Evaluation};

/// Fraction of `predicted` equal to `actual`.
pub fn accuracy(actual: &[u32], predicted: &[u32]) -> f64 {
    if actual.is_empty() {
        return 0.0;
    }
    let right = actual.iter().zip(predicted).filter(|(a, p)| a == p).count();
    right as f64 / actual.len() as f64
}

/// Coefficient of determination; 0 when the actual values are constant.
pub fn r2(actual: &[f64], predicted: &[f64]) -> f64 {
    let n = actual.len() as f64;
    if actual.is_empty() {
        return 0.0;
    }
    let mean = actual.iter().sum::<f64>() / n;
    let total: f64 = actual.iter().map(|y| (y - mean).powi(2)).sum();
    let residual: f64 = actual.iter().zip(predicted).map(|(y, p)| (y - p).powi(2)).sum();
    if total > 0.0 { 1.0 - residual / total } else { 0.0 }
}

/// A classification report over `labels`, with `loss` the mean cross-entropy.
pub fn classification(
    labels: &[String],
    actual: &[u32],
    predicted: &[u32],
    loss: f64,
) -> Evaluation {
    let k = labels.len();
    let mut matrix = vec![vec![0u64; k]; k];
    for (&a, &p) in actual.iter().zip(predicted) {
        matrix[a as usize][p as usize] += 1;
    }
    let per_class: Vec<ClassMetrics> = (0..k)
        .map(|c| {
            let tp = matrix[c][c] as f64;
            let predicted_c: u64 = matrix.iter().map(|row| row[c]).sum();
            let support: u64 = matrix[c].iter().sum();
            let precision = if predicted_c > 0 { tp / predicted_c as f64 } else { 0.0 };
            let recall = if support > 0 { tp / support as f64 } else { 0.0 };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            ClassMetrics { label: labels[c].clone(), precision, recall, f1, support }
        })
        .collect();
    let macro_f1 = per_class.iter().map(|c| c.f1).sum::<f64>() / k.max(1) as f64;
    let metrics = BTreeMap::from([
        ("accuracy".to_owned(), accuracy(actual, predicted)),
        ("macro_f1".to_owned(), macro_f1),
        ("loss".to_owned(), loss),
    ]);
    Evaluation {
        metrics,
        per_class: Some(per_class),
        confusion_matrix: Some(ConfusionMatrix { labels: labels.to_vec(), matrix }),
    }
}

/// A regression report in the target's units, with `loss` the mean squared error of the scaled
/// target the network learns.
pub fn regression(actual: &[f64], predicted: &[f64], loss: f64) -> Evaluation {
    let n = actual.len().max(1) as f64;
    let mae = actual.iter().zip(predicted).map(|(y, p)| (y - p).abs()).sum::<f64>() / n;
    let mse = actual.iter().zip(predicted).map(|(y, p)| (y - p).powi(2)).sum::<f64>() / n;
    let metrics = BTreeMap::from([
        ("mae".to_owned(), mae),
        ("rmse".to_owned(), mse.sqrt()),
        ("r2".to_owned(), r2(actual, predicted)),
        ("loss".to_owned(), loss),
    ]);
    Evaluation { metrics, per_class: None, confusion_matrix: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confusion_matrix_gives_precision_recall_and_f1() {
        let labels = ["a".to_owned(), "b".to_owned()];
        let report = classification(&labels, &[0, 0, 1, 1], &[0, 1, 1, 1], 0.0);
        assert_eq!(
            report.confusion_matrix.as_ref().map(|m| m.matrix.clone()),
            Some(vec![vec![1, 1], vec![0, 2]])
        );
        let b = &report.per_class.as_ref().map(|c| c[1].clone());
        let b = b.as_ref().map(|c| (c.precision, c.recall, c.support));
        assert_eq!(b, Some((2.0 / 3.0, 1.0, 2)));
        assert_eq!(report.metrics["accuracy"], 0.75);
    }

    #[test]
    fn perfect_regression_has_r2_one() {
        let report = regression(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], 0.0);
        assert_eq!((report.metrics["r2"], report.metrics["mae"]), (1.0, 0.0));
    }
}
