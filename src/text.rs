//! Small helpers for the per-request and per-row hot paths: formatting a day, an
//! address or an amount on the stack, and hashing keys that need no DoS-resistant hash.

/// Formats into a buffer on the stack: a day, an IP address, without allocating.
pub struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    /// `value` as text; `None` if it does not fit in `N` bytes.
    pub fn of(value: impl std::fmt::Display) -> Option<Self> {
        use std::fmt::Write as _;
        let mut t = StackText { buf: [0; N], len: 0 };
        write!(t, "{value}").ok()?;
        Some(t)
    }

    pub fn as_str(&self) -> &str {
        // Only whole `str`s are ever copied in.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl<const N: usize> std::fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A multiply-and-rotate hasher for keys an outsider cannot choose: row ids, and
/// visitor hashes (already uniform HMAC outputs). Much cheaper than SipHash.
#[derive(Default)]
pub struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(29) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn write_i32(&mut self, n: i32) {
        self.write_u64(u64::from(n as u32));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// [`FastHasher`] for `HashMap` and `HashSet`.
pub type FastHash = std::hash::BuildHasherDefault<FastHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn fast_hash_spreads_ids_and_bytes() {
        use std::hash::BuildHasher;
        let h = FastHash::default();
        let ids: std::collections::HashSet<u64> = (0..10_000i64).map(|i| h.hash_one(i)).collect();
        assert_eq!(ids.len(), 10_000, "no two ids collide");
        // The buckets a table of 1024 picks (top bits for control, low bits for the slot).
        let slots: std::collections::HashSet<u64> = (0..1024i64).map(|i| h.hash_one(i) & 1023).collect();
        assert!(slots.len() > 600, "ids spread over the slots: {}", slots.len());
        assert_ne!(h.hash_one([1u8; 16]), h.hash_one([2u8; 16]));
        assert_ne!(h.hash_one((1i64, 2i32)), h.hash_one((2i64, 1i32)));
    }

    #[test]
    fn stack_text_formats_what_fits_and_refuses_the_rest() {
        let ip: std::net::IpAddr = "2001:db8::ff00:42:8329".parse().unwrap();
        assert_eq!(StackText::<45>::of(ip).unwrap().as_str(), "2001:db8::ff00:42:8329");
        let day = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        assert_eq!(StackText::<10>::of(day).unwrap().as_str(), "2026-03-09");
        assert!(StackText::<9>::of(day).is_none());
    }
}
