//! Idempotency-Key (spec §9).

use axum::http::Method;
use padron_store::{Environment, IdempotencyClaim, IdempotencyStart, StoredResponse, Tenant};
use serde_json::json;

use crate::children::futures_join_all;
use crate::helpers::{TestApp, user, with};

crate::on_both_backends!(
    a_retry_with_the_same_key_gets_the_same_answer_replayed,
    the_same_key_with_another_body_or_path_answers_422,
    a_concurrent_double_submit_creates_once,
    keys_belong_to_one_client_environment,
    error_answers_are_kept_and_replayed_too,
    overlong_keys_answer_400,
    expired_keys_are_purged_and_free_again,
    only_the_request_holding_a_key_can_store_its_answer,
    a_client_that_hangs_up_still_gets_its_answer_on_retry,
    the_version_header_is_part_of_the_request_and_replayed_errors_carry_the_new_trace_id,
    auth_ignores_idempotency_keys_and_keeps_no_token,
    a_bad_version_header_is_refused_before_the_key_is_taken,
);

/// The version check runs before `Idempotency-Key`: a request refused for its version leaves no
/// answer under the key, so the corrected retry with the same key is carried out, not replayed.
async fn a_bad_version_header_is_refused_before_the_key_is_taken(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let bad = crate::helpers::Caller {
        version: Some("1999-01-01".to_owned()),
        ..sandbox.clone()
    };
    let key = [("idempotency-key", "after-a-bad-version")];
    bad.call_with(Method::POST, "/identities", Some(user(1)), &key)
        .await
        .expect_error(400, "11");
    let retry = sandbox
        .call_with(Method::POST, "/identities", Some(user(1)), &key)
        .await;
    retry.expect(201);
    assert!(retry.headers.get("idempotent-replayed").is_none());
    let replay = sandbox
        .call_with(Method::POST, "/identities", Some(user(1)), &key)
        .await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
}

async fn a_retry_with_the_same_key_gets_the_same_answer_replayed(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let key = [("idempotency-key", "create-user-1")];
    let first = sandbox
        .call_with(Method::POST, "/identities", Some(user(1)), &key)
        .await;
    first.expect(201);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = sandbox
        .call_with(Method::POST, "/identities", Some(user(1)), &key)
        .await;
    assert_eq!(again.expect(201), &first.body, "the same body, not a 409");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.headers["etag"], first.headers["etag"]);
    let listed = sandbox.get("/identities").await;
    assert_eq!(listed.expect(200)["pagination"]["count"], 1);
    // DELETE and PATCH too.
    let path = format!("/identities/{}", first.id());
    let patch_key = [("idempotency-key", "patch-1")];
    let patched = sandbox
        .call_with(
            Method::PATCH,
            &path,
            Some(json!({"nickname": "n"})),
            &patch_key,
        )
        .await;
    let again = sandbox
        .call_with(
            Method::PATCH,
            &path,
            Some(json!({"nickname": "n"})),
            &patch_key,
        )
        .await;
    assert_eq!(again.expect(200)["version"], patched.body["version"]);
    let delete_key = [("idempotency-key", "delete-1")];
    let gone = sandbox
        .call_with(Method::DELETE, &path, None, &delete_key)
        .await;
    assert_eq!(gone.status.as_u16(), 204);
    let again = sandbox
        .call_with(Method::DELETE, &path, None, &delete_key)
        .await;
    assert_eq!(again.status.as_u16(), 204, "replayed instead of 404");
    assert_eq!(again.headers["idempotent-replayed"], "true");
}

async fn the_same_key_with_another_body_or_path_answers_422(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let key = [("idempotency-key", "k-1")];
    sandbox
        .call_with(Method::POST, "/identities", Some(user(1)), &key)
        .await
        .expect(201);
    let other_body = with(user(1), json!({"email": "other@example.com"}));
    sandbox
        .call_with(Method::POST, "/identities", Some(other_body), &key)
        .await
        .expect_error(422, "21");
    let id = sandbox.get("/identities").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = sandbox
        .call_with(
            Method::PATCH,
            &format!("/identities/{id}"),
            Some(user(1)),
            &key,
        )
        .await;
    res.expect_error(422, "21");
    assert_eq!(
        sandbox.get("/identities").await.body["pagination"]["count"],
        1
    );
}

