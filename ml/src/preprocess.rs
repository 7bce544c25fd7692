//! Turning table columns into the network's input matrix and targets, with every statistic
//! fitted on the training rows only and saved in `model.json` so prediction applies exactly the
//! same transform.

use std::collections::HashMap;

use modelyard_core::{
    ColumnStats, ColumnValues, DatasetSchema, Error, Result, Table, TableColumn, Task,
};
use serde::{Deserialize, Serialize};

/// How one feature column becomes input columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeatureEncoder {
    /// `(x - mean) / std`; a missing value becomes the mean (0 after scaling).
    Numeric {
        /// The column.
        name: String,
        /// Mean of the training rows.
        mean: f64,
        /// Population standard deviation of the training rows (1 when they are all equal).
        std: f64,
    },
    /// One slot per category, then one for a missing value or a category never seen.
    Categorical {
        /// The column.
        name: String,
        /// Known categories, in slot order.
        categories: Vec<String>,
    },
}

impl FeatureEncoder {
    /// Input columns this feature takes.
    pub fn width(&self) -> usize {
        match self {
            Self::Numeric { .. } => 1,
            Self::Categorical { categories, .. } => categories.len() + 1,
        }
    }

    fn name(&self) -> &str {
        match self {
            Self::Numeric { name, .. } | Self::Categorical { name, .. } => name,
        }
    }
}

/// How the target becomes what the network learns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetEncoder {
    /// Class labels, index = output unit.
    Classes {
        /// The column.
        name: String,
        /// Labels in output order.
        classes: Vec<String>,
    },
    /// A number learnt as `(y - mean) / std`; predictions are mapped back.
    Scaled {
        /// The column.
        name: String,
        /// Mean of the training targets.
        mean: f64,
        /// Standard deviation of the training targets (1 when constant).
        std: f64,
    },
}

impl TargetEncoder {
    /// The network's output width.
    pub fn outputs(&self) -> usize {
        match self {
            Self::Classes { classes, .. } => classes.len(),
            Self::Scaled { .. } => 1,
        }
    }
}

/// The fitted transform of a model: features in order, then the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    /// One encoder per feature, in input order.
    pub features: Vec<FeatureEncoder>,
    /// The target's encoding.
    pub target: TargetEncoder,
}

/// A target as the network sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EncodedTarget {
    /// Class index.
    Class(u32),
    /// Scaled value.
    Value(f32),
}

impl Preprocessor {
    /// Fits on the rows `train` of `table`. Class labels and category vocabularies come from the
    /// dataset's schema (they describe the output and input widths the model summary promised);
    /// every statistic (means, deviations) comes from the training rows alone.
    pub fn fit(
        table: &Table,
        schema: &DatasetSchema,
        features: &[String],
        target: &str,
        task: Task,
        train: &[usize],
    ) -> Result<Self> {
        let mut encoders = Vec::with_capacity(features.len());
        for (i, name) in features.iter().enumerate() {
            let column = table.column(name).ok_or_else(|| {
                Error::validation(
                    format!("features[{i}]"),
                    format!("the table has no column {name:?}"),
                )
            })?;
            encoders.push(match &column.values {
                ColumnValues::Numeric(values) => {
                    let (mean, std) = mean_std(train.iter().filter_map(|&r| values.get(r)));
                    FeatureEncoder::Numeric { name: name.clone(), mean, std }
                }
                ColumnValues::Text(values) => {
                    let categories = match schema.column(name).map(|c| &c.stats) {
                        Some(ColumnStats::Categories { categories }) => {
                            categories.iter().map(|c| c.value.clone()).collect()
                        }
                        _ => {
                            let mut seen = vec![false; values.category_count()];
                            train.iter().filter_map(|&r| values.code(r)).for_each(|code| {
                                seen[code as usize] = true;
                            });
                            let mut seen: Vec<String> = values
                                .categories()
                                .zip(seen)
                                .filter(|(_, seen)| *seen)
                                .map(|(category, _)| category.to_owned())
                                .collect();
                            seen.sort();
                            seen
                        }
                    };
                    FeatureEncoder::Categorical { name: name.clone(), categories }
                }
            });
        }
        let column = table.column(target).ok_or_else(|| {
            Error::validation("target", format!("the table has no column {target:?}"))
        })?;
        let target = match task {
            Task::Classification => {
                TargetEncoder::Classes { name: target.to_owned(), classes: class_labels(column) }
            }
            Task::Regression => {
                let ColumnValues::Numeric(values) = &column.values else {
                    return Err(Error::validation("target", "regression needs a numeric target"));
                };
                let (mean, std) = mean_std(train.iter().filter_map(|&r| values.get(r)));
                TargetEncoder::Scaled { name: target.to_owned(), mean, std }
            }
        };
        Ok(Self { features: encoders, target })
    }

