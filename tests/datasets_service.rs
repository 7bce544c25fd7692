//! The datasets service over the sled backend: rejected uploads store nothing, quotas hold, a
//! dataset in use is not deleted, and one user never reaches another's datasets.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use modelyard::core::datasets::{DatasetConfig, DatasetService, read_stored_table};
use modelyard::core::{
    ByteStream, ColumnKind, ColumnValues, Dataset, DatasetId, Listed, Model, ModelId, ModelSummary,
    Mutation, NumericColumn, Page, RecordStore, Result, Task, UserId, default_layers, now,
};
use tempfile::TempDir;

const IRIS: &[u8] = include_bytes!("../examples/data/iris.csv");

struct Fixture {
    service: DatasetService,
    backend: modelyard::core::Backend,
    blob_root: PathBuf,
    _dir: TempDir,
}

fn fixture(config: DatasetConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let backend = modelyard_storage_sled::SledStore::open(
        &modelyard_storage_sled::SledConfig::new(dir.path()),
    )
    .unwrap()
    .backend();
    let blobs = backend.blobs.clone().expect("the sled backend stores blobs");
    let service =
        DatasetService::new(backend.datasets.clone(), backend.models.clone(), blobs, config);
    Fixture { service, backend, blob_root: dir.path().join("blobs"), _dir: dir }
}

fn body(bytes: &'static [u8]) -> ByteStream {
    stream::once(async move { Ok(Bytes::from_static(bytes)) }).boxed()
}

/// Files under the blob root, temporary ones included: any of them means something was stored.
fn stored_files(root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else { return 0 };
    entries.map(|e| e.unwrap().path()).map(|p| if p.is_dir() { stored_files(&p) } else { 1 }).sum()
}

async fn collect(stream: ByteStream) -> String {
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    String::from_utf8(chunks.concat()).unwrap()
}

fn model_on(owner: UserId, dataset_id: DatasetId, name: &str) -> Model {
    Model {
        id: ModelId::new(),
        owner,
        name: name.into(),
        dataset_id,
        target: "species".into(),
        features: vec!["sepal_length".into()],
        task: Task::Classification,
        layers: default_layers(),
        summary: ModelSummary {
            input_width: 1,
            layers: vec![],
            total_params: 0,
            trainable_params: 0,
        },
        latest_version: None,
        created_at: now(),
    }
}

#[tokio::test]
async fn an_accepted_upload_is_profiled_and_readable() {
    let f = fixture(DatasetConfig::default());
    let ada = UserId::new();
    let dataset = f.service.upload(ada, " iris ", "../../iris.csv", body(IRIS)).await.unwrap();
    assert_eq!(dataset.name, "iris");
    assert_eq!(dataset.original_filename, "iris.csv");
    assert_eq!((dataset.row_count, dataset.size_bytes), (150, IRIS.len() as u64));
    assert!(dataset.blob_key.as_str().starts_with("datasets/"));
    assert_eq!(dataset.schema.column("species").unwrap().kind, ColumnKind::Categorical);

    assert_eq!(f.service.get(ada, dataset.id).await.unwrap(), dataset);
    assert_eq!(f.service.list(ada).await.unwrap(), std::slice::from_ref(&dataset));
    let preview = f.service.preview(ada, dataset.id, 3).await.unwrap();
    assert_eq!(
        preview.rows,
        [
            ["5.1", "3.5", "1.4", "0.2", "setosa"],
            ["4.9", "3.0", "1.4", "0.2", "setosa"],
            ["4.7", "3.2", "1.3", "0.2", "setosa"]
        ]
    );
    assert_eq!(f.service.preview(ada, dataset.id, 0).await.unwrap().rows.len(), 1);
    assert_eq!(f.service.preview(ada, dataset.id, 1_000_000).await.unwrap().rows.len(), 150);
    let (_, table) = f.service.load_table(ada, dataset.id).await.unwrap();
    assert_eq!((table.rows, table.columns.len()), (150, 5));
}

