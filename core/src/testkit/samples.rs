//! Valid sample records for the suite and for backends' own tests.
//!
//! Every builder returns a fresh id and a fresh timestamp, so records built one after another
//! order the same way by id and by time.

use std::collections::BTreeMap;

use crate::{
    BlobKey, CategoryCount, ColumnKind, ColumnSchema, ColumnStats, Dataset, DatasetId,
    DatasetSchema, EpochMetrics, LayerSummary, Model, ModelId, ModelSummary, Notification,
    NotificationId, NotificationKind, Profile, RunId, Task, TrainParams, TrainingRun, User, UserId,
    default_layers, now,
};

/// An email address no other test uses, so tests never collide even in a shared namespace.
pub fn unique_email() -> String {
    format!("user.{}@example.com", uuid::Uuid::new_v4().simple())
}

/// A username no other test uses (valid: 3..=32 of `[A-Za-z0-9_.-]`).
pub fn unique_username() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("user_{}", &random[..16])
}

/// A valid user with `email`, a unique username and a well-formed (not computed) argon2id hash.
pub fn sample_user(email: &str) -> User {
    let username = unique_username();
    User {
        id: UserId::new(),
        username: username.clone(),
        email: email.trim().to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FtcGxlc2FsdA$\
                        7bd0lMLgdhMOIYKQpA0I0r5ExBQ7RFdF1sYcO30URKA"
            .to_owned(),
        profile: Profile { display_name: username, created_at: now() },
        token_version: 0,
        revoked_tokens: Vec::new(),
    }
}

/// A valid dataset record of `owner`: two columns, one numeric and one categorical.
pub fn sample_dataset(owner: UserId) -> Dataset {
    Dataset {
        id: DatasetId::new(),
        owner,
        name: "Iris sample".to_owned(),
        original_filename: "iris.csv".to_owned(),
        blob_key: BlobKey::generate("datasets").expect("`datasets` is a valid key prefix"),
        size_bytes: 2_048,
        row_count: 3,
        schema: DatasetSchema {
            delimiter: ',',
            columns: vec![
                ColumnSchema {
                    name: "sepal_length".to_owned(),
                    kind: ColumnKind::Numeric,
                    missing: 0,
                    distinct: 3,
                    stats: ColumnStats::Numeric {
                        min: 4.9,
                        max: 6.3,
                        mean: 5.6,
                        std: 0.571_547_606_649_408_2,
                        integers: false,
                        values: Some(vec![
                            CategoryCount { value: "4.9".to_owned(), count: 1 },
                            CategoryCount { value: "5.6".to_owned(), count: 1 },
                            CategoryCount { value: "6.3".to_owned(), count: 1 },
                        ]),
                    },
                },
                ColumnSchema {
                    name: "species".to_owned(),
                    kind: ColumnKind::Categorical,
                    missing: 1,
                    distinct: 2,
                    stats: ColumnStats::Categories {
                        categories: vec![
                            CategoryCount { value: "setosa".to_owned(), count: 1 },
                            CategoryCount { value: "virginica".to_owned(), count: 1 },
                        ],
                    },
                },
            ],
        },
        uploaded_at: now(),
    }
}

/// A valid, untrained model of `owner` on `dataset` (the columns of [`sample_dataset`]).
pub fn sample_model(owner: UserId, dataset: DatasetId) -> Model {
    let layer = |name: &str, kind: &str, width: u64, params: u64| LayerSummary {
        name: name.to_owned(),
        kind: kind.to_owned(),
        output_shape: vec![None, Some(width)],
        params,
        trainable_params: params,
    };
    Model {
        id: ModelId::new(),
        owner,
        name: "Species classifier".to_owned(),
        dataset_id: dataset,
        target: "species".to_owned(),
        features: vec!["sepal_length".to_owned()],
        task: Task::Classification,
        layers: default_layers(),
        summary: ModelSummary {
            input_width: 1,
            layers: vec![
                layer("dense_1", "Dense (relu)", 64, 128),
                layer("dense_2", "Dense (relu)", 32, 2_080),
                layer("output", "Dense (softmax)", 2, 66),
            ],
            total_params: 2_274,
            trainable_params: 2_274,
        },
        latest_version: None,
        created_at: now(),
    }
}

/// A valid queued run of `owner` training `model` on `dataset`, with default parameters.
pub fn sample_run(owner: UserId, model: ModelId, dataset: DatasetId) -> TrainingRun {
    TrainingRun::queued(owner, model, dataset, TrainParams::default())
}

/// A valid unread notification of `owner` about a finished run.
pub fn sample_notification(owner: UserId) -> Notification {
    Notification {
        id: NotificationId::new(),
        owner,
        kind: NotificationKind::RunCompleted,
        run_id: Some(RunId::new()),
        message: "Training finished: accuracy 0.93.".to_owned(),
        read: false,
        created_at: now(),
    }
}

/// Plausible classification metrics for epoch `n` (1-based), distinct for every `n`.
pub fn sample_epoch(n: u32) -> EpochMetrics {
    let x = f64::from(n);
    EpochMetrics {
        epoch: n,
        loss: 1.0 / (x + 1.0),
        accuracy: Some(1.0 - 0.5 / (x + 1.0)),
        r2: None,
        val_loss: Some(1.1 / (x + 1.0)),
        val_accuracy: Some(1.0 - 0.6 / (x + 1.0)),
        val_r2: None,
        learning_rate: 1e-3,
        duration_ms: 10 * u64::from(n),
        samples_per_sec: 12_500.5,
    }
}

/// Final metrics as a finished run stores them.
pub fn sample_final_metrics() -> BTreeMap<String, f64> {
    BTreeMap::from([
        ("loss".to_owned(), 0.125),
        ("accuracy".to_owned(), 0.93),
        ("val_accuracy".to_owned(), 0.9),
    ])
}
