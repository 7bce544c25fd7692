//! `Session`: a signed-in user's operations, each one facade call returning a Promise.

use modelyard::{DatasetId, ModelId, NotificationId, RunId};
use napi::JsValue;
use napi::bindgen_prelude::{
    AsyncGenerator, Buffer, JsObjectValue, Object, PromiseRaw, Uint8Array,
};
use napi::{Either, Env, Unknown};
use napi_derive::napi;
use serde_json::{Map, Value};

use crate::convert::{self, id};
use crate::feed::Feed;
use crate::run::Run;
use crate::{eager_view, promise, view};

/// Largest `predict` argument, as JSON, tried on the JS thread first (a few dozen rows): the
/// parsing, checks and model arithmetic stay within tens of microseconds, as the facade computes
/// small predictions inline (`INLINE_COST` in core's models).
const EAGER_PREDICT_BYTES: usize = 4096;

/// A signed-in user. Every call re-checks the token: after `logout()` the session is refused.
#[napi]
pub struct Session {
    session: modelyard::Session,
}

impl Session {
    pub fn new(session: modelyard::Session) -> Self {
        Self { session }
    }
}

#[napi]
impl Session {
    /// The access token, for `Authorization: Bearer <token>` or `yard.session(token)`.
    #[napi(getter)]
    pub fn token(&self) -> String {
        self.session.token().to_owned()
    }

    /// Who is signed in (as of sign-in).
    #[napi(getter, ts_return_type = "User")]
    pub fn user<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>> {
        env.to_js_value(self.session.user())
    }

    /// When the token expires (an RFC 3339 timestamp).
    #[napi(getter)]
    pub fn expires_at(&self) -> String {
        self.session.expires_at().to_string()
    }

