//! The synchronous facade: a plain program (no async runtime of its own) trains iris end to end;
//! a blocking call inside an async runtime or after `fork()` is a clear error, never a panic or a
//! hang; waits and event streams can be cut into short slices; the one runtime of the process
//! stops with the last handle; async code and abandonable tasks run on that same runtime.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
// `fork`, `waitpid` and `_exit` are C calls: the fork test cannot do without them.
#![allow(unsafe_code)]

mod support;

use std::time::{Duration, Instant};

use modelyard::blocking::{self, Next};
use modelyard::{
    Model, ModelRequest, NotificationKind, RunEvent, RunStatus, TrainParams, Upload,
    default_trainer,
};
use support::{IRIS, StepTrainer, config};

const PASSPHRASE: &str = "a long enough passphrase";
const IRIS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/iris.csv");

fn params(epochs: u32) -> TrainParams {
    TrainParams { epochs, ..TrainParams::default() }
}

fn register(yard: &blocking::Modelyard, name: &str) -> blocking::Session {
    yard.register(name, &format!("{name}@example.com"), PASSPHRASE).unwrap()
}

fn iris_model(session: &blocking::Session) -> Model {
    let iris = session.upload_dataset("iris", Upload::bytes("iris.csv", IRIS)).unwrap();
    session.create_model(iris_request(iris.id)).unwrap()
}

fn iris_request(dataset_id: modelyard::DatasetId) -> ModelRequest {
    ModelRequest {
        name: "iris mlp".into(),
        dataset_id,
        target: "species".into(),
        features: None,
        task: None,
        layers: None,
    }
}

fn epochs_of(events: &[RunEvent]) -> Vec<u32> {
    events.iter().filter_map(RunEvent::epoch).collect()
}

fn is_status(event: Option<&RunEvent>, wanted: RunStatus) -> bool {
    matches!(event, Some(RunEvent::Status { status, .. }) if *status == wanted)
}

#[test]
fn a_plain_program_trains_iris_end_to_end() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let trainer = default_trainer();
    assert!(trainer.is_some(), "built with the `ml` feature");
    let yard = blocking::Modelyard::open(config(dir.path(), trainer)).unwrap();
    register(&yard, "ada");
    let ada = yard.login("ada@example.com", PASSPHRASE).unwrap();
    let iris = ada.upload_dataset("iris", Upload::path(IRIS_PATH)).unwrap();
    assert_eq!(iris.row_count, 150);
    let model = ada.create_model(iris_request(iris.id)).unwrap();

    let run = ada.train(model.id, params(30)).unwrap();
    let events: Vec<RunEvent> = run.events().unwrap().map(Result::unwrap).collect();
    assert_eq!(epochs_of(&events), (1..=30).collect::<Vec<_>>(), "each epoch once, in order");
    assert!(is_status(events.last(), RunStatus::Completed), "last: {:?}", events.last());
    let done = run.wait().unwrap();
    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);

    let rows: Vec<serde_json::Map<String, serde_json::Value>> = [
        serde_json::json!({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}),
        serde_json::json!({"sepal_length": 6.4, "sepal_width": 3.2, "petal_length": 4.5, "petal_width": 1.5}),
        serde_json::json!({"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5}),
    ]
    .into_iter()
    .map(|row| row.as_object().unwrap().clone())
    .collect();
    assert_eq!(ada.predict(model.id, &rows.into()).unwrap().len(), 3);
    let evaluation = ada.evaluate(model.id, iris.id).unwrap();
    assert!(evaluation.metrics["accuracy"] > 0.8, "{:?}", evaluation.metrics);
    assert_eq!(ada.model_archive(model.id).unwrap().files.len(), 2);
    yard.close().unwrap();
    println!("iris, 30 epochs, end to end: {:?}", started.elapsed());
}

#[test]
fn a_downloaded_dataset_is_its_whole_csv() {
    let dir = tempfile::tempdir().unwrap();
    let yard = blocking::Modelyard::open(config(dir.path(), None)).unwrap();
    let ada = register(&yard, "ada");
    let iris = ada.upload_dataset(None, Upload::bytes("iris.csv", IRIS)).unwrap();
    let download = ada.download_dataset(iris.id).unwrap();
    assert_eq!(download.dataset.id, iris.id);
    assert_eq!(download.filename, "iris.csv");
    // Written anew by a CSV writer: the same lines, whatever their endings were.
    let csv = std::str::from_utf8(&download.csv).unwrap();
    assert!(csv.lines().eq(std::str::from_utf8(IRIS).unwrap().lines()), "{csv}");
}

#[test]
fn a_blocking_call_inside_a_tokio_runtime_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let yard = blocking::Modelyard::open(config(dir.path(), None)).unwrap();
    let ada = register(&yard, "ada");
    let mut notifications = ada.notification_events().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();

    let other = tempfile::tempdir().unwrap();
    let (ada, mut notifications) = runtime.block_on(async move {
        let err = blocking::Modelyard::open(config(other.path(), None)).unwrap_err();
        assert_eq!(err.code(), "NOT_SUPPORTED", "{err}");
        assert!(
            err.to_string().contains(
                "a blocking call from inside an async runtime would deadlock; use \
                 modelyard::Modelyard (async) there"
            ),
            "{err}"
        );
        assert_eq!(ada.datasets().unwrap_err().code(), "NOT_SUPPORTED");
        assert_eq!(notifications.next().unwrap().unwrap_err().code(), "NOT_SUPPORTED");
        assert!(notifications.next().is_none(), "the iterator ends after that error");
        // In a task of the runtime too.
        let ada = tokio::spawn(async move {
            assert_eq!(ada.me().unwrap_err().code(), "NOT_SUPPORTED");
            ada
        })
        .await
        .unwrap();
        (ada, notifications)
    });
    // Outside, the same handles work.
    assert!(ada.datasets().unwrap().is_empty());
    assert!(matches!(notifications.next_timeout(Duration::ZERO), Next::Ended));

    // The last handles dropped inside a runtime close the yard elsewhere, without a panic.
    runtime.block_on(async move { drop((yard, ada, notifications)) });
}

