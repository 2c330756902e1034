//! `Idempotency-Key` (spec §9): the first completed answer to a POST, PATCH or DELETE is kept for
//! 24 hours per client, environment and key, and replayed to retries of the same request. The
//! reservation lives in the database, so retries that land on another process are answered too.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use padron_store::{IdempotencyClaim, IdempotencyStart, StoredResponse};
use sha2::{Digest, Sha256};

use crate::auth::now_micros;
use crate::error::{ApiError, PendingError, describe};
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

fn fingerprint(method: &Method, uri: &str, version: &[u8], body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [method.as_str().as_bytes(), uri.as_bytes(), version, body] {
        // Lengths first, so that no two different requests can hash the same bytes.
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The middleware; requests without the header pass straight through.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PATCH | Method::DELETE) {
        return next.run(req).await;
    }
    let Some(raw_key) = req.headers().get("idempotency-key").cloned() else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    // The key belongs to the caller's client and environment, so authentication comes first; a
    // request that fails it is answered 401 here, exactly as the handler would.
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => caller,
        Err(err) => return err.into_response(),
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
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(err) if is_length_limit(&err) => return ApiError::TooLarge.into_response(),
        Err(_) => {
            return ApiError::Parsing("the request body could not be read".to_owned())
                .into_response();
        }
    };
    let uri = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    // The version header changes the answer's shape, so it is part of what makes a request.
    let version = parts
        .headers
        .get("conomyhq-api-version")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let print = fingerprint(&parts.method, uri, version, &bytes);
    let owner: [u8; 16] = rand::random();
    let owner: String = owner.iter().map(|b| format!("{b:02x}")).collect();
    let trace_id = parts
        .extensions
        .get::<TraceId>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    // From the reservation to the kept answer everything runs in its own task: a client that
    // hangs up (the usual reason to retry) must not cancel the request half-way and leave its
    // key reserved with no answer.
    let request = Request::from_parts(parts, Body::from(bytes));
    let task_state = state.clone();
    let (task_key, task_owner, task_tenant) = (key.clone(), owner.clone(), caller.tenant.clone());
    let run = tokio::spawn(async move {
        let now = now_micros();
        let claim = IdempotencyClaim {
            tenant: &caller.tenant,
            key: &task_key,
            fingerprint: &print,
            owner: &task_owner,
            now,
            lease_until: now + LEASE_MICROS,
            expires_at: now + KEY_TTL_MICROS,
        };
        match task_state.store.begin_idempotent(&claim).await {
            Err(err) => ApiError::from(err).into_response(),
            Ok(IdempotencyStart::Replay(stored)) => replay(stored, &trace_id),
            Ok(IdempotencyStart::Mismatch) => ApiError::FailedPrecondition(
                "this Idempotency-Key was already used with another method, path, version or body"
                    .to_owned(),
            )
            .into_response(),
            Ok(IdempotencyStart::InProgress) => ApiError::Conflict(
                "a request with this Idempotency-Key is still running; retry later".to_owned(),
            )
            .into_response(),
            Ok(IdempotencyStart::Started) => {
                let response = next.run(request).await;
                keep(
                    &task_state,
                    &caller,
                    &task_key,
                    &task_owner,
                    response,
                    &trace_id,
                )
                .await
            }
        }
    });
    match run.await {
        Ok(response) => response,
        Err(err) => {
            tracing::error!(error = %err, "an idempotent request's task failed");
            if let Err(err) = state
                .store
                .abandon_idempotent(&task_tenant, &key, &owner)
                .await
            {
                tracing::error!(error = %describe(&err), "failed to free an idempotency key");
            }
            ApiError::Internal.into_response()
        }
    }
}

fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Stores the answer (or frees the key after a server error, which a retry may not meet again)
/// and passes the answer on.
async fn keep(
    state: &AppState,
    caller: &Caller,
    key: &str,
    owner: &str,
    mut response: Response,
    trace_id: &str,
) -> Response {
    // Errors are rendered here rather than by the outer envelope, so the kept body is complete.
    if let Some(PendingError(err)) = response.extensions_mut().remove::<PendingError>() {
        let mut rendered = render(&err, trace_id);
        for (name, value) in response.headers() {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
        *rendered.extensions_mut() = std::mem::take(response.extensions_mut());
        response = rendered;
    }
    if response.status().is_server_error() {
        if let Err(err) = state
            .store
            .abandon_idempotent(&caller.tenant, key, owner)
            .await
        {
            tracing::error!(error = %describe(&err), "failed to free an idempotency key");
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
        .finish_idempotent(&caller.tenant, key, owner, &stored)
        .await
    {
        // The answer itself is fine; only a retry would not find it.
        tracing::error!(error = %describe(&err), "failed to keep an idempotent answer");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The kept answer again. An error body's `traceId` is this request's, so that it still equals
/// the `x-request-id` header (spec §3).
fn replay(stored: StoredResponse, trace_id: &str) -> Response {
    let mut body = stored.body;
    if stored.status >= 400
        && let Ok(serde_json::Value::Object(mut map)) =
            serde_json::from_str::<serde_json::Value>(&body)
        && map.contains_key("traceId")
    {
        map.insert(
            "traceId".to_owned(),
            serde_json::Value::String(trace_id.to_owned()),
        );
        body = serde_json::Value::Object(map).to_string();
    }
    let mut response = Response::new(Body::from(body));
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
