//! SASL authentication on an instance's SASL listeners: the server side of PLAIN (RFC 4616) and
//! SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677, as Kafka uses them: KIP-84), checked against the
//! instance's users (Tencent `CreateUser`, Alibaba `CreateSaslUser`).
//!
//! Kafka carries the tokens either in `SaslAuthenticate` requests (after `SaslHandshake` v1, KIP-152) or,
//! after `SaslHandshake` v0, as raw length-prefixed frames; [`conn`](super::conn) does the framing and the
//! connection states, this module only evaluates tokens. Passwords are never logged; the PLAIN password and
//! the SCRAM proof are compared in constant time.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256, Sha512};

/// SCRAM iteration count announced to clients (Kafka's minimum and its default).
pub const SCRAM_ITERATIONS: u32 = 4096;

/// The mechanisms served, as named in `SaslHandshake`.
pub const MECHANISMS: [&str; 3] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// A SASL mechanism served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl Mechanism {
    /// From the name a client sends in `SaslHandshake` (case-sensitive, as Kafka compares it).
    pub fn parse(name: &str) -> Option<Mechanism> {
        match name {
            "PLAIN" => Some(Mechanism::Plain),
            "SCRAM-SHA-256" => Some(Mechanism::ScramSha256),
            "SCRAM-SHA-512" => Some(Mechanism::ScramSha512),
            _ => None,
        }
    }
}

/// What evaluating one client token gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this challenge and wait for the next token.
    Challenge(Vec<u8>),
    /// Authenticated as the user; send the final token (empty for PLAIN).
    Done { user: String, token: Vec<u8> },
    /// Authentication failed: the message goes to the client (it names no password).
    Failed(String),
}

/// The message every credential failure answers, as Kafka words it (it tells no more about which part
/// was wrong).
pub const INVALID_CREDENTIALS: &str = "Authentication failed: Invalid username or password";

enum Stage {
    Start,
    /// SCRAM after the server-first message.
    ScramSent {
        user: String,
        password: String,
        gs2_header: String,
        nonce: String,
        auth_prefix: String,
        salt: Vec<u8>,
    },
    Finished,
}

/// One authentication exchange of one connection.
pub struct Exchange {
    mechanism: Mechanism,
    stage: Stage,
}

impl Exchange {
    /// A new exchange for the mechanism the client chose.
    pub fn new(mechanism: Mechanism) -> Exchange {
        Exchange { mechanism, stage: Stage::Start }
    }

    /// Evaluates the client's next token. `password_of(user)` is the stored password of an instance user
    /// (None: no such user).
    pub fn step(&mut self, token: &[u8], password_of: impl Fn(&str) -> Option<String>) -> Step {
        match std::mem::replace(&mut self.stage, Stage::Finished) {
            Stage::Finished => Step::Failed("SASL exchange already finished".into()),
            Stage::Start => match self.mechanism {
                Mechanism::Plain => plain(token, password_of),
                Mechanism::ScramSha256 | Mechanism::ScramSha512 => match self.scram_first(token, password_of) {
                    Ok((challenge, next)) => {
                        self.stage = next;
                        Step::Challenge(challenge)
                    }
                    Err(m) => Step::Failed(m),
                },
            },
            Stage::ScramSent { user, password, gs2_header, nonce, auth_prefix, salt } => {
                self.scram_final(token, &user, &password, &gs2_header, &nonce, &auth_prefix, &salt)
            }
        }
    }

