//! Spain: DNI, NIE, CIF and NIF.
//!
//! Sources: Real Decreto 1553/2005 (DNI control letter: number mod 23 over
//! `TRWAGMYFPDXBNJZSQVHLCKE`); Orden INT/2058/2008 (NIE: X/Y/Z read as 0/1/2); Real Decreto
//! 1065/2007 and Orden EHA/451/2008 (CIF/NIF of legal persons: entity letter, Luhn-style control
//! digit or letter `JABCDEFGHI`); python-stdnum `es.dni`, `es.nie`, `es.cif`, `es.nif`.

use crate::document::{
    Findings, check_digit_issue, compact, component_issue, fixed_detail, matches_shape,
};
use crate::level::{Checked, Issue};

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// The control letter of up to 8 ASCII digits.
pub(crate) fn dni_letter(digits: &[u8]) -> u8 {
    let n = digits
        .iter()
        .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
    DNI_LETTERS[(n % 23) as usize]
}

/// The CIF control digit of the 7 middle digits (doubling Luhn) and its letter form.
pub(crate) fn cif_controls(seven: &[u8]) -> (u8, u8) {
    let sum: u32 = seven
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 0 {
                (d * 2) / 10 + (d * 2) % 10
            } else {
                d
            }
        })
        .sum();
    let c = ((10 - sum % 10) % 10) as usize;
    (b'0' + c as u8, b"JABCDEFGHI"[c])
}

fn shape_error(what: &'static str, shape: &'static str) -> Issue {
    Issue::new(
        "invalidFormat",
        fixed_detail(("shape", what, shape, &[]), || {
            format!("{what} must be {shape}")
        }),
    )
}

/// DNI: 8 digits and a control letter (`54362315-K`). Strict: the letter.
pub(crate) fn dni(raw: &str) -> Result<Checked<String>, Issue> {
    let s = compact(raw, "DNI", " -")?;
    if !matches_shape(&s, "99999999A") {
        return Err(shape_error("DNI", "8 digits and a letter"));
    }
    let b = s.as_bytes();
    let mut f = Findings::default();
    f.require(dni_letter(&b[..8]) == b[8], || check_digit_issue("DNI"));
    Ok(f.done(s))
}

/// NIE: X, Y or Z, 7 digits and a control letter (`X-2482300-W`). Strict: the letter.
pub(crate) fn nie(raw: &str) -> Result<Checked<String>, Issue> {
    let s = compact(raw, "NIE", " -")?;
    if !matches_shape(&s, "A9999999A") || !matches!(s.as_bytes()[0], b'X' | b'Y' | b'Z') {
        return Err(shape_error("NIE", "X, Y or Z, 7 digits and a letter"));
    }
    let b = s.as_bytes();
    let mut f = Findings::default();
    let mut digits = [0u8; 8];
    digits[0] = b'0' + (b[0] - b'X');
    digits[1..].copy_from_slice(&b[1..8]);
    f.require(dni_letter(&digits) == b[8], || check_digit_issue("NIE"));
    Ok(f.done(s))
}

/// Strict checks of a CIF already known to match `A9999999X`.
fn check_cif(f: &mut Findings, b: &[u8], what: &'static str) {
    if !b"ABCDEFGHJNPQRSUVW".contains(&b[0]) {
        f.strict.push(component_issue(fixed_detail(
            ("entity", what, "", &[]),
            || format!("{what} entity letter is not one the tax agency assigns"),
        )));
        return;
    }
    let (digit, letter) = cif_controls(&b[1..8]);
    // Either form of the control is accepted for every entity letter, as python-stdnum does:
    // the digit-or-letter rule per entity type is not applied consistently in issued numbers.
    f.require(b[8] == digit || b[8] == letter, || check_digit_issue(what));
}

/// CIF: entity letter, 7 digits, control digit or letter (`J-99216582`). Strict: the entity
/// letter and the control.
pub(crate) fn cif(raw: &str) -> Result<Checked<String>, Issue> {
    let s = compact(raw, "CIF", " -")?;
    if !matches_shape(&s, "A9999999X") {
        return Err(shape_error(
            "CIF",
            "a letter, 7 digits and a control digit or letter",
        ));
    }
    let mut f = Findings::default();
    check_cif(&mut f, s.as_bytes(), "CIF");
    Ok(f.done(s))
}

/// NIF of an organization: a legal person's NIF is its CIF; a sole trader's is the owner's DNI
/// (or NIE, or a K/L/M NIF). All forms are accepted; an `ES` VAT prefix is dropped. Strict: the
/// rules of the form found.
pub(crate) fn nif_company(raw: &str) -> Result<Checked<String>, Issue> {
    let s = compact(raw, "NIF", " -")?;
    let s = match s.strip_prefix("ES") {
        Some(rest) if rest.len() == 9 => rest.to_string(),
        _ => s,
    };
    if !matches_shape(&s, "X9999999X") {
        return Err(shape_error(
            "NIF",
            "9 characters: a letter or digit, 7 digits, a letter or digit",
        ));
    }
    let b = s.as_bytes();
    match b[0] {
        b'0'..=b'9' => dni(&s),
        b'X' | b'Y' | b'Z' => nie(&s),
        b'K' | b'L' | b'M' => {
            let mut f = Findings::default();
            f.require(dni_letter(&b[1..8]) == b[8], || check_digit_issue("NIF"));
            Ok(f.done(s))
        }
        _ => {
            let mut f = Findings::default();
            check_cif(&mut f, b, "NIF");
            Ok(f.done(s))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_numbers_are_valid() {
        for raw in ["54362315-K", "54362315K", "00000000T"] {
            assert!(dni(raw).unwrap().strict.is_empty(), "{raw}");
        }
        for raw in ["X-2482300-W", "Y0000000Z", "z1234567r"] {
            assert!(nie(raw).unwrap().strict.is_empty(), "{raw}");
        }
        for raw in ["J99216582", "A13585625", "B-58378431", "Q2826000H"] {
            assert!(cif(raw).unwrap().strict.is_empty(), "{raw}");
        }
        for raw in ["ES B-58378431", "54362315K", "X2482300W", "M1234567L"] {
            assert!(nif_company(raw).unwrap().strict.is_empty(), "{raw}");
        }
    }

    #[test]
    fn wrong_controls_are_strict_and_shapes_structural() {
        assert_eq!(dni("54362315Z").unwrap().strict[0].code, "checkDigit");
        assert_eq!(nie("X2482300A").unwrap().strict[0].code, "checkDigit");
        assert_eq!(cif("J99216583").unwrap().strict[0].code, "checkDigit");
        assert_eq!(cif("I99216582").unwrap().strict[0].code, "invalidComponent");
        assert!(dni("5436231K").is_err() && dni("543623150").is_err());
        assert!(nie("A2482300W").is_err());
        assert!(cif("J9921658").is_err());
    }
}
