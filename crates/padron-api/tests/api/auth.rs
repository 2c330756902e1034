//! Authentication and tenancy (spec §1–2).

use axum::body::Body;
use axum::http::{Method, Request};
use padron_api::AppState;
use padron_store::Environment;
use serde_json::json;

use crate::helpers::{TestApp, user};

crate::on_both_backends!(
    auth_returns_a_bearer_token_that_expires_in_an_hour,
    auth_answers_401_for_any_wrong_credential_without_saying_which,
    identities_need_api_key_and_token_of_the_same_client_and_environment,
    a_client_never_sees_another_clients_identities,
    sandbox_and_production_are_separate_data_spaces,
    tokens_issued_before_a_secret_rotation_keep_working,
    a_token_from_one_process_is_accepted_by_another,
    api_key_lookups_are_cached_for_their_time_to_live_only,
);

async fn post_auth(
    app: &TestApp,
    prefix: &str,
    key: &str,
    body: serde_json::Value,
) -> crate::helpers::TestResponse {
    let req = Request::post(format!("{prefix}/auth"))
        .header("content-type", "application/json")
        .header("x-api-key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(req).await
}

async fn auth_returns_a_bearer_token_that_expires_in_an_hour(app: &TestApp) {
    let c = &app.client;
    let res = post_auth(
        app,
        "/sandbox",
        &c.sandbox.api_key,
        json!({"clientId": c.client_id, "clientSecret": c.sandbox.client_secret}),
    )
    .await;
    let body = res.expect(200);
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["expiresIn"], 3600);
    assert_eq!(
        body["accessToken"].as_str().unwrap().split('.').count(),
        3,
        "a JWT"
    );
    let res = post_auth(
        app,
        "",
        &c.production.api_key,
        json!({"clientId": c.client_id, "clientSecret": c.production.client_secret}),
    )
    .await;
    res.expect(200);
}

async fn auth_answers_401_for_any_wrong_credential_without_saying_which(app: &TestApp) {
    let c = &app.client;
    let good = json!({"clientId": c.client_id, "clientSecret": c.sandbox.client_secret});
    let cases = [
        ("/sandbox", "pdk_test_wrong".to_owned(), good.clone()),
        (
            "/sandbox",
            c.sandbox.api_key.clone(),
            json!({"clientId": c.client_id, "clientSecret": "nope"}),
        ),
        (
            "/sandbox",
            c.sandbox.api_key.clone(),
            json!({"clientId": "cli_other", "clientSecret": c.sandbox.client_secret}),
        ),
        (
            "/sandbox",
            c.sandbox.api_key.clone(),
            json!({"clientId": c.client_id}),
        ),
        // Production key on the sandbox path, and the sandbox secret with the production key.
        ("/sandbox", c.production.api_key.clone(), good.clone()),
        ("", c.production.api_key.clone(), good.clone()),
    ];
    let mut details = Vec::new();
    for (prefix, key, body) in cases {
        let res = post_auth(app, prefix, &key, body).await;
        let body = res.expect_error(401, "41");
        details.push(body["detail"].as_str().unwrap().to_owned());
    }
    // One message for every failure: nothing tells which credential was wrong.
    details.dedup();
    assert_eq!(details.len(), 1, "{details:?}");
    let req = Request::post("/sandbox/auth")
        .header("content-type", "application/json")
        .body(Body::from(good.to_string()))
        .unwrap();
    app.send(req).await.expect_error(401, "41");
}

async fn identities_need_api_key_and_token_of_the_same_client_and_environment(app: &TestApp) {
    let sandbox = app.sandbox().await;
    sandbox.get("/identities").await.expect(200);
    // The scheme name is case-insensitive.
    let req = Request::get("/sandbox/identities")
        .header("x-api-key", &sandbox.api_key)
        .header("authorization", format!("BEARER {}", sandbox.token))
        .body(Body::empty())
        .unwrap();
    app.send(req).await.expect(200);
    let other = app.other_client().await;
    let foreign = app.caller_of(&other, Environment::Sandbox).await;
    let cases = [
        // Token of another client with this client's key.
        crate::helpers::Caller {
            token: foreign.token.clone(),
            ..sandbox.clone()
        },
        // Key of another client with this client's token.
        crate::helpers::Caller {
            api_key: foreign.api_key.clone(),
            ..sandbox.clone()
        },
        crate::helpers::Caller {
            token: "not-a-jwt".into(),
            ..sandbox.clone()
        },
        crate::helpers::Caller {
            api_key: "pdk_test_nope".into(),
            ..sandbox.clone()
        },
    ];
    for caller in cases {
        caller.get("/identities").await.expect_error(401, "41");
    }
    let req = Request::get("/sandbox/identities")
        .header("x-api-key", &sandbox.api_key)
        .body(Body::empty())
        .unwrap();
    app.send(req).await.expect_error(401, "41");
    let req = Request::get("/sandbox/identities")
        .header("authorization", format!("Bearer {}", sandbox.token))
        .body(Body::empty())
        .unwrap();
    app.send(req).await.expect_error(401, "41");
}

