//! Ecuador: CI (cédula) and RUC (tax number).
//!
//! Sources: Registro Civil (cédula: province, third digit, módulo-10 check digit); SRI, "Ficha
//! técnica: RUC" — company RUCs (third digit 6 public, 9 private) follow no algorithm, so they are
//! checked by shape only (spec §6.2); python-stdnum `ec.ci` and `ec.ruc`.

use crate::document::{
    Findings, check_digit_issue, component_issue, digits, fixed_detail, two, weighted,
};
use crate::level::{Checked, Issue};

/// Province codes of companies (spec §6.2): 01–24 and 30 (registered abroad).
fn province_ok(b: &[u8]) -> bool {
    matches!(two(b), 1..=24 | 30)
}

/// Province codes of people: those, plus 50, which python-stdnum accepts for cédulas (the spec
/// does not decide, so the reference does).
fn person_province_ok(b: &[u8]) -> bool {
    province_ok(b) || two(b) == 50
}

/// Whether ten ASCII digits carry a valid cédula check digit: coefficients 2, 1, 2, 1, …, products
/// over 9 reduced by 9, the total a multiple of 10.
pub(crate) fn ci_check_ok(ten: &[u8]) -> bool {
    let sum: u32 = ten
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let p = u32::from(d - b'0') * if i % 2 == 0 { 2 } else { 1 };
            if p > 9 { p - 9 } else { p }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Strict checks of a natural person's cédula (also the head of their RUC).
fn check_person(f: &mut Findings, ten: &[u8], what: &'static str) {
    f.require(person_province_ok(&ten[..2]), || {
        component_issue(fixed_detail(("personProvince", what, "", &[]), || {
            format!("{what} province code must be 01-24, 30 or 50")
        }))
    });
    f.require(ten[2] <= b'6', || {
        component_issue(fixed_detail(("personThirdDigit", what, "", &[]), || {
            format!("{what} third digit must be 0-6 for a person")
        }))
    });
    f.require(ci_check_ok(ten), || check_digit_issue(what));
}

/// CI: 10 digits (`171430710-3`). Strict: province, third digit and check digit.
pub(crate) fn ci(raw: &str) -> Result<Checked<String>, Issue> {
    let s = digits(raw, "CI", " -", &[10])?;
    let mut f = Findings::default();
    check_person(&mut f, s.as_bytes(), "CI");
    Ok(f.done(s))
}

/// RUC: 13 digits. Third digit 0–5: a natural person, the first ten digits are their cédula
/// (check digit enforced). 6 (public body) or 9 (private company): shape only — province and an
/// establishment suffix that is not `000` (spec §6.2); the old módulo-11 digit is reported as a warning when
/// it does not match, never enforced, because the SRI no longer assigns by it.
pub(crate) fn ruc(raw: &str) -> Result<Checked<String>, Issue> {
    let s = digits(raw, "RUC", " -", &[13])?;
    let b = s.as_bytes();
    let mut f = Findings::default();
    let establishment_ok = &s[10..] != "000";
    let zero_establishment = || component_issue("RUC establishment number cannot be zero");
    match b[2] {
        b'0'..=b'5' => {
            check_person(&mut f, &b[..10], "RUC");
            f.require(establishment_ok, zero_establishment);
        }
        b'6' | b'9' => {
            f.require(province_ok(&b[..2]), || {
                component_issue("RUC province code must be 01-24 or 30")
            });
            // Spec §6.2: an "001-style" suffix, not `000`, for every company. A public body's
            // establishment field is four digits (`0001`), but one ending in `000` is refused
            // too: the spec draws the line at the last three digits for every RUC.
            f.require(establishment_ok, zero_establishment);
            let legacy_ok = if b[2] == b'6' {
                weighted(&b[..9], &[3, 2, 7, 6, 5, 4, 3, 2, 1]).is_multiple_of(11)
            } else {
                weighted(&b[..10], &[4, 3, 2, 7, 6, 5, 4, 3, 2, 1]).is_multiple_of(11)
            };
            f.warn_unless(legacy_ok, || {
                Issue::new(
                    "checkDigit",
                    "RUC does not match the legacy company check digit (not enforced: the SRI assigns company RUCs without it)",
                )
            });
        }
        _ => f
            .strict
            .push(component_issue("RUC third digit must be 0-6 or 9")),
    }
    Ok(f.done(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_cedulas_are_valid() {
        for raw in ["1714307103", "171430710-3", "0926687856", "1710034065"] {
            let c = ci(raw).unwrap();
            assert!(c.strict.is_empty(), "{raw}: {:?}", c.strict);
        }
        assert_eq!(ci("1714307104").unwrap().strict[0].code, "checkDigit");
        assert_eq!(ci("2514307103").unwrap().strict[0].code, "invalidComponent");
        assert!(ci("171430710").is_err());
    }

    #[test]
    fn rucs_of_people_need_the_cedula_check_digit_and_companies_only_shape() {
        assert!(ruc("1714307103001").unwrap().strict.is_empty());
        assert_eq!(ruc("1714307104001").unwrap().strict[0].code, "checkDigit");
        assert_eq!(
            ruc("1714307103000").unwrap().strict[0].code,
            "invalidComponent"
        );
        // Companies: a published private RUC is clean; a changed digit is only a warning.
        let c = ruc("1792060346001").unwrap();
        assert!(c.strict.is_empty() && c.warnings.is_empty());
        let c = ruc("1792060347001").unwrap();
        assert!(c.strict.is_empty());
        assert_eq!(c.warnings[0].code, "checkDigit");
        assert!(ruc("1760001550001").unwrap().strict.is_empty());
        assert_eq!(
            ruc("1792060346000").unwrap().strict[0].code,
            "invalidComponent"
        );
        // The last three digits are the establishment suffix for public bodies too.
        assert_eq!(
            ruc("1760001551000").unwrap().strict[0].code,
            "invalidComponent"
        );
        assert!(ruc("1760001551001").unwrap().strict.is_empty());
        assert_eq!(
            ruc("1760001550000").unwrap().strict[0].code,
            "invalidComponent"
        );
        assert_eq!(
            ruc("9992060346001").unwrap().strict[0].code,
            "invalidComponent"
        );
        assert_eq!(
            ruc("1782060346001").unwrap().strict[0].code,
            "invalidComponent"
        );
    }
}
