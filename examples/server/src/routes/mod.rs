//! The REST API of DESIGN.md §9, one module per route group.

pub mod auth;
pub mod data;
pub mod files;
pub mod health;
pub mod model;
pub mod notif;
pub mod training;
