//! `Run` and its live `RunEvents`, an async iterator: `for await (const event of run.events())`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use modelyard::TrainingRun;
use napi::bindgen_prelude::{AbortSignal, AsyncGenerator, PromiseRaw};
use napi::{Env, Unknown};
use napi_derive::napi;
use serde_json::{Map, Value};
use tokio::sync::Notify;

use crate::errors::{aborted, validation};
use crate::feed::Feed;
use crate::{promise, view};

/// One training run: its status and history, its live events, a wait for its end, a cancel.
#[napi]
pub struct Run {
    run: modelyard::Run,
}

impl Run {
    pub fn new(run: modelyard::Run) -> Self {
        Self { run }
    }
}

/// How `run.wait()` waits.
#[napi(object, object_to_js = false)]
pub struct WaitOptions {
    /// Rejects the wait with an `AbortError` when it fires (the run goes on).
    pub signal: Option<AbortSignal>,
    /// Rejects the wait with a `TIMEOUT`-coded error after this many milliseconds.
    pub timeout_ms: Option<f64>,
}

/// How a wait ended, when it did not end with the run.
enum Waited {
    Finished(Box<TrainingRun>),
    Aborted,
    TimedOut(Duration),
}

#[napi]
impl Run {
    /// The run's id.
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.run.id().to_string()
    }

    /// The run, read now.
    #[napi(ts_return_type = "Promise<TrainingRun>")]
    pub fn get<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let run = self.run.clone();
        view(env, async move { run.get().await })
    }

    /// Its status now: `queued`, `running`, `completed`, `failed` or `cancelled`.
    #[napi(ts_return_type = "Promise<RunStatus>")]
    pub fn status<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let run = self.run.clone();
        view(env, async move { run.status().await })
    }

    /// Per-epoch metrics so far, oldest first: all of them, or with `limit` (default 100, at
    /// most 1,000) and/or `after` (the last epoch number of the page before) one page.
    #[napi(ts_return_type = "Promise<EpochMetrics[]>")]
    pub fn history<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "HistoryOptions")] options: Option<Map<String, Value>>,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let run = self.run.clone();
        view(env, async move {
            let options = modelyard::HistoryOptions::from_json_map(options.unwrap_or_default())?;
            run.history_with(&options).await
        })
    }

    /// Its history so far, then live epochs and status changes, ending after the final status.
    /// Leaving a `for await` loop early releases the stream.
    #[napi]
    pub fn events(&self) -> RunEvents {
        let run = self.run.clone();
        RunEvents {
            feed: Feed::new(move || {
                let run = run.clone();
                async move { run.events().await }
            }),
        }
    }

    /// Resolves to the run once it has ended. `{ signal }` rejects the wait with an
    /// `AbortError` when the signal fires, `{ timeoutMs }` with a `TIMEOUT` error; neither
    /// stops the run (`cancel()` does).
    #[napi(ts_return_type = "Promise<TrainingRun>")]
    pub fn wait<'env>(
        &self,
        env: &'env Env,
        options: Option<WaitOptions>,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let (signal, timeout) = match options {
            Some(WaitOptions { signal, timeout_ms }) => (signal, timeout_ms),
            None => (None, None),
        };
        let timeout = timeout
            .map(|ms| Duration::try_from_secs_f64(ms / 1000.0))
            .transpose()
            .map_err(|err| validation("timeoutMs", format!("not a number of milliseconds: {err}")));
        let abort = Arc::new(Notify::new());
        if let Some(signal) = signal {
            let abort = abort.clone();
            signal.on_abort(move || abort.notify_one());
        }
        let run = self.run.clone();
        let waited = async move {
            let timeout = timeout?;
            let finished = run.wait();
            let limit = async {
                match timeout {
                    Some(timeout) => tokio::time::sleep(timeout).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                finished = finished => finished.map(|run| Waited::Finished(Box::new(run))),
                () = abort.notified() => Ok(Waited::Aborted),
                () = limit => Ok(Waited::TimedOut(timeout.unwrap_or_default())),
            }
        };
        let id = self.run.id();
        promise(env, waited, move |env, waited| match waited {
            Waited::Finished(run) => env.to_js_value(&run),
            Waited::Aborted => Err(aborted(env)),
            Waited::TimedOut(after) => {
                Err(crate::errors::timed_out(env, &format!("run {id} still going after {after:?}")))
            }
        })
    }

    /// Asks the run to stop (a running one stops within one batch) and resolves to it.
    #[napi(ts_return_type = "Promise<TrainingRun>")]
    pub fn cancel<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let run = self.run.clone();
        view(env, async move { run.cancel().await })
    }
}

/// A run's live events (`RunEvent` objects), in order: an async iterator that ends after the
/// final status. The stream opens at the first `next()`.
#[napi(async_iterator)]
pub struct RunEvents {
    feed: Feed,
}

#[napi]
impl AsyncGenerator for RunEvents {
    type Yield = crate::feed::RunEvent;
    type Next = ();
    type Return = ();

    fn next(
        &mut self,
        _value: Option<Self::Next>,
    ) -> impl Future<Output = napi::Result<Option<Self::Yield>>> + Send + 'static {
        self.feed.next()
    }

    fn complete(
        &mut self,
        _value: Option<Self::Return>,
    ) -> impl Future<Output = napi::Result<Option<Self::Yield>>> + Send + 'static {
        self.feed.close()
    }
}
