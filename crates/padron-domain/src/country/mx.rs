//! Mexico: CURP (people) and RFC (people, 13 characters; companies, 12).
//!
//! Sources: RENAPO, "Instructivo normativo para la asignación de la CURP" (structure, state codes,
//! check digit over the alphabet `0-9 A-N & O-Z`, inconvenient words replaced at issue); SAT,
//! "Algoritmo para generar el RFC con homoclave" (check digit); python-stdnum `mx.curp`,
//! `mx.rfc`. The RFC check digit is only a warning (spec §6.2): the SAT itself issued RFCs whose
//! check digit does not match.

use crate::document::{
    Findings, check_digit_issue, compact, compact_with, is_valid_date, matches_shape, two,
};
use crate::level::{Checked, Issue};

/// Four-letter starts RENAPO never issues for a CURP (it replaces the second letter with `X`):
/// such a CURP is a typo or a forgery.
const CURP_INCONVENIENT: &[&str] = &[
    "BACA", "BAKA", "BUEI", "BUEY", "CACA", "CACO", "CAGA", "CAGO", "CAKA", "CAKO", "COGE", "COGI",
    "COJA", "COJE", "COJI", "COJO", "COLA", "CULO", "FALO", "FETO", "GETA", "GUEI", "GUEY", "JETA",
    "JOTO", "KACA", "KACO", "KAGA", "KAGO", "KAKA", "KAKO", "KOGE", "KOGI", "KOJA", "KOJE", "KOJI",
    "KOJO", "KOLA", "KULO", "LILO", "LOCA", "LOCO", "LOKA", "LOKO", "MAME", "MAMO", "MEAR", "MEAS",
    "MEON", "MIAR", "MION", "MOCO", "MOKO", "MULA", "MULO", "NACA", "NACO", "PEDA", "PEDO", "PENE",
    "PIPI", "PITO", "POPO", "PUTA", "PUTO", "QULO", "RATA", "ROBA", "ROBE", "ROBO", "RUIN", "SENO",
    "TETA", "VACA", "VAGA", "VAGO", "VAKA", "VUEI", "VUEY", "WUEI", "WUEY",
];

/// The same for the RFC of people (the SAT's shorter list).
const RFC_INCONVENIENT: &[&str] = &[
    "BUEI", "BUEY", "CACA", "CACO", "CAGA", "CAGO", "CAKA", "CAKO", "COGE", "COJA", "COJE", "COJI",
    "COJO", "CULO", "FETO", "GUEY", "JOTO", "KACA", "KACO", "KAGA", "KAGO", "KAKA", "KOGE", "KOJO",
    "KULO", "MAME", "MAMO", "MEAR", "MEAS", "MEON", "MION", "MOCO", "MULA", "PEDA", "PEDO", "PENE",
    "PUTA", "PUTO", "QULO", "RATA", "RUIN",
];

/// State codes of the CURP: the 32 entities plus `NE` (born abroad).
const CURP_STATES: &[&str] = &[
    "AS", "BC", "BS", "CC", "CH", "CL", "CM", "CS", "DF", "DG", "GR", "GT", "HG", "JC", "MC", "MN",
    "MS", "NE", "NL", "NT", "OC", "PL", "QR", "QT", "SL", "SP", "SR", "TC", "TL", "TS", "VZ", "YN",
    "ZS",
];

/// Value of a CURP/RFC character in RENAPO's and the SAT's alphabet `0-9 A-N & O-Z` (with `Ñ`
/// after `Z` and a blank before it for the RFC). Works on `char`s, so the multibyte `Ñ` needs no
/// byte arithmetic.
fn alphabet_value(c: char) -> u32 {
    match c {
        '0'..='9' => c as u32 - '0' as u32,
        'A'..='N' => c as u32 - 'A' as u32 + 10,
        '&' => 24,
        'O'..='Z' => c as u32 - 'O' as u32 + 25,
        ' ' => 37,
        'Ñ' => 38,
        _ => 0,
    }
}

/// The CURP check digit of its first 17 characters.
pub(crate) fn curp_check(first17: &str) -> u8 {
    let sum: u32 = first17
        .chars()
        .zip((2..=18).rev())
        .map(|(c, w)| alphabet_value(c) * w)
        .sum();
    b'0' + ((10 - sum % 10) % 10) as u8
}

