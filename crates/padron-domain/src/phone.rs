//! Phone numbers: `+`, the country's calling code and the rest, stored in E.164 (spec §6.2).
//!
//! The raw text is checked here, character by character, before any parser sees it:
//! libphonenumber happily accepts `tel:` URIs, extensions, letters (vanity numbers) and national
//! formats, none of which the API allows.

use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumberFormat, Region};

use crate::country::Country;
use crate::level::{Checked, Issue};

/// A phone number in canonical form: E.164 (`+56921111111`) when libphonenumber knows it as a
/// valid number of the identity's country, otherwise `+` and the digits as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// Longest raw input looked at (E.164 allows 15 digits; this leaves room for generous
/// punctuation) — anything longer is refused before other work.
const MAX_RAW_CHARS: usize = 64;

impl PhoneNumber {
    /// Validates `raw` as a phone number of `country`.
    ///
    /// Structural (`Err` when broken): `+` then digits once spaces, dashes, dots and parentheses
    /// are removed; the calling code is `country`'s; 7 to 15 digits in all. Strict (listed in
    /// `strict`): a valid number of that very country per libphonenumber's metadata, which also
    /// tells apart countries that share a calling code (+1 USA/CAN, +7 RUS/KAZ, +44 GBR/JEY…).
    pub fn parse(raw: &str, country: Country) -> Result<Checked<PhoneNumber>, Issue> {
        let digits = structural_digits(raw)?;
        let code = country.calling_code();
        if code == 0 {
            return Err(Issue::new(
                "countryMismatch",
                format!("country {country} has no calling code"),
            ));
        }
        let code_text = code.to_string();
        if !digits.starts_with(&code_text) {
            let detail = match calling_code_of(&digits) {
                Some(other) => {
                    format!("calling code +{other} does not match country {country} (+{code})")
                }
                None => {
                    format!("phone does not start with calling code +{code} of country {country}")
                }
            };
            return Err(Issue::new("countryMismatch", detail));
        }
        if digits.len() == code_text.len() {
            return Err(Issue::new(
                "invalidNumber",
                "phone has a calling code but no number",
            ));
        }
        let plain = format!("+{digits}");
        match strict_e164(&plain, country) {
            Ok(e164) => Ok(Checked::clean(PhoneNumber(e164))),
            Err(issue) => Ok(Checked {
                value: PhoneNumber(plain),
                strict: vec![issue],
                warnings: Vec::new(),
            }),
        }
    }

    /// Wraps a canonical value read back from storage without validating it again: rules (and
    /// libphonenumber's metadata) may tighten after a value was stored.
    pub fn from_canonical(canonical: String) -> PhoneNumber {
        PhoneNumber(canonical)
    }

    /// The canonical form (`+56921111111`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The structural check: returns the digits after the `+`.
fn structural_digits(raw: &str) -> Result<String, Issue> {
    if raw.chars().nth(MAX_RAW_CHARS).is_some() {
        return Err(Issue::new(
            "tooLong",
            format!("phone has more than {MAX_RAW_CHARS} characters"),
        ));
    }
    let raw = raw.trim();
    let Some(rest) = raw.strip_prefix('+') else {
        return Err(Issue::new(
            "invalidFormat",
            "phone must start with + and the country calling code (international format)",
        ));
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            // Usual grouping characters; anything else (letters, `;ext=`, `#`, a second `+`,
            // non-ASCII digits) is refused rather than interpreted.
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => {
                return Err(Issue::new(
                    "invalidFormat",
                    "phone may contain only +, digits, spaces, dashes, dots and parentheses",
                ));
            }
        }
    }
    match digits.len() {
        0..=6 => Err(Issue::new(
            "invalidFormat",
            "phone must have at least 7 digits",
        )),
        7..=15 => Ok(digits),
        _ => Err(Issue::new(
            "tooLong",
            "phone has more than 15 digits (E.164 limit)",
        )),
    }
}

/// The ITU calling code a digit string starts with, if any. Calling codes form a prefix code
/// (no code is the start of another), so at most one of the 1-, 2- and 3-digit prefixes matches.
fn calling_code_of(digits: &str) -> Option<u16> {
    (1..=3.min(digits.len())).find_map(|n| {
        let code: i32 = digits[..n].parse().ok()?;
        PHONE_NUMBER_UTIL
            .get_region_for_country_code(code)
            .map(|_| code as u16)
    })
}

