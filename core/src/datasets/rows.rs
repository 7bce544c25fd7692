//! Reading CSV records with the structural checks every consumer relies on: a usable header,
//! the header's field count on every row, and the configured size limits.
//!
//! Rows are numbered from 1 without the header ("row 1" is the first data row); messages also give
//! the 1-based line where the row starts, which differs once a quoted cell spans lines.

use std::collections::HashMap;
use std::fmt;
use std::io;

use super::cell::excerpt;
use super::config::CsvLimits;
use super::ingest::refusal;
use super::sniff::is_blank;
use crate::{Error, Result};

/// The longest column name accepted, in characters.
pub const MAX_COLUMN_NAME_CHARS: usize = 256;

/// Where a data row is, for messages: `row 17 (line 18)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowAt {
    /// 1-based data row, the header excluded.
    pub(crate) row: u64,
    /// 1-based line of the file where the row starts.
    pub(crate) line: u64,
}

impl fmt::Display for RowAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {} (line {})", self.row, self.line)
    }
}

/// A CSV text read row by row, each row checked before it is handed out.
pub(crate) struct CheckedRows<R> {
    reader: csv::Reader<R>,
    header: Vec<String>,
    record: csv::StringRecord,
    limits: CsvLimits,
    rows: u64,
}

impl<'a> CheckedRows<&'a [u8]> {
    /// Opens a decoded `text` (see [`CheckedRows::from_reader`]).
    pub(crate) fn open(text: &'a str, delimiter: u8, limits: CsvLimits) -> Result<Self> {
        Self::from_reader(text.as_bytes(), delimiter, limits)
    }
}

impl<R: io::Read> CheckedRows<R> {
    /// Opens a text and reads its header, which must have 1..=`max_columns` unique, non-empty
    /// names of at most [`MAX_COLUMN_NAME_CHARS`] characters. Names are trimmed.
    ///
    /// `text` must hand out UTF-8 only (a decoded text, or a [`super::ingest::TextReader`],
    /// whose faults come out as the errors they are).
    pub(crate) fn from_reader(text: R, delimiter: u8, limits: CsvLimits) -> Result<Self> {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(64 * 1024)
            .from_reader(text);
        let mut rows =
            Self { reader, header: Vec::new(), record: csv::StringRecord::new(), limits, rows: 0 };
        let mut header = csv::StringRecord::new();
        if !rows.read_record_into(&mut header, true)? {
            return Err(Error::validation("file", "the file is empty"));
        }
        rows.header = check_header(&header, &limits)?;
        Ok(rows)
    }

    /// The column names, trimmed.
    pub(crate) fn header(&self) -> &[String] {
        &self.header
    }

    /// Data rows handed out so far.
    pub(crate) fn rows_read(&self) -> u64 {
        self.rows
    }

    /// The next data row with its position; `None` after the last. Cells are as written.
    pub(crate) fn next_row(&mut self) -> Result<Option<(RowAt, &csv::StringRecord)>> {
        let mut record = std::mem::take(&mut self.record);
        let read = self.read_row(&mut record);
        self.record = record;
        Ok(read?.map(|at| (at, &self.record)))
    }

    /// As [`CheckedRows::next_row`], into `record` (a caller's buffer, reused from row to row:
    /// rows kept for a while are read where they are kept, not copied there).
    pub(crate) fn read_row(&mut self, record: &mut csv::StringRecord) -> Result<Option<RowAt>> {
        // In a one-column file a blank line is a missing value, not a line to skip.
        if !self.read_record_into(record, self.header.len() > 1)? {
            return Ok(None);
        }
        self.rows += 1;
        let at = RowAt { row: self.rows, line: record.position().map_or(0, csv::Position::line) };
        if let Some(max) = self.limits.max_rows.filter(|max| self.rows > *max) {
            return Err(Error::validation("file", format!("the file has more than {max} rows")));
        }
        if record.len() != self.header.len() {
            return Err(Error::validation(
                "file",
                format!("{at} has {} fields, the header has {}", record.len(), self.header.len()),
            ));
        }
        let max = self.limits.max_field_bytes;
        if let Some(index) = record.iter().position(|field| field.len() > max) {
            return Err(Error::validation(
                "file",
                format!(
                    "{at}, column {}: the value is {} bytes long, at most {max} are allowed",
                    column_label(&self.header, index),
                    record[index].len(),
                ),
            ));
        }
        Ok(Some(at))
    }

    /// Reads the next record into `record`, skipping whitespace-only lines if asked (the CSV
    /// reader itself skips empty ones).
    fn read_record_into(
        &mut self,
        record: &mut csv::StringRecord,
        skip_blank: bool,
    ) -> Result<bool> {
        loop {
            let more = self.reader.read_record(record).map_err(unreadable)?;
            if !more || !skip_blank || !is_blank(record.as_byte_record()) {
                return Ok(more);
            }
        }
    }
}

/// `"petal_length" (3)`: a column's name and 1-based position, for messages.
pub(crate) fn column_label(header: &[String], index: usize) -> String {
    match header.get(index) {
        Some(name) => format!("\"{}\" ({})", excerpt(name), index + 1),
        None => format!("{}", index + 1),
    }
}

fn check_header(record: &csv::StringRecord, limits: &CsvLimits) -> Result<Vec<String>> {
    if record.len() > limits.max_columns {
        return Err(Error::validation(
            "file",
            format!(
                "the header has {} columns, at most {} are allowed",
                record.len(),
                limits.max_columns
            ),
        ));
    }
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(record.len());
    let mut names = Vec::with_capacity(record.len());
    for (index, raw) in record.iter().enumerate() {
        let name = raw.trim();
        let position = index + 1;
        if name.is_empty() {
            return Err(Error::validation(
                "file",
                format!(
                    "the header's column {position} has no name; the first line must name every column"
                ),
            ));
        }
        let chars = name.chars().count();
        if chars > MAX_COLUMN_NAME_CHARS {
            return Err(Error::validation(
                "file",
                format!(
                    "the header's column {position} name is {chars} characters long, at most {MAX_COLUMN_NAME_CHARS} are allowed"
                ),
            ));
        }
        if let Some(first) = seen.insert(name, position) {
            return Err(Error::validation(
                "file",
                format!(
                    "the header's column {position} repeats the name \"{}\" of column {first}",
                    excerpt(name)
                ),
            ));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// The error for a record the CSV reader could not read: the content fault a
/// [`super::ingest::TextReader`] found, the upload's own failure, or a CSV syntax error.
fn unreadable(err: csv::Error) -> Error {
    if let csv::ErrorKind::Io(io) = err.kind() {
        return refusal(io)
            .unwrap_or_else(|| Error::unavailable(format!("reading the file: {io}")));
    }
    Error::validation("file", format!("unreadable CSV: {err}"))
}
