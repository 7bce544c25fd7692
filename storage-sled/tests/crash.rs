//! Security checklist item 22: a process killed with SIGKILL in the middle of a burst of writes
//! loses nothing it acknowledged. The test re-runs its own binary as a writer child, kills it at
//! a random moment, reopens the store and checks every acknowledged record, again and again on
//! the same data directory.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use modelyard_core::testkit::{
    sample_dataset, sample_epoch, sample_run, sample_user, unique_email,
};
use modelyard_core::{Backend, DatasetId, ModelId, RunId, UserId};

/// Set (to the data directory) only in the writer child.
const DIR_VAR: &str = "MODELYARD_CRASH_DIR";
/// The writer child's test name.
const CHILD: &str = "crash_child_writes_until_killed";
/// Kill-and-check rounds, all on one data directory.
const ROUNDS: usize = 24;
/// Writers running at once in the child.
const WRITERS: usize = 3;
/// Epochs each run gets before the writer moves on.
const EPOCHS: u32 = 4;

/// Prints one acknowledgement line, flushed at once so the parent sees it before any kill.
fn ack(line: String) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "ack {line}").unwrap();
    out.flush().unwrap();
}

/// Creates users, datasets and runs and records epochs, acknowledging each write once it returned.
async fn write_forever(backend: Backend) {
    loop {
        let user = sample_user(&unique_email());
        backend.users.create_user(&user).await.unwrap();
        ack(format!("user {} {}", user.id, user.email));

        let dataset = sample_dataset(user.id);
        backend.datasets.insert(&dataset).await.unwrap();
        ack(format!("dataset {} {}", user.id, dataset.id));

        let run = sample_run(user.id, ModelId::new(), dataset.id);
        backend.runs.insert(&run).await.unwrap();
        ack(format!("run {} {}", user.id, run.id));

        for epoch in 1..=EPOCHS {
            let mut count = |r: &mut modelyard_core::TrainingRun| {
                r.complete_epoch(epoch);
                Ok(())
            };
            backend.runs.update(user.id, run.id, &mut count).await.unwrap();
            backend.history.put_epoch(user.id, run.id, &sample_epoch(epoch)).await.unwrap();
            ack(format!("epoch {} {} {epoch}", user.id, run.id));
        }
    }
}

/// The writer child: does nothing unless the parent started it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child_writes_until_killed() {
    let Some(dir) = std::env::var_os(DIR_VAR) else {
        return;
    };
    let backend =
        modelyard_storage_sled::SledStore::open(&modelyard_storage_sled::SledConfig::new(&dir))
            .unwrap()
            .backend();
    let writers: Vec<_> =
        (0..WRITERS).map(|_| tokio::spawn(write_forever(backend.clone()))).collect();
    for writer in writers {
        writer.await.unwrap();
    }
}

/// Everything the children acknowledged so far.
#[derive(Default)]
struct Acked {
    users: BTreeMap<UserId, String>,
    datasets: BTreeSet<(UserId, DatasetId)>,
    runs: BTreeMap<(UserId, RunId), BTreeSet<u32>>,
}

impl Acked {
    /// Records one `ack ...` line.
    fn record(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["ack", "user", id, email] => {
                self.users.insert(id.parse().unwrap(), (*email).to_owned());
            }
            ["ack", "dataset", owner, id] => {
                self.datasets.insert((owner.parse().unwrap(), id.parse().unwrap()));
            }
            ["ack", "run", owner, id] => {
                self.runs.entry((owner.parse().unwrap(), id.parse().unwrap())).or_default();
            }
            ["ack", "epoch", owner, id, epoch] => {
                let run = (owner.parse().unwrap(), id.parse().unwrap());
                self.runs.entry(run).or_default().insert(epoch.parse().unwrap());
            }
            _ => {} // libtest's own output
        }
    }

    fn writes(&self) -> usize {
        self.users.len()
            + self.datasets.len()
            + self.runs.values().map(|epochs| 1 + epochs.len()).sum::<usize>()
    }
}

