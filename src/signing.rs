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

/// Lowercase hex of a SHA-256 digest (64 characters).
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex32(&sha2::Sha256::digest(data).into())
}

/// Lowercase hex of a 32-byte digest or HMAC, e.g. for signatures compared as text. Written through
/// `hex::encode_to_slice` into a stack buffer: `hex::encode` builds its String one `char` at a time (about
/// 1% of a signed Huawei read, issue 16).
pub fn hex32(bytes: &[u8; 32]) -> String {
    let mut out = [0u8; 64];
    // 32 bytes always fit 64 hex digits, which are ASCII: neither call can fail.
    if hex::encode_to_slice(bytes, &mut out).is_err() {
        return hex::encode(bytes);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex32_is_lowercase_hex_as_hex_encode_writes_it() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37 + 11) as u8);
        assert_eq!(hex32(&bytes), hex::encode(bytes));
        assert_eq!(hex32(&[0xab; 32]), "ab".repeat(32));
        // The SHA-256 of "" (FIPS 180-2 test vector).
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
