//! The OpenAPI 3.1 document of the API, served at `/openapi.json` and browsable at `/docs`.
//!
//! Requests are read field by field from JSON (to collect every error at once), so their
//! schemas are described by the types below; responses are checked against these schemas by
//! schemathesis in CI (`.ci/run`), and a snapshot test keeps the document under review.
//! Every operation exists twice: at `/…` (production) and `/sandbox/…`.

#![allow(dead_code)] // The types here exist for their schemas.

use serde_json::Value;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Required, Type};
use utoipa::{Modify, OpenApi, ToSchema};

/// USER or ORGANIZATION.
#[derive(ToSchema)]
pub enum IdentityType {
    /// A natural person.
    #[schema(rename = "USER")]
    User,
    /// A company.
    #[schema(rename = "ORGANIZATION")]
    Organization,
}

/// Onboarding status (spec §6.7).
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IdentityStatus {
    /// Created, nothing verified.
    Pending,
    /// Waiting for the email.
    PendingEmailValidation,
    /// Waiting for the phone.
    PendingPhoneValidation,
    /// Under screening.
    Screening,
    /// Onboarded.
    Active,
    /// Not allowed to operate (not at creation).
    Blocked,
}

/// Access control of an identity.
#[derive(ToSchema)]
pub struct AccessControl {
    /// Scope names.
    pub scopes: Option<Vec<String>>,
}

/// Security settings (request form: `twoFactorEnabled` is an alias of `twoFactorAuth`).
#[derive(ToSchema)]
#[schema(as = SecurityOptionsInput)]
pub struct SecurityOptionsIn {
    #[schema(rename = "twoFactorAuth")]
    pub two_factor_auth: Option<bool>,
    /// Alias of `twoFactorAuth`.
    #[schema(rename = "twoFactorEnabled")]
    pub two_factor_enabled: Option<bool>,
    #[schema(rename = "signTrx")]
    pub sign_trx: Option<bool>,
    #[schema(rename = "signAccountsOperations")]
    pub sign_accounts_operations: Option<bool>,
    #[schema(rename = "accessControl")]
    pub access_control: Option<AccessControl>,
}

/// Security settings as answered.
#[derive(ToSchema)]
pub struct SecurityOptions {
    #[schema(rename = "twoFactorAuth")]
    pub two_factor_auth: bool,
    #[schema(rename = "signTrx")]
    pub sign_trx: bool,
    #[schema(rename = "signAccountsOperations")]
    pub sign_accounts_operations: bool,
    #[schema(rename = "accessControl")]
    pub access_control: AccessControl,
}

/// A postal address; every part optional, each at most 200 characters.
#[derive(ToSchema)]
pub struct Address {
    #[schema(rename = "administrativeAreaLevel1", max_length = 200)]
    pub l1: Option<String>,
    #[schema(rename = "administrativeAreaLevel2", max_length = 200)]
    pub l2: Option<String>,
    #[schema(rename = "administrativeAreaLevel3", max_length = 200)]
    pub l3: Option<String>,
    #[schema(max_length = 200)]
    pub street: Option<String>,
    #[schema(rename = "streetNumber", max_length = 200)]
    pub street_number: Option<String>,
    #[schema(rename = "optionalAddress", max_length = 200)]
    pub optional_address: Option<String>,
    #[schema(max_length = 200)]
    pub country: Option<String>,
}

/// A bank account.
#[derive(ToSchema)]
pub struct BankAccount {
    #[schema(rename = "accountNumber", min_length = 1, max_length = 200)]
    pub account_number: String,
    #[schema(min_length = 1, max_length = 200)]
    pub bank: String,
    /// ISO 4217 code of a currency in use (any case on input, upper case answered).
    #[schema(pattern = "^[A-Za-z]{3}$", example = "CLP")]
    pub currency: String,
    #[schema(max_length = 200)]
    pub nickname: Option<String>,
    #[schema(rename = "typeAccount", max_length = 200)]
    pub type_account: Option<String>,
    #[schema(rename = "accountHolder", max_length = 200)]
    pub account_holder: Option<String>,
    #[schema(rename = "accountHolderDni", max_length = 200)]
    pub account_holder_dni: Option<String>,
    #[schema(max_length = 200)]
    pub country: Option<String>,
    #[schema(rename = "externalId", max_length = 200)]
    pub external_id: Option<String>,
}

