//! A live stream of the facade (a run's events, a user's notifications) behind a JavaScript
//! async iterator: opened at the first `next()`, read one item per `next()`, released by
//! `return()` (leaving a `for await` loop early) or at its end.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use napi::Status;
use serde::Serialize;
use tokio::sync::Mutex;

type Items = BoxStream<'static, modelyard::Result<serde_json::Value>>;
type Opening = Pin<Box<dyn Future<Output = modelyard::Result<Items>> + Send>>;

enum State {
    NotOpened,
    Open(Items),
    Closed,
}

/// One live stream and how to open it.
pub struct Feed {
    open: Arc<dyn Fn() -> Opening + Send + Sync>,
    /// An async lock: one `next()` at a time reads the stream.
    state: Arc<Mutex<State>>,
}

impl Feed {
    /// A feed of the stream `open` resolves to, each item converted to a plain object.
    pub fn new<T, F, O>(open: O) -> Self
    where
        T: Serialize + 'static,
        F: Future<Output = modelyard::Result<BoxStream<'static, modelyard::Result<T>>>>
            + Send
            + 'static,
        O: Fn() -> F + Send + Sync + 'static,
    {
        let open = move || -> Opening {
            let opening = open();
            Box::pin(async move {
                let items = opening
                    .await?
                    .map(|item| serde_json::to_value(item?).map_err(modelyard::Error::internal));
                Ok(items.boxed())
            })
        };
        Self { open: Arc::new(open), state: Arc::new(Mutex::new(State::NotOpened)) }
    }

    /// The next item, `None` once the stream has ended or was released.
    pub fn next(
        &self,
    ) -> impl Future<Output = napi::Result<Option<serde_json::Value>>> + Send + 'static {
        let (open, state) = (self.open.clone(), self.state.clone());
        async move {
            let mut state = state.lock().await;
            if matches!(*state, State::NotOpened) {
                *state = State::Open(open().await.map_err(plain)?);
            }
            let State::Open(items) = &mut *state else { return Ok(None) };
            match items.next().await {
                Some(item) => item.map(Some).map_err(plain),
                None => {
                    *state = State::Closed;
                    Ok(None)
                }
            }
        }
    }

    /// Releases the stream; later `next()` calls end at once.
    pub fn close(
        &self,
    ) -> impl Future<Output = napi::Result<Option<serde_json::Value>>> + Send + 'static {
        let state = self.state.clone();
        async move {
            *state.lock().await = State::Closed;
            Ok(None)
        }
    }
}

/// A stream error for the iterator protocol, which carries a message and a status only: the
/// facade's code leads the message.
fn plain(err: modelyard::Error) -> napi::Error {
    napi::Error::new(Status::GenericFailure, format!("{}: {err}", err.code()))
}

/// A `RunEvent` of `run.events()`. napi's declaration writer names a type it does not know by
/// its Rust name, so `index.d.ts` reads `RunEvent`, which `types.d.ts` (its header) declares.
pub type RunEvent = serde_json::Value;
/// A `Notification` of `session.notificationEvents()`, named in `index.d.ts` the same way.
pub type Notification = serde_json::Value;
