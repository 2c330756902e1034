//! Email validator speed: `EmailAddress::parse` on common, quoted, literal, long and broken
//! addresses. Target: under 2 µs per address (docs/BENCHMARKS.md).

use std::fmt;
use std::hint::black_box;

use padron_domain::EmailAddress;

fn main() {
    // The longest case must really be the longest valid address, or it measures a rejection.
    assert_eq!(LONGEST.len(), 254);
    assert!(EmailAddress::parse(LONGEST).is_ok_and(|c| c.strict.is_empty()));
    divan::main();
}

/// One address and the name it has in the report.
struct Case(&'static str, &'static str);

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

const LONGEST: &str = concat!(
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl@",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk.",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk.",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk.example.com",
);

const CASES: &[Case] = &[
    Case("ana@example.com", "ana@example.com"),
    Case(
        "First.Last+tag@Mail.Example.CO.UK",
        "First.Last+tag@Mail.Example.CO.UK",
    ),
    Case("\"john doe\"@example.org", "\"john doe\"@example.org"),
    Case("user@[192.0.2.1]", "user@[192.0.2.1]"),
    Case("user@[IPv6:2001:db8::1]", "user@[IPv6:2001:db8::1]"),
    // A 64-character local part and a 254-character address: the longest valid input.
    Case("longest valid (254 chars)", LONGEST),
    Case("no-at-sign.example.com", "no-at-sign.example.com"),
    Case("ana@localhost", "ana@localhost"),
];

#[divan::bench(args = CASES)]
fn parse(case: &Case) -> Result<padron_domain::Checked<EmailAddress>, padron_domain::Issue> {
    EmailAddress::parse(black_box(case.1))
}