    /// Width of the encoded input.
    pub fn input_width(&self) -> usize {
        self.features.iter().map(FeatureEncoder::width).sum()
    }

    /// Encodes `rows` of `table` into a row-major matrix of [`Self::input_width`] columns.
    pub fn encode_features(&self, table: &Table, rows: &[usize]) -> Result<Vec<f32>> {
        let width = self.input_width();
        let mut out = vec![0f32; rows.len() * width];
        let mut offset = 0;
        for (i, encoder) in self.features.iter().enumerate() {
            let column = table.column(encoder.name()).ok_or_else(|| {
                Error::validation(
                    format!("features[{i}]"),
                    format!("the table has no feature column {:?}", encoder.name()),
                )
            })?;
            match encoder {
                FeatureEncoder::Numeric { mean, std, .. } => {
                    for (k, &r) in rows.iter().enumerate() {
                        let x = numeric_cell(column, r, i)?.unwrap_or(*mean);
                        out[k * width + offset] = ((x - mean) / std) as f32;
                    }
                }
                FeatureEncoder::Categorical { categories, .. } => {
                    let slots: HashMap<&str, usize> =
                        categories.iter().enumerate().map(|(s, c)| (c.as_str(), s)).collect();
                    let unknown = categories.len();
                    match &column.values {
                        // Each distinct value is looked up once, then every row by its code.
                        ColumnValues::Text(values) => {
                            let slot_of_code: Vec<usize> = values
                                .categories()
                                .map(|c| slots.get(c).copied().unwrap_or(unknown))
                                .collect();
                            for (k, &r) in rows.iter().enumerate() {
                                let slot =
                                    values.code(r).map_or(unknown, |c| slot_of_code[c as usize]);
                                out[k * width + offset + slot] = 1.0;
                            }
                        }
                        ColumnValues::Numeric(_) => {
                            for (k, &r) in rows.iter().enumerate() {
                                let cell = text_cell(column, r);
                                let slot = cell
                                    .as_deref()
                                    .and_then(|c| slots.get(c).copied())
                                    .unwrap_or(unknown);
                                out[k * width + offset + slot] = 1.0;
                            }
                        }
                    }
                }
            }
            offset += encoder.width();
        }
        Ok(out)
    }

    /// The encoded target of each of `rows`; a missing target is an error (callers drop those
    /// rows first with [`labelled_rows`]).
    pub fn encode_targets(&self, table: &Table, rows: &[usize]) -> Result<Vec<EncodedTarget>> {
        let (name, column) = match &self.target {
            TargetEncoder::Classes { name, .. } | TargetEncoder::Scaled { name, .. } => {
                (name, table.column(name))
            }
        };
        let column = column.ok_or_else(|| {
            Error::validation("target", format!("the table has no target column {name:?}"))
        })?;
        match &self.target {
            TargetEncoder::Classes { classes, .. } => {
                let index: HashMap<&str, u32> =
                    classes.iter().enumerate().map(|(i, c)| (c.as_str(), i as u32)).collect();
                rows.iter()
                    .map(|&r| {
                        let label = text_cell(column, r).ok_or_else(|| missing_target(r))?;
                        index.get(label.as_str()).map(|&c| EncodedTarget::Class(c)).ok_or_else(
                            || {
                                Error::validation(
                                    "target",
                                    format!(
                                        "row {} has class {label:?}, unknown to the model",
                                        r + 1
                                    ),
                                )
                            },
                        )
                    })
                    .collect()
            }
            TargetEncoder::Scaled { mean, std, .. } => rows
                .iter()
                .map(|&r| {
                    let y =
                        numeric_cell(column, r, usize::MAX)?.ok_or_else(|| missing_target(r))?;
                    Ok(EncodedTarget::Value(((y - mean) / std) as f32))
                })
                .collect(),
        }
    }

