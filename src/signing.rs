//! HMAC primitives shared by the vendors' signature schemes (each scheme lives in its vendor's module).

use base64::Engine;
use hmac::{Hmac, Mac};

pub fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

// HMAC accepts keys of any length, so `new_from_slice` cannot fail; this keeps the request path panic-free
// in the type system's eyes without an unwrap.
#[cold]
fn unreachable_hmac<T>() -> T {
    unreachable!("HMAC accepts keys of any length")
}

pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}
