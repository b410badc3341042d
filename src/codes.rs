//! Random codes (invite, tracking link, verification) and their stored hashes.

use sha2::{Digest, Sha256};

/// Lowercase letters and digits without look-alikes (no 0/o, 1/l/i).
const LINK_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const VERIFY_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("operating system random source");
    buf
}

fn from_alphabet(alphabet: &[u8], len: usize) -> String {
    // Rejection sampling keeps every symbol equally likely.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<64>() {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

/// An invite code: 27 symbols of a 31-letter alphabet (> 133 bits), safe in a Telegram `start` link.
pub fn invite_code() -> String {
    from_alphabet(LINK_ALPHABET, 27)
}

/// A tracking-link code: 8 symbols of a 31-letter alphabet (~40 bits), unique by index.
pub fn link_code() -> String {
    from_alphabet(LINK_ALPHABET, 8)
}

/// A short verification code for `verify`: 8 symbols, limited attempts and lifetime.
pub fn verify_code() -> String {
    from_alphabet(VERIFY_ALPHABET, 8)
}

/// The stored form of a secret code: hex SHA-256 of its normalized text.
pub fn hash_code(code: &str) -> String {
    hex::encode(Sha256::digest(normalize_code(code).as_bytes()))
}

/// Codes are compared case-insensitively, ignoring surrounding space and dashes.
pub fn normalize_code(code: &str) -> String {
    code.trim()
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
}

/// A 256-bit random key (HMAC keys).
pub fn random_key() -> [u8; 32] {
    random_bytes::<32>()
}

/// Compares two stored hashes in constant time.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_codes_are_long_distinct_and_deep_link_safe() {
        let a = invite_code();
        let b = invite_code();
        assert_ne!(a, b);
        assert_eq!(a.len(), 27);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        // 27 symbols of a 31-letter alphabet carry more than 128 bits.
        assert!(27.0 * (31f64).log2() > 128.0);
    }

    #[test]
    fn hashes_ignore_case_and_spacing() {
        assert_eq!(hash_code("ABCD-EFGH "), hash_code("abcdefgh"));
        assert_ne!(hash_code("abcdefgh"), hash_code("abcdefgi"));
    }
}
