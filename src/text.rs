//! Formatting small values (a day, an address, an amount) on the stack, without
//! allocating: for the per-request and per-row hot paths.

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn stack_text_formats_what_fits_and_refuses_the_rest() {
        let ip: std::net::IpAddr = "2001:db8::ff00:42:8329".parse().unwrap();
        assert_eq!(StackText::<45>::of(ip).unwrap().as_str(), "2001:db8::ff00:42:8329");
        let day = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        assert_eq!(StackText::<10>::of(day).unwrap().as_str(), "2026-03-09");
        assert!(StackText::<9>::of(day).is_none());
    }
}
