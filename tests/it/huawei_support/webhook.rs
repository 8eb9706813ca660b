//! A webhook receiver for the EventGrid delivery tests (subscription targets, APIG targets, event stream
//! sinks): an HTTP server on an ephemeral loopback port that records every request it receives and answers
//! by path, so a test can make a target fail or recover.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use parking_lot::Mutex;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    /// The body as text (lossy UTF-8).
    pub body: String,
}

impl Received {
    /// A header's value, "" when absent or not text.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The `content-type` header.
    pub fn content_type(&self) -> &str {
        self.header("content-type")
    }
}

/// What the receiver has got so far, shared with its server task.
#[derive(Clone, Default)]
pub struct Webhook {
    received: Arc<Mutex<Vec<Received>>>,
}

impl Webhook {
    /// Starts a receiver; returns its base URL (`http://127.0.0.1:PORT`, no trailing slash). Answers: a path
    /// starting `/fail` always 500, one starting `/flaky` 500 to its first request and 200 after, others 200.
    pub async fn start() -> (String, Webhook) {
        async fn hook(State(w): State<Webhook>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
            let path = uri.path().to_string();
            let mut received = w.received.lock();
            let seen_before = received.iter().any(|x| x.path == path);
            received.push(Received { path: path.clone(), headers, body: String::from_utf8_lossy(&body).into_owned() });
            if path.starts_with("/fail") || (path.starts_with("/flaky") && !seen_before) {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        }
        let webhook = Webhook::default();
        let app = axum::Router::new().fallback(hook).with_state(webhook.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (format!("http://{addr}"), webhook)
    }

    /// The requests received on `path`, in arrival order.
    pub fn on(&self, path: &str) -> Vec<Received> {
        self.received.lock().iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Every request received, in arrival order.
    pub fn all(&self) -> Vec<Received> {
        self.received.lock().clone()
    }

    /// Waits (about 5 s at most) until at least `n` requests arrived on `path`; returns those received.
    pub async fn wait_on(&self, path: &str, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            if self.on(path).len() >= n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        self.on(path)
    }
}
