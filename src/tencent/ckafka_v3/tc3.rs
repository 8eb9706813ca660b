//! TC3-HMAC-SHA256, Tencent Cloud API v3's signature ("签名方法 v3"): canonical request
//! `method\nuri\nquery\ncanonical headers\nsigned headers\nhex(sha256(payload))`, string to sign
//! `TC3-HMAC-SHA256\ntimestamp\n<date>/<service>/tc3_request\nhex(sha256(canonical request))`, and the key
//! derived as HMAC("TC3"+secret, date) → service → "tc3_request".

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The algorithm name in `Authorization` and the string to sign.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The parsed `Authorization: TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request,
/// SignedHeaders=<a;b>, Signature=<hex>` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub secret_id: String,
    /// `YYYY-MM-DD` (UTC) of the request's timestamp.
    pub date: String,
    pub service: String,
    /// Lower-case header names, in the client's order.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parses the header; None when it is not a well-formed TC3 authorization.
pub fn parse_authorization(value: &str) -> Option<Authorization> {
    let rest = value.trim().strip_prefix(ALGORITHM)?.trim_start();
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let (secret_id, date, service, terminator) = (scope.next()?, scope.next()?, scope.next()?, scope.next()?);
    if terminator != "tc3_request" || scope.next().is_some() || secret_id.is_empty() {
        return None;
    }
    let signed_headers: Vec<String> =
        signed?.split(';').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect();
    if signed_headers.is_empty() {
        return None;
    }
    Some(Authorization {
        secret_id: secret_id.to_string(),
        date: date.to_string(),
        service: service.to_string(),
        signed_headers,
        signature: signature?.to_string(),
    })
}

/// The canonical request. `headers` are the signed headers' (lower-case name, value) pairs in signed
/// order; values are trimmed and lower-cased as the SDKs do for `content-type` and `host`.
pub fn canonical_request(method: &str, uri: &str, query: &str, headers: &[(&str, &str)], payload: &[u8]) -> String {
    // Written into one String (no String per header, no joined list), in the order the format has.
    let mut out = String::with_capacity(256 + query.len());
    for part in [method, "\n", uri, "\n", query, "\n"] {
        out.push_str(part);
    }
    for (name, value) in headers {
        out.push_str(name);
        out.push(':');
        let value = value.trim();
        let start = out.len();
        out.push_str(value);
        out[start..].make_ascii_lowercase();
        out.push('\n');
    }
    out.push('\n');
    for (i, (name, _)) in headers.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
    out.push('\n');
    out.push_str(&crate::signing::hex32(&Sha256::digest(payload).into()));
    out
}

/// The string to sign for a canonical request.
pub fn string_to_sign(timestamp: i64, date: &str, service: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        crate::signing::hex32(&Sha256::digest(canonical_request.as_bytes()).into())
    )
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The hex signature: the derived key (`TC3`+secret → date → service → `tc3_request`) over the string to sign.
pub fn sign(secret: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    crate::signing::hex32(&hmac(&signing_key(secret, date, service), string_to_sign.as_bytes()))
}

fn derive_signing_key(secret: &str, date: &str, service: &str) -> [u8; 32] {
    let mut tc3_secret = Vec::with_capacity(3 + secret.len());
    tc3_secret.extend_from_slice(b"TC3");
    tc3_secret.extend_from_slice(secret.as_bytes());
    let k_date = hmac(&tc3_secret, date.as_bytes());
    let k_service = hmac(&k_date, service.as_bytes());
    hmac(&k_service, b"tc3_request")
}

/// The derived key depends only on the secret, the date and the service, so each worker thread keeps the
/// last one it derived: a run of requests signed with one key on one day derives it once (three HMACs,
/// half the hashing of a request, fewer each time). One entry per thread, no lock; the secret compared is
/// the stored one the key id named, never a value the client chose.
fn signing_key(secret: &str, date: &str, service: &str) -> [u8; 32] {
    type Last = Option<(String, String, &'static str, [u8; 32])>;
    thread_local! {
        static LAST: std::cell::RefCell<Last> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else { return derive_signing_key(secret, date, service) };
        if let Some((s, d, v, key)) = last.as_ref() {
            if s == secret && d == date && *v == service {
                return *key;
            }
        }
        let key = derive_signing_key(secret, date, service);
        // Only this API's own service name is kept (no allocation for it); others are derived each time.
        if service == crate::tencent::ckafka_v3::SERVICE {
            *last = Some((secret.to_string(), date.to_string(), crate::tencent::ckafka_v3::SERVICE, key));
        }
        key
    })
}

