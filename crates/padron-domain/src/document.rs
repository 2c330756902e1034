//! National document types per country (spec §6.2), and the one dispatch point that turns raw
//! input into a canonical [`DocumentNumber`]. The rules themselves live in `country/<cc>.rs`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use crate::country::{self, Country};
use crate::identity::IdentityKind;
use crate::level::{Checked, Issue};

/// A kind of national document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentType {
    /// Chile: Rol Único Tributario / Nacional (alias `RUN`).
    Rut,
    /// Mexico: Clave Única de Registro de Población.
    Curp,
    /// Mexico: Registro Federal de Contribuyentes (13 characters for people, 12 for companies).
    Rfc,
    /// Brazil: Cadastro de Pessoas Físicas.
    Cpf,
    /// Brazil: Cadastro Nacional da Pessoa Jurídica (numeric and, from July 2026, alphanumeric).
    Cnpj,
    /// Argentina or Peru: Documento Nacional de Identidad.
    Dni,
    /// Argentina: Código Único de Identificación Laboral.
    Cuil,
    /// Argentina: Clave Única de Identificación Tributaria.
    Cuit,
    /// Colombia: Cédula de Ciudadanía.
    Cc,
    /// Colombia or Peru: Cédula / Carné de Extranjería.
    Ce,
    /// Colombia: Número de Identificación Tributaria.
    Nit,
    /// Peru or Ecuador: Registro Único de Contribuyentes.
    Ruc,
    /// Uruguay or Ecuador: Cédula de Identidad.
    Ci,
    /// United States: Social Security Number.
    Ssn,
    /// United States: Individual Taxpayer Identification Number.
    Itin,
    /// United States: Employer Identification Number.
    Ein,
    /// Spain: Número de Identidad de Extranjero.
    Nie,
    /// Spain: Código de Identificación Fiscal (companies).
    Cif,
    /// Spain: Número de Identificación Fiscal (for companies, the CIF's current name).
    Nif,
    /// Any country: a passport number, 5–20 letters and digits.
    Passport,
}

impl DocumentType {
    /// Every type, in declaration order.
    pub const ALL: [DocumentType; 20] = [
        Self::Rut,
        Self::Curp,
        Self::Rfc,
        Self::Cpf,
        Self::Cnpj,
        Self::Dni,
        Self::Cuil,
        Self::Cuit,
        Self::Cc,
        Self::Ce,
        Self::Nit,
        Self::Ruc,
        Self::Ci,
        Self::Ssn,
        Self::Itin,
        Self::Ein,
        Self::Nie,
        Self::Cif,
        Self::Nif,
        Self::Passport,
    ];

    /// Parses a type name: surrounding white space is ignored, any case is accepted, and the
    /// alias `RUN` (Chile's name for a person's RUT) means [`DocumentType::Rut`].
    pub fn parse(raw: &str) -> Option<DocumentType> {
        // Upper-cased into a stack buffer and matched as bytes: this runs once per identity
        // and per line of `padron validate --batch`, so it neither allocates nor scans a list.
        let raw = crate::trim(raw).as_bytes();
        let mut upper = [0u8; 8];
        let name = upper.get_mut(..raw.len())?;
        for (u, b) in name.iter_mut().zip(raw) {
            *u = b.to_ascii_uppercase();
        }
        Some(match &*name {
            b"RUT" | b"RUN" => Self::Rut,
            b"CURP" => Self::Curp,
            b"RFC" => Self::Rfc,
            b"CPF" => Self::Cpf,
            b"CNPJ" => Self::Cnpj,
            b"DNI" => Self::Dni,
            b"CUIL" => Self::Cuil,
            b"CUIT" => Self::Cuit,
            b"CC" => Self::Cc,
            b"CE" => Self::Ce,
            b"NIT" => Self::Nit,
            b"RUC" => Self::Ruc,
            b"CI" => Self::Ci,
            b"SSN" => Self::Ssn,
            b"ITIN" => Self::Itin,
            b"EIN" => Self::Ein,
            b"NIE" => Self::Nie,
            b"CIF" => Self::Cif,
            b"NIF" => Self::Nif,
            b"PASSPORT" => Self::Passport,
            _ => return None,
        })
    }

