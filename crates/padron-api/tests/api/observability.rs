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

    // Later requests of a series count on the series the first one registered, in the counter
    // and in the latency histogram. (At least: the recorder is the process's, and other tests
    // running at the same time may add to the same series.)
    let series = r#"{method="GET",route="/sandbox/identities/{id}",status="200"}"#;
    let count = |text: &str, metric: &str| -> u64 {
        let name = format!("{metric}{series} ");
        let line = text
            .lines()
            .find(|l| l.starts_with(&name))
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"));
        line[name.len()..].trim().parse().expect("a count")
    };
    let before_total = count(&text, "padron_http_requests_total");
    let before_seen = count(&text, "padron_http_request_duration_seconds_count");
    for _ in 0..5 {
        sandbox.get(&format!("/identities/{id}")).await.expect(200);
    }
    let after = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    let after = after.body.as_str().expect("text body").to_owned();
    assert!(count(&after, "padron_http_requests_total") >= before_total + 5);
    assert!(count(&after, "padron_http_request_duration_seconds_count") >= before_seen + 5);
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
