//! Live streams that end with their session: a user's notification feed or a run's events,
//! opened through a [`crate::Session`], stop when its token stops being valid — logged out, the
//! password changed, the account deleted, or simply expired — with one `Unauthorized` item,
//! rather than delivering to whoever still holds the connection.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;

use crate::{Error, Modelyard, Result};

/// How often an open stream re-checks its token. Checking is one token verification and, with
/// MongoDB, a cached user read: cheap enough for thousands of open streams.
const RECHECK: Duration = Duration::from_secs(2);

/// A session's token, re-checked while its streams are open.
#[derive(Clone)]
pub(crate) struct SignedIn {
    yard: Modelyard,
    token: String,
}

impl SignedIn {
    pub(crate) fn new(yard: Modelyard, token: String) -> Self {
        Self { yard, token }
    }

    /// `items`, ending after an `Unauthorized` item once the token is refused.
    pub(crate) fn guard<T: Send + 'static>(
        &self,
        items: BoxStream<'static, Result<T>>,
    ) -> BoxStream<'static, Result<T>> {
        let revoked = Box::pin(self.clone().revoked());
        futures::stream::unfold(Some((items, revoked)), |state| async move {
            let (mut items, mut revoked) = state?;
            tokio::select! {
                item = items.next() => item.map(|item| (item, Some((items, revoked)))),
                err = &mut revoked => Some((Err(err), None)),
            }
        })
        .boxed()
    }

    /// Resolves, with the refusal, once the token is refused. A store that cannot answer for
    /// a moment does not end the stream: only a refusal does.
    async fn revoked(self) -> Error {
        let mut tick = tokio::time::interval(RECHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate: the session was just checked
        loop {
            tick.tick().await;
            match self.yard.inner.auth.authenticate(&self.token).await {
                Err(err @ Error::Unauthorized(_)) => return err,
                Err(err) => tracing::debug!(%err, "a live stream's token could not be checked"),
                Ok(_) => {}
            }
        }
    }
}