    /// The canonical wire name (`RUT`, `CURP`, …, `PASSPORT`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rut => "RUT",
            Self::Curp => "CURP",
            Self::Rfc => "RFC",
            Self::Cpf => "CPF",
            Self::Cnpj => "CNPJ",
            Self::Dni => "DNI",
            Self::Cuil => "CUIL",
            Self::Cuit => "CUIT",
            Self::Cc => "CC",
            Self::Ce => "CE",
            Self::Nit => "NIT",
            Self::Ruc => "RUC",
            Self::Ci => "CI",
            Self::Ssn => "SSN",
            Self::Itin => "ITIN",
            Self::Ein => "EIN",
            Self::Nie => "NIE",
            Self::Cif => "CIF",
            Self::Nif => "NIF",
            Self::Passport => "PASSPORT",
        }
    }
}

impl std::fmt::Display for DocumentType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a document type means in one country, for discovery endpoints and error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentTypeInfo {
    /// The type.
    pub document_type: DocumentType,
    /// Allowed for `USER` identities.
    pub user: bool,
    /// Allowed for `ORGANIZATION` identities.
    pub organization: bool,
    /// The accepted shape, in words.
    pub format: &'static str,
    /// How the number is written once canonical (what responses and lookups use), in words.
    pub canonical: &'static str,
    /// A valid number in canonical form.
    pub example: &'static str,
    /// What the document is.
    pub description: &'static str,
}

/// The countries of spec §6.2's table, the ones with national document types beyond
/// `PASSPORT`, in the table's order.
const DOCUMENT_COUNTRIES: [&str; 10] = [
    "CHL", "MEX", "BRA", "ARG", "COL", "PER", "URY", "ECU", "USA", "ESP",
];

/// The countries with national document types (spec §6.2), in the table's order. Every other
/// country accepts `PASSPORT` only.
pub fn document_countries() -> impl Iterator<Item = Country> {
    DOCUMENT_COUNTRIES
        .into_iter()
        .filter_map(|a3| Country::parse(a3).ok())
}

/// One row of the static table: (type, user, organization, format, example, description).
type Row = (
    DocumentType,
    bool,
    bool,
    &'static str,
    &'static str,
    &'static str,
);

const PASSPORT: Row = (
    DocumentType::Passport,
    true,
    false,
    "5 to 20 letters and digits",
    "X1234567",
    "Passport number",
);

/// The countries with national documents, as [`country::code`]s to match on.
const CHL: u32 = country::code(b"CHL");
const MEX: u32 = country::code(b"MEX");
const BRA: u32 = country::code(b"BRA");
const ARG: u32 = country::code(b"ARG");
const COL: u32 = country::code(b"COL");
const PER: u32 = country::code(b"PER");
const URY: u32 = country::code(b"URY");
const ECU: u32 = country::code(b"ECU");
const USA: u32 = country::code(b"USA");
const ESP: u32 = country::code(b"ESP");

