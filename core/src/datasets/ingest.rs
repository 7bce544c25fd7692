//! Getting an upload's bytes in safely, as they arrive: a size limit enforced on the stream, and
//! content checks that look at the bytes themselves (never at a file name or a declared content
//! type).
//!
//! [`ingest`] reads an upload once: each chunk goes both to the blob store and, through a
//! [`TextReader`], to the CSV reader that checks and profiles it on a thread of its own. Memory is
//! bounded by a few chunks in flight, not by the file.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::DatasetConfig;
use crate::{BlobKey, BlobStore, ByteStream, DatasetSchema, Error, Result};

/// Chunks that may wait between the upload and each of its two readers (the profile and the
/// blob store): what an upload holds in memory besides the CSV reader's buffer.
const CHUNKS_IN_FLIGHT: usize = 8;
/// Chunks smaller than this are gathered into one of about this size before they are handed on.
const CHUNK_BYTES: usize = 64 * 1024;

/// What an upload came to: the checked file's schema and rows, and the bytes stored.
pub(crate) struct Ingested {
    pub(crate) schema: DatasetSchema,
    pub(crate) row_count: u64,
    pub(crate) size_bytes: u64,
}

/// Reads `data` once into the blob store under `key` while checking and profiling it; fails with
/// `too_large()` as soon as more than `limit` bytes arrived.
///
/// Whatever fails first decides the error: the stream itself or its size, else the content (the
/// first fault in the file: the profile stops reading there, and so does the upload), else the
/// blob store. On any error the blob store was handed an error to end the blob with, so nothing
/// is stored under `key` (the caller still owns deleting a blob that was completed).
pub(crate) async fn ingest(
    data: ByteStream,
    limit: u64,
    too_large: impl FnOnce() -> Error,
    blobs: &dyn BlobStore,
    key: &BlobKey,
    config: DatasetConfig,
) -> Result<Ingested> {
    let (to_profile, chunks) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let (to_store, mut stored_chunks) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let stopped = Arc::new(AtomicBool::new(false));
    let source = ChunkReader { chunks, current: Bytes::new(), stopped: stopped.clone() };
    // On a thread of its own: it waits for chunks the blob store must write first (`threads`).
    let profiling = crate::threads::on_own_thread("modelyard-upload", move || {
        super::schema::profile(source, &config)
    });
    let storing =
        blobs.put(key, futures::stream::poll_fn(move |cx| stored_chunks.poll_recv(cx)).boxed());
    let checking = async {
        let pumped = pump(data, limit, too_large, to_profile, &to_store).await;
        let profiled = profiling.await.and_then(|profiled| profiled);
        // A profile that read the stop signal failed because of it, not because of the file.
        let outcome = match (pumped, profiled) {
            (Err(err), _) => Err(err),
            (Ok(()), Err(_)) if stopped.load(Ordering::Acquire) => {
                Err(Error::unavailable("the blob store stopped the upload"))
            }
            (Ok(()), profiled) => profiled,
        };
        // The blob is complete only once the file is known to be good.
        if let Err(err) = &outcome {
            let _ = to_store.send(Err(err.clone())).await;
        }
        drop(to_store);
        outcome
    };
    let (checked, stored) = tokio::join!(checking, storing);
    // A store that failed by itself says why; otherwise it failed with the upload's error.
    let size_bytes = stored?;
    let (schema, row_count) = checked?;
    Ok(Ingested { schema, row_count, size_bytes })
}

/// The upload's end of the stop signal: what its readers are told when it stops early.
#[derive(Debug)]
struct Stop;

/// Hands each chunk of `data` to the profile and to the blob store, stopping both with an error
/// when the stream fails or passes `limit`, and stopping the profile when the store is done
/// early (it failed). A profile done early (it found a fault in the file) stops the reading.
async fn pump(
    mut data: ByteStream,
    limit: u64,
    too_large: impl FnOnce() -> Error,
    to_profile: mpsc::Sender<Result<Bytes, Stop>>,
    to_store: &mpsc::Sender<Result<Bytes>>,
) -> Result<()> {
    let mut total = 0u64;
    let mut small = BytesMut::new();
    loop {
        let failure = match data.next().await {
            Some(Ok(chunk)) => {
                total = total.saturating_add(chunk.len() as u64);
                if total <= limit {
                    // Small chunks (a network's) are gathered: fewer hand-overs between threads.
                    let chunk = if small.is_empty() && chunk.len() >= CHUNK_BYTES {
                        chunk
                    } else {
                        small.extend_from_slice(&chunk);
                        if small.len() < CHUNK_BYTES {
                            continue;
                        }
                        small.split().freeze()
                    };
                    if !hand_on(chunk, &to_profile, to_store).await {
                        return Ok(());
                    }
                    continue;
                }
                too_large()
            }
            Some(Err(err)) => err,
            None => {
                if !small.is_empty() {
                    hand_on(small.freeze(), &to_profile, to_store).await;
                }
                return Ok(());
            }
        };
        let _ = to_profile.send(Err(Stop)).await;
        return Err(failure);
    }
}

