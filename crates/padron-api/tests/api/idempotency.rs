//! Idempotency-Key (spec §9).

use axum::http::Method;
use padron_store::{Environment, IdempotencyStart, Tenant};
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
);

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
    assert_eq!(again.body, first.body);
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
        .begin_idempotent(&tenant, "old", "fp", now - day - 1, now - day, now - 1)
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
        .begin_idempotent(&tenant, "older", "fp", now - day - 1, now - day, now - 1)
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