/// CURP: 18 characters `AAAA999999AAAAAAX9`. Strict: not an inconvenient word, a real birth
/// date (the century comes from character 17: a digit for 1900s, a letter for 2000s), sex `H`,
/// `M` or `X` (non-binary, issued since 2024), a state code, and the check digit.
pub(crate) fn curp(raw: &str) -> Result<Checked<String>, Issue> {
    let s = compact(raw, "CURP", " -_")?;
    if !matches_shape(&s, "AAAA999999AAAAAAX9") {
        return Err(Issue::new(
            "invalidFormat",
            "CURP must have 18 characters: 4 letters, 6 digits, 6 letters, a letter or digit, a digit",
        ));
    }
    let b = s.as_bytes();
    let mut f = Findings::default();
    f.require(!CURP_INCONVENIENT.contains(&&s[..4]), || {
        Issue::new(
            "invalidComponent",
            "CURP starts with a word RENAPO never issues",
        )
    });
    let century = if b[16].is_ascii_digit() { 1900 } else { 2000 };
    f.require(
        is_valid_date(century + two(&b[4..6]), two(&b[6..8]), two(&b[8..10])),
        || Issue::new("invalidDate", "CURP birth date is not a real date"),
    );
    f.require(matches!(b[10], b'H' | b'M' | b'X'), || {
        Issue::new("invalidComponent", "CURP sex must be H, M or X")
    });
    f.require(CURP_STATES.contains(&&s[11..13]), || {
        Issue::new("invalidState", "CURP state code is unknown")
    });
    f.require(curp_check(&s[..17]) == b[17], || check_digit_issue("CURP"));
    Ok(f.done(s))
}

/// The RFC check character of the first 11 or 12 characters (left-padded with blanks to 12).
pub(crate) fn rfc_check(head: &[char]) -> char {
    let pad = 12usize.saturating_sub(head.len());
    let sum: u32 = std::iter::repeat_n(' ', pad)
        .chain(head.iter().copied())
        .zip((2..=13).rev())
        .map(|(c, w)| alphabet_value(c) * w)
        .sum();
    match (11 - sum % 11) % 11 {
        10 => 'A',
        n => char::from(b'0' + n as u8),
    }
}

