//! Resource id generation in the vendors' shapes (`ckafka-4imuy62g`, `alikafka_pre-cn-0pp1954n001`, ...).

use rand::Rng;
use sha2::{Digest, Sha256};

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// `len` random lower-case letters and digits.
pub fn random_suffix(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| ALNUM[rng.gen_range(0..ALNUM.len())] as char).collect()
}

/// `len` lower-case letters and digits derived from `seed`: stable across restarts, so default
/// resources keep their ids and users can write them into their configuration.
pub fn stable_suffix(seed: &str, len: usize) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    digest.iter().cycle().take(len).map(|b| ALNUM[(*b as usize) % ALNUM.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_ids_are_stable_and_shaped() {
        let a = stable_suffix("tencent/1/ap-guangzhou", 8);
        assert_eq!(a, stable_suffix("tencent/1/ap-guangzhou", 8));
        assert_ne!(a, stable_suffix("tencent/1/ap-beijing", 8));
        assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) && a.len() == 8);
        assert_eq!(random_suffix(12).len(), 12);
    }
}
