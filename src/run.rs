//! A handle on one training run.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use modelyard_core::Page;
use modelyard_core::training::TrainingService;

use crate::signed_in::SignedIn;
use crate::{EpochMetrics, ListPage, Result, RunEvent, RunId, RunStatus, TrainingRun, UserId};

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

    /// The run, read now, with its whole history.
    pub async fn get(&self) -> Result<TrainingRun> {
        let run = self.training.get(self.owner, self.id).await?;
        self.viewed(run).await
    }

    /// The view of `run` (this run's record), with its whole history.
    async fn viewed(&self, run: modelyard_core::TrainingRun) -> Result<TrainingRun> {
        let history = self.training.history(self.owner, self.id).await?;
        Ok(TrainingRun::with_history(run, history))
    }

    /// Its status now.
    pub async fn status(&self) -> Result<RunStatus> {
        Ok(self.training.get(self.owner, self.id).await?.status)
    }

    /// Per-epoch metrics so far, oldest first.
    pub async fn history(&self) -> Result<Vec<EpochMetrics>> {
        self.training.history(self.owner, self.id).await
    }

    /// A page of the per-epoch metrics, oldest first: at most `limit` (default 100, at most
    /// 1,000) epochs after epoch `after` (the `next_cursor` of the page before).
    pub async fn history_page(
        &self,
        limit: Option<usize>,
        after: Option<u32>,
    ) -> Result<ListPage<EpochMetrics, u32>> {
        let page = Page::requested(limit, after)?;
        let epochs = self.training.history_page(self.owner, self.id, page).await?;
        Ok(ListPage { items: epochs.epochs, next_cursor: epochs.next })
    }

    /// The history as a binding's call asks for it: all of it without options, else one page.
    pub async fn history_with(&self, options: &HistoryOptions) -> Result<Vec<EpochMetrics>> {
        if options.limit.is_none() && options.after.is_none() {
            return self.history().await;
        }
        Ok(self.history_page(options.limit, options.after).await?.items)
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
            // The record alone: the history is read once, when the run has ended.
            let run = self.training.get(self.owner, self.id).await?;
            if run.status.is_final() {
                return self.viewed(run).await;
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
        let run = self.training.cancel(self.owner, self.id).await?;
        self.viewed(run).await
    }
}

/// Which part of a run's history a binding's call asks for, as Node passes it
/// (`run.history({ limit, after })`). Neither asks for the whole history.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct HistoryOptions {
    /// Epochs in the page (default 100, at most 1,000).
    pub limit: Option<usize>,
    /// The last epoch number of the page before.
    pub after: Option<u32>,
}

impl HistoryOptions {
    /// Options from a JSON object; an unknown key is refused, naming it.
    pub fn from_json_map(fields: serde_json::Map<String, serde_json::Value>) -> Result<Self> {
        modelyard_core::json::refuse_unknown(&fields, &["limit", "after"])?;
        modelyard_core::json::from_value(serde_json::Value::Object(fields))
    }
}
