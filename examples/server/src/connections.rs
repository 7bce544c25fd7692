//! Accepting connections: each is served by hyper's HTTP/1.1 server with a header read timeout
//! (which also closes a keep-alive connection left idle between requests), and no client
//! address holds more than its share of connections. A client that opens hundreds of sockets
//! and sends half a request line on each holds nothing for long.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};

use crate::state::AppState;

/// Limits on connections, part of [`crate::ServerSettings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client may take to send a request's whole header block, counted from the
    /// connection's start or from the end of the previous response: a slow or idle client is
    /// disconnected after this long (default 10 s).
    pub header_read_timeout: Duration,
    /// Longest pause while a request body is read (default 30 s); see
    /// [`tower_http::timeout::RequestBodyTimeoutLayer`].
    pub body_read_timeout: Duration,
    /// Most connections open at once from one client address (default 256); more are closed
    /// as soon as they are accepted.
    pub max_per_address: usize,
    /// Largest request header block, in bytes (default 16 KiB): a larger one is answered 431.
    pub max_header_bytes: usize,
    /// Longest request URI, in bytes (default 8 KiB): a longer one is answered 414.
    pub max_uri_bytes: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_per_address: 256,
            max_header_bytes: 16 * 1024,
            max_uri_bytes: 8 * 1024,
        }
    }
}

/// hyper reads request heads into a buffer of this size at most: well above
/// [`ConnectionLimits::max_header_bytes`], so oversized heads reach the router and get the JSON
/// 431 rather than hyper's bare one, and still bounded per connection.
const HYPER_MAX_BUF: usize = 256 * 1024;
/// Headers hyper parses at most; the router refuses a header block above its byte limit first.
const HYPER_MAX_HEADERS: usize = 512;

/// Open connections per client address.
#[derive(Default)]
struct Slots {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`Slots`], given back when the connection ends.
struct Slot {
    slots: Arc<Slots>,
    address: IpAddr,
}

impl Slots {
    fn take(self: &Arc<Self>, address: IpAddr, max: usize) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(address).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot { slots: self.clone(), address })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then `state` turns not-ready, live
/// streams end, and the connections finish their requests in flight and close.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.settings().connections;
    let slots = Arc::new(Slots::default());
    let graceful = GracefulShutdown::new();
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, address) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors or a connection reset before it was accepted: the
                    // listener itself is fine; wait a moment rather than spin.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = slots.take(address.ip(), limits.max_per_address) else {
            tracing::debug!(%address, "connection refused: too many from this address");
            continue;
        };
        let Ok(service) = make_service.call(address).await;
        let hyper_service = hyper::service::service_fn(move |request: Request<Incoming>| {
            service.clone().oneshot(request)
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(HYPER_MAX_BUF)
            .max_headers(HYPER_MAX_HEADERS)
            .serve_connection(TokioIo::new(stream), hyper_service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, %address, "connection ended with an error");
            }
            drop(slot);
        });
    }
    state.begin_shutdown();
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_slots_back_when_its_connections_end() {
        let slots = Arc::new(Slots::default());
        let (a, b): (IpAddr, IpAddr) = ([127, 0, 0, 1].into(), [127, 0, 0, 2].into());
        let first = slots.take(a, 2);
        let second = slots.take(a, 2);
        assert!(first.is_some() && second.is_some());
        assert!(slots.take(a, 2).is_none(), "a third from the same address");
        assert!(slots.take(b, 2).is_some(), "another address is not affected");
        drop(first);
        assert!(slots.take(a, 2).is_some());
        drop(second);
        assert_eq!(slots.open.lock().unwrap_or_else(PoisonError::into_inner).get(&b), None);
    }
}