/// Spec §6.2 "Document types to support first", one slice per country.
fn rows(country: Country) -> &'static [Row] {
    use DocumentType::*;
    match country.code() {
        CHL => &[(
            Rut,
            true,
            true,
            "body of 1 to 9 digits, dash, check digit 0-9 or K (dots optional)",
            "17604011-4",
            "Rol Único Tributario / Nacional (RUN is accepted as an alias)",
        )],
        MEX => &[
            (
                Curp,
                true,
                false,
                "18 characters: 4 letters, birth date YYMMDD, sex H/M/X, state, 3 consonants, 2 check characters",
                "BOXW310820HNERXN09",
                "Clave Única de Registro de Población",
            ),
            (
                Rfc,
                true,
                true,
                "13 characters for people (4 letters, YYMMDD, 3 homoclave), 12 for companies (3 letters, YYMMDD, 3 homoclave)",
                "GODE561231GR8",
                "Registro Federal de Contribuyentes",
            ),
        ],
        BRA => &[
            (
                Cpf,
                true,
                false,
                "11 digits (999.999.999-99)",
                "52998224725",
                "Cadastro de Pessoas Físicas",
            ),
            (
                Cnpj,
                false,
                true,
                "14 characters: 12 letters or digits and 2 check digits (99.999.999/9999-99)",
                "12ABC34501DE35",
                "Cadastro Nacional da Pessoa Jurídica (numeric, or alphanumeric from July 2026)",
            ),
        ],
        ARG => &[
            (
                Dni,
                true,
                false,
                "7 or 8 digits (99.999.999)",
                "20123456",
                "Documento Nacional de Identidad",
            ),
            (
                Cuil,
                true,
                false,
                "11 digits: prefix 20/23/24/27, DNI, check digit (99-99999999-9)",
                "20123456786",
                "Código Único de Identificación Laboral",
            ),
            (
                Cuit,
                true,
                true,
                "11 digits: prefix 20/23/24/27/30/33/34, number, check digit (99-99999999-9)",
                "20123456786",
                "Clave Única de Identificación Tributaria",
            ),
        ],
        COL => &[
            (
                Cc,
                true,
                false,
                "3 to 10 digits",
                "1020304050",
                "Cédula de Ciudadanía",
            ),
            (
                Ce,
                true,
                false,
                "3 to 7 digits",
                "1234567",
                "Cédula de Extranjería",
            ),
            (
                Nit,
                true,
                true,
                "up to 15 digits and a check digit (999.999.999-9)",
                "2131234321",
                "Número de Identificación Tributaria",
            ),
        ],
        PER => &[
            (
                Dni,
                true,
                false,
                "8 digits, optionally followed by the check character printed on the card",
                "10117410",
                "Documento Nacional de Identidad (CUI)",
            ),
            (
                Ce,
                true,
                false,
                "8 to 12 letters and digits",
                "001234567",
                "Carné de Extranjería",
            ),
            (
                Ruc,
                true,
                true,
                "11 digits starting 10, 15, 17 or 20, last one a check digit",
                "20512333797",
                "Registro Único de Contribuyentes",
            ),
        ],
        URY => &[
            (
                Ci,
                true,
                false,
                "6 to 8 digits, last one a check digit (9.999.999-9)",
                "12345672",
                "Cédula de Identidad",
            ),
            (
                Rut,
                true,
                true,
                "12 digits: registration, 000001-style branch, check digit",
                "211003420017",
                "Registro Único Tributario",
            ),
        ],
        ECU => &[
            (
                Ci,
                true,
                false,
                "10 digits: province, sequence, check digit",
                "1714307103",
                "Cédula de Identidad",
            ),
            (
                Ruc,
                true,
                true,
                "13 digits: province, type, sequence, establishment (001-style)",
                "1792060346001",
                "Registro Único de Contribuyentes",
            ),
        ],
        USA => &[
            (
                Ssn,
                true,
                false,
                "9 digits (999-99-9999)",
                "536904399",
                "Social Security Number",
            ),
            (
                Itin,
                true,
                false,
                "9 digits starting with 9, group 50-65, 70-88, 90-92 or 94-99 (999-99-9999)",
                "912903456",
                "Individual Taxpayer Identification Number",
            ),
            (
                Ein,
                true,
                true,
                "9 digits with a known campus prefix (99-9999999)",
                "042103594",
                "Employer Identification Number",
            ),
        ],
        ESP => &[
            (
                Dni,
                true,
                false,
                "8 digits and a control letter",
                "54362315K",
                "Documento Nacional de Identidad",
            ),
            (
                Nie,
                true,
                false,
                "X, Y or Z, 7 digits and a control letter",
                "X2482300W",
                "Número de Identidad de Extranjero",
            ),
            (
                Cif,
                false,
                true,
                "letter, 7 digits and a control digit or letter",
                "J99216582",
                "Código de Identificación Fiscal",
            ),
            (
                Nif,
                false,
                true,
                "9 characters: a company's CIF form (letter, 7 digits, control), or a sole trader's DNI/NIE",
                "J99216582",
                "Número de Identificación Fiscal of an organization",
            ),
        ],
        _ => &[],
    }
}

