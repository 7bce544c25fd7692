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

use std::hash::BuildHasher;
use std::io::{self, Read};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::DatasetConfig;
use super::cell::{Cell, classify, trim};
use super::config::CsvLimits;
use super::ingest::TextReader;
use super::rows::{CheckedRows, Row, RowAt, column_label};
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
pub(crate) fn profile(
    source: impl Read + Send,
    config: &DatasetConfig,
) -> Result<(DatasetSchema, u64)> {
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
    add_all_rows(&mut rows, &mut columns)?;
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

/// The threads that add rows to the statistics beside the uploads' own: two, shared by every
/// upload of the process (so concurrent uploads do not each take more cores), named
/// `modelyard-profile`. They only ever add rows already read.
fn profiling_threads() -> &'static rayon::ThreadPool {
    static THREADS: OnceLock<rayon::ThreadPool> = OnceLock::new();
    THREADS.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .thread_name(|_| "modelyard-profile".into())
            .build()
            .unwrap_or_else(|err| panic!("cannot start the profiling threads: {err}"))
    })
}

/// Reads every row of `rows` and adds it to the statistics of `columns`.
///
/// The calling thread (the upload's own) reads the next batch of rows and adds the first
/// `split.at` columns of the current one; one of the shared profiling threads adds the rest
/// meanwhile, and `split` moves so both take as long. An upload whose client stops sending
/// holds its own thread, never the threads every upload shares.
fn add_all_rows<R: Read + Send>(
    rows: &mut CheckedRows<R>,
    columns: &mut [ColumnStatsBuilder],
) -> Result<()> {
    let mut current = Batch::default();
    let mut next = Batch::default();
    current.fill(rows)?;
    let mut split = Split::new(columns.len());
    while !current.rows().is_empty() {
        let (left, right) = columns.split_at_mut(split.at);
        let batch = current.rows();
        let at = split.at;
        let mut adding = Duration::ZERO;
        let (read, reading) = profiling_threads().in_place_scope(|scope| {
            let adding = &mut adding;
            scope.spawn(move |_| {
                let started = Instant::now();
                add_rows(right, at, batch);
                *adding = started.elapsed();
            });
            let started = Instant::now();
            let read = next.fill(rows);
            add_rows(left, 0, batch);
            (read, started.elapsed())
        });
        read?;
        split.balance(reading, adding);
        std::mem::swap(&mut current, &mut next);
    }
    Ok(())
}

/// Rows read before their cells are added to the statistics.
const BATCH_ROWS: usize = 128;

/// Rows read from a file, with their positions; each row is read straight into its record, and
/// the records are reused from batch to batch.
#[derive(Default)]
struct Batch {
    rows: Vec<(RowAt, Row)>,
    len: usize,
}

impl Batch {
    /// Reads up to [`BATCH_ROWS`] rows, fewer at the end of the file.
    fn fill<R: Read>(&mut self, source: &mut CheckedRows<R>) -> Result<()> {
        self.len = 0;
        while self.len < BATCH_ROWS {
            if self.rows.len() == self.len {
                self.rows.push((RowAt { row: 0, line: 0 }, Row::default()));
            }
            let (at, record) = &mut self.rows[self.len];
            let Some(read) = source.read_row(record)? else { break };
            *at = read;
            self.len += 1;
        }
        Ok(())
    }

    fn rows(&self) -> &[(RowAt, Row)] {
        &self.rows[..self.len]
    }
}

/// Where the columns are cut between the thread that also reads and the one that only adds.
struct Split {
    at: usize,
    columns: usize,
}

impl Split {
    fn new(columns: usize) -> Self {
        Self { at: columns / 2, columns }
    }

