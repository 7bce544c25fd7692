//! [`crate::BlobStore`]: streamed, all-or-nothing blobs by key.

use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, StreamExt, TryStreamExt};

use super::{Fixture, assert_code, offered};
use crate::{BlobKey, BlobStore, ByteStream, Error};

const CHUNK: usize = 64 * 1024;

fn fresh_key() -> BlobKey {
    BlobKey::generate("testkit").expect("`testkit` is a valid key prefix")
}

/// `len` bytes in a pattern whose period (251) divides no chunk size, so a lost, repeated or
/// reordered chunk changes the bytes.
fn payload(len: usize) -> Bytes {
    (0..len).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into()
}

/// `data` as a stream of `CHUNK`-sized pieces.
fn chunked(data: &Bytes) -> Vec<crate::Result<Bytes>> {
    (0..data.len())
        .step_by(CHUNK)
        .map(|at| Ok(data.slice(at..(at + CHUNK).min(data.len()))))
        .collect()
}

/// Whether `key` is absent: `get` must say `NotFound` at once, not later in the stream.
#[track_caller]
fn assert_missing(get: crate::Result<ByteStream>, context: &str) {
    assert_code(get, "NOT_FOUND", context);
}

fn blobs(fx: &Fixture) -> Option<&dyn BlobStore> {
    offered(&fx.backend.blobs, "blob store").map(|b| b.as_ref())
}

/// A blob written from memory reads back byte for byte, and `put` returns its size.
pub async fn blob_round_trips(fx: &Fixture) {
    let Some(blobs) = blobs(fx) else { return };
    let key = fresh_key();
    let data = Bytes::from_static(b"sepal_length,species\n5.1,setosa\n");
    let size = blobs.put_bytes(&key, data.clone()).await.expect("put_bytes");
    assert_eq!(size, data.len() as u64, "put returns the size written");
    assert_eq!(blobs.get_bytes(&key).await.expect("get_bytes"), data, "the blob as written");
}

/// A 5 MiB blob streamed in 64 KiB chunks reads back byte for byte, as a stream.
pub async fn blob_streams_large_payloads(fx: &Fixture) {
    let Some(blobs) = blobs(fx) else { return };
    let key = fresh_key();
    let data = payload(5 * 1024 * 1024);
    let size = blobs.put(&key, stream::iter(chunked(&data)).boxed()).await.expect("put");
    assert_eq!(size, data.len() as u64, "put returns the size written");
    let chunks: Vec<Bytes> =
        blobs.get(&key).await.expect("get").try_collect().await.expect("reading the stream");
    let read = chunks.concat();
    assert_eq!(read.len(), data.len(), "the blob's length as written");
    assert!(read == data, "the blob's bytes as written");
}

/// An empty stream stores an empty blob, which exists.
pub async fn empty_blob_round_trips(fx: &Fixture) {
    let Some(blobs) = blobs(fx) else { return };
    let key = fresh_key();
    let size = blobs.put(&key, stream::empty().boxed()).await.expect("put of an empty stream");
    assert_eq!(size, 0, "an empty blob has size 0");
    let read = blobs.get_bytes(&key).await.expect("an empty blob exists");
    assert!(read.is_empty(), "an empty blob reads back empty, got {} bytes", read.len());
}

/// `put` over an existing key replaces the blob entirely, even with a shorter one.
pub async fn put_over_existing_key_replaces_it(fx: &Fixture) {
    let Some(blobs) = blobs(fx) else { return };
    let key = fresh_key();
    blobs.put_bytes(&key, payload(100_000)).await.expect("first put");
    let shorter = Bytes::from_static(b"replacement");
    blobs.put_bytes(&key, shorter.clone()).await.expect("second put");
    assert_eq!(blobs.get_bytes(&key).await.expect("get_bytes"), shorter, "only the new blob");
}

/// A stream that fails midway makes `put` return the stream's error and store nothing, early
/// (two chunks in) or late (past 6 MiB: a store uploading in parts has sent some).
pub async fn blob_put_from_failing_stream_stores_nothing(fx: &Fixture) {
    let Some(blobs) = blobs(fx) else { return };
    for len in [2 * CHUNK, 6 * 1024 * 1024 + CHUNK] {
        let key = fresh_key();
        let too_large = Error::PayloadTooLarge("the upload limit is 1 MB".to_owned());
        let mut chunks = chunked(&payload(len));
        chunks.push(Err(too_large.clone()));
        let failing = stream::iter(chunks).boxed();
        let err = assert_code(blobs.put(&key, failing).await, "PAYLOAD_TOO_LARGE", "put");
        assert_eq!(err, too_large, "put returns the stream's own error");
        assert_missing(blobs.get(&key).await, "get after a failed put");
    }
}