/// The body of `POST /identities`. Unknown fields are ignored and reported in `warnings`.
#[derive(ToSchema)]
#[schema(example = json!({"type": "USER", "name": "Service Provider 1", "email": "serviceprovider1@example.com",
    "phone": "+56961234567", "country": "CHL", "documentType": "RUT", "documentNumber": "17604011-4"}))]
pub struct IdentityCreate {
    #[schema(rename = "type")]
    pub kind: IdentityType,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 200)]
    pub lastname: Option<String>,
    #[schema(max_length = 200)]
    pub nickname: Option<String>,
    #[schema(max_length = 200)]
    pub gender: Option<String>,
    #[schema(rename = "externalId", max_length = 200)]
    pub external_id: Option<String>,
    #[schema(max_length = 200)]
    pub idv: Option<String>,
    /// RFC 5322 addr-spec as SMTP accepts it (spec §6.2).
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// `+`, the country's calling code and the number; spaces, dashes, dots and parentheses
    /// are ignored.
    #[schema(
        pattern = r"^\s*\+[0-9 ().-]+$",
        max_length = 200,
        example = "+56961234567"
    )]
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-3, upper case (`chl` is refused).
    #[schema(pattern = "^[A-Z]{3}$", example = "CHL")]
    pub country: String,
    /// A type of the country (`GET /document-types`) or PASSPORT.
    #[schema(
        rename = "documentType",
        min_length = 1,
        max_length = 200,
        example = "RUT"
    )]
    pub document_type: String,
    #[schema(
        rename = "documentNumber",
        min_length = 1,
        max_length = 200,
        example = "17604011-4"
    )]
    pub document_number: String,
    /// Default ACTIVE; BLOCKED is refused at creation.
    pub status: Option<IdentityStatus>,
    #[schema(rename = "securityOptions")]
    pub security_options: Option<SecurityOptionsIn>,
    pub address: Option<Address>,
    #[schema(rename = "bankAccount")]
    pub bank_account: Option<BankAccount>,
    /// Free JSON object, at most 16 KiB.
    pub rules: Option<Object>,
    /// Free JSON object, at most 16 KiB.
    pub kyc: Option<Object>,
    /// Free JSON object, at most 16 KiB.
    #[schema(rename = "watchList")]
    pub watch_list: Option<Object>,
    /// Free JSON array, at most 16 KiB.
    #[schema(rename = "extendedData")]
    pub extended_data: Option<Vec<Value>>,
    /// Ids (or objects with an `id`) of identities to link as children; at most 1,000.
    #[schema(max_items = 1000)]
    pub children: Option<Vec<ChildRef>>,
}

/// A JSON object.
#[derive(ToSchema)]
#[schema(value_type = Object)]
pub struct Object(Value);

/// An identity id, or an object holding one (other keys are ignored).
#[derive(ToSchema)]
#[schema(value_type = String, pattern = "^[0-9a-fA-F]{24}$")]
pub struct ChildRef(String);

/// The body of `PATCH /identities/{id}`: a JSON merge patch (RFC 7396) of the identity.
/// `null` clears an optional field; `children` replaces the set of children; `id`, `type`,
/// `createdAt`, `updatedAt` and `version` may only be sent with their current value.
#[derive(ToSchema)]
pub struct IdentityPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 200)]
    pub lastname: Option<String>,
    #[schema(max_length = 200)]
    pub nickname: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[schema(pattern = r"^\s*\+[0-9 ().-]+$", max_length = 200)]
    pub phone: Option<String>,
    #[schema(pattern = "^[A-Z]{3}$")]
    pub country: Option<String>,
    #[schema(rename = "documentType", min_length = 1, max_length = 200)]
    pub document_type: Option<String>,
    #[schema(rename = "documentNumber", min_length = 1, max_length = 200)]
    pub document_number: Option<String>,
    pub status: Option<IdentityStatus>,
    #[schema(rename = "securityOptions")]
    pub security_options: Option<SecurityOptionsIn>,
    pub address: Option<Address>,
    #[schema(rename = "bankAccount")]
    pub bank_account: Option<BankAccount>,
    pub rules: Option<Object>,
    #[schema(max_items = 1000)]
    pub children: Option<Vec<ChildRef>>,
}

/// A child as its parent shows it (name and email come from the child).
#[derive(ToSchema)]
pub struct Child {
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub id: String,
    pub name: String,
    pub email: Option<String>,
}

/// One problem with one field.
#[derive(ToSchema)]
pub struct FieldProblem {
    /// JSON path of the field.
    pub field: String,
    /// Stable camelCase code.
    pub code: String,
    pub detail: String,
}

