//! Schema inference: every check of an upload and every column's kind and statistics, in one
//! pass over the rows.
//!
//! Kinds, decided once all rows are seen (`values` = the non-missing cells, `distinct` = how many
//! different ones, see [`super::cell`] for what counts as missing):
//! - no values: `Constant` with `Empty` stats;
//! - every value a number: `Numeric` (`Constant` when `distinct <= 1`), `Numeric` stats;
//!   an infinity in such a column is an error naming its row and column;
//! - otherwise `distinct <= 1`: `Constant` with `Categories` stats;
//! - `2 <= distinct <= CATEGORY_LIMIT` and `distinct <= max(20, values / 2)`: `Categorical`
//!   (the second bound keeps ids and names, different on nearly every row, out of one-hot
//!   encoding even in small files);
//! - else `Text`.

use std::collections::HashMap;

use super::DatasetConfig;
use super::cell::{Cell, classify};
use super::config::CsvLimits;
use super::ingest::decode_text;
use super::rows::{CheckedRows, RowAt, column_label};
use super::sniff::sniff_delimiter;
use crate::{
    CATEGORY_LIMIT, CategoryCount, ColumnKind, ColumnSchema, ColumnStats, DatasetSchema, Error,
    Result,
};

/// Categorical columns may have this many distinct values even when that is most of the rows.
const SMALL_CATEGORY_COUNT: u64 = 20;

/// Checks an upload and infers its schema with the default [`DatasetConfig`]; returns the schema
/// and the number of data rows.
pub fn infer_schema(bytes: &[u8]) -> Result<(DatasetSchema, u64)> {
    check_and_infer(bytes, &DatasetConfig::default())
}

/// Every check an upload must pass (content, UTF-8, delimiter, header, field counts, limits,
/// finite numbers) and the inferred schema with the number of data rows, in one pass.
///
/// Pure: this is everything `DatasetService::upload` decides before it stores anything.
pub fn check_and_infer(bytes: &[u8], config: &DatasetConfig) -> Result<(DatasetSchema, u64)> {
    let text = decode_text(bytes)?;
    let delimiter = sniff_delimiter(text, None);
    let mut rows = CheckedRows::open(text, delimiter, CsvLimits::from(config))?;
    let mut columns: Vec<ColumnStatsBuilder> =
        rows.header().iter().map(|_| ColumnStatsBuilder::default()).collect();
    while let Some((at, record)) = rows.next_row()? {
        for (column, raw) in columns.iter_mut().zip(record.iter()) {
            column.add(raw, at);
        }
    }
    let row_count = rows.rows_read();
    if row_count == 0 {
        return Err(Error::validation("file", "the file has a header but no data rows"));
    }
    let header = rows.header();
    let columns = columns
        .into_iter()
        .enumerate()
        .map(|(index, column)| column.finish(header, index, row_count))
        .collect::<Result<Vec<_>>>()?;
    Ok((DatasetSchema { delimiter: char::from(delimiter), columns }, row_count))
}

/// One column's running statistics.
#[derive(Debug)]
struct ColumnStatsBuilder {
    missing: u64,
    /// Every non-missing value so far was a number, finite or not.
    all_numbers: bool,
    first_non_finite: Option<RowAt>,
    // Welford's running mean and sum of squared deviations: stable in one pass.
    numbers: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
    integers: bool,
    /// Distinct trimmed values with counts; at most `CATEGORY_LIMIT + 1` are kept, which is
    /// enough to know a column has "more than the limit".
    values: HashMap<String, u64>,
    max_chars: u64,
}

impl Default for ColumnStatsBuilder {
    fn default() -> Self {
        Self {
            missing: 0,
            all_numbers: true,
            first_non_finite: None,
            numbers: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            integers: true,
            values: HashMap::new(),
            max_chars: 0,
        }
    }
}