/// Hands a chunk to the profile and to the store; `false` when either is done early (then the
/// profile is stopped if it was the store).
async fn hand_on(
    chunk: Bytes,
    to_profile: &mpsc::Sender<Result<Bytes, Stop>>,
    to_store: &mpsc::Sender<Result<Bytes>>,
) -> bool {
    if to_profile.send(Ok(chunk.clone())).await.is_err() {
        return false;
    }
    if to_store.send(Ok(chunk)).await.is_err() {
        let _ = to_profile.send(Err(Stop)).await;
        return false;
    }
    true
}

/// The text of a stored file read from `data` by a thread of its own (the CSV reader's): a task
/// hands the chunks over, at most [`CHUNKS_IN_FLIGHT`] ahead, so memory holds a few chunks
/// whatever the file's size. Must be called within a Tokio runtime.
pub(crate) fn stored_text(mut data: ByteStream) -> TextReader<ChunkReader> {
    let (to_reader, chunks) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::spawn(async move {
        while let Some(chunk) = data.next().await {
            let failed = chunk.is_err();
            if let Err(err) = &chunk {
                tracing::warn!(%err, "reading a stored file");
            }
            if to_reader.send(chunk.map_err(|_| Stop)).await.is_err() || failed {
                break;
            }
        }
    });
    TextReader::new(ChunkReader { chunks, current: Bytes::new(), stopped: Arc::default() })
}

/// The chunks of an upload as a blocking [`Read`], for the CSV reader on its own thread.
///
/// The channel closing is the end of the file; a [`Stop`] is an error the profile cannot get
/// past, and is remembered so the upload knows the profile's error is not the file's.
pub(crate) struct ChunkReader {
    chunks: mpsc::Receiver<Result<Bytes, Stop>>,
    current: Bytes,
    stopped: Arc<AtomicBool>,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(Stop)) => {
                    self.stopped.store(true, Ordering::Release);
                    return Err(io::Error::other("the file's stream stopped"));
                }
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
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

pub(crate) const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Bytes the signature check waits for before deciding (the longest signature).
const SIGNATURE_BYTES: usize = 16;
/// How much a [`TextReader`] reads at a time.
const READ_BYTES: usize = 64 * 1024;

/// The format `bytes` (the start of a file) is, when it is one of [`BINARY_MAGIC`].
fn binary_format(bytes: &[u8]) -> Option<Error> {
    BINARY_MAGIC
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|(_, what)| Error::UnsupportedMediaType(format!("expected CSV text, got {what}")))
}

fn nul_byte(at: u64) -> Error {
    Error::UnsupportedMediaType(format!(
        "expected CSV text, got binary data (a NUL byte at byte {at})"
    ))
}

fn not_utf8(at: u64) -> Error {
    Error::validation("file", format!("not valid UTF-8 at byte {at}"))
}

/// Checks that `bytes` is UTF-8 text and returns it without a byte-order mark.
///
/// Binary or compressed content (a known signature or any NUL byte) is `UnsupportedMediaType`;
/// text that is not UTF-8 is a `Validation` error on `file` naming the 0-based byte offset in the
/// file as sent; an empty file is a `Validation` error. [`TextReader`] applies the same rules to
/// a stream.
pub(crate) fn decode_text(bytes: &[u8]) -> Result<&str> {
    if let Some(err) = binary_format(bytes) {
        return Err(err);
    }
    let (body, offset) = match bytes.strip_prefix(UTF8_BOM) {
        Some(rest) => (rest, UTF8_BOM.len()),
        None => (bytes, 0),
    };
    // The first fault in the file is the one reported: a NUL byte is valid UTF-8.
    let nul = memchr::memchr(0, body);
    let text = std::str::from_utf8(&body[..nul.unwrap_or(body.len())])
        .map_err(|err| not_utf8((err.valid_up_to() + offset) as u64))?;
    if let Some(at) = nul {
        return Err(nul_byte((at + offset) as u64));
    }
    if text.trim().is_empty() {
        return Err(Error::validation("file", "the file is empty"));
    }
    Ok(text)
}

