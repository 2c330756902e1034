//! `padron validate --batch`: JSON lines on stdin, one JSON verdict line on stdout per input
//! line, in order. Streaming with one reused line buffer, one reused verdict and buffered
//! output, so memory stays flat however many lines come; a bad line is answered, never fatal.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::ExitCode;

use padron_domain::{
    Checked, Country, DocumentNumber, DocumentType, EmailAddress, IdentityKind, Issue, PhoneNumber,
    ValidationLevel, check_document_type,
};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::error::Category;

/// Longest input line kept. Every field checked is at most a few hundred characters, so a longer
/// line cannot be valid; it is skipped while reading (not stored) and answered with `tooLong`,
/// which keeps memory bounded even for input without newlines.
pub const MAX_LINE: usize = 64 * 1024;

/// Size of the stdin and stdout buffers: large enough that a million short lines cost a few
/// thousand system calls.
const IO_BUFFER: usize = 256 * 1024;

/// Runs the batch over stdin and stdout: exit code 0 when every line was valid, 1 when at least
/// one was not, 2 when reading or writing failed.
pub fn run(level: ValidationLevel) -> ExitCode {
    let stdin = io::stdin();
    let stdout = io::stdout();
    let mut input = io::BufReader::with_capacity(IO_BUFFER, stdin.lock());
    let mut output = io::BufWriter::with_capacity(IO_BUFFER, stdout.lock());
    match process(&mut input, &mut output, level) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        // The reader went away (`… | head`): nobody is left to tell.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(2),
        Err(err) => {
            eprintln!("error: padron validate --batch failed: {err}");
            ExitCode::from(2)
        }
    }
}

/// Checks every line of `input`, writing one verdict line per input line to `output`. Returns
/// whether every line was valid; `Err` only when reading or writing fails.
pub fn process<R: Read>(
    input: &mut BufReader<R>,
    output: &mut impl Write,
    level: ValidationLevel,
) -> io::Result<bool> {
    let mut line = Vec::with_capacity(1024);
    let mut verdict = Verdict::default();
    // Each answer is built in memory first: serde_json's many small writes are much cheaper
    // into a `Vec` than through the `BufWriter`, which then gets one write per line.
    let mut answer = Vec::with_capacity(512);
    let mut all_valid = true;
    loop {
        // Output is flushed whenever the next read may block, so a program that feeds lines
        // through a pipe and waits for their answers gets them (and a file is still read and
        // written in large blocks).
        let read = read_line(input, &mut line, MAX_LINE, || output.flush())?;
        let Some(fits) = read else { break };
        verdict.clear();
        if fits {
            check_line(&line, level, &mut verdict);
        } else {
            verdict.error(
                "line",
                "tooLong",
                format!("the line is longer than {MAX_LINE} bytes"),
            );
        }
        all_valid &= verdict.is_valid();
        answer.clear();
        serde_json::to_writer(&mut answer, &verdict)?;
        answer.push(b'\n');
        output.write_all(&answer)?;
    }
    output.flush()?;
    Ok(all_valid)
}

/// Reads one line into `buf` (cleared first) without its `\n`. `None` at the end of input;
/// otherwise whether the line fit in `max` bytes — a longer one is consumed but not stored.
/// A last line without a newline still counts as a line. `before_read` runs whenever the
/// buffer is empty, that is right before a read that may block.
fn read_line<R: Read>(
    input: &mut BufReader<R>,
    buf: &mut Vec<u8>,
    max: usize,
    mut before_read: impl FnMut() -> io::Result<()>,
) -> io::Result<Option<bool>> {
    buf.clear();
    let mut fits = true;
    let mut seen_any = false;
    loop {
        if input.buffer().is_empty() {
            before_read()?;
        }
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            return Ok(seen_any.then_some(fits));
        }
        seen_any = true;
        let (chunk, used, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if fits && buf.len() + chunk.len() <= max {
            buf.extend_from_slice(chunk);
        } else {
            fits = false;
        }
        input.consume(used);
        if done {
            return Ok(Some(fits));
        }
    }
}

/// One problem with one field (`errors[]` and `warnings[]`), as the API reports them.
#[derive(Debug, Serialize)]
struct Problem {
    field: Cow<'static, str>,
    code: &'static str,
    detail: String,
}

