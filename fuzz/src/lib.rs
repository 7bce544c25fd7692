//! What the fuzz targets share: one server, in process, on a fresh sled store, with a signed-in
//! user who owns an uploaded and trained iris model, so that request bodies reach the facade's
//! checks instead of stopping at "not found".

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use modelyard::{Config, Modelyard, ModelRequest, TrainParams, Upload};
use modelyard_server::{AppState, ServerSettings, app};
use tower::ServiceExt;

/// The shared server and the ids a fuzz input may refer to.
pub struct Harness {
    pub runtime: tokio::runtime::Runtime,
    pub yard: Modelyard,
    router: axum::Router,
    pub token: String,
    pub model: String,
    pub dataset: String,
    _dir: tempfile::TempDir,
}

/// The harness, built once per fuzzing process.
pub fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(build)
}

fn build() -> Harness {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let iris = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/iris.csv");
    let (yard, token, model, dataset) = runtime.block_on(async {
        let store = format!("sled://{}", dir.path().display());
        let mut config = Config::new(&store).unwrap();
        config.jwt_secret = Some(b"fuzzing-secret-fuzzing-secret-fuzzing-0123".to_vec());
        // A run a fuzz input starts stays short: iris (150 rows) for at most 60 epochs.
        config.training.cost_limits.max_row_epochs = 9_000;
        let yard = Modelyard::open(config).await.unwrap();
        let ada = yard.register("ada", "ada@example.com", "a long enough passphrase").await.unwrap();
        let dataset = ada.upload_dataset(Some("iris"), Upload::path(iris)).await.unwrap();
        let request = ModelRequest {
            name: "iris mlp".into(),
            dataset_id: dataset.id,
            target: "species".into(),
            features: None,
            task: None,
            layers: None,
        };
        let model = ada.create_model(request).await.unwrap();
        let params = TrainParams { epochs: 3, ..TrainParams::default() };
        ada.train(model.id, params).await.unwrap().wait().await.unwrap();
        (yard.clone(), ada.token().to_owned(), model.id.to_string(), dataset.id.to_string())
    });
    let settings = ServerSettings { api_rate: None, ..ServerSettings::default() };
    let router = app(AppState::new(yard.clone(), settings));
    Harness { runtime, yard, router, token, model, dataset, _dir: dir }
}

impl Harness {
    /// Sends one request as the signed-in user from loopback; the answer's status.
    pub fn call(&self, method: Method, path: &str, content_type: &str, body: Vec<u8>) -> StatusCode {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 9))));
        let router = self.router.clone();
        self.runtime.block_on(async move { router.oneshot(request).await.unwrap().status() })
    }
}

/// An answer that is the server's fault: what no input may cause.
pub fn assert_not_server_error(status: StatusCode, what: &str) {
    assert!(!status.is_server_error(), "{what} answered {status}");
}