    /// The raw regression targets of `rows`, in the target's units.
    pub fn target_values(&self, table: &Table, rows: &[usize]) -> Result<Vec<f64>> {
        let name = match &self.target {
            TargetEncoder::Classes { name, .. } | TargetEncoder::Scaled { name, .. } => name,
        };
        let column = table.column(name).ok_or_else(|| {
            Error::validation("target", format!("the table has no target column {name:?}"))
        })?;
        rows.iter()
            .map(|&r| numeric_cell(column, r, usize::MAX)?.ok_or_else(|| missing_target(r)))
            .collect()
    }

    /// Maps a scaled regression output back to the target's units.
    pub fn decode_value(&self, scaled: f64) -> f64 {
        match &self.target {
            TargetEncoder::Scaled { mean, std, .. } => scaled * std + mean,
            TargetEncoder::Classes { .. } => scaled,
        }
    }

    /// Class labels (empty for regression).
    pub fn classes(&self) -> &[String] {
        match &self.target {
            TargetEncoder::Classes { classes, .. } => classes,
            TargetEncoder::Scaled { .. } => &[],
        }
    }
}

/// Rows whose target is present: the only ones training and evaluation can use.
pub fn labelled_rows(table: &Table, target: &str) -> Result<Vec<usize>> {
    let column = table.column(target).ok_or_else(|| {
        Error::validation("target", format!("the table has no column {target:?}"))
    })?;
    Ok((0..table.rows).filter(|&row| !column.values.is_missing(row)).collect())
}

/// The label of a numeric class value as shown to users: `3` for 3.0, `0.5` for 0.5.
pub fn number_label(x: f64) -> String {
    format!("{x}")
}

fn class_labels(column: &TableColumn) -> Vec<String> {
    match &column.values {
        ColumnValues::Text(values) => {
            // Every dictionary value occurs in some row.
            let mut labels: Vec<String> = values.categories().map(str::to_owned).collect();
            labels.sort();
            labels
        }
        ColumnValues::Numeric(values) => {
            let mut numbers: Vec<f64> = values.iter().flatten().collect();
            numbers.sort_by(f64::total_cmp);
            numbers.dedup();
            numbers.into_iter().map(number_label).collect()
        }
    }
}

pub(crate) fn text_cell(column: &TableColumn, row: usize) -> Option<String> {
    match &column.values {
        ColumnValues::Text(v) => v.get(row).map(str::to_owned),
        ColumnValues::Numeric(v) => v.get(row).map(number_label),
    }
}

/// A numeric cell; a text column (a new file whose column did not infer as numeric) is parsed.
fn numeric_cell(column: &TableColumn, row: usize, feature: usize) -> Result<Option<f64>> {
    match &column.values {
        ColumnValues::Numeric(v) => Ok(v.get(row)),
        ColumnValues::Text(v) => match v.get(row) {
            None => Ok(None),
            Some(cell) => match cell.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(Error::validation(
                    if feature == usize::MAX {
                        "target".to_owned()
                    } else {
                        format!("features[{feature}]")
                    },
                    format!("column {:?} row {} is {cell:?}, not a number", column.name, row + 1),
                )),
            },
        },
    }
}

fn missing_target(row: usize) -> Error {
    Error::validation("target", format!("row {} has no target value", row + 1))
}

/// Mean and population standard deviation, in f64; a constant or empty input gets std 1 so
/// scaling never divides by zero.
fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (n, sum) = values.clone().fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    if n == 0 {
        return (0.0, 1.0);
    }
    let mean = sum / n as f64;
    let var = values.map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
    let std = var.sqrt();
    (mean, if std > 1e-12 { std } else { 1.0 })
}
