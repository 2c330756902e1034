//! Property tests over every document validator: generated valid numbers always pass strict
//! validation in any accepted written form, a changed digit is caught where the check digit
//! guarantees it, canonical forms are fixed points, and no input makes a validator panic.

use proptest::prelude::*;

use super::{ar, br, cl, co, ec, es, mx, uy};
use crate::document::{DocumentNumber, DocumentType};
use crate::{Country, EmailAddress, PhoneNumber};

fn digits(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..10, n)
        .prop_map(|v| v.into_iter().map(|d| char::from(b'0' + d)).collect())
}

/// Inserts separators from `seps` between characters at random places.
fn sprinkle(s: &str, seps: &'static str, mask: &[bool]) -> String {
    let sep: Vec<char> = seps.chars().collect();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && !sep.is_empty() && mask.get(i).copied().unwrap_or(false) {
            out.push(sep[i % sep.len()]);
        }
        out.push(c);
    }
    out
}

fn parse(
    a3: &str,
    t: DocumentType,
    raw: &str,
) -> Result<crate::Checked<DocumentNumber>, crate::Issue> {
    DocumentNumber::parse(Country::parse(a3).unwrap(), t, raw)
}

fn assert_valid(
    a3: &str,
    t: DocumentType,
    raw: &str,
    canonical: &str,
) -> Result<(), TestCaseError> {
    let c = parse(a3, t, raw).map_err(|e| TestCaseError::fail(format!("{raw}: {e}")))?;
    prop_assert!(c.strict.is_empty(), "{} {:?}: {:?}", t, raw, c.strict);
    prop_assert_eq!(c.value.as_str(), canonical);
    // The canonical form is a fixed point.
    let again =
        parse(a3, t, canonical).map_err(|e| TestCaseError::fail(format!("{canonical}: {e}")))?;
    prop_assert_eq!(again.value.as_str(), canonical);
    Ok(())
}

/// Replaces the digit at `pos` with a different one.
fn change_digit(s: &str, pos: usize, bump: u8) -> String {
    let mut b = s.as_bytes().to_vec();
    let i = pos % b.len();
    if b[i].is_ascii_digit() {
        b[i] = b'0' + (b[i] - b'0' + 1 + bump % 9) % 10;
    }
    String::from_utf8(b).unwrap()
}

fn strict_fails(a3: &str, t: DocumentType, raw: &str) -> bool {
    parse(a3, t, raw).map_or(true, |c| !c.strict.is_empty())
}

