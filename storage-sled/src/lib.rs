//! Modelyard's embedded default backend: every store trait on sled.
