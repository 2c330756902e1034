//! The outermost middleware: gives every request a trace id (echoing `x-request-id`), renders
//! every error answer as the spec §4 envelope, and logs one line per request.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;

use crate::error::{ApiError, PendingError, for_status};

/// The request's trace id, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct TraceId(pub String);

/// Filled in by authentication so that the request's log line names the client.
#[derive(Debug, Clone, Default)]
pub struct ClientSlot(pub Arc<OnceLock<String>>);

/// The route template that matched (`/identities/{id}`), carried out on the response so that
/// the outer middleware can label logs and metrics without ids in them.
#[derive(Debug, Clone)]
struct RouteLabel(String);

/// Route-level middleware: records the matched route template on the response.
pub(crate) async fn label_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

fn new_trace_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A client-sent request id is kept only if it is short, printable ASCII.
fn accept_request_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?.trim();
    let ok = !text.is_empty() && text.len() <= 128 && text.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| text.to_owned())
}

/// See `hang_up` in [`envelope`].
struct HangUp {
    armed: bool,
    method: String,
    started: Instant,
    trace_id: String,
}

impl Drop for HangUp {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // 499: nginx's "client closed request"; the route template is unknown at this point.
        let seconds = self.started.elapsed().as_secs_f64();
        crate::metrics::record_request(&self.method, "cancelled", 499, seconds);
        tracing::info!(
            method = %self.method,
            route = "cancelled",
            status = 499u16,
            latency_ms = seconds * 1000.0,
            trace_id = %self.trace_id,
            "request cancelled by the client"
        );
    }
}

pub(crate) async fn envelope(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let trace_id = req
        .headers()
        .get("x-request-id")
        .and_then(accept_request_id)
        .unwrap_or_else(new_trace_id);
    req.extensions_mut().insert(TraceId(trace_id.clone()));
    let client = ClientSlot::default();
    req.extensions_mut().insert(client.clone());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    // Logs and counts the request if its client hangs up before the answer (the future is
    // dropped and the lines below never run); disarmed once the answer is logged.
    let mut hang_up = HangUp {
        armed: true,
        method: method.to_string(),
        started,
        trace_id: trace_id.clone(),
    };

    // A panic in a handler becomes a 500 envelope instead of a dropped connection.
    let mut response = match std::panic::AssertUnwindSafe(next.run(req))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(trace_id = %trace_id, "handler panicked");
            ApiError::Internal.into_response()
        }
    };
    let status = response.status();
    let rendered =
        if let Some(PendingError(err)) = response.extensions_mut().remove::<PendingError>() {
            Some(render(&err, &trace_id))
        } else if (status.is_client_error() || status.is_server_error()) && !is_json(&response) {
            Some(render(&for_status(status), &trace_id))
        } else {
            None
        };
    if let Some(mut envelope) = rendered {
        // Keep what layers added to the error (Retry-After, RateLimit-*, Allow, …).
        for (name, value) in response.headers() {
            if name != CONTENT_TYPE && name != CONTENT_LENGTH {
                envelope.headers_mut().insert(name.clone(), value.clone());
            }
        }
        *envelope.extensions_mut() = std::mem::take(response.extensions_mut());
        response = envelope;
    }
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    // Only the route template is logged and counted: paths carry ids, and bodies, headers and
    // query strings (which may hold emails, phones and document numbers) are never logged.
    let route = match response.extensions().get::<RouteLabel>() {
        Some(RouteLabel(route)) => {
            if path.starts_with("/sandbox") && !route.starts_with("/sandbox") {
                format!("/sandbox{route}")
            } else {
                route.clone()
            }
        }
        None if matches!(
            path.as_str(),
            "/healthz" | "/readyz" | "/metrics" | "/openapi.json" | "/docs"
        ) =>
        {
            path
        }
        None => "unmatched".to_owned(),
    };
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    crate::metrics::record_request(method.as_str(), &route, status, seconds);
    tracing::info!(
        method = %method,
        route = %route,
        status,
        latency_ms = seconds * 1000.0,
        client_id = client.0.get().map(String::as_str).unwrap_or("-"),
        trace_id = %trace_id,
        "request"
    );
    hang_up.armed = false;
    response
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The envelope of `err` as a complete response.
pub(crate) fn render(err: &ApiError, trace_id: &str) -> Response {
    let (status, _, _) = err.parts();
    let body = serde_json::to_vec(&err.body(trace_id)).unwrap_or_default();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.remove(CONTENT_LENGTH);
    response
}
