//! Turning a user's model request into a checked definition against a dataset's schema.

use serde::{Deserialize, Serialize};

use super::summarize;
use crate::{
    CATEGORY_LIMIT, ColumnKind, ColumnSchema, ColumnStats, DatasetId, DatasetSchema, Error,
    LayerSpec, ModelSummary, Result, Task, default_layers,
};

/// The most layers a model may have.
pub const MAX_LAYERS: usize = 32;
/// The widest a dense layer may be.
pub const MAX_UNITS: u32 = 4096;
/// The most classes a classification target may have.
pub const MAX_CLASSES: usize = 1000;
/// A numeric target with whole values and at most this many distinct ones is taken as classes.
pub const MAX_NUMERIC_CLASSES: usize = 20;

/// What a user asks for when creating a model (the `POST /api/model` body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModelRequest {
    /// A name for the model.
    pub name: String,
    /// The dataset to learn from.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub dataset_id: DatasetId,
    /// The column to predict.
    pub target: String,
    /// The columns to read; by default every usable column but the target.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// Forces the task; by default inferred from the target.
    #[serde(default)]
    pub task: Option<Task>,
    /// Hidden layers, by default [`default_layers`]: `{"type": "dense", "units": 64,
    /// "activation": "relu"}`, `{"type": "dropout", "rate": 0.2}`, `{"type": "batch_norm"}`.
    #[serde(default)]
    pub layers: Option<Vec<LayerSpec>>,
}

/// A request checked against a schema, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedSpec {
    /// Trimmed name.
    pub name: String,
    /// Target column.
    pub target: String,
    /// Feature columns, in dataset order when defaulted, else as given.
    pub features: Vec<String>,
    /// Classification or regression.
    pub task: Task,
    /// Hidden layers.
    pub layers: Vec<LayerSpec>,
    /// Shapes and parameter counts.
    pub summary: ModelSummary,
}

/// Checks a request against a dataset schema: the target exists and suits the task, the features
/// exist and are usable, the layers are sane. Errors name the field at fault.
pub fn resolve_spec(request: &ModelRequest, schema: &DatasetSchema) -> Result<ResolvedSpec> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::validation("name", "give a name of 1 to 200 characters"));
    }
    crate::text::refuse_invisible("name", name)?;
    let target = schema.column(&request.target).ok_or_else(|| {
        Error::validation("target", format!("the dataset has no column {:?}", request.target))
    })?;
    let task = resolve_task(target, request.task)?;
    let features = resolve_features(request, schema)?;
    let layers = request.layers.clone().unwrap_or_else(default_layers);
    check_layers(&layers)?;
    let input_width = features.iter().filter_map(|f| schema.column(f)).map(feature_width).sum();
    let outputs = match task {
        Task::Classification => class_count(target),
        Task::Regression => 1,
    };
    let summary = summarize(input_width, &layers, outputs as u64, task);
    Ok(ResolvedSpec {
        name: name.to_owned(),
        target: target.name.clone(),
        features,
        task,
        layers,
        summary,
    })
}

/// Width of a feature once encoded: 1 for a number; for a category, one slot per category seen
/// in the dataset plus one for values never seen. The trainer encodes exactly so.
pub fn feature_width(column: &ColumnSchema) -> u64 {
    match (&column.kind, &column.stats) {
        (ColumnKind::Numeric, _) => 1,
        (_, ColumnStats::Categories { categories }) => categories.len() as u64 + 1,
        (_, ColumnStats::Numeric { .. }) => 1,
        _ => 1,
    }
}

/// Number of distinct target values, the class count of a classification target.
fn class_count(target: &ColumnSchema) -> usize {
    match &target.stats {
        ColumnStats::Categories { categories } => categories.len(),
        ColumnStats::Numeric { values: Some(values), .. } => values.len(),
        _ => target.distinct as usize,
    }
}

fn resolve_task(target: &ColumnSchema, forced: Option<Task>) -> Result<Task> {
    let classes = class_count(target);
    let numeric = target.kind == ColumnKind::Numeric;
    let few_integers = matches!(target.stats, ColumnStats::Numeric { integers: true, .. })
        && classes <= MAX_NUMERIC_CLASSES;
    if target.kind == ColumnKind::Constant {
        return Err(Error::validation(
            "target",
            format!("column {:?} has a single value: nothing to learn", target.name),
        ));
    }
    if target.kind == ColumnKind::Text {
        return Err(Error::validation(
            "target",
            format!("column {:?} is free text with more than {CATEGORY_LIMIT} values", target.name),
        ));
    }
    let task = forced.unwrap_or(if numeric && !few_integers {
        Task::Regression
    } else {
        Task::Classification
    });
    match task {
        Task::Regression if !numeric => Err(Error::validation(
            "task",
            format!("regression needs a numeric target; {:?} is categorical", target.name),
        )),
        Task::Classification if !(2..=MAX_CLASSES).contains(&classes) => Err(Error::validation(
            "task",
            format!(
                "classification needs 2 to {MAX_CLASSES} classes; {:?} has {} distinct values",
                target.name, target.distinct
            ),
        )),
        task => Ok(task),
    }
}

fn usable(column: &ColumnSchema) -> bool {
    matches!(column.kind, ColumnKind::Numeric | ColumnKind::Categorical)
}

fn resolve_features(request: &ModelRequest, schema: &DatasetSchema) -> Result<Vec<String>> {
    let Some(given) = &request.features else {
        let features: Vec<String> = schema
            .columns
            .iter()
            .filter(|c| c.name != request.target && usable(c))
            .map(|c| c.name.clone())
            .collect();
        if features.is_empty() {
            return Err(Error::validation(
                "features",
                "the dataset has no numeric or categorical column besides the target",
            ));
        }
        return Ok(features);
    };
    if given.is_empty() {
        return Err(Error::validation("features", "give at least one feature column"));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, name) in given.iter().enumerate() {
        let field = format!("features[{i}]");
        let column = schema.column(name).ok_or_else(|| {
            Error::validation(&field, format!("the dataset has no column {name:?}"))
        })?;
        if *name == request.target {
            return Err(Error::validation(field, "the target cannot also be a feature"));
        }
        if !seen.insert(name) {
            return Err(Error::validation(field, format!("{name:?} is listed twice")));
        }
        if !usable(column) {
            return Err(Error::validation(
                field,
                format!(
                    "{name:?} is {:?}: only numeric and categorical columns can be features",
                    column.kind
                ),
            ));
        }
    }
    Ok(given.clone())
}

fn check_layers(layers: &[LayerSpec]) -> Result<()> {
    if layers.len() > MAX_LAYERS {
        return Err(Error::validation("layers", format!("at most {MAX_LAYERS} layers")));
    }
    for (i, layer) in layers.iter().enumerate() {
        match layer {
            LayerSpec::Dense { units, .. } if !(1..=MAX_UNITS).contains(units) => {
                return Err(Error::validation(
                    format!("layers[{i}].units"),
                    format!("units must be 1 to {MAX_UNITS}"),
                ));
            }
            LayerSpec::Dropout { rate } if !(0.0..1.0).contains(rate) => {
                return Err(Error::validation(
                    format!("layers[{i}].rate"),
                    "dropout rate must be at least 0 and below 1",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}
