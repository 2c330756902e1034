//! `Idempotency-Key` (spec §9): the first completed answer to a POST, PATCH or DELETE is kept for
//! 24 hours per client, environment and key, and replayed to retries of the same request. The
//! reservation lives in the database, so retries that land on another process are answered too.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use padron_store::{IdempotencyStart, StoredResponse};
use sha2::{Digest, Sha256};

use crate::auth::now_micros;
use crate::error::{ApiError, PendingError};
use crate::extract::Caller;
use crate::middleware::{TraceId, render};
use crate::{AppState, MAX_BODY_BYTES};

/// How long an answer is kept.
pub const KEY_TTL_MICROS: i64 = 24 * 3600 * 1_000_000;
/// How long a running request holds its key before another may take it over (its process
/// may have died); longer than any request may run.
const LEASE_MICROS: i64 = 60 * 1_000_000;
/// Longest accepted key, in bytes.
pub const MAX_KEY_LEN: usize = 255;
/// Headers of a kept answer that a replay repeats.
const REPLAYED_HEADERS: [&str; 3] = ["content-type", "etag", "location"];

fn fingerprint(method: &Method, uri: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_str().as_bytes());
    hash.update([0]);
    hash.update(uri.as_bytes());
    hash.update([0]);
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The middleware; requests without the header pass straight through.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PATCH | Method::DELETE) {
        return next.run(req).await;
    }
    let Some(raw_key) = req.headers().get("idempotency-key") else {
        return next.run(req).await;
    };
    let key = match raw_key.to_str().map(str::trim) {
        Ok(k) if !k.is_empty() && k.len() <= MAX_KEY_LEN => k.to_owned(),
        _ => {
            return ApiError::field(
                "Idempotency-Key",
                "invalidValue",
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            )
            .into_response();
        }
    };
    let (mut parts, body) = req.into_parts();
    // The key belongs to the caller's client and environment, so authentication comes first; a
    // request that fails it is answered 401 here, exactly as the handler would.
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => caller,
        Err(err) => return err.into_response(),
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::TooLarge.into_response();
    };
    let uri = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let print = fingerprint(&parts.method, uri, &bytes);
    let now = now_micros();
    let start = state
        .store
        .begin_idempotent(
            &caller.tenant,
            &key,
            &print,
            now,
            now + LEASE_MICROS,
            now + KEY_TTL_MICROS,
        )
        .await;
    match start {
        Err(err) => ApiError::from(err).into_response(),
        Ok(IdempotencyStart::Replay(stored)) => replay(stored),
        Ok(IdempotencyStart::Mismatch) => ApiError::FailedPrecondition(
            "this Idempotency-Key was already used with another method, path or body".to_owned(),
        )
        .into_response(),
        Ok(IdempotencyStart::InProgress) => ApiError::Conflict(
            "a request with this Idempotency-Key is still running; retry later".to_owned(),
        )
        .into_response(),
        Ok(IdempotencyStart::Started) => {
            let trace_id = parts
                .extensions
                .get::<TraceId>()
                .map(|t| t.0.clone())
                .unwrap_or_default();
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            keep(&state, &caller, &key, response, &trace_id).await
        }
    }
}

/// Stores the answer (or frees the key after a server error, which a retry may not meet again)
/// and passes the answer on.
async fn keep(
    state: &AppState,
    caller: &Caller,
    key: &str,
    mut response: Response,
    trace_id: &str,
) -> Response {
    // Errors are rendered here rather than by the outer envelope, so the kept body is complete.
    if let Some(PendingError(err)) = response.extensions_mut().remove::<PendingError>() {
        response = render(&err, trace_id);
    }
    if response.status().is_server_error() {
        if let Err(err) = state.store.abandon_idempotent(&caller.tenant, key).await {
            tracing::error!(error = ?err, "failed to free an idempotency key");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::Internal.into_response();
    };
    let headers = REPLAYED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = parts.headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect();
    let stored = StoredResponse {
        status: parts.status.as_u16(),
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    if let Err(err) = state
        .store
        .finish_idempotent(&caller.tenant, key, &stored)
        .await
    {
        // The answer itself is fine; only a retry would not find it.
        tracing::error!(error = ?err, "failed to keep an idempotent answer");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(stored: StoredResponse) -> Response {
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = axum::http::StatusCode::from_u16(stored.status).unwrap_or_default();
    let headers = response.headers_mut();
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.insert(name, value);
        }
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
