//! [`crate::EventBus`]: live events fanned out to their owner's subscribers, in order, best
//! effort, never blocking publishers.
//!
//! Publishers here pause a few milliseconds between events: a bus may drop events for a slow
//! subscriber, and these subscribers must not count as slow.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::time::{sleep, timeout};

use super::{Fixture, offered, sample_epoch, sample_notification};
use crate::{Event, EventBus, EventKind, RunId, RunStatus, UserId};

type Subscription = BoxStream<'static, Event>;

/// How long a delivered event may take to arrive.
const DELIVERY: Duration = Duration::from_secs(5);
/// How long to watch for an event that must not arrive.
const QUIET: Duration = Duration::from_millis(300);
const PACE: Duration = Duration::from_millis(5);

fn bus(fx: &Fixture) -> Option<&Arc<dyn EventBus>> {
    offered(&fx.backend.events, "event bus")
}

fn epoch_event(owner: UserId, run_id: RunId, epoch: u32) -> Event {
    Event { owner, kind: EventKind::Epoch { run_id, metrics: sample_epoch(epoch) } }
}

async fn subscribe(bus: &dyn EventBus, owner: UserId) -> Subscription {
    bus.subscribe(owner).await.expect("subscribe")
}

async fn next_event(subscription: &mut Subscription, context: &str) -> Event {
    match timeout(DELIVERY, subscription.next()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("{context}: the subscription ended"),
        Err(_) => panic!("{context}: no event within {DELIVERY:?}"),
    }
}

async fn assert_quiet(subscription: &mut Subscription, context: &str) {
    if let Ok(Some(event)) = timeout(QUIET, subscription.next()).await {
        panic!("{context}: unexpected event {event:?}");
    }
}

/// Publishing with nobody listening is `Ok`.
pub async fn publish_without_subscribers_is_ok(fx: &Fixture) {
    let Some(bus) = bus(fx) else { return };
    let event = epoch_event(UserId::new(), RunId::new(), 1);
    bus.publish(&event).await.expect("publish with no subscriber");
}

/// A subscriber receives an event published for its owner after it subscribed.
pub async fn subscriber_sees_own_events(fx: &Fixture) {
    let Some(bus) = bus(fx) else { return };
    let owner = UserId::new();
    let mut subscription = subscribe(bus.as_ref(), owner).await;
    let event = epoch_event(owner, RunId::new(), 1);
    bus.publish(&event).await.expect("publish");
    assert_eq!(next_event(&mut subscription, "own event").await, event, "the event published");
}

/// A subscriber never receives another owner's events.
pub async fn subscriber_sees_only_own_events(fx: &Fixture) {
    let Some(bus) = bus(fx) else { return };
    let (alice, bob) = (UserId::new(), UserId::new());
    let mut alices = subscribe(bus.as_ref(), alice).await;
    let mut bobs = subscribe(bus.as_ref(), bob).await;
    let for_bob = epoch_event(bob, RunId::new(), 1);
    let for_alice = epoch_event(alice, RunId::new(), 1);
    bus.publish(&for_bob).await.expect("publish");
    sleep(PACE).await;
    bus.publish(&for_alice).await.expect("publish");

    assert_eq!(next_event(&mut alices, "alice's event").await, for_alice, "alice gets hers only");
    assert_eq!(next_event(&mut bobs, "bob's event").await, for_bob, "bob gets his only");
    assert_quiet(&mut alices, "alice's subscription after her event").await;
    assert_quiet(&mut bobs, "bob's subscription after his event").await;
}