async fn a_client_never_sees_another_clients_identities(app: &TestApp) {
    let mine = app.sandbox().await;
    let id = mine.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.other_client().await;
    let theirs = app.caller_of(&other, Environment::Sandbox).await;
    let res = theirs.get(&format!("/identities/{id}")).await;
    let not_found = theirs.get("/identities/ffffffffffffffffffffffff").await;
    res.expect_error(404, "31");
    // Exactly like an id that does not exist.
    assert_eq!(res.body["detail"], not_found.body["detail"]);
    theirs
        .patch(&format!("/identities/{id}"), json!({"name": "Hijack"}))
        .await
        .expect_error(404, "31");
    theirs
        .call(Method::DELETE, &format!("/identities/{id}"), None)
        .await
        .expect_error(404, "31");
    let list = theirs.get("/identities").await;
    assert_eq!(list.expect(200)["data"], json!([]));
    // The other client may register the same person: uniqueness is per client.
    theirs.create(user(1)).await;
    // Nor can it link our identity as its child.
    let org = theirs.create(crate::helpers::organization()).await;
    let res = theirs
        .post(
            &format!("/identities/{}/children", org["id"].as_str().unwrap()),
            json!([id]),
        )
        .await;
    res.expect_error(400, "11");
    mine.get(&format!("/identities/{id}")).await.expect(200);
}

async fn sandbox_and_production_are_separate_data_spaces(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let production = app.production().await;
    let id = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    production
        .get(&format!("/identities/{id}"))
        .await
        .expect_error(404, "31");
    assert_eq!(
        production.get("/identities").await.expect(200)["data"],
        json!([])
    );
    // The same identity can exist in both.
    production.create(user(1)).await;
    // A sandbox token on a production path (with either key) is 401.
    let crossed = crate::helpers::Caller {
        prefix: String::new(),
        ..sandbox.clone()
    };
    crossed.get("/identities").await.expect_error(401, "41");
    let crossed = crate::helpers::Caller {
        api_key: production.api_key.clone(),
        ..sandbox.clone()
    };
    crossed.get("/identities").await.expect_error(401, "41");
}

async fn tokens_issued_before_a_secret_rotation_keep_working(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let new_secret = padron_api::auth::new_client_secret(Environment::Sandbox);
    app.store
        .rotate_secret(
            &app.client.client_id,
            Environment::Sandbox,
            &padron_api::auth::hash_secret(&new_secret),
            padron_api::auth::now_micros(),
        )
        .await
        .unwrap();
    sandbox.get("/identities").await.expect(200);
    let c = &app.client;
    let old = post_auth(
        app,
        "/sandbox",
        &c.sandbox.api_key,
        json!({"clientId": c.client_id, "clientSecret": c.sandbox.client_secret}),
    )
    .await;
    old.expect_error(401, "41");
    let new = post_auth(
        app,
        "/sandbox",
        &c.sandbox.api_key,
        json!({"clientId": c.client_id, "clientSecret": new_secret}),
    )
    .await;
    new.expect(200);
}

async fn a_token_from_one_process_is_accepted_by_another(app: &TestApp) {
    // A second process that made its own signing key (as two processes starting at once on an
    // empty database do): the first process has never seen that key.
    let key = padron_store::SigningKey {
        kid: "second-process".into(),
        secret: "c2Vjb25kLXByb2Nlc3Mtc2VjcmV0LTMyLWJ5dGVzLWxvbmc".into(),
        created_at: padron_api::auth::now_micros() + 1_000_000,
    };
    app.store.insert_signing_key(&key).await.unwrap();
    let second = AppState::new(app.store.clone()).await.unwrap();
    let token = second
        .keys
        .issue(&app.client.client_id, Environment::Sandbox)
        .await
        .unwrap();
    let header = jsonwebtoken_kid(&token);
    assert_eq!(header, "second-process");
    let caller = crate::helpers::Caller {
        token,
        ..app.sandbox().await
    };
    caller.get("/identities").await.expect(200);
}

/// The `kid` of a JWT header.
fn jsonwebtoken_kid(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    json["kid"].as_str().unwrap().to_owned()
}

async fn api_key_lookups_are_cached_for_their_time_to_live_only(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let cached = padron_api::router(
        AppState::new(app.store.clone())
            .await
            .unwrap()
            .with_auth_cache(std::time::Duration::from_secs(3600)),
    );
    let uncached = padron_api::router(
        AppState::new(app.store.clone())
            .await
            .unwrap()
            .with_auth_cache(std::time::Duration::ZERO),
    );
    let get = || {
        sandbox
            .builder(Method::GET, "/identities")
            .body(Body::empty())
            .unwrap()
    };
    app.send_to(&cached, get()).await.expect(200);
    app.send_to(&uncached, get()).await.expect(200);
    // Revoke the key in the database (as an operator's revocation would).
    app.execute_sql("delete from credentials where environment = 'sandbox'")
        .await;
    // The cached process still knows the key until its entry expires; the other asks every time.
    app.send_to(&cached, get()).await.expect(200);
    app.send_to(&uncached, get()).await.expect_error(401, "41");
}