impl ColumnStatsBuilder {
    fn add(&mut self, raw: &str, at: RowAt) {
        let value = match classify(raw) {
            Cell::Missing => {
                self.missing += 1;
                return;
            }
            Cell::Number(number) => {
                self.add_number(number);
                raw.trim()
            }
            Cell::NonFinite => {
                self.first_non_finite.get_or_insert(at);
                raw.trim()
            }
            Cell::Text(text) => {
                self.all_numbers = false;
                text
            }
        };
        self.max_chars = self.max_chars.max(value.chars().count() as u64);
        if let Some(count) = self.values.get_mut(value) {
            *count += 1;
        } else if self.values.len() as u64 <= CATEGORY_LIMIT {
            self.values.insert(value.to_owned(), 1);
        }
    }

    fn add_number(&mut self, x: f64) {
        self.numbers += 1;
        let delta = x - self.mean;
        self.mean += delta / self.numbers as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.integers &= x.fract() == 0.0;
    }

    fn finish(self, header: &[String], index: usize, rows: u64) -> Result<ColumnSchema> {
        let name = header.get(index).cloned().unwrap_or_default();
        let present = rows - self.missing;
        let distinct_text = (self.values.len() as u64).min(CATEGORY_LIMIT + 1);
        if present == 0 {
            return Ok(column(name, ColumnKind::Constant, self.missing, 0, ColumnStats::Empty));
        }
        if self.all_numbers {
            if let Some(at) = self.first_non_finite {
                return Err(Error::validation(
                    "file",
                    format!(
                        "{at}, column {}: non-finite number (infinity); use an empty cell for a missing value",
                        column_label(header, index)
                    ),
                ));
            }
            let values = (distinct_text <= CATEGORY_LIMIT).then(|| numeric_counts(&self.values));
            let distinct = values.as_ref().map_or(CATEGORY_LIMIT + 1, |v| v.len() as u64);
            let kind = if distinct <= 1 { ColumnKind::Constant } else { ColumnKind::Numeric };
            let stats = ColumnStats::Numeric {
                min: self.min,
                max: self.max,
                mean: self.mean,
                std: (self.m2 / self.numbers as f64).sqrt(),
                integers: self.integers,
                values,
            };
            return Ok(column(name, kind, self.missing, distinct, stats));
        }
        let distinct = distinct_text;
        let (kind, stats) = if distinct <= 1 {
            (ColumnKind::Constant, categories(self.values))
        } else if distinct <= CATEGORY_LIMIT && distinct <= SMALL_CATEGORY_COUNT.max(present / 2) {
            (ColumnKind::Categorical, categories(self.values))
        } else {
            (ColumnKind::Text, ColumnStats::Text { max_length: self.max_chars })
        };
        Ok(column(name, kind, self.missing, distinct, stats))
    }
}

fn column(
    name: String,
    kind: ColumnKind,
    missing: u64,
    distinct: u64,
    stats: ColumnStats,
) -> ColumnSchema {
    ColumnSchema { name, kind, missing, distinct, stats }
}

/// Categories, most frequent first, ties by value.
fn categories(values: HashMap<String, u64>) -> ColumnStats {
    let mut categories: Vec<CategoryCount> =
        values.into_iter().map(|(value, count)| CategoryCount { value, count }).collect();
    categories.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    ColumnStats::Categories { categories }
}

/// A numeric column's distinct values in ascending order, `1`, `1.0` and `1e0` merged into one
/// value written the shortest way (`1`).
fn numeric_counts(values: &HashMap<String, u64>) -> Vec<CategoryCount> {
    let mut numbers: Vec<(f64, u64)> = values
        .iter()
        .filter_map(|(text, count)| text.parse::<f64>().ok().map(|x| (x + 0.0, *count)))
        .collect();
    numbers.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, u64)> = Vec::with_capacity(numbers.len());
    for (x, count) in numbers {
        match merged.last_mut() {
            Some((last, total)) if *last == x => *total += count,
            _ => merged.push((x, count)),
        }
    }
    merged.into_iter().map(|(x, count)| CategoryCount { value: x.to_string(), count }).collect()
}
