//! Listing with filters and keyset pagination (spec §8).

use serde_json::{Value, json};

use crate::helpers::{Backend, Caller, TestApp, organization, user, with};

crate::on_both_backends!(
    list_pages_in_creation_order_with_an_opaque_cursor,
    walking_every_page_sees_each_identity_exactly_once_while_others_are_created,
    every_filter_matches_exactly,
    limit_outside_1_to_100_and_malformed_cursors_answer_400,
    the_document_number_filter_is_exact_over_canonical_numbers,
    the_document_key_migration_recomputes_stored_keys,
);

/// An in-memory SQLite database has one connection, which reads go through (the read
/// connections of a database file cannot see it): gets, pages, filters and cursors the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_in_memory_sqlite_database_lists_and_reads_through_its_one_connection() {
    let fresh = || async {
        TestApp::spawn(Backend::SqliteInMemory)
            .await
            .expect("in-memory SQLite")
    };
    let app = fresh().await;
    list_pages_in_creation_order_with_an_opaque_cursor(&app).await;
    app.cleanup().await;
    let app = fresh().await;
    every_filter_matches_exactly(&app).await;
    app.cleanup().await;
}

async fn seed(caller: &Caller<'_>, n: u32) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let body = with(user(i), json!({"email": format!("list{i}@example.com")}));
        ids.push(caller.create(body).await["id"].as_str().unwrap().to_owned());
    }
    ids
}

fn page_ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn list_pages_in_creation_order_with_an_opaque_cursor(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let ids = seed(&sandbox, 5).await;
    let first = sandbox.get("/identities?limit=2").await;
    let body = first.expect(200);
    assert_eq!(body["pagination"]["limit"], 2);
    assert_eq!(body["pagination"]["count"], 2);
    assert_eq!(page_ids(body), ids[..2]);
    let next = body["pagination"]["next"].as_str().unwrap().to_owned();
    assert!(!next.contains(&ids[1]), "the cursor is opaque");
    let second = sandbox
        .get(&format!("/identities?limit=2&next={next}"))
        .await;
    assert_eq!(page_ids(second.expect(200)), ids[2..4]);
    let next = second.body["pagination"]["next"]
        .as_str()
        .unwrap()
        .to_owned();
    let last = sandbox
        .get(&format!("/identities?limit=2&next={next}"))
        .await;
    assert_eq!(page_ids(last.expect(200)), ids[4..]);
    assert_eq!(last.body["pagination"]["next"], Value::Null);
    let all = sandbox.get("/identities").await;
    assert_eq!(
        all.expect(200)["pagination"],
        json!({"limit": 20, "count": 5, "next": null})
    );
}

async fn walking_every_page_sees_each_identity_exactly_once_while_others_are_created(
    app: &TestApp,
) {
    let sandbox = app.sandbox().await;
    let ids = seed(&sandbox, 23).await;
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut extra = 100;
    loop {
        let path = match &next {
            Some(cursor) => format!("/identities?limit=4&next={cursor}"),
            None => "/identities?limit=4".to_owned(),
        };
        let page = sandbox.get(&path).await;
        seen.extend(page_ids(page.expect(200)));
        // Identities created during the walk come after every existing one.
        extra += 1;
        sandbox
            .create(with(
                user(extra),
                json!({"email": format!("late{extra}@example.com")}),
            ))
            .await;
        match page.body["pagination"]["next"].as_str() {
            Some(cursor) => next = Some(cursor.to_owned()),
            None => break,
        }
        assert!(seen.len() < 200, "the walk does not end");
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "an identity was seen twice");
    for id in &ids {
        assert!(seen.contains(id), "{id} was never seen");
    }
}

