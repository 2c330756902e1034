//! Email addresses: the RFC 5322 addr-spec as SMTP (RFC 5321) carries it (spec §6.2).
//!
//! Structural: a dot-atom or quoted-string local part of at most 64 characters; a domain of
//! letter/digit/hyphen labels of at most 63 characters, or an address literal holding a valid
//! IPv4 (`[192.0.2.1]`) or IPv6 (`[IPv6:2001:db8::1]`) address; at most 254 characters in all.
//! Comments, folding white space and obsolete forms are refused. Strict adds: the domain is a DNS
//! host name with at least two labels whose last label is not all digits; no address literals.
//!
//! Decision on internationalized addresses (RFC 6532): **refused**, at both levels. Accepting
//! them needs SMTPUTF8 at every hop to the mailbox, Unicode normalization to compare them, and
//! IDNA to validate the domain; our downstream mail and KYC providers are not all ready for
//! that, and an address that silently cannot be mailed is worse than a clear 400. An IDN domain
//! is still accepted in its ASCII (`xn--…`) form.
//!
//! The parser is hand-written rather than `email_address` 0.2's: that crate accepts non-ASCII
//! in every part, takes any text inside `[...]` as a domain literal and has no overall length
//! limit, so each of those would have needed its own pre-check anyway. This one is a single
//! left-to-right pass over at most 254 bytes.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::level::{Checked, Issue};

/// An email address that passed the structural check. The local part is kept as written (it is
/// case-sensitive by the RFCs); the domain is lower-cased (it is not).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

/// RFC 5321 §4.5.3.1.3: a path holds at most 256 octets including the angle brackets.
const MAX_ADDRESS: usize = 254;
/// RFC 5321 §4.5.3.1.1.
const MAX_LOCAL: usize = 64;
/// RFC 1035 §2.3.4.
const MAX_LABEL: usize = 63;

fn bad(detail: &str) -> Issue {
    Issue::new("invalidFormat", format!("email {detail}"))
}

impl EmailAddress {
    /// Validates an address. `Err` is a structural failure; `strict` lists what only strict
    /// mode rejects (dotless or numeric top-level domains, address literals).
    ///
    /// The input is not trimmed: the API trims every string (spec §6.1) before it gets here,
    /// and white space inside an address is folding white space, which is refused.
    pub fn parse(raw: &str) -> Result<Checked<EmailAddress>, Issue> {
        if raw.len() > MAX_ADDRESS {
            return Err(Issue::new(
                "tooLong",
                format!("email is longer than {MAX_ADDRESS} characters"),
            ));
        }
        if !raw.is_ascii() {
            return Err(bad(
                "must be ASCII: internationalized addresses (RFC 6532) are not accepted",
            ));
        }
        // ASCII from here on: byte offsets are character offsets.
        let local_len = local_part_len(raw.as_bytes())?;
        if local_len > MAX_LOCAL {
            return Err(Issue::new(
                "tooLong",
                format!("email local part is longer than {MAX_LOCAL} characters"),
            ));
        }
        let (local, rest) = raw.split_at(local_len);
        let Some(domain) = rest.strip_prefix('@') else {
            return Err(bad("must have one @ after the local part"));
        };
        let strict = check_domain(domain)?;
        let value = EmailAddress(format!("{local}@{}", domain.to_ascii_lowercase()));
        Ok(Checked {
            value,
            strict,
            warnings: Vec::new(),
        })
    }

    /// Wraps a canonical value read back from storage without validating it again.
    pub fn from_canonical(canonical: String) -> EmailAddress {
        EmailAddress(canonical)
    }