#[tokio::test]
async fn a_stored_table_is_f32_only_where_f32_keeps_what_matters_and_reads_what_is_asked() {
    let f = fixture(DatasetConfig::default());
    let ada = UserId::new();
    // Near zero for its spread; whole numbers; far from zero for its spread (a timestamp).
    let csv = b"unit,count,stamp,label
0.1,3,1700000000.25,a
-0.7,12,1700000001.5,b
                0.35,7,1700000002.75,a
";
    let dataset = f.service.upload(ada, "widths", "w.csv", body(csv)).await.unwrap();
    let blobs = f.backend.blobs.clone().unwrap();
    let table = read_stored_table(blobs.as_ref(), &dataset, None).await.unwrap();
    let numbers = |name: &str| -> NumericColumn {
        match &table.column(name).unwrap().values {
            ColumnValues::Numeric(column) => column.clone(),
            ColumnValues::Text(_) => panic!("{name} is not numeric"),
        }
    };
    assert!(numbers("unit").is_f32());
    assert_eq!(numbers("unit").get(0), Some(f64::from(0.1f32)));
    assert!(numbers("count").is_f32());
    assert_eq!(numbers("count").get(1), Some(12.0));
    assert!(!numbers("stamp").is_f32(), "f32 would round 1700000002.75 to 1700000000");
    assert_eq!(numbers("stamp").get(2), Some(1_700_000_002.75));
    // A run reads its model's columns only, in the schema's order; rows to predict stay f64.
    let asked = ["label".to_string(), "unit".into(), "absent".into()];
    let some = read_stored_table(blobs.as_ref(), &dataset, Some(&asked)).await.unwrap();
    let names: Vec<&str> = some.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!((names, some.rows), (vec!["unit", "label"], 3));
    let (_, whole) = f.service.load_table(ada, dataset.id).await.unwrap();
    assert_eq!(whole.columns.len(), 4);
}

#[tokio::test]
async fn a_download_neutralises_formulas_but_keeps_negative_numbers() {
    let f = fixture(DatasetConfig::default());
    let ada = UserId::new();
    let csv = b"x,note\n-1.5,\"=cmd|' /C calc'!A0\"\n2,@SUM(A1)\n3,fine\n";
    let dataset = f.service.upload(ada, "formulas", "f.csv", body(csv)).await.unwrap();
    let (_, data) = f.service.download(ada, dataset.id).await.unwrap();
    assert_eq!(collect(data).await, "x,note\n-1.5,'=cmd|' /C calc'!A0\n2,'@SUM(A1)\n3,fine\n");
}

