//! Getting an upload's bytes in safely: a size limit enforced while streaming, then content checks
//! that look at the bytes themselves (never at a file name or a declared content type).

use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use crate::{ByteStream, Error, Result};

/// Reads `data` whole, failing with `too_large()` as soon as more than `limit` bytes arrived.
///
/// The chunk that crosses the limit is never appended, so at most `limit` bytes are buffered.
pub(crate) async fn read_limited(
    mut data: ByteStream,
    limit: u64,
    too_large: impl FnOnce() -> Error,
) -> Result<Bytes> {
    let mut buffer = BytesMut::new();
    while let Some(chunk) = data.next().await {
        let chunk = chunk?;
        let total = (buffer.len() as u64).saturating_add(chunk.len() as u64);
        if total > limit {
            return Err(too_large());
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

/// Signatures of formats people send by mistake instead of CSV, with a name for the error.
const BINARY_MAGIC: &[(&[u8], &str)] = &[
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"PK\x03\x04", "a zip archive (xlsx and ods files are zip archives too)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"PK\x07\x08", "a zip archive"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document (xls)"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "an executable"),
    (b"MZ\x90\x00", "an executable"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xff\xfe", "UTF-16 text (save the file as UTF-8)"),
    (b"\xfe\xff", "UTF-16 text (save the file as UTF-8)"),
];

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Checks that `bytes` is UTF-8 text and returns it without a byte-order mark.
///
/// Binary or compressed content (a known signature or any NUL byte) is `UnsupportedMediaType`;
/// text that is not UTF-8 is a `Validation` error on `file` naming the 0-based byte offset in the
/// file as sent; an empty file is a `Validation` error.
pub(crate) fn decode_text(bytes: &[u8]) -> Result<&str> {
    if let Some((_, what)) = BINARY_MAGIC.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Err(Error::UnsupportedMediaType(format!("expected CSV text, got {what}")));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(Error::UnsupportedMediaType(format!(
            "expected CSV text, got binary data (a NUL byte at byte {at})"
        )));
    }
    let (body, offset) = match bytes.strip_prefix(UTF8_BOM) {
        Some(rest) => (rest, UTF8_BOM.len()),
        None => (bytes, 0),
    };
    let text = std::str::from_utf8(body).map_err(|err| {
        Error::validation("file", format!("not valid UTF-8 at byte {}", err.valid_up_to() + offset))
    })?;
    if text.trim().is_empty() {
        return Err(Error::validation("file", "the file is empty"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;

    fn chunks(parts: &[&'static [u8]]) -> ByteStream {
        let parts: Vec<Result<Bytes>> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        stream::iter(parts).boxed()
    }

    fn too_large() -> Error {
        Error::PayloadTooLarge("too big".into())
    }

    #[tokio::test]
    async fn a_stream_within_the_limit_is_read_whole() {
        let bytes = read_limited(chunks(&[b"ab", b"cd"]), 4, too_large).await.unwrap();
        assert_eq!(&bytes[..], b"abcd");
    }

    #[tokio::test]
    async fn reading_stops_at_the_chunk_that_crosses_the_limit() {
        // The third chunk must never be polled: an endless stream would otherwise hang here.
        let endless =
            stream::iter(std::iter::repeat_with(|| Ok(Bytes::from_static(b"xx")))).boxed();
        let err = read_limited(endless, 5, too_large).await.unwrap_err();
        assert_eq!(err.code(), "PAYLOAD_TOO_LARGE");
    }

    #[tokio::test]
    async fn a_stream_error_is_passed_on() {
        let failing = stream::iter([Ok(Bytes::from_static(b"a")), Err(Error::unavailable("gone"))]);
        let err = read_limited(failing.boxed(), 10, too_large).await.unwrap_err();
        assert_eq!(err.code(), "UNAVAILABLE");
    }

    #[test]
    fn compressed_and_binary_content_is_unsupported() {
        for bad in [
            &b"\x1f\x8b\x08\x00rest"[..],
            b"PK\x03\x04rest",
            b"a,b\n1,\x002\n",
            b"%PDF-1.7",
            b"\x89PNG\r\n",
            b"\xff\xfea\x00,\x00",
        ] {
            assert_eq!(decode_text(bad).unwrap_err().code(), "UNSUPPORTED_MEDIA_TYPE", "{bad:?}");
        }
    }

    #[test]
    fn invalid_utf8_names_the_byte() {
        let err = decode_text(b"a,b\n1,\xe9\n").unwrap_err();
        assert_eq!(err.field(), Some("file"));
        assert!(err.to_string().contains("not valid UTF-8 at byte 6"), "{err}");
    }

    #[test]
    fn the_byte_offset_counts_the_bom() {
        let err = decode_text(b"\xef\xbb\xbfa\xff").unwrap_err();
        assert!(err.to_string().contains("at byte 4"), "{err}");
    }

    #[test]
    fn a_bom_is_stripped() {
        assert_eq!(decode_text(b"\xef\xbb\xbfa,b\n1,2\n").unwrap(), "a,b\n1,2\n");
    }

    #[test]
    fn empty_or_blank_files_are_rejected() {
        for empty in [&b""[..], b"\xef\xbb\xbf", b"\n\r\n  \n"] {
            assert_eq!(decode_text(empty).unwrap_err().field(), Some("file"));
        }
    }
}
