//! United States: SSN, ITIN and EIN.
//!
//! Sources: SSA, "Social Security Number Randomization" (area 000, 666 and 900–999, group 00 and
//! serial 0000 are never issued; numbers voided after public misuse); IRS, "ITIN" (9XX-GG-XXXX with
//! group 50–65, 70–88, 90–92, 94–99) and "How EINs are assigned" (valid campus prefixes);
//! python-stdnum `us.ssn`, `us.itin`, `us.ein`.

use crate::document::{Findings, component_issue, fixed_detail, two};
use crate::level::{Checked, Issue};

/// Nine digits, each dash optional but only where the document prints one (`dashes` lists how
/// many digits precede each: `[3, 5]` for `999-99-9999`, `[2]` for `99-9999999`). Spaces and
/// dashes elsewhere are refused: a misplaced dash usually means a different kind of number.
fn nine_digits(raw: &str, what: &'static str, dashes: &'static [usize]) -> Result<String, Issue> {
    let mut out = String::with_capacity(9);
    let mut dash_ok = false;
    for c in raw.trim().chars() {
        match c {
            '0'..='9' if out.len() < 9 => out.push(c),
            '-' if dash_ok => {}
            _ => {
                let shape = if dashes == [2] {
                    "99-9999999"
                } else {
                    "999-99-9999"
                };
                return Err(Issue::new(
                    "invalidFormat",
                    fixed_detail(("nineDigitsShape", what, shape, &[]), || {
                        format!("{what} must be 9 digits, written {shape} or without dashes")
                    }),
                ));
            }
        }
        // One dash at most, right after a listed digit count.
        dash_ok = c != '-' && dashes.contains(&out.len());
    }
    if out.len() != 9 {
        return Err(Issue::new(
            "invalidFormat",
            fixed_detail(("nineDigits", what, "", &[]), || {
                format!("{what} must have 9 digits")
            }),
        ));
    }
    Ok(out)
}

/// SSNs voided after public misuse (the Woolworth wallet card and others).
const SSN_VOIDED: [&str; 3] = ["078051120", "457555462", "219099999"];

/// SSN: `999-99-9999`. Strict: area not 000, 666 or 9XX; group not 00; serial not 0000; not a
/// voided number.
pub(crate) fn ssn(raw: &str) -> Result<Checked<String>, Issue> {
    let s = nine_digits(raw, "SSN", &[3, 5])?;
    let mut f = Findings::default();
    let (area, group, serial) = (&s[..3], &s[3..5], &s[5..]);
    f.require(
        area != "000" && area != "666" && !area.starts_with('9'),
        || component_issue("SSN area (first 3 digits) is never issued"),
    );
    f.require(group != "00", || {
        component_issue("SSN group (digits 4-5) cannot be 00")
    });
    f.require(serial != "0000", || {
        component_issue("SSN serial (last 4 digits) cannot be 0000")
    });
    f.require(!SSN_VOIDED.contains(&s.as_str()), || {
        component_issue("SSN was voided by the SSA")
    });
    Ok(f.done(s))
}

/// ITIN: `9XX-GG-XXXX`. Strict: starts with 9 and group GG in 50–65, 70–88, 90–92 or 94–99.
pub(crate) fn itin(raw: &str) -> Result<Checked<String>, Issue> {
    let s = nine_digits(raw, "ITIN", &[3, 5])?;
    let mut f = Findings::default();
    f.require(s.starts_with('9'), || {
        component_issue("ITIN must start with 9")
    });
    let group = two(&s.as_bytes()[3..5]);
    f.require(
        matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99),
        || component_issue("ITIN group (digits 4-5) must be 50-65, 70-88, 90-92 or 94-99"),
    );
    Ok(f.done(s))
}

/// EIN prefixes the IRS assigns (by campus, plus 20, 26, 27, 45–47 and 81–84 for online issue).
const EIN_PREFIXES: [u32; 83] = [
    1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31, 32, 33,
    34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 50, 51, 52, 53, 54, 55, 56, 57, 58,
    59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 71, 72, 73, 74, 75, 76, 77, 80, 81, 82, 83, 84, 85, 86,
    87, 88, 90, 91, 92, 93, 94, 95, 98, 99,
];

/// EIN: `99-9999999`. Strict: a prefix the IRS assigns.
pub(crate) fn ein(raw: &str) -> Result<Checked<String>, Issue> {
    let s = nine_digits(raw, "EIN", &[2])?;
    let mut f = Findings::default();
    f.require(EIN_PREFIXES.contains(&two(&s.as_bytes()[..2])), || {
        component_issue("EIN prefix (first 2 digits) is not one the IRS assigns")
    });
    Ok(f.done(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_numbers_are_valid() {
        for raw in [
            "536-90-4399",
            "536904399",
            "123-45-6789",
            "536-904399",
            "53690-4399",
        ] {
            assert!(ssn(raw).unwrap().strict.is_empty(), "{raw}");
        }
        for raw in ["912-90-3456", "900-70-0000", "912-50-3456"] {
            assert!(itin(raw).unwrap().strict.is_empty(), "{raw}");
        }
        for raw in ["04-2103594", "042103594", "91-1144442"] {
            assert!(ein(raw).unwrap().strict.is_empty(), "{raw}");
        }
    }

    #[test]
    fn never_issued_ranges_are_strict_failures() {
        for raw in [
            "000-12-3456",
            "666-12-3456",
            "912-34-5678",
            "123-00-4567",
            "123-45-0000",
            "078-05-1120",
        ] {
            assert_eq!(
                ssn(raw).unwrap().strict[0].code,
                "invalidComponent",
                "{raw}"
            );
        }
        for raw in ["812-90-3456", "912-89-3456", "912-93-3456", "912-40-3456"] {
            assert!(!itin(raw).unwrap().strict.is_empty(), "{raw}");
        }
        assert!(!ein("07-1234567").unwrap().strict.is_empty());
    }

    #[test]
    fn misplaced_dashes_and_other_characters_are_structural() {
        for raw in [
            "5369-04399",
            "536--90-4399",
            "-536904399",
            "536904399-",
            "536 90 4399",
            "53690439",
            "5369043990",
            "536-90-439X",
            "５３６904399",
        ] {
            assert!(ssn(raw).is_err(), "{raw}");
        }
        assert!(ein("042-103594").is_err());
    }
}
