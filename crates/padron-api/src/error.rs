//! The one error type of the API and the envelope of spec §4. Every non-2xx answer, including
//! the framework's own rejections, leaves through [`ApiError`] and the envelope middleware.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use padron_store::{StoreError, UniqueRule};
use serde::Serialize;

/// One problem with one field of a request (`errors[]` of the envelope, and `warnings[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of the field, e.g. `phone` or `bankAccount.currency`.
    pub field: String,
    /// Stable camelCase code (`required`, `invalidType`, `checkDigit`, …).
    pub code: String,
    /// Human-readable explanation.
    pub detail: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            detail: detail.into(),
        }
    }

    /// `errors[]` entry for a required field that is absent.
    pub fn missing(field: &str) -> Self {
        Self::new(field, "required", format!("{field} is required"))
    }

    /// Whether this error means "absent" rather than "wrong".
    pub fn is_missing(&self) -> bool {
        self.code == "required"
    }
}

/// Everything that can go wrong in a request, with its HTTP status and code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 400 / 11 or 12: fields failed validation (code 12 when every problem is a missing field).
    #[error("invalid request")]
    Fields(Vec<FieldError>),
    /// 400 / 11: a bad parameter outside the body fields.
    #[error("{0}")]
    InvalidParam(String),
    /// 400 / 14: the body is not what the endpoint takes.
    #[error("{0}")]
    Parsing(String),
    /// 413 / 14.
    #[error("request body is larger than the limit")]
    TooLarge,
    /// 409 / 13.
    #[error("{0}")]
    AlreadyExists(String),
    /// 422 / 21: the change is not allowed in the current state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// 412 / 21: `If-Match` does not equal the current version.
    #[error("If-Match does not match the current version {0}")]
    VersionMismatch(i64),
    /// 409 / 21: a conflicting request is still running.
    #[error("{0}")]
    Conflict(String),
    /// 404 / 31.
    #[error("{0}")]
    NotFound(String),
    /// 429 / 32: over the caller's rate limit.
    #[error("{0}")]
    TooManyRequests(String),
    /// 401 / 41: never says which credential was wrong.
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// 405 / 42.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 503 / 01: a dependency (the database) is not reachable.
    #[error("{0}")]
    Unavailable(String),
    /// 500 / 01: the cause is logged once, never sent.
    #[error("internal error")]
    Internal,
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// HTTP status.
    pub status: u16,
    /// Two-digit Padron/ConomyHQ code.
    pub code: &'static str,
    /// Name of the code.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// What went wrong, for people.
    pub detail: String,
    /// The request id (`x-request-id`).
    #[serde(rename = "traceId")]
    pub trace_id: String,
    /// Every field problem found.
    pub errors: Vec<FieldError>,
}

impl ApiError {
    /// HTTP status, code and type of spec §4.
    pub fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Fields(errors)
                if !errors.is_empty() && errors.iter().all(FieldError::is_missing) =>
            {
                (StatusCode::BAD_REQUEST, "12", "missingParam")
            }
            ApiError::Fields(_) | ApiError::InvalidParam(_) => {
                (StatusCode::BAD_REQUEST, "11", "invalidParam")
            }
            ApiError::Parsing(_) => (StatusCode::BAD_REQUEST, "14", "parsingResource"),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "14", "parsingResource"),
            ApiError::AlreadyExists(_) => (StatusCode::CONFLICT, "13", "alreadyExist"),
            ApiError::FailedPrecondition(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "21", "failedPrecondition")
            }
            ApiError::VersionMismatch(_) => {
                (StatusCode::PRECONDITION_FAILED, "21", "failedPrecondition")
            }
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "21", "failedPrecondition"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "31", "notFound"),
            ApiError::TooManyRequests(_) => {
                (StatusCode::TOO_MANY_REQUESTS, "32", "tooManyRequests")
            }
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "41", "unauthorized"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "42", "unimplemented"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "01", "serverError"),
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "01", "serverError"),
        }
    }

    /// The envelope for this error under `trace_id`.
    pub fn body(&self, trace_id: &str) -> ErrorBody {
        let (status, code, kind) = self.parts();
        let (detail, errors) = match self {
            ApiError::Fields(errors) => {
                // "field: what is wrong", without naming the field twice.
                let first = errors
                    .first()
                    .map(|e| {
                        if e.field.is_empty() || e.detail.starts_with(&e.field) {
                            e.detail.clone()
                        } else {
                            format!("{}: {}", e.field, e.detail)
                        }
                    })
                    .unwrap_or_else(|| "invalid request".to_owned());
                let detail = match errors.len() {
                    0 | 1 => first,
                    n => format!("{first} (and {} more)", n - 1),
                };
                (detail, errors.clone())
            }
            other => (other.to_string(), Vec::new()),
        };
        ErrorBody {
            status: status.as_u16(),
            code,
            kind,
            detail,
            trace_id: trace_id.to_owned(),
            errors,
        }
    }

    /// A single field error.
    pub fn field(field: &str, code: &str, detail: impl Into<String>) -> Self {
        ApiError::Fields(vec![FieldError::new(field, code, detail)])
    }

    /// The 404 of a missing, deleted or foreign identity.
    pub fn identity_not_found() -> Self {
        ApiError::NotFound("identity not found".to_owned())
    }
}

