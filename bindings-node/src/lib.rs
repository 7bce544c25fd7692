//! The native addon behind the npm package `modelyard`: the async facade for Node. Every method
//! is one facade call plus the conversion of its arguments and result; it runs on the addon's
//! tokio runtime (threads `modelyard-rt`), never on Node's event loop, and settles a Promise.
//! One exception, bounded: a `predict` of a few rows is first tried on the JS thread and
//! answered at once when nothing has to be waited for (see `eager_view`).
//! Results are the facade's views, converted by serde with their camelCase names; errors are
//! `Error` objects with the facade's stable `code` (see `errors.rs`).

// `clippy --all-targets` checks this crate as a test target too, where napi registers nothing:
// every exported function looks unused there.
#![cfg_attr(test, allow(dead_code))]

mod convert;
mod errors;
mod feed;
mod run;
mod session;
mod yard;

use std::future::Future;
use std::task::{Context, Poll, Waker};

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue, within_runtime_if_available};
use napi::{Env, Unknown};
use serde::Serialize;

/// The runtime napi drives promises on is the one the facade's work runs on: a multi-threaded
/// tokio runtime with the same thread names as the Rust and Python flavours'.
#[napi_derive::module_init]
fn init() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("modelyard-rt")
        .build();
    // Without it napi starts its default runtime: the addon works the same.
    if let Ok(runtime) = runtime {
        napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
    }
}

/// A facade call as a Promise: `future` runs on the runtime; its result is converted by
/// `convert` on the JS thread, or its error becomes the `Error` of [`errors::to_js`].
fn promise<'env, T, V, F, C>(
    env: &'env Env,
    future: F,
    convert: C,
) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: Future<Output = modelyard::Result<T>> + Send + 'static,
    C: FnOnce(&'env Env, T) -> napi::Result<V> + 'static,
{
    env.spawn_future_with_callback(async move { Ok(future.await) }, move |env, result| match result
    {
        Ok(value) => convert(env, value),
        Err(err) => Err(errors::to_js(env, &err)),
    })
}

/// A facade call resolving to its result's view (a plain object with camelCase keys). The view
/// is written as JSON text on the runtime and read by `JSON.parse` on the JS thread, which for
/// every result but the smallest costs the event loop less than building it property by
/// property through napi.
fn view<'env, T, F>(env: &'env Env, future: F) -> napi::Result<PromiseRaw<'env, Unknown<'env>>>
where
    T: Serialize + Send + 'static,
    F: Future<Output = modelyard::Result<T>> + Send + 'static,
{
    let to_json = async move {
        let value = future.await?;
        serde_json::to_string(&value).map_err(modelyard::Error::internal)
    };
    promise(env, to_json, convert::parse_json)
}

/// [`view`] for a call that usually finishes without waiting and is bounded in work (a
/// `predict` of a few rows with a model already loaded, on an in-process store): the future is
/// first polled right here, on the JS thread, inside the runtime's context. If it finishes, the
/// Promise is settled at once, sparing the two thread hops (to a runtime thread and back) that
/// would otherwise cost several times the work; the moment it would wait (network, disk, a
/// blocking thread, a model to load) it continues on the runtime as [`view`] does. The first
/// poll registers no real waker, which is safe: the runtime polls a newly spawned task at once.
/// Only a result is settled at once; an error rejects on a later turn of the event loop.
fn eager_view<'env, T, F>(
    env: &'env Env,
    future: F,
) -> napi::Result<PromiseRaw<'env, Unknown<'env>>>
where
    T: Serialize + Send + 'static,
    F: Future<Output = modelyard::Result<T>> + Send + 'static,
{
    let mut future = Box::pin(future);
    let polled = within_runtime_if_available(|| {
        future.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    });
    match polled {
        Poll::Pending => view(env, future),
        Poll::Ready(Ok(value)) => {
            let text = serde_json::to_string(&value)
                .map_err(|err| errors::to_js(env, &modelyard::Error::internal(err)))?;
            PromiseRaw::resolve(env, convert::parse_json(env, text)?)
        }
        // A refusal is settled later, as every other call's is: a caller that holds several
        // promises before awaiting them must not meet an unhandled rejection.
        Poll::Ready(Err(err)) => view(env, std::future::ready(Err::<T, _>(err))),
    }
}