fn info(
    country: Country,
    (document_type, user, organization, format, example, description): Row,
) -> DocumentTypeInfo {
    // Spec §6.2: one canonical rule for every document but Chile's RUT, which keeps its dash.
    let canonical = if country.alpha3() == "CHL" && document_type == DocumentType::Rut {
        "body of 1 to 9 digits without leading zeros, a dash, the check digit (K upper case)"
    } else {
        "letters and digits only, letters upper case, no separators"
    };
    DocumentTypeInfo {
        document_type,
        user,
        organization,
        format,
        canonical,
        example,
        description,
    }
}

/// The document types of spec §6.2 for `country`, followed by `PASSPORT` (for users only).
/// Countries outside the table get `PASSPORT` alone.
pub fn document_types(country: Country) -> Vec<DocumentTypeInfo> {
    rows(country)
        .iter()
        .copied()
        .chain([PASSPORT])
        .map(|row| info(country, row))
        .collect()
}

fn row(country: Country, t: DocumentType) -> Option<Row> {
    if t == DocumentType::Passport {
        return Some(PASSPORT);
    }
    rows(country).iter().copied().find(|r| r.0 == t)
}

/// Checks that `t` is a document type of `country` and that `kind` may use it.
///
/// Errors: `unsupportedForCountry` (e.g. CPF in Chile) or `notAllowedForType` (e.g. CNPJ for a
/// USER).
pub fn check_document_type(
    country: Country,
    kind: IdentityKind,
    t: DocumentType,
) -> Result<(), Issue> {
    let Some((_, user, organization, ..)) = row(country, t) else {
        return Err(Issue::new(
            "unsupportedForCountry",
            format!("document type {t} is not supported for country {country}"),
        ));
    };
    let allowed = match kind {
        IdentityKind::User => user,
        IdentityKind::Organization => organization,
    };
    if allowed {
        Ok(())
    } else {
        Err(Issue::new(
            "notAllowedForType",
            format!(
                "document type {t} is not allowed for {} identities in {country}",
                kind.as_str()
            ),
        ))
    }
}

/// A document number in canonical form: only its letters and digits, letters upper case (a
/// Mexican RFC also keeps `&` and `Ñ`); Chile's RUT as `<body>-<check>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DocumentNumber(String);

/// Longest raw input looked at; anything longer is refused before any other work, so every
/// validator runs on bounded input.
const MAX_RAW_CHARS: usize = 64;

impl DocumentNumber {
    /// Validates `raw` as a document of type `t` issued by `country`.
    ///
    /// `Err` is a structural failure (wrong shape, unsupported type); `Ok` carries the canonical
    /// number, the failures only strict mode rejects (check digits, embedded dates and codes), and
    /// warnings that never block (a Mexican RFC check digit, spec §6.2).
    pub fn parse(
        country: Country,
        t: DocumentType,
        raw: &str,
    ) -> Result<Checked<DocumentNumber>, Issue> {
        use DocumentType::*;
        // Counting characters only when there are more bytes than the limit.
        if raw.len() > MAX_RAW_CHARS && raw.chars().nth(MAX_RAW_CHARS).is_some() {
            return Err(Issue::new(
                "tooLong",
                format!("{t} has more than {MAX_RAW_CHARS} characters"),
            ));
        }
        if row(country, t).is_none() {
            return Err(Issue::new(
                "unsupportedForCountry",
                format!("document type {t} is not supported for country {country}"),
            ));
        }
        let checked = match (country.code(), t) {
            (_, Passport) => passport(raw),
            (CHL, Rut) => country::cl::rut(raw),
            (MEX, Curp) => country::mx::curp(raw),
            (MEX, Rfc) => country::mx::rfc(raw),
            (BRA, Cpf) => country::br::cpf(raw),
            (BRA, Cnpj) => country::br::cnpj(raw),
            (ARG, Dni) => country::ar::dni(raw),
            (ARG, Cuil) => country::ar::cuil(raw),
            (ARG, Cuit) => country::ar::cuit(raw),
            (COL, Cc) => country::co::cc(raw),
            (COL, Ce) => country::co::ce(raw),
            (COL, Nit) => country::co::nit(raw),
            (PER, Dni) => country::pe::dni(raw),
            (PER, Ce) => country::pe::ce(raw),
            (PER, Ruc) => country::pe::ruc(raw),
            (URY, Ci) => country::uy::ci(raw),
            (URY, Rut) => country::uy::rut(raw),
            (ECU, Ci) => country::ec::ci(raw),
            (ECU, Ruc) => country::ec::ruc(raw),
            (USA, Ssn) => country::us::ssn(raw),
            (USA, Itin) => country::us::itin(raw),
            (USA, Ein) => country::us::ein(raw),
            (ESP, Dni) => country::es::dni(raw),
            (ESP, Nie) => country::es::nie(raw),
            (ESP, Cif) => country::es::cif(raw),
            (ESP, Nif) => country::es::nif_company(raw),
            // `row` above only lets through the pairs listed here.
            _ => Err(Issue::new(
                "unsupportedForCountry",
                format!("document type {t} is not supported for country {country}"),
            )),
        }?;
        Ok(checked.map(DocumentNumber))
    }

