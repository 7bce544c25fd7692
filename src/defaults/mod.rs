//! In-process implementations for what a backend does not provide.

mod cache;
mod events;

pub use cache::MokaCache;
pub use events::LocalEventBus;
