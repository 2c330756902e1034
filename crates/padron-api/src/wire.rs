//! Wire types: turning request JSON into domain values (collecting every field error at once)
//! and identities into the response shapes of spec §6.3.

use std::collections::HashSet;

use padron_domain::{
    Address, BankAccount, Checked, Country, DocumentNumber, DocumentType, EmailAddress, Identity,
    IdentityFields, IdentityId, IdentityKind, Issue, PhoneNumber, SecurityOptions, Status,
    ValidationLevel, check_document_type,
};
use serde::Serialize;
use serde::ser::Serializer;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::FieldError;
use crate::extract::ApiVersion;

/// Longest value of a plain string field, in characters (spec §6.1).
pub const MAX_TEXT: usize = 200;
/// Largest serialized `rules`, `kyc`, `watchList` or `extendedData`, in bytes (spec §6.1).
pub const MAX_FREE_JSON: usize = 16 * 1024;
/// Most children one request may name (spec §10).
pub const MAX_CHILDREN: usize = 1000;

/// Fields a client may set (besides `type`, which is fixed at creation).
const WRITABLE: [&str; 20] = [
    "name",
    "lastname",
    "nickname",
    "gender",
    "externalId",
    "idv",
    "email",
    "phone",
    "country",
    "documentType",
    "documentNumber",
    "status",
    "securityOptions",
    "address",
    "bankAccount",
    "rules",
    "kyc",
    "watchList",
    "extendedData",
    "children",
];

/// Fields only the server sets.
pub const READ_ONLY: [&str; 5] = ["id", "type", "createdAt", "updatedAt", "version"];

/// A request turned into domain values.
#[derive(Debug)]
pub struct Draft {
    /// USER or ORGANIZATION.
    pub kind: IdentityKind,
    /// The complete new set of fields.
    pub fields: IdentityFields,
    /// `Some` when the request names children.
    pub children: Option<Vec<IdentityId>>,
    /// Checks that did not block the request.
    pub warnings: Vec<FieldError>,
}

/// Collects every error and warning of one request.
struct Reader {
    level: ValidationLevel,
    errors: Vec<FieldError>,
    warnings: Vec<FieldError>,
}