#[test]
fn wait_timeout_returns_none_while_the_run_is_still_going() {
    let dir = tempfile::tempdir().unwrap();
    let yard = blocking::Modelyard::open(config(dir.path(), Some(StepTrainer::slow()))).unwrap();
    let ada = register(&yard, "ada");
    let model = iris_model(&ada);
    let run = ada.train(model.id, params(100)).unwrap();

    let mut events = run.events().unwrap();
    loop {
        match events.next() {
            Some(Ok(RunEvent::Epoch { .. })) => break, // running, for a while yet
            Some(event) => assert!(event.is_ok(), "{event:?}"),
            None => panic!("the run ended before its first epoch"),
        }
    }
    for _ in 0..5 {
        assert_eq!(run.wait_timeout(Duration::from_millis(50)).unwrap(), None);
    }
    assert_eq!(run.clone().wait_timeout(Duration::ZERO).unwrap(), None, "clones share the wait");

    run.cancel().unwrap();
    let done = run.wait().unwrap();
    assert_eq!(done.status, RunStatus::Cancelled);
    let again = run.wait_timeout(Duration::ZERO).unwrap().expect("an ended run is at hand");
    assert_eq!(again.status, RunStatus::Cancelled);
    assert!(done.history.len() < 100);
    yard.close().unwrap();
}

#[test]
fn next_timeout_tells_a_timeout_from_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut idle = config(dir.path(), Some(StepTrainer::quick()));
    idle.training.workers = 0; // started below
    let yard = blocking::Modelyard::open(idle).unwrap();
    let ada = register(&yard, "ada");
    let model = iris_model(&ada);
    let run = ada.train(model.id, params(2)).unwrap();
    let mut events = run.events().unwrap();
    let mut notifications = ada.notification_events().unwrap();

    match events.next_timeout(Duration::ZERO) {
        Next::Item(Ok(RunEvent::Status { status: RunStatus::Queued, .. })) => {}
        other => panic!("the queued status is at hand at once: {other:?}"),
    }
    // No worker: nothing happens, and the stream goes on.
    assert!(matches!(events.next_timeout(Duration::from_millis(50)), Next::TimedOut));
    assert!(matches!(events.next_timeout(Duration::from_millis(50)), Next::TimedOut));
    assert!(matches!(notifications.next_timeout(Duration::from_millis(50)), Next::TimedOut));

    yard.start_workers(1).unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match events.next_timeout(Duration::from_millis(100)) {
            Next::Item(event) => seen.push(event.unwrap()),
            Next::TimedOut => assert!(Instant::now() < deadline, "no end after {seen:?}"),
            Next::Ended => break,
        }
    }
    assert_eq!(epochs_of(&seen), [1, 2], "{seen:?}");
    assert!(is_status(seen.last(), RunStatus::Completed), "{seen:?}");
    assert!(matches!(events.next_timeout(Duration::from_millis(50)), Next::Ended), "stays ended");
    assert!(events.next().is_none());

    // The notification stream does not end: it times out until the run's notification comes.
    let note = loop {
        match notifications.next_timeout(Duration::from_millis(100)) {
            Next::Item(note) => break note.unwrap(),
            Next::TimedOut => assert!(Instant::now() < deadline, "no notification"),
            Next::Ended => panic!("a notification stream does not end"),
        }
    };
    assert_eq!(note.kind, NotificationKind::RunCompleted);
    yard.close().unwrap();
}