    fn scram_first(
        &self,
        token: &[u8],
        password_of: impl Fn(&str) -> Option<String>,
    ) -> Result<(Vec<u8>, Stage), String> {
        let text = std::str::from_utf8(token).map_err(|_| "SCRAM client-first message is not UTF-8".to_string())?;
        // gs2-header: "n,," or "y,," or with an authzid "n,a=name,"; the bare message follows it.
        let mut parts = text.splitn(3, ',');
        let (flag, authz, bare) = match (parts.next(), parts.next(), parts.next()) {
            (Some(f), Some(a), Some(b)) => (f, a, b),
            _ => return Err("malformed SCRAM client-first message".into()),
        };
        if !matches!(flag, "n" | "y") {
            return Err("SCRAM channel binding is not supported".into());
        }
        let gs2_header = format!("{flag},{authz},");
        let mut user = None;
        let mut client_nonce = None;
        for attr in bare.split(',') {
            if let Some(v) = attr.strip_prefix("n=") {
                user = Some(v.replace("=2C", ",").replace("=3D", "="));
            } else if let Some(v) = attr.strip_prefix("r=") {
                client_nonce = Some(v.to_string());
            }
        }
        let (Some(user), Some(client_nonce)) = (user, client_nonce.filter(|n| !n.is_empty())) else {
            return Err("malformed SCRAM client-first message".into());
        };
        let Some(password) = password_of(&user) else {
            return Err(INVALID_CREDENTIALS.into());
        };
        let mut rng = rand::thread_rng();
        let mut salt = vec![0u8; 16];
        rng.fill_bytes(&mut salt);
        let mut server_nonce = [0u8; 18];
        rng.fill_bytes(&mut server_nonce);
        let b64 = base64::engine::general_purpose::STANDARD;
        let nonce = format!("{client_nonce}{}", b64.encode(server_nonce));
        let server_first = format!("r={nonce},s={},i={SCRAM_ITERATIONS}", b64.encode(&salt));
        let auth_prefix = format!("{bare},{server_first}");
        Ok((server_first.into_bytes(), Stage::ScramSent { user, password, gs2_header, nonce, auth_prefix, salt }))
    }

    #[allow(clippy::too_many_arguments)]
    fn scram_final(
        &self,
        token: &[u8],
        user: &str,
        password: &str,
        gs2_header: &str,
        nonce: &str,
        auth_prefix: &str,
        salt: &[u8],
    ) -> Step {
        let b64 = base64::engine::general_purpose::STANDARD;
        let Ok(text) = std::str::from_utf8(token) else {
            return Step::Failed("SCRAM client-final message is not UTF-8".into());
        };
        let Some((without_proof, proof)) = text.rsplit_once(",p=") else {
            return Step::Failed("malformed SCRAM client-final message".into());
        };
        let mut binding = None;
        let mut got_nonce = None;
        for attr in without_proof.split(',') {
            if let Some(v) = attr.strip_prefix("c=") {
                binding = Some(v);
            } else if let Some(v) = attr.strip_prefix("r=") {
                got_nonce = Some(v);
            }
        }
        // Kafka's ScramSaslServer only checks that the final nonce ends with the server's (librdkafka 2.0,
        // Debian's kcat, sends its own nonce in front of the server's); the proof covers what was sent.
        if binding != Some(b64.encode(gs2_header.as_bytes()).as_str()) || !got_nonce.is_some_and(|n| n.ends_with(nonce))
        {
            return Step::Failed("SCRAM nonce or channel binding mismatch".into());
        }
        let Ok(proof) = b64.decode(proof) else {
            return Step::Failed("malformed SCRAM client proof".into());
        };
        let m = self.mechanism;
        let salted = pbkdf2(m, password.as_bytes(), salt, SCRAM_ITERATIONS);
        let client_key = hmac(m, &salted, b"Client Key");
        let stored_key = hash(m, &client_key);
        let auth_message = format!("{auth_prefix},{without_proof}");
        let client_signature = hmac(m, &stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Step::Failed(INVALID_CREDENTIALS.into());
        }
        let recovered: Vec<u8> = proof.iter().zip(&client_signature).map(|(a, b)| a ^ b).collect();
        if !crate::credentials::signatures_match(&hash(m, &recovered), &stored_key) {
            return Step::Failed(INVALID_CREDENTIALS.into());
        }
        let server_key = hmac(m, &salted, b"Server Key");
        let server_signature = hmac(m, &server_key, auth_message.as_bytes());
        Step::Done { user: user.to_string(), token: format!("v={}", b64.encode(server_signature)).into_bytes() }
    }
}

