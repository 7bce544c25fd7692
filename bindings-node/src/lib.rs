//! The native addon behind the npm package `modelyard`: the async facade for Node. Every method
//! is one facade call plus the conversion of its arguments and result; it runs on the addon's
//! tokio runtime (threads `modelyard-rt`), never on Node's event loop, and settles a Promise.
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

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
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

/// A facade call resolving to its result's view (a plain object with camelCase keys).
fn view<'env, T, F>(env: &'env Env, future: F) -> napi::Result<PromiseRaw<'env, Unknown<'env>>>
where
    T: Serialize + Send + 'static,
    F: Future<Output = modelyard::Result<T>> + Send + 'static,
{
    promise(env, future, |env, value| env.to_js_value(&value))
}