/// Reopens the store and checks every acknowledged write, and that indexes agree with records.
async fn check(dir: &Path, acked: &Acked, round: usize) {
    let backend =
        modelyard_storage_sled::SledStore::open(&modelyard_storage_sled::SledConfig::new(dir))
            .unwrap_or_else(|err| panic!("round {round}: store does not reopen: {err}"))
            .backend();
    for (id, email) in &acked.users {
        let user = backend.users.get_user(*id).await.unwrap_or_else(|err| {
            panic!("round {round}: acknowledged user {id} lost: {err}");
        });
        assert_eq!(&user.email, email, "round {round}: user {id} changed");
        let found = backend.users.find_user_by_email(email).await.unwrap();
        assert_eq!(found.map(|u| u.id), Some(*id), "round {round}: email index lost {email}");
    }
    for (owner, id) in &acked.datasets {
        let dataset = backend.datasets.get(*owner, *id).await.unwrap_or_else(|err| {
            panic!("round {round}: acknowledged dataset {id} lost: {err}");
        });
        assert_eq!(dataset.owner, *owner);
    }
    for ((owner, id), epochs) in &acked.runs {
        let run = backend.runs.get(*owner, *id).await.unwrap_or_else(|err| {
            panic!("round {round}: acknowledged run {id} lost: {err}");
        });
        let history = backend.history.all_epochs(*owner, *id).await.unwrap();
        let stored: BTreeSet<u32> = history.iter().map(|m| m.epoch).collect();
        let counted = epochs.last().copied().unwrap_or(0);
        assert!(
            run.epochs_completed >= counted,
            "round {round}: run {id} counts {} epochs, {counted} acknowledged",
            run.epochs_completed
        );
        assert!(
            epochs.is_subset(&stored),
            "round {round}: run {id} lost acknowledged epochs: acked {epochs:?}, stored {stored:?}"
        );
    }
    for owner in acked.users.keys() {
        let datasets = backend.datasets.list_all(*owner).await.unwrap();
        for dataset in &datasets {
            assert_eq!(dataset.owner, *owner, "round {round}: owner index lists another's dataset");
            backend.datasets.get(*owner, dataset.id).await.unwrap();
        }
        let listed: BTreeSet<DatasetId> = datasets.iter().map(|d| d.id).collect();
        let first = DatasetId::from_uuid(uuid::Uuid::nil());
        let last = DatasetId::from_uuid(uuid::Uuid::from_bytes([0xff; 16]));
        for (_, id) in acked.datasets.range((*owner, first)..=(*owner, last)) {
            assert!(
                listed.contains(id),
                "round {round}: dataset {id} missing from its owner's list"
            );
        }
        for run in backend.runs.list_all(*owner).await.unwrap() {
            assert_eq!(run.owner, *owner, "round {round}: owner index lists another's run");
            backend.runs.get(*owner, run.id).await.unwrap();
        }
    }
}

/// A small xorshift generator: the kill moments only need to vary, not to be strong.
struct Jitter(u64);

impl Jitter {
    fn between(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

/// Runs one writer child on `dir`, kills it with SIGKILL mid-burst and returns its output lines.
fn run_and_kill(dir: &Path, delay: Duration, round: usize) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD, "--nocapture", "--test-threads=1"])
        .env(DIR_VAR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        loop {
            let mut line = Vec::new();
            match stdout.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                // A line cut short by the kill was never acknowledged.
                Ok(_) if !line.ends_with(b"\n") => break,
                Ok(_) => {
                    if lines_tx.send(String::from_utf8_lossy(&line).trim_end().to_owned()).is_err()
                    {
                        break;
                    }
                }
            }
        }
    });

    // Start the clock at the first acknowledgement, so the kill lands among the writes.
    let mut seen = Vec::new();
    let started = Instant::now();
    while !seen.iter().any(|l: &String| l.starts_with("ack ")) {
        match lines.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => seen.push(line),
            Err(_) => {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("round {round}: writer exited before writing ({status}): {seen:?}");
                }
                assert!(started.elapsed() < Duration::from_secs(60), "round {round}: no writes");
            }
        }
    }
    std::thread::sleep(delay);
    if let Some(status) = child.try_wait().unwrap() {
        panic!("round {round}: writer died on its own ({status})");
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    reader.join().unwrap();
    seen.extend(lines.try_iter());
    seen
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if std::env::var_os(DIR_VAR).is_some() {
        return; // we are a writer child started for another test
    }
    let dir = tempfile::tempdir().unwrap();
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    println!("kill-moment seed {seed}");
    let mut jitter = Jitter(seed);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut acked = Acked::default();
    for round in 0..ROUNDS {
        let delay = Duration::from_millis(jitter.between(50, 400));
        for line in run_and_kill(dir.path(), delay, round) {
            acked.record(&line);
        }
        runtime.block_on(check(dir.path(), &acked, round));
    }
    println!("{} acknowledged writes checked over {ROUNDS} kills", acked.writes());
    assert!(acked.writes() >= ROUNDS, "too few writes to mean anything");
}
