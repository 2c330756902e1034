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
    a_bad_api_version_answers_400_code_11_on_every_route_that_takes_credentials,
    only_application_json_is_accepted_as_the_content_type,
    a_body_sent_to_the_delete_routes_must_be_json_within_the_size_limit,
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

async fn a_bad_api_version_answers_400_code_11_on_every_route_that_takes_credentials(
    app: &TestApp,
) {
    let sandbox = app.sandbox().await;
    let org = sandbox.create(crate::helpers::organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let member = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let scopes = format!("/identities/{member}/permissions");
    sandbox
        .post(
            &scopes,
            json!([{"resource": "IDENTITY", "reference": org, "permissions": ["READ"]}]),
        )
        .await
        .expect(200);
    let odd = crate::helpers::Caller {
        version: Some("2023-01-01".into()),
        ..sandbox.clone()
    };
    let routes: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::POST, "/identities".into(), Some(user(2))),
        (Method::GET, "/identities".into(), None),
        (Method::GET, format!("/identities/{member}"), None),
        (
            Method::PATCH,
            format!("/identities/{member}"),
            Some(json!({"nickname": "x"})),
        ),
        (Method::DELETE, format!("/identities/{member}"), None),
        (
            Method::POST,
            format!("/identities/{org}/children"),
            Some(json!([member])),
        ),
        (
            Method::DELETE,
            format!("/identities/{org}/children"),
            Some(json!([member])),
        ),
        (
            Method::POST,
            format!("/identities/{org}/rules"),
            Some(json!({"a": 1})),
        ),
        (Method::DELETE, format!("/identities/{org}/rules"), None),
        (Method::GET, scopes.clone(), None),
        (
            Method::POST,
            scopes.clone(),
            Some(json!([{"resource": "IDENTITY", "reference": org, "permissions": ["SIGN"]}])),
        ),
        (Method::DELETE, format!("{scopes}/{org}"), None),
        (Method::GET, "/document-types".into(), None),
    ];
    for (method, path, body) in routes {
        let res = odd.call(method.clone(), &path, body).await;
        res.expect_error(400, "11");
        assert_eq!(
            res.error_fields(),
            ["conomyhq-api-version"],
            "{method} {path}"
        );
    }
    // POST /auth takes credentials too (the key and the secret), though no token.
    let creds = &app.client.sandbox;
    let auth = Request::post("/sandbox/auth")
        .header("content-type", "application/json")
        .header("x-api-key", &creds.api_key)
        .header("conomyhq-api-version", "2023-01-01")
        .body(Body::from(
            json!({"clientId": app.client.client_id, "clientSecret": creds.client_secret})
                .to_string(),
        ))
        .unwrap();
    app.send(auth).await.expect_error(400, "11");
    // The version is checked before the credentials.
    let anonymous = Request::get("/sandbox/identities")
        .header("conomyhq-api-version", "2023-01-01")
        .body(Body::empty())
        .unwrap();
    app.send(anonymous).await.expect_error(400, "11");
    // None of the refused requests changed anything.
    let found = sandbox.get(&format!("/identities/{member}")).await;
    assert_eq!(found.expect(200)["nickname"], serde_json::Value::Null);
    assert_eq!(
        sandbox.get(&scopes).await.expect(200),
        &json!([{"resource": "IDENTITY", "reference": org, "permissions": ["READ"]}])
    );
    assert_eq!(
        sandbox.get(&format!("/identities/{org}")).await.expect(200)["version"],
        1
    );
}

async fn only_application_json_is_accepted_as_the_content_type(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let send = |ct: &str, n: u32| {
        let req = sandbox
            .builder(Method::POST, "/identities")
            .header("content-type", ct)
            .body(Body::from(
                with(user(n), json!({"email": format!("ct{n}@example.com")})).to_string(),
            ))
            .unwrap();
        app.send(req)
    };
    for ct in [
        "application/vnd.api+json",
        "application/problem+json",
        "application/merge-patch+json",
        "text/json",
        "application/jsonx",
    ] {
        let res = send(ct, 1).await;
        assert_eq!(res.status.as_u16(), 400, "{ct}: {:#}", res.body);
        res.expect_error(400, "14");
    }
    // Parameters and the case of the media type do not matter.
    for (n, ct) in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "APPLICATION/JSON;charset=UTF-8",
    ]
    .into_iter()
    .enumerate()
    {
        let res = send(ct, 10 + n as u32).await;
        assert_eq!(res.status.as_u16(), 201, "{ct}: {:#}", res.body);
    }
}

async fn a_body_sent_to_the_delete_routes_must_be_json_within_the_size_limit(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox.create(crate::helpers::organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let member = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let scopes = format!("/identities/{member}/permissions");
    let grant = json!([{"resource": "IDENTITY", "reference": org, "permissions": ["READ"]}]);
    sandbox.post(&scopes, grant.clone()).await.expect(200);
    let raw = |path: &str, ct: Option<&str>, body: Vec<u8>| {
        let mut b = sandbox.builder(Method::DELETE, path);
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        app.send(b.body(Body::from(body)).unwrap())
    };
    let too_big = format!("{{\"x\": \"{}\"}}", "y".repeat(1024 * 1024 + 10)).into_bytes();
    for path in [format!("/identities/{member}"), format!("{scopes}/{org}")] {
        raw(&path, Some("text/plain"), b"{}".to_vec())
            .await
            .expect_error(400, "14");
        raw(&path, None, b"{}".to_vec())
            .await
            .expect_error(400, "14");
        raw(&path, Some("application/json"), b"{not json".to_vec())
            .await
            .expect_error(400, "14");
        raw(&path, Some("application/json"), too_big.clone())
            .await
            .expect_error(413, "14");
    }
    // Nothing was deleted or revoked by the refused requests.
    assert_eq!(sandbox.get(&scopes).await.expect(200), &grant);
    // A valid JSON body is read and ignored.
    let res = raw(
        &format!("{scopes}/{org}"),
        Some("application/json; charset=utf-8"),
        br#"{"ignored": true}"#.to_vec(),
    )
    .await;
    assert_eq!(res.expect(200), &json!({}));
    assert_eq!(sandbox.get(&scopes).await.expect(200), &json!([]));
    let res = raw(
        &format!("/identities/{member}"),
        Some("application/json"),
        b"[1, 2]".to_vec(),
    )
    .await;
    res.expect(204);
    sandbox
        .get(&format!("/identities/{member}"))
        .await
        .expect_error(404, "31");
}