/// PLAIN: `[authzid] NUL authcid NUL passwd`. An authzid other than the user is refused (Kafka does the
/// same); kafka-python sends the user name there, librdkafka leaves it empty.
fn plain(token: &[u8], password_of: impl Fn(&str) -> Option<String>) -> Step {
    let fields: Vec<&[u8]> = token.split(|b| *b == 0).collect();
    let [authz, user, pass] = fields.as_slice() else {
        return Step::Failed("malformed SASL/PLAIN token".into());
    };
    let (Ok(authz), Ok(user), Ok(pass)) =
        (std::str::from_utf8(authz), std::str::from_utf8(user), std::str::from_utf8(pass))
    else {
        return Step::Failed("SASL/PLAIN token is not UTF-8".into());
    };
    if user.is_empty() || (!authz.is_empty() && authz != user) {
        return Step::Failed(INVALID_CREDENTIALS.into());
    }
    match password_of(user) {
        Some(p) if crate::credentials::signatures_match(p.as_bytes(), pass.as_bytes()) => {
            Step::Done { user: user.to_string(), token: Vec::new() }
        }
        _ => Step::Failed(INVALID_CREDENTIALS.into()),
    }
}

fn hmac(m: Mechanism, key: &[u8], data: &[u8]) -> Vec<u8> {
    match m {
        Mechanism::ScramSha512 => {
            let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_key());
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_key());
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
    }
}

/// HMAC accepts keys of any length; this is never reached.
fn unreachable_key<T>() -> T {
    unreachable!("HMAC takes keys of any length")
}

fn hash(m: Mechanism, data: &[u8]) -> Vec<u8> {
    match m {
        Mechanism::ScramSha512 => Sha512::digest(data).to_vec(),
        _ => Sha256::digest(data).to_vec(),
    }
}

/// PBKDF2 (RFC 8018) with one output block, which is what SCRAM's `Hi()` is.
fn pbkdf2(m: Mechanism, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
    let mut block = salt.to_vec();
    block.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(m, password, &block);
    let mut out = u.clone();
    for _ in 1..iterations {
        u = hmac(m, password, &u);
        out.iter_mut().zip(&u).for_each(|(o, x)| *o ^= x);
    }
    out
}

/// A SCRAM client, for tests: the client-first message and, given the server-first one, the
/// client-final message and the server signature it expects.
pub mod client {
    use super::*;

    /// `n,,n=<user>,r=<nonce>`.
    pub fn first(user: &str, nonce: &str) -> String {
        format!("n,,n={},r={nonce}", user.replace('=', "=3D").replace(',', "=2C"))
    }

    /// (client-final message, expected server-final message).
    pub fn last(m: Mechanism, password: &str, client_first: &str, server_first: &str) -> Option<(String, String)> {
        last_with_prefix(m, password, client_first, server_first, "")
    }