/// The answer for one line; kept across lines so its vectors are allocated once.
#[derive(Debug, Default)]
struct Verdict {
    /// Canonical values of the fields that passed, in a fixed order.
    canonical: Vec<(&'static str, Cow<'static, str>)>,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Verdict {
    fn clear(&mut self) {
        self.canonical.clear();
        self.errors.clear();
        self.warnings.clear();
    }

    fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    fn error(&mut self, field: impl Into<Cow<'static, str>>, code: &'static str, detail: String) {
        self.errors.push(Problem {
            field: field.into(),
            code,
            detail,
        });
    }

    fn issue(&mut self, field: &'static str, issue: Issue) {
        self.error(field, issue.code, issue.detail);
    }

    fn warning(&mut self, field: impl Into<Cow<'static, str>>, issue: Issue) {
        self.warnings.push(Problem {
            field: field.into(),
            code: issue.code,
            detail: issue.detail,
        });
    }

    fn canonical(&mut self, field: &'static str, value: impl Into<Cow<'static, str>>) {
        self.canonical.push((field, value.into()));
    }

    /// Applies `level` to a validator's result: the canonical value on success, every problem
    /// otherwise. Structural mode turns strict failures into warnings, as the sandbox does.
    fn apply<T>(
        &mut self,
        field: &'static str,
        level: ValidationLevel,
        result: Result<Checked<T>, Issue>,
    ) -> Option<T> {
        match result.map(|checked| checked.at_level(level)) {
            Err(issue) => {
                self.issue(field, issue);
                None
            }
            Ok(Err(issues)) => {
                for issue in issues {
                    self.issue(field, issue);
                }
                None
            }
            Ok(Ok((value, warnings))) => {
                for w in warnings {
                    self.warning(field, w);
                }
                Some(value)
            }
        }
    }
}

/// `canonical` as a JSON object.
struct CanonicalMap<'a>(&'a [(&'static str, Cow<'static, str>)]);

impl Serialize for CanonicalMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (field, value) in self.0 {
            map.serialize_entry(field, value)?;
        }
        map.end()
    }
}

impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Verdict", 4)?;
        out.serialize_field("valid", &self.is_valid())?;
        out.serialize_field("canonical", &CanonicalMap(&self.canonical))?;
        out.serialize_field("errors", &self.errors)?;
        out.serialize_field("warnings", &self.warnings)?;
        out.end()
    }
}

/// One input field: absent (or `null`), text (borrowed from the line unless it had escapes),
/// or another JSON type, named for the error message.
#[derive(Debug, Default)]
enum Field<'a> {
    #[default]
    Absent,
    Text(Cow<'a, str>),
    Wrong(&'static str),
}

impl Field<'_> {
    fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }
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

/// The fields of one line. Unknown keys are kept by name for a warning, as the API does.
#[derive(Debug, Default)]
struct Line<'a> {
    country: Field<'a>,
    kind: Field<'a>,
    document_type: Field<'a>,
    document_number: Field<'a>,
    phone: Field<'a>,
    email: Field<'a>,
    unknown: Vec<Cow<'a, str>>,
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
            let slot = match key.as_ref() {
                "country" => &mut line.country,
                "type" => &mut line.kind,
                "documentType" => &mut line.document_type,
                "documentNumber" => &mut line.document_number,
                "phone" => &mut line.phone,
                "email" => &mut line.email,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    line.unknown.push(key);
                    continue;
                }
            };
            // A repeated key: the last value wins, as in most JSON readers.
            *slot = map.next_value()?;
        }
        Ok(line)
    }
}

impl<'de> Deserialize<'de> for Line<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(LineVisitor)
    }
}

/// A field's text, trimmed (spec §6.1: strings are trimmed), or `None` after recording why it
/// cannot be used. Absent fields record nothing: the caller knows whether they were needed.
fn text<'f>(verdict: &mut Verdict, name: &'static str, field: &'f Field<'_>) -> Option<&'f str> {
    match field {
        Field::Absent => None,
        Field::Text(t) => Some(t.trim()),
        Field::Wrong(what) => {
            verdict.error(
                name,
                "invalidType",
                format!("{name} must be a string, not {what}"),
            );
            None
        }
    }
}