#[test]
fn every_handle_can_move_to_another_thread() {
    fn send_and_share<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_and_share::<blocking::Modelyard>();
    send_and_share::<blocking::Session>();
    send_and_share::<blocking::Run>();
    send::<blocking::RunEvents>();
    send::<blocking::NotificationEvents>();
}

#[test]
fn use_after_fork_is_a_clear_error() {
    /// Exit codes of the forked child.
    const PASSED: i32 = 0;
    const FAILED: i32 = 1;
    const HUNG: i32 = 2;

    if !in_a_process_of_its_own("use_after_fork_is_a_clear_error") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let yard = blocking::Modelyard::open(config(dir.path(), None)).unwrap();
    let ada = register(&yard, "ada");
    let parent = std::process::id();

    // SAFETY: this process runs this one test; the child only checks Modelyard and ends with
    // `_exit`, never returning into the test harness.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork failed");
    if child == 0 {
        // A hang fails the test rather than hanging it.
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_secs(60));
            // SAFETY: ends the child at once, as below.
            unsafe { libc::_exit(HUNG) }
        });
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let err = ada.datasets().unwrap_err();
            assert_eq!(err.code(), "UNAVAILABLE");
            let expected = format!(
                "this Modelyard was opened in process {parent} before fork(); open it again in \
                 this process"
            );
            assert!(err.to_string().contains(&expected), "{err}");
            assert_eq!(yard.check_ready().unwrap_err().code(), "UNAVAILABLE");
            assert_eq!(
                yard.register("bob", "bob@example.com", PASSPHRASE).unwrap_err().code(),
                "UNAVAILABLE"
            );
            // Dropping the parent's handles neither hangs nor touches the parent's yard.
            drop((ada, yard));

            // A fresh open starts a runtime of the child's own, and answers. Reads only, and
            // never dropped: sled 0.34 writes through a process-wide pool of IO threads, which a
            // forked child does not have (only the forking thread survives fork()) while sled's
            // counters say it does, so in the child of a process that used sled every sled
            // write, and the flush of a dropped sled database, waits forever.
            let other = tempfile::tempdir().unwrap();
            let fresh = blocking::Modelyard::open(config(other.path(), None)).unwrap();
            assert!(runtime_threads() > 0, "a runtime of the child's own");
            fresh.check_ready().unwrap();
            let unknown = fresh.login("bob@example.com", PASSPHRASE).unwrap_err();
            assert_eq!(unknown.code(), "UNAUTHORIZED");
            fresh.close().unwrap();
            std::mem::forget((fresh, other));
        }));
        // SAFETY: ends the child without running the parent's exit handlers or destructors.
        unsafe { libc::_exit(if checked.is_ok() { PASSED } else { FAILED }) };
    }

    let mut status = 0;
    // SAFETY: waits for the child forked above; `status` outlives the call.
    let waited = unsafe { libc::waitpid(child, &mut status, 0) };
    assert_eq!(waited, child);
    assert!(libc::WIFEXITED(status), "the child did not exit (wait status {status})");
    match libc::WEXITSTATUS(status) {
        PASSED => {}
        HUNG => panic!("the child hung"),
        code => panic!("the child's checks failed (exit code {code}; its panic is above)"),
    }
    // The parent's handles are as they were.
    assert_eq!(ada.me().unwrap().username, "ada");
    yard.close().unwrap();
}