    /// As [`last`], with `prefix` sent in front of the server's nonce (what librdkafka 2.0 does).
    pub fn last_with_prefix(
        m: Mechanism,
        password: &str,
        client_first: &str,
        server_first: &str,
        prefix: &str,
    ) -> Option<(String, String)> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let bare = client_first.strip_prefix("n,,")?;
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attr in server_first.split(',') {
            if let Some(v) = attr.strip_prefix("r=") {
                nonce = Some(v);
            } else if let Some(v) = attr.strip_prefix("s=") {
                salt = b64.decode(v).ok();
            } else if let Some(v) = attr.strip_prefix("i=") {
                iterations = v.parse().ok();
            }
        }
        let without_proof = format!("c={},r={prefix}{}", b64.encode("n,,"), nonce?);
        let salted = pbkdf2(m, password.as_bytes(), &salt?, iterations?);
        let client_key = hmac(m, &salted, b"Client Key");
        let stored_key = hash(m, &client_key);
        let auth = format!("{bare},{server_first},{without_proof}");
        let sig = hmac(m, &stored_key, auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        let server_sig = hmac(m, &hmac(m, &salted, b"Server Key"), auth.as_bytes());
        Some((format!("{without_proof},p={}", b64.encode(proof)), format!("v={}", b64.encode(server_sig))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(u: &str) -> Option<String> {
        (u == "alice").then(|| "s3cret".to_string())
    }

    #[test]
    fn plain_accepts_both_authzid_forms_and_refuses_wrong_passwords() {
        for token in [&b"\0alice\0s3cret"[..], b"alice\0alice\0s3cret"] {
            let step = Exchange::new(Mechanism::Plain).step(token, users);
            assert_eq!(step, Step::Done { user: "alice".into(), token: Vec::new() });
        }
        for token in [&b"\0alice\0wrong"[..], b"\0bob\0s3cret", b"bob\0alice\0s3cret", b"alice", b"\0\0"] {
            assert!(matches!(Exchange::new(Mechanism::Plain).step(token, users), Step::Failed(_)), "{token:?}");
        }
    }

    #[test]
    fn scram_round_trip_with_both_hashes() {
        for m in [Mechanism::ScramSha256, Mechanism::ScramSha512] {
            for (password, ok) in [("s3cret", true), ("wrong", false)] {
                let mut ex = Exchange::new(m);
                let first = client::first("alice", "fyko+d2lbbFgONRv9qkxdawL");
                let Step::Challenge(server_first) = ex.step(first.as_bytes(), users) else { panic!("no challenge") };
                let server_first = String::from_utf8(server_first).unwrap();
                assert!(server_first.starts_with("r=fyko+d2lbbFgONRv9qkxdawL"), "{server_first}");
                let (last, expected) = client::last(m, password, &first, &server_first).unwrap();
                match ex.step(last.as_bytes(), users) {
                    Step::Done { user, token } => {
                        assert!(ok);
                        assert_eq!(user, "alice");
                        assert_eq!(String::from_utf8(token).unwrap(), expected);
                    }
                    Step::Failed(m) => {
                        assert!(!ok);
                        assert_eq!(m, INVALID_CREDENTIALS);
                    }
                    Step::Challenge(_) => panic!("a third SCRAM step"),
                }
            }
        }
    }

    #[test]
    fn scram_refuses_unknown_users_and_garbage() {
        let mut ex = Exchange::new(Mechanism::ScramSha256);
        assert_eq!(ex.step(client::first("bob", "abc").as_bytes(), users), Step::Failed(INVALID_CREDENTIALS.into()));
        for token in [&b"garbage"[..], b"p=x,,n=alice,r=1", b"n,,n=alice", &[0xff, 0xfe]] {
            assert!(matches!(Exchange::new(Mechanism::ScramSha512).step(token, users), Step::Failed(_)));
        }
        // RFC 7677's test vector shape: a wrong nonce in the final message is refused.
        let mut ex = Exchange::new(Mechanism::ScramSha256);
        let first = client::first("alice", "n1");
        let Step::Challenge(_) = ex.step(first.as_bytes(), users) else { panic!() };
        assert!(matches!(ex.step(b"c=biws,r=other,p=AAAA", users), Step::Failed(_)));
    }

    #[test]
    fn scram_accepts_a_final_nonce_that_ends_with_the_servers_as_kafka_does() {
        let mut ex = Exchange::new(Mechanism::ScramSha512);
        let first = client::first("alice", "cnonce");
        let Step::Challenge(server_first) = ex.step(first.as_bytes(), users) else { panic!("no challenge") };
        let server_first = String::from_utf8(server_first).unwrap();
        let (last, expected) =
            client::last_with_prefix(Mechanism::ScramSha512, "s3cret", &first, &server_first, "cnonce").unwrap();
        assert!(last.contains(",r=cnoncecnonce"), "{last}");
        match ex.step(last.as_bytes(), users) {
            Step::Done { token, .. } => assert_eq!(String::from_utf8(token).unwrap(), expected),
            other => panic!("refused: {other:?}"),
        }
    }

    #[test]
    fn pbkdf2_matches_rfc_7677_vector() {
        // RFC 7677 section 3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
        let first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let (last, server_final) = client::last(Mechanism::ScramSha256, "pencil", first, server_first).unwrap();
        assert_eq!(
            last,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(server_final, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    }
}
