//! The shops' signatures: HMAC-SHA256 of the raw body in hex or base64, compared in
//! constant time, with every configured secret (two while rotating).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a delivery's signature was refused; `Display` is the answer to the shop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShopSignatureError {
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("malformed {0} header")]
    Malformed(&'static str),
    /// (our clock minus the timestamp, the tolerance), in seconds.
    #[error("signature timestamp is {skew} s in the {side} (at most {tol} s allowed); check the sender's clock", skew = .0.unsigned_abs(), side = if *.0 >= 0 { "past" } else { "future" }, tol = .1)]
    Stale(i64, i64),
    #[error("the signature matches no configured secret")]
    Mismatch,
    #[error("unknown connection")]
    UnknownConnection,
}

fn mac(secret: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    for p in parts {
        m.update(p);
    }
    m
}

/// The hex HMAC-SHA256 of the parts, one after the other.
pub fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    hex::encode(mac(secret.as_bytes(), parts).finalize().into_bytes())
}

/// The base64 HMAC-SHA256 of the parts.
pub fn hmac_base64(secret: &str, parts: &[&[u8]]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(secret.as_bytes(), parts).finalize().into_bytes())
}

/// Whether `sig` (raw bytes) is the HMAC of the parts with one of `secrets`, in
/// constant time for each secret.
pub fn matches_any(secrets: &[String], parts: &[&[u8]], sig: &[u8]) -> bool {
    secrets
        .iter()
        .any(|s| mac(s.as_bytes(), parts).verify_slice(sig).is_ok())
}

/// A header's hex signature as bytes.
pub fn hex_sig(value: &str, header: &'static str) -> Result<Vec<u8>, ShopSignatureError> {
    hex::decode(value.trim()).map_err(|_| ShopSignatureError::Malformed(header))
}

/// A header's base64 signature as bytes.
pub fn base64_sig(value: &str, header: &'static str) -> Result<Vec<u8>, ShopSignatureError> {
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| ShopSignatureError::Malformed(header))
}

/// Whether `t` is within `tolerance` seconds of `now`.
pub fn fresh(t: i64, now: i64, tolerance: i64) -> Result<(), ShopSignatureError> {
    let skew = now.saturating_sub(t);
    if skew.abs() > tolerance {
        return Err(ShopSignatureError::Stale(skew, tolerance));
    }
    Ok(())
}

/// The secret as WooCommerce signs with it: it decodes HTML entities (`&amp;` …) of
/// the secret saved in its admin before signing.
pub fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Compares a secret from a URL with the configured ones in constant time.
pub fn secret_matches(secrets: &[String], given: &str) -> bool {
    use subtle::ConstantTimeEq;
    let given = sha2::Digest::finalize(<Sha256 as sha2::Digest>::new_with_prefix(given.as_bytes()));
    secrets.iter().fold(false, |found, s| {
        let d = sha2::Digest::finalize(<Sha256 as sha2::Digest>::new_with_prefix(s.as_bytes()));
        found | bool::from(d.ct_eq(&given))
    })
}
