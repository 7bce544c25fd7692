//! Writing a dataset back out as CSV that is safe to open in a spreadsheet.
//!
//! A cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage
//! return; OWASP's list) gets a leading `'`, which spreadsheets show as text. Plain numbers are
//! left alone, so the `-1.5` and `+3` of a numeric dataset survive the round trip unchanged.

use std::borrow::Cow;

use super::config::CsvLimits;
use super::rows::CheckedRows;
use crate::{Error, Result};

/// `cell`, with a leading `'` if a spreadsheet could run it as a formula.
pub fn neutralize_cell(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let plain_number = cell.parse::<f64>().is_ok_and(f64::is_finite);
    if risky && !plain_number { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// Re-writes a stored CSV `text` with the same delimiter, every cell (header included) neutralised.
pub(crate) fn export_csv(text: &str, delimiter: u8, limits: CsvLimits) -> Result<Vec<u8>> {
    let mut rows = CheckedRows::open(text, delimiter, limits)?;
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::with_capacity(text.len() + text.len() / 16));
    let header: Vec<Cow<'_, str>> = rows.header().iter().map(|h| neutralize_cell(h)).collect();
    writer.write_record(header.iter().map(|c| c.as_bytes())).map_err(Error::internal)?;
    while let Some((_, record)) = rows.next_row()? {
        writer
            .write_record(record.iter().map(|cell| neutralize_cell(cell).into_owned()))
            .map_err(Error::internal)?;
    }
    writer.into_inner().map_err(Error::internal)
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
        let out = export_csv(text, b';', CsvLimits::default()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "name;'=x\n'=cmd|' /C calc'!A0;-1.5\n'@a;+2\n");
    }
}
