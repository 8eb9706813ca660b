//! Nonce memory for replay protection, shared by every vendor's verifier.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Remembers (scope, key id, nonce) triples for one window; a second sighting inside it is a replay.
///
/// Hot path: every signed Tencent and Alibaba request passes here. Entries are 64-bit fingerprints under a
/// per-process random key (no allocation per request; a false "replay" needs a 64-bit collision, about 1 in
/// 10^13 with a million nonces remembered), spread over shards so concurrent requests rarely share a lock.
pub struct NonceCache {
    window: Duration,
    /// How long a nonce is remembered (at least `window`; the longest window of any vendor).
    retention: Duration,
    /// Live entries each shard may hold; a full shard refuses new nonces (fail closed) instead of forgetting
    /// live ones, which would let a captured request be replayed.
    per_shard: usize,
    hasher: std::collections::hash_map::RandomState,
    shards: Vec<Mutex<Shard>>,
}

#[derive(Default)]
struct Shard {
    seen: HashSet<u64, IdentityHasher>,
    // Insertion order doubles as expiry order, so pruning pops from the front.
    order: VecDeque<(Instant, u64)>,
}

/// The fingerprints are already uniformly random: hashing them again would be wasted work.
#[derive(Default, Clone, Copy)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl BuildHasher for IdentityHasher {
    type Hasher = IdentityHasher;
    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher(0)
    }
}

const SHARDS: usize = 16;

/// Upper bound on remembered nonces, so a flood cannot grow memory without limit.
const MAX_NONCES: usize = 1_000_000;

impl NonceCache {
    pub fn new(window: Duration) -> Self {
        Self::with_capacity(window, MAX_NONCES)
    }

    /// A cache whose legacy `window` (for [`Self::timestamp_is_fresh`]) is `window` and which remembers
    /// nonces for `retention` (the longest window any vendor uses).
    pub fn with_retention(window: Duration, retention: Duration) -> Self {
        NonceCache { retention: retention.max(window), ..Self::new(window) }
    }

    /// A cache remembering at most about `capacity` live nonces (spread over the shards).
    pub fn with_capacity(window: Duration, capacity: usize) -> Self {
        NonceCache {
            window,
            retention: window,
            per_shard: capacity.div_ceil(SHARDS).max(1),
            hasher: std::collections::hash_map::RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// Whether a request's Unix-seconds timestamp lies within the window of the server's clock. Any i64 is
    /// accepted without overflow (a signed request may carry `i64::MIN`).
    pub fn timestamp_is_fresh(&self, unix_secs: i64) -> bool {
        chrono::Utc::now().timestamp().abs_diff(unix_secs) <= self.window.as_secs()
    }

    /// Records the nonce; returns false when it was already seen inside the window, or when the memory is
    /// full of live nonces (fail closed: the client retries with a new nonce once old ones expire).
    pub fn check_and_insert(&self, scope: &str, key_id: &str, nonce: &str) -> bool {
        let fingerprint = self.hasher.hash_one((scope, key_id, nonce));
        let now = Instant::now();
        let shard = &self.shards[(fingerprint as usize) % SHARDS];
        let mut shard = shard.lock();
        while let Some((at, _)) = shard.order.front() {
            if now.duration_since(*at) <= self.retention {
                break;
            }
            if let Some((_, old)) = shard.order.pop_front() {
                shard.seen.remove(&old);
            }
        }
        if shard.seen.contains(&fingerprint) || shard.order.len() >= self.per_shard {
            return false;
        }
        shard.seen.insert(fingerprint);
        shard.order.push_back((now, fingerprint));
        true
    }

    pub fn clear(&self) {
        for shard in &self.shards {
            let mut shard = shard.lock();
            shard.seen.clear();
            shard.order.clear();
        }
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
    fn a_full_memory_refuses_new_nonces_and_never_forgets_live_ones() {
        let c = NonceCache::with_capacity(Duration::from_secs(300), SHARDS * 4);
        let mut accepted = Vec::new();
        for i in 0..(SHARDS * 16) {
            if c.check_and_insert("tencent", "AK", &i.to_string()) {
                accepted.push(i);
            }
        }
        // Never more than the capacity, and every accepted nonce is still remembered: a replay stays refused.
        assert!(accepted.len() <= SHARDS * 4 && !accepted.is_empty(), "{}", accepted.len());
        for i in &accepted {
            assert!(!c.check_and_insert("tencent", "AK", &i.to_string()), "nonce {i} was forgotten");
        }
        assert!(accepted.len() < SHARDS * 16, "the memory is bounded: later nonces are refused while it is full");
    }

    #[test]
    fn a_full_memory_accepts_again_once_entries_expire() {
        let c = NonceCache::with_capacity(Duration::from_millis(0), SHARDS);
        for i in 0..(SHARDS * 8) {
            c.check_and_insert("s", "AK", &i.to_string());
        }
        std::thread::sleep(Duration::from_millis(2));
        assert!(c.check_and_insert("s", "AK", "fresh"));
    }

    #[test]
    fn nonces_expire_after_the_window() {
        let c = NonceCache::new(Duration::from_millis(0));
        assert!(c.check_and_insert("s", "AK", "1"));
        std::thread::sleep(Duration::from_millis(2));
        assert!(c.check_and_insert("s", "AK", "1"));
    }
}