fn required(verdict: &mut Verdict, name: &'static str, for_what: &str) {
    verdict.error(
        name,
        "required",
        format!("{name} is required to check {for_what}"),
    );
}

/// Checks one line into `verdict`.
fn check_line(raw: &[u8], level: ValidationLevel, verdict: &mut Verdict) {
    let raw = raw.trim_ascii();
    if raw.is_empty() {
        verdict.error(
            "line",
            "empty",
            "the line is empty; expected a JSON object".to_owned(),
        );
        return;
    }
    let line: Line<'_> = match serde_json::from_slice(raw) {
        Ok(line) => line,
        Err(err) if err.classify() == Category::Data => {
            verdict.error(
                "line",
                "invalidType",
                "the line must be a JSON object".to_owned(),
            );
            return;
        }
        Err(err) => {
            verdict.error(
                "line",
                "invalidJson",
                format!("the line is not valid JSON: {err}"),
            );
            return;
        }
    };
    for name in &line.unknown {
        let detail = format!("{name} is not a field this command checks; ignored");
        verdict.warning(name.to_string(), Issue::new("unknownField", detail));
    }
    let wanted = [
        &line.country,
        &line.kind,
        &line.document_type,
        &line.document_number,
        &line.phone,
        &line.email,
    ];
    if !wanted.iter().any(|f| f.is_present()) {
        verdict.error(
            "line",
            "nothingToCheck",
            "give documentNumber (with country and documentType), phone (with country) or email"
                .to_owned(),
        );
        return;
    }

    // `Err(())` marks a country that was given but unusable: its own error is already recorded,
    // so the fields that depend on it are not blamed a second time.
    let country = match text(verdict, "country", &line.country) {
        None if line.country.is_present() => Err(()),
        None => Ok(None),
        Some(raw) => match Country::parse(raw) {
            Ok(c) => {
                verdict.canonical("country", c.alpha3());
                Ok(Some(c))
            }
            Err(issue) => {
                verdict.issue("country", issue);
                Err(())
            }
        },
    };
    let kind = text(verdict, "type", &line.kind).and_then(|raw| match IdentityKind::parse(raw) {
        Some(k) => {
            verdict.canonical("type", k.as_str());
            Some(k)
        }
        None => {
            verdict.error(
                "type",
                "invalidValue",
                "type must be USER or ORGANIZATION".to_owned(),
            );
            None
        }
    });
    check_document(&line, country, kind, level, verdict);
    if line.phone.is_present()
        && let Some(raw) = text(verdict, "phone", &line.phone)
    {
        match country {
            Ok(Some(c)) => {
                if let Some(p) = verdict.apply("phone", level, PhoneNumber::parse(raw, c)) {
                    verdict.canonical("phone", p.as_str().to_owned());
                }
            }
            Ok(None) => required(verdict, "country", "phone"),
            Err(()) => {}
        }
    }
    if let Some(raw) = text(verdict, "email", &line.email)
        && let Some(e) = verdict.apply("email", level, EmailAddress::parse(raw))
    {
        verdict.canonical("email", e.as_str().to_owned());
    }
}

