//! A dataset's first rows, read from the start of its blob without loading the rest.

use bytes::BytesMut;
use futures::StreamExt;

use super::config::CsvLimits;
use super::ingest::decode_text;
use super::rows::CheckedRows;
use crate::{ByteStream, Preview, Result};

/// The first read attempt waits for this many bytes; each later one for twice as many, so
/// re-parsing the growing prefix costs at most twice a single parse.
const FIRST_ATTEMPT_BYTES: usize = 64 * 1024;

/// The header and first `limit` rows of the CSV streamed in `data`, cells as written.
///
/// Reading stops once `limit + 1` rows parse from the received prefix (the extra row proves the
/// `limit`-th is complete); only a file shorter than that is read to its end.
pub(crate) async fn stream_preview(
    mut data: ByteStream,
    delimiter: u8,
    limit: usize,
    limits: CsvLimits,
) -> Result<Preview> {
    let mut buffer = BytesMut::new();
    let mut next_attempt = FIRST_ATTEMPT_BYTES;
    while let Some(chunk) = data.next().await {
        buffer.extend_from_slice(&chunk?);
        if buffer.len() < next_attempt {
            continue;
        }
        next_attempt = buffer.len().saturating_mul(2);
        // Cut after the last line break: the prefix then ends on a whole character and whole line.
        let Some(end) = buffer.iter().rposition(|&b| b == b'\n') else { continue };
        let Ok(text) = decode_text(&buffer[..=end]) else { continue };
        if let Ok(mut preview) = preview_rows(text, delimiter, limit + 1, limits)
            && preview.rows.len() > limit
        {
            preview.rows.truncate(limit);
            return Ok(preview);
        }
    }
    preview_rows(decode_text(&buffer)?, delimiter, limit, limits)
}

/// The header and first `limit` rows of `text`.
pub(crate) fn preview_rows(
    text: &str,
    delimiter: u8,
    limit: usize,
    limits: CsvLimits,
) -> Result<Preview> {
    let mut rows = CheckedRows::open(text, delimiter, limits)?;
    let columns = rows.header().to_vec();
    let mut preview = Preview { columns, rows: Vec::with_capacity(limit.min(1024)) };
    while preview.rows.len() < limit {
        match rows.next_row()? {
            Some((_, record)) => preview.rows.push(record.iter().map(str::to_owned).collect()),
            None => break,
        }
    }
    Ok(preview)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use futures::stream;

    fn stream_of(text: String, chunk: usize) -> ByteStream {
        let bytes = Bytes::from(text);
        let chunks: Vec<Result<Bytes>> = (0..bytes.len())
            .step_by(chunk)
            .map(|i| Ok(bytes.slice(i..(i + chunk).min(bytes.len()))))
            .collect();
        stream::iter(chunks).boxed()
    }

    fn numbered_rows(n: usize) -> String {
        let mut text = String::from("id,note\n");
        for i in 0..n {
            text.push_str(&format!("{i},\"a note\nover two lines\"\n"));
        }
        text
    }

    #[tokio::test]
    async fn a_preview_stops_reading_after_enough_rows() {
        // A stream that fails after the first megabyte: the preview must not need it.
        let text = numbered_rows(100_000);
        let head = stream_of(text[..1 << 20].to_owned(), 4096);
        let failing =
            head.chain(stream::once(async { Err(crate::Error::unavailable("not needed")) }));
        let preview =
            stream_preview(failing.boxed(), b',', 10, CsvLimits::default()).await.unwrap();
        assert_eq!(preview.columns, ["id", "note"]);
        assert_eq!(preview.rows.len(), 10);
        assert_eq!(preview.rows[9], ["9", "a note\nover two lines"]);
    }

    #[tokio::test]
    async fn a_short_file_is_previewed_whole() {
        let preview =
            stream_preview(stream_of(numbered_rows(3), 5), b',', 10, CsvLimits::default())
                .await
                .unwrap();
        assert_eq!(preview.rows.len(), 3);
    }

    #[test]
    fn cells_are_shown_as_written() {
        let preview = preview_rows("a;b\n 1 ;NA\n", b';', 5, CsvLimits::default()).unwrap();
        assert_eq!(preview.rows, [[" 1 ", "NA"]]);
    }
}
