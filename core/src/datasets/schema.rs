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
use std::io::{self, Read};

use super::DatasetConfig;
use super::cell::{Cell, classify, trim};
use super::config::CsvLimits;
use super::ingest::TextReader;
use super::rows::{CheckedRows, RowAt, column_label};
use super::sniff::{SAMPLE_BYTES, sniff_delimiter};
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
    profile(bytes, config)
}

/// [`check_and_infer`] of a file read from `source` as it arrives: the delimiter is sniffed from
/// its first [`SAMPLE_BYTES`], and what is held besides the statistics is a read buffer.
pub(crate) fn profile(source: impl Read, config: &DatasetConfig) -> Result<(DatasetSchema, u64)> {
    let mut text = TextReader::new(source);
    let (head, whole) = text.sample(SAMPLE_BYTES)?;
    let delimiter = sniff_delimiter(&head, whole, None);
    let mut rows = CheckedRows::from_reader(
        io::Cursor::new(head).chain(text),
        delimiter,
        CsvLimits::from(config),
    )?;
    let mut columns: Vec<ColumnStatsBuilder> =
        rows.header().iter().map(|_| ColumnStatsBuilder::default()).collect();
    let mut batch: Vec<(RowAt, csv::StringRecord)> = Vec::with_capacity(BATCH_ROWS);
    let mut filled = 0;
    loop {
        let done = match rows.next_row()? {
            Some((at, record)) => {
                match batch.get_mut(filled) {
                    Some(row) => {
                        row.0 = at;
                        row.1.clone_from(record);
                    }
                    None => batch.push((at, record.clone())),
                }
                filled += 1;
                false
            }
            None => true,
        };
        if done || filled == BATCH_ROWS {
            add_rows(&mut columns, &batch[..filled]);
            filled = 0;
        }
        if done {
            break;
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

/// Rows read before their cells are added to the statistics, two threads taking half the
/// columns each.
const BATCH_ROWS: usize = 256;

/// Adds `rows` to the statistics of `columns`; the two halves of the columns on two threads.
fn add_rows(columns: &mut [ColumnStatsBuilder], rows: &[(RowAt, csv::StringRecord)]) {
    fn add(columns: &mut [ColumnStatsBuilder], first: usize, rows: &[(RowAt, csv::StringRecord)]) {
        for (at, record) in rows {
            for (index, column) in (first..).zip(columns.iter_mut()) {
                column.add(record.get(index).unwrap_or_default(), *at);
            }
        }
    }
    let half = columns.len() / 2;
    if half == 0 {
        add(columns, 0, rows);
        return;
    }
    let (left, right) = columns.split_at_mut(half);
    rayon::join(|| add(left, 0, rows), || add(right, half, rows));
}

/// Distinct values and their counts. Hashing is a large part of a profile's time, and the map
/// holds at most `CATEGORY_LIMIT` values, so a fast (randomly seeded) hash is enough.
type Values = HashMap<String, u64, foldhash::fast::RandomState>;

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
    /// Distinct trimmed values with counts, until there are more than `CATEGORY_LIMIT`: then
    /// the column can be neither categorical nor a numeric column with listed values, so the
    /// counts are dropped (and no longer looked up, which would cost a cache miss per cell).
    values: Values,
    /// More than `CATEGORY_LIMIT` distinct values were seen.
    many_values: bool,
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
            values: Values::default(),
            many_values: false,
            max_chars: 0,
        }
    }
}

impl ColumnStatsBuilder {
    fn add(&mut self, raw: &str, at: RowAt) {
        // Characters: a number is ASCII, so its length in bytes is its length in characters.
        let (value, chars) = match classify(raw) {
            Cell::Missing => {
                self.missing += 1;
                return;
            }
            Cell::Number(number) => {
                self.add_number(number);
                let value = trim(raw);
                (value, value.len())
            }
            Cell::NonFinite => {
                self.first_non_finite.get_or_insert(at);
                let value = trim(raw);
                (value, value.len())
            }
            Cell::Text(text) => {
                self.all_numbers = false;
                (text, text.chars().count())
            }
        };
        self.max_chars = self.max_chars.max(chars as u64);
        if self.many_values {
            return;
        }
        if let Some(count) = self.values.get_mut(value) {
            *count += 1;
        } else if (self.values.len() as u64) < CATEGORY_LIMIT {
            self.values.insert(value.to_owned(), 1);
        } else {
            self.many_values = true;
            self.values = Values::default();
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
        let distinct_text =
            if self.many_values { CATEGORY_LIMIT + 1 } else { self.values.len() as u64 };
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
fn categories(values: Values) -> ColumnStats {
    let mut categories: Vec<CategoryCount> =
        values.into_iter().map(|(value, count)| CategoryCount { value, count }).collect();
    categories.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    ColumnStats::Categories { categories }
}

/// A numeric column's distinct values in ascending order, `1`, `1.0` and `1e0` merged into one
/// value written the shortest way (`1`).
fn numeric_counts(values: &Values) -> Vec<CategoryCount> {
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
