//! Following a run: the stored history first, then live events, without gaps or repeats.

use futures::stream::{self, BoxStream, StreamExt};

use super::RunEvent;
use crate::{EventKind, Result, RunId, Stores, UserId};

/// Subscribes before reading the record, so nothing published in between is lost; live epochs
/// already in the history are skipped. The stream ends after a final status.
pub(super) async fn follow(
    stores: Stores,
    owner: UserId,
    id: RunId,
) -> Result<BoxStream<'static, Result<RunEvent>>> {
    let live = stores.events.subscribe(owner).await?;
    let run = stores.runs.get(owner, id).await?;
    let history = stores.history.all_epochs(owner, id).await?;
    let last_epoch = history.last().map_or(0, |m| m.epoch);
    let mut backlog: Vec<Result<RunEvent>> =
        history.into_iter().map(|metrics| Ok(RunEvent::Epoch { metrics })).collect();
    backlog.push(Ok(RunEvent::Status { status: run.status, error: run.error }));
    if run.status.is_final() {
        return Ok(stream::iter(backlog).boxed());
    }
    let live = live
        .filter_map(move |event| async move {
            match event.kind {
                EventKind::Epoch { run_id, metrics }
                    if run_id == id && metrics.epoch > last_epoch =>
                {
                    Some(RunEvent::Epoch { metrics })
                }
                EventKind::Status { run_id, status, error } if run_id == id => {
                    Some(RunEvent::Status { status, error })
                }
                _ => None,
            }
        })
        .boxed();
    // Ends right after the final status, without waiting for another event to arrive.
    let live = stream::unfold((live, false), |(mut live, ended)| async move {
        if ended {
            return None;
        }
        let event = live.next().await?;
        let ended = matches!(&event, RunEvent::Status { status, .. } if status.is_final());
        Some((Ok(event), (live, ended)))
    });
    Ok(stream::iter(backlog).chain(live).boxed())
}