/// How a JSON value's type is named in error details (`a number`, `an object`).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Reader {
    fn error(&mut self, field: &str, code: &str, detail: impl Into<String>) {
        self.errors.push(FieldError::new(field, code, detail));
    }

    fn wrong_type(&mut self, field: &str, expected: &str, got: &Value) {
        self.error(
            field,
            "invalidType",
            format!("{field} must be {expected}, not {}", type_name(got)),
        );
    }

    /// An optional string: absent, null and empty (after trimming) are all "unset".
    fn text(&mut self, field: &str, value: Option<&Value>, max: usize) -> Option<String> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    None
                } else if s.chars().count() > max {
                    self.error(
                        field,
                        "tooLong",
                        format!("{field} must be at most {max} characters"),
                    );
                    None
                } else if s.chars().any(char::is_control) {
                    self.error(
                        field,
                        "invalidCharacters",
                        format!("{field} must not contain control characters"),
                    );
                    None
                } else {
                    Some(s.to_owned())
                }
            }
            Some(other) => {
                self.wrong_type(field, "a string", other);
                None
            }
        }
    }

    /// A required string.
    fn required_text(&mut self, field: &str, value: Option<&Value>, max: usize) -> Option<String> {
        match value {
            None | Some(Value::Null) => {
                self.errors.push(FieldError::missing(field));
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.error(field, "empty", format!("{field} must not be empty"));
                None
            }
            other => self.text(field, other, max),
        }
    }

    fn boolean(&mut self, field: &str, value: Option<&Value>) -> Option<bool> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.wrong_type(field, "a boolean", other);
                None
            }
        }
    }

    fn object<'v>(
        &mut self,
        field: &str,
        value: Option<&'v Value>,
    ) -> Option<&'v Map<String, Value>> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map),
            Some(other) => {
                self.wrong_type(field, "an object", other);
                None
            }
        }
    }

    /// Applies the validation level to a domain check.
    fn checked<T>(&mut self, field: &str, result: Result<Checked<T>, Issue>) -> Option<T> {
        let checked = match result {
            Ok(c) => c,
            Err(issue) => {
                self.error(field, issue.code, issue.detail.clone());
                return None;
            }
        };
        match checked.at_level(self.level) {
            Ok((value, notes)) => {
                for n in notes {
                    self.warnings.push(FieldError::new(field, n.code, n.detail));
                }
                Some(value)
            }
            Err(issues) => {
                for i in issues {
                    self.error(field, i.code, i.detail);
                }
                None
            }
        }
    }

    /// Free JSON kept as text, bounded in size.
    fn free_json(
        &mut self,
        field: &str,
        value: Option<&Value>,
        want_array: bool,
    ) -> Option<String> {
        let value = match value {
            None | Some(Value::Null) => return None,
            Some(v) => v,
        };
        let shape_ok = if want_array {
            value.is_array()
        } else {
            value.is_object()
        };
        if !shape_ok {
            self.wrong_type(
                field,
                if want_array { "an array" } else { "an object" },
                value,
            );
            return None;
        }
        let text = value.to_string();
        if text.len() > MAX_FREE_JSON {
            self.error(
                field,
                "tooLarge",
                format!("{field} must be at most {MAX_FREE_JSON} bytes of JSON"),
            );
            return None;
        }
        Some(text)
    }

    fn unknown_keys(&mut self, prefix: &str, map: &Map<String, Value>, known: &[&str]) {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                let field = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                self.warnings.push(FieldError::new(
                    field.clone(),
                    "unknownField",
                    format!("{field} is not a known field and was ignored"),
                ));
            }
        }
    }

    fn security(&mut self, value: Option<&Value>) -> SecurityOptions {
        let mut out = SecurityOptions::default();
        let Some(map) = self.object("securityOptions", value) else {
            return out;
        };
        self.unknown_keys(
            "securityOptions",
            map,
            &[
                "twoFactorAuth",
                "twoFactorEnabled",
                "signTrx",
                "signAccountsOperations",
                "accessControl",
            ],
        );
        let two_factor = self.boolean("securityOptions.twoFactorAuth", map.get("twoFactorAuth"));
        let alias = self.boolean(
            "securityOptions.twoFactorEnabled",
            map.get("twoFactorEnabled"),
        );
        if let (Some(a), Some(b)) = (two_factor, alias)
            && a != b
        {
            self.error(
                "securityOptions.twoFactorEnabled",
                "conflict",
                "securityOptions.twoFactorEnabled is an alias of twoFactorAuth and must not contradict it",
            );
        }
        out.two_factor_auth = two_factor.or(alias).unwrap_or(false);
        out.sign_trx = self
            .boolean("securityOptions.signTrx", map.get("signTrx"))
            .unwrap_or(false);
        out.sign_accounts_operations = self
            .boolean(
                "securityOptions.signAccountsOperations",
                map.get("signAccountsOperations"),
            )
            .unwrap_or(false);
        if let Some(access) = self.object("securityOptions.accessControl", map.get("accessControl"))
        {
            self.unknown_keys("securityOptions.accessControl", access, &["scopes"]);
            match access.get("scopes") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let field = format!("securityOptions.accessControl.scopes[{i}]");
                        if let Some(scope) = self.required_text(&field, Some(item), MAX_TEXT) {
                            out.scopes.push(scope);
                        }
                    }
                }
                Some(other) => self.wrong_type(
                    "securityOptions.accessControl.scopes",
                    "an array of strings",
                    other,
                ),
            }
        }
        out
    }

    fn address(&mut self, value: Option<&Value>) -> Option<Address> {
        let map = self.object("address", value)?;
        const KEYS: [&str; 7] = [
            "administrativeAreaLevel1",
            "administrativeAreaLevel2",
            "administrativeAreaLevel3",
            "street",
            "streetNumber",
            "optionalAddress",
            "country",
        ];
        self.unknown_keys("address", map, &KEYS);
        let mut get = |key: &str| self.text(&format!("address.{key}"), map.get(key), MAX_TEXT);
        Some(Address {
            administrative_area_level1: get("administrativeAreaLevel1"),
            administrative_area_level2: get("administrativeAreaLevel2"),
            administrative_area_level3: get("administrativeAreaLevel3"),
            street: get("street"),
            street_number: get("streetNumber"),
            optional_address: get("optionalAddress"),
            country: get("country"),
        })
    }

    fn bank_account(&mut self, value: Option<&Value>) -> Option<BankAccount> {
        let map = self.object("bankAccount", value)?;
        self.unknown_keys(
            "bankAccount",
            map,
            &[
                "accountNumber",
                "bank",
                "currency",
                "nickname",
                "typeAccount",
                "accountHolder",
                "accountHolderDni",
                "country",
                "externalId",
            ],
        );
        let account_number = self.required_text(
            "bankAccount.accountNumber",
            map.get("accountNumber"),
            MAX_TEXT,
        );
        let bank = self.required_text("bankAccount.bank", map.get("bank"), MAX_TEXT);
        let currency = self
            .required_text("bankAccount.currency", map.get("currency"), MAX_TEXT)
            .and_then(|c| {
                let upper = c.to_ascii_uppercase();
                if padron_domain::is_currency(&upper) {
                    Some(upper)
                } else {
                    self.error(
                        "bankAccount.currency",
                        "invalidCurrency",
                        "bankAccount.currency must be an ISO 4217 code",
                    );
                    None
                }
            });
        let mut get = |key: &str| self.text(&format!("bankAccount.{key}"), map.get(key), MAX_TEXT);
        let account = BankAccount {
            account_number: String::new(),
            bank: String::new(),
            currency: String::new(),
            nickname: get("nickname"),
            type_account: get("typeAccount"),
            account_holder: get("accountHolder"),
            account_holder_dni: get("accountHolderDni"),
            country: get("country"),
            external_id: get("externalId"),
        };
        Some(BankAccount {
            account_number: account_number?,
            bank: bank?,
            currency: currency?,
            ..account
        })
    }

    fn children(&mut self, value: Option<&Value>) -> Option<Vec<IdentityId>> {
        let items = match value {
            None => return None,
            Some(Value::Null) => return Some(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.wrong_type("children", "an array", other);
                return None;
            }
        };
        Some(self.id_list("children", items))
    }

    /// Ids given as strings or as objects with an `id` (other keys ignored).
    fn id_list(&mut self, field: &str, items: &[Value]) -> Vec<IdentityId> {
        if items.len() > MAX_CHILDREN {
            self.error(
                field,
                "tooMany",
                format!("{field} may name at most {MAX_CHILDREN} identities"),
            );
            return Vec::new();
        }
        let mut ids = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let raw = match item {
                Value::String(s) => Some(s.as_str()),
                Value::Object(map) => map.get("id").and_then(Value::as_str),
                _ => None,
            };
            match raw.and_then(|r| IdentityId::parse(r.trim())) {
                Some(id) => ids.push(id),
                None => self.error(
                    &format!("{field}[{i}]"),
                    "invalidId",
                    format!("{field}[{i}] must be an identity id (24 hex characters) or an object with one"),
                ),
            }
        }
        ids
    }
}