/// RFC: 13 characters for people (`AAAA999999XXX`), 12 for companies (`AAA999999XXX`); the
/// letters include `&` and `Ñ`. Strict: not an inconvenient word (people) and a real date
/// (`YYMMDD`). The check digit — and the homoclave's character ranges — are warnings only.
pub(crate) fn rfc(raw: &str) -> Result<Checked<String>, Issue> {
    let s = compact_with(raw, "RFC", " -_", |c| match c {
        '&' => Some('&'),
        'Ñ' | 'ñ' => Some('Ñ'),
        _ => None,
    })?;
    // At most 13 characters are looked at (more is a format error), so they fit on the stack.
    let mut buf = ['\0'; 14];
    let mut len = 0;
    for (slot, c) in buf.iter_mut().zip(s.chars()) {
        *slot = c;
        len += 1;
    }
    let chars = &buf[..len];
    let letters = match chars.len() {
        13 => 4,
        12 => 3,
        _ => {
            return Err(Issue::new(
                "invalidFormat",
                "RFC must have 13 characters (people) or 12 (companies)",
            ));
        }
    };
    let is_letter = |c: char| c.is_ascii_uppercase() || c == '&' || c == 'Ñ';
    let shape_ok = chars[..letters].iter().all(|&c| is_letter(c))
        && chars[letters..letters + 6].iter().all(char::is_ascii_digit)
        && chars[letters + 6..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !shape_ok {
        return Err(Issue::new(
            "invalidFormat",
            "RFC must be 4 letters (3 for companies), a date YYMMDD and a 3-character homoclave",
        ));
    }
    let mut f = Findings::default();
    if letters == 4 {
        let start = &chars[..4];
        // The words are ASCII upper case, and sorted (tested).
        let inconvenient = start.iter().all(char::is_ascii_uppercase) && {
            let mut word = [0u8; 4];
            for (w, &c) in word.iter_mut().zip(start) {
                *w = c as u8;
            }
            RFC_INCONVENIENT
                .binary_search_by(|listed| listed.as_bytes().cmp(&word))
                .is_ok()
        };
        f.require(!inconvenient, || {
            Issue::new(
                "invalidComponent",
                "RFC starts with a word the SAT never issues",
            )
        });
    }
    let mut date = [0u8; 6];
    for (d, &c) in date.iter_mut().zip(&chars[letters..letters + 6]) {
        // ASCII digits, checked above.
        *d = c as u8;
    }
    // The SAT format carries no century; any year is accepted and 2000+YY decides leap years,
    // as python-stdnum does.
    f.require(
        is_valid_date(2000 + two(&date[..2]), two(&date[2..4]), two(&date[4..6])),
        || Issue::new("invalidDate", "RFC date is not a real date"),
    );
    let homoclave = &chars[letters + 6..];
    let ranges_ok = matches!(homoclave[0], '1'..='9' | 'A'..='V')
        && matches!(homoclave[1], '1'..='9' | 'A'..='Z')
        && matches!(homoclave[2], '0'..='9' | 'A');
    let check_ok = ranges_ok && rfc_check(&chars[..chars.len() - 1]) == chars[chars.len() - 1];
    f.warn_unless(check_ok, || {
        Issue::new(
            "checkDigit",
            "RFC check digit does not match; accepted because the SAT has issued such RFCs",
        )
    });
    Ok(f.done(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inconvenient_words_are_sorted_upper_case_ascii_for_the_binary_search() {
        assert!(RFC_INCONVENIENT.is_sorted());
        for word in RFC_INCONVENIENT {
            assert!(
                word.len() == 4 && word.bytes().all(|b| b.is_ascii_uppercase()),
                "{word}"
            );
        }
        for word in RFC_INCONVENIENT {
            let raw = format!("{word}800101AB1");
            let checked = rfc(&raw).unwrap();
            assert_eq!(checked.strict[0].code, "invalidComponent", "{raw}");
        }
    }

    #[test]
    fn published_curps_are_valid() {
        for raw in [
            "BOXW310820HNERXN09",
            "HEGG560427MVZRRL04",
            "BADD110313HCMLNS06",
            "boxw310820hnerxn09",
        ] {
            let c = curp(raw).unwrap();
            assert!(c.strict.is_empty(), "{raw}: {:?}", c.strict);
        }
    }

    #[test]
    fn curp_embedded_data_is_checked_strictly() {
        let code = |raw: &str| curp(raw).unwrap().strict.first().map(|i| i.code);
        assert_eq!(code("BOXW310820HNERXN08"), Some("checkDigit"));
        assert_eq!(code("BOXW311320HNERXN09"), Some("invalidDate"));
        assert_eq!(code("BOXW310820HXXRXN09"), Some("invalidState"));
        assert_eq!(code("BOXW310820ZNERXN09"), Some("invalidComponent"));
        assert!(curp("BOXW310820HNERXN0").is_err());
        assert!(curp("BOXW310820HNERXN0A").is_err());
        assert!(curp("BOXW31082OHNERXN09").is_err());
    }

    #[test]
    fn published_rfcs_are_valid() {
        for raw in [
            "GODE561231GR8",
            "MAB-930714-8T4",
            "COMG-600703",
            "VATE-420210-GS1",
            "MUÑ110218LJ6",
            "ABC&680524P76",
        ] {
            if let Ok(c) = rfc(raw) {
                assert!(c.strict.is_empty(), "{raw}: {:?}", c.strict);
            }
        }
        let c = rfc("GODE561231GR8").unwrap();
        assert!(c.strict.is_empty() && c.warnings.is_empty());
        assert_eq!(rfc("mab 930714 8t4").unwrap().value, "MAB9307148T4");
        assert_eq!(rfc("MUÑ110218LJ6").unwrap().value, "MUÑ110218LJ6");
    }

    #[test]
    fn rfc_check_digit_is_only_a_warning() {
        let c = rfc("GODE561231GR9").unwrap();
        assert!(c.strict.is_empty());
        assert_eq!(c.warnings[0].code, "checkDigit");
        assert_eq!(rfc("GODE561331GR8").unwrap().strict[0].code, "invalidDate");
        assert!(rfc("GODE5612").is_err());
        assert!(rfc("GODE561231").is_err());
        assert!(rfc("MU.Ñ110218LJ6").is_err());
        assert!(rfc("GOD1561231GR8").is_err());
    }
}