async fn every_filter_matches_exactly(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox
        .create(with(organization(), json!({"externalId": "org-1"})))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = sandbox
        .create(with(
            user(1),
            json!({"status": "PENDING", "externalId": "u-1"}),
        ))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = sandbox
        .create(json!({"type": "USER", "name": "Ana", "email": "ana@example.com", "phone": "+54 9 11 2345 6789",
                       "country": "ARG", "documentType": "DNI", "documentNumber": "20.123.456"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sandbox
        .post(&format!("/identities/{org}/children"), json!([b]))
        .await
        .expect(200);
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("type=ORGANIZATION", vec![&org]),
        ("type=USER", vec![&a, &b]),
        ("email=USER1@example.com", vec![&a]),
        ("documentNumber=17.604.011-4", vec![&a]),
        ("documentNumber=176040114", vec![&a]),
        ("documentNumber=20123456", vec![&b]),
        ("phone=%2B54%209%2011%202345-6789", vec![&b]),
        ("country=ARG", vec![&b]),
        ("status=PENDING", vec![&a]),
        ("externalId=org-1", vec![&org]),
        ("documentType=RUT", vec![&org, &a]),
        ("documentType=RUN", vec![&org, &a]),
        ("type=USER&country=CHL", vec![&a]),
        ("type=ORGANIZATION&country=ARG", vec![]),
        ("email=nobody@example.com", vec![]),
    ];
    for (query, expected) in cases {
        let res = sandbox.get(&format!("/identities?{query}")).await;
        assert_eq!(page_ids(res.expect(200)), expected, "{query}");
    }
    let children = sandbox.get(&format!("/identities?parentId={org}")).await;
    assert_eq!(page_ids(children.expect(200)), vec![b.clone()]);
    for bad in [
        "type=PERSON",
        "status=GONE",
        "country=CL",
        "parentId=xyz",
        "documentType=NOPE",
    ] {
        sandbox
            .get(&format!("/identities?{bad}"))
            .await
            .expect_error(400, "11");
    }
}

async fn limit_outside_1_to_100_and_malformed_cursors_answer_400(app: &TestApp) {
    let sandbox = app.sandbox().await;
    seed(&sandbox, 1).await;
    for bad in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "limit=-1",
        "next=!!!",
        "next=bm9wZQ",
    ] {
        let res = sandbox.get(&format!("/identities?{bad}")).await;
        res.expect_error(400, "11");
    }
    sandbox.get("/identities?limit=100").await.expect(200);
    sandbox.get("/identities?limit=1").await.expect(200);
}

/// A USER with a document of the given country and type, without a phone (which would have to
/// belong to the country).
async fn holder(caller: &Caller<'_>, n: u32, country: &str, kind: &str, number: &str) -> String {
    let body = json!({"type": "USER", "name": format!("Holder {n}"),
                      "email": format!("holder{n}@example.com"), "country": country,
                      "documentType": kind, "documentNumber": number});
    caller.create(body).await["id"].as_str().unwrap().to_owned()
}

async fn the_document_number_filter_is_exact_over_canonical_numbers(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let zeros = holder(&sandbox, 1, "CHL", "PASSPORT", "00AB123").await;
    let plain = holder(&sandbox, 2, "CHL", "PASSPORT", "AB123").await;
    let cpf = holder(&sandbox, 3, "BRA", "CPF", "012.345.678-90").await;
    let rut = holder(&sandbox, 4, "CHL", "RUT", "17.604.011-4").await;
    let rfc = holder(&sandbox, 5, "MEX", "RFC", "AÑA&850101AB1").await;
    let bare = holder(&sandbox, 6, "CHL", "PASSPORT", "AA850101AB1").await;
    let cases: Vec<(&str, Vec<&str>)> = vec![
        // An RFC's `Ñ` and `&` are part of the number (percent-encoded in the query).
        ("documentNumber=A%C3%91A%26850101AB1", vec![&rfc]),
        ("documentNumber=a%C3%B1a%26-850101-ab1", vec![&rfc]),
        ("documentNumber=AA850101AB1", vec![&bare]),
        // Leading zeros are part of a passport number.
        ("documentNumber=AB123", vec![&plain]),
        ("documentNumber=00AB123", vec![&zeros]),
        ("documentNumber=00ab123", vec![&zeros]),
        ("documentNumber=0AB123", vec![]),
        // A CPF keeps its leading zero; separators do not matter.
        ("documentNumber=1234567890", vec![]),
        ("documentNumber=01234567890", vec![&cpf]),
        ("documentNumber=012.345.678-90", vec![&cpf]),
        // A RUT's canonical body has no leading zeros: without the type, a filter with one is
        // another number; with country and type it is canonicalised like a stored RUT.
        ("documentNumber=17.604.011-4", vec![&rut]),
        ("documentNumber=017.604.011-4", vec![]),
        (
            "country=CHL&documentType=RUT&documentNumber=017.604.011-4",
            vec![&rut],
        ),
        (
            "country=CHL&documentType=RUN&documentNumber=0176040114",
            vec![&rut],
        ),
        (
            "country=BRA&documentType=CPF&documentNumber=012.345.678-90",
            vec![&cpf],
        ),
        (
            "country=CHL&documentType=PASSPORT&documentNumber=AB-123",
            vec![&plain],
        ),
        // A number that does not parse for the type is compared as given.
        ("country=CHL&documentType=RUT&documentNumber=AB123", vec![]),
    ];
    for (query, expected) in cases {
        let res = sandbox.get(&format!("/identities?{query}")).await;
        assert_eq!(page_ids(res.expect(200)), expected, "{query}");
    }
}

async fn the_document_key_migration_recomputes_stored_keys(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let zeros = holder(&sandbox, 1, "CHL", "PASSPORT", "00AB123").await;
    let rut = holder(&sandbox, 2, "CHL", "RUT", "17.604.011-4").await;
    let rfc = holder(&sandbox, 3, "MEX", "RFC", "AÑA&850101AB1").await;
    app.execute_sql(
        "update identities set document_key = 'AA850101AB1' where document_type = 'RFC'",
    )
    .await;
    // Put back the keys the earlier rule stored: leading zeros dropped, whatever the type.
    app.execute_sql(
        "update identities set document_key = 'AB123' where document_number = '00AB123'",
    )
    .await;
    app.execute_sql(
        "update identities set document_key = 'stale' where document_number = '17604011-4'",
    )
    .await;
    let before = sandbox.get("/identities?documentNumber=AB123").await;
    assert_eq!(page_ids(before.expect(200)), vec![zeros.clone()]);
    let migration = match app.backend {
        Backend::Sqlite | Backend::SqliteInMemory => {
            include_str!("../../../padron-store/migrations/sqlite/20261203000005_document_key.sql")
        }
        Backend::Postgres => include_str!(
            "../../../padron-store/migrations/postgres/20261203000005_document_key.sql"
        ),
    };
    app.execute_sql(migration).await;
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("documentNumber=AB123", vec![]),
        ("documentNumber=00AB123", vec![&zeros]),
        ("documentNumber=17.604.011-4", vec![&rut]),
        ("documentNumber=A%C3%91A%26850101AB1", vec![&rfc]),
        ("documentNumber=AA850101AB1", vec![]),
    ];
    for (query, expected) in cases {
        let res = sandbox.get(&format!("/identities?{query}")).await;
        assert_eq!(page_ids(res.expect(200)), expected, "{query}");
    }
    let stored = app
        .count_sql("select count(*) from identities where document_key in ('00AB123', '176040114')")
        .await;
    assert_eq!(stored, 2);
}
