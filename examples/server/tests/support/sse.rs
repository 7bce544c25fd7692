//! Reading Server-Sent Events in tests, shared by `support` (in-process servers) and `cluster`
//! (server processes), which include this file by path.

use std::time::Duration;

use reqwest::Response;
use serde_json::Value;

/// Reads events until the stream ends, `stop` says so, or `within` passes: (event name, JSON
/// data) pairs, and whether the stream ended by itself. Comment frames (keep-alives) are skipped.
pub async fn read_events(
    response: Response,
    within: Duration,
    mut stop: impl FnMut(&str, &Value) -> bool,
) -> (Vec<(String, Value)>, bool) {
    use futures::StreamExt;
    let mut stream = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return (events, false),
            Ok(None | Some(Err(_))) => return (events, true),
            Ok(Some(Ok(chunk))) => chunk,
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let Some((name, value)) = parse_frame(&frame) else { continue };
            let done = stop(&name, &value);
            events.push((name, value));
            if done {
                return (events, false);
            }
        }
    }
}

/// One frame's event name (default `message`) and JSON data; `None` for a frame without data.
fn parse_frame(frame: &str) -> Option<(String, Value)> {
    let mut name = String::from("message");
    let mut data = String::new();
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            name = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        }
    }
    (!data.is_empty()).then(|| (name, serde_json::from_str(&data).unwrap()))
}
