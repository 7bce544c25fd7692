//! The training engine's contract, for plugging in an engine of your own with
//! [`crate::Config::with_trainer`]. The built-in one ([`crate::default_trainer`]) trains
//! multilayer perceptrons on the CPU.

pub use modelyard_core::{
    CancelToken, Checkpoint, ColumnValues, Table, TableColumn, TrainedModel, Trainer,
    TrainingInput, TrainingObserver, TrainingOutcome,
};

/// A model definition as the engine receives it in [`TrainingInput::model`]: the stored
/// record, where users see [`crate::Model`].
pub use modelyard_core::Model as ModelRecord;
