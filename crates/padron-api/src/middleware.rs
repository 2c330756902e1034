//! The outermost middleware: gives every request a trace id (echoing `x-request-id`), renders
//! every error answer as the spec §4 envelope, and logs one line per request.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;

use padron_store::Environment;

use crate::AppState;
use crate::error::{ApiError, PendingError, for_status};
use crate::extract::ApiVersion;
use crate::ratelimit::Admission;

/// The request's trace id, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct TraceId(pub String);

/// Filled in by authentication so that the request's log line names the client.
#[derive(Debug, Clone, Default)]
pub struct ClientSlot(pub Arc<OnceLock<String>>);

/// The route template that matched (`/identities/{id}`), carried out on the response so that
/// the outer middleware can label logs and metrics without ids in them.
#[derive(Debug, Clone)]
struct RouteLabel(MatchedPath);

/// What [`api_route`] needs besides the request: the shared state, the environment its routes
/// serve, and whether they take `Idempotency-Key`.
#[derive(Clone)]
pub(crate) struct ApiRoute {
    pub state: AppState,
    pub env: Environment,
    pub idempotency: bool,
}

/// The route-level middleware of every API route (`/auth`, `/document-types`,
/// `/identities…`), as one layer. From the outside in it does what were five layers: the
/// environment as a request extension; the rate limit (a 429 is labelled with its route too);
/// the matched route template recorded on the answer for the log line and metrics;
/// the `conomyhq-api-version` check (400 code 11 before any handler runs, so a handler that has
/// no use for the version cannot forget it; the parsed version is left for the [`ApiVersion`]
/// extractor); and, on the identity routes, `Idempotency-Key`. One layer instead of five,
/// because axum clones every inner layer of a route for each request.
pub(crate) async fn api_route(
    State(route): State<ApiRoute>,
    mut req: Request,
    next: Next,
) -> Response {
    req.extensions_mut().insert(route.env);
    // A `MatchedPath` is a shared string: cloning it allocates nothing.
    let label = req.extensions().get::<MatchedPath>().cloned();
    let verdict = match crate::ratelimit::admit(&route.state, &req) {
        Admission::Unlimited => None,
        Admission::Allowed(verdict) => Some(verdict),
        Admission::Refused(mut response) => {
            if let Some(label) = label {
                response.extensions_mut().insert(RouteLabel(label));
            }
            return response;
        }
    };
    let mut response = match ApiVersion::from_headers(req.headers()) {
        Ok(version) => {
            req.extensions_mut().insert(version);
            if route.idempotency {
                crate::idempotency::idempotency(State(route.state), req, next).await
            } else {
                next.run(req).await
            }
        }
        Err(err) => err.into_response(),
    };
    if let Some(label) = label {
        response.extensions_mut().insert(RouteLabel(label));
    }
    if let Some(verdict) = verdict {
        crate::ratelimit::add_headers(&mut response, &verdict);
    }
    response
}

fn new_trace_id() -> String {
    let bytes: [u8; 16] = rand::random();
    crate::auth::lower_hex(&bytes)
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
    method: Method,
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
        crate::metrics::record_request(self.method.as_str(), "cancelled", 499, seconds);
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
    let path = req.uri().path();
    // What the label needs from the path, taken now so that the path need not be copied.
    let sandbox = path.starts_with("/sandbox");
    let service_route = match path {
        "/healthz" => Some("/healthz"),
        "/readyz" => Some("/readyz"),
        "/metrics" => Some("/metrics"),
        "/openapi.json" => Some("/openapi.json"),
        "/docs" => Some("/docs"),
        _ => None,
    };
    // Logs and counts the request if its client hangs up before the answer (the future is
    // dropped and the lines below never run); disarmed once the answer is logged.
    let mut hang_up = HangUp {
        armed: true,
        method: method.clone(),
        started,
        trace_id,
    };
    let trace_id = hang_up.trace_id.as_str();

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
            Some(render(&err, trace_id))
        } else if (status.is_client_error() || status.is_server_error()) && !is_json(&response) {
            Some(render(&for_status(status), trace_id))
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
    if let Ok(value) = HeaderValue::from_str(trace_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    // Only the route template is logged and counted: paths carry ids, and bodies, headers and
    // query strings (which may hold emails, phones and document numbers) are never logged.
    let route: std::borrow::Cow<'_, str> = match response.extensions().get::<RouteLabel>() {
        Some(RouteLabel(route)) => {
            let route = route.as_str();
            if sandbox && !route.starts_with("/sandbox") {
                format!("/sandbox{route}").into()
            } else {
                route.into()
            }
        }
        None => service_route.unwrap_or("unmatched").into(),
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
