//! Fuzzes `PhoneNumber::parse` for every ISO 3166 country: the first byte picks the country,
//! the rest is the raw number. Also checks the canonical form: `+` and digits, parsing back to
//! itself.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use padron_domain::{Country, PhoneNumber};

fn countries() -> &'static [Country] {
    static ALL: OnceLock<Vec<Country>> = OnceLock::new();
    ALL.get_or_init(|| {
        keshvar::CountryIterator::new()
            .filter_map(|c| Country::parse(&c.alpha3().to_string()).ok())
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let [c, rest @ ..] = data else { return };
    let all = countries();
    let country = all[usize::from(*c) % all.len()];
    let raw = String::from_utf8_lossy(rest);
    let Ok(first) = PhoneNumber::parse(&raw, country) else {
        return;
    };
    let canonical = first.value.as_str();
    assert!(
        canonical.starts_with('+') && canonical[1..].bytes().all(|b| b.is_ascii_digit()),
        "{country}: canonical {canonical:?} is not + and digits"
    );
    let again = PhoneNumber::parse(canonical, country)
        .unwrap_or_else(|e| panic!("{country}: canonical {canonical:?} refused: {e}"));
    assert_eq!(again.value.as_str(), canonical, "{country}: not idempotent");
});
