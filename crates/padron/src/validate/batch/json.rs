//! Reading one input line and writing one verdict line of `padron validate --batch`.
//!
//! Input lines are flat JSON objects of a handful of string fields. They are read by a small
//! hand-written scanner that handles exactly that common shape (string or `null` values, no
//! escapes) and borrows every string from the line; anything else — escapes, other value types,
//! malformed JSON — goes to serde_json, which decides and names the error. Both give the same
//! [`Line`] for every input the scanner takes (tested below), so the scanner only changes the
//! speed: serde_json's generic visitor machinery was a quarter of the command's time.
//!
//! Output is written by hand for the same reason (serde_json's per-byte string escaping was
//! another quarter): the keys and codes are constants that need no escaping, and the few
//! dynamic strings are escaped exactly as serde_json escapes them.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;

/// One input field: absent (or `null`), text (borrowed from the line unless it had escapes),
/// or another JSON type, named for the error message.
#[derive(Debug, Default, PartialEq)]
pub(super) enum Field<'a> {
    #[default]
    Absent,
    Text(Cow<'a, str>),
    Wrong(&'static str),
}

impl Field<'_> {
    pub(super) fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }
}

/// The fields of one line. Unknown keys are kept by name for a warning, as the API does.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Line<'a> {
    pub country: Field<'a>,
    pub kind: Field<'a>,
    pub document_type: Field<'a>,
    pub document_number: Field<'a>,
    pub phone: Field<'a>,
    pub email: Field<'a>,
    pub unknown: Vec<Cow<'a, str>>,
}

impl<'a> Line<'a> {
    /// The slot a key fills, or `None` for a key this command does not check.
    fn slot(&mut self, key: &str) -> Option<&mut Field<'a>> {
        Slot::of(key).map(|slot| self.field(slot))
    }

    fn field(&mut self, slot: Slot) -> &mut Field<'a> {
        match slot {
            Slot::Country => &mut self.country,
            Slot::Kind => &mut self.kind,
            Slot::DocumentType => &mut self.document_type,
            Slot::DocumentNumber => &mut self.document_number,
            Slot::Phone => &mut self.phone,
            Slot::Email => &mut self.email,
        }
    }
}

/// A field of [`Line`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Country,
    Kind,
    DocumentType,
    DocumentNumber,
    Phone,
    Email,
}

impl Slot {
    /// The field a key names, or `None` for a key this command does not check.
    fn of(key: &str) -> Option<Slot> {
        Some(match key {
            "country" => Slot::Country,
            "type" => Slot::Kind,
            "documentType" => Slot::DocumentType,
            "documentNumber" => Slot::DocumentNumber,
            "phone" => Slot::Phone,
            "email" => Slot::Email,
            _ => return None,
        })
    }
}

/// The most values a [`Shape`] holds (a line has at most six fields this command reads, and
/// repeating one is rare).
const SHAPE_VALUES: usize = 8;

/// The layout of the last line read that had one: the exact text before, between and after
/// its values, which were all strings of fields this command reads.
///
/// The lines of a batch are usually written by one program: the same keys in the same order,
/// the same spacing. A line that matches the layout byte for byte outside its values is read by
/// comparing that text and finding where each value ends, instead of reading every key. It reads
/// the same as the full scan would: the text around the values is the very text the full scan
/// accepted, and each value ends at its first `"` with no `\` or control character before it,
/// which is where the full scan ends a string too.
#[derive(Debug, Default)]
pub(super) struct Shape {
    /// The pieces of text, one after the other.
    text: Vec<u8>,
    /// Where each piece ends in `text`: one more piece than values.
    ends: Vec<usize>,
    /// The field each value fills, in order.
    slots: Vec<Slot>,
}

