//! Handlers, one module per resource. [`api`] is mounted twice: at `/` for production and at
//! `/sandbox`, each with its [`padron_store::Environment`] as an extension.

pub mod auth;
pub mod document_types;
pub mod identities;
pub mod service;

use axum::Router;
use axum::routing::{delete, get, post};

use crate::AppState;

/// The routes that exist in both environments and are not about identities.
pub fn access() -> Router<AppState> {
    Router::new()
        .route("/auth", post(auth::issue_token))
        .route("/document-types", get(document_types::list_document_types))
}

/// The identity routes, which take `Idempotency-Key` and `If-Match`.
pub fn identities() -> Router<AppState> {
    Router::new()
        .route(
            "/identities",
            post(identities::create_identity).get(identities::list_identities),
        )
        .route(
            "/identities/{id}",
            get(identities::find_identity)
                .patch(identities::update_identity)
                .delete(identities::delete_identity),
        )
        .route(
            "/identities/{id}/children",
            post(identities::add_children).delete(identities::remove_children),
        )
        .route(
            "/identities/{id}/rules",
            post(identities::add_rules).delete(identities::remove_rules),
        )
        .route(
            "/identities/{id}/permissions",
            get(identities::list_permissions).post(identities::grant_permissions),
        )
        .route(
            "/identities/{id}/permissions/{other}",
            delete(identities::revoke_permissions),
        )
}