/// Events arrive in publication order per publisher, with two publishers at once.
pub async fn events_arrive_in_order(fx: &Fixture) {
    let Some(bus) = bus(fx) else { return };
    let owner = UserId::new();
    let mut subscription = subscribe(bus.as_ref(), owner).await;
    let runs = [RunId::new(), RunId::new()];
    let publishers: Vec<_> = runs
        .iter()
        .map(|&run_id| {
            let bus = bus.clone();
            tokio::spawn(async move {
                for epoch in 1..=10 {
                    bus.publish(&epoch_event(owner, run_id, epoch)).await.expect("publish");
                    sleep(PACE).await;
                }
            })
        })
        .collect();
    let mut received = Vec::new();
    for n in 0..20 {
        received.push(next_event(&mut subscription, &format!("event {} of 20", n + 1)).await);
    }
    for publisher in publishers {
        publisher.await.expect("publisher task panicked");
    }
    for run_id in runs {
        let epochs: Vec<u32> = received
            .iter()
            .filter(|e| e.kind.run_id() == Some(run_id))
            .map(|e| match &e.kind {
                EventKind::Epoch { metrics, .. } => metrics.epoch,
                other => panic!("only epoch events were published, got {other:?}"),
            })
            .collect();
        assert_eq!(epochs, (1..=10).collect::<Vec<u32>>(), "one publisher's events, in order");
    }
}

/// Events are not stored: a subscriber sees what is published after it subscribed, not before.
pub async fn events_before_subscribing_are_not_delivered(fx: &Fixture) {
    let Some(bus) = bus(fx) else { return };
    let (owner, run_id) = (UserId::new(), RunId::new());
    bus.publish(&epoch_event(owner, run_id, 1)).await.expect("publish");
    let mut subscription = subscribe(bus.as_ref(), owner).await;
    let after = epoch_event(owner, run_id, 2);
    bus.publish(&after).await.expect("publish");
    let first = next_event(&mut subscription, "event after subscribing").await;
    assert_eq!(first, after, "the first event seen is the first published after subscribing");
}

/// Every subscriber of an owner (two open dashboards) receives each event.
pub async fn every_subscriber_of_an_owner_sees_each_event(fx: &Fixture) {
    let Some(bus) = bus(fx) else { return };
    let owner = UserId::new();
    let mut first = subscribe(bus.as_ref(), owner).await;
    let mut second = subscribe(bus.as_ref(), owner).await;
    let event = epoch_event(owner, RunId::new(), 1);
    bus.publish(&event).await.expect("publish");
    assert_eq!(next_event(&mut first, "first subscriber").await, event, "first subscriber");
    assert_eq!(next_event(&mut second, "second subscriber").await, event, "second subscriber");
}

/// Epoch, status and notification events arrive exactly as published.
pub async fn every_event_kind_is_delivered_unchanged(fx: &Fixture) {
    let Some(bus) = bus(fx) else { return };
    let (owner, run_id) = (UserId::new(), RunId::new());
    let mut subscription = subscribe(bus.as_ref(), owner).await;
    let events = [
        epoch_event(owner, run_id, 7),
        Event {
            owner,
            kind: EventKind::Status {
                run_id,
                status: RunStatus::Failed,
                error: Some("loss became NaN".to_owned()),
            },
        },
        Event {
            owner,
            kind: EventKind::Status { run_id, status: RunStatus::Running, error: None },
        },
        Event { owner, kind: EventKind::Notification { notification: sample_notification(owner) } },
    ];
    for event in &events {
        bus.publish(event).await.expect("publish");
        sleep(PACE).await;
    }
    for (n, event) in events.iter().enumerate() {
        let received = next_event(&mut subscription, &format!("event {}", n + 1)).await;
        assert_eq!(&received, event, "event {} arrives unchanged", n + 1);
    }
}

/// A subscriber that never reads, or that went away, does not block publishers or other
/// subscribers.
pub async fn slow_subscriber_never_blocks_publishers(fx: &Fixture) {
    let Some(bus) = bus(fx) else { return };
    let (owner, run_id) = (UserId::new(), RunId::new());
    let _never_read = subscribe(bus.as_ref(), owner).await;
    drop(subscribe(bus.as_ref(), owner).await);

    let flood = async {
        for epoch in 1..=1_000 {
            bus.publish(&epoch_event(owner, run_id, epoch)).await.expect("publish");
        }
    };
    assert!(
        timeout(Duration::from_secs(30), flood).await.is_ok(),
        "1000 publishes must not wait for a subscriber that does not read"
    );

    let mut live = subscribe(bus.as_ref(), owner).await;
    let event = epoch_event(owner, run_id, 1_001);
    bus.publish(&event).await.expect("publish");
    assert_eq!(next_event(&mut live, "a new subscriber").await, event, "the bus still delivers");
}