#[test]
fn the_runtime_stops_when_the_last_handle_is_dropped() {
    if !in_a_process_of_its_own("the_runtime_stops_when_the_last_handle_is_dropped") {
        return;
    }
    assert_eq!(runtime_threads(), 0, "no runtime before the first open");
    let dir = tempfile::tempdir().unwrap();
    let yard = blocking::Modelyard::open(config(dir.path(), Some(StepTrainer::quick()))).unwrap();
    assert!(runtime_threads() > 0);
    let ada = register(&yard, "ada");
    let model = iris_model(&ada);
    let run = ada.train(model.id, params(3)).unwrap();
    let events = run.events().unwrap();

    // Each kind of handle keeps the yard open and the runtime running: the yard handle goes
    // first, and the workers still finish the run.
    drop(yard);
    assert_eq!(run.wait().unwrap().status, RunStatus::Completed);
    drop(ada);
    drop(run);
    assert!(runtime_threads() > 0, "the event iterator still holds it");
    drop(events);
    assert_no_runtime_threads_soon();

    // The next open starts a new runtime, and finds the directory released.
    let yard = blocking::Modelyard::open(config(dir.path(), None)).unwrap();
    assert!(runtime_threads() > 0);
    yard.login("ada@example.com", PASSPHRASE).unwrap();
    drop(yard);
    assert_no_runtime_threads_soon();
}

#[test]
fn open_async_works_from_any_executor_and_its_yard_serves_async_code() {
    let dir = tempfile::tempdir().unwrap();
    // A plain executor, not tokio: the open itself runs on the facade's runtime.
    let yard = futures::executor::block_on(blocking::Modelyard::open_async(config(
        dir.path(),
        Some(StepTrainer::quick()),
    )))
    .unwrap();
    let ada = register(&yard, "ada");
    let model = iris_model(&ada);
    // Async code on the yard's runtime, through the same handles: what a bridge to another
    // event loop does. `enter` makes `tokio::spawn` place the task there.
    let runtime = yard.runtime();
    let trained = {
        let _entered = runtime.enter().unwrap();
        let session = ada.as_async().clone();
        tokio::spawn(async move { session.train(model.id, params(2)).await?.wait().await })
    };
    let finished = futures::executor::block_on(trained).unwrap().unwrap();
    assert_eq!(finished.status, RunStatus::Completed);
    // Or spawned from anywhere, the task holding the runtime: a timer works there.
    let slept = runtime
        .spawn(async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            "slept"
        })
        .unwrap();
    assert_eq!(futures::executor::block_on(slept).unwrap(), "slept");
    yard.close().unwrap();
}

#[test]
fn a_task_is_waited_in_slices_and_a_dropped_one_is_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let yard = blocking::Modelyard::open(config(dir.path(), None)).unwrap();
    let ada = register(&yard, "ada");
    let session = ada.as_async().clone();
    let mut upload = ada
        .spawn(async move { session.upload_dataset("iris", Upload::bytes("iris.csv", IRIS)).await })
        .unwrap();
    let dataset = loop {
        if let Some(dataset) = upload.wait_timeout(Duration::from_millis(5)).unwrap() {
            break dataset;
        }
    };
    assert_eq!(dataset.row_count, 150);
    assert_eq!(upload.wait_timeout(Duration::ZERO).unwrap_err().code(), "CONFLICT");

    // A task that would never end, dropped: its future is dropped on the runtime soon after.
    struct Flag(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Flag(dropped.clone());
    let mut endless = yard
        .spawn(async move {
            let _flag = flag;
            futures::future::pending::<modelyard::Result<()>>().await
        })
        .unwrap();
    assert_eq!(endless.wait_timeout(Duration::from_millis(20)).unwrap(), None);
    drop(endless);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !dropped.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the dropped task still runs");
        std::thread::sleep(Duration::from_millis(5));
    }
    yard.close().unwrap();
}

/// Threads of this process named like the runtime's.
fn runtime_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "modelyard-rt")
        .count()
}

/// The runtime's threads are joined when its last handle goes; the kernel may list one for a
/// moment longer.
fn assert_no_runtime_threads_soon() {
    let deadline = Instant::now() + Duration::from_secs(10);
    while runtime_threads() > 0 {
        assert!(Instant::now() < deadline, "{} runtime threads left", runtime_threads());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `test` again in a process of this test binary, alone, and checks that it passed there;
/// `true` inside that process. For the tests that count the process's threads or fork it,
/// which tests running in parallel threads would disturb.
fn in_a_process_of_its_own(test: &str) -> bool {
    const ALONE: &str = "MODELYARD_BLOCKING_TEST_ALONE";
    if std::env::var_os(ALONE).is_some() {
        return true;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(ALONE, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{test} in a process of its own:\n{stdout}\n{stderr}"
    );
    false
}