#[tokio::test]
async fn rejected_uploads_store_nothing() {
    let f = fixture(DatasetConfig { max_upload_bytes: 1024, ..DatasetConfig::default() });
    let ada = UserId::new();
    let bad: [(&str, &'static [u8], &str); 9] = [
        ("gzip", b"\x1f\x8b\x08\x00\x00\x00", "UNSUPPORTED_MEDIA_TYPE"),
        ("zip", b"PK\x03\x04\x14\x00", "UNSUPPORTED_MEDIA_TYPE"),
        ("nul", b"a,b\n1,\x00\n", "UNSUPPORTED_MEDIA_TYPE"),
        ("latin1", b"a,b\n1,\xe9\n", "VALIDATION"),
        ("ragged", b"a,b,c\n1,2,3\n4,5\n", "VALIDATION"),
        ("empty", b"", "VALIDATION"),
        ("header only", b"a,b\n", "VALIDATION"),
        ("infinity", b"a,b\n1,inf\n2,3\n", "VALIDATION"),
        ("", b"a,b\n1,2\n", "VALIDATION"),
    ];
    for (name, bytes, code) in bad {
        let err = f.service.upload(ada, name, "x.csv", body(bytes)).await.unwrap_err();
        assert_eq!(err.code(), code, "{name}: {err}");
    }
    let err = f.service.upload(ada, "big", "big.csv", body(&[b'1'; 2048])).await.unwrap_err();
    assert_eq!(err.code(), "PAYLOAD_TOO_LARGE");
    assert!(f.service.list(ada).await.unwrap().is_empty());
    assert_eq!(stored_files(&f.blob_root), 0);
}

#[tokio::test]
async fn an_endless_upload_is_cut_at_the_limit() {
    let f = fixture(DatasetConfig { max_upload_bytes: 64 * 1024, ..DatasetConfig::default() });
    let endless = stream::iter(std::iter::repeat_with(|| Ok(Bytes::from_static(b"1,2\n")))).boxed();
    let err = f.service.upload(UserId::new(), "endless", "x.csv", endless).await.unwrap_err();
    assert_eq!(err.code(), "PAYLOAD_TOO_LARGE");
    assert_eq!(stored_files(&f.blob_root), 0);
}

/// A dataset store whose `insert` never answers: an upload waiting on it has written its blob
/// and not yet its record, the point where a caller that goes away would orphan the blob.
struct StuckCreate(std::sync::Arc<dyn RecordStore<Dataset>>);

#[async_trait::async_trait]
impl RecordStore<Dataset> for StuckCreate {
    async fn insert(&self, _: &Dataset) -> Result<()> {
        futures::future::pending().await
    }
    async fn get(&self, owner: UserId, id: DatasetId) -> Result<Dataset> {
        self.0.get(owner, id).await
    }
    async fn list(&self, owner: UserId, page: Page<DatasetId>) -> Result<Listed<Dataset>> {
        self.0.list(owner, page).await
    }
    async fn count(&self, owner: UserId) -> Result<u64> {
        self.0.count(owner).await
    }
    async fn update(
        &self,
        owner: UserId,
        id: DatasetId,
        m: Mutation<'_, Dataset>,
    ) -> Result<Dataset> {
        self.0.update(owner, id, m).await
    }
    async fn delete(&self, owner: UserId, id: DatasetId) -> Result<()> {
        self.0.delete(owner, id).await
    }
}

#[tokio::test]
async fn an_upload_abandoned_after_its_blob_is_written_leaves_no_blob() {
    let dir = tempfile::tempdir().unwrap();
    let backend = modelyard_storage_sled::SledStore::open(
        &modelyard_storage_sled::SledConfig::new(dir.path()),
    )
    .unwrap()
    .backend();
    let blob_root = dir.path().join("blobs");
    let service = DatasetService::new(
        std::sync::Arc::new(StuckCreate(backend.datasets.clone())),
        backend.models.clone(),
        backend.blobs.clone().unwrap(),
        DatasetConfig::default(),
    );
    let upload = service.upload(UserId::new(), "iris", "iris.csv", body(IRIS));
    // The caller gives up (a closed connection, Ctrl-C in Python): the future is dropped.
    let gave_up = tokio::time::timeout(std::time::Duration::from_millis(500), upload).await;
    assert!(gave_up.is_err(), "the stuck record store answered");
    // The blob was written before the record was attempted, and is deleted in the background.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while stored_files(&blob_root) > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(stored_files(&blob_root), 0);
}

#[tokio::test]
async fn quotas_limit_files_and_bytes_per_user() {
    let by_files = fixture(DatasetConfig { quota_files_per_user: 2, ..DatasetConfig::default() });
    let ada = UserId::new();
    for name in ["one", "two"] {
        by_files.service.upload(ada, name, "x.csv", body(b"a,b\n1,2\n")).await.unwrap();
    }
    let err =
        by_files.service.upload(ada, "three", "x.csv", body(b"a,b\n1,2\n")).await.unwrap_err();
    assert_eq!(err.code(), "CONFLICT", "{err}");
    // Another user has a quota of their own.
    by_files.service.upload(UserId::new(), "one", "x.csv", body(b"a,b\n1,2\n")).await.unwrap();

    let by_bytes = fixture(DatasetConfig { quota_bytes_per_user: 12, ..DatasetConfig::default() });
    by_bytes.service.upload(ada, "first", "x.csv", body(b"a,b\n1,2\n")).await.unwrap();
    let err =
        by_bytes.service.upload(ada, "second", "x.csv", body(b"a,b\n1,2\n")).await.unwrap_err();
    assert_eq!(err.code(), "PAYLOAD_TOO_LARGE");
    assert!(err.to_string().contains("quota"), "{err}");
    assert_eq!(by_bytes.service.list(ada).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_dataset_used_by_a_model_cannot_be_deleted() {
    let f = fixture(DatasetConfig::default());
    let ada = UserId::new();
    let dataset = f.service.upload(ada, "iris", "iris.csv", body(IRIS)).await.unwrap();
    let model = model_on(ada, dataset.id, "flowers");
    f.backend.models.insert(&model).await.unwrap();

    let err = f.service.delete(ada, dataset.id).await.unwrap_err();
    assert_eq!(err, modelyard::core::Error::Conflict("dataset is used by model flowers".into()));
    assert!(f.service.get(ada, dataset.id).await.is_ok());

    f.backend.models.delete(ada, model.id).await.unwrap();
    f.service.delete(ada, dataset.id).await.unwrap();
    assert_eq!(f.service.get(ada, dataset.id).await.unwrap_err().code(), "NOT_FOUND");
    assert_eq!(stored_files(&f.blob_root), 0);
}

#[tokio::test]
async fn user_b_cannot_reach_user_a_dataset() {
    let f = fixture(DatasetConfig::default());
    let (ada, bob) = (UserId::new(), UserId::new());
    let dataset = f.service.upload(ada, "iris", "iris.csv", body(IRIS)).await.unwrap();

    assert_eq!(f.service.get(bob, dataset.id).await.unwrap_err().code(), "NOT_FOUND");
    assert_eq!(f.service.preview(bob, dataset.id, 5).await.unwrap_err().code(), "NOT_FOUND");
    assert_eq!(f.service.download(bob, dataset.id).await.err().unwrap().code(), "NOT_FOUND");
    assert_eq!(f.service.load_table(bob, dataset.id).await.unwrap_err().code(), "NOT_FOUND");
    assert_eq!(f.service.delete(bob, dataset.id).await.unwrap_err().code(), "NOT_FOUND");
    assert!(f.service.list(bob).await.unwrap().is_empty());
    assert!(f.service.get(ada, dataset.id).await.is_ok());
}

/// Uploads, downloads and table reads wait for chunks that the sled blob store writes or reads
/// on Tokio's blocking pool, so they must not sit on that pool themselves
/// (`core/src/threads.rs`): with a pool of one thread, two of each still finish. On the pool,
/// the first upload's profile took its only thread and waited for chunks forever.
#[test]
fn uploads_downloads_and_table_reads_finish_with_one_blocking_thread() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let f = fixture(DatasetConfig::default());
        let ada = UserId::new();
        // About 2 MiB: many more chunks than are let ahead of the slower side.
        let mut csv = String::from("x,y,label\n");
        for i in 0..100_000 {
            csv.push_str(&format!("{}.5,{},{}\n", i % 977, i % 13, ["a", "b"][i % 2]));
        }
        let chunks: Vec<Bytes> =
            csv.as_bytes().chunks(64 * 1024).map(Bytes::copy_from_slice).collect();
        let upload = |name: &'static str| {
            let body = stream::iter(chunks.clone().into_iter().map(Ok)).boxed();
            f.service.upload(ada, name, "big.csv", body)
        };
        let work = async {
            let (first, second) = tokio::join!(upload("first"), upload("second"));
            let (first, second) = (first.unwrap(), second.unwrap());
            assert_eq!((first.row_count, second.row_count), (100_000, 100_000));
            let (_, first_data) = f.service.download(ada, first.id).await.unwrap();
            let (_, second_data) = f.service.download(ada, second.id).await.unwrap();
            let (first_table, second_table, first_text, second_text) = tokio::join!(
                f.service.load_table(ada, first.id),
                f.service.load_table(ada, second.id),
                collect(first_data),
                collect(second_data),
            );
            assert_eq!(first_table.unwrap().1.rows, 100_000);
            assert_eq!(second_table.unwrap().1.rows, 100_000);
            assert!(first_text == csv && second_text == csv, "the downloads differ from the file");
        };
        tokio::time::timeout(std::time::Duration::from_secs(60), work)
            .await
            .expect("no answer within 60 s: a job is waiting on the blocking pool it holds");
    });
}

