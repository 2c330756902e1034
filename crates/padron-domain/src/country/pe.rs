//! Peru: DNI (with the optional CUI check character), CE and RUC.
//!
//! Sources: RENIEC (DNI/CUI check character printed on the card); SUNAT, "Validación del RUC"
//! (módulo 11, weights 5 4 3 2 7 6 5 4 3 2); python-stdnum `pe.cui`, `pe.ruc`.

use crate::document::{
    Findings, check_digit_issue, check_len, compact, component_issue, digits, weighted,
};
use crate::level::{Checked, Issue};

/// The two accepted CUI check characters (a digit and a letter) of the eight DNI digits.
fn cui_checks(dni: &[u8]) -> [u8; 2] {
    let c = (weighted(dni, &[3, 2, 7, 6, 5, 4, 3, 2]) % 11) as usize;
    [b"65432110987"[c], b"KJIHGFEDCBA"[c]]
}

/// DNI: 8 digits, optionally followed by the CUI check character printed on the card (a digit
/// or a letter). Strict: that character, when given. Canonical: the 8 digits only, so a DNI
/// written with or without its check character is the same number.
pub(crate) fn dni(raw: &str) -> Result<Checked<String>, Issue> {
    let s = compact(raw, "DNI", " -")?;
    let b = s.as_bytes();
    if !(b.len() == 8 || b.len() == 9) || !b[..8.min(b.len())].iter().all(u8::is_ascii_digit) {
        return Err(Issue::new(
            "invalidFormat",
            "DNI must have 8 digits, optionally followed by its check character",
        ));
    }
    let mut f = Findings::default();
    if let Some(&check) = b.get(8) {
        f.require(cui_checks(&b[..8]).contains(&check), || {
            check_digit_issue("DNI")
        });
    }
    Ok(f.done(s[..8].to_string()))
}

/// CE (carné de extranjería): 8 to 12 letters and digits; no public check digit.
pub(crate) fn ce(raw: &str) -> Result<Checked<String>, Issue> {
    let s = compact(raw, "CE", " -")?;
    check_len(&s, "CE", &[8, 9, 10, 11, 12], "letters and digits")?;
    Ok(Checked::clean(s))
}

/// RUC prefixes: 10 (person), 15 and 17 (non-resident or other people), 20 (company).
const RUC_PREFIXES: [&str; 4] = ["10", "15", "17", "20"];

/// RUC: 11 digits. Strict: the type prefix and the check digit.
pub(crate) fn ruc(raw: &str) -> Result<Checked<String>, Issue> {
    let s = digits(raw, "RUC", " ", &[11])?;
    let b = s.as_bytes();
    let mut f = Findings::default();
    f.require(RUC_PREFIXES.contains(&&s[..2]), || {
        component_issue("RUC must start with 10, 15, 17 or 20")
    });
    let check = (11 - weighted(&b[..10], &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) % 11) % 10;
    f.require(u32::from(b[10] - b'0') == check, || {
        check_digit_issue("RUC")
    });
    Ok(f.done(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_numbers_are_valid() {
        for raw in ["20512333797", "10467793549", "20100047218"] {
            let c = ruc(raw).unwrap();
            assert!(c.strict.is_empty(), "{raw}");
        }
        assert_eq!(ruc("20512333798").unwrap().strict[0].code, "checkDigit");
        assert_eq!(
            ruc("30512333797").unwrap().strict[0].code,
            "invalidComponent"
        );
        assert!(ruc("2051233379").is_err());
        assert!(ruc("20-512333797").is_err());
    }

    #[test]
    fn dni_check_character_is_optional_and_dropped() {
        assert_eq!(dni("10117410").unwrap().value, "10117410");
        let c = dni("10117410-2").unwrap();
        assert_eq!(c.value, "10117410");
        assert!(c.strict.is_empty());
        assert!(dni("10117410G").unwrap().strict.is_empty());
        assert_eq!(dni("101174103").unwrap().strict[0].code, "checkDigit");
        assert!(dni("1011741").is_err() && dni("1011741A2").is_err() && dni("1011741022").is_err());
    }

    #[test]
    fn a_wrong_check_character_fails_strictly_but_not_once_dropped() {
        // Input from the `document` fuzz target (fuzz/, docs/VALIDATION.md): its first
        // property wrongly expected the strict verdict to survive canonicalisation. The check
        // character is not part of the number, so the canonical form is clean by design; what
        // must hold is that strict mode rejects the input as typed.
        let typed = dni("13937394B").unwrap();
        assert_eq!(typed.strict[0].code, "checkDigit");
        assert_eq!(typed.value, "13937394");
        assert!(dni(&typed.value).unwrap().strict.is_empty());
        assert!(dni("13937394D").unwrap().strict.is_empty());
    }
}
