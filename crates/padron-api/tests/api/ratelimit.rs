//! Per-API-key rate limiting (429 code 32 with Retry-After and RateLimit-* headers).

use axum::body::Body;
use axum::http::Request;
use padron_api::AppState;
use padron_api::ratelimit::Quota;
use padron_store::Environment;
use tower::ServiceExt;

use crate::helpers::TestApp;

crate::on_both_backends!(over_the_limit_answers_429_with_retry_after_per_key_and_environment);

async fn over_the_limit_answers_429_with_retry_after_per_key_and_environment(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let production = app.production().await;
    let state = AppState::new(app.store.clone())
        .await
        .unwrap()
        .with_rate_limits(
            Some(Quota {
                per_second: 0.01,
                burst: 3,
            }),
            None,
        );
    let limited = padron_api::router(state);
    let get = |caller: &crate::helpers::Caller<'_>| {
        caller
            .builder(axum::http::Method::GET, "/identities")
            .body(Body::empty())
            .unwrap()
    };
    // The first request of a key this process has not seen takes from the shared bucket of
    // unverified keys and puts the key's client in the credential cache.
    let res = limited.clone().oneshot(get(&sandbox)).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let res = limited.clone().oneshot(get(&sandbox)).await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(res.headers()["ratelimit-limit"], "3");
        remaining.push(
            res.headers()["ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(remaining, vec!["2", "1", "0"]);
    let res = app.send_to(&limited, get(&sandbox)).await;
    res.expect_error(429, "32");
    let retry: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=100).contains(&retry), "{retry}");
    assert_eq!(res.headers["ratelimit-remaining"], "0");
    // Production has no limit configured; another client's key has its own bucket.
    for _ in 0..5 {
        let res = limited.clone().oneshot(get(&production)).await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        assert!(res.headers().get("ratelimit-limit").is_none());
    }
    let other = app.other_client().await;
    let theirs = app.caller_of(&other, Environment::Sandbox).await;
    let res = limited.clone().oneshot(get(&theirs)).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    // Made-up keys cannot each get a fresh bucket: they share what is left of the unverified one
    // (three tokens, two used by the two clients' first requests).
    let made_up = |i: u32| crate::helpers::Caller {
        api_key: format!("pdk_test_made_up_{i}"),
        ..sandbox.clone()
    };
    let statuses: Vec<u16> = futures_util::future::join_all((0..3).map(|i| {
        let caller = made_up(i);
        let limited = limited.clone();
        async move {
            limited
                .oneshot(get(&caller))
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    }))
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
    // The unlimited router of the same database is not affected: limits are per process.
    let req = Request::get("/sandbox/identities")
        .header("x-api-key", &sandbox.api_key)
        .header("authorization", format!("Bearer {}", sandbox.token))
        .body(Body::empty())
        .unwrap();
    app.send(req).await.expect(200);
}
