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

    /// Parses `KEYID:SECRET[@ACCOUNT],...` (the `LOCALYUN_CREDENTIALS` form). The text after a secret's last
    /// `@` must be an account id ([`is_account_id`]); errors name the entry by position and key id, never
    /// by its secret.
    pub fn add_from_spec(&mut self, spec: &str) -> Result<(), String> {
        let items: Vec<&str> = spec.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let mut parsed = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let entry = index + 1;
            let Some((key_id, rest)) = item.split_once(':') else {
                return Err(format!("entry {entry}: expected KEYID:SECRET or KEYID:SECRET@ACCOUNT"));
            };
            if key_id.is_empty() || rest.is_empty() {
                return Err(format!("entry {entry} (key {key_id:?}): key id and secret must not be empty"));
            }
            let (secret, account) = match rest.rsplit_once('@') {
                Some((secret, account)) => {
                    if !is_account_id(account) {
                        return Err(format!(
                            "entry {entry} (key {key_id:?}): the text after the last '@' is not an account id (an \
                             account id is 1 to 32 digits, e.g. {DEFAULT_ACCOUNT}); a secret containing '@' needs \
                             the account written after it: {key_id}:SECRET@{DEFAULT_ACCOUNT}"
                        ));
                    }
                    (secret, account)
                }
                None => (rest, self.default_account.as_str()),
            };
            if secret.is_empty() {
                return Err(format!("entry {entry} (key {key_id:?}): the secret must not be empty"));
            }
            parsed.push((key_id.to_string(), secret.to_string(), account.to_string()));
        }
        // All or nothing: a bad entry adds no key.
        for (key_id, secret, account) in parsed {
            self.insert(&key_id, &secret, &account);
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

/// Whether `s` is an account id: 1 to 32 ASCII digits (Tencent and Alibaba account ids are numeric).
pub fn is_account_id(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
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
        c.add_from_spec("AK1:s1, AK2:s:2@200000000002 ,").unwrap();
        match c.lookup("AK1") {
            KeyLookup::Known(k) => assert_eq!((k.secret.expose(), k.account.as_str()), ("s1", DEFAULT_ACCOUNT)),
            _ => panic!("AK1 missing"),
        }
        match c.lookup("AK2") {
            KeyLookup::Known(k) => assert_eq!((k.secret.expose(), k.account.as_str()), ("s:2", "200000000002")),
            _ => panic!("AK2 missing"),
        }
        assert!(matches!(c.lookup("nope"), KeyLookup::Unknown));
        assert!(c.add_from_spec("novalue").is_err());
        assert!(c.add_from_spec(":x").is_err());
    }

    #[test]
    fn a_secret_with_an_at_sign_needs_its_account_and_the_error_names_the_entry_not_the_secret() {
        let mut c = Credentials::new(AuthMode::Strict);
        let e = c.add_from_spec("AKOK:fine,AKIDAT:p@ssword").unwrap_err();
        assert!(e.contains("entry 2") && e.contains("\"AKIDAT\"") && e.contains("not an account id"), "{e}");
        assert!(!e.contains("ssword"), "the message must not show any part of the secret: {e}");
        assert!(matches!(c.lookup("AKOK"), KeyLookup::Unknown), "a bad spec adds no key");
        c.add_from_spec("AKIDAT:p@ssword@100000000009").unwrap();
        match c.lookup("AKIDAT") {
            KeyLookup::Known(k) => assert_eq!((k.secret.expose(), k.account.as_str()), ("p@ssword", "100000000009")),
            _ => panic!("AKIDAT missing"),
        }
        for bad in ["AK:s@", "AK:s@12a", "AK:s@123456789012345678901234567890123"] {
            assert!(c.add_from_spec(bad).unwrap_err().contains("not an account id"), "{bad}");
        }
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