    /// Wraps a canonical value read back from storage without validating it again: rules may
    /// tighten after a value was stored, and stored identities must still load.
    pub fn from_canonical(canonical: String) -> DocumentNumber {
        DocumentNumber(canonical)
    }

    /// The canonical form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The canonical form, without copying it.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for DocumentNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Passport: 5–20 letters and digits once spaces and dashes are removed; no check digit is
/// shared across issuers, so there is nothing stricter to check.
fn passport(raw: &str) -> Result<Checked<String>, Issue> {
    let s = compact(raw, "PASSPORT", " -")?;
    if !(5..=20).contains(&s.len()) {
        return Err(Issue::new(
            "invalidFormat",
            "PASSPORT must have 5 to 20 letters and digits",
        ));
    }
    Ok(Checked::clean(s))
}

/// Removes the separators `seps` (a subset of space, dot, comma, dash, slash, underscore) and
/// upper-cases ASCII letters. Any other character — including every other non-ASCII one — is a
/// structural failure, so the result is pure ASCII and can be indexed by byte without risk.
///
/// Separators are accepted anywhere, as python-stdnum accepts them: people copy numbers from
/// forms that group digits in many ways, and the canonical form is the same either way. Each
/// document lists the separators it is really written with (a US SSN takes dashes, a Chilean
/// RUT dots and a dash, a Brazilian CNPJ also a slash). Unicode dashes (`–`, `—`, `−` …) count
/// as `-`: word processors put them in when people paste numbers from documents.
pub(crate) fn compact(raw: &str, what: &'static str, seps: &'static str) -> Result<String, Issue> {
    compact_with(raw, what, seps, |_| None)
}

/// [`compact`], with `extra` mapping further characters the document allows (e.g. `&` and `Ñ` in
/// a Mexican RFC) to what the canonical form keeps.
pub(crate) fn compact_with(
    raw: &str,
    what: &'static str,
    seps: &'static str,
    extra: impl Fn(char) -> Option<char>,
) -> Result<String, Issue> {
    let raw = crate::trim(raw);
    let mut out = String::with_capacity(raw.len());
    let bad = || {
        Issue::new(
            "invalidFormat",
            fixed_detail(("characters", what, seps, &[]), || {
                format!(
                    "{what} may contain only letters, digits and the separators {}",
                    describe_seps(seps)
                )
            }),
        )
    };
    // The separators as a bit set of ASCII bytes (they are all ASCII).
    let sep_set = seps.bytes().fold(0u128, |set, b| {
        set | 1u128.checked_shl(u32::from(b)).unwrap_or(0)
    });
    let is_sep = |b: u8| 1u128.checked_shl(u32::from(b)).unwrap_or(0) & sep_set != 0;
    // Byte by byte while the input is ASCII, as it nearly always is; the first non-ASCII byte
    // (a character boundary) hands the rest to the character loop below.
    let mut ascii = raw.len();
    for (i, b) in raw.bytes().enumerate() {
        if b.is_ascii_alphanumeric() {
            out.push(char::from(b.to_ascii_uppercase()));
        } else if is_sep(b) {
            // A separator: dropped.
        } else if !b.is_ascii() {
            ascii = i;
            break;
        } else if let Some(kept) = extra(char::from(b)) {
            out.push(kept);
        } else {
            return Err(bad());
        }
    }
    for c in raw[ascii..].chars() {
        let c = match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' => '-',
            '\u{00A0}' => ' ',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if seps.contains(c) {
            // A separator: dropped.
        } else if let Some(kept) = extra(c) {
            out.push(kept);
        } else {
            return Err(bad());
        }
    }
    if out.is_empty() {
        return Err(Issue::new(
            "invalidFormat",
            fixed_detail(("empty", what, "", &[]), || format!("{what} is empty")),
        ));
    }
    Ok(out)
}

fn describe_seps(seps: &str) -> String {
    let names: Vec<&str> = seps
        .chars()
        .map(|c| match c {
            ' ' => "space",
            '.' => "dot",
            ',' => "comma",
            '-' => "dash",
            '/' => "slash",
            '_' => "underscore",
            _ => "other",
        })
        .collect();
    names.join(", ")
}

/// [`compact`], then requires only digits, in one of the lengths `lens`.
pub(crate) fn digits(
    raw: &str,
    what: &'static str,
    seps: &'static str,
    lens: &'static [usize],
) -> Result<String, Issue> {
    only_digits(compact(raw, what, seps)?, what, lens)
}

/// The second half of [`digits`], for a value already compacted.
pub(crate) fn only_digits(
    s: String,
    what: &'static str,
    lens: &'static [usize],
) -> Result<String, Issue> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Issue::new(
            "invalidFormat",
            fixed_detail(("onlyDigits", what, "", &[]), || {
                format!("{what} must contain only digits")
            }),
        ));
    }
    check_len(&s, what, lens, "digits")?;
    Ok(s)
}

