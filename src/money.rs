//! Money amounts (integer minor units of their currency, ISO 4217: cents for EUR, yen
//! for JPY, fils for KWD), their formatting, and rates.

/// Digits after the decimal point of a currency's amounts (ISO 4217): 0 for JPY, 3 for
/// KWD, 2 for the rest and for codes not listed.
pub fn currency_decimals(code: &str) -> u32 {
    // Compared in place: this runs for every amount shown or exported.
    const NONE: [&str; 17] = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF",
        "XPF",
    ];
    const THREE: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    let is = |c: &&str| c.eq_ignore_ascii_case(code);
    if code.len() != 3 {
        2
    } else if NONE.iter().any(is) {
        0
    } else if THREE.iter().any(is) {
        3
    } else {
        2
    }
}

/// `4900, "EUR"` → `49.00 EUR`; `5000, "JPY"` → `5000 JPY`; `1500, "KWD"` → `1.500 KWD`.
pub fn money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", amount(minor, currency))
}

/// An amount in its currency's decimals, without the code: `4900, "EUR"` → `49.00`.
pub fn amount(minor: i64, currency: &str) -> Amount {
    Amount {
        minor,
        decimals: currency_decimals(currency),
    }
}

/// An amount of minor units shown with `decimals` digits after the point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount {
    pub minor: i64,
    pub decimals: u32,
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let m = self.minor.unsigned_abs();
        match self.decimals {
            0 => write!(f, "{sign}{m}"),
            d => {
                let unit = 10_u64.pow(d);
                write!(f, "{sign}{}.{:0width$}", m / unit, m % unit, width = d as usize)
            }
        }
    }
}

/// A typed amount with `places` decimals (2.50 at 2 places is 250) in a currency's minor
/// units: exact, or `None` when it has decimals the currency has not (2.50 JPY).
pub fn minor_units_in(value: i64, places: u32, currency: &str) -> Option<i64> {
    let decimals = currency_decimals(currency);
    if decimals >= places {
        value.checked_mul(10_i64.pow(decimals - places))
    } else {
        let per = 10_i64.pow(places - decimals);
        (value % per == 0).then_some(value / per)
    }
}

/// `4900` → `49.00` (two decimals, whatever the currency: rates, and amounts not tied
/// to one currency); negative amounts keep their sign.
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

    #[test]
    fn each_currency_shows_its_own_decimals() {
        assert_eq!(money(5000, "JPY"), "5000 JPY");
        assert_eq!(money(1500, "KWD"), "1.500 KWD");
        assert_eq!(money(-5, "kwd"), "-0.005 kwd");
        assert_eq!(money(4900, "USD"), "49.00 USD");
        assert_eq!(amount(-150, "EUR").to_string(), "-1.50");
        assert_eq!(minor_units_in(30000, 2, "JPY"), Some(300));
        assert_eq!(minor_units_in(250, 2, "JPY"), None);
        assert_eq!(minor_units_in(150, 2, "KWD"), Some(1500));
        assert_eq!(minor_units_in(250, 2, "EUR"), Some(250));
        assert_eq!(minor_units_in(12_125, 3, "KWD"), Some(12_125));
        assert_eq!(minor_units_in(12_125, 3, "EUR"), None);
    }
}