/// The text of a CSV file read from `inner`, checked as [`decode_text`] checks a whole file: a
/// binary signature at the start, a NUL byte, bytes that are not UTF-8 (a character cut between
/// two reads is not). A byte-order mark is dropped.
///
/// Everything before the first fault is handed on; then every read fails with the fault, which
/// [`refusal`] recovers from the CSV reader's error. So the CSV reader reports the first problem
/// in the file whatever it is, and the result does not depend on how the file was cut in chunks.
pub(crate) struct TextReader<R> {
    inner: R,
    buf: Box<[u8]>,
    /// `buf[start..end]`: checked text not handed on yet.
    start: usize,
    end: usize,
    /// `buf[end..filled]`: the start of a character cut by the last read, at most 3 bytes.
    filled: usize,
    /// Offset in the file of `buf[0]`.
    offset: u64,
    first: bool,
    eof: bool,
    fault: Option<Error>,
}

/// A fault in an upload's content, carried through the CSV reader as an I/O error.
#[derive(Debug)]
struct Refused(Error);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Refused {}

/// The content fault an I/O error from a [`TextReader`] carries.
pub(crate) fn refusal(err: &io::Error) -> Option<Error> {
    err.get_ref().and_then(|inner| inner.downcast_ref::<Refused>()).map(|r| r.0.clone())
}

