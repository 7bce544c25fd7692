//! Ingest throughput (MB/s) of a CSV upload: every check, the delimiter, the schema and the
//! statistics (`profile`), and the whole upload through the facade into a sled store in a
//! temporary directory (`upload`: the file read in chunks, profiled and written to the blob store
//! in one pass, then the record).
//!
//! ```sh
//! PEERDATA=/some/dir cargo bench --bench ingest                 # large.csv, 137 MiB
//! PEERDATA=/some/dir benches/peers/ingest_peers.py large.csv    # pandas and polars, same file
//! ```
//!
//! `PEERDATA` is the directory `peers/gen_data.py` writes; without it the bench draws a file of
//! the same shape (20,000 x 784 pixels + label) from a fixed seed into a temporary directory.
//! Last, a generated CSV of `INGEST_RSS_MIB` MiB (default 1,024) is uploaded as a stream once, and
//! the growth of the process's resident memory during it is printed. Peak RSS of the bench
//! process is printed at the end.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput};
use futures::StreamExt;
use modelyard::core::datasets::{DatasetConfig, check_and_infer};
use modelyard::core::{BlobKey, BlobStore, Error};
use modelyard::{ConfigSpec, Upload, blocking};
use serde_json::json;

#[path = "support/large_csv.rs"]
mod large_csv;
#[path = "support/memory.rs"]
mod memory;
use large_csv::csv_file;
use memory::status_kib;

/// A CSV of about `bytes` (50 columns: 49 numbers, a 5-class label) made chunk by chunk as it is
/// read, and its number of data rows.
fn generated_csv(bytes: u64) -> (modelyard::core::ByteStream, u64) {
    const COLUMNS: usize = 50;
    let mut header: Vec<String> = (1..COLUMNS).map(|i| format!("x{i}")).collect();
    header.push("label".into());
    let row_bytes = (COLUMNS - 1) as u64 * 9 + 2;
    let rows = bytes / row_bytes;
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut left = rows;
    let head = Bytes::from(format!("{}\n", header.join(",")));
    let body = std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let mut chunk = String::with_capacity(256 * 1024 + 512);
        while left > 0 && chunk.len() < 256 * 1024 {
            for _ in 1..COLUMNS {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let sign = if state & 1 == 0 { '-' } else { '0' };
                chunk.push_str(&format!("{sign}.{:06},", (state >> 8) % 1_000_000));
            }
            chunk.push_str(&format!("{}\n", state % 5));
            left -= 1;
        }
        Some(Bytes::from(chunk))
    });
    let chunks = futures::stream::iter(std::iter::once(head).chain(body).map(Ok));
    (chunks.boxed(), rows)
}

fn bench_ingest(c: &mut Criterion) {
    let scratch = tempfile::tempdir().unwrap();
    let csv = csv_file(scratch.path());
    let size = std::fs::metadata(&csv).unwrap().len();
    let config = DatasetConfig { max_upload_bytes: 4 << 30, ..DatasetConfig::default() };

    let mut group = c.benchmark_group("ingest");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(30))
        .throughput(Throughput::Bytes(size));

    let bytes = std::fs::read(&csv).unwrap();
    group.bench_function("profile", |b| b.iter(|| check_and_infer(&bytes, &config).unwrap()));
    drop(bytes);

    // The blob store's share of an upload: the file written in 64 KiB chunks, made durable.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let blobs = modelyard_storage_sled::FileBlobStore::open(scratch.path().join("blobs")).unwrap();
    let key = BlobKey::parse("bench/large").unwrap();
    group.bench_function("store", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let file = tokio::fs::File::open(&csv).await.unwrap();
                let chunks = tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024)
                    .map(|chunk| chunk.map_err(|err| Error::unavailable(err.to_string())));
                blobs.put(&key, chunks.boxed()).await.unwrap();
            });
        });
    });

    let store = scratch.path().join("store");
    let spec = ConfigSpec::from_value(json!({
        "store": format!("sled://{}", store.display()),
        "max_upload_bytes": 4u64 << 30,
    }))
    .unwrap();
    let yard = blocking::Modelyard::open(spec).unwrap();
    let session = yard.register("bench", "bench@example.com", "correct horse battery").unwrap();
    // Only the upload is timed; each dataset is deleted again after it.
    group.bench_function("upload", |b| {
        b.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            for _ in 0..iterations {
                let started = Instant::now();
                let dataset = session.upload_dataset("large", Upload::path(&csv)).unwrap();
                timed += started.elapsed();
                session.delete_dataset(dataset.id).unwrap();
            }
            timed
        });
    });
    group.finish();

    // Memory: a generated file of INGEST_RSS_MIB (default 1,024) MiB, uploaded as a stream.
    let mib: u64 =
        std::env::var("INGEST_RSS_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let (stream, rows) = generated_csv(mib << 20);
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kib("VmRSS:");
    let started = Instant::now();
    let dataset = session
        .upload_dataset(
            "generated",
            Upload::Stream { filename: "generated.csv".into(), data: stream },
        )
        .unwrap();
    let took = started.elapsed();
    let peak = status_kib("VmHWM:");
    assert_eq!(dataset.row_count, rows);
    eprintln!(
        "upload of a {mib} MiB stream ({rows} rows x 50 columns): {:.1} s = {:.0} MiB/s; RSS {} MiB before, peak {} MiB: +{} MiB",
        took.as_secs_f64(),
        mib as f64 / took.as_secs_f64(),
        before >> 10,
        peak >> 10,
        (peak.saturating_sub(before)) >> 10
    );
    session.delete_dataset(dataset.id).unwrap();

    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM"))
    {
        eprintln!("peak RSS of the bench process: {}", line.trim_start_matches("VmHWM:").trim());
    }
}

criterion::criterion_group!(benches, bench_ingest);
criterion::criterion_main!(benches);