/// The `documentType` + `documentNumber` pair, which needs `country` (and is checked against
/// `type` when the line gives one).
fn check_document(
    line: &Line<'_>,
    country: Result<Option<Country>, ()>,
    kind: Option<IdentityKind>,
    level: ValidationLevel,
    verdict: &mut Verdict,
) {
    if !line.document_type.is_present() && !line.document_number.is_present() {
        return;
    }
    let doc_type = match text(verdict, "documentType", &line.document_type) {
        Some(raw) => match DocumentType::parse(raw) {
            Some(t) => Some(t),
            None => {
                verdict.error(
                    "documentType",
                    "unknownDocumentType",
                    "documentType is not a known document type".to_owned(),
                );
                None
            }
        },
        None => {
            if !line.document_type.is_present() {
                required(verdict, "documentType", "documentNumber");
            }
            None
        }
    };
    let number = match text(verdict, "documentNumber", &line.document_number) {
        Some(raw) => Some(raw),
        None => {
            if !line.document_number.is_present() {
                required(verdict, "documentNumber", "documentType");
            }
            None
        }
    };
    let country = match country {
        Ok(Some(c)) => c,
        Ok(None) => {
            required(verdict, "country", "documentNumber");
            return;
        }
        Err(()) => return,
    };
    let (Some(doc_type), Some(number)) = (doc_type, number) else {
        return;
    };
    if let Some(kind) = kind
        && let Err(issue) = check_document_type(country, kind, doc_type)
    {
        verdict.issue("documentType", issue);
        return;
    }
    let parsed = DocumentNumber::parse(country, doc_type, number);
    // The one structural failure that is about the type, not the number.
    if let Err(issue) = &parsed
        && issue.code == "unsupportedForCountry"
    {
        verdict.issue("documentType", issue.clone());
        return;
    }
    verdict.canonical("documentType", doc_type.as_str());
    if let Some(d) = verdict.apply("documentNumber", level, parsed) {
        verdict.canonical("documentNumber", d.as_str().to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn run_batch(input: &[u8], level: ValidationLevel) -> (bool, Vec<Value>) {
        let mut out = Vec::new();
        let ok = process(&mut BufReader::new(input), &mut out, level).expect("in-memory IO");
        let lines = String::from_utf8(out)
            .expect("UTF-8 output")
            .lines()
            .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
            .collect();
        (ok, lines)
    }

    fn one(line: &str) -> Value {
        let (_, mut lines) = run_batch(line.as_bytes(), ValidationLevel::Strict);
        assert_eq!(lines.len(), 1, "{line}");
        lines.remove(0)
    }

    fn codes(v: &Value, key: &str) -> Vec<(String, String)> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["field"].as_str().unwrap().to_owned(),
                    e["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn a_line_with_every_field_gives_every_canonical_value() {
        let v = one(
            r#"{"country":"chl","type":"USER","documentType":"run","documentNumber":"17.604.011-4","phone":"+56 9 6123 4567","email":"Ana@Example.COM"}"#,
        );
        assert_eq!(
            v,
            json!({"valid": true, "canonical": {
                "country": "CHL", "type": "USER", "documentType": "RUT",
                "documentNumber": "17604011-4", "phone": "+56961234567", "email": "Ana@example.com"},
                "errors": [], "warnings": []})
        );
    }

    #[test]
    fn missing_companions_are_named() {
        let v = one(r#"{"phone":"+56961234567"}"#);
        assert_eq!(codes(&v, "errors"), [("country".into(), "required".into())]);
        let v = one(r#"{"country":"CHL","documentNumber":"17604011-4"}"#);
        assert_eq!(
            codes(&v, "errors"),
            [("documentType".into(), "required".into())]
        );
        let v = one(r#"{"documentType":"RUT","documentNumber":"17604011-4"}"#);
        assert_eq!(codes(&v, "errors"), [("country".into(), "required".into())]);
    }

    #[test]
    fn wrong_types_and_bad_lines_are_answered() {
        let v = one(r#"{"country":56,"phone":"+56961234567","email":["a@b.cl"]}"#);
        assert_eq!(
            codes(&v, "errors"),
            [
                ("country".into(), "invalidType".into()),
                ("email".into(), "invalidType".into())
            ]
        );
        for (line, code) in [
            ("not json", "invalidJson"),
            ("{\"email\":\"a@b.cl\"", "invalidJson"),
            ("{} {}", "invalidJson"),
            ("[1,2]", "invalidType"),
            ("\"a@b.cl\"", "invalidType"),
            ("   ", "empty"),
            ("{}", "nothingToCheck"),
            ("{\"foo\":1}", "nothingToCheck"),
        ] {
            let v = one(line);
            assert_eq!(v["valid"], false, "{line}");
            assert_eq!(
                codes(&v, "errors"),
                [("line".into(), code.into())],
                "{line}"
            );
        }
    }

    #[test]
    fn unknown_fields_warn_and_nulls_count_as_absent() {
        let v = one(r#"{"email":"a@b.cl","name":"Ana","phone":null}"#);
        assert_eq!(v["valid"], true);
        assert_eq!(
            codes(&v, "warnings"),
            [("name".into(), "unknownField".into())]
        );
    }

    #[test]
    fn the_level_decides_what_a_check_digit_failure_is() {
        let line = br#"{"country":"CHL","documentType":"RUT","documentNumber":"18604011-4"}"#;
        let (ok, strict) = run_batch(line, ValidationLevel::Strict);
        assert!(!ok);
        assert_eq!(
            codes(&strict[0], "errors"),
            [("documentNumber".into(), "checkDigit".into())]
        );
        let (ok, structural) = run_batch(line, ValidationLevel::Structural);
        assert!(ok);
        assert_eq!(structural[0]["canonical"]["documentNumber"], "18604011-4");
        assert_eq!(
            codes(&structural[0], "warnings"),
            [("documentNumber".into(), "checkDigit".into())]
        );
    }

    #[test]
    fn the_type_restricts_document_types() {
        let v = one(
            r#"{"country":"BRA","type":"USER","documentType":"CNPJ","documentNumber":"12ABC34501DE35"}"#,
        );
        assert_eq!(
            codes(&v, "errors"),
            [("documentType".into(), "notAllowedForType".into())]
        );
        let v = one(r#"{"country":"CHL","documentType":"CPF","documentNumber":"52998224725"}"#);
        assert_eq!(
            codes(&v, "errors"),
            [("documentType".into(), "unsupportedForCountry".into())]
        );
    }

    #[test]
    fn lines_keep_their_order_and_count_with_crlf_and_no_final_newline() {
        let input = b"{\"email\":\"a@b.cl\"}\r\n\n\xff\xfe\n{\"email\":\"bad\"}";
        let (ok, lines) = run_batch(input, ValidationLevel::Strict);
        assert!(!ok);
        let valid: Vec<bool> = lines.iter().map(|l| l["valid"] == true).collect();
        assert_eq!(valid, [true, false, false, false]);
        assert_eq!(lines[0]["canonical"]["email"], "a@b.cl");
        assert_eq!(codes(&lines[1], "errors")[0].1, "empty");
        assert_eq!(codes(&lines[2], "errors")[0].1, "invalidJson");
        assert_eq!(codes(&lines[3], "errors")[0].0, "email");
    }

    #[test]
    fn an_overlong_line_is_answered_without_being_stored() {
        let mut input = Vec::new();
        input.extend_from_slice(b"{\"email\":\"");
        input.resize(MAX_LINE * 3, b'a');
        input.extend_from_slice(b"@b.cl\"}\n{\"email\":\"a@b.cl\"}\n");
        let mut reader = BufReader::with_capacity(4096, &input[..]);
        let mut buf = Vec::new();
        let mut refills = 0;
        let mut read = |buf: &mut Vec<u8>| {
            read_line(&mut reader, buf, MAX_LINE, || {
                refills += 1;
                Ok(())
            })
            .unwrap()
        };
        assert_eq!(read(&mut buf), Some(false));
        assert!(buf.len() <= MAX_LINE);
        assert_eq!(read(&mut buf), Some(true));
        assert_eq!(buf, b"{\"email\":\"a@b.cl\"}");
        assert_eq!(read(&mut buf), None);
        // One refill per 4 KiB block plus the final empty read: the hook runs before each.
        assert_eq!(refills, input.len().div_ceil(4096) + 1);
        let (_, lines) = run_batch(&input, ValidationLevel::Strict);
        assert_eq!(
            codes(&lines[0], "errors"),
            [("line".into(), "tooLong".into())]
        );
        assert_eq!(lines[1]["valid"], true);
    }

    #[test]
    fn escaped_strings_and_keys_are_read() {
        let v = one(r#"{"em\u0061il":"a\u0040b.cl"}"#);
        assert_eq!(v["canonical"]["email"], "a@b.cl");
    }

    #[test]
    fn deep_nesting_never_overflows_the_stack() {
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let v = one(&deep);
        assert_eq!(codes(&v, "errors"), [("line".into(), "tooLong".into())]);
        // Within the limit, nested values are skipped without recursion and reported by type.
        let nested = format!("{{\"email\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let v = one(&nested);
        assert_eq!(
            codes(&v, "errors"),
            [("email".into(), "invalidType".into())]
        );
    }
}
