//! The backend conformance suite: one set of behaviour tests over the store traits, run by every
//! backend crate against a real instance.
//!
//! Each behaviour is an `async fn <behaviour>(fx: &Fixture)` in the module of its trait:
//! [`users`]; [`records`], run on every owner-scoped kind, then [`models`], [`runs`] and
//! [`notifications`] for what only that kind holds; [`blobs`], [`cache`], [`queue`],
//! [`events`]. It panics with a message saying which promise of the trait's `# Behavior`
//! contract was broken.
//!
//! # Running the suite for a backend
//!
//! Enable the `testkit` feature of `modelyard-core` in the backend's dev-dependencies (with
//! `tokio`), write one function that opens the backend in a fresh namespace, and hand it to
//! [`conformance_suite!`](crate::conformance_suite) in `tests/conformance.rs`:
//!
//! ```ignore
//! async fn fresh() -> modelyard_core::testkit::Fixture {
//!     let dir = tempfile::tempdir().unwrap();
//!     let backend = modelyard_storage_sled::SledStore::open(&modelyard_storage_sled::SledConfig::new(dir.path())).unwrap().backend();
//!     modelyard_core::testkit::Fixture::new(backend, dir)
//! }
//! modelyard_core::conformance_suite!(fresh);
//! ```
//!
//! The macro writes one `#[tokio::test]` per behaviour, in a module named after the trait, so
//! `cargo test --test conformance` lists `users::email_is_unique_case_insensitively`,
//! `queue::stale_claim_cannot_complete`, ... and `cargo test -- queue::` runs one trait's tests.
//!
//! Every test calls `fresh` for its own [`Fixture`]: a new temporary directory, database or key
//! prefix, which the fixture's guard keeps alive (and cleans up on drop). Tests never depend on
//! each other or on the order they run in.
//!
//! # Capabilities decide, never backend names
//!
//! A backend that offers no blob store, cache, job queue or event bus leaves that field of its
//! [`Backend`] `None`; that trait's tests then print `skipped: backend offers no <capability>`
//! and pass. The record stores are not optional.

pub mod blobs;
pub mod cache;
pub mod events;
pub mod history;
pub mod models;
pub mod notifications;
pub mod queue;
pub mod records;
pub mod runs;
mod samples;
mod suite;
mod trainer;
pub mod users;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

pub use samples::*;
pub use trainer::StepTrainer;

use crate::{Backend, Error, Result};

/// One test's backend, in a namespace no other test uses.
pub struct Fixture {
    /// The stores under test.
    pub backend: Backend,
    /// Whatever keeps the namespace alive (a temporary directory, a database dropper).
    guard: Box<dyn Any + Send + Sync>,
    /// The suite's modules this backend is tested on (`None`: all of them).
    only: Option<&'static [&'static str]>,
}

impl Fixture {
    /// Wraps a freshly opened backend with the guard of its namespace.
    pub fn new(backend: Backend, guard: impl Any + Send + Sync) -> Self {
        Self { backend, guard: Box::new(guard), only: None }
    }

    /// Tests only the suite's `modules` (`["blobs"]`, say) on this backend: the stores it
    /// fills in for the others (the record stores a blob-only backend needs to make a
    /// [`Backend`]) belong to another backend, so their tests say they skip, never pass.
    pub fn only(mut self, modules: &'static [&'static str]) -> Self {
        self.only = Some(modules);
        self
    }

    /// Whether the suite's `module` tests this backend; says it skips when not.
    pub fn covers(&self, module: &str) -> bool {
        let covered = self.only.is_none_or(|only| only.contains(&module));
        if !covered {
            println!("skipped: the {module} stores of this fixture are not the backend under test");
        }
        covered
    }

    /// The guard, if it is a `T` (e.g. the `tempfile::TempDir` a backend's own test reopens).
    pub fn guard<T: Any>(&self) -> Option<&T> {
        self.guard.downcast_ref()
    }
}

/// The URL of a test server in the environment variable `var`, or `None` after saying that the
/// test skips (`what` names what goes untested). Under `CI=true` a missing server is a broken
/// setup, not a reason to pass: the test fails, naming `var` (`scripts/test` starts them all).
pub fn service_url(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{var} is not set under CI=true: scripts/test starts the server"
            );
            println!("skipped: {var} is not set; {what} is not tested");
            None
        }
    }
}

/// The optional store `store`, or `None` after printing that the test is skipped.
pub(crate) fn offered<'a, T: ?Sized>(
    store: &'a Option<Arc<T>>,
    capability: &str,
) -> Option<&'a Arc<T>> {
    if store.is_none() {
        println!("skipped: backend offers no {capability}");
    }
    store.as_ref()
}

/// Asserts that `result` failed with the error kind `code`, and returns the error.
#[track_caller]
pub(crate) fn assert_code<T>(result: Result<T>, code: &str, context: &str) -> Error {
    match result {
        Ok(_) => panic!("{context}: expected {code}, got Ok"),
        Err(err) => {
            assert_eq!(err.code(), code, "{context}: expected {code}, got {err:?}");
            err
        }
    }
}

/// Builds `n` records a few milliseconds apart, so their ids and timestamps both order them.
pub(crate) async fn built_apart<T>(n: usize, mut build: impl FnMut() -> T) -> Vec<T> {
    let mut built = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        built.push(build());
    }
    built
}