/// A failed `put` over an existing key leaves the previous blob whole.
pub async fn failed_put_keeps_the_previous_blob(fx: &Fixture) {
    let Some(blobs) = blobs(fx) else { return };
    let key = fresh_key();
    let previous = payload(3 * CHUNK);
    blobs.put_bytes(&key, previous.clone()).await.expect("first put");
    let failing = stream::iter(vec![Ok(Bytes::from_static(b"partial")), Err(Error::internal("x"))]);
    assert_code(blobs.put(&key, failing.boxed()).await, "INTERNAL", "put from a failing stream");
    let read = blobs.get_bytes(&key).await.expect("the previous blob is still there");
    assert!(read == previous, "a failed put must not touch the previous blob");
}

/// A `put` dropped before its stream ends leaves no blob under the key.
pub async fn abandoned_put_stores_nothing(fx: &Fixture) {
    let Some(blobs) = blobs(fx) else { return };
    let key = fresh_key();
    let never_ending = stream::iter(vec![Ok(payload(CHUNK))]).chain(stream::pending()).boxed();
    let put = tokio::time::timeout(Duration::from_millis(300), blobs.put(&key, never_ending));
    assert!(put.await.is_err(), "put must wait for the end of its stream");
    assert_missing(blobs.get(&key).await, "get after an abandoned put");
}

/// A range reads exactly its bytes, across chunk boundaries; its end is clipped to the blob's
/// size, a range past the end is empty, and a missing key is `NotFound`.
pub async fn a_range_reads_exactly_its_bytes(fx: &Fixture) {
    let Some(blobs) = blobs(fx) else { return };
    let key = fresh_key();
    let data = payload(3 * CHUNK + 17);
    blobs.put(&key, stream::iter(chunked(&data)).boxed()).await.expect("put");
    let len = data.len() as u64;
    for (start, end) in [
        (0, 10),
        (5, CHUNK as u64 + 5),
        (CHUNK as u64, 2 * CHUNK as u64),
        (len - 3, len + 100),
        (len, len + 1),
        (len + 10, len + 20),
        (7, 7),
    ] {
        let chunks: Vec<Bytes> = blobs
            .get_range(&key, start..end)
            .await
            .expect("get_range")
            .try_collect()
            .await
            .expect("reading the range");
        let from = start.min(len) as usize;
        let to = (end.min(len) as usize).max(from);
        assert!(chunks.concat() == data[from..to], "bytes {start}..{end} of {len}");
    }
    assert_code(blobs.get_range(&fresh_key(), 0..10).await, "NOT_FOUND", "range of a missing key");
}

/// Reading a key that was never written is `NotFound`.
pub async fn missing_blob_is_not_found(fx: &Fixture) {
    let Some(blobs) = blobs(fx) else { return };
    assert_missing(blobs.get(&fresh_key()).await, "get of a missing key");
    assert_code(blobs.get_bytes(&fresh_key()).await, "NOT_FOUND", "get_bytes of a missing key");
}

/// A deleted blob is `NotFound`; other blobs under the same prefix stay.
pub async fn deleted_blob_is_not_found(fx: &Fixture) {
    let Some(blobs) = blobs(fx) else { return };
    let (doomed, kept) = (fresh_key(), fresh_key());
    blobs.put_bytes(&doomed, payload(10)).await.expect("put");
    blobs.put_bytes(&kept, payload(20)).await.expect("put");
    blobs.delete(&doomed).await.expect("delete");
    assert_missing(blobs.get(&doomed).await, "get after delete");
    assert_eq!(blobs.get_bytes(&kept).await.expect("get_bytes"), payload(20), "a sibling stays");
}

/// Deleting a key that does not exist is `Ok`, and so is deleting twice.
pub async fn deleting_missing_blob_is_ok(fx: &Fixture) {
    let Some(blobs) = blobs(fx) else { return };
    let key = fresh_key();
    blobs.delete(&key).await.expect("delete of a never-written key is Ok");
    blobs.put_bytes(&key, payload(10)).await.expect("put");
    blobs.delete(&key).await.expect("first delete");
    blobs.delete(&key).await.expect("second delete is Ok");
}
