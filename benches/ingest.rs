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
//! Peak RSS of the bench process is printed at the end.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use futures::StreamExt;
use modelyard::core::datasets::{DatasetConfig, check_and_infer};
use modelyard::core::{BlobKey, BlobStore, Error};
use modelyard::{ConfigSpec, Upload, blocking};
use serde_json::json;

/// The CSV to ingest: `$PEERDATA/large.csv`, or one of its shape written here.
fn csv_file(scratch: &Path) -> PathBuf {
    if let Ok(dir) = std::env::var("PEERDATA") {
        return Path::new(&dir).join("large.csv");
    }
    let path = scratch.join("large.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let header: Vec<String> =
        (0..784).map(|i| format!("x{i}")).chain(std::iter::once("label".into())).collect();
    writeln!(out, "{}", header.join(",")).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..20_000 {
        let mut line = String::with_capacity(4096);
        for _ in 0..784 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            line.push_str(&format!("{x:.6},"));
        }
        line.push_str(&(state % 10).to_string());
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
    path
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

    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM"))
    {
        eprintln!("peak RSS of the bench process: {}", line.trim_start_matches("VmHWM:").trim());
    }
}

criterion::criterion_group!(benches, bench_ingest);
criterion::criterion_main!(benches);