/// The UTC date (`YYYY-MM-DD`) of a Unix timestamp, as the credential scope carries it.
pub fn date_of(timestamp: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(timestamp, 0).map(|t| t.format("%Y-%m-%d").to_string())
}

/// Whether `date` is `date_of(timestamp)`, compared without formatting a date (`format` parses its format
/// string on every call): the date's numbers are compared instead, for the `YYYY-MM-DD` form only.
pub fn is_date_of(date: &str, timestamp: i64) -> bool {
    use chrono::Datelike;
    let Some(t) = chrono::DateTime::from_timestamp(timestamp, 0) else { return false };
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !(0..=9999).contains(&t.year()) {
        // Any other form (or a year `%Y` writes with a sign) is compared with the formatted date.
        return date_of(timestamp).as_deref() == Some(date);
    }
    digits(0..4) == u32::try_from(t.year()).ok() && digits(5..7) == Some(t.month()) && digits(8..10) == Some(t.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tencent's documented example (API 3.0 "签名方法 v3": CVM DescribeInstances, 2019-02-25), with the
    /// documentation's masked secret taken literally, as the SDKs' own tests do.
    #[test]
    fn tencent_documented_vector() {
        let payload = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        let headers = [("content-type", " Application/JSON; charset=utf-8 "), ("host", "cvm.tencentcloudapi.com")];
        let canonical = canonical_request("POST", "/", "", &headers, payload.as_bytes());
        assert_eq!(
            canonical,
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n\
             content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let date = date_of(1551113065).unwrap();
        assert_eq!(date, "2019-02-25");
        let sts = string_to_sign(1551113065, &date, "cvm", &canonical);
        assert_eq!(
            sts,
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n\
             5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        assert_eq!(
            sign("Gu5t9xGARNpq86cd98joQYCN3*******", &date, "cvm", &sts),
            "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
        );
    }

    #[test]
    fn the_kept_signing_key_is_the_derived_one() {
        let sts = "TC3-HMAC-SHA256\n1551113065\n2019-02-25/ckafka/tc3_request\nabc";
        let fresh =
            |secret: &str, date: &str| hex::encode(hmac(&derive_signing_key(secret, date, "ckafka"), sts.as_bytes()));
        for (secret, date) in
            [("a", "2019-02-25"), ("a", "2019-02-25"), ("b", "2019-02-25"), ("b", "2019-02-26"), ("a", "2019-02-25")]
        {
            assert_eq!(sign(secret, date, "ckafka", sts), fresh(secret, date));
        }
        assert_ne!(sign("a", "2019-02-25", "ckafka", sts), sign("b", "2019-02-25", "ckafka", sts));
        assert_ne!(sign("a", "2019-02-25", "ckafka", sts), sign("a", "2019-02-25", "cvm", sts));
    }

    #[test]
    fn the_scope_date_is_compared_as_the_formatted_date_was() {
        for ts in [0, 1551113065, 1551139199, 1551139200, -1, 253_402_300_799, 253_402_300_800, i64::MAX] {
            let formatted = date_of(ts);
            for date in [formatted.clone().unwrap_or_default(), "2019-02-25".into(), "2019-2-25".into(), "x".into()] {
                assert_eq!(is_date_of(&date, ts), formatted.as_deref() == Some(date.as_str()), "{ts} {date}");
            }
        }
        assert!(is_date_of("2019-02-25", 1551113065));
        assert!(!is_date_of("2019-02-2x", 1551113065));
        assert!(!is_date_of("+019-02-25", 1551113065));
    }

    #[test]
    fn parses_the_authorization_header() {
        let a = parse_authorization(
            "TC3-HMAC-SHA256 Credential=AKIDx/2019-02-25/ckafka/tc3_request, SignedHeaders=content-type;host, \
             Signature=abc",
        )
        .unwrap();
        assert_eq!(a.secret_id, "AKIDx");
        assert_eq!(a.service, "ckafka");
        assert_eq!(a.signed_headers, vec!["content-type", "host"]);
        assert_eq!(a.signature, "abc");
        assert!(parse_authorization(
            "TC3-HMAC-SHA256 Credential=AKIDx/2019-02-25/ckafka/x, SignedHeaders=host, Signature=a"
        )
        .is_none());
        assert!(parse_authorization("HMAC-SHA256 Credential=a/b/c/tc3_request").is_none());
        assert!(parse_authorization("TC3-HMAC-SHA256 garbage").is_none());
    }
}