/// Requires `s.len()` to be one of `lens`; `unit` names what is counted.
pub(crate) fn check_len(
    s: &str,
    what: &'static str,
    lens: &'static [usize],
    unit: &'static str,
) -> Result<(), Issue> {
    if lens.contains(&s.len()) {
        Ok(())
    } else {
        Err(Issue::new(
            "invalidFormat",
            fixed_detail(("length", what, unit, lens), || {
                format!("{what} must have {} {unit}", describe_lens(lens))
            }),
        ))
    }
}

/// A rule's name and the fixed parameters of the validator that applies it: the document's name,
/// then whatever else the text is built from (its separators, the unit it counts, its lengths).
/// The key must determine the text.
pub(crate) type DetailKey = (&'static str, &'static str, &'static str, &'static [usize]);

/// The detail of an issue that depends only on a validator's fixed parameters: the same text
/// every time, so it is built once and then borrowed. Otherwise every invalid row of a batch
/// (more than half of the public corpus) formats and allocates its own copy of one of a few
/// dozen messages.
///
/// The texts live in one map shared by all threads, kept for the life of the process: bounded,
/// since the keys are the validators' constants (one text per rule and document type). Each
/// thread keeps a small cache in front of it, indexed by the keys' addresses, so the usual
/// lookup takes neither a lock nor a hash of the texts.
pub(crate) fn fixed_detail(key: DetailKey, build: impl FnOnce() -> String) -> Cow<'static, str> {
    const SLOTS: usize = 64;
    type Key = [(usize, usize); 4];
    type Slot = Option<(Key, &'static str)>;
    static ALL: LazyLock<Mutex<HashMap<DetailKey, &'static str>>> = LazyLock::new(Mutex::default);
    thread_local! {
        static CACHE: RefCell<[Slot; SLOTS]> = const { RefCell::new([None; SLOTS]) };
    }
    // The parts are literals: equal addresses and lengths mean equal texts. (Equal texts at
    // different addresses only miss the cache and are found in the map.)
    let (rule, what, extra, lens) = key;
    let address = [
        crate::address::of(rule.as_bytes()),
        crate::address::of(what.as_bytes()),
        crate::address::of(extra.as_bytes()),
        crate::address::of(lens),
    ];
    let slot = crate::address::slot(&address, SLOTS);
    let text = CACHE.with_borrow_mut(|cache| match cache[slot] {
        Some((cached, text)) if cached == address => text,
        _ => {
            let mut all = ALL.lock().unwrap_or_else(PoisonError::into_inner);
            let text = *all
                .entry(key)
                .or_insert_with(|| Box::leak(build().into_boxed_str()));
            cache[slot] = Some((address, text));
            text
        }
    });
    Cow::Borrowed(text)
}