impl Shape {
    /// Reads `text` as a line of this layout into `line`; `false` (and `line` untouched) if it
    /// is not one.
    fn read<'a>(&self, text: &'a str, line: &mut Line<'a>) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        let bytes = text.as_bytes();
        let mut values: [&str; SHAPE_VALUES] = [""; SHAPE_VALUES];
        let mut at = 0;
        let mut start = 0;
        for (i, &end) in self.ends.iter().enumerate() {
            let piece = &self.text[start..end];
            start = end;
            if !bytes[at..].starts_with(piece) {
                return false;
            }
            at += piece.len();
            if i < self.slots.len() {
                let rest = &bytes[at..];
                match find_special(rest) {
                    Some(len) if rest[len] == b'"' => {
                        values[i] = &text[at..at + len];
                        at += len;
                    }
                    _ => return false,
                }
            }
        }
        if at != bytes.len() {
            return false;
        }
        for (&slot, value) in self.slots.iter().zip(values) {
            *line.field(slot) = Field::Text(Cow::Borrowed(value));
        }
        true
    }

    /// Takes the layout of `text`, whose values (all strings of known fields) are at `values`:
    /// each the field it fills and the range of its contents.
    fn learn(&mut self, text: &str, values: &[(Slot, usize, usize)]) {
        self.text.clear();
        self.ends.clear();
        self.slots.clear();
        let mut from = 0;
        for &(slot, start, end) in values {
            self.text.extend_from_slice(&text.as_bytes()[from..start]);
            self.ends.push(self.text.len());
            self.slots.push(slot);
            from = end;
        }
        self.text.extend_from_slice(&text.as_bytes()[from..]);
        self.ends.push(self.text.len());
    }
}

/// Why a line could not be read as an object.
#[derive(Debug, PartialEq)]
pub(super) enum LineError {
    /// Valid JSON, but not an object.
    NotAnObject,
    /// Not JSON; serde_json's description of where and why.
    Invalid(String),
}

/// Reads one (non-empty, trimmed) line into `line`, which must be empty: `Ok` text is known to
/// be UTF-8 (the worker checks a whole chunk of lines at once), `Err` bytes are not. `shape` is
/// the layout of an earlier line, tried first, and taken from this one if it has one.
pub(super) fn parse_line<'a>(
    raw: Result<&'a str, &'a [u8]>,
    line: &mut Line<'a>,
    shape: &mut Shape,
) -> Result<(), LineError> {
    let bytes = match raw {
        Ok(text) if shape.read(text, line) => return Ok(()),
        Ok(text) if scan_flat(text, line, Some(shape)) => return Ok(()),
        Ok(text) => text.as_bytes(),
        Err(bytes) => bytes,
    };
    *line = serde_json::from_slice(bytes).map_err(|err| match err.classify() {
        Category::Data => LineError::NotAnObject,
        _ => LineError::Invalid(err.to_string()),
    })?;
    Ok(())
}

/// The fast path: `{ "key": "text" | null, … }` with JSON white space anywhere between tokens,
/// strings without escapes or control characters. `false` for anything else, with `line` left
/// partly filled (the caller starts over with serde_json). A line read whose values are all
/// strings of known fields gives `shape` its layout.
fn scan_flat<'a>(text: &'a str, line: &mut Line<'a>, shape: Option<&mut Shape>) -> bool {
    let mut values = [(Slot::Country, 0, 0); SHAPE_VALUES];
    let Some(count) = scan_object(text, line, &mut values) else {
        return false;
    };
    if let (Some(shape), Some(values)) = (shape, count.and_then(|n| values.get(..n))) {
        shape.learn(text, values);
    }
    true
}

