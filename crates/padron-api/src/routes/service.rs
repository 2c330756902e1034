//! Service endpoints without credentials: liveness and readiness.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;

/// `/healthz` and `/readyz`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    let body = crate::metrics::render(state.store.as_ref());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}

/// The process is up.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// The database answers; 503 otherwise, so a load balancer stops sending traffic.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({"status": "ok", "database": state.store.backend()})).into_response(),
        Err(err) => {
            tracing::warn!(error = %crate::error::describe(&err), "readiness check failed");
            ApiError::Unavailable("the database is not reachable".to_owned()).into_response()
        }
    }
}