fn describe_lens(lens: &[usize]) -> String {
    match lens {
        [one] => one.to_string(),
        [first, .., last] if lens.windows(2).all(|w| w[1] == w[0] + 1) => {
            format!("{first} to {last}")
        }
        _ => lens
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

/// Checks `s` against a shape written one character class per position: `9` a digit, `A` a
/// letter, `X` a letter or digit. `s` must be ASCII (as [`compact`] returns).
pub(crate) fn matches_shape(s: &str, shape: &str) -> bool {
    s.len() == shape.len()
        && s.bytes().zip(shape.bytes()).all(|(c, k)| match k {
            b'9' => c.is_ascii_digit(),
            b'A' => c.is_ascii_uppercase(),
            b'X' => c.is_ascii_uppercase() || c.is_ascii_digit(),
            _ => c == k,
        })
}

/// The numeric value of an ASCII digit (callers have checked the byte is a digit).
pub(crate) fn dv(b: u8) -> u32 {
    u32::from(b.wrapping_sub(b'0'))
}

/// Weighted sum of ASCII digits: Σ digit × weight, pairing from the left.
pub(crate) fn weighted(digits: &[u8], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(&d, &w)| dv(d) * w).sum()
}

/// A strict-level issue for a check digit that does not match.
pub(crate) fn check_digit_issue(what: &'static str) -> Issue {
    Issue::new(
        "checkDigit",
        fixed_detail(("checkDigit", what, "", &[]), || {
            format!("{what} check digit does not match")
        }),
    )
}

/// A strict-level issue for embedded data that cannot be right (a prefix, province, range).
pub(crate) fn component_issue(detail: impl Into<Cow<'static, str>>) -> Issue {
    Issue::new("invalidComponent", detail)
}

/// Whether `y`-`m`-`d` is a real calendar date (proleptic Gregorian).
pub(crate) fn is_valid_date(y: u32, m: u32, d: u32) -> bool {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// The value of two ASCII digits (callers have checked both are digits).
pub(crate) fn two(b: &[u8]) -> u32 {
    dv(b[0]) * 10 + dv(b[1])
}

/// Collects what a validator finds beyond the shape: strict failures and warnings.
#[derive(Default)]
pub(crate) struct Findings {
    pub(crate) strict: Vec<Issue>,
    pub(crate) warnings: Vec<Issue>,
}

impl Findings {
    /// Adds a strict issue unless `ok`.
    pub(crate) fn require(&mut self, ok: bool, issue: impl FnOnce() -> Issue) {
        if !ok {
            self.strict.push(issue());
        }
    }

    /// Adds a warning unless `ok`.
    pub(crate) fn warn_unless(&mut self, ok: bool, issue: impl FnOnce() -> Issue) {
        if !ok {
            self.warnings.push(issue());
        }
    }

    /// The canonical value with what was found.
    pub(crate) fn done(self, value: String) -> Checked<String> {
        Checked {
            value,
            strict: self.strict,
            warnings: self.warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(a3: &str) -> Country {
        Country::parse(a3).unwrap()
    }

    #[test]
    fn every_listed_example_is_valid_and_canonical() {
        for a3 in [
            "CHL", "MEX", "BRA", "ARG", "COL", "PER", "URY", "ECU", "USA", "ESP", "FRA",
        ] {
            for info in document_types(c(a3)) {
                let t = info.document_type;
                let checked = DocumentNumber::parse(c(a3), t, info.example)
                    .unwrap_or_else(|e| panic!("{a3} {t}: {e}"));
                assert!(checked.strict.is_empty(), "{a3} {t}: {:?}", checked.strict);
                assert_eq!(checked.value.as_str(), info.example, "{a3} {t}");
            }
        }
    }

    #[test]
    fn type_names_parse_with_aliases() {
        assert_eq!(DocumentType::parse(" run "), Some(DocumentType::Rut));
        assert_eq!(DocumentType::parse("cnpj"), Some(DocumentType::Cnpj));
        assert_eq!(
            DocumentType::parse("Passport"),
            Some(DocumentType::Passport)
        );
        assert_eq!(DocumentType::parse("RUTT"), None);
        for t in DocumentType::ALL {
            assert_eq!(DocumentType::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn types_are_checked_against_country_and_kind() {
        use DocumentType::*;
        use IdentityKind::{Organization, User};
        let code = |a3: &str, kind, t| check_document_type(c(a3), kind, t).err().map(|i| i.code);
        assert_eq!(code("CHL", User, Rut), None);
        assert_eq!(code("CHL", Organization, Rut), None);
        assert_eq!(code("BRA", User, Cpf), None);
        assert_eq!(code("BRA", Organization, Cpf), Some("notAllowedForType"));
        assert_eq!(code("BRA", User, Cnpj), Some("notAllowedForType"));
        assert_eq!(code("CHL", User, Cpf), Some("unsupportedForCountry"));
        assert_eq!(code("FRA", User, Passport), None);
        assert_eq!(
            code("FRA", Organization, Passport),
            Some("notAllowedForType")
        );
        assert_eq!(document_types(c("FRA")).len(), 1);
        assert_eq!(document_types(c("ARG")).len(), 4);
    }

    #[test]
    fn document_countries_are_exactly_those_with_national_types() {
        let listed: Vec<&str> = document_countries().map(Country::alpha3).collect();
        assert_eq!(listed, DOCUMENT_COUNTRIES);
        for country in document_countries() {
            assert!(document_types(country).len() > 1, "{country}");
        }
        let rut = &document_types(c("CHL"))[0];
        assert!(rut.canonical.contains("dash"), "{}", rut.canonical);
        let uy_rut = &document_types(c("URY"))[1];
        assert_eq!(uy_rut.document_type, DocumentType::Rut);
        assert!(uy_rut.canonical.contains("no separators"));
    }

    #[test]
    fn parse_refuses_unsupported_pairs_and_long_input() {
        let parse = |a3: &str, t, raw: &str| DocumentNumber::parse(c(a3), t, raw);
        assert_eq!(
            parse("CHL", DocumentType::Cpf, "52998224725")
                .unwrap_err()
                .code,
            "unsupportedForCountry"
        );
        assert_eq!(
            parse("CHL", DocumentType::Rut, &"1".repeat(65))
                .unwrap_err()
                .code,
            "tooLong"
        );
        let passport = parse("FRA", DocumentType::Passport, "ab-123 45").unwrap();
        assert_eq!(passport.value.as_str(), "AB12345");
        assert!(parse("FRA", DocumentType::Passport, "AB12").is_err());
        assert!(parse("FRA", DocumentType::Passport, "AB12345é").is_err());
    }

    #[test]
    fn details_never_echo_the_number() {
        for (a3, t, raw) in [
            ("CHL", DocumentType::Rut, "18604011-4"),
            ("BRA", DocumentType::Cpf, "52998224724"),
            ("MEX", DocumentType::Rfc, "GODE561231GR9"),
        ] {
            let checked = DocumentNumber::parse(c(a3), t, raw).unwrap();
            for issue in checked.strict.iter().chain(&checked.warnings) {
                assert!(!issue.detail.contains(&raw[..6]), "{}", issue.detail);
            }
        }
    }
}
