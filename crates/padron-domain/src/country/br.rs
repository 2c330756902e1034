//! Brazil: CPF (people) and CNPJ (companies), including the alphanumeric CNPJ valid from July
//! 2026.
//!
//! Sources: Receita Federal, "Cálculo do DV do CPF/CNPJ" (módulo 11) and Nota Técnica conjunta
//! COCAD/SUARA/RFB nº 49/2024 (alphanumeric CNPJ: each character is worth its ASCII code − 48, the
//! two check digits stay numeric); python-stdnum `br.cpf` and `br.cnpj`.

use crate::document::{Findings, check_digit_issue, compact, digits, matches_shape};
use crate::level::{Checked, Issue};

/// Module-11 digit over values with weights; 10 and 11 become 0.
fn mod11(values: &[u32], weights: &[u32]) -> u8 {
    let sum: u32 = values.iter().zip(weights).map(|(v, w)| v * w).sum();
    ((11 - sum % 11) % 11 % 10) as u8
}

/// The two CPF check digits of its first nine digits.
pub(crate) fn cpf_checks(first9: &[u8]) -> [u8; 2] {
    let mut v = [0u32; 10];
    for (v, &b) in v.iter_mut().zip(first9) {
        *v = u32::from(b - b'0');
    }
    let d1 = mod11(&v[..9], &[10, 9, 8, 7, 6, 5, 4, 3, 2]);
    v[9] = u32::from(d1);
    let d2 = mod11(&v, &[11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
    [b'0' + d1, b'0' + d2]
}

/// CPF: 11 digits, `999.999.999-99`. Strict: the two check digits, and not all zeros.
///
/// Repeated-digit numbers such as `111.111.111-11` pass their check digits and are accepted, as
/// python-stdnum accepts them; the Receita has not published that they are never issued.
pub(crate) fn cpf(raw: &str) -> Result<Checked<String>, Issue> {
    let s = digits(raw, "CPF", " -.", &[11])?;
    let b = s.as_bytes();
    let mut f = Findings::default();
    if b.iter().all(|&d| d == b'0') {
        f.strict
            .push(Issue::new("invalidNumber", "CPF cannot be all zeros"));
    } else {
        f.require(cpf_checks(&b[..9]) == [b[9], b[10]], || {
            check_digit_issue("CPF")
        });
    }
    Ok(f.done(s))
}

/// The two CNPJ check digits of its first twelve characters (digits or upper-case letters, each
/// worth ASCII − 48).
pub(crate) fn cnpj_checks(first12: &[u8]) -> [u8; 2] {
    let mut v = [0u32; 13];
    for (v, &b) in v.iter_mut().zip(first12) {
        *v = u32::from(b) - 48;
    }
    let d1 = mod11(&v[..12], &[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]);
    v[12] = u32::from(d1);
    let d2 = mod11(&v, &[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]);
    [b'0' + d1, b'0' + d2]
}

/// CNPJ: 12 letters or digits and 2 check digits, `99.999.999/9999-99` (letters allowed in the
/// first 12 positions from July 2026). Strict: the check digits, and not a zero base number.
pub(crate) fn cnpj(raw: &str) -> Result<Checked<String>, Issue> {
    let s = compact(raw, "CNPJ", " -./")?;
    if !matches_shape(&s, "XXXXXXXXXXXX99") {
        return Err(Issue::new(
            "invalidFormat",
            "CNPJ must have 12 letters or digits followed by 2 check digits",
        ));
    }
    let b = s.as_bytes();
    let mut f = Findings::default();
    if b[..12].iter().all(|&d| d == b'0') {
        f.strict.push(Issue::new(
            "invalidNumber",
            "CNPJ base number cannot be all zeros",
        ));
    } else {
        f.require(cnpj_checks(&b[..12]) == [b[12], b[13]], || {
            check_digit_issue("CNPJ")
        });
    }
    Ok(f.done(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_cpfs_are_valid() {
        for (raw, canonical) in [
            ("529.982.247-25", "52998224725"),
            ("390.533.447-05", "39053344705"),
            ("11144477735", "11144477735"),
        ] {
            let c = cpf(raw).unwrap();
            assert_eq!(c.value, canonical);
            assert!(c.strict.is_empty(), "{raw}");
        }
        assert_eq!(cpf("529.982.247-24").unwrap().strict[0].code, "checkDigit");
        assert_eq!(
            cpf("000.000.000-00").unwrap().strict[0].code,
            "invalidNumber"
        );
        assert!(cpf("529.982.247/25").is_err());
        assert!(cpf("5299822472").is_err());
    }

    #[test]
    fn numeric_and_alphanumeric_cnpjs_are_valid() {
        // The Receita's own examples: a numeric CNPJ and the alphanumeric 12.ABC.345/01DE-35.
        for (raw, canonical) in [
            ("16.727.230/0001-97", "16727230000197"),
            ("11.222.333/0001-81", "11222333000181"),
            ("12.ABC.345/01DE-35", "12ABC34501DE35"),
            ("12abc34501de35", "12ABC34501DE35"),
        ] {
            let c = cnpj(raw).unwrap();
            assert_eq!(c.value, canonical);
            assert!(c.strict.is_empty(), "{raw}");
        }
        assert_eq!(
            cnpj("12.ABC.345/01DE-36").unwrap().strict[0].code,
            "checkDigit"
        );
        assert!(cnpj("12.ABC.345/01DE-3A").is_err());
        assert!(cnpj("16.727.230/0001-9").is_err());
        assert_eq!(
            cnpj("00000000000000").unwrap().strict[0].code,
            "invalidNumber"
        );
    }
}
