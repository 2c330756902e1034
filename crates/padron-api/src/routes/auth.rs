//! `POST /auth`: exchanges an API key, client id and client secret for a bearer token.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use padron_store::Environment;
use serde::Serialize;
use serde_json::Value;

use crate::AppState;
use crate::auth::{TOKEN_TTL_SECS, hash_secret, secret_matches};
use crate::error::ApiError;
use crate::extract::{JsonBody, api_key};
use crate::middleware::ClientSlot;

/// The `/auth` answer.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The JWT.
    #[serde(rename = "accessToken")]
    pub access_token: String,
    /// Always `Bearer`.
    #[serde(rename = "tokenType")]
    pub token_type: &'static str,
    /// Seconds until expiry.
    #[serde(rename = "expiresIn")]
    pub expires_in: i64,
}

/// Issues a token when the API key, client id and secret all belong to one client of this
/// environment; any mismatch is the same 401.
pub async fn issue_token(
    State(state): State<AppState>,
    Extension(env): Extension<Environment>,
    headers: HeaderMap,
    client_slot: Option<Extension<ClientSlot>>,
    body: JsonBody,
) -> Result<Json<TokenResponse>, ApiError> {
    let key = api_key(&headers)?;
    let body = body.object()?;
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let (Some(client_id), Some(secret)) = (field("clientId"), field("clientSecret")) else {
        return Err(ApiError::Unauthorized);
    };
    let credential = state
        .store
        .credential_by_api_key(&hash_secret(key))
        .await?
        .filter(|c| c.environment == env && c.client_id == client_id)
        .ok_or(ApiError::Unauthorized)?;
    if !secret_matches(secret, &credential.secret_hash) {
        return Err(ApiError::Unauthorized);
    }
    if let Some(slot) = client_slot {
        let _ = slot.0.0.set(credential.client_id.clone());
    }
    let token = state
        .keys
        .issue(&credential.client_id, env)
        .await
        .ok_or(ApiError::Internal)?;
    Ok(Json(TokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: TOKEN_TTL_SECS,
    }))
}
