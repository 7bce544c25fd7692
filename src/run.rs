//! A handle on one training run.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use modelyard_core::training::TrainingService;

use crate::signed_in::SignedIn;
use crate::{EpochMetrics, Result, RunEvent, RunId, RunStatus, TrainingRun, UserId};

/// One training run: read its status and history, follow it live, wait for it, cancel it.
#[derive(Clone)]
pub struct Run {
    training: TrainingService,
    owner: UserId,
    id: RunId,
    /// The session it was reached through, whose end ends its live events.
    signed_in: Option<SignedIn>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run").field("id", &self.id).field("owner", &self.owner).finish()
    }
}

impl Run {
    pub(crate) fn new(training: TrainingService, owner: UserId, id: RunId) -> Self {
        Self { training, owner, id, signed_in: None }
    }

    /// This handle's live events end when `session` does.
    pub(crate) fn signed_in(self, session: SignedIn) -> Self {
        Self { signed_in: Some(session), ..self }
    }

    /// The run's id.
    pub fn id(&self) -> RunId {
        self.id
    }

    /// The run, read now.
    pub async fn get(&self) -> Result<TrainingRun> {
        Ok(self.training.get(self.owner, self.id).await?.into())
    }

    /// Its status now.
    pub async fn status(&self) -> Result<RunStatus> {
        Ok(self.get().await?.status)
    }

    /// Per-epoch metrics so far.
    pub async fn history(&self) -> Result<Vec<EpochMetrics>> {
        self.training.history(self.owner, self.id).await
    }

    /// Its history so far, then live epochs and status changes, ending after the final status.
    /// Reached through a [`crate::Session`], the events also end (after an `Unauthorized` item)
    /// once the session's token is refused.
    pub async fn events(&self) -> Result<BoxStream<'static, Result<RunEvent>>> {
        let events = self.training.follow(self.owner, self.id).await?;
        Ok(match &self.signed_in {
            Some(session) => session.guard(events),
            None => events,
        })
    }

    /// Waits until the run ends and returns it. Follows live events and also re-reads the
    /// record now and then, so a missed event never leaves it waiting.
    pub async fn wait(&self) -> Result<TrainingRun> {
        let mut events = self.events().await?;
        loop {
            let run = self.get().await?;
            if run.status.is_final() {
                return Ok(run);
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                while let Some(event) = events.next().await {
                    if event.as_ref().is_ok_and(|e| e.final_status().is_some()) {
                        return;
                    }
                }
                // The stream ended without a final status: let the timeout pace the re-reads.
                futures::future::pending::<()>().await;
            })
            .await;
        }
    }

    /// Asks the run to stop: a queued run ends at once, a running one within one batch.
    pub async fn cancel(&self) -> Result<TrainingRun> {
        Ok(self.training.cancel(self.owner, self.id).await?.into())
    }
}
