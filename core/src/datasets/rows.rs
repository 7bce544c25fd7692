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
use super::ingest::{UTF8_BOM, refusal};
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

/// One row's cells: the row's text, a separator between each two cells, and where each cell
/// ends in it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    text: String,
    ends: Vec<usize>,
}

impl Row {
    /// How many cells the row has.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Cell `index`, as written.
    pub(crate) fn get(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)?;
        self.text.get(self.start(index)..end)
    }

    /// Where cell `index` (< `len()`) starts: after the separator that ends the one before.
    fn start(&self, index: usize) -> usize {
        index.checked_sub(1).map_or(0, |before| self.ends[before] + 1)
    }

    /// The cells in order, as written.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|index| self.get(index).unwrap_or_default())
    }

    /// A row of one cell of whitespace (or nothing).
    fn is_blank(&self) -> bool {
        is_blank(self.len(), self.text.as_bytes())
    }

    /// The row `line` holds (a line without its terminator, no quote in it), cut at `delimiter`.
    fn split(&mut self, line: &str, delimiter: u8) {
        self.text.clear();
        self.text.push_str(line);
        self.ends.clear();
        self.ends.extend(memchr::memchr_iter(delimiter, line.as_bytes()));
        self.ends.push(line.len());
    }

    /// The row the general CSV reader read.
    fn copy(&mut self, record: &csv::StringRecord) {
        self.text.clear();
        self.ends.clear();
        for (index, cell) in record.iter().enumerate() {
            if index > 0 {
                self.text.push(',');
            }
            self.text.push_str(cell);
            self.ends.push(self.text.len());
        }
    }
}

impl std::ops::Index<usize> for Row {
    type Output = str;

    fn index(&self, index: usize) -> &str {
        &self.text[self.start(index)..self.ends[index]]
    }
}

/// A CSV text read row by row, each row checked before it is handed out.
pub(crate) struct CheckedRows<R> {
    source: Source<R>,
    delimiter: u8,
    header: Vec<String>,
    record: Row,
    limits: CsvLimits,
    rows: u64,
}

/// Where rows come from: lines split at the delimiter while the text has no quote and no lone
/// carriage return, which is most files and all numeric ones (a quote can open a cell spanning
/// lines and delimiters: only the general reader follows that); from the first line that has
/// one on, the general CSV reader, over the rest of the text. Both read the same rows.
enum Source<R> {
    Lines(Lines<R>),
    Csv {
        reader: Box<csv::Reader<io::Chain<io::Cursor<Vec<u8>>, R>>>,
        record: csv::StringRecord,
        /// Lines before the text the reader reads.
        lines_before: u64,
    },
    /// Only while changing from one to the other.
    Changing,
}

/// Lines this long without a line break are left to the general reader, whose record holds a
/// row however long it is, as a buffer of lines should not.
const LONGEST_LINE: usize = 1 << 20;

/// A text read into a buffer and handed out line by line.
struct Lines<R> {
    source: R,
    buffer: Vec<u8>,
    /// `buffer[start..end]` is read and not yet handed out.
    start: usize,
    end: usize,
    eof: bool,
    /// The 1-based line `buffer[start]` is on.
    line: u64,
    /// Whether a BOM at the start of the text was looked for.
    bom_checked: bool,
}

/// What [`Lines::next`] found.
enum Line {
    /// A line to split, its text in `buffer[start..end]`, on `line`.
    Plain { start: usize, end: usize, line: u64 },
    /// The next line needs the general reader.
    Quoted,
    /// The text ended.
    End,
}

impl<R: io::Read> Lines<R> {
    fn new(source: R) -> Self {
        Self {
            source,
            buffer: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            eof: false,
            line: 1,
            bom_checked: false,
        }
    }

    /// The next non-empty line, without its terminator (`\n` or `\r\n`).
    fn next(&mut self) -> io::Result<Line> {
        loop {
            if !self.bom_checked {
                if self.end < UTF8_BOM.len() && !self.eof {
                    self.fill()?;
                    continue;
                }
                if self.buffer[..self.end].starts_with(UTF8_BOM) {
                    self.start = UTF8_BOM.len();
                }
                self.bom_checked = true;
            }
            let pending = &self.buffer[self.start..self.end];
            let (length, taken) = match memchr::memchr(b'\n', pending) {
                Some(at) => (at, at + 1),
                None if self.eof => (pending.len(), pending.len()),
                None if pending.len() > LONGEST_LINE => return Ok(Line::Quoted),
                None => {
                    self.fill()?;
                    continue;
                }
            };
            if taken == 0 {
                return Ok(Line::End);
            }
            let mut text = &pending[..length];
            if let Some(rest) = text.strip_suffix(b"\r") {
                text = rest;
            }
            if memchr::memchr2(b'"', b'\r', text).is_some() {
                return Ok(Line::Quoted);
            }
            let (start, line) = (self.start, self.line);
            self.start += taken;
            self.line += 1;
            if !text.is_empty() {
                return Ok(Line::Plain { start, end: start + text.len(), line });
            }
        }
    }

