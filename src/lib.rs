//! Modelyard: a self-hostable machine-learning training platform.
pub use modelyard_core as core;
