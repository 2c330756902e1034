//! Uniqueness of documents per client environment, enforced by the database (spec §7).

use serde_json::json;

use crate::children::futures_join_all;
use crate::helpers::{TestApp, organization, user, with};

crate::on_both_backends!(
    two_organizations_may_not_share_a_document_and_the_409_names_the_existing_one,
    users_may_share_a_document_only_with_a_different_email_or_phone,
    document_numbers_compare_in_canonical_form_and_emails_ignore_case,
    missing_contact_values_equal_missing_values,
    patch_into_a_duplicate_answers_409,
    fifty_concurrent_identical_creates_yield_exactly_one_201,
    concurrent_creates_each_get_their_own_verdict,
);

async fn two_organizations_may_not_share_a_document_and_the_409_names_the_existing_one(
    app: &TestApp,
) {
    let sandbox = app.sandbox().await;
    let first = sandbox.create(organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = sandbox
        .post(
            "/identities",
            with(
                organization(),
                json!({"email": "other@example.com", "name": "Other"}),
            ),
        )
        .await;
    let body = res.expect_error(409, "13");
    assert!(
        body["detail"].as_str().unwrap().contains(&first),
        "{body:#}"
    );
    // Another document type or country is another document.
    let res = sandbox.post("/identities", with(organization(), json!({"country": "ARG", "documentType": "CUIT", "documentNumber": "30-50001091-2", "phone": null}))).await;
    res.expect(201);
}

async fn users_may_share_a_document_only_with_a_different_email_or_phone(app: &TestApp) {
    let sandbox = app.sandbox().await;
    sandbox.create(user(1)).await;
    sandbox
        .post("/identities", user(1))
        .await
        .expect_error(409, "13");
    sandbox
        .create(with(user(1), json!({"email": "second@example.com"})))
        .await;
    sandbox
        .create(with(user(1), json!({"phone": "+56 9 6123 4568"})))
        .await;
    // A changed name alone does not make another person.
    sandbox
        .post(
            "/identities",
            with(user(1), json!({"name": "Someone else"})),
        )
        .await
        .expect_error(409, "13");
}

async fn document_numbers_compare_in_canonical_form_and_emails_ignore_case(app: &TestApp) {
    let sandbox = app.sandbox().await;
    sandbox.create(user(1)).await;
    for variant in [
        json!({"documentNumber": "176040114"}),
        json!({"documentNumber": "17604011-4", "email": "USER1@Example.COM"}),
        json!({"phone": "+56 (9) 6123-4567"}),
    ] {
        sandbox
            .post("/identities", with(user(1), variant.clone()))
            .await
            .expect_error(409, "13");
    }
    sandbox.create(organization()).await;
    let res = sandbox
        .post(
            "/identities",
            with(organization(), json!({"documentNumber": "771231268"})),
        )
        .await;
    res.expect_error(409, "13");
}

async fn missing_contact_values_equal_missing_values(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let bare = with(user(1), json!({"email": null, "phone": null}));
    sandbox.create(bare.clone()).await;
    sandbox
        .post("/identities", bare.clone())
        .await
        .expect_error(409, "13");
    sandbox
        .create(with(bare, json!({"email": "x@example.com"})))
        .await;
}

async fn patch_into_a_duplicate_answers_409(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let first = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = sandbox
        .create(with(user(1), json!({"email": "two@example.com"})))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = sandbox
        .patch(
            &format!("/identities/{second}"),
            json!({"email": "user1@example.com"}),
        )
        .await;
    let body = res.expect_error(409, "13");
    assert!(body["detail"].as_str().unwrap().contains(&first));
    // After a delete the values are free again.
    sandbox.delete(&format!("/identities/{first}")).await;
    sandbox
        .patch(
            &format!("/identities/{second}"),
            json!({"email": "user1@example.com"}),
        )
        .await
        .expect(200);
}

async fn fifty_concurrent_identical_creates_yield_exactly_one_201(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let tasks = (0..50).map(|_| {
        let sandbox = sandbox.clone();
        async move { sandbox.post("/identities", user(1)).await }
    });
    let answers = futures_join_all(tasks).await;
    let created = answers.iter().filter(|r| r.status.as_u16() == 201).count();
    let conflicts = answers.iter().filter(|r| r.status.as_u16() == 409).count();
    assert_eq!(
        (created, conflicts),
        (1, 49),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let listed = sandbox.get("/identities").await;
    assert_eq!(listed.expect(200)["pagination"]["count"], 1);
    // Organizations too.
    let tasks = (0..30).map(|_| {
        let sandbox = sandbox.clone();
        async move {
            sandbox
                .post("/identities", organization())
                .await
                .status
                .as_u16()
        }
    });
    let statuses = futures_join_all(tasks).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
}

/// Concurrent creates may be committed together (SQLite group commit): a duplicate or a bad
/// child in one of them must not change the answer of any other.
async fn concurrent_creates_each_get_their_own_verdict(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let mut bodies = Vec::new();
    for i in 0..20 {
        bodies.push((
            201,
            with(user(i), json!({"email": format!("own{i}@example.com")})),
        ));
    }
    for _ in 0..10 {
        bodies.push((0, with(user(99), json!({"email": "same@example.com"}))));
    }
    for i in 0..10 {
        let body = with(
            user(200 + i),
            json!({"email": format!("kid{i}@example.com"), "children": ["ffffffffffffffffffffffff"]}),
        );
        bodies.push((400, body));
    }
    let tasks = bodies.iter().map(|(_, body)| {
        let sandbox = sandbox.clone();
        let body = body.clone();
        async move { sandbox.post("/identities", body).await }
    });
    let answers = futures_join_all(tasks).await;
    let mut same = Vec::new();
    for ((expected, _), answer) in bodies.iter().zip(&answers) {
        match expected {
            0 => same.push(answer.status.as_u16()),
            400 => {
                answer.expect_error(400, "11");
            }
            _ => {
                answer.expect(201);
            }
        }
    }
    same.sort();
    assert_eq!(
        same,
        [vec![201], vec![409; 9]].concat(),
        "exactly one of the identical creates wins"
    );
    let listed = sandbox.get("/identities?limit=100").await;
    assert_eq!(listed.expect(200)["pagination"]["count"], 21);
    for (answer, (expected, _)) in answers.iter().zip(&bodies) {
        if answer.status.as_u16() == 201 {
            let id = answer.id();
            sandbox.get(&format!("/identities/{id}")).await.expect(200);
            assert_ne!(*expected, 400);
        }
    }
}
