//! Padron's HTTP API: the axum router, its middleware, handlers per resource, wire types and
//! the one [`ApiError`].

pub mod auth;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use padron_store::{Environment, Store};

pub use auth::{CreatedClient, KeyRing, create_client};
pub use error::ApiError;

/// Largest accepted request body (spec §10).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// Token signing keys.
    pub keys: Arc<KeyRing>,
    /// Per-key rate limits, when configured.
    pub limiter: Option<Arc<ratelimit::RateLimiter>>,
    /// Recently seen API keys.
    pub credentials: Arc<auth::CredentialCache>,
}

/// How long an API-key lookup is reused by default.
pub const DEFAULT_AUTH_CACHE: std::time::Duration = std::time::Duration::from_secs(5);

impl AppState {
    /// Builds the state, loading (or creating) the signing keys.
    pub async fn new(store: Arc<dyn Store>) -> Result<Self, padron_store::StoreError> {
        let keys = Arc::new(KeyRing::load(store.clone()).await?);
        Ok(Self {
            store,
            keys,
            limiter: None,
            credentials: Arc::new(auth::CredentialCache::new(DEFAULT_AUTH_CACHE)),
        })
    }

    /// Reuses API-key lookups for `ttl` (zero: every request reads the database).
    pub fn with_auth_cache(mut self, ttl: std::time::Duration) -> Self {
        self.credentials = Arc::new(auth::CredentialCache::new(ttl));
        self
    }

    /// Limits each API key to `sandbox` / `production` (an environment without a quota is not
    /// limited).
    pub fn with_rate_limits(
        mut self,
        sandbox: Option<ratelimit::Quota>,
        production: Option<ratelimit::Quota>,
    ) -> Self {
        self.limiter = (sandbox.is_some() || production.is_some())
            .then(|| Arc::new(ratelimit::RateLimiter::new(sandbox, production)));
        self
    }
}

impl FromRef<AppState> for Arc<dyn Store> {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}

/// The whole service: the API under `/` (production) and `/sandbox`, and the service endpoints.
pub fn router(state: AppState) -> Router {
    // Installed before the first request so that every request is counted.
    metrics::handle();
    let env_routes = |env: Environment| {
        // `route_layer`: only matched routes pass through; unknown paths stay plain 404s. One
        // layer runs the environment extension, rate limit, route label, version check and (on
        // the identity routes) idempotency, in that order: see `middleware::api_route`.
        let api = |idempotency| {
            axum::middleware::from_fn_with_state(
                middleware::ApiRoute {
                    state: state.clone(),
                    env,
                    idempotency,
                },
                middleware::api_route,
            )
        };
        routes::identities()
            .route_layer(api(true))
            .merge(routes::access().route_layer(api(false)))
    };
    Router::new()
        .merge(routes::service::routes())
        .merge(utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", openapi::document()))
        .merge(env_routes(Environment::Production))
        .nest("/sandbox", env_routes(Environment::Sandbox))
        .fallback(|| async { ApiError::NotFound("no such route".to_owned()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(middleware::envelope))
        .with_state(state)
}