/// An identity. Version 2 (`conomyhq-api-version: 24-04-2025`) shows unset optional values as
/// `null` and `children` as `[]` when empty; version 1 (no header) shows unset strings as `""`,
/// `children` as `null` when empty, and adds the legacy fields (`nationality`, `dni`, …).
#[derive(ToSchema)]
pub struct Identity {
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub id: String,
    #[schema(rename = "type")]
    pub kind: IdentityType,
    pub name: String,
    pub lastname: Option<String>,
    pub nickname: Option<String>,
    pub gender: Option<String>,
    pub email: Option<String>,
    /// E.164 when valid for the country, else `+` and digits.
    pub phone: Option<String>,
    #[schema(pattern = "^[A-Z]{3}$")]
    pub country: String,
    #[schema(rename = "documentType")]
    pub document_type: String,
    /// Canonical form.
    #[schema(rename = "documentNumber")]
    pub document_number: String,
    #[schema(rename = "externalId")]
    pub external_id: Option<String>,
    pub idv: Option<String>,
    pub status: IdentityStatus,
    #[schema(rename = "securityOptions")]
    pub security_options: SecurityOptions,
    pub address: Option<Address>,
    #[schema(rename = "bankAccount")]
    pub bank_account: Option<BankAccount>,
    pub rules: Option<Object>,
    pub kyc: Option<Object>,
    #[schema(rename = "watchList")]
    pub watch_list: Option<Object>,
    #[schema(rename = "extendedData")]
    pub extended_data: Option<Vec<Value>>,
    pub children: Option<Vec<Child>>,
    #[schema(rename = "createdAt", format = DateTime)]
    pub created_at: String,
    #[schema(rename = "updatedAt", format = DateTime)]
    pub updated_at: String,
    /// 1 at creation, +1 on every change; also the `ETag`.
    #[schema(minimum = 1)]
    pub version: i64,
    /// Only in create and update answers: checks that did not block the request.
    pub warnings: Option<Vec<FieldProblem>>,
}

/// Page information.
#[derive(ToSchema)]
pub struct Pagination {
    #[schema(minimum = 1, maximum = 100)]
    pub limit: u32,
    #[schema(minimum = 0, maximum = 100)]
    pub count: u32,
    /// Cursor of the next page; `null` on the last page.
    pub next: Option<String>,
}

/// A page of identities.
#[derive(ToSchema)]
pub struct IdentityPage {
    pub data: Vec<Identity>,
    pub pagination: Pagination,
}

/// The error envelope of every non-2xx answer (spec §4).
#[derive(ToSchema)]
pub struct Error {
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// Two-digit code: 01, 11, 12, 13, 14, 21, 31, 32, 41, 42, 43.
    #[schema(pattern = "^[0-9]{2}$")]
    pub code: String,
    #[schema(rename = "type")]
    pub kind: String,
    pub detail: String,
    /// Equals the `x-request-id` response header.
    #[schema(rename = "traceId")]
    pub trace_id: String,
    pub errors: Vec<FieldProblem>,
}

/// The body of `POST /auth`.
#[derive(ToSchema)]
pub struct TokenRequest {
    #[schema(rename = "clientId")]
    pub client_id: String,
    #[schema(rename = "clientSecret")]
    pub client_secret: String,
}

/// A bearer token.
#[derive(ToSchema)]
pub struct Token {
    #[schema(rename = "accessToken")]
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(rename = "tokenType")]
    pub token_type: String,
    /// Seconds; always 3600.
    #[schema(rename = "expiresIn")]
    pub expires_in: i64,
}

/// A scope an identity holds over another identity.
#[derive(ToSchema)]
pub struct Scope {
    /// `IDENTITY`.
    #[schema(example = "IDENTITY")]
    pub resource: String,
    /// The identity acted for (same client and environment).
    #[schema(pattern = "^[0-9a-fA-F]{24}$")]
    pub reference: String,
    #[schema(min_items = 1)]
    pub permissions: Vec<String>,
}

/// `{}`.
#[derive(ToSchema)]
pub struct Empty {}

/// One accepted document type of a country.
#[derive(ToSchema)]
pub struct DocumentTypeEntry {
    #[schema(rename = "documentType")]
    pub document_type: String,
    /// `USER`, `ORGANIZATION`.
    #[schema(rename = "identityTypes")]
    pub identity_types: Vec<String>,
    pub format: String,
    #[schema(rename = "canonicalFormat")]
    pub canonical_format: String,
    pub example: String,
    pub description: String,
}