/// A country as the API takes it: an ISO 3166-1 alpha-3 code in upper case (spec §6.1). The
/// domain parser also accepts lower case, which the command line keeps for people typing; the
/// wire contract does not, so `chl` is refused here with `invalidFormat` (code 11).
pub fn parse_country(raw: &str) -> Result<Country, Issue> {
    let raw = raw.trim();
    let country = Country::parse(raw)?;
    if raw != country.alpha3() {
        return Err(Issue::new(
            "invalidFormat",
            "country must be an upper-case ISO 3166-1 alpha-3 code (e.g. CHL)",
        ));
    }
    Ok(country)
}

/// Parses ids given as a JSON array body (children, removals).
pub fn parse_id_list(field: &str, items: &[Value]) -> Result<Vec<IdentityId>, Vec<FieldError>> {
    let mut reader = Reader {
        level: ValidationLevel::Structural,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let ids = reader.id_list(field, items);
    if reader.errors.is_empty() {
        Ok(ids)
    } else {
        Err(reader.errors)
    }
}

/// Turns a create body into a draft.
pub fn parse_create(
    body: &Map<String, Value>,
    level: ValidationLevel,
) -> Result<Draft, Vec<FieldError>> {
    let mut r = Reader {
        level,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let mut known: Vec<&str> = WRITABLE.to_vec();
    known.push("type");
    r.unknown_keys("", body, &known);
    for key in ["id", "createdAt", "updatedAt", "version"] {
        if body.contains_key(key) {
            // Listed by unknown_keys already; this says why more precisely.
            r.warnings.retain(|w| w.field != key);
            r.warnings.push(FieldError::new(
                key,
                "readOnly",
                format!("{key} is set by the server and was ignored"),
            ));
        }
    }
    let kind = match body.get("type") {
        None | Some(Value::Null) => {
            r.errors.push(FieldError::missing("type"));
            None
        }
        Some(Value::String(s)) => {
            let kind = IdentityKind::parse(s.trim());
            if kind.is_none() {
                r.error("type", "invalidValue", "type must be USER or ORGANIZATION");
            }
            kind
        }
        Some(other) => {
            r.wrong_type("type", "a string", other);
            None
        }
    };
    let status = match read_status(&mut r, body.get("status")) {
        Some(Status::Blocked) => {
            r.error(
                "status",
                "invalidValue",
                "status BLOCKED is not allowed at creation",
            );
            None
        }
        other => Some(other.unwrap_or(Status::Active)),
    };
    let fields = read_fields(&mut r, body, kind, None);
    let children = r.children(body.get("children"));
    finish(r, kind, fields, status, children)
}

/// Turns a merge-patched identity into a draft. `merged` is the current identity in request
/// shape with the patch applied; `touched` names the top-level keys the patch set. Untouched
/// fields keep their stored values, unless a field they depend on changed (a new country
/// re-validates phone and document).
pub fn parse_patch(
    merged: &Map<String, Value>,
    patch: &Map<String, Value>,
    current: &Identity,
    level: ValidationLevel,
) -> Result<Draft, Vec<FieldError>> {
    let mut r = Reader {
        level,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let mut known: Vec<&str> = WRITABLE.to_vec();
    known.extend(READ_ONLY);
    r.unknown_keys("", patch, &known);
    let touched: HashSet<&str> = patch.keys().map(String::as_str).collect();
    let status = if touched.contains("status") {
        match merged.get("status") {
            None | Some(Value::Null) => {
                r.errors.push(FieldError::missing("status"));
                None
            }
            // An empty status clears a required field, like null.
            Some(Value::String(s)) if s.trim().is_empty() => {
                r.errors.push(FieldError::missing("status"));
                None
            }
            value => read_status(&mut r, value),
        }
    } else {
        Some(current.fields.status)
    };
    // `twoFactorEnabled` is an alias: sent alone in a patch, it replaces the stored
    // `twoFactorAuth` instead of contradicting it.
    let alias_only = patch
        .get("securityOptions")
        .and_then(Value::as_object)
        .is_some_and(|p| p.contains_key("twoFactorEnabled") && !p.contains_key("twoFactorAuth"));
    let mut merged = merged.clone();
    if alias_only && let Some(Value::Object(security)) = merged.get_mut("securityOptions") {
        security.remove("twoFactorAuth");
    }
    let fields = read_fields(
        &mut r,
        &merged,
        Some(current.kind),
        Some((&current.fields, &touched)),
    );
    let children = if touched.contains("children") {
        r.children(patch.get("children"))
    } else {
        None
    };
    finish(r, Some(current.kind), fields, status, children)
}

fn read_status(r: &mut Reader, value: Option<&Value>) -> Option<Status> {
    let raw = r.text("status", value, MAX_TEXT)?;
    let status = Status::parse(&raw);
    if status.is_none() {
        r.error(
            "status",
            "invalidValue",
            "status must be one of PENDING, PENDING_EMAIL_VALIDATION, PENDING_PHONE_VALIDATION, SCREENING, ACTIVE, BLOCKED",
        );
    }
    status
}

/// Everything but `status` and `children`, which differ between create and patch.
struct PartialFields {
    name: Option<String>,
    lastname: Option<String>,
    nickname: Option<String>,
    gender: Option<String>,
    external_id: Option<String>,
    idv: Option<String>,
    email: Option<EmailAddress>,
    phone: Option<PhoneNumber>,
    country: Option<Country>,
    document_type: Option<DocumentType>,
    document_number: Option<DocumentNumber>,
    security: SecurityOptions,
    address: Option<Address>,
    bank_account: Option<BankAccount>,
    rules: Option<String>,
    kyc: Option<String>,
    watch_list: Option<String>,
    extended_data: Option<String>,
}

fn read_fields(
    r: &mut Reader,
    body: &Map<String, Value>,
    kind: Option<IdentityKind>,
    current: Option<(&IdentityFields, &HashSet<&str>)>,
) -> PartialFields {
    // With no current identity every field is read; otherwise only touched ones (and those
    // that depend on a touched one).
    let touched = |key: &str| current.is_none_or(|(_, t)| t.contains(key));
    let old = current.map(|(f, _)| f);
    macro_rules! keep_or {
        ($key:literal, $field:ident, $read:expr) => {
            match old {
                Some(f) if !touched($key) => f.$field.clone(),
                _ => $read,
            }
        };
    }
    let name = match old {
        Some(f) if !touched("name") => Some(f.name.clone()),
        _ => r.required_text("name", body.get("name"), MAX_TEXT),
    };
    let lastname = keep_or!(
        "lastname",
        lastname,
        r.text("lastname", body.get("lastname"), MAX_TEXT)
    );
    let nickname = keep_or!(
        "nickname",
        nickname,
        r.text("nickname", body.get("nickname"), MAX_TEXT)
    );
    let gender = keep_or!(
        "gender",
        gender,
        r.text("gender", body.get("gender"), MAX_TEXT)
    );
    let external_id = keep_or!(
        "externalId",
        external_id,
        r.text("externalId", body.get("externalId"), MAX_TEXT)
    );
    let idv = keep_or!("idv", idv, r.text("idv", body.get("idv"), MAX_TEXT));

    let country_changed = touched("country");
    let country = match old {
        Some(f) if !country_changed => Some(f.country),
        _ => r
            .required_text("country", body.get("country"), MAX_TEXT)
            .and_then(|raw| {
                let parsed = parse_country(&raw);
                if let Err(issue) = &parsed {
                    r.error("country", issue.code, issue.detail.clone());
                }
                parsed.ok()
            }),
    };
    let type_changed = country_changed || touched("documentType");
    let document_type = match old {
        Some(f) if !type_changed => Some(f.document_type),
        _ => r
            .required_text("documentType", body.get("documentType"), MAX_TEXT)
            .and_then(|raw| {
                let parsed = DocumentType::parse(&raw);
                if parsed.is_none() {
                    r.error(
                        "documentType",
                        "unknownDocumentType",
                        "not a known document type",
                    );
                }
                parsed
            }),
    };
    if type_changed
        && let (Some(country), Some(kind), Some(t)) = (country, kind, document_type)
        && let Err(issue) = check_document_type(country, kind, t)
    {
        r.error("documentType", issue.code, issue.detail.clone());
    }
    let document_number = match old {
        Some(f) if !type_changed && !touched("documentNumber") => Some(f.document_number.clone()),
        _ => {
            let raw = r.required_text("documentNumber", body.get("documentNumber"), MAX_TEXT);
            let number = match (raw, country, document_type) {
                (Some(raw), Some(c), Some(t)) => {
                    r.checked("documentNumber", DocumentNumber::parse(c, t, &raw))
                }
                _ => None,
            };
            rfc_length_fits_kind(r, kind, document_type, number)
        }
    };
    let email = keep_or!(
        "email",
        email,
        r.text("email", body.get("email"), 254)
            .and_then(|raw| r.checked("email", EmailAddress::parse(&raw)))
    );
    let phone = match old {
        Some(f) if !country_changed && !touched("phone") => f.phone.clone(),
        _ => match (r.text("phone", body.get("phone"), MAX_TEXT), country) {
            (Some(raw), Some(c)) => r.checked("phone", PhoneNumber::parse(&raw, c)),
            _ => None,
        },
    };
    let security = keep_or!(
        "securityOptions",
        security,
        r.security(body.get("securityOptions"))
    );
    let address = keep_or!("address", address, r.address(body.get("address")));
    let bank_account = keep_or!(
        "bankAccount",
        bank_account,
        r.bank_account(body.get("bankAccount"))
    );
    let rules = keep_or!(
        "rules",
        rules,
        r.free_json("rules", body.get("rules"), false)
    );
    let kyc = keep_or!("kyc", kyc, r.free_json("kyc", body.get("kyc"), false));
    let watch_list = keep_or!(
        "watchList",
        watch_list,
        r.free_json("watchList", body.get("watchList"), false)
    );
    let extended_data = keep_or!(
        "extendedData",
        extended_data,
        r.free_json("extendedData", body.get("extendedData"), true)
    );
    PartialFields {
        name,
        lastname,
        nickname,
        gender,
        external_id,
        idv,
        email,
        phone,
        country,
        document_type,
        document_number,
        security,
        address,
        bank_account,
        rules,
        kyc,
        watch_list,
        extended_data,
    }
}

/// Mexico's RFC is 13 characters for a person and 12 for a company (spec §6.2); the domain
/// check accepts both lengths because only here is the identity type known.
fn rfc_length_fits_kind(
    r: &mut Reader,
    kind: Option<IdentityKind>,
    document_type: Option<DocumentType>,
    number: Option<DocumentNumber>,
) -> Option<DocumentNumber> {
    let number = number?;
    if document_type != Some(DocumentType::Rfc) {
        return Some(number);
    }
    let (expected, who) = match kind {
        Some(IdentityKind::User) => (13, "a person"),
        Some(IdentityKind::Organization) => (12, "a company"),
        None => return Some(number),
    };
    if number.as_str().chars().count() == expected {
        Some(number)
    } else {
        r.error(
            "documentNumber",
            "invalidFormat",
            format!("the RFC of {who} has {expected} characters"),
        );
        None
    }
}

fn finish(
    r: Reader,
    kind: Option<IdentityKind>,
    f: PartialFields,
    status: Option<Status>,
    children: Option<Vec<IdentityId>>,
) -> Result<Draft, Vec<FieldError>> {
    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    let (
        Some(kind),
        Some(name),
        Some(country),
        Some(document_type),
        Some(document_number),
        Some(status),
    ) = (
        kind,
        f.name.clone(),
        f.country,
        f.document_type,
        f.document_number.clone(),
        status,
    )
    else {
        // Every reader records an error when it yields nothing for a required field; should one
        // not, the client still learns which field is missing.
        let missing: Vec<FieldError> = [
            ("type", kind.is_none()),
            ("name", f.name.is_none()),
            ("country", f.country.is_none()),
            ("documentType", f.document_type.is_none()),
            ("documentNumber", f.document_number.is_none()),
            ("status", status.is_none()),
        ]
        .into_iter()
        .filter(|(_, absent)| *absent)
        .map(|(field, _)| FieldError::missing(field))
        .collect();
        tracing::warn!(fields = ?missing.iter().map(|m| &m.field).collect::<Vec<_>>(), "required field read without an error");
        return Err(missing);
    };
    Ok(Draft {
        kind,
        fields: IdentityFields {
            name,
            lastname: f.lastname,
            nickname: f.nickname,
            gender: f.gender,
            external_id: f.external_id,
            idv: f.idv,
            email: f.email,
            phone: f.phone,
            country,
            document_type,
            document_number,
            status,
            security: f.security,
            address: f.address,
            bank_account: f.bank_account,
            rules: f.rules,
            kyc: f.kyc,
            watch_list: f.watch_list,
            extended_data: f.extended_data,
        },
        children,
        warnings: r.warnings,
    })
}

/// RFC 7396 JSON merge patch of `patch` onto `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_map) = target {
        for (key, value) in patch_map {
            if value.is_null() {
                target_map.remove(key);
            } else {
                merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

/// An optional string that renders as `null` (version 2) or `""` (version 1).
struct OptStr<'a> {
    value: Option<&'a str>,
    legacy: bool,
}

impl Serialize for OptStr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.value, self.legacy) {
            (Some(v), _) => s.serialize_str(v),
            (None, true) => s.serialize_str(""),
            (None, false) => s.serialize_none(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecurityOut<'a> {
    two_factor_auth: bool,
    sign_trx: bool,
    sign_accounts_operations: bool,
    access_control: AccessControlOut<'a>,
}

#[derive(Serialize)]
struct AccessControlOut<'a> {
    scopes: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AddressOut<'a> {
    administrative_area_level1: OptStr<'a>,
    administrative_area_level2: OptStr<'a>,
    administrative_area_level3: OptStr<'a>,
    street: OptStr<'a>,
    street_number: OptStr<'a>,
    optional_address: OptStr<'a>,
    country: OptStr<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BankAccountOut<'a> {
    account_number: &'a str,
    bank: &'a str,
    currency: &'a str,
    nickname: OptStr<'a>,
    type_account: OptStr<'a>,
    account_holder: OptStr<'a>,
    account_holder_dni: OptStr<'a>,
    country: OptStr<'a>,
    external_id: OptStr<'a>,
}

#[derive(Serialize)]
struct ChildOut<'a> {
    id: String,
    name: &'a str,
    email: OptStr<'a>,
}

/// The version 1 extras, always unset in Padron.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LegacyExtras {
    nationality: &'static str,
    dni: &'static str,
    user_external_id: &'static str,
    career: &'static str,
    birth_date: &'static str,
    account_holder_id: &'static str,
    account_conduit_id: &'static str,
    contract: Option<()>,
    contract_id: &'static str,
    rules_id: &'static str,
    image: &'static str,
    device_token: &'static str,
    loggin_attempts: u32,
    email_status: &'static str,
    metadata: Option<()>,
}

const LEGACY: LegacyExtras = LegacyExtras {
    nationality: "",
    dni: "",
    user_external_id: "",
    career: "",
    birth_date: "",
    account_holder_id: "",
    account_conduit_id: "",
    contract: None,
    contract_id: "",
    rules_id: "",
    image: "",
    device_token: "",
    loggin_attempts: 0,
    email_status: "",
    metadata: None,
};

/// An identity as the API shows it, in either version.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityOut<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    lastname: OptStr<'a>,
    nickname: OptStr<'a>,
    gender: OptStr<'a>,
    email: OptStr<'a>,
    phone: OptStr<'a>,
    country: &'static str,
    document_type: &'static str,
    document_number: &'a str,
    external_id: OptStr<'a>,
    idv: OptStr<'a>,
    status: &'static str,
    security_options: SecurityOut<'a>,
    address: Option<AddressOut<'a>>,
    bank_account: Option<BankAccountOut<'a>>,
    rules: Option<&'a RawValue>,
    kyc: Option<&'a RawValue>,
    watch_list: Option<&'a RawValue>,
    extended_data: Option<&'a RawValue>,
    children: Option<Vec<ChildOut<'a>>>,
    created_at: String,
    updated_at: String,
    version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    warnings: Option<&'a [FieldError]>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    legacy: Option<LegacyExtras>,
}