/// The full scan. `Some(Some(n))` when the line's values were all strings of known fields, at
/// most [`SHAPE_VALUES`] of them, listed in `values[..n]`; `Some(None)` for other lines read.
fn scan_object<'a>(
    text: &'a str,
    line: &mut Line<'a>,
    values: &mut [(Slot, usize, usize); SHAPE_VALUES],
) -> Option<Option<usize>> {
    // The text is UTF-8, so every `"` the byte-based scanner stops at is a character boundary
    // and the slices between them are valid `str`s.
    let bytes = text.as_bytes();
    // How many values are listed, `None` once the line turns out to have no layout to learn.
    let mut listed = Some(0);
    let mut at = skip_ws(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_ws(bytes, at + 1);
    if bytes.get(at) == Some(&b'}') {
        return (skip_ws(bytes, at + 1) == bytes.len()).then_some(None);
    }
    loop {
        let (key, after_key) = scan_str(text, at)?;
        at = skip_ws(bytes, after_key);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = skip_ws(bytes, at + 1);
        let slot = Slot::of(key);
        let value = match bytes.get(at)? {
            b'"' => {
                let (value, after_value) = scan_str(text, at)?;
                listed = match (listed, slot) {
                    (Some(n), Some(slot)) if n < SHAPE_VALUES => {
                        values[n] = (slot, at + 1, after_value - 1);
                        Some(n + 1)
                    }
                    _ => None,
                };
                at = after_value;
                Field::Text(Cow::Borrowed(value))
            }
            b'n' if bytes[at..].starts_with(b"null") => {
                listed = None;
                at += 4;
                Field::Absent
            }
            _ => return None,
        };
        match slot {
            // A repeated key: the last value wins, as in serde_json and most JSON readers.
            Some(slot) => *line.field(slot) = value,
            None => line.unknown.push(Cow::Borrowed(key)),
        }
        at = skip_ws(bytes, at);
        match bytes.get(at)? {
            b',' => at = skip_ws(bytes, at + 1),
            b'}' => return (skip_ws(bytes, at + 1) == bytes.len()).then_some(listed),
            _ => return None,
        }
    }
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// A string starting at `text[at] == '"'` without escapes or control characters: its contents
/// and the index after its closing quote.
fn scan_str(text: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let len = find_special(&bytes[start..])?;
    if bytes[start + len] != b'"' {
        return None;
    }
    // `"` is ASCII, so both ends are character boundaries of the already checked `text`.
    Some((&text[start..start + len], start + len + 1))
}

/// Accepts any JSON value without building it: wrong types are remembered, not fatal, so the
/// line is still answered field by field.
struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Field<'de>, E> {
        Ok(Field::Absent)
    }

    fn visit_none<E: de::Error>(self) -> Result<Field<'de>, E> {
        Ok(Field::Absent)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field<'de>, E> {
        Ok(Field::Wrong("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Field<'de>, E> {
        Ok(Field::Wrong("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Field<'de>, E> {
        Ok(Field::Wrong("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Field<'de>, E> {
        Ok(Field::Wrong("a number"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Wrong("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Wrong("an object"))
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = Line<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Line<'de>, A::Error> {
        let mut line = Line::default();
        // Keys go through `Field` too, so they borrow from the line unless escaped.
        while let Some(key) = map.next_key::<Field<'de>>()? {
            let Field::Text(key) = key else {
                return Err(de::Error::custom("object keys must be strings"));
            };
            match line.slot(&key) {
                Some(slot) => *slot = map.next_value()?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                    line.unknown.push(key);
                }
            }
        }
        Ok(line)
    }
}

impl<'de> Deserialize<'de> for Line<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(LineVisitor)
    }
}

/// Appends `s` as a JSON string, escaped exactly as serde_json escapes it: `"`, `\` and the
/// control characters below U+0020 (short forms where JSON has them, `\u00XX` otherwise);
/// everything else, non-ASCII included, as is.
pub(super) fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if needs_no_escape(bytes) {
        out.extend_from_slice(bytes);
    } else {
        escape_into(out, bytes);
    }
    out.push(b'"');
}

/// Whether `bytes` can be written as is: checked eight bytes at a time, as most text needs no
/// escaping at all.
fn needs_no_escape(bytes: &[u8]) -> bool {
    find_special(bytes).is_none()
}

/// The index of the first `"`, `\` or control character in `bytes`: in JSON text, where a
/// string ends or stops being plain. Eight bytes at a time, the last few padded to a word, and
/// the position read off the match mask (the strings here are short: most of them end in
/// their first or second word).
fn find_special(bytes: &[u8]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let mask = special_mask(u64::from_le_bytes(eight));
        if mask != 0 {
            return Some(at + first_flagged(mask));
        }
        at += 8;
    }
    // The last few bytes, padded with a byte that is not special. Shifted into place one by one
    // rather than copied: a copy of a length only known at run time is a call to `memcpy`,
    // which costs more than the whole word test.
    let tail = words.remainder();
    let word = tail
        .iter()
        .rev()
        .fold(u64::from_le_bytes([b'a'; 8]), |word, &b| {
            word << 8 | u64::from(b)
        });
    let mask = special_mask(word);
    (mask != 0).then(|| at + first_flagged(mask))
}

/// The byte index (little-endian) of the lowest flagged byte of a [`special_mask`].
fn first_flagged(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut clean = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0c => b'f',
            0..0x20 => 0,
            _ => continue,
        };
        out.extend_from_slice(&bytes[clean..i]);
        clean = i + 1;
        if short == 0 {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.push(b'\\');
            out.push(short);
        }
    }
    out.extend_from_slice(&bytes[clean..]);
}

