//! The public onboarding recipe, bodies exactly as published: read from
//! `../shared/fixtures/seed-flow.json` when present, otherwise from the copy in this repo.

use serde_json::{Value, json};

use crate::helpers::TestApp;

crate::on_both_backends!(the_published_onboarding_recipe_works_end_to_end);

fn fixture() -> Value {
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/seed-flow.json"
    );
    let text = std::fs::read_to_string(shared)
        .unwrap_or_else(|_| include_str!("../fixtures/seed-flow.json").to_owned());
    serde_json::from_str(&text).expect("the seed flow fixture is JSON")
}

async fn the_published_onboarding_recipe_works_end_to_end(app: &TestApp) {
    let fx = fixture();
    let sandbox = app.sandbox().await;
    let expect = &fx["expect"];
    let created_status = expect["create_status"].as_u64().unwrap() as u16;
    let org = sandbox
        .post("/identities", fx["organization"].clone())
        .await;
    assert_eq!(org.expect(created_status)["type"], "ORGANIZATION");
    assert_eq!(org.body["status"], expect["identity_status"]);
    let mut ids = Vec::new();
    for u in fx["users"].as_array().unwrap() {
        let res = sandbox.post("/identities", u.clone()).await;
        let body = res.expect(created_status);
        assert_eq!(body["email"], u["email"]);
        assert_eq!(body["status"], expect["identity_status"]);
        ids.push(res.id());
    }
    let template = fx["link"]["body_template"]
        .to_string()
        .replace("<USER_1_ID>", &ids[0])
        .replace("<USER_2_ID>", &ids[1]);
    let link: Value = serde_json::from_str(&template).unwrap();
    let linked = sandbox
        .patch(&format!("/identities/{}", org.id()), link)
        .await;
    let body = linked.expect(expect["link_status"].as_u64().unwrap() as u16);
    let names: Vec<&str> = body["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = expect["children_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(names, expected);
    let read = sandbox.get(&format!("/identities/{}", org.id())).await;
    let child_ids: Vec<&str> = read.expect(200)["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        child_ids,
        ids.iter().map(String::as_str).collect::<Vec<_>>()
    );
    sandbox
        .post("/identities", fx["users"][0].clone())
        .await
        .expect_error(409, "13");
    let mut other = fx["users"][0].clone();
    other["email"] = json!("serviceprovider1+second@example.com");
    sandbox.post("/identities", other).await.expect(201);
}