/// An upload whose body is sent by the test, chunk by chunk.
fn open_body() -> (tokio::sync::mpsc::Sender<modelyard::Result<Bytes>>, ByteStream) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    (tx, stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed())
}

#[tokio::test]
async fn each_user_has_at_most_the_configured_uploads_under_way() {
    let f =
        fixture(DatasetConfig { max_concurrent_uploads_per_user: 2, ..DatasetConfig::default() });
    let ada = UserId::new();
    let (first_tx, first) = open_body();
    let (second_tx, second) = open_body();
    let first = tokio::spawn({
        let service = f.service.clone();
        async move { service.upload(ada, "first", "x.csv", first).await }
    });
    let second = tokio::spawn({
        let service = f.service.clone();
        async move { service.upload(ada, "second", "x.csv", second).await }
    });
    first_tx.send(Ok(Bytes::from_static(b"a,b\n"))).await.unwrap();
    second_tx.send(Ok(Bytes::from_static(b"a,b\n"))).await.unwrap();
    // Both are reading their bodies now: a third is refused, naming the limit, and stores nothing.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let err = f.service.upload(ada, "third", "x.csv", body(b"a,b\n1,2\n")).await.unwrap_err();
    assert_eq!(err.code(), "CONFLICT", "{err}");
    assert!(err.to_string().contains("2 uploads under way"), "{err}");
    // Another user is not held up.
    f.service.upload(UserId::new(), "other", "x.csv", body(b"a,b\n1,2\n")).await.unwrap();

    // An upload that ends, well or not, frees its place.
    first_tx.send(Ok(Bytes::from_static(b"1,2\n"))).await.unwrap();
    drop(first_tx);
    first.await.unwrap().unwrap();
    f.service.upload(ada, "third", "x.csv", body(b"a,b\n1,2\n")).await.unwrap();
    second.abort();
    let _ = second.await;
    drop(second_tx);
    f.service.upload(ada, "fourth", "x.csv", body(b"a,b\n1,2\n")).await.unwrap();
    assert_eq!(f.service.list(ada).await.unwrap().len(), 3);
}