/// The high bit of each of the eight bytes of `word` that is `"`, `\` or below 0x20 (the
/// classic "has a byte less than n" and "has a zero byte" bit tricks). Bytes above a match may
/// be flagged too (a borrow runs upwards), but never one below it: the lowest flag is exact,
/// which is all [`find_special`] reads and all "is any flagged" needs.
fn special_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let less = |v: u64, n: u8| v.wrapping_sub(ONES * u64::from(n)) & !v & HIGH;
    less(word, 0x20)
        | less(word ^ (ONES * u64::from(b'"')), 1)
        | less(word ^ (ONES * u64::from(b'\\')), 1)
}

/// Appends a string known to need no escaping (keys and codes written in this program).
pub(super) fn write_plain(out: &mut Vec<u8>, s: &'static str) {
    debug_assert!(!s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20));
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fast path on raw bytes, as a worker sees them: `None` where it declines (including
    /// text that is not UTF-8, which never reaches it).
    fn scan_flat(raw: &[u8]) -> Option<Line<'_>> {
        let text = std::str::from_utf8(raw).ok()?;
        let mut line = Line::default();
        super::scan_flat(text, &mut line, None).then_some(line)
    }

    fn via_serde(raw: &[u8]) -> Result<Line<'_>, LineError> {
        serde_json::from_slice(raw).map_err(|err| match err.classify() {
            Category::Data => LineError::NotAnObject,
            _ => LineError::Invalid(err.to_string()),
        })
    }

    #[test]
    fn the_scanner_reads_the_common_shape_like_serde_json() {
        for raw in [
            r#"{"country":"CHL","documentType":"RUT","documentNumber":"17.604.011-4"}"#,
            r#" { "email" : "a@b.cl" , "phone" : null , "name" : "Ana Ñandú" } "#,
            r#"{"email":"a@b.cl","email":"c@d.cl"}"#,
            "{}",
            "{\t}",
            r#"{"x":null}"#,
        ] {
            let fast = scan_flat(raw.as_bytes()).unwrap_or_else(|| panic!("scanned: {raw}"));
            assert_eq!(Ok(&fast), via_serde(raw.as_bytes()).as_ref(), "{raw}");
        }
    }

    #[test]
    fn the_scanner_leaves_everything_else_to_serde_json() {
        for raw in [
            r#"{"em\u0061il":"a@b.cl"}"#,
            r#"{"email":"a\"b@c.cl"}"#,
            r#"{"country":56}"#,
            r#"{"country":true}"#,
            r#"{"email":["a@b.cl"]}"#,
            r#"{"email":{"x":1}}"#,
            r#"{"email":"a@b.cl",}"#,
            r#"{"email":"a@b.cl"} x"#,
            r#"{"email":"a@b.cl""#,
            r#"{"email" "a@b.cl"}"#,
            r#"{"email":nul}"#,
            r#"{"email":nullx}"#,
            "{\"email\":\"a\tb@c.cl\"}",
            "[1]",
            "\"a\"",
            "",
        ] {
            assert_eq!(scan_flat(raw.as_bytes()), None, "{raw}");
        }
        assert_eq!(scan_flat(b"{\"email\":\"\xff\"}"), None);
    }

    /// Objects of the usual keys with string or `null` values (some with escapes or tabs the
    /// scanner must decline), white space between the tokens, sometimes cut short.
    fn objects() -> impl Strategy<Value = Vec<u8>> {
        let ws = || prop::sample::select(vec!["", " ", "\t", "\r\n"]);
        let key = prop::sample::select(vec![
            "country",
            "type",
            "documentType",
            "documentNumber",
            "phone",
            "email",
            "x",
            "\u{e9}",
        ]);
        let value = prop_oneof![
            Just("null".to_owned()),
            "[a-z0-9 .@\u{e9}\t-]{0,12}".prop_map(|s| format!("\"{s}\"")),
            "[a-z\\\\\"]{0,6}".prop_map(|s| format!("\"{s}\"")),
            Just("7".to_owned()),
        ];
        let member = (ws(), key, ws(), ws(), value, ws())
            .prop_map(|(a, k, b, c, v, d)| format!("{a}\"{k}\"{b}:{c}{v}{d}"));
        (prop::collection::vec(member, 0..6), 0usize..4).prop_map(|(members, cut)| {
            let mut object = format!("{{{}}}", members.join(",")).into_bytes();
            object.truncate(object.len().saturating_sub(cut));
            object
        })
    }

    #[test]
    fn the_scanner_reads_lines_longer_than_a_block() {
        // Strings that start in one 64-byte block and end in the next or the one after.
        for pad in 0..70 {
            let name = "x".repeat(pad);
            let raw = format!(
                r#"{{"email": "{name}@example.com", "phone": "+56 9 1234 5678", "country": "CHL", "{name}": null, "documentNumber": "17.604.011-4"}}"#
            );
            let fast = scan_flat(raw.as_bytes()).unwrap_or_else(|| panic!("scanned: {raw}"));
            assert_eq!(Ok(&fast), via_serde(raw.as_bytes()).as_ref(), "{raw}");
        }
    }

    /// A line read with a layout learned from `first`, and the same line read without one.
    fn with_and_without_shape<'a>(first: &str, raw: &'a str) -> [Result<Line<'a>, LineError>; 2] {
        let mut shape = Shape::default();
        let mut line = Line::default();
        parse_line(Ok(first), &mut line, &mut shape).expect("the first line is an object");
        let read = |shape: &mut Shape| {
            let mut line = Line::default();
            parse_line(Ok(raw), &mut line, shape).map(|()| line)
        };
        [read(&mut shape), read(&mut Shape::default())]
    }

    #[test]
    fn a_learned_layout_reads_lines_like_the_full_scan() {
        let first = r#"{"country": "CHL", "documentType": "RUT", "documentNumber": "1-9"}"#;
        let mut shape = Shape::default();
        parse_line(Ok(first), &mut Line::default(), &mut shape).unwrap();
        assert_eq!(shape.slots.len(), 3, "{shape:?}");
        for raw in [
            r#"{"country": "MEX", "documentType": "RFC", "documentNumber": "GODE561231GR8"}"#,
            r#"{"country": "", "documentType": "RUT", "documentNumber": ""}"#,
            r#"{"country": "CHL", "documentType": "RUT", "documentNumber": "1-9", "x": "y"}"#,
            r#"{"country": "CHL", "documentType": "RUT", "documentNumber": "1\"-9"}"#,
            r#"{"country": "CHL", "documentType": "RUT", "documentNumber": "1-9"} "#,
            r#"{"country": "CHL", "documentType": "RUT", "documentNumber": null}"#,
            r#"{"country":"CHL","documentType":"RUT","documentNumber":"1-9"}"#,
            r#"{"country": "C"HL", "documentType": "RUT", "documentNumber": "1-9"}"#,
            r#"{"country": "CHL", "documentType": "RUT", "documentNumber": "1-9""#,
        ] {
            let [with, without] = with_and_without_shape(first, raw);
            assert_eq!(with, without, "{raw}");
        }
        // Lines with a value that is not a string of a known field give no layout.
        for raw in [
            r#"{"country": "CHL", "x": "y"}"#,
            r#"{"country": null}"#,
            r#"{"country": "CHL", "documentType": 5}"#,
        ] {
            let mut shape = Shape::default();
            let _ = parse_line(Ok(raw), &mut Line::default(), &mut shape);
            assert!(shape.slots.is_empty(), "{raw}: {shape:?}");
        }
    }

    proptest! {
        /// Lines of one layout with any values (some with escapes, quotes or control
        /// characters, which the layout must not take): read with the layout learned from the
        /// first, each reads exactly as it does without it.
        #[test]
        fn a_learned_layout_never_changes_what_a_line_says(
            keys in prop::collection::vec(prop::sample::select(vec!["country", "type", "documentType", "documentNumber", "phone", "email", "x"]), 1..5),
            ws in prop::sample::select(vec!["", " ", "\t"]),
            first in prop::collection::vec("[a-z0-9 .-]{0,6}", 5),
            second in prop::collection::vec("[a-z0-9 .@\"\\\\\t\u{e9}-]{0,6}", 5),
        ) {
            let line = |values: &[String]| {
                let members: Vec<String> = keys
                    .iter()
                    .zip(values)
                    .map(|(k, v)| format!("\"{k}\"{ws}:{ws}\"{v}\""))
                    .collect();
                format!("{{{ws}{}{ws}}}", members.join(&format!(",{ws}")))
            };
            let (first, second) = (line(&first), line(&second));
            let [with, without] = with_and_without_shape(&first, &second);
            prop_assert_eq!(with, without, "{} then {}", first, second);
        }
    }

    proptest! {
        /// Whatever the line, the scanner either declines or agrees with serde_json.
        #[test]
        fn the_scanner_never_disagrees_with_serde_json(raw in objects()) {
            if let Some(fast) = scan_flat(&raw) {
                prop_assert_eq!(Ok(fast), via_serde(&raw));
            }
        }

        #[test]
        fn arbitrary_bytes_never_disagree_either(raw in prop::collection::vec(any::<u8>(), 0..40)) {
            if let Some(fast) = scan_flat(&raw) {
                prop_assert_eq!(Ok(fast), via_serde(&raw));
            }
        }

        /// The word-at-a-time search finds exactly the byte a plain loop finds, wherever it is
        /// (whole words, the padded tail, several matches in one word).
        #[test]
        fn find_special_agrees_with_a_plain_search(
            raw in prop::collection::vec(prop::sample::select(b"ab\"\\\n\x00\x1f \x7f\xc3\xa9".to_vec()), 0..40)
        ) {
            let plain = raw.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            prop_assert_eq!(find_special(&raw), plain);
        }

        #[test]
        fn strings_are_escaped_like_serde_json(s in any::<String>()) {
            let mut out = Vec::new();
            write_str(&mut out, &s);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
        }
    }

    #[test]
    fn every_control_character_is_escaped_like_serde_json() {
        let all: String = (0u8..0x80).map(char::from).collect();
        let mut out = Vec::new();
        write_str(&mut out, &all);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&all).unwrap()
        );
    }
}
