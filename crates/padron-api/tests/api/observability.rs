//! `/metrics`: requests per route and status, validation failures, pool usage.

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::helpers::{TestApp, user, with};

crate::on_both_backends!(
    metrics_count_requests_per_route_and_validation_failures_per_field,
    requests_whose_client_hangs_up_are_counted_too,
);

async fn metrics_count_requests_per_route_and_validation_failures_per_field(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let id = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sandbox.get(&format!("/identities/{id}")).await.expect(200);
    sandbox
        .post(
            "/identities",
            with(user(2), json!({"country": "PER", "phone": "+56961234567"})),
        )
        .await;
    let res = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.status.as_u16(), 200);
    assert!(
        res.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.body.as_str().expect("text body").to_owned();
    for needle in [
        "padron_http_requests_total{",
        r#"route="/sandbox/identities/{id}""#,
        r#"route="/sandbox/identities",status="201""#,
        "padron_http_request_duration_seconds_bucket{",
        "padron_validation_failures_total{",
        r#"country="PER",field="phone""#,
        "padron_db_pool_connections ",
        "padron_db_pool_max_connections ",
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
    // Ids never become labels.
    assert!(!text.contains(&id));
}

async fn requests_whose_client_hangs_up_are_counted_too(app: &TestApp) {
    let sandbox = app.sandbox().await;
    // The client gives up as soon as the request is under way.
    let abandoned = sandbox.post("/identities", user(1));
    let _ = tokio::time::timeout(std::time::Duration::ZERO, abandoned).await;
    let res = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    let text = res.body.as_str().expect("text body").to_owned();
    assert!(text.contains(r#"route="cancelled",status="499""#), "{text}");
}