    /// Reads more of the text, keeping what is not handed out yet.
    fn fill(&mut self) -> io::Result<()> {
        self.buffer.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.end == self.buffer.len() {
            self.buffer.resize(self.buffer.len() * 2, 0);
        }
        let read = loop {
            match self.source.read(&mut self.buffer[self.end..]) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                read => break read?,
            }
        };
        self.end += read;
        self.eof = read == 0;
        Ok(())
    }
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
        let mut rows = Self {
            source: Source::Lines(Lines::new(text)),
            delimiter,
            header: Vec::new(),
            record: Row::default(),
            limits,
            rows: 0,
        };
        let mut header = Row::default();
        if rows.read_record_into(&mut header, true)?.is_none() {
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
    pub(crate) fn next_row(&mut self) -> Result<Option<(RowAt, &Row)>> {
        let mut record = std::mem::take(&mut self.record);
        let read = self.read_row(&mut record);
        self.record = record;
        Ok(read?.map(|at| (at, &self.record)))
    }

    /// As [`CheckedRows::next_row`], into `record` (a caller's buffer, reused from row to row:
    /// rows kept for a while are read where they are kept, not copied there).
    pub(crate) fn read_row(&mut self, record: &mut Row) -> Result<Option<RowAt>> {
        // In a one-column file a blank line is a missing value, not a line to skip.
        let Some(line) = self.read_record_into(record, self.header.len() > 1)? else {
            return Ok(None);
        };
        self.rows += 1;
        let at = RowAt { row: self.rows, line };
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
        if let Some((index, field)) = record.iter().enumerate().find(|(_, f)| f.len() > max) {
            return Err(Error::validation(
                "file",
                format!(
                    "{at}, column {}: the value is {} bytes long, at most {max} are allowed",
                    column_label(&self.header, index),
                    field.len(),
                ),
            ));
        }
        Ok(Some(at))
    }

    /// Reads the next record into `record` and returns the line it starts on, skipping
    /// whitespace-only lines if asked (empty ones are always skipped).
    fn read_record_into(&mut self, record: &mut Row, skip_blank: bool) -> Result<Option<u64>> {
        loop {
            let Some(line) = self.read_any(record)? else { return Ok(None) };
            if !skip_blank || !record.is_blank() {
                return Ok(Some(line));
            }
        }
    }

    fn read_any(&mut self, record: &mut Row) -> Result<Option<u64>> {
        if let Source::Lines(lines) = &mut self.source {
            match lines.next().map_err(|err| unreadable(&err))? {
                Line::Plain { start, end, line } => {
                    // Lines hold whole characters of a UTF-8 text; a text that is not one
                    // gets the general reader's error.
                    if let Ok(text) = std::str::from_utf8(&lines.buffer[start..end]) {
                        record.split(text, self.delimiter);
                        return Ok(Some(line));
                    }
                    lines.start = start;
                    lines.line = line;
                }
                Line::End => return Ok(None),
                Line::Quoted => {}
            }
            self.use_csv_reader();
        }
        let Source::Csv { reader, record: read, lines_before } = &mut self.source else {
            return Ok(None);
        };
        if !reader.read_record(read).map_err(|err| match err.kind() {
            csv::ErrorKind::Io(io) => unreadable(io),
            _ => Error::validation("file", format!("unreadable CSV: {err}")),
        })? {
            return Ok(None);
        }
        record.copy(read);
        Ok(Some(*lines_before + read.position().map_or(0, csv::Position::line)))
    }

    /// Reads the rest of the text with the general CSV reader.
    fn use_csv_reader(&mut self) {
        let Source::Lines(lines) = std::mem::replace(&mut self.source, Source::Changing) else {
            return;
        };
        let Lines { source, mut buffer, start, end, line, .. } = lines;
        buffer.truncate(end);
        buffer.drain(..start);
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .buffer_capacity(64 * 1024)
            .from_reader(io::Read::chain(io::Cursor::new(buffer), source));
        self.source = Source::Csv {
            reader: Box::new(reader),
            record: csv::StringRecord::new(),
            lines_before: line - 1,
        };
    }
}

/// `"petal_length" (3)`: a column's name and 1-based position, for messages.
pub(crate) fn column_label(header: &[String], index: usize) -> String {
    match header.get(index) {
        Some(name) => format!("\"{}\" ({})", excerpt(name), index + 1),
        None => format!("{}", index + 1),
    }
}

