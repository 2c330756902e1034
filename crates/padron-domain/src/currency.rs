//! ISO 4217 currency codes, from the country data keshvar ships (the currencies of the
//! world's countries; fund and metal codes such as XAU are not accepted for a bank account).

/// Whether `code` (exactly three upper-case letters) is a currency some country uses.
pub fn is_currency(code: &str) -> bool {
    code.len() == 3
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && keshvar::CurrencyCode::try_from(code).is_ok()
}

#[cfg(test)]
mod tests {
    use super::is_currency;

    #[test]
    fn known_currencies_pass_and_others_fail() {
        for code in [
            "CLP", "MXN", "BRL", "USD", "EUR", "ARS", "COP", "PEN", "UYU",
        ] {
            assert!(is_currency(code), "{code}");
        }
        for code in ["clp", "ABC", "US", "USDD", "", "€UR"] {
            assert!(!is_currency(code), "{code}");
        }
    }
}
