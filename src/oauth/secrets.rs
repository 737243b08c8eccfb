//! High-entropy secrets: generated from the OS RNG, stored only as SHA-256, compared in
//! constant time. (Passwords are low-entropy and go to argon2 instead: see `passwords`.)

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `bytes` random bytes, base64url without padding. 32 bytes = 256 bits.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("the OS random number generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// Compares a presented secret with a stored SHA-256 without leaking where they differ.
pub fn matches_hash(presented: &str, stored_hash: &[u8]) -> bool {
    let presented = Sha256::digest(presented.as_bytes());
    presented.as_slice().ct_eq(stored_hash).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_long() {
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
    }

    #[test]
    fn hash_matching() {
        let stored = sha256(b"s3cret");
        assert!(matches_hash("s3cret", &stored));
        assert!(!matches_hash("s3creT", &stored));
        assert!(!matches_hash("s3cret", &stored[..31]));
    }
}
