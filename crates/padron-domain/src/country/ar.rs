//! Argentina: DNI, CUIL and CUIT.
//!
//! Source: AFIP, "CUIT: dígito verificador" (módulo 11, weights 5 4 3 2 7 6 5 4 3 2); python-stdnum
//! `ar.dni` and `ar.cuit` for the reference behaviour.

use crate::document::{
    Findings, check_digit_issue, component_issue, digits, fixed_detail, weighted,
};
use crate::level::{Checked, Issue};

/// DNI: 7 or 8 digits, written with dots or spaces (`20.123.456`). No check digit exists.
pub(crate) fn dni(raw: &str) -> Result<Checked<String>, Issue> {
    digits(raw, "DNI", " .", &[7, 8]).map(Checked::clean)
}

/// CUIT prefixes: people (20, 23, 24, 27), companies (30, 33, 34), international (50, 51, 55).
const CUIT_PREFIXES: [&str; 10] = ["20", "23", "24", "27", "30", "33", "34", "50", "51", "55"];
/// CUIL prefixes: only people have one.
const CUIL_PREFIXES: [&str; 4] = ["20", "23", "24", "27"];

/// The CUIT/CUIL check digit of the first ten digits. A result of 10 is written `9`: AFIP then
/// changes the prefix to 23 and the check digit to 9 (or 4), and python-stdnum accepts `9`.
pub(crate) fn cuit_check(first10: &[u8]) -> u8 {
    let sum = weighted(first10, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) % 11;
    b"012345678990"[(11 - sum) as usize]
}

fn cuit_like(raw: &str, what: &'static str, prefixes: &[&str]) -> Result<Checked<String>, Issue> {
    let s = digits(raw, what, " -", &[11])?;
    let b = s.as_bytes();
    let mut f = Findings::default();
    f.require(prefixes.contains(&&s[..2]), || {
        // `what` (CUIT or CUIL) determines its prefixes.
        component_issue(fixed_detail(("prefix", what, "", &[]), || {
            format!("{what} prefix must be one of {}", prefixes.join(", "))
        }))
    });
    f.require(cuit_check(&b[..10]) == b[10], || check_digit_issue(what));
    Ok(f.done(s))
}

/// CUIT: 11 digits, `XX-XXXXXXXX-X`; strict checks the type prefix and the check digit.
pub(crate) fn cuit(raw: &str) -> Result<Checked<String>, Issue> {
    cuit_like(raw, "CUIT", &CUIT_PREFIXES)
}

/// CUIL: as a CUIT, but only the prefixes of people.
pub(crate) fn cuil(raw: &str) -> Result<Checked<String>, Issue> {
    cuit_like(raw, "CUIL", &CUIL_PREFIXES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_numbers_are_valid() {
        for (raw, canonical) in [
            ("20-12345678-6", "20123456786"),
            ("20123456786", "20123456786"),
            ("30-50001091-2", "30500010912"),
            ("20267565393", "20267565393"),
        ] {
            let c = cuit(raw).unwrap();
            assert_eq!(c.value, canonical);
            assert!(c.strict.is_empty(), "{raw}");
        }
        assert!(cuil("20-12345678-6").unwrap().strict.is_empty());
        assert_eq!(dni("20.123.456").unwrap().value, "20123456");
        assert_eq!(dni("1234567").unwrap().value, "1234567");
    }

    #[test]
    fn companies_have_no_cuil_and_bad_digits_are_strict() {
        assert_eq!(
            cuil("30-50001091-2").unwrap().strict[0].code,
            "invalidComponent"
        );
        assert_eq!(cuit("20-12345678-7").unwrap().strict[0].code, "checkDigit");
        assert_eq!(
            cuit("10-12345678-6").unwrap().strict[0].code,
            "invalidComponent"
        );
    }

    #[test]
    fn malformed_numbers_are_structural() {
        for raw in [
            "2012345678",
            "201234567860",
            "20.12345678.6",
            "2O123456786",
            "123456",
            "123456789",
        ] {
            assert!(cuit(raw).is_err(), "{raw}");
        }
        assert!(dni("123456").is_err());
        assert!(dni("12-345-678").is_err());
    }
}
