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
    /// [`alpha3_key`] of `alpha3`: the table is searched by this number, not by string.
    key: u32,
    alpha3: &'static str,
    alpha2: &'static str,
    calling_code: u16,
}

/// Three ASCII letters as one number that sorts like the upper-cased code.
fn alpha3_key(code: &[u8]) -> u32 {
    code.iter()
        .fold(0, |key, b| key << 8 | u32::from(b.to_ascii_uppercase()))
}

/// The table, sorted by alpha-3 code so `parse` can binary-search it.
fn table() -> &'static [Entry] {
    static TABLE: OnceLock<Vec<Entry>> = OnceLock::new();
    TABLE.get_or_init(|| {
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
        rows.iter()
            .enumerate()
            .map(|(i, (a3, _, calling))| Entry {
                key: alpha3_key(a3.as_bytes()),
                alpha3: &all[i * 5..i * 5 + 3],
                alpha2: &all[i * 5 + 3..i * 5 + 5],
                calling_code: *calling,
            })
            .collect()
    })
}

impl Country {
    /// Parses an ISO 3166-1 alpha-3 code: surrounding white space is ignored and any letter case
    /// is accepted. Alpha-2 codes (`CL`) and unknown codes are rejected with `unknownCountry`, as
    /// the API accepts only alpha-3 (spec §6.1).
    pub fn parse(raw: &str) -> Result<Country, Issue> {
        let raw = raw.trim();
        let bytes = raw.as_bytes();
        let unknown = || {
            Issue::new(
                "unknownCountry",
                "country must be a known ISO 3166-1 alpha-3 code (e.g. CHL)",
            )
        };
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(unknown());
        }
        let key = alpha3_key(bytes);
        table()
            .binary_search_by_key(&key, |e| e.key)
            .map(|i| Country(i as u8))
            .map_err(|_| unknown())
    }

    fn entry(self) -> &'static Entry {
        &table()[self.0 as usize]
    }

    /// The ISO 3166-1 alpha-3 code, upper case (`CHL`).
    pub fn alpha3(self) -> &'static str {
        self.entry().alpha3
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
