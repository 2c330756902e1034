//! Colombia: CC and CE (identity cards, no check digit) and NIT (tax number).
//!
//! Sources: DIAN, "Dígito de verificación del NIT" (módulo 11 with prime weights 3, 7, 13, …);
//! Registraduría Nacional (CC numbering); python-stdnum `co.nit`.

use crate::document::{Findings, check_digit_issue, digits};
use crate::level::{Checked, Issue};

/// Separators of Colombian numbers: dots or commas group thousands (`1.020.304.050`), a dash
/// sets off the NIT check digit.
const SEPS: &str = " .,-";

/// CC (cédula de ciudadanía): 3 to 10 digits — old cards from before 1990 carry short numbers.
pub(crate) fn cc(raw: &str) -> Result<Checked<String>, Issue> {
    digits(raw, "CC", SEPS, &[3, 4, 5, 6, 7, 8, 9, 10]).map(Checked::clean)
}

/// CE (cédula de extranjería): 3 to 10 digits. Migración Colombia issues up to 7 today; the
/// wider range leaves room for older and future series rather than turn residents away.
pub(crate) fn ce(raw: &str) -> Result<Checked<String>, Issue> {
    digits(raw, "CE", SEPS, &[3, 4, 5, 6, 7, 8, 9, 10]).map(Checked::clean)
}

/// The NIT check digit of its body: weights 3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67,
/// 71 from the rightmost digit; sum mod 11 of 0 or 1 gives itself, otherwise 11 − it.
pub(crate) fn nit_check(body: &[u8]) -> u8 {
    const W: [u32; 15] = [3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71];
    let sum: u32 = body
        .iter()
        .rev()
        .zip(W)
        .map(|(&d, w)| u32::from(d - b'0') * w)
        .sum();
    b"01987654321"[(sum % 11) as usize]
}

/// NIT: 8 to 16 digits including the check digit (`900.373.115-3`). Strict: the check digit.
pub(crate) fn nit(raw: &str) -> Result<Checked<String>, Issue> {
    let s = digits(raw, "NIT", SEPS, &[8, 9, 10, 11, 12, 13, 14, 15, 16])?;
    let (body, check) = s.as_bytes().split_at(s.len() - 1);
    let mut f = Findings::default();
    f.require(nit_check(body) == check[0], || check_digit_issue("NIT"));
    Ok(f.done(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_nits_are_valid() {
        for (raw, canonical) in [
            ("213.123.432-1", "2131234321"),
            ("890.981.268-4", "8909812684"),
            ("900,206,480-2", "9002064802"),
        ] {
            let c = nit(raw).unwrap();
            assert_eq!(c.value, canonical);
            assert!(c.strict.is_empty(), "{raw}");
        }
        assert_eq!(nit("213.123.432-2").unwrap().strict[0].code, "checkDigit");
        assert!(nit("1234567").is_err());
        assert!(nit("213.123.432-X").is_err());
    }

    #[test]
    fn identity_cards_are_shape_only() {
        assert_eq!(cc("1.020.304.050").unwrap().value, "1020304050");
        assert!(cc("12").is_err() && cc("12345678901").is_err() && cc("12a45").is_err());
        assert_eq!(ce("1234567").unwrap().value, "1234567");
    }
}