    /// Moves the cut towards where both threads would take as long, from how long each took.
    fn balance(&mut self, reading: Duration, adding: Duration) {
        let others = self.columns - self.at;
        if others == 0 || self.columns < 2 {
            self.at = self.columns.saturating_sub(1);
            return;
        }
        let per_column = adding.as_secs_f64() / others as f64;
        if per_column <= 0.0 {
            return;
        }
        let read = (reading.as_secs_f64() - per_column * self.at as f64).max(0.0);
        // reading side: read + c x per_column; other side: (columns - c) x per_column.
        let ideal = (self.columns as f64 * per_column - read) / (2.0 * per_column);
        let ideal = ideal.clamp(0.0, (self.columns - 1) as f64);
        // Smoothed: one slow batch (a page fault, another process) barely moves it.
        self.at = ((self.at as f64 * 3.0 + ideal) / 4.0).round() as usize;
    }
}

/// Adds `rows` to the statistics of `columns`, the columns of the file from `first` on.
fn add_rows(columns: &mut [ColumnStatsBuilder], first: usize, rows: &[(RowAt, Row)]) {
    for (at, record) in rows {
        for (index, column) in (first..).zip(columns.iter_mut()) {
            column.add(record.get(index).unwrap_or_default(), *at);
        }
    }
    for column in columns {
        column.merge_batch();
    }
}

/// A column's distinct values and their counts, at most `CATEGORY_LIMIT` of them.
///
/// The values are kept end to end in one string and the table holds where each is, with its
/// hash: a profile adds a value per cell of the first rows, and a `HashMap<String, _>` spent more
/// time allocating keys and rehashing them as it grew than everything else in those rows.
#[derive(Debug, Default)]
struct Values {
    table: hashbrown::HashTable<Value>,
    text: String,
    hasher: foldhash::fast::RandomState,
}

/// One distinct value: `text[start..end]`, its hash and how often it was seen.
#[derive(Debug)]
struct Value {
    hash: u64,
    start: usize,
    end: usize,
    count: u64,
}

impl Values {
    fn len(&self) -> usize {
        self.table.len()
    }

    /// Counts `value`; `false` when it is new and the table has `CATEGORY_LIMIT` values already.
    fn add(&mut self, value: &str) -> bool {
        let hash = self.hasher.hash_one(value);
        let text = &self.text;
        if let Some(seen) = self.table.find_mut(hash, |v| &text[v.start..v.end] == value) {
            seen.count += 1;
            return true;
        }
        if self.table.len() as u64 >= CATEGORY_LIMIT {
            return false;
        }
        let start = self.text.len();
        self.text.push_str(value);
        let entry = Value { hash, start, end: self.text.len(), count: 1 };
        self.table.insert_unique(hash, entry, |v| v.hash);
        true
    }

    /// The values and their counts, in no particular order.
    fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.table.iter().map(|v| (&self.text[v.start..v.end], v.count))
    }
}

