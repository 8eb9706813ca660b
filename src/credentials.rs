//! Accounts and the key pairs that sign requests for them. One key pair works for every vendor API.

use std::collections::HashMap;
use std::fmt;

use subtle::ConstantTimeEq;

use crate::config::AuthMode;

/// The account every key belongs to unless another is named.
pub const DEFAULT_ACCOUNT: &str = "100000000001";
/// The documented default key pair (also in `fixtures/default.yaml`).
pub const DEFAULT_KEY_ID: &str = "AKIDLOCAL";
pub const DEFAULT_SECRET: &str = "local-secret";

/// A secret that never prints itself.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Read from fixture files like a plain string, so a parsed fixture can be debug-printed without its keys.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Debug)]
pub struct KeyPair {
    pub key_id: String,
    pub secret: Secret,
    pub account: String,
}

/// What a verifier learns about the key id a request names.
pub enum KeyLookup<'a> {
    /// A known key: verify the signature with its secret.
    Known(&'a KeyPair),
    /// Lenient mode and an unknown key: accept it for the default account, skip the HMAC.
    Unverified { account: &'a str },
    /// Strict mode and an unknown key.
    Unknown,
}

#[derive(Clone, Debug)]
pub struct Credentials {
    keys: HashMap<String, KeyPair>,
    mode: AuthMode,
    default_account: String,
}

impl Credentials {
    pub fn new(mode: AuthMode) -> Self {
        Credentials { keys: HashMap::new(), mode, default_account: DEFAULT_ACCOUNT.into() }
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    pub fn default_account(&self) -> &str {
        &self.default_account
    }

    pub fn insert(&mut self, key_id: &str, secret: &str, account: &str) {
        self.keys.insert(
            key_id.to_string(),
            KeyPair { key_id: key_id.to_string(), secret: Secret::new(secret), account: account.to_string() },
        );
    }

    pub fn keys(&self) -> impl Iterator<Item = &KeyPair> {
        self.keys.values()
    }

    /// Parses `KEYID:SECRET[@ACCOUNT],...` (the `LOCALYUN_CREDENTIALS` form).
    pub fn add_from_spec(&mut self, spec: &str) -> Result<(), String> {
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key_id, rest) =
                item.split_once(':').ok_or_else(|| format!("credential {item:?}: expected KEYID:SECRET[@ACCOUNT]"))?;
            let (secret, account) = match rest.rsplit_once('@') {
                Some((secret, account)) if !account.is_empty() => (secret, account),
                _ => (rest, self.default_account.as_str()),
            };
            if key_id.is_empty() || secret.is_empty() {
                return Err(format!("credential for key {key_id:?}: key id and secret must not be empty"));
            }
            let account = account.to_string();
            self.insert(key_id, secret, &account);
        }
        Ok(())
    }

    pub fn lookup(&self, key_id: &str) -> KeyLookup<'_> {
        match self.keys.get(key_id) {
            Some(k) => KeyLookup::Known(k),
            None if self.mode == AuthMode::Lenient => KeyLookup::Unverified { account: &self.default_account },
            None => KeyLookup::Unknown,
        }
    }

    /// Whether HMACs are checked at all.
    pub fn verifies_signatures(&self) -> bool {
        self.mode == AuthMode::Strict
    }
}

/// Constant-time equality for signatures (the lengths are not secret).
pub fn signatures_match(expected: &[u8], given: &[u8]) -> bool {
    expected.len() == given.len() && bool::from(expected.ct_eq(given))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_credential_specs() {
        let mut c = Credentials::new(AuthMode::Strict);
        c.add_from_spec("AK1:s1, AK2:s:2@acct-b ,").unwrap();
        match c.lookup("AK1") {
            KeyLookup::Known(k) => assert_eq!((k.secret.expose(), k.account.as_str()), ("s1", DEFAULT_ACCOUNT)),
            _ => panic!("AK1 missing"),
        }
        match c.lookup("AK2") {
            KeyLookup::Known(k) => assert_eq!((k.secret.expose(), k.account.as_str()), ("s:2", "acct-b")),
            _ => panic!("AK2 missing"),
        }
        assert!(matches!(c.lookup("nope"), KeyLookup::Unknown));
        assert!(c.add_from_spec("novalue").is_err());
        assert!(c.add_from_spec(":x").is_err());
    }

    #[test]
    fn lenient_accepts_unknown_keys() {
        let c = Credentials::new(AuthMode::Lenient);
        assert!(matches!(c.lookup("whatever"), KeyLookup::Unverified { account: DEFAULT_ACCOUNT }));
        assert!(!c.verifies_signatures());
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }
}