/// Marker put in the response extensions; the envelope middleware renders the body, because only
/// it knows the request's trace id.
#[derive(Debug, Clone)]
pub struct PendingError(pub ApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _, _) = self.parts();
        let mut response = status.into_response();
        response.extensions_mut().insert(PendingError(self));
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::identity_not_found(),
            StoreError::Duplicate { rule, existing } => {
                let what = match rule {
                    UniqueRule::OrganizationDocument => {
                        "an organization with this country, documentType and documentNumber"
                    }
                    UniqueRule::UserDocumentContact => {
                        "a user with this country, documentType, documentNumber, email and phone"
                    }
                };
                match existing {
                    Some(id) => ApiError::AlreadyExists(format!("{what} already exists: {id}")),
                    None => ApiError::AlreadyExists(format!("{what} already exists")),
                }
            }
            StoreError::VersionMismatch { current } => ApiError::VersionMismatch(current),
            StoreError::Unavailable(_) | StoreError::Closed => {
                tracing::error!(error = %describe(&err), "store unavailable");
                ApiError::Unavailable(
                    "the database is not available; nothing was written; retry".to_owned(),
                )
            }
            StoreError::UnknownIdentities(ids) => ApiError::Fields(
                ids.iter()
                    .map(|id| {
                        FieldError::new(
                            "children",
                            "unknownIdentity",
                            format!("identity {id} does not exist"),
                        )
                    })
                    .collect(),
            ),
            StoreError::Cycle => ApiError::FailedPrecondition(
                "an identity cannot be its own child and links cannot form a cycle".to_owned(),
            ),
            other => {
                // Logged once here; the answer carries only the trace id.
                tracing::error!(error = %describe(&other), "store failure");
                ApiError::Internal
            }
        }
    }
}

/// Maps a bare status (from the framework or a layer) to its envelope.
pub fn for_status(status: StatusCode) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::NotFound("no such route".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge,
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
        StatusCode::TOO_MANY_REQUESTS => ApiError::TooManyRequests("too many requests".to_owned()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::Parsing("Content-Type must be application/json".to_owned())
        }
        s if s.is_client_error() => {
            ApiError::Parsing(s.canonical_reason().unwrap_or("bad request").to_owned())
        }
        _ => ApiError::Internal,
    }
}

/// A store failure for the log: the database's code and message, never the `detail` with which
/// PostgreSQL quotes the row's values (document numbers, emails, phones).
pub fn describe(err: &StoreError) -> String {
    match err {
        StoreError::Database(sqlx::Error::Database(db)) => {
            format!(
                "database error {}: {}",
                db.code().as_deref().unwrap_or("?"),
                db.message()
            )
        }
        StoreError::Database(other) => format!("database error: {other}"),
        other => other.to_string(),
    }
}
