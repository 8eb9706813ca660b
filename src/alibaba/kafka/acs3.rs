//! ACS3-HMAC-SHA256, the signature of Alibaba's current (tea) SDKs (sdk-wire-notes §2.3): Action, Version,
//! date and nonce travel in `x-acs-*` headers, the `Authorization` header names the key, the signed headers
//! and a hex signature over `ACS3-HMAC-SHA256\n` + hex(sha256(canonical request)).

use super::signature::percent_encode;
use crate::signing::{hmac_sha256, sha256_hex};

pub const SCHEME: &str = "ACS3-HMAC-SHA256";

/// The parts of an `Authorization: ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..` header.
#[derive(Debug, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub key_id: &'a str,
    pub signed_headers: &'a str,
    pub signature: &'a str,
}

/// Parses the header; None when it is not a well-formed ACS3 authorization.
pub fn parse_authorization(header: &str) -> Option<Authorization<'_>> {
    let rest = header.strip_prefix(SCHEME)?.trim_start();
    let (mut key_id, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => key_id = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    Some(Authorization { key_id: key_id?, signed_headers: signed_headers?, signature: signature? })
}

/// Whether the `SignedHeaders` list (`a;b;c`, any case) names every one of `required` (lower case).
pub fn signs_headers(signed_headers: &str, required: &[&str]) -> bool {
    required.iter().all(|r| signed_headers.split(';').any(|h| h.trim().eq_ignore_ascii_case(r)))
}

/// The canonical request: method, path, sorted encoded query, `name:value` per signed header (in the
/// header's order, lower-case names, trimmed values), the signed-header list, the payload hash.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    signed_headers: &str,
    header_value: impl Fn(&str) -> Option<String>,
    payload_hash: &str,
) -> String {
    let mut pairs: Vec<(String, String)> = query.iter().map(|(k, v)| (percent_encode(k), percent_encode(v))).collect();
    pairs.sort();
    let query: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut out = String::with_capacity(512);
    out.push_str(method);
    out.push('\n');
    out.push_str(if path.is_empty() { "/" } else { path });
    out.push('\n');
    out.push_str(&query.join("&"));
    out.push('\n');
    for name in signed_headers.split(';').filter(|n| !n.is_empty()) {
        let name = name.to_ascii_lowercase();
        let value = header_value(&name).unwrap_or_default();
        out.push_str(&name);
        out.push(':');
        out.push_str(value.trim());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(signed_headers);
    out.push('\n');
    out.push_str(payload_hash);
    out
}

pub fn string_to_sign(canonical_request: &str) -> String {
    format!("{SCHEME}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// hex(HMAC-SHA256(secret, string_to_sign)); the key is the plain secret (no `&`).
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    crate::signing::hex32(&hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_authorization_header() {
        let a =
            parse_authorization("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;x-acs-date,Signature=abc").unwrap();
        assert_eq!(a, Authorization { key_id: "AK", signed_headers: "host;x-acs-date", signature: "abc" });
        assert!(parse_authorization("ACS3-HMAC-SHA256 Credential=AK").is_none());
        assert!(parse_authorization("HMAC-SHA1 x").is_none());
    }

    #[test]
    fn signed_header_lists_are_matched_by_name() {
        assert!(signs_headers("host;X-Acs-Date;x-acs-signature-nonce", &["x-acs-date", "x-acs-signature-nonce"]));
        assert!(!signs_headers("host;x-acs-date", &["x-acs-date", "x-acs-signature-nonce"]));
        assert!(!signs_headers("host;x-acs-date-x", &["x-acs-date"]));
    }

    /// The canonical request of the captured tea SDK GetInstanceList (sdk-wire-notes A.3 #11).
    #[test]
    fn canonical_request_of_the_captured_call() {
        let headers = [
            ("accept", "application/json"),
            ("host", "127.0.0.1:4588"),
            ("user-agent", "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2"),
            ("x-acs-action", "GetInstanceList"),
            ("x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("x-acs-credentials-provider", "static_ak"),
            ("x-acs-date", "2026-11-23T05:25:31Z"),
            ("x-acs-signature-nonce", "2aef752c301df20767b7742dd5531bed"),
            ("x-acs-version", "2019-09-16"),
        ];
        let signed = "accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version";
        let cr = canonical_request(
            "POST",
            "/",
            &[("RegionId".into(), "cn-hangzhou".into())],
            signed,
            |n| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        );
        let expected = "POST\n/\nRegionId=cn-hangzhou\naccept:application/json\nhost:127.0.0.1:4588\nuser-agent:AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2\nx-acs-action:GetInstanceList\nx-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-acs-credentials-provider:static_ak\nx-acs-date:2026-11-23T05:25:31Z\nx-acs-signature-nonce:2aef752c301df20767b7742dd5531bed\nx-acs-version:2019-09-16\n\naccept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(cr, expected);
        // The notes' printed signature does not reproduce with their stated key `secret`; this value is
        // HMAC-SHA256("secret", STS) computed independently in python.
        assert_eq!(
            sign("secret", &string_to_sign(&cr)),
            "082f4a22af395b9c20e3d60e5fe57d9c0c3efafe06354d96a0c81b167b534b6c"
        );
    }
}
