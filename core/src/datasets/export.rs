//! Writing a dataset back out as CSV that is safe to open in a spreadsheet.
//!
//! A cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage
//! return; OWASP's list) gets a leading `'`, which spreadsheets show as text. Plain numbers are
//! left alone, so the `-1.5` and `+3` of a numeric dataset survive the round trip unchanged.

use std::borrow::Cow;

use std::io::{self, Read, Write};

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::config::CsvLimits;
use super::ingest::stored_text;
use super::rows::CheckedRows;
use crate::{ByteStream, Error, Result};

/// `cell`, with a leading `'` if a spreadsheet could run it as a formula.
pub fn neutralize_cell(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let plain_number = cell.parse::<f64>().is_ok_and(f64::is_finite);
    if risky && !plain_number { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// Bytes of CSV an export hands on at a time.
const EXPORT_CHUNK_BYTES: usize = 64 * 1024;

/// A stored CSV file `data` re-written with the same delimiter, every cell (header included)
/// neutralised, as a stream: a thread of its own reads and writes it a chunk at a time. A failure
/// midway ends the stream with the error. Must be called within a Tokio runtime.
pub(crate) fn export_stream(data: ByteStream, delimiter: u8, limits: CsvLimits) -> ByteStream {
    let text = stored_text(data);
    let (to_stream, mut chunks) = mpsc::channel::<Result<Bytes>>(4);
    // On a thread of its own: it waits for the chunks the blob store reads (`threads`).
    let started = crate::threads::spawn("modelyard-export", move || {
        let written =
            export_csv(text, delimiter, limits, |chunk| to_stream.blocking_send(Ok(chunk)).is_ok());
        if let Err(err) = written {
            let _ = to_stream.blocking_send(Err(err));
        }
    });
    match started {
        Ok(()) => futures::stream::poll_fn(move |cx| chunks.poll_recv(cx)).boxed(),
        Err(err) => futures::stream::once(async move { Err(err) }).boxed(),
    }
}

/// Re-writes a CSV `text` with the same delimiter, every cell (header included) neutralised,
/// handing `emit` about [`EXPORT_CHUNK_BYTES`] at a time; stops early when `emit` says `false`.
pub(crate) fn export_csv(
    text: impl Read,
    delimiter: u8,
    limits: CsvLimits,
    emit: impl FnMut(Bytes) -> bool,
) -> Result<()> {
    let mut rows = CheckedRows::from_reader(text, delimiter, limits)?;
    let out =
        Chunks { buffer: Vec::with_capacity(EXPORT_CHUNK_BYTES + 8 * 1024), emit, open: true };
    let mut writer = csv::WriterBuilder::new().delimiter(delimiter).from_writer(out);
    let header: Vec<Cow<'_, str>> = rows.header().iter().map(|h| neutralize_cell(h)).collect();
    writer.write_record(header.iter().map(|c| c.as_bytes())).map_err(Error::internal)?;
    // `Chunks` refuses writes only once `emit` said the reader is gone, which is checked first.
    while writer.get_ref().open
        && let Some((_, record)) = rows.next_row()?
    {
        writer
            .write_record(record.iter().map(|cell| neutralize_cell(cell).into_owned()))
            .map_err(Error::internal)?;
    }
    if !writer.get_ref().open {
        return Ok(());
    }
    writer.flush().map_err(Error::internal)?;
    let mut out = writer.into_inner().map_err(|err| Error::internal(err.to_string()))?;
    if !out.buffer.is_empty() {
        (out.emit)(Bytes::from(std::mem::take(&mut out.buffer)));
    }
    Ok(())
}

/// Where an export writes: chunks of about [`EXPORT_CHUNK_BYTES`] handed to `emit`.
struct Chunks<F> {
    buffer: Vec<u8>,
    emit: F,
    /// `false` once `emit` said the reader is gone.
    open: bool,
}

impl<F: FnMut(Bytes) -> bool> Write for Chunks<F> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if !self.open {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= EXPORT_CHUNK_BYTES {
            let chunk = std::mem::replace(
                &mut self.buffer,
                Vec::with_capacity(EXPORT_CHUNK_BYTES + 8 * 1024),
            );
            self.open = (self.emit)(Bytes::from(chunk));
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for cell in ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-", "-inf"]
        {
            assert_eq!(neutralize_cell(cell), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn numbers_and_ordinary_text_are_kept() {
        for cell in ["-1.5", "+3", "-0", "1e-5", "-2.5E3", "setosa", "a=b", ""] {
            assert_eq!(neutralize_cell(cell), cell, "{cell:?}");
        }
    }

    #[test]
    fn an_export_keeps_the_delimiter_and_neutralises_every_cell() {
        let text = "name;=x\n\"=cmd|' /C calc'!A0\";-1.5\n@a;+2\n";
        let mut out = Vec::new();
        export_csv(text.as_bytes(), b';', CsvLimits::default(), |chunk| {
            out.extend_from_slice(&chunk);
            true
        })
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "name;'=x\n'=cmd|' /C calc'!A0;-1.5\n'@a;+2\n");
    }

    #[test]
    fn a_long_export_comes_in_chunks_that_add_up_to_it() {
        let text = format!("x,y\n{}", "=1,-2\n".repeat(40_000));
        let mut chunks = Vec::new();
        export_csv(text.as_bytes(), b',', CsvLimits::default(), |chunk| {
            chunks.push(chunk);
            true
        })
        .unwrap();
        assert!(chunks.len() > 2, "{} chunks", chunks.len());
        assert!(chunks.iter().all(|c| c.len() <= EXPORT_CHUNK_BYTES + 8 * 1024));
        let whole: Vec<u8> = chunks.concat();
        assert_eq!(whole, format!("x,y\n{}", "'=1,-2\n".repeat(40_000)).into_bytes());
    }
}
