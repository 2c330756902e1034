//! Fuzzes `EmailAddress::parse`: never panics, stays within RFC 5321's limits, and a canonical
//! address parses back to itself with the same strict verdict (nothing is dropped from an
//! address, so both directions must hold).

#![no_main]

use libfuzzer_sys::fuzz_target;
use padron_domain::EmailAddress;

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let Ok(first) = EmailAddress::parse(&raw) else {
        return;
    };
    let canonical = first.value.as_str();
    assert!(canonical.len() <= 254, "{canonical:?} is longer than 254");
    assert!(canonical.is_ascii(), "{canonical:?} is not ASCII");
    let again = EmailAddress::parse(canonical)
        .unwrap_or_else(|e| panic!("canonical {canonical:?} refused: {e}"));
    assert_eq!(again.value.as_str(), canonical, "not idempotent");
    assert_eq!(
        again.strict.is_empty(),
        first.strict.is_empty(),
        "{canonical:?}"
    );
});
