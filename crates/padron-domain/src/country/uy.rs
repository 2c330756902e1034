//! Uruguay: CI (cédula de identidad) and RUT (tax number).
//!
//! Sources: Dirección Nacional de Identificación Civil (CI check digit, weights 2 9 8 7 6 3 4);
//! DGI (RUT: registration, `001` suffix, módulo-11 check digit); python-stdnum `uy.rut`.

use crate::document::{
    Findings, check_digit_issue, compact, component_issue, digits, only_digits, two, weighted,
};
use crate::level::{Checked, Issue};

/// The CI check digit of its first 6 or 7 digits (left-padded with a zero to 7).
pub(crate) fn ci_check(body: &[u8]) -> u8 {
    let mut padded = [b'0'; 7];
    padded[7 - body.len()..].copy_from_slice(body);
    let sum = weighted(&padded, &[2, 9, 8, 7, 6, 3, 4]);
    b'0' + ((10 - sum % 10) % 10) as u8
}

/// CI: 7 or 8 digits, the last one a check digit (`1.234.567-2`). Strict: the check digit.
pub(crate) fn ci(raw: &str) -> Result<Checked<String>, Issue> {
    let s = digits(raw, "CI", " .-", &[7, 8])?;
    let (body, check) = s.as_bytes().split_at(s.len() - 1);
    let mut f = Findings::default();
    f.require(ci_check(body) == check[0], || check_digit_issue("CI"));
    Ok(f.done(s))
}

/// RUT: 12 digits (`21-100342-001-7`), an optional `UY` prefix dropped. Strict: registration
/// office 01–22, a non-zero number, the `001` suffix and the check digit.
pub(crate) fn rut(raw: &str) -> Result<Checked<String>, Issue> {
    let mut s = compact(raw, "RUT", " -")?;
    if s.starts_with("UY") {
        s.drain(..2);
    }
    let s = only_digits(s, "RUT", &[12])?;
    let b = s.as_bytes();
    let mut f = Findings::default();
    f.require(matches!(two(&b[..2]), 1..=22), || {
        component_issue("RUT must start with 01 to 22")
    });
    f.require(&s[2..8] != "000000", || {
        component_issue("RUT number cannot be zero")
    });
    f.require(&s[8..11] == "001", || {
        component_issue("RUT digits 9 to 11 must be 001")
    });
    let check = (11 - weighted(&b[..11], &[4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]) % 11) % 11;
    f.require(check < 10 && u32::from(b[11] - b'0') == check, || {
        check_digit_issue("RUT")
    });
    Ok(f.done(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_numbers_are_valid() {
        for raw in ["21-100342-001-7", "211003420017", "UY 21 140634 001 1"] {
            let c = rut(raw).unwrap();
            assert!(c.strict.is_empty(), "{raw}: {:?}", c.strict);
        }
        assert_eq!(rut("211003420018").unwrap().strict[0].code, "checkDigit");
        assert_eq!(
            rut("231003420017").unwrap().strict[0].code,
            "invalidComponent"
        );
        assert!(rut("21100342001").is_err());
        for raw in ["1.234.567-2", "12345672", "9.876.543-8"] {
            assert!(ci(raw).unwrap().strict.is_empty(), "{raw}");
        }
        assert_eq!(ci("1.234.567-3").unwrap().strict[0].code, "checkDigit");
        assert!(ci("123456").is_err());
    }
}
