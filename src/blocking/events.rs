//! Live event streams as blocking iterators that can also wait a bounded time.

use std::iter::FusedIterator;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;

use super::OpenYard;
use crate::{Notification, Result, RunEvent};

/// A run's events, blocking: [`super::Run::events`].
pub type RunEvents = Events<RunEvent>;

/// A user's live notifications, blocking: [`super::Session::notification_events`].
pub type NotificationEvents = Events<Notification>;

/// What [`Events::next_timeout`] got within its time.
#[derive(Debug, Clone, PartialEq)]
pub enum Next<T> {
    /// The next item (an event, or an error reading it).
    Item(T),
    /// Nothing arrived in time. The stream goes on: ask again, nothing is lost meanwhile.
    TimedOut,
    /// The stream has ended (a run's, after its final status); every later call says so again.
    Ended,
}

/// A live event stream, blocking: an [`Iterator`] of `Result<T>` whose
/// [`next`](Iterator::next) waits as long as it takes, plus [`Events::next_timeout`] for a
/// bounded wait. It keeps its stream between calls, so waiting in short slices (to check for
/// Ctrl-C, say) misses no event.
///
/// A call that cannot run here (inside an async runtime, or in a child after `fork()`) yields
/// that error once and ends the iterator.
pub struct Events<T> {
    /// `None` once ended.
    stream: Option<BoxStream<'static, Result<T>>>,
    // Last, so that the stream is gone before the open yard it may outlive.
    open: Arc<OpenYard>,
}

impl<T> Events<T> {
    pub(super) fn new(stream: BoxStream<'static, Result<T>>, open: Arc<OpenYard>) -> Self {
        Self { stream: Some(stream), open }
    }

    /// The next item if one arrives within `timeout`: [`Next::Item`], [`Next::TimedOut`] (the
    /// stream goes on) or [`Next::Ended`]. An item already waiting is returned even with a zero
    /// timeout.
    pub fn next_timeout(&mut self, timeout: Duration) -> Next<Result<T>> {
        let Some(stream) = self.stream.as_mut() else { return Next::Ended };
        let next =
            self.open.block_on(async { Ok(tokio::time::timeout(timeout, stream.next()).await) });
        match next {
            Ok(Ok(Some(item))) => Next::Item(item),
            Ok(Err(_elapsed)) => Next::TimedOut,
            Ok(Ok(None)) => {
                self.end();
                Next::Ended
            }
            Err(cannot_block_here) => {
                self.end();
                Next::Item(Err(cannot_block_here))
            }
        }
    }

    /// Lets the stream go, inside the runtime (or forgotten after `fork()`).
    fn end(&mut self) {
        if let Some(stream) = self.stream.take() {
            self.open.runtime.dispose(stream);
        }
    }
}

impl<T> Iterator for Events<T> {
    type Item = Result<T>;

    /// Waits for the next item; `None` once the stream has ended.
    fn next(&mut self) -> Option<Result<T>> {
        let stream = self.stream.as_mut()?;
        match self.open.block_on(async { Ok(stream.next().await) }) {
            Ok(Some(item)) => Some(item),
            Ok(None) => {
                self.end();
                None
            }
            Err(cannot_block_here) => {
                self.end();
                Some(Err(cannot_block_here))
            }
        }
    }
}

impl<T> FusedIterator for Events<T> {}

impl<T> Drop for Events<T> {
    fn drop(&mut self) {
        self.end();
    }
}

impl<T> std::fmt::Debug for Events<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").field("ended", &self.stream.is_none()).finish_non_exhaustive()
    }
}
