//! Countries (ISO 3166-1, from `keshvar`) and, one file per country, the validators of that
//! country's national documents.

use std::sync::OnceLock;

use crate::level::Issue;

pub(crate) mod ar;
pub(crate) mod br;
pub(crate) mod cl;
pub(crate) mod co;
pub(crate) mod ec;
pub(crate) mod es;
pub(crate) mod mx;
pub(crate) mod pe;
pub(crate) mod us;
pub(crate) mod uy;

#[cfg(test)]
mod properties;

/// A known ISO 3166-1 country.
///
/// Internally an index into a table built once from `keshvar`, so it is `Copy`, one byte, and
/// every accessor is a table lookup.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country(u8);

/// One row of the country table.
struct Entry {
    /// [`code`] of `alpha3`.
    code: u32,
    alpha3: &'static str,
    alpha2: &'static str,
    calling_code: u16,
}

/// An upper-case alpha-3 code as one number, for matching a country in a `match` of integer
/// constants instead of comparing strings.
pub(crate) const fn code(alpha3: &[u8; 3]) -> u32 {
    (alpha3[0] as u32) << 16 | (alpha3[1] as u32) << 8 | alpha3[2] as u32
}

/// Where three ASCII letters (any case) sit in the [`Tables::by_code`] array: one slot for
/// each of the 26³ possible codes. `None` for anything else.
fn code_slot(code: &[u8]) -> Option<usize> {
    let [a, b, c] = code else { return None };
    let letter = |x: &u8| {
        let up = x.to_ascii_uppercase();
        up.is_ascii_uppercase().then(|| usize::from(up - b'A'))
    };
    Some((letter(a)? * 26 + letter(b)?) * 26 + letter(c)?)
}

/// The country table, sorted by alpha-3 code, and an index from every possible three-letter
/// code to its row: `parse` runs for every identity and every line of a batch, and one array
/// read is cheaper than a binary search (17.6 KB, built once).
struct Tables {
    entries: Vec<Entry>,
    /// Row + 1 of each code's country, 0 for codes that are not countries.
    by_code: Box<[u8]>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut rows: Vec<(String, String, u16)> = keshvar::CountryIterator::new()
            .map(|c| {
                let calling = u16::try_from(c.country_code()).unwrap_or(0);
                (c.alpha3().to_string(), c.alpha2().to_string(), calling)
            })
            .collect();
        rows.sort();
        // keshvar only hands out its codes through `Display`, so the codes are copied into one
        // string that lives for the whole process: a single bounded allocation made once, which
        // lets the accessors return `&'static str` without a hand-kept copy of the ISO list.
        let mut all = String::with_capacity(rows.len() * 5);
        for (a3, a2, _) in &rows {
            all.push_str(a3);
            all.push_str(a2);
        }
        let all: &'static str = Box::leak(all.into_boxed_str());
        let entries: Vec<Entry> = rows
            .iter()
            .enumerate()
            .map(|(i, (a3, _, calling))| Entry {
                code: a3.as_bytes().try_into().map_or(0, code),
                alpha3: &all[i * 5..i * 5 + 3],
                alpha2: &all[i * 5 + 3..i * 5 + 5],
                calling_code: *calling,
            })
            .collect();
        let mut by_code = vec![0u8; 26 * 26 * 26].into_boxed_slice();
        for (row, entry) in entries.iter().enumerate() {
            // ISO 3166-1 has 249 codes, so row + 1 fits a byte; keshvar's codes are three
            // letters. A table that broke either would fail the tests below.
            if let (Some(slot), Ok(value)) =
                (code_slot(entry.alpha3.as_bytes()), u8::try_from(row + 1))
            {
                by_code[slot] = value;
            }
        }
        Tables { entries, by_code }
    })
}

fn table() -> &'static [Entry] {
    &tables().entries
}

impl Country {
    /// Parses an ISO 3166-1 alpha-3 code: surrounding white space is ignored and any letter case
    /// is accepted. Alpha-2 codes (`CL`) and unknown codes are rejected with `unknownCountry`, as
    /// the API accepts only alpha-3 (spec §6.1).
    pub fn parse(raw: &str) -> Result<Country, Issue> {
        // Three letters, as nearly always, need no trimming.
        let bytes = match raw.as_bytes() {
            code @ [_, _, _] => code,
            _ => raw.trim().as_bytes(),
        };
        code_slot(bytes)
            .and_then(|slot| tables().by_code[slot].checked_sub(1))
            .map(Country)
            .ok_or_else(|| {
                Issue::new(
                    "unknownCountry",
                    "country must be a known ISO 3166-1 alpha-3 code (e.g. CHL)",
                )
            })
    }

    fn entry(self) -> &'static Entry {
        &table()[self.0 as usize]
    }

    /// The ISO 3166-1 alpha-3 code, upper case (`CHL`).
    pub fn alpha3(self) -> &'static str {
        self.entry().alpha3
    }

    /// [`code`] of the alpha-3 code.
    pub(crate) fn code(self) -> u32 {
        self.entry().code
    }

    /// The ISO 3166-1 alpha-2 code, upper case (`CL`).
    pub fn alpha2(self) -> &'static str {
        self.entry().alpha2
    }

    /// The international calling code (CHL ⇒ 56; USA and CAN ⇒ 1).
    pub fn calling_code(self) -> u16 {
        self.entry().calling_code
    }
}

impl std::fmt::Debug for Country {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Country({})", self.alpha3())
    }
}

impl std::fmt::Display for Country {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.alpha3())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_alpha3_in_any_case_and_trims() {
        let chl = Country::parse(" chl ").unwrap();
        assert_eq!(chl.alpha3(), "CHL");
        assert_eq!(chl.alpha2(), "CL");
        assert_eq!(chl.calling_code(), 56);
        assert_eq!(Country::parse("CHL"), Ok(chl));
        assert_eq!(Country::parse("USA").unwrap().calling_code(), 1);
        assert_eq!(Country::parse("CAN").unwrap().calling_code(), 1);
        assert_eq!(Country::parse("BRA").unwrap().calling_code(), 55);
    }

    #[test]
    fn parse_rejects_alpha2_unknown_and_junk() {
        for raw in ["CL", "US", "XXX", "", "CHLE", "C1L", "ÇHL", "é", "ZZZ"] {
            assert_eq!(
                Country::parse(raw).unwrap_err().code,
                "unknownCountry",
                "{raw}"
            );
        }
    }

    #[test]
    fn every_country_parses_back_from_its_code_in_any_case() {
        assert!(table().len() > 240, "{}", table().len());
        for (row, entry) in table().iter().enumerate() {
            for raw in [
                entry.alpha3.to_owned(),
                entry.alpha3.to_ascii_lowercase(),
                format!("\t{} ", entry.alpha3),
            ] {
                let c = Country::parse(&raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
                assert_eq!(usize::from(c.0), row, "{raw:?}");
                assert_eq!(c.alpha3(), entry.alpha3);
            }
        }
    }

    #[test]
    fn table_matches_the_reference_list() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpora/countries.tsv"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            println!("skipping: {path} not found");
            return;
        };
        let mut checked = 0;
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            let (a2, a3, calling) = (cols[0], cols[1], cols[5]);
            let c = Country::parse(a3).unwrap_or_else(|_| panic!("{a3} missing"));
            assert_eq!(c.alpha2(), a2, "{a3}");
            if let Ok(code) = calling.parse::<u16>() {
                assert_eq!(c.calling_code(), code, "{a3}");
            }
            checked += 1;
        }
        assert_eq!(checked, table().len());
    }
}