proptest! {
    #[test]
    fn chilean_ruts(body in 1u32..1_000_000_000, mask in proptest::collection::vec(any::<bool>(), 12), pos in 0usize..9, bump in 0u8..9) {
        let b = body.to_string();
        let check = cl::rut_check(b.as_bytes()) as char;
        let canonical = format!("{b}-{check}");
        assert_valid("CHL", DocumentType::Rut, &sprinkle(&format!("{b}{check}"), ".-", &mask), &canonical)?;
        // Weights 2..7 modulo 11 catch every single-digit change of the body.
        let changed = change_digit(&b, pos, bump);
        if !changed.starts_with('0') {
            let caught = strict_fails("CHL", DocumentType::Rut, &format!("{changed}-{check}"));
        prop_assert!(caught);
        }
    }

    #[test]
    fn brazilian_cpfs_and_cnpjs(head in digits(9), alnum in "[0-9A-Z]{12}", bump in 0u8..9) {
        let cpf = format!("{head}{}", String::from_utf8(br::cpf_checks(head.as_bytes()).to_vec()).unwrap());
        if cpf.bytes().any(|b| b != b'0') {
            let dotted = format!("{}.{}.{}-{}", &cpf[..3], &cpf[3..6], &cpf[6..9], &cpf[9..]);
            assert_valid("BRA", DocumentType::Cpf, &dotted, &cpf)?;
            let caught = strict_fails("BRA", DocumentType::Cpf, &change_digit(&cpf, 10, bump));
        prop_assert!(caught);
        }
        let cnpj = format!("{alnum}{}", String::from_utf8(br::cnpj_checks(alnum.as_bytes()).to_vec()).unwrap());
        if !alnum.bytes().all(|b| b == b'0') {
            let written = format!("{}.{}.{}/{}-{}", &cnpj[..2], &cnpj[2..5], &cnpj[5..8], &cnpj[8..12], &cnpj[12..]);
            assert_valid("BRA", DocumentType::Cnpj, &written.to_lowercase(), &cnpj)?;
            let caught = strict_fails("BRA", DocumentType::Cnpj, &change_digit(&cnpj, 12, bump));
        prop_assert!(caught);
        }
    }

    #[test]
    fn argentine_cuits(prefix in prop::sample::select(vec!["20", "23", "24", "27"]), body in digits(8), bump in 0u8..9) {
        let head = format!("{prefix}{body}");
        let cuit = format!("{head}{}", ar::cuit_check(head.as_bytes()) as char);
        let dashed = format!("{}-{}-{}", &cuit[..2], &cuit[2..10], &cuit[10..]);
        assert_valid("ARG", DocumentType::Cuit, &dashed, &cuit)?;
        assert_valid("ARG", DocumentType::Cuil, &cuit, &cuit)?;
        let caught = strict_fails("ARG", DocumentType::Cuit, &change_digit(&cuit, 10, bump));
        prop_assert!(caught);
    }

    #[test]
    fn colombian_nits(body in 1_000_000u64..1_000_000_000_000_000, bump in 0u8..9) {
        let b = body.to_string();
        let nit = format!("{b}{}", co::nit_check(b.as_bytes()) as char);
        assert_valid("COL", DocumentType::Nit, &format!("{b}-{}", &nit[b.len()..]), &nit)?;
        // Remainders 1 and 10 share the check digit 1, so only a changed check digit is sure to
        // be caught.
        let caught = strict_fails("COL", DocumentType::Nit, &change_digit(&nit, nit.len() - 1, bump));
        prop_assert!(caught);
    }

    #[test]
    fn ecuadorian_cedulas_and_rucs(province in 1u32..=24, third in 0u8..6, rest in digits(6), pos in 0usize..10, bump in 0u8..9) {
        let head = format!("{province:02}{third}{rest}");
        let check = (0..10u8).map(|d| format!("{head}{d}")).find(|c| ec::ci_check_ok(c.as_bytes())).unwrap();
        assert_valid("ECU", DocumentType::Ci, &check, &check)?;
        assert_valid("ECU", DocumentType::Ruc, &format!("{check}001"), &format!("{check}001"))?;
        // The cédula digit is Luhn: every single-digit change is caught.
        let caught = strict_fails("ECU", DocumentType::Ci, &change_digit(&check, pos, bump));
        prop_assert!(caught);
    }

    #[test]
    fn peruvian_rucs(prefix in prop::sample::select(vec!["10", "15", "17", "20"]), body in digits(8), bump in 0u8..9) {
        let head = format!("{prefix}{body}");
        let sum: u32 = head.bytes().zip([5, 4, 3, 2, 7, 6, 5, 4, 3, 2]).map(|(d, w)| u32::from(d - b'0') * w).sum();
        let ruc = format!("{head}{}", (11 - sum % 11) % 10);
        assert_valid("PER", DocumentType::Ruc, &ruc, &ruc)?;
        let caught = strict_fails("PER", DocumentType::Ruc, &change_digit(&ruc, 10, bump));
        prop_assert!(caught);
    }

    #[test]
    fn uruguayan_cis_and_ruts(body in 100_000u32..10_000_000, office in 1u32..=22, number in 1u32..1_000_000, pos in 0usize..11, bump in 0u8..9) {
        let b = body.to_string();
        let ci = format!("{b}{}", uy::ci_check(b.as_bytes()) as char);
        assert_valid("URY", DocumentType::Ci, &ci, &ci)?;
        let caught = strict_fails("URY", DocumentType::Ci, &change_digit(&ci, ci.len() - 1, bump));
        prop_assert!(caught);
        let head = format!("{office:02}{number:06}001");
        let sum: u32 = head.bytes().zip([4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]).map(|(d, w)| u32::from(d - b'0') * w).sum();
        let check = (11 - sum % 11) % 11;
        if check < 10 {
            let rut = format!("{head}{check}");
            assert_valid("URY", DocumentType::Rut, &rut, &rut)?;
            let caught = strict_fails("URY", DocumentType::Rut, &change_digit(&rut, pos, bump));
        prop_assert!(caught);
        }
    }

    #[test]
    fn spanish_documents(n in 0u32..100_000_000, seven in digits(7), entity in prop::sample::select(b"ABCDEFGHJNPQRSUVW".to_vec()), pos in 0usize..8, bump in 0u8..9) {
        let dni = format!("{n:08}{}", es::dni_letter(format!("{n:08}").as_bytes()) as char);
        assert_valid("ESP", DocumentType::Dni, &dni, &dni)?;
        // Modulo 23 (a prime above 9) catches every single-digit change.
        let caught = strict_fails("ESP", DocumentType::Dni, &change_digit(&dni, pos, bump));
        prop_assert!(caught);
        let (digit, letter) = es::cif_controls(seven.as_bytes());
        for control in [digit, letter] {
            let cif = format!("{}{seven}{}", entity as char, control as char);
            assert_valid("ESP", DocumentType::Cif, &cif, &cif)?;
            assert_valid("ESP", DocumentType::Nif, &format!("ES{cif}"), &cif)?;
        }
    }

    #[test]
    fn mexican_curps(name in "[B-Z]{4}", yy in 0u32..100, mm in 1u32..=12, dd in 1u32..=28, sex in "[HMX]", state in prop::sample::select(vec!["AS", "DF", "NE", "ZS"]), cons in "[BCDFGHJKLMNPQRSTVWXYZ]{3}", century in "[0-9A-Z]") {
        prop_assume!(!["BUEI", "BUEY", "CACA", "CULO", "PUTA", "PUTO"].contains(&name.as_str()));
        let head = format!("{name}{yy:02}{mm:02}{dd:02}{sex}{state}{cons}{century}");
        let curp = format!("{head}{}", mx::curp_check(&head) as char);
        let c = parse("MEX", DocumentType::Curp, &curp).unwrap();
        // Some four-letter starts are on RENAPO's list; everything else must be clean.
        prop_assert!(c.strict.iter().all(|i| i.code == "invalidComponent"), "{curp}: {:?}", c.strict);
    }

    #[test]
    fn us_numbers(area in 1u32..900, group in 1u32..100, serial in 1u32..10_000) {
        prop_assume!(area != 666);
        let ssn = format!("{area:03}{group:02}{serial:04}");
        prop_assume!(!["078051120", "457555462", "219099999"].contains(&ssn.as_str()));
        assert_valid("USA", DocumentType::Ssn, &format!("{}-{}-{}", &ssn[..3], &ssn[3..5], &ssn[5..]), &ssn)?;
    }

    #[test]
    fn no_validator_panics_on_any_input(raw in "\\PC{0,80}", pick in 0usize..64) {
        // Every country with a table row, every type, plus emails and phones.
        let countries = ["CHL", "MEX", "BRA", "ARG", "COL", "PER", "URY", "ECU", "USA", "ESP", "FRA"];
        let country = Country::parse(countries[pick % countries.len()]).unwrap();
        for t in DocumentType::ALL {
            let _ = DocumentNumber::parse(country, t, &raw);
        }
        let _ = EmailAddress::parse(&raw);
        let _ = PhoneNumber::parse(&raw, country);
        let _ = PhoneNumber::parse(&format!("+{raw}"), country);
        let _ = Country::parse(&raw);
        let _ = DocumentType::parse(&raw);
    }

    #[test]
    fn no_validator_panics_on_near_miss_input(raw in "[0-9A-Za-z.\\- /+()@\\[\\]:\"\\\\Ññé&]{0,40}", pick in 0usize..64) {
        let countries = ["CHL", "MEX", "BRA", "ARG", "COL", "PER", "URY", "ECU", "USA", "ESP"];
        let country = Country::parse(countries[pick % countries.len()]).unwrap();
        for t in DocumentType::ALL {
            if let Ok(c) = DocumentNumber::parse(country, t, &raw) {
                // Whatever passes has a canonical form that passes again, unchanged.
                let again = DocumentNumber::parse(country, t, c.value.as_str()).unwrap();
                prop_assert_eq!(again.value, c.value);
            }
        }
        let _ = EmailAddress::parse(&raw);
        let _ = PhoneNumber::parse(&raw, country);
    }
}