/// The strict check: libphonenumber must know `plain` (`+digits`) as a valid number of
/// `country`; returns its E.164 form.
fn strict_e164(plain: &str, country: Country) -> Result<String, Issue> {
    let invalid = || {
        Issue::new(
            "invalidNumber",
            format!("phone is not a valid number of country {country}"),
        )
    };
    let Ok(region) = Region::from_code(country.alpha2()) else {
        // libphonenumber has no metadata for a few territories (e.g. Antarctica): nothing can
        // be proven valid there, so strict mode refuses and structural mode warns.
        return Err(Issue::new(
            "invalidNumber",
            format!("no phone numbering metadata for country {country}"),
        ));
    };
    let number = PHONE_NUMBER_UTIL
        .parse(plain, None)
        .map_err(|_| invalid())?;
    if PHONE_NUMBER_UTIL.is_valid_number_for_region(&number, region) {
        Ok(PHONE_NUMBER_UTIL
            .format(&number, PhoneNumberFormat::E164)
            .into_owned())
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(a3: &str) -> Country {
        Country::parse(a3).unwrap()
    }

    #[test]
    fn valid_numbers_are_clean_and_in_e164() {
        let cases = [
            ("+56 9 2111 1111", "CHL", "+56921111111"),
            ("+56921111111", "CHL", "+56921111111"),
            ("+1 (212) 555-0100", "USA", "+12125550100"),
            ("+1 416 555 0199", "CAN", "+14165550199"),
            ("+54 9 11 2345-6789", "ARG", "+5491123456789"),
            ("+55 11 91234-5678", "BRA", "+5511912345678"),
        ];
        for (raw, country, e164) in cases {
            let checked = PhoneNumber::parse(raw, c(country)).unwrap();
            assert_eq!(checked.value.as_str(), e164, "{raw}");
            assert!(checked.strict.is_empty(), "{raw}: {:?}", checked.strict);
        }
    }

    #[test]
    fn the_public_example_one_digit_short_passes_only_structurally() {
        let checked = PhoneNumber::parse("+5692111111", c("CHL")).unwrap();
        assert_eq!(checked.value.as_str(), "+5692111111");
        assert_eq!(checked.strict[0].code, "invalidNumber");
    }

    #[test]
    fn calling_code_of_another_country_is_structural() {
        let issue = PhoneNumber::parse("+5491123456789", c("CHL")).unwrap_err();
        assert_eq!(issue.code, "countryMismatch");
        assert_eq!(
            issue.detail,
            "calling code +54 does not match country CHL (+56)"
        );
        assert!(!issue.detail.contains("1123456789"));
    }

    #[test]
    fn shared_calling_codes_must_belong_to_the_country() {
        // A Toronto number is +1 but not a US number.
        let checked = PhoneNumber::parse("+1 416 555 0199", c("USA")).unwrap();
        assert_eq!(checked.strict[0].code, "invalidNumber");
        // A Kazakh mobile is +7 but not Russian.
        assert!(
            PhoneNumber::parse("+7 701 123 4567", c("KAZ"))
                .unwrap()
                .strict
                .is_empty()
        );
        assert!(
            !PhoneNumber::parse("+7 701 123 4567", c("RUS"))
                .unwrap()
                .strict
                .is_empty()
        );
    }

    #[test]
    fn parser_conveniences_are_refused() {
        for raw in [
            "tel:+56921111111",
            "+56921111111;ext=12",
            "+56921111111 x12",
            "+56 9 CALL NOW",
            "56921111111",
            "0056921111111",
            "+56+921111111",
            "+56 ٩٢١١١١١١١",
            "+",
            "",
            "+123456",
            "+1234567890123456",
        ] {
            assert!(PhoneNumber::parse(raw, c("CHL")).is_err(), "{raw}");
        }
    }

    #[test]
    fn odd_input_never_panics() {
        for raw in ["+5é", "+56é", "+😆", "+(((((", "+56 9 2111 1111 é"] {
            let _ = PhoneNumber::parse(raw, c("CHL"));
        }
    }
}
