//! Test-side Alibaba RPC signature v1 (seed §2.6.5), written from the document, independent of src/.
#![allow(dead_code)]

use std::collections::BTreeMap;

use base64::Engine;
use hmac::{Hmac, Mac};

/// RFC 3986 percent-encoding (`~` kept, space as `%20`, upper-case hex).
pub fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `METHOD&%2F&pct(sorted pct(k)=pct(v) joined by &)`, every parameter but `Signature`.
pub fn string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    let canonical: Vec<String> =
        params.iter().filter(|(k, _)| *k != "Signature").map(|(k, v)| format!("{}={}", pct(k), pct(v))).collect();
    format!("{method}&%2F&{}", pct(&canonical.join("&")))
}

/// `base64(HMAC-SHA1(secret + "&", data))`.
pub fn hmac_sha1_b64(secret: &str, data: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
