//! Fuzzes `DocumentNumber::parse` over every country of spec §6.2 (and one outside it) and
//! every document type: the first two bytes pick the pair, the rest is the raw number.
//! Besides "never panics", it checks that a canonical value parses back to itself and that a
//! strictly valid number stays strictly valid once canonical. (The reverse need not hold: a
//! Peruvian DNI's check character is dropped from the canonical form, and with it its failure.)

#![no_main]

use libfuzzer_sys::fuzz_target;
use padron_domain::{Country, DocumentNumber, DocumentType};

/// The §6.2 countries plus France, which accepts only passports.
const COUNTRIES: [&str; 11] = [
    "CHL", "MEX", "BRA", "ARG", "COL", "PER", "URY", "ECU", "USA", "ESP", "FRA",
];

fuzz_target!(|data: &[u8]| {
    let [c, t, rest @ ..] = data else { return };
    let country =
        Country::parse(COUNTRIES[usize::from(*c) % COUNTRIES.len()]).expect("table country");
    let doc_type = DocumentType::ALL[usize::from(*t) % DocumentType::ALL.len()];
    // Invalid UTF-8 cannot reach the validators (every caller holds a `str`); the lossy form
    // still exercises replacement characters.
    let raw = String::from_utf8_lossy(rest);
    let Ok(first) = DocumentNumber::parse(country, doc_type, &raw) else {
        return;
    };
    let canonical = first.value.as_str();
    let again = DocumentNumber::parse(country, doc_type, canonical)
        .unwrap_or_else(|e| panic!("{country} {doc_type}: canonical {canonical:?} refused: {e}"));
    assert_eq!(
        again.value.as_str(),
        canonical,
        "{country} {doc_type}: not idempotent"
    );
    assert!(
        !first.strict.is_empty() || again.strict.is_empty(),
        "{country} {doc_type}: {canonical:?} is strictly valid only before canonicalisation"
    );
});
