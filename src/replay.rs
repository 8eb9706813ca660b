//! Nonce memory for replay protection, shared by every vendor's verifier.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Remembers (scope, key id, nonce) triples for one window; a second sighting inside it is a replay.
pub struct NonceCache {
    window: Duration,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    seen: HashSet<String>,
    // Insertion order doubles as expiry order, so pruning pops from the front.
    order: VecDeque<(Instant, String)>,
}

/// Upper bound on remembered nonces, so a flood cannot grow memory without limit.
const MAX_NONCES: usize = 1_000_000;

impl NonceCache {
    pub fn new(window: Duration) -> Self {
        NonceCache { window, inner: Mutex::new(Inner::default()) }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// Whether a request's Unix-seconds timestamp lies within the window of the server's clock. Any i64 is
    /// accepted without overflow (a signed request may carry `i64::MIN`).
    pub fn timestamp_is_fresh(&self, unix_secs: i64) -> bool {
        chrono::Utc::now().timestamp().abs_diff(unix_secs) <= self.window.as_secs()
    }

    /// Records the nonce; returns false when it was already seen inside the window.
    pub fn check_and_insert(&self, scope: &str, key_id: &str, nonce: &str) -> bool {
        let now = Instant::now();
        let mut entry = String::with_capacity(scope.len() + key_id.len() + nonce.len() + 2);
        entry.push_str(scope);
        entry.push('\n');
        entry.push_str(key_id);
        entry.push('\n');
        entry.push_str(nonce);
        let mut inner = self.inner.lock();
        while let Some((at, _)) = inner.order.front() {
            if now.duration_since(*at) <= self.window && inner.order.len() < MAX_NONCES {
                break;
            }
            if let Some((_, old)) = inner.order.pop_front() {
                inner.seen.remove(&old);
            }
        }
        if inner.seen.contains(&entry) {
            return false;
        }
        inner.seen.insert(entry.clone());
        inner.order.push_back((now, entry));
        true
    }

    pub fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.seen.clear();
        inner.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_sighting_is_a_replay() {
        let c = NonceCache::new(Duration::from_secs(60));
        assert!(c.check_and_insert("tencent", "AK", "1"));
        assert!(!c.check_and_insert("tencent", "AK", "1"));
        assert!(c.check_and_insert("tencent", "AK2", "1"));
        assert!(c.check_and_insert("alibaba", "AK", "1"));
    }

    #[test]
    fn timestamps_outside_the_window_are_stale_at_any_magnitude() {
        let c = NonceCache::new(Duration::from_secs(300));
        let now = chrono::Utc::now().timestamp();
        assert!(c.timestamp_is_fresh(now));
        assert!(c.timestamp_is_fresh(now - 299));
        assert!(!c.timestamp_is_fresh(now + 301));
        assert!(!c.timestamp_is_fresh(i64::MIN));
        assert!(!c.timestamp_is_fresh(i64::MAX));
    }

    #[test]
    fn nonces_expire_after_the_window() {
        let c = NonceCache::new(Duration::from_millis(0));
        assert!(c.check_and_insert("s", "AK", "1"));
        std::thread::sleep(Duration::from_millis(2));
        assert!(c.check_and_insert("s", "AK", "1"));
    }
}