/// A stored file passed the limits of its day: lowering the upload limits later (rows, columns,
/// field size) must not lock its owner out of a dataset they already have. Preview, download
/// and the table a run or an evaluation reads are bound by the file's own shape only.
#[tokio::test]
async fn a_stored_dataset_stays_readable_when_the_upload_limits_are_lowered() {
    let f = fixture(DatasetConfig::default());
    let ada = UserId::new();
    let dataset = f.service.upload(ada, "iris", "iris.csv", body(IRIS)).await.unwrap();
    let blobs = f.backend.blobs.clone().unwrap();
    let stricter = DatasetConfig {
        max_rows: Some(2),
        max_columns: 2,
        max_field_bytes: 4,
        ..DatasetConfig::default()
    };
    let later =
        DatasetService::new(f.backend.datasets.clone(), f.backend.models.clone(), blobs, stricter);
    let refused = later.upload(ada, "again", "iris.csv", body(IRIS)).await.unwrap_err();
    assert_eq!(refused.code(), "VALIDATION", "new uploads meet the new limits: {refused}");

    let preview = later.preview(ada, dataset.id, 10).await.unwrap();
    assert_eq!(preview.rows.len(), 10);
    let (_, data) = later.download(ada, dataset.id).await.unwrap();
    assert_eq!(collect(data).await.lines().count(), 151, "the whole file, header and 150 rows");
    let (_, table) = later.load_table(ada, dataset.id).await.unwrap();
    assert_eq!((table.rows, table.columns.len()), (150, 5));
}