/// One column's running statistics.
#[derive(Debug)]
struct ColumnStatsBuilder {
    missing: u64,
    /// Every non-missing value so far was a number, finite or not.
    all_numbers: bool,
    first_non_finite: Option<RowAt>,
    // The mean and sum of squared deviations of the numbers of the batches merged so far
    // (Chan et al.'s pairwise update), and of the current batch the sums of the numbers'
    // differences from its first one. Exact to about 1e-12 relative where Welford's one-pass
    // update (a division per number) lost 1e-8 on values with a large offset (a test pins it).
    numbers: u64,
    mean: f64,
    m2: f64,
    batch: u64,
    shift: f64,
    sum: f64,
    sum_sq: f64,
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
            batch: 0,
            shift: 0.0,
            sum: 0.0,
            sum_sq: 0.0,
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
        if !self.values.add(value) {
            self.many_values = true;
            self.values = Values::default();
        }
    }

    fn add_number(&mut self, x: f64) {
        if self.batch == 0 {
            self.shift = x;
        }
        let d = x - self.shift;
        self.batch += 1;
        self.sum += d;
        self.sum_sq += d * d;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        // `fract` is a libm call on a baseline x86-64 build: skipped once the answer is known.
        if self.integers && x.fract() != 0.0 {
            self.integers = false;
        }
    }

    /// Merges the current batch's numbers into the mean and sum of squared deviations. The
    /// batch's own sum of squares is exact to a few ulps times its length, as its shift is one
    /// of its numbers; batches are short ([`BATCH_ROWS`] rows), so that bound stays tight.
    fn merge_batch(&mut self) {
        if self.batch == 0 {
            return;
        }
        let (n, nb) = (self.numbers as f64, self.batch as f64);
        let batch_mean = self.shift + self.sum / nb;
        let batch_m2 = (self.sum_sq - self.sum * self.sum / nb).max(0.0);
        let total = n + nb;
        let delta = batch_mean - self.mean;
        self.mean += delta * (nb / total);
        self.m2 += batch_m2 + delta * delta * (n * nb / total);
        self.numbers += self.batch;
        (self.batch, self.sum, self.sum_sq) = (0, 0.0, 0.0);
    }

    fn finish(mut self, header: &[String], index: usize, rows: u64) -> Result<ColumnSchema> {
        self.merge_batch();
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
            (ColumnKind::Constant, categories(&self.values))
        } else if distinct <= CATEGORY_LIMIT && distinct <= SMALL_CATEGORY_COUNT.max(present / 2) {
            (ColumnKind::Categorical, categories(&self.values))
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
fn categories(values: &Values) -> ColumnStats {
    let mut categories: Vec<CategoryCount> = values
        .iter()
        .map(|(value, count)| CategoryCount { value: value.to_owned(), count })
        .collect();
    categories.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    ColumnStats::Categories { categories }
}

/// A numeric column's distinct values in ascending order, `1`, `1.0` and `1e0` merged into one
/// value written the shortest way (`1`).
fn numeric_counts(values: &Values) -> Vec<CategoryCount> {
    let mut numbers: Vec<(f64, u64)> = values
        .iter()
        .filter_map(|(text, count)| text.parse::<f64>().ok().map(|x| (x + 0.0, count)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A file whose first rows arrive and whose rest waits until `more` is dropped.
    struct Stalled {
        head: Vec<u8>,
        more: mpsc::Receiver<()>,
    }

    impl Read for Stalled {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if !self.head.is_empty() {
                let n = self.head.len().min(out.len());
                out[..n].copy_from_slice(&self.head[..n]);
                self.head.drain(..n);
                return Ok(n);
            }
            let _ = self.more.recv();
            Ok(0)
        }
    }

    /// Uploads share the profiling threads; one whose client stops sending holds its own
    /// thread only, and the others' profiles go on.
    #[test]
    fn stalled_uploads_do_not_hold_up_the_others() {
        let config = DatasetConfig::default();
        let mut stalled = Vec::new();
        let mut releases = Vec::new();
        for _ in 0..3 {
            let (release, more) = mpsc::channel::<()>();
            // Past the delimiter's sample and the reader's buffer: the rows are being profiled.
            let head = format!("a,b\n{}", "1,2\n".repeat(4 * SAMPLE_BYTES)).into_bytes();
            let source = Stalled { head, more };
            let config = config.clone();
            stalled
                .push(std::thread::spawn(move || profile(source, &config).map(|(_, rows)| rows)));
            releases.push(release);
        }
        std::thread::sleep(Duration::from_millis(200));
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(profile(&b"x,y\n1,2\n"[..], &DatasetConfig::default()));
        });
        let other = finished.recv_timeout(Duration::from_secs(20));
        drop(releases);
        for upload in stalled {
            assert_eq!(upload.join().ok().and_then(Result::ok), Some(4 * SAMPLE_BYTES as u64));
        }
        let (schema, rows) = other
            .unwrap_or_else(|_| panic!("an upload waited behind stalled ones"))
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!((schema.columns.len(), rows), (2, 1));
    }
}
