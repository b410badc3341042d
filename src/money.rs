//! Formatting of money amounts (minor units) and rates.

/// `4900, "EUR"` → `49.00 EUR`.
pub fn money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", decimal(minor))
}

/// `4900` → `49.00`; negative amounts keep their sign.
pub fn decimal(minor: i64) -> String {
    Decimal(minor).to_string()
}

/// An amount in minor units shown as [`decimal`] shows it, for formatting without a `String`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal(pub i64);

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let m = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", m / 100, m % 100)
    }
}

/// `part / whole` as a percentage with one decimal, or `–` when `whole` is zero.
pub fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        "–".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(money(4900, "EUR"), "49.00 EUR");
        assert_eq!(decimal(5), "0.05");
        assert_eq!(decimal(-150), "-1.50");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(1, 0), "–");
    }
}
