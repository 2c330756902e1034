//! Headers, versions and the error envelope on every non-2xx answer (spec §3, §4).

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::json;

use crate::helpers::{TestApp, user, with};

crate::on_both_backends!(
    unknown_routes_answer_404_with_the_envelope,
    wrong_methods_answer_405_code_42,
    bodies_over_one_mebibyte_answer_413_code_14,
    malformed_json_wrong_content_type_and_wrong_top_level_answer_400_code_14,
    a_field_of_the_wrong_json_type_answers_400_code_11_naming_it,
    every_bad_field_is_listed_not_only_the_first,
    missing_required_fields_answer_400_code_12,
    an_unknown_api_version_answers_400_code_11,
    x_request_id_is_echoed_and_equals_the_trace_id,
    malformed_ids_in_paths_answer_404,
    health_and_readiness_answer_without_credentials,
);

async fn unknown_routes_answer_404_with_the_envelope(app: &TestApp) {
    let res = app
        .send(Request::get("/nope").body(Body::empty()).unwrap())
        .await;
    res.expect_error(404, "31");
    assert_eq!(res.headers["content-type"], "application/json");
    let sandbox = app.sandbox().await;
    sandbox
        .get("/identities/abc/unknown")
        .await
        .expect_error(404, "31");
}

async fn wrong_methods_answer_405_code_42(app: &TestApp) {
    let sandbox = app.sandbox().await;
    sandbox
        .call(Method::PUT, "/identities", Some(json!({})))
        .await
        .expect_error(405, "42");
    let res = app
        .send(Request::get("/sandbox/auth").body(Body::empty()).unwrap())
        .await;
    res.expect_error(405, "42");
}

async fn bodies_over_one_mebibyte_answer_413_code_14(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let big = "x".repeat(1024 * 1024 + 10);
    let res = sandbox
        .post("/identities", with(user(1), json!({"nickname": big})))
        .await;
    res.expect_error(413, "14");
}

async fn malformed_json_wrong_content_type_and_wrong_top_level_answer_400_code_14(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let raw = |ct: &str, body: &str| {
        sandbox
            .builder(Method::POST, "/identities")
            .header("content-type", ct)
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    app.send(raw("application/json", "{\"type\": "))
        .await
        .expect_error(400, "14");
    app.send(raw("text/plain", &user(1).to_string()))
        .await
        .expect_error(400, "14");
    app.send(
        sandbox
            .builder(Method::POST, "/identities")
            .body(Body::from(user(1).to_string()))
            .unwrap(),
    )
    .await
    .expect_error(400, "14");
    sandbox
        .post("/identities", json!([user(1)]))
        .await
        .expect_error(400, "14");
    sandbox
        .post("/identities", json!("USER"))
        .await
        .expect_error(400, "14");
    let org = sandbox.create(crate::helpers::organization()).await;
    let id = org["id"].as_str().unwrap();
    // Children take an array, not an object.
    sandbox
        .post(&format!("/identities/{id}/children"), json!({"id": id}))
        .await
        .expect_error(400, "14");
    sandbox
        .post(&format!("/identities/{id}/rules"), json!(["a"]))
        .await
        .expect_error(400, "14");
}

async fn a_field_of_the_wrong_json_type_answers_400_code_11_naming_it(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let res = sandbox
        .post("/identities", with(user(1), json!({"name": 42})))
        .await;
    res.expect_error(400, "11");
    assert_eq!(res.error_fields(), vec!["name"]);
    let res = sandbox
        .post(
            "/identities",
            with(user(1), json!({"securityOptions": {"signTrx": "yes"}})),
        )
        .await;
    res.expect_error(400, "11");
    assert_eq!(res.error_fields(), vec!["securityOptions.signTrx"]);
}

async fn every_bad_field_is_listed_not_only_the_first(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let body = with(
        user(1),
        json!({"email": "not an email", "phone": "+5491123456789", "documentNumber": "ABC-1", "status": "NOPE", "country": "CHL"}),
    );
    let res = sandbox.post("/identities", body).await;
    res.expect_error(400, "11");
    let mut fields = res.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec!["documentNumber", "email", "phone", "status"],
        "{:#}",
        res.body
    );
}

async fn missing_required_fields_answer_400_code_12(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let res = sandbox.post("/identities", json!({"type": "USER"})).await;
    res.expect_error(400, "12");
    let mut fields = res.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec!["country", "documentNumber", "documentType", "name"]
    );
}

async fn an_unknown_api_version_answers_400_code_11(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let odd = crate::helpers::Caller {
        version: Some("2023-01-01".into()),
        ..sandbox.clone()
    };
    odd.get("/identities").await.expect_error(400, "11");
    let twice = sandbox
        .builder(Method::GET, "/identities")
        .header("conomyhq-api-version", "2023-01-01")
        .body(Body::empty())
        .unwrap();
    app.send(twice).await.expect_error(400, "11");
    // No header at all is version 1, not an error.
    sandbox.legacy().get("/identities").await.expect(200);
}

async fn x_request_id_is_echoed_and_equals_the_trace_id(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let res = sandbox
        .call_with(
            Method::GET,
            "/identities/ffffffffffffffffffffffff",
            None,
            &[("x-request-id", "req-123")],
        )
        .await;
    res.expect_error(404, "31");
    assert_eq!(res.headers["x-request-id"], "req-123");
    assert_eq!(res.body["traceId"], "req-123");
    let res = sandbox.get("/identities/ffffffffffffffffffffffff").await;
    let generated = res.headers["x-request-id"].to_str().unwrap().to_owned();
    assert!(generated.len() >= 16);
    assert_eq!(res.body["traceId"], generated.as_str());
}

async fn malformed_ids_in_paths_answer_404(app: &TestApp) {
    let sandbox = app.sandbox().await;
    for id in [
        "abc",
        "679d29934a21df7584b38e1z",
        "679d29934a21df7584b38e12ff",
    ] {
        sandbox
            .get(&format!("/identities/{id}"))
            .await
            .expect_error(404, "31");
    }
}

async fn health_and_readiness_answer_without_credentials(app: &TestApp) {
    let res = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    res.expect(200);
    let res = app
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.expect(200)["status"], "ok");
}
