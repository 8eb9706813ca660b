//! The one authentication sequence every vendor API runs after parsing its own signature fields: key lookup
//! (strict or lenient), constant-time signature comparison, the vendor's clock-skew window, then the replay
//! memory. Vendors keep what is theirs (which fields carry the key, the string to sign, the HMAC, the
//! order of their own parameter checks) and map [`AuthFailure`] onto their documented error codes.

use std::time::Duration;

use crate::credentials::{signatures_match, KeyLookup};
use crate::state::AppState;

/// The signature facts a vendor parsed out of one request.
pub struct SignedRequest<'a> {
    /// Replay-memory scope: the vendor API (`"tencent"`, `"alibaba"`, ...); nonces of two scopes never clash.
    pub scope: &'static str,
    /// The access key id the request names.
    pub key_id: &'a str,
    /// The signature as the client sent it (compared in constant time).
    pub signature: &'a str,
    /// Unix seconds the client stamped on the request, checked against `window`; None when the scheme has
    /// no timestamp (or the vendor checks it itself).
    pub timestamp: Option<i64>,
    /// The client's nonce; None when the scheme has none. Remembered for the replay window.
    pub nonce: Option<&'a str>,
    /// The vendor's documented clock-skew window (also how long nonces are remembered).
    pub window: Duration,
}

/// Why a request did not authenticate; each vendor maps this onto its own code and envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// Strict mode and a key id localyun does not know.
    UnknownKey,
    /// The signature differs from the one computed; carries the server's string to sign (for the request
    /// log and the vendors that echo it; never the secret).
    SignatureMismatch { string_to_sign: String },
    /// The timestamp lies outside the window.
    Stale { window_secs: u64 },
    /// The nonce was already used inside the window (or the replay memory is full: fail closed).
    Replayed,
}

/// Runs the shared sequence and returns the caller's account.
///
/// `expected` computes, from the key's secret, the signature the client should have sent and the string
/// it signed; it is not called in lenient mode or for an unknown key. Order: key, signature, timestamp,
/// nonce (a request with a bad signature never spends a nonce).
pub fn authenticate(
    state: &AppState,
    req: &SignedRequest<'_>,
    expected: impl FnOnce(&str) -> (String, String),
) -> Result<String, AuthFailure> {
    let credentials = state.credentials.read();
    let key = match credentials.lookup(req.key_id) {
        KeyLookup::Known(key) => key,
        KeyLookup::Unverified { account } => return Ok(account.to_string()),
        KeyLookup::Unknown => return Err(AuthFailure::UnknownKey),
    };
    if !credentials.verifies_signatures() {
        return Ok(key.account.clone());
    }
    let (signature, string_to_sign) = expected(key.secret.expose());
    if !signatures_match(signature.as_bytes(), req.signature.as_bytes()) {
        return Err(AuthFailure::SignatureMismatch { string_to_sign });
    }
    check_fresh(req.timestamp, req.window)?;
    if let Some(nonce) = req.nonce {
        if !state.nonces.check_and_insert(req.scope, req.key_id, nonce) {
            return Err(AuthFailure::Replayed);
        }
    }
    Ok(key.account.clone())
}

/// Whether a Unix-seconds timestamp lies within `window` of the server's clock (any i64, no overflow).
pub fn check_fresh(timestamp: Option<i64>, window: Duration) -> Result<(), AuthFailure> {
    match timestamp {
        Some(ts) if chrono::Utc::now().timestamp().abs_diff(ts) > window.as_secs() => {
            Err(AuthFailure::Stale { window_secs: window.as_secs() })
        }
        _ => Ok(()),
    }
}