    /// The signed-in user, read now.
    #[napi(ts_return_type = "Promise<User>")]
    pub fn me<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move { session.me().await })
    }

    /// Ends this session: its token is refused from now on.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn logout<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move { session.logout().await })
    }

    /// Changes the password; every token of the user, this one included, stops working.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn change_password<'env>(
        &self,
        env: &'env Env,
        current: String,
        new_password: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move { session.change_password(&current, &new_password).await })
    }

    /// Exports the signed-in account with its whole workspace (datasets, models, runs with
    /// their histories, notifications, and their files) into the file `path`; another
    /// deployment restores it with `yard.import(path)`.
    #[napi(ts_return_type = "Promise<BackupSummary>")]
    pub fn export<'env>(
        &self,
        env: &'env Env,
        path: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move { session.export(path).await })
    }

    /// Uploads a CSV dataset from a file path or from bytes (`Buffer` or `Uint8Array`). Without
    /// a name (`null`) it is named after the file (`iris` for `iris.csv`).
    #[napi(ts_return_type = "Promise<Dataset>")]
    pub fn upload_dataset<'env>(
        &self,
        env: &'env Env,
        name: Option<String>,
        source: Either<String, Uint8Array>,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let upload = convert::upload(name.as_deref(), source);
        let session = self.session.clone();
        view(env, async move { session.upload_dataset(name.as_deref(), upload).await })
    }

    /// The user's datasets, newest first: all of them, or with `{ limit, after }` one
    /// page of at most `limit` (default 100, at most 1,000) after the id `after`.
    #[napi(ts_return_type = "Promise<Dataset[]>")]
    pub fn datasets<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "ListOptions")] options: Option<Map<String, Value>>,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move { session.datasets_with(&convert::list_options(options)?).await })
    }

    /// One dataset.
    #[napi(ts_return_type = "Promise<Dataset>")]
    pub fn dataset<'env>(
        &self,
        env: &'env Env,
        dataset_id: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move {
            let id: DatasetId = id(&dataset_id)?;
            session.dataset(id).await
        })
    }

    /// A dataset's header and first `limit` rows (default 10), cells as written.
    #[napi(ts_return_type = "Promise<Preview>")]
    pub fn preview<'env>(
        &self,
        env: &'env Env,
        dataset_id: String,
        limit: Option<f64>,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move {
            let id: DatasetId = id(&dataset_id)?;
            let limit = convert::count("limit", limit.unwrap_or(10.0))?;
            session.preview(id, limit).await
        })
    }

    /// Deletes a dataset; `CONFLICT` while a model uses it.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn delete_dataset<'env>(
        &self,
        env: &'env Env,
        dataset_id: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move {
            let id: DatasetId = id(&dataset_id)?;
            session.delete_dataset(id).await
        })
    }

    /// Creates a model predicting `target` from `features` (default: every usable column).
    #[napi(ts_return_type = "Promise<Model>")]
    pub fn create_model<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "ModelRequest")] request: Value,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move { session.create_model(convert::model_request(request)?).await })
    }

    /// The user's models, newest first: all of them, or with `{ limit, after }` one
    /// page of at most `limit` (default 100, at most 1,000) after the id `after`.
    #[napi(ts_return_type = "Promise<Model[]>")]
    pub fn models<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "ListOptions")] options: Option<Map<String, Value>>,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move { session.models_with(&convert::list_options(options)?).await })
    }

    /// One model.
    #[napi(ts_return_type = "Promise<Model>")]
    pub fn model<'env>(
        &self,
        env: &'env Env,
        model_id: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move {
            let id: ModelId = id(&model_id)?;
            session.model(id).await
        })
    }

    /// A model's layers, output shapes and parameter counts.
    #[napi(ts_return_type = "Promise<ModelSummary>")]
    pub fn summary<'env>(
        &self,
        env: &'env Env,
        model_id: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move {
            let id: ModelId = id(&model_id)?;
            session.summary(id).await
        })
    }

    /// Deletes a finished run; `CONFLICT` while it is queued or running.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn delete_run<'env>(
        &self,
        env: &'env Env,
        run_id: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move {
            let id: RunId = id(&run_id)?;
            session.delete_run(id).await
        })
    }

    /// Deletes a model; `CONFLICT` while it trains.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn delete_model<'env>(
        &self,
        env: &'env Env,
        model_id: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move {
            let id: ModelId = id(&model_id)?;
            session.delete_model(id).await
        })
    }

    /// Queues a training run and resolves to its `Run`; every setting left out keeps its
    /// default, an unknown one is a `VALIDATION` error naming it.
    #[napi(ts_return_type = "Promise<Run>")]
    pub fn train<'env>(
        &self,
        env: &'env Env,
        model_id: String,
        #[napi(ts_arg_type = "TrainParams")] params: Option<Map<String, Value>>,
    ) -> napi::Result<PromiseRaw<'env, Run>> {
        let session = self.session.clone();
        promise(
            env,
            async move {
                let id: ModelId = id(&model_id)?;
                session.train(id, convert::train_params(params)?).await
            },
            |_, run| Ok(Run::new(run)),
        )
    }

    /// The user's runs, newest first, without their per-epoch histories (`epochsCompleted` says how far each got): all of them, or with `{ limit, after }` one
    /// page of at most `limit` (default 100, at most 1,000) after the id `after`.
    #[napi(ts_return_type = "Promise<TrainingRun[]>")]
    pub fn runs<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "ListOptions")] options: Option<Map<String, Value>>,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move { session.runs_with(&convert::list_options(options)?).await })
    }

    /// A handle on one of the user's runs.
    #[napi(ts_return_type = "Promise<Run>")]
    pub fn run<'env>(&self, env: &'env Env, run_id: String) -> napi::Result<PromiseRaw<'env, Run>> {
        let session = self.session.clone();
        promise(
            env,
            async move {
                let id: RunId = id(&run_id)?;
                session.run(id).await
            },
            |_, run| Ok(Run::new(run)),
        )
    }

    /// Predicts rows given as objects keyed by column name. Every feature needs a value: a
    /// missing one (absent, `null`, `''`, `'NaN'`) is a `VALIDATION` error naming it, unless
    /// `{ allowMissing: true }` lets the model impute it.
    #[napi(ts_return_type = "Promise<Prediction[]>")]
    pub fn predict<'env>(
        &self,
        env: &'env Env,
        model_id: String,
        #[napi(ts_arg_type = "Array<Record<string, string | number | boolean | null>>")]
        rows: Unknown<'_>,
        #[napi(ts_arg_type = "PredictOptions")] options: Option<Map<String, Value>>,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        let rows = convert::json_text(env, "rows", rows);
        // A few rows (the common one-request-one-row case) are predicted without leaving the
        // JS thread when nothing has to be waited for; see `eager_view`.
        let small = rows.as_ref().is_ok_and(|json| json.len() <= EAGER_PREDICT_BYTES);
        let predict = async move {
            let id: ModelId = id(&model_id)?;
            let options = convert::predict_options(options)?;
            session.predict_with(id, &convert::rows(&rows?)?, options).await
        };
        if small { eager_view(env, predict) } else { view(env, predict) }
    }

    /// Scores a model on a dataset holding its features and target.
    #[napi(ts_return_type = "Promise<Evaluation>")]
    pub fn evaluate<'env>(
        &self,
        env: &'env Env,
        model_id: String,
        dataset_id: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move {
            let model: ModelId = id(&model_id)?;
            let dataset: DatasetId = id(&dataset_id)?;
            session.evaluate(model, dataset).await
        })
    }

    /// A dataset's whole CSV (formula-like cells neutralised) and a file name to save it under.
    #[napi(ts_return_type = "Promise<DatasetDownload>")]
    pub fn download_dataset<'env>(
        &self,
        env: &'env Env,
        dataset_id: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        let download = async move {
            let download = session.download_dataset(id(&dataset_id)?).await?;
            let (dataset, filename) = (download.dataset.clone(), download.filename.clone());
            Ok((dataset, filename, download.bytes().await?))
        };
        promise(env, download, |env, (dataset, filename, csv)| {
            let mut object = Object::new(env)?;
            object.set_named_property("dataset", env.to_js_value(&dataset)?)?;
            object.set_named_property("filename", filename)?;
            object.set_named_property("csv", Buffer::from(csv.to_vec()))?;
            Ok(object.to_unknown())
        })
    }

    /// The trained model as a zip archive: `filename`, `files` and the bytes in `data`.
    #[napi(ts_return_type = "Promise<ModelArchive>")]
    pub fn model_archive<'env>(
        &self,
        env: &'env Env,
        model_id: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        promise(
            env,
            async move {
                let id: ModelId = id(&model_id)?;
                session.model_archive(id).await
            },
            |env, archive| {
                let mut object = Object::new(env)?;
                object.set_named_property("filename", archive.filename)?;
                object.set_named_property("files", env.to_js_value(&archive.files)?)?;
                object.set_named_property("data", Buffer::from(archive.zip.to_vec()))?;
                Ok(object.to_unknown())
            },
        )
    }

    /// The user's notifications, newest first: all of them, or with `{ limit, after }` one
    /// page of at most `limit` (default 100, at most 1,000) after the id `after`.
    #[napi(ts_return_type = "Promise<Notification[]>")]
    pub fn notifications<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "ListOptions")] options: Option<Map<String, Value>>,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move { session.notifications_with(&convert::list_options(options)?).await })
    }

    /// The user's notifications as they happen, an async iterator (`for await (const n of
    /// session.notificationEvents())`) that goes on until the loop is left.
    #[napi]
    pub fn notification_events(&self) -> NotificationEvents {
        let session = self.session.clone();
        NotificationEvents {
            feed: Feed::new(move || {
                let session = session.clone();
                async move { session.notification_events().await }
            }),
        }
    }

    /// Marks a notification read and resolves to it.
    #[napi(ts_return_type = "Promise<Notification>")]
    pub fn mark_read<'env>(
        &self,
        env: &'env Env,
        notification_id: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let session = self.session.clone();
        view(env, async move {
            let id: NotificationId = id(&notification_id)?;
            session.mark_read(id).await
        })
    }
}

/// A user's live notifications (`Notification` objects): an async iterator that goes on until
/// the loop is left (which releases the stream).
#[napi(async_iterator)]
pub struct NotificationEvents {
    feed: Feed,
}

#[napi]
impl AsyncGenerator for NotificationEvents {
    type Yield = crate::feed::Notification;
    type Next = ();
    type Return = ();

    fn next(
        &mut self,
        _value: Option<Self::Next>,
    ) -> impl std::future::Future<Output = napi::Result<Option<Self::Yield>>> + Send + 'static {
        self.feed.next()
    }

    fn complete(
        &mut self,
        _value: Option<Self::Return>,
    ) -> impl std::future::Future<Output = napi::Result<Option<Self::Yield>>> + Send + 'static {
        self.feed.close()
    }
}