    /// The canonical form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form used for uniqueness: emails compare case-insensitively (spec §7),
    /// local part included, as every mainstream mailbox provider treats them.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 5322 `atext`.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// Length in bytes of the local part at the start of `s` (a dot-atom or a quoted string).
fn local_part_len(s: &[u8]) -> Result<usize, Issue> {
    if s.first() == Some(&b'"') {
        // RFC 5321 Quoted-string: qtextSMTP is %d32-33 / %d35-91 / %d93-126, and a
        // quoted-pairSMTP is a backslash before any of %d32-126.
        let mut i = 1;
        loop {
            match s.get(i) {
                None => return Err(bad("has an unclosed quoted string")),
                Some(b'"') => return Ok(i + 1),
                Some(b'\\') => match s.get(i + 1) {
                    Some(32..=126) => i += 2,
                    _ => return Err(bad("has a backslash that escapes nothing printable")),
                },
                Some(32..=126) => i += 1,
                Some(_) => return Err(bad("has a control character in the quoted local part")),
            }
        }
    }
    // Dot-atom: atoms of atext separated by single dots.
    let end = s
        .iter()
        .position(|&b| !is_atext(b) && b != b'.')
        .unwrap_or(s.len());
    let local = &s[..end];
    if local.is_empty() {
        return Err(bad("has no local part"));
    }
    if local.first() == Some(&b'.')
        || local.last() == Some(&b'.')
        || local.windows(2).any(|w| w == b"..")
    {
        return Err(bad(
            "local part has a dot at the start, at the end or twice in a row",
        ));
    }
    Ok(end)
}

/// Checks the domain; returns the strict-only issues.
fn check_domain(domain: &str) -> Result<Vec<Issue>, Issue> {
    if domain.is_empty() {
        return Err(bad("has no domain"));
    }
    if let Some(literal) = domain.strip_prefix('[') {
        let Some(inner) = literal.strip_suffix(']') else {
            return Err(bad("domain literal is not closed by ] at the end"));
        };
        let ok = match inner.get(..5) {
            Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => {
                inner[5..].parse::<Ipv6Addr>().is_ok()
            }
            _ => inner.parse::<Ipv4Addr>().is_ok(),
        };
        if !ok {
            return Err(bad("address literal is not a valid IPv4 or IPv6 address"));
        }
        return Ok(vec![Issue::new(
            "invalidDomain",
            "email domain is an address literal, not a host name",
        )]);
    }
    let mut labels = 0;
    let mut last = "";
    for label in domain.split('.') {
        let b = label.as_bytes();
        if b.is_empty() {
            return Err(bad("domain has an empty label"));
        }
        if b.len() > MAX_LABEL {
            return Err(Issue::new(
                "tooLong",
                format!("email domain label is longer than {MAX_LABEL} characters"),
            ));
        }
        if !b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-') {
            return Err(bad(
                "domain may contain only letters, digits, hyphens and dots",
            ));
        }
        if b[0] == b'-' || b[b.len() - 1] == b'-' {
            return Err(bad("domain label starts or ends with a hyphen"));
        }
        labels += 1;
        last = label;
    }
    let mut strict = Vec::new();
    if labels < 2 {
        strict.push(Issue::new(
            "invalidDomain",
            "email domain has a single label (no top-level domain)",
        ));
    } else if last.bytes().all(|b| b.is_ascii_digit()) {
        strict.push(Issue::new(
            "invalidDomain",
            "email top-level domain is all digits",
        ));
    }
    Ok(strict)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn structural(raw: &str) -> bool {
        EmailAddress::parse(raw).is_ok()
    }

    fn strict(raw: &str) -> bool {
        EmailAddress::parse(raw).is_ok_and(|c| c.strict.is_empty())
    }

    #[test]
    fn valid_addresses_pass_both_levels() {
        for raw in [
            "test@iana.org",
            "first.last@iana.org",
            "!#$%&'*+-/=?^_`.{|}~@example.tld",
            "\"Fred Bloggs\"@iana.org",
            "\"\"@iana.org",
            "\"first\\\"last\"@iana.org",
            "user+mailbox@xn--bcher-kva.ch",
            "test@iana.a",
        ] {
            assert!(strict(raw), "{raw}");
        }
    }

    #[test]
    fn literals_and_dotless_domains_are_structural_only() {
        for raw in [
            "test@[255.255.255.255]",
            "test@[IPv6:1111:2222:3333:4444:5555:6666:7777:8888]",
            "test@[IPv6:::]",
            "test@[ipv6:::1]",
            "test@org",
            "test@iana.123",
            "test@255.255.255.255",
        ] {
            assert!(structural(raw) && !strict(raw), "{raw}");
        }
    }

    #[test]
    fn broken_addresses_fail_structurally() {
        for raw in [
            "",
            "test",
            "@iana.org",
            "test@",
            ".test@iana.org",
            "test..test@iana.org",
            "test.@iana.org",
            "test@-iana.org",
            "test@iana-.org",
            "test@iana..org",
            "test@iana.org.",
            "\"test@iana.org",
            "\"test\"test@iana.org",
            "\"test\".test@iana.org",
            "(comment)test@iana.org",
            "test@(comment)iana.org",
            " test@iana.org",
            "test@iana.org ",
            "test@[255.255.255.256]",
            "test@[IPv6:1111::4444::8888]",
            "test@[IPv6:fe80::1%eth0]",
            "test@[RFC-5322-domain-literal]",
            "test@iana_org.com",
            "a@b@c.com",
            "My Name <me@example.org>",
            "ñoño@iana.org",
            "test@郵件.商務",
            "\"test\u{0}\"@iana.org",
            "test@iana.org\n",
        ] {
            assert!(!structural(raw), "{raw:?}");
        }
    }

    #[test]
    fn lengths_are_limited() {
        let local64 = "a".repeat(64);
        assert!(strict(&format!("{local64}@iana.org")));
        assert!(!structural(&format!("a{local64}@iana.org")));
        let label63 = "b".repeat(63);
        assert!(strict(&format!("x@{label63}.com")));
        assert!(!structural(&format!("x@b{label63}.com")));
        // 254 characters exactly is fine; 255 is not.
        let domain = format!(
            "{}.{}.{}.{}",
            "c".repeat(63),
            "d".repeat(63),
            "e".repeat(63),
            "f".repeat(60)
        );
        let at254 = format!("x@{domain}");
        assert_eq!(at254.len(), 254);
        assert!(strict(&at254));
        assert_eq!(
            EmailAddress::parse(&format!("xy@{domain}"))
                .unwrap_err()
                .code,
            "tooLong"
        );
    }

    #[test]
    fn canonical_lowercases_the_domain_and_key_everything() {
        let e = EmailAddress::parse("John.Doe@Example.COM").unwrap().value;
        assert_eq!(e.as_str(), "John.Doe@example.com");
        assert_eq!(e.key(), "john.doe@example.com");
    }
}