/// RFC 3339 UTC of a Unix-microsecond time.
pub fn timestamp(micros: i64) -> String {
    let nanos = i128::from(micros) * 1000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn raw(text: &Option<String>) -> Option<&RawValue> {
    text.as_deref().and_then(|t| serde_json::from_str(t).ok())
}

impl<'a> IdentityOut<'a> {
    /// Renders an identity; `warnings` only for create and update answers.
    pub fn new(
        identity: &'a Identity,
        version: ApiVersion,
        warnings: Option<&'a [FieldError]>,
    ) -> Self {
        let legacy = version == ApiVersion::V1;
        let opt = |value: &'a Option<String>| OptStr {
            value: value.as_deref(),
            legacy,
        };
        let f = &identity.fields;
        let children: Vec<ChildOut<'a>> = identity
            .children
            .iter()
            .map(|c| ChildOut {
                id: c.id.to_hex(),
                name: &c.name,
                email: OptStr {
                    value: c.email.as_ref().map(EmailAddress::as_str),
                    legacy,
                },
            })
            .collect();
        IdentityOut {
            id: identity.id.to_hex(),
            kind: identity.kind.as_str(),
            name: &f.name,
            lastname: opt(&f.lastname),
            nickname: opt(&f.nickname),
            gender: opt(&f.gender),
            email: OptStr {
                value: f.email.as_ref().map(EmailAddress::as_str),
                legacy,
            },
            phone: OptStr {
                value: f.phone.as_ref().map(PhoneNumber::as_str),
                legacy,
            },
            country: f.country.alpha3(),
            document_type: f.document_type.as_str(),
            document_number: f.document_number.as_str(),
            external_id: opt(&f.external_id),
            idv: opt(&f.idv),
            status: f.status.as_str(),
            security_options: SecurityOut {
                two_factor_auth: f.security.two_factor_auth,
                sign_trx: f.security.sign_trx,
                sign_accounts_operations: f.security.sign_accounts_operations,
                access_control: AccessControlOut {
                    scopes: &f.security.scopes,
                },
            },
            address: f.address.as_ref().map(|a| AddressOut {
                administrative_area_level1: opt(&a.administrative_area_level1),
                administrative_area_level2: opt(&a.administrative_area_level2),
                administrative_area_level3: opt(&a.administrative_area_level3),
                street: opt(&a.street),
                street_number: opt(&a.street_number),
                optional_address: opt(&a.optional_address),
                country: opt(&a.country),
            }),
            bank_account: f.bank_account.as_ref().map(|b| BankAccountOut {
                account_number: &b.account_number,
                bank: &b.bank,
                currency: &b.currency,
                nickname: opt(&b.nickname),
                type_account: opt(&b.type_account),
                account_holder: opt(&b.account_holder),
                account_holder_dni: opt(&b.account_holder_dni),
                country: opt(&b.country),
                external_id: opt(&b.external_id),
            }),
            rules: raw(&f.rules),
            kyc: raw(&f.kyc),
            watch_list: raw(&f.watch_list),
            extended_data: raw(&f.extended_data),
            children: if legacy && children.is_empty() {
                None
            } else {
                Some(children)
            },
            created_at: timestamp(identity.created_at),
            updated_at: timestamp(identity.updated_at),
            version: identity.version,
            warnings,
            legacy: legacy.then_some(LEGACY),
        }
    }
}

/// The current identity in request shape (version 2, without server fields and children), the
/// base a merge patch applies to.
pub fn patch_base(identity: &Identity) -> Value {
    let mut value = serde_json::to_value(IdentityOut::new(identity, ApiVersion::V2, None))
        .unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        for key in [
            "id",
            "type",
            "createdAt",
            "updatedAt",
            "version",
            "children",
        ] {
            map.remove(key);
        }
        // Unset values are absent in a merge-patch document, not null.
        map.retain(|_, v| !v.is_null());
    }
    value
}