async fn a_concurrent_double_submit_creates_once(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let tasks = (0..10).map(|i| {
        let sandbox = sandbox.clone();
        // Different emails would be different identities: only the key makes them one request.
        let body = user(1);
        async move {
            let _ = i;
            sandbox
                .call_with(
                    Method::POST,
                    "/identities",
                    Some(body),
                    &[("idempotency-key", "double")],
                )
                .await
        }
    });
    let answers = futures_join_all(tasks).await;
    let fresh = answers
        .iter()
        .filter(|r| r.status.as_u16() == 201 && r.headers.get("idempotent-replayed").is_none())
        .count();
    assert_eq!(
        fresh,
        1,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in &answers {
        match r.status.as_u16() {
            201 => {}
            409 => assert_eq!(
                r.body["code"], "21",
                "still running, not a duplicate: {:#}",
                r.body
            ),
            other => panic!("unexpected {other}: {:#}", r.body),
        }
    }
    assert_eq!(
        sandbox.get("/identities").await.body["pagination"]["count"],
        1
    );
}

async fn keys_belong_to_one_client_environment(app: &TestApp) {
    let key = [("idempotency-key", "shared-key")];
    let sandbox = app.sandbox().await;
    let production = app.production().await;
    sandbox
        .call_with(Method::POST, "/identities", Some(user(1)), &key)
        .await
        .expect(201);
    let res = production
        .call_with(Method::POST, "/identities", Some(user(2)), &key)
        .await;
    res.expect(201);
    assert!(res.headers.get("idempotent-replayed").is_none());
    let other = app.other_client().await;
    let theirs = app.caller_of(&other, Environment::Sandbox).await;
    theirs
        .call_with(Method::POST, "/identities", Some(user(3)), &key)
        .await
        .expect(201);
}

async fn error_answers_are_kept_and_replayed_too(app: &TestApp) {
    let sandbox = app.sandbox().await;
    sandbox.create(user(1)).await;
    let key = [("idempotency-key", "dup")];
    let first = sandbox
        .call_with(Method::POST, "/identities", Some(user(1)), &key)
        .await;
    first.expect_error(409, "13");
    let again = sandbox
        .call_with(Method::POST, "/identities", Some(user(1)), &key)
        .await;
    again.expect_error(409, "13");
    let without_trace = |body: &serde_json::Value| {
        let mut body = body.clone();
        body.as_object_mut().unwrap().remove("traceId");
        body
    };
    assert_eq!(without_trace(&again.body), without_trace(&first.body));
    assert_eq!(again.headers["idempotent-replayed"], "true");
}

async fn overlong_keys_answer_400(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let long = "k".repeat(256);
    let res = sandbox
        .call_with(
            Method::POST,
            "/identities",
            Some(user(1)),
            &[("idempotency-key", &long)],
        )
        .await;
    res.expect_error(400, "11");
    let ok = "k".repeat(255);
    sandbox
        .call_with(
            Method::POST,
            "/identities",
            Some(user(1)),
            &[("idempotency-key", &ok)],
        )
        .await
        .expect(201);
}

fn claim<'a>(
    tenant: &'a Tenant,
    key: &'a str,
    owner: &'a str,
    now: i64,
    lease: i64,
    expires: i64,
) -> IdempotencyClaim<'a> {
    IdempotencyClaim {
        tenant,
        key,
        fingerprint: "fp",
        owner,
        now,
        lease_until: lease,
        expires_at: expires,
    }
}

async fn expired_keys_are_purged_and_free_again(app: &TestApp) {
    let tenant = Tenant {
        client_id: app.client.client_id.clone(),
        environment: Environment::Sandbox,
    };
    let now = padron_api::auth::now_micros();
    // A key kept a day and a second ago.
    let day = padron_api::idempotency::KEY_TTL_MICROS;
    let start = app
        .store
        .begin_idempotent(&claim(
            &tenant,
            "old",
            "a",
            now - day - 1,
            now - day,
            now - 1,
        ))
        .await
        .unwrap();
    assert_eq!(start, IdempotencyStart::Started);
    // Used again with another request, it is not a mismatch: it expired.
    let sandbox = app.sandbox().await;
    sandbox
        .call_with(
            Method::POST,
            "/identities",
            Some(user(1)),
            &[("idempotency-key", "old")],
        )
        .await
        .expect(201);
    app.store
        .begin_idempotent(&claim(
            &tenant,
            "older",
            "a",
            now - day - 1,
            now - day,
            now - 1,
        ))
        .await
        .unwrap();
    assert_eq!(
        app.store.purge_idempotency(now).await.unwrap(),
        1,
        "only the expired key is purged"
    );
    let again = sandbox
        .call_with(
            Method::POST,
            "/identities",
            Some(user(1)),
            &[("idempotency-key", "old")],
        )
        .await;
    assert_eq!(
        again.headers["idempotent-replayed"], "true",
        "the live key survived the purge"
    );
}

