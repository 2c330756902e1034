//! Phone validator speed: `PhoneNumber::parse` (structural check plus libphonenumber's metadata
//! for the strict level) across calling codes, shared codes and failures. Target: under 5 µs
//! per phone (docs/BENCHMARKS.md).

use std::fmt;
use std::hint::black_box;

use padron_domain::{Country, PhoneNumber};

fn main() {
    divan::main();
}

/// One input, named in the report as `country input`.
struct Case(&'static str, &'static str);

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.1)
    }
}

const CASES: &[Case] = &[
    Case("CHL", "+56 9 6123 4567"),
    Case("CHL", "+5692111111"),
    Case("USA", "+1 (212) 555-0100"),
    Case("CAN", "+1 416 555 0199"),
    Case("BRA", "+55 11 91234-5678"),
    Case("ARG", "+54 9 11 2345-6789"),
    Case("KAZ", "+7 701 123 4567"),
    Case("GBR", "+44 20 7946 0958"),
    Case("CHL", "+54 9 11 2345-6789"),
    Case("CHL", "56961234567"),
];

#[divan::bench(args = CASES)]
fn parse(bencher: divan::Bencher, case: &Case) {
    let country = Country::parse(case.0).expect("country");
    // The first parse loads libphonenumber's metadata; a server pays that once at start.
    let _ = PhoneNumber::parse(case.1, country);
    bencher.bench(|| PhoneNumber::parse(black_box(case.1), black_box(country)));
}