/// The document types of one country.
#[derive(ToSchema)]
pub struct CountryDocumentTypes {
    pub country: String,
    #[schema(rename = "documentTypes")]
    pub document_types: Vec<DocumentTypeEntry>,
}

/// The answer of `GET /document-types`.
#[derive(ToSchema)]
pub struct DocumentTypes {
    pub data: Vec<CountryDocumentTypes>,
}

/// Readiness and liveness answer.
#[derive(ToSchema)]
pub struct Health {
    pub status: String,
    pub database: Option<String>,
}

const ID: &str = "Identity id (24 hex characters)";

#[utoipa::path(post, path = "/auth", tag = "auth", request_body = TokenRequest,
    security(("apiKey" = [])),
    responses((status = 200, description = "A token valid for one hour", body = Token)))]
fn auth() {}

#[utoipa::path(post, path = "/identities", tag = "identities", request_body = IdentityCreate,
    responses((status = 201, description = "Created", body = Identity)))]
fn create_identity() {}

#[utoipa::path(get, path = "/identities", tag = "identities",
    params(
        ("type" = Option<IdentityType>, Query),
        ("email" = Option<String>, Query, description = "case-insensitive"),
        ("documentNumber" = Option<String>, Query, description = "letters and digits compared, separators and case ignored, leading zeros kept; canonicalised for the type when country and documentType are given"),
        ("phone" = Option<String>, Query),
        ("country" = Option<String>, Query, description = "ISO 3166-1 alpha-3, upper case"),
        ("status" = Option<IdentityStatus>, Query),
        ("externalId" = Option<String>, Query),
        ("parentId" = Option<String>, Query, description = "children of this identity"),
        ("documentType" = Option<String>, Query),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
        ("next" = Option<String>, Query, description = "cursor from the previous page"),
    ),
    responses((status = 200, description = "A page, oldest first", body = IdentityPage)))]
fn list_identities() {}

#[utoipa::path(get, path = "/identities/{id}", tag = "identities", params(("id" = String, Path, description = ID)),
    responses((status = 200, description = "The identity", body = Identity)))]
fn find_identity() {}

#[utoipa::path(patch, path = "/identities/{id}", tag = "identities", params(("id" = String, Path, description = ID)),
    request_body = IdentityPatch,
    responses((status = 200, description = "The identity after the change", body = Identity)))]
fn update_identity() {}

#[utoipa::path(delete, path = "/identities/{id}", tag = "identities", params(("id" = String, Path, description = ID)),
    responses((status = 204, description = "Deleted")))]
fn delete_identity() {}

#[utoipa::path(post, path = "/identities/{id}/children", tag = "children",
    params(("id" = String, Path, description = ID)), request_body = Vec<ChildRef>,
    responses((status = 200, description = "The parent", body = Identity)))]
fn add_children() {}

#[utoipa::path(delete, path = "/identities/{id}/children", tag = "children",
    params(("id" = String, Path, description = ID)), request_body = Vec<ChildRef>,
    responses((status = 200, description = "The parent", body = Identity)))]
fn remove_children() {}

#[utoipa::path(post, path = "/identities/{id}/rules", tag = "rules",
    params(("id" = String, Path, description = ID)), request_body = Object,
    responses((status = 200, description = "The identity", body = Identity)))]
fn add_rules() {}

#[utoipa::path(delete, path = "/identities/{id}/rules", tag = "rules",
    params(("id" = String, Path, description = ID)),
    request_body(content = Vec<String>, description = "Rule keys to remove; no body removes every rule"),
    responses((status = 200, description = "The identity", body = Identity)))]
fn remove_rules() {}

#[utoipa::path(get, path = "/identities/{id}/permissions", tag = "permissions",
    params(("id" = String, Path, description = ID)),
    responses((status = 200, description = "The scopes the identity holds", body = Vec<Scope>)))]
fn list_permissions() {}

#[utoipa::path(post, path = "/identities/{id}/permissions", tag = "permissions",
    params(("id" = String, Path, description = ID)), request_body = Vec<Scope>,
    responses((status = 200, description = "Granted", body = Empty)))]
fn grant_permissions() {}

#[utoipa::path(delete, path = "/identities/{id}/permissions/{otherId}", tag = "permissions",
    params(("id" = String, Path, description = ID), ("otherId" = String, Path, description = ID)),
    responses((status = 200, description = "Revoked", body = Empty)))]
fn revoke_permissions() {}

#[utoipa::path(get, path = "/document-types", tag = "document types",
    params(("country" = Option<String>, Query, description = "ISO 3166-1 alpha-3; all countries without it")),
    responses((status = 200, description = "Accepted document types per country", body = DocumentTypes)))]