async fn only_the_request_holding_a_key_can_store_its_answer(app: &TestApp) {
    let tenant = Tenant {
        client_id: app.client.client_id.clone(),
        environment: Environment::Sandbox,
    };
    let now = padron_api::auth::now_micros();
    let later = now + padron_api::idempotency::KEY_TTL_MICROS;
    // A holds the key, outlives its lease, and B takes the key over.
    assert_eq!(
        app.store
            .begin_idempotent(&claim(&tenant, "k", "A", now - 10, now - 1, later))
            .await
            .unwrap(),
        IdempotencyStart::Started
    );
    assert_eq!(
        app.store
            .begin_idempotent(&claim(&tenant, "k", "B", now, now + 60_000_000, later))
            .await
            .unwrap(),
        IdempotencyStart::Started
    );
    let answer = |status: u16| StoredResponse {
        status,
        headers: Vec::new(),
        body: format!("{{\"from\": {status}}}"),
    };
    // A finishing late neither stores its answer nor frees B's reservation.
    app.store
        .finish_idempotent(&tenant, "k", "A", &answer(201))
        .await
        .unwrap();
    app.store
        .abandon_idempotent(&tenant, "k", "A")
        .await
        .unwrap();
    assert_eq!(
        app.store
            .begin_idempotent(&claim(&tenant, "k", "C", now, now + 1, later))
            .await
            .unwrap(),
        IdempotencyStart::InProgress
    );
    app.store
        .finish_idempotent(&tenant, "k", "B", &answer(200))
        .await
        .unwrap();
    match app
        .store
        .begin_idempotent(&claim(&tenant, "k", "C", now, now + 1, later))
        .await
        .unwrap()
    {
        IdempotencyStart::Replay(stored) => assert_eq!(stored.status, 200),
        other => panic!("expected B's answer, got {other:?}"),
    }
}

async fn a_client_that_hangs_up_still_gets_its_answer_on_retry(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let key = [("idempotency-key", "hang-up")];
    // The first attempt is abandoned by its client as soon as it is under way.
    let first = sandbox.call_with(Method::POST, "/identities", Some(user(1)), &key);
    let _ = tokio::time::timeout(std::time::Duration::ZERO, first).await;
    // Retries see "still running" until the first request's answer is kept, then that answer.
    let mut replayed = None;
    for _ in 0..10_000 {
        let retry = sandbox
            .call_with(Method::POST, "/identities", Some(user(1)), &key)
            .await;
        if retry.status.as_u16() == 409 && retry.body["code"] == "21" {
            tokio::task::yield_now().await;
            continue;
        }
        replayed = Some(retry);
        break;
    }
    let replayed = replayed.expect("the first request finished");
    replayed.expect(201);
    assert_eq!(
        sandbox.get("/identities").await.body["pagination"]["count"],
        1,
        "created once"
    );
}

async fn the_version_header_is_part_of_the_request_and_replayed_errors_carry_the_new_trace_id(
    app: &TestApp,
) {
    let sandbox = app.sandbox().await;
    let key = [("idempotency-key", "versioned")];
    sandbox
        .call_with(Method::POST, "/identities", Some(user(1)), &key)
        .await
        .expect(201);
    let legacy = sandbox.legacy();
    legacy
        .call_with(Method::POST, "/identities", Some(user(1)), &key)
        .await
        .expect_error(422, "21");
    sandbox.create(user(2)).await;
    let dup_key = [("idempotency-key", "dup-2"), ("x-request-id", "first")];
    sandbox
        .call_with(Method::POST, "/identities", Some(user(2)), &dup_key)
        .await
        .expect_error(409, "13");
    let again = sandbox
        .call_with(
            Method::POST,
            "/identities",
            Some(user(2)),
            &[("idempotency-key", "dup-2"), ("x-request-id", "second")],
        )
        .await;
    again.expect_error(409, "13");
    assert_eq!(again.body["traceId"], "second");
    assert_eq!(again.headers["x-request-id"], "second");
}

async fn auth_ignores_idempotency_keys_and_keeps_no_token(app: &TestApp) {
    let c = &app.client;
    let req = axum::http::Request::post("/sandbox/auth")
        .header("content-type", "application/json")
        .header("x-api-key", &c.sandbox.api_key)
        .header("idempotency-key", "login")
        .body(axum::body::Body::from(
            json!({"clientId": c.client_id, "clientSecret": c.sandbox.client_secret}).to_string(),
        ))
        .unwrap();
    let res = app.send(req).await;
    res.expect(200);
    assert!(res.headers.get("idempotent-replayed").is_none());
    let tenant = Tenant {
        client_id: c.client_id.clone(),
        environment: Environment::Sandbox,
    };
    let now = padron_api::auth::now_micros();
    // The key was never taken: nothing of the token was stored.
    let start = app
        .store
        .begin_idempotent(&claim(&tenant, "login", "x", now, now + 1, now + 2))
        .await
        .unwrap();
    assert_eq!(start, IdempotencyStart::Started);
}