impl<R: Read> TextReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            buf: vec![0; READ_BYTES].into_boxed_slice(),
            start: 0,
            end: 0,
            filled: 0,
            offset: 0,
            first: true,
            eof: false,
            fault: None,
        }
    }

    /// Reads up to `max` bytes of text from the start, and whether that is the whole file.
    ///
    /// A fault after some text ends the sample early (the sample is then not the whole file) and
    /// stays for the next read; a fault before any text is returned.
    pub(crate) fn sample(&mut self, max: usize) -> Result<(Vec<u8>, bool)> {
        let mut sample = vec![0; max];
        let mut len = 0;
        while len < max {
            match self.read(&mut sample[len..]) {
                Ok(0) => {
                    sample.truncate(len);
                    return Ok((sample, true));
                }
                Ok(n) => len += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if len == 0 => {
                    return Err(
                        refusal(&err).unwrap_or_else(|| Error::unavailable(err.to_string()))
                    );
                }
                Err(_) => break,
            }
        }
        sample.truncate(len);
        Ok((sample, false))
    }

    /// Reads the next bytes from `inner` and checks them.
    fn fill(&mut self) -> io::Result<()> {
        // What is left is the start of a cut character: it goes to the front.
        self.offset += self.end as u64;
        self.buf.copy_within(self.end..self.filled, 0);
        self.filled -= self.end;
        self.start = 0;
        self.end = 0;
        loop {
            let n = match self.inner.read(&mut self.buf[self.filled..]) {
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            self.filled += n;
            self.eof = n == 0;
            // The signature check needs the file's first bytes, or all of a shorter file.
            if self.eof || !self.first || self.filled >= SIGNATURE_BYTES {
                break;
            }
        }
        if std::mem::take(&mut self.first) {
            if let Some(err) = binary_format(&self.buf[..self.filled]) {
                self.fault = Some(err);
                return Ok(());
            }
            if self.buf[..self.filled].starts_with(UTF8_BOM) {
                self.start = UTF8_BOM.len();
            }
        }
        let data = &self.buf[self.start..self.filled];
        let nul = memchr::memchr(0, data);
        let text = &data[..nul.unwrap_or(data.len())];
        let at = |i: usize| self.offset + (self.start + i) as u64;
        match std::str::from_utf8(text) {
            Ok(_) => {
                self.end = self.start + text.len();
                self.fault = nul.map(|i| nul_byte(at(i)));
            }
            Err(err) => {
                let valid = err.valid_up_to();
                self.end = self.start + valid;
                let cut = err.error_len().is_none() && nul.is_none() && !self.eof;
                if !cut {
                    self.fault = Some(not_utf8(at(valid)));
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for TextReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.start == self.end {
            if let Some(fault) = &self.fault {
                return Err(io::Error::other(Refused(fault.clone())));
            }
            if self.eof {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `bytes` through a [`TextReader`] handed `step` bytes at a time: the text, or the
    /// fault with the text handed on before it.
    fn read_text(bytes: &[u8], step: usize) -> (Vec<u8>, Option<Error>) {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut reader = TextReader::new(Trickle(bytes, step));
        let mut text = Vec::new();
        let mut chunk = [0u8; 7];
        loop {
            match reader.read(&mut chunk) {
                Ok(0) => return (text, None),
                Ok(n) => text.extend_from_slice(&chunk[..n]),
                Err(err) => return (text, Some(refusal(&err).expect("a content fault"))),
            }
        }
    }

    /// Runs [`pump`] over `chunks` with `limit`; its result and what the profile was handed.
    async fn pumped(chunks: ByteStream, limit: u64) -> (Result<()>, Vec<Result<Bytes, Stop>>) {
        let (to_profile, mut profile) = mpsc::channel(64);
        let (to_store, mut store) = mpsc::channel(64);
        let too_large = || Error::PayloadTooLarge("too big".into());
        let result = pump(chunks, limit, too_large, to_profile, &to_store).await;
        drop(to_store);
        let mut handed = Vec::new();
        while let Some(chunk) = profile.recv().await {
            handed.push(chunk);
        }
        while store.recv().await.is_some() {}
        (result, handed)
    }

    #[tokio::test]
    async fn reading_stops_at_the_chunk_that_crosses_the_limit() {
        // Whatever comes after the third chunk must never be polled: an endless stream would
        // otherwise hang here.
        let three = futures::stream::iter([b"ab", b"cd", b"ef"].map(|c| Ok(Bytes::from_static(c))));
        let never = futures::stream::poll_fn(|_| -> std::task::Poll<Option<Result<Bytes>>> {
            panic!("read past the limit")
        });
        let (result, handed) = pumped(three.chain(never).boxed(), 5).await;
        assert_eq!(result.unwrap_err().code(), "PAYLOAD_TOO_LARGE");
        // The profile is told to stop, so it cannot mistake the cut file for a whole one.
        assert!(matches!(handed.last(), Some(Err(Stop))), "{handed:?}");
    }

    #[tokio::test]
    async fn small_chunks_are_gathered_and_a_stream_error_is_passed_on() {
        let chunks =
            futures::stream::iter(std::iter::repeat_n(Ok(Bytes::from_static(b"a,b\n")), 3)).boxed();
        let (result, handed) = pumped(chunks, 100).await;
        result.unwrap();
        assert_eq!(handed.len(), 1);
        assert!(matches!(&handed[0], Ok(chunk) if chunk.as_ref() == b"a,b\na,b\na,b\n"));

        let failing =
            futures::stream::iter([Ok(Bytes::from_static(b"a")), Err(Error::unavailable("gone"))]);
        let (result, handed) = pumped(failing.boxed(), 10).await;
        assert_eq!(result.unwrap_err().code(), "UNAVAILABLE");
        assert!(matches!(handed.last(), Some(Err(Stop))));
    }

    #[test]
    fn the_reader_applies_the_whole_file_rules_however_the_file_is_cut() {
        let cases: [&[u8]; 9] = [
            b"a,b\n1,2\n",
            "\u{feff}x,y\n\u{e9}t\u{e9},\u{1f600}\n".as_bytes(),
            b"a,b\n1,\xe9\n",
            b"\xef\xbb\xbfa\xff",
            b"a,b\n1,\x002\n",
            b"\x1f\x8b\x08\x00rest",
            b"x\n\xf0\x9f\x98",
            b"\xef\xbb",
            b"",
        ];
        for bytes in cases {
            let whole = decode_text(bytes);
            for step in [1, 2, 3, 5, 64 * 1024] {
                let (text, fault) = read_text(bytes, step);
                match (&whole, fault) {
                    (Ok(expected), None) => assert_eq!(text, expected.as_bytes(), "{bytes:?}"),
                    (Err(expected), Some(fault)) => assert_eq!(&fault, expected, "{bytes:?}"),
                    // An empty file is the CSV reader's to refuse: the text itself is fine.
                    (Err(_), None) if bytes.is_empty() => assert!(text.is_empty()),
                    (whole, fault) => panic!("{bytes:?} by {step}: {whole:?} but {fault:?}"),
                }
            }
        }
    }

    #[test]
    fn text_before_a_fault_is_handed_on_first() {
        let (text, fault) = read_text(b"a,b\n1,2\n3,\x00\n", 4);
        assert_eq!(text, b"a,b\n1,2\n3,");
        assert_eq!(fault.unwrap().code(), "UNSUPPORTED_MEDIA_TYPE");
    }

    #[test]
    fn a_sample_is_the_start_of_the_text_and_says_whether_it_is_all_of_it() {
        let mut reader = TextReader::new(&b"\xef\xbb\xbfa,b\n1,2\n"[..]);
        assert_eq!(reader.sample(4).unwrap(), (b"a,b\n".to_vec(), false));
        let mut reader = TextReader::new(&b"a,b\n"[..]);
        assert_eq!(reader.sample(64).unwrap(), (b"a,b\n".to_vec(), true));
        let mut reader = TextReader::new(&b"PK\x03\x04..."[..]);
        assert_eq!(reader.sample(64).unwrap_err().code(), "UNSUPPORTED_MEDIA_TYPE");
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