fn document_types() {}

#[utoipa::path(get, path = "/healthz", tag = "service", security(()),
    responses((status = 200, description = "The process is up", body = Health)))]
fn healthz() {}

#[utoipa::path(get, path = "/readyz", tag = "service", security(()),
    responses((status = 200, description = "The database answers", body = Health)))]
fn readyz() {}

#[utoipa::path(get, path = "/metrics", tag = "service", security(()),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
fn metrics() {}

#[derive(OpenApi)]
#[openapi(
    info(title = "Padron Identities API", version = "24-04-2025",
        description = "Identity registry for fintech platforms, wire-compatible with the ConomyHQ Identities API. \
                       Every operation also exists under `/sandbox`."),
    paths(auth, create_identity, list_identities, find_identity, update_identity, delete_identity,
          add_children, remove_children, add_rules, remove_rules, list_permissions, grant_permissions,
          revoke_permissions, document_types, healthz, readyz, metrics),
    components(schemas(Error, FieldProblem)),
    modifiers(&Conventions),
    security(("apiKey" = [], "bearer" = [])),
)]
struct ApiDoc;

/// Adds what every operation shares: security schemes, the common headers, every error status
/// with the error envelope, and the `/sandbox` copy of each path.
struct Conventions;

/// Statuses any operation may answer besides its own success, with when.
const ERRORS: [(&str, &str); 11] = [
    (
        "400",
        "Invalid or missing parameter (11, 12), unreadable body (14)",
    ),
    ("401", "Missing or invalid credentials (41)"),
    ("404", "Not found, deleted, or another client's (31)"),
    ("405", "Method not allowed (42)"),
    (
        "409",
        "Uniqueness conflict (13), or the same Idempotency-Key still running (21)",
    ),
    ("412", "If-Match does not match the current version (21)"),
    ("413", "Body over 1 MiB (14)"),
    (
        "422",
        "Illegal status change or cycle in children, or Idempotency-Key reused (21)",
    ),
    ("429", "Rate limited (32)"),
    ("500", "Unexpected failure (01)"),
    ("503", "The database is not reachable (01)"),
];

fn header(name: &str, description: &str, schema: ObjectBuilder) -> RefOr<Parameter> {
    RefOr::T(
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(description))
            .schema(Some(schema))
            .build(),
    )
}

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        let error_body = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Error")))
            .build();
        let mut copies = Vec::new();
        for (path, item) in doc.paths.paths.iter_mut() {
            let service = matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics");
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for (status, description) in ERRORS {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| {
                            RefOr::T(
                                ResponseBuilder::new()
                                    .description(description)
                                    .content("application/json", error_body.clone())
                                    .build(),
                            )
                        });
                }
                if service {
                    op.security = Some(vec![SecurityRequirement::default()]);
                    continue;
                }
                let params = op.parameters.get_or_insert_with(Vec::new);
                params.push(header(
                    "conomyhq-api-version",
                    "Absent: version 1 (legacy shape); 24-04-2025: version 2",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(["24-04-2025"])),
                ));
                params.push(header(
                    "x-request-id",
                    "Echoed back; equals the traceId of errors",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .max_length(Some(128)),
                ));
                let writes = op.request_body.is_some()
                    || op
                        .operation_id
                        .as_deref()
                        .is_some_and(|id| id.starts_with("delete"));
                if writes && !path.ends_with("/auth") {
                    params.push(header(
                        "Idempotency-Key",
                        "Retries with the same key get the first answer again (24 h)",
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .min_length(Some(1))
                            .max_length(Some(255)),
                    ));
                    if path.starts_with("/identities/") {
                        params.push(header(
                            "If-Match",
                            "The identity's version (its ETag), quoted or bare; a stale one answers 412",
                            ObjectBuilder::new().schema_type(Type::String),
                        ));
                    }
                }
            }
            if !service {
                let mut copy = item.clone();
                for op in [
                    &mut copy.get,
                    &mut copy.post,
                    &mut copy.patch,
                    &mut copy.delete,
                ]
                .into_iter()
                .flatten()
                {
                    op.operation_id = op.operation_id.as_ref().map(|id| format!("sandbox_{id}"));
                    op.tags = Some(vec!["sandbox".to_owned()]);
                }
                copies.push((format!("/sandbox{path}"), copy));
            }
        }
        for (path, item) in copies {
            doc.paths.paths.insert(path, item);
        }
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