fn check_header(record: &Row, limits: &CsvLimits) -> Result<Vec<String>> {
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

/// The error for a text that could not be read: the content fault a
/// [`super::ingest::TextReader`] found, or the upload's own failure.
fn unreadable(err: &io::Error) -> Error {
    refusal(err).unwrap_or_else(|| Error::unavailable(format!("reading the file: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Hands out `text` a few bytes at a time, as an upload arrives.
    struct Trickle<'a> {
        text: &'a [u8],
        step: usize,
    }

    impl io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.text.len());
            out[..n].copy_from_slice(&self.text[..n]);
            self.text = &self.text[n..];
            Ok(n)
        }
    }

    fn limits() -> CsvLimits {
        CsvLimits { max_columns: 100, max_field_bytes: 1 << 20, max_rows: None }
    }

    /// Rows with the lines they start on.
    type Lined = Vec<(u64, Vec<String>)>;

    /// The header and rows as `CheckedRows` reads them, with their lines.
    fn ours(text: &str, step: usize) -> Result<(Vec<String>, Lined)> {
        let mut rows =
            CheckedRows::from_reader(Trickle { text: text.as_bytes(), step }, b',', limits())?;
        let mut out = Vec::new();
        while let Some((at, row)) = rows.next_row()? {
            out.push((at.line, row.iter().map(str::to_owned).collect()));
        }
        Ok((rows.header().to_vec(), out))
    }

    /// The rows as the general CSV reader reads them (blank lines skipped as the header has
    /// several columns).
    fn theirs(text: &str) -> Vec<Vec<String>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut record = csv::StringRecord::new();
        let mut out = Vec::new();
        while reader.read_record(&mut record).unwrap_or(false) {
            let blank = record.len() == 1 && record[0].trim().is_empty();
            if !blank {
                out.push(record.iter().map(str::to_owned).collect());
            }
        }
        out
    }

    fn line_text() -> impl Strategy<Value = String> {
        proptest::collection::vec("[0-9a-z .\\-]{0,6}", 3).prop_map(|cells| cells.join(","))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Lines split at the delimiter are the rows the general reader reads, on the lines
        /// they are on, however the text arrives; a quote or a lone carriage return hands the
        /// rest to the general reader, with the same rows.
        #[test]
        fn rows_are_the_csv_readers(
            lines in proptest::collection::vec((line_text(), 0..4_u8, any::<bool>()), 1..40),
            bom in any::<bool>(),
            last_break in any::<bool>(),
            general_from in proptest::option::of((0..40_usize, 0..2_u8)),
            step in 1..200_usize,
        ) {
            let mut text = String::from(if bom { "\u{feff}h1,h2,h3\n" } else { "h1,h2,h3\n" });
            let mut starts = Vec::new();
            for (index, (line, blank, crlf)) in lines.iter().enumerate() {
                let mut line = match blank { 0 => String::new(), 1 => "  ".into(), _ => line.clone() };
                if general_from.is_some_and(|(at, _)| at == index) {
                    line = match general_from.map(|g| g.1) {
                        Some(0) => format!("\"q,{line}\",1,2"),
                        _ => format!("{line}\r{line}"),
                    };
                }
                starts.push((text.matches('\n').count() as u64 + 1, line.clone()));
                text.push_str(&line);
                if index + 1 < lines.len() || last_break {
                    text.push_str(if *crlf { "\r\n" } else { "\n" });
                }
            }
            let (header, rows) = ours(&text, step).map_err(|e| TestCaseError::fail(e.to_string()))
                .or_else(|e| {
                    // A row of the wrong length is refused alike by both readers' rows.
                    prop_assert!(theirs(&text).iter().any(|r| r.len() != 3), "{e}");
                    Ok::<_, TestCaseError>((vec![], vec![]))
                })?;
            if header.is_empty() {
                return Ok(());
            }
            prop_assert_eq!(header, vec!["h1", "h2", "h3"]);
            let expected: Vec<Vec<String>> = theirs(&text).into_iter().skip(1).collect();
            let cells: Vec<Vec<String>> = rows.iter().map(|(_, r)| r.clone()).collect();
            prop_assert_eq!(cells, expected);
            if general_from.is_none() {
                // Exact lines: each row is on the line it starts on.
                let exact: Vec<u64> = starts
                    .iter()
                    .filter(|(_, line)| !line.trim().is_empty())
                    .map(|(at, _)| *at)
                    .collect();
                let lines: Vec<u64> = rows.iter().map(|(at, _)| *at).collect();
                prop_assert_eq!(lines, exact);
            }
        }
    }

    #[test]
    fn a_line_longer_than_the_buffer_is_read_whole() {
        let long = "7".repeat(200_000);
        let text = format!("a,b\n{long},1\n2,3\n");
        let (_, rows) = ours(&text, 5_000).unwrap_or_default();
        assert_eq!(rows, vec![(2, vec![long, "1".into()]), (3, vec!["2".into(), "3".into()])]);
    }

    #[test]
    fn rows_after_a_quote_keep_their_lines() {
        let text = "a,b\n1,2\n\"x,y\",3\n4,5\n";
        let (_, rows) = ours(text, 3).unwrap_or_default();
        let lines: Vec<u64> = rows.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, vec![2, 3, 4]);
        assert_eq!(rows[1].1, vec!["x,y".to_owned(), "3".into()]);
    }
}
