//! Chile: the RUT (Rol Único Tributario), which is also the RUN of a person.
//!
//! Source: Servicio de Registro Civil e Identificación / SII, "módulo 11" check digit; python-stdnum
//! `cl.rut` for the reference behaviour.

use crate::document::{Findings, check_digit_issue, compact};
use crate::level::{Checked, Issue};

/// The RUT check character of a body of ASCII digits: weights 2, 3, 4, 5, 6, 7 repeating from
/// the rightmost digit; 11 − (sum mod 11), where 11 is `0` and 10 is `K`.
pub(crate) fn rut_check(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .zip([2, 3, 4, 5, 6, 7].iter().cycle())
        .map(|(&d, &w)| u32::from(d - b'0') * w)
        .sum();
    match 11 - sum % 11 {
        11 => b'0',
        10 => b'K',
        n => b'0' + n as u8,
    }
}

/// RUT / RUN: a body of 1 to 9 digits and a check character `0`–`9` or `K`, written with dots and
/// a dash or none (`17.604.011-4`, `17604011-4`, `176040114`). An optional `CL` prefix (VAT
/// style) is dropped. Canonical: `<body>-<check>`, body without leading zeros.
///
/// Unlike python-stdnum (7 or 8 body digits only), bodies of 1 to 9 digits are accepted: small
/// historic RUTs and provisional ones over 100 million are real.
pub(crate) fn rut(raw: &str) -> Result<Checked<String>, Issue> {
    let mut s = compact(raw, "RUT", " .-")?;
    let prefix = if s.starts_with("CL") { 2 } else { 0 };
    let bytes = &s.as_bytes()[prefix..];
    let Some((&check, body)) = bytes.split_last() else {
        return Err(Issue::new("invalidFormat", "RUT is empty"));
    };
    if body.is_empty()
        || !body.iter().all(u8::is_ascii_digit)
        || !(check.is_ascii_digit() || check == b'K')
    {
        return Err(Issue::new(
            "invalidFormat",
            "RUT must be a body of digits followed by a check digit 0-9 or K",
        ));
    }
    let first = body.iter().position(|&b| b != b'0').unwrap_or(body.len());
    let body = &body[first..];
    if !(1..=9).contains(&body.len()) {
        return Err(Issue::new(
            "invalidFormat",
            "RUT body must have 1 to 9 digits (not counting leading zeros)",
        ));
    }
    let mut f = Findings::default();
    f.require(rut_check(body) == check, || check_digit_issue("RUT"));
    // `<body>-<check>`, rewritten in the compacted string: prefix and leading zeros out, the
    // dash in before the check character.
    let dash = prefix + first + body.len();
    s.insert(dash, '-');
    s.drain(..prefix + first);
    Ok(f.done(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_ruts_are_valid_and_canonical() {
        let cases = [
            ("17.604.011-4", "17604011-4"),
            ("176040114", "17604011-4"),
            ("17604011-4", "17604011-4"),
            ("10000013-K", "10000013-K"),
            ("10.000.013-k", "10000013-K"),
            ("76086428-5", "76086428-5"),
            ("12.531.909-2", "12531909-2"),
            ("CL 12531909-2", "12531909-2"),
            ("1-9", "1-9"),
            ("0017604011-4", "17604011-4"),
            ("100.000.013-9", "100000013-9"),
        ];
        for (raw, canonical) in cases {
            let c = rut(raw).unwrap();
            assert_eq!(c.value, canonical, "{raw}");
            assert!(c.strict.is_empty(), "{raw}: {:?}", c.strict);
        }
    }

    #[test]
    fn a_check_letter_k_is_structurally_fine_even_when_the_digit_differs() {
        // 77123126's check digit is 8; the K form still has the canonical shape.
        let c = rut("77.123.126-k").unwrap();
        assert_eq!(c.value, "77123126-K");
        assert_eq!(c.strict[0].code, "checkDigit");
    }

    #[test]
    fn the_public_example_with_a_wrong_check_digit_is_structural_only() {
        let c = rut("18604011-4").unwrap();
        assert_eq!(c.value, "18604011-4");
        assert_eq!(c.strict[0].code, "checkDigit");
        assert!(!c.strict[0].detail.contains("18604011"));
    }

    #[test]
    fn malformed_ruts_are_structural_failures() {
        for raw in [
            "",
            "-",
            "K",
            "0-0",
            "76086A28-5",
            "1234567890-1",
            "17604011-X",
            "17,604,011-4",
            "17604011-é",
            "é",
        ] {
            assert!(rut(raw).is_err(), "{raw}");
        }
    }
}
