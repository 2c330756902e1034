//! Extractors that turn every rejection into an [`ApiError`]: the JSON body, the API version
//! header (checked on every API route by `middleware::api_route`), the authenticated caller and
//! identity ids in paths.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use padron_domain::{IdentityId, ValidationLevel};
use padron_store::{Environment, Tenant};
use serde_json::Value;

use crate::AppState;
use crate::auth::hash_secret;
use crate::error::ApiError;

/// The version header value of the current response shape.
pub const VERSION_2: &str = "24-04-2025";

/// Which response shape the caller asked for with `conomyhq-api-version` (spec §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// No header: the legacy shape.
    V1,
    /// `24-04-2025`: the current shape.
    V2,
}

impl ApiVersion {
    /// Reads `conomyhq-api-version`: absent is version 1, `24-04-2025` version 2, anything else
    /// (or the header twice) 400 code 11.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        let mut values = headers.get_all(VERSION_HEADER).iter();
        let first = values.next();
        // Two version headers are ambiguous; answering in either shape would be a guess.
        if values.next().is_some() {
            return Err(ApiError::field(
                VERSION_HEADER,
                "unsupportedVersion",
                "send conomyhq-api-version at most once",
            ));
        }
        match first {
            None => Ok(ApiVersion::V1),
            Some(v) if v.as_bytes() == VERSION_2.as_bytes() => Ok(ApiVersion::V2),
            Some(_) => Err(ApiError::field(
                VERSION_HEADER,
                "unsupportedVersion",
                format!(
                    "unsupported API version; omit the header for version 1 or send {VERSION_2}"
                ),
            )),
        }
    }
}

/// The header that selects the response shape (spec §3).
pub const VERSION_HEADER: &str = "conomyhq-api-version";

impl<S: Send + Sync> FromRequestParts<S> for ApiVersion {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        // Set by `middleware::api_route`; parsing again covers a handler mounted without it.
        match parts.extensions.get::<ApiVersion>() {
            Some(version) => Ok(*version),
            None => ApiVersion::from_headers(&parts.headers),
        }
    }
}

/// The request body parsed as JSON, `None` when the request has no body at all.
#[derive(Debug)]
pub struct JsonBody(pub Option<Value>);

/// Whether `Content-Type` is `application/json`, with any parameters (`; charset=utf-8`) and the
/// media type in any case (RFC 9110 §8.3.1). Other JSON-based types (`application/problem+json`,
/// `application/vnd.api+json`) are refused: the contract takes only `application/json` (spec §3).
fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = value.split(';').next().unwrap_or("").trim();
    mime.eq_ignore_ascii_case("application/json")
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json_type = is_json_content_type(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::Parsing("the request body could not be read".to_owned())
            }
        })?;
        // No body is no body, whatever Content-Type the client sends on every request.
        if bytes.is_empty() {
            return Ok(JsonBody(None));
        }
        if !json_type {
            return Err(ApiError::Parsing(
                "Content-Type must be application/json".to_owned(),
            ));
        }
        serde_json::from_slice(&bytes)
            .map(|v| JsonBody(Some(v)))
            .map_err(|e| ApiError::Parsing(format!("the body is not valid JSON: {e}")))
    }
}

impl JsonBody {
    /// The body as a JSON object, or 400 code 14.
    pub fn object(self) -> Result<serde_json::Map<String, Value>, ApiError> {
        match self.0 {
            Some(Value::Object(map)) => Ok(map),
            _ => Err(ApiError::Parsing(
                "the body must be a JSON object".to_owned(),
            )),
        }
    }

    /// The body as a JSON array, or 400 code 14.
    pub fn array(self) -> Result<Vec<Value>, ApiError> {
        match self.0 {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(ApiError::Parsing(
                "the body must be a JSON array".to_owned(),
            )),
        }
    }
}

/// An authenticated caller: a client environment with a valid API key and bearer token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Whose data the request may touch.
    pub tenant: Tenant,
    /// The validation level of that client environment.
    pub level: ValidationLevel,
}

/// The API key of a request, or 401.
pub fn api_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(ApiError::Unauthorized)
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        let env = *parts
            .extensions
            .get::<Environment>()
            .ok_or(ApiError::Internal)?;
        let key = api_key(&parts.headers)?;
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                // The scheme name is case-insensitive (RFC 9110 §11.1).
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(token)
            })
            .map(str::trim)
            .ok_or(ApiError::Unauthorized)?;
        // The lookup is by hash, so a found credential's key matches; the environment must too.
        let credential = state
            .credentials
            .lookup(state.store.as_ref(), &hash_secret(key))
            .await?
            .filter(|c| c.environment == env)
            .ok_or(ApiError::Unauthorized)?;
        let claims = state
            .keys
            .verify(token)
            .await
            .ok_or(ApiError::Unauthorized)?;
        if claims.sub != credential.client_id || claims.env != env.as_str() {
            return Err(ApiError::Unauthorized);
        }
        if let Some(slot) = parts.extensions.get::<crate::middleware::ClientSlot>() {
            let _ = slot.0.set(credential.client_id.clone());
        }
        let level = credential.level();
        Ok(Caller {
            tenant: Tenant {
                client_id: credential.client_id,
                environment: env,
            },
            level,
        })
    }
}

/// Parses a path segment as an identity id, or 404.
pub fn path_id(raw: &str) -> Result<IdentityId, ApiError> {
    IdentityId::parse(raw).ok_or_else(ApiError::identity_not_found)
}

/// The version `If-Match` requires (quoted as sent, or bare); `None` without the header or with
/// `*`. A value that is no version can equal no version, so it maps to one that never matches
/// and the request answers 412 like any other stale `If-Match`.
pub fn if_match(headers: &HeaderMap) -> Option<i64> {
    let raw = headers.get("if-match")?;
    let text = raw.to_str().unwrap_or("").trim();
    if text == "*" {
        return None;
    }
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    Some(text.parse::<i64>().unwrap_or(-1))
}
