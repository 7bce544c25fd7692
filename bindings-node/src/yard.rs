//! `open(...)` and the `Modelyard` it resolves to.

use napi::bindgen_prelude::PromiseRaw;
use napi::{Env, Unknown};
use napi_derive::napi;
use serde_json::Value;

use crate::session::Session;
use crate::{convert, promise, view};

/// Opens a store: `await open('sled://./data')` or `await open({ store, cache, jwtSecret,
/// workers, ... })`, the options being `ConfigSpec`'s settings in camelCase. An unknown key is a
/// `VALIDATION` error naming it.
#[napi(ts_return_type = "Promise<Modelyard>")]
pub fn open(
    env: &Env,
    #[napi(ts_arg_type = "string | OpenOptions")] target: Value,
) -> napi::Result<PromiseRaw<'_, Modelyard>> {
    let opening = async move { modelyard::Modelyard::open(convert::spec(target)?).await };
    promise(env, opening, |_, yard| Ok(Modelyard { yard }))
}

/// An open Modelyard. `close()` stops its training workers; a process with no open yard exits.
#[napi]
pub struct Modelyard {
    yard: modelyard::Modelyard,
}

#[napi]
impl Modelyard {
    /// Creates an account and resolves to a signed-in session.
    #[napi(ts_return_type = "Promise<Session>")]
    pub fn register<'env>(
        &self,
        env: &'env Env,
        username: String,
        email: String,
        password: String,
    ) -> napi::Result<PromiseRaw<'env, Session>> {
        let yard = self.yard.clone();
        promise(env, async move { yard.register(&username, &email, &password).await }, |_, s| {
            Ok(Session::new(s))
        })
    }

    /// Signs in.
    #[napi(ts_return_type = "Promise<Session>")]
    pub fn login<'env>(
        &self,
        env: &'env Env,
        email: String,
        password: String,
    ) -> napi::Result<PromiseRaw<'env, Session>> {
        let yard = self.yard.clone();
        promise(env, async move { yard.login(&email, &password).await }, |_, s| Ok(Session::new(s)))
    }

    /// The session of an access token (a bearer token from a request), checked now.
    #[napi(ts_return_type = "Promise<Session>")]
    pub fn session<'env>(
        &self,
        env: &'env Env,
        token: String,
    ) -> napi::Result<PromiseRaw<'env, Session>> {
        let yard = self.yard.clone();
        promise(env, async move { yard.session(&token).await }, |_, s| Ok(Session::new(s)))
    }

    /// Backs up every account and everything it owns into the file `path`: a checksummed
    /// archive, created 0600, replacing a file there only once complete.
    #[napi(ts_return_type = "Promise<BackupSummary>")]
    pub fn export<'env>(
        &self,
        env: &'env Env,
        path: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let yard = self.yard.clone();
        view(env, async move { yard.export(path).await })
    }

    /// Backs up one account, found by `email`, with its whole workspace into the file `path`.
    #[napi(ts_return_type = "Promise<BackupSummary>")]
    pub fn export_account<'env>(
        &self,
        env: &'env Env,
        email: String,
        path: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let yard = self.yard.clone();
        view(env, async move { yard.export_account(&email, path).await })
    }

    /// Restores an archive of `export` into this yard's stores. The whole archive is checked
    /// first: a damaged or truncated one rejects with `VALIDATION` (field `archive`), one whose
    /// accounts or files exist here with `CONFLICT`, and nothing is written.
    #[napi(js_name = "import", ts_return_type = "Promise<BackupSummary>")]
    pub fn import_archive<'env>(
        &self,
        env: &'env Env,
        path: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let yard = self.yard.clone();
        view(env, async move { yard.import(path).await })
    }

    /// Resolves when the record store answers; rejects with `UNAVAILABLE` while it is down.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn check_ready<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let yard = self.yard.clone();
        view(env, async move { yard.check_ready().await })
    }

    /// Stops this yard's training workers gracefully (a run in flight goes back to the queue)
    /// and resolves once they have stopped. Closing twice is harmless.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let yard = self.yard.clone();
        view(env, async move {
            yard.close().await;
            Ok(())
        })
    }
}
