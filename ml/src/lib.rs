//! Modelyard's default [`modelyard_core::Trainer`]: preprocessing fitted on the training split,
//! MLPs on candle (CPU), metrics and `weights.safetensors` + `model.json` artifacts.
