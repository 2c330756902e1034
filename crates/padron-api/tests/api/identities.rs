//! Create, read, update, delete, status, rules and permissions (spec §5, §6).

use axum::http::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, organization, user, with};

crate::on_both_backends!(
    create_returns_201_with_every_field_in_the_current_shape,
    the_legacy_shape_uses_empty_strings_and_null_children,
    ids_are_24_hex_characters_in_creation_order,
    get_returns_the_identity_with_its_etag,
    patch_merges_objects_clears_nulls_and_keeps_absent_fields,
    patch_refuses_to_clear_required_fields_with_code_12,
    patch_refuses_to_change_read_only_fields_but_accepts_their_current_value,
    patch_validates_changed_fields_like_create,
    an_empty_patch_changes_nothing,
    status_follows_the_onboarding_order,
    blocked_is_refused_at_creation,
    delete_answers_204_and_the_identity_is_gone_everywhere,
    rules_are_merged_and_removed_by_key_or_all_at_once,
    permissions_are_granted_listed_and_revoked,
    permissions_need_an_existing_reference,
    if_match_with_a_stale_version_answers_412_and_changes_nothing,
    unknown_fields_are_ignored_and_reported_as_warnings,
    concurrent_patches_without_if_match_all_apply_one_after_the_other,
    the_two_factor_alias_works_in_a_patch,
    permission_scopes_with_a_resource_or_reference_of_the_wrong_type_answer_400_code_11,
    a_patch_lists_read_only_errors_together_with_every_other_bad_field,
    a_patch_that_changes_nothing_still_reports_its_warnings,
    granting_permissions_already_held_changes_no_version,
    countries_must_be_upper_case_alpha3_codes,
);

async fn create_returns_201_with_every_field_in_the_current_shape(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let body = with(
        user(1),
        json!({
            "lastname": "  Pérez  ", "nickname": "SP1", "idv": "iv-1", "externalId": "ext-1",
            "securityOptions": {"twoFactorEnabled": true, "accessControl": {"scopes": ["read"]}},
            "address": {"street": "Av. Apoquindo", "streetNumber": "3000", "country": "CHL"},
            "bankAccount": {"accountNumber": "000123", "bank": "BancoEstado", "currency": "clp"},
            "rules": {"maxAmount": 1000}, "kyc": {"level": 2}, "watchList": {"hit": false},
            "extendedData": [{"k": "v"}], "children": []
        }),
    );
    let res = sandbox.post("/identities", body).await;
    let got = res.expect(201);
    assert_eq!(res.headers["etag"], "\"1\"");
    assert_eq!(
        res.headers["location"],
        format!("/sandbox/identities/{}", got["id"].as_str().unwrap()).as_str()
    );
    assert_eq!(got["type"], "USER");
    assert_eq!(got["name"], "User 1");
    assert_eq!(got["lastname"], "Pérez", "strings are trimmed");
    assert_eq!(got["gender"], Value::Null, "unset optional values are null");
    assert_eq!(got["documentNumber"], "17604011-4", "canonical form");
    assert_eq!(got["phone"], "+56961234567", "E.164");
    assert_eq!(got["status"], "ACTIVE");
    assert_eq!(got["version"], 1);
    assert_eq!(got["children"], json!([]));
    assert_eq!(
        got["securityOptions"],
        json!({"twoFactorAuth": true, "signTrx": false, "signAccountsOperations": false, "accessControl": {"scopes": ["read"]}})
    );
    assert_eq!(got["address"]["street"], "Av. Apoquindo");
    assert_eq!(got["address"]["administrativeAreaLevel1"], Value::Null);
    assert_eq!(got["bankAccount"]["currency"], "CLP");
    assert_eq!(got["rules"], json!({"maxAmount": 1000}));
    assert_eq!(got["extendedData"], json!([{"k": "v"}]));
    assert_eq!(got["warnings"], json!([]));
    for key in ["createdAt", "updatedAt"] {
        let ts = got[key].as_str().unwrap();
        assert!(ts.ends_with('Z') && ts.contains('T'), "{key}: {ts}");
    }
    assert!(
        got.get("nationality").is_none(),
        "legacy extras only in version 1"
    );
    // Read back, the stored identity is the same (warnings appear only in write answers).
    let mut read = sandbox
        .get(&format!("/identities/{}", got["id"].as_str().unwrap()))
        .await
        .expect(200)
        .clone();
    let mut created = got.clone();
    created.as_object_mut().unwrap().remove("warnings");
    read.as_object_mut().unwrap().remove("warnings");
    assert_eq!(read, created);
}

async fn the_legacy_shape_uses_empty_strings_and_null_children(app: &TestApp) {
    let legacy = app.sandbox().await.legacy();
    let got = legacy.create(user(1)).await;
    assert_eq!(got["gender"], "");
    assert_eq!(got["lastname"], "");
    assert_eq!(got["children"], Value::Null);
    assert_eq!(got["address"], Value::Null);
    for key in [
        "nationality",
        "dni",
        "userExternalId",
        "career",
        "birthDate",
        "accountHolderId",
        "accountConduitId",
        "contractId",
        "rulesId",
        "image",
        "deviceToken",
        "emailStatus",
    ] {
        assert_eq!(got[key], "", "{key}");
    }
    assert_eq!(got["contract"], Value::Null);
    assert_eq!(got["metadata"], Value::Null);
    assert!(got.get("logginAttempts").is_some());
    assert_eq!(got["documentNumber"], "17604011-4");
}

async fn ids_are_24_hex_characters_in_creation_order(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let got = sandbox
            .create(with(
                user(n),
                json!({"email": format!("order{n}@example.com")}),
            ))
            .await;
        let id = got["id"].as_str().unwrap().to_owned();
        assert_eq!(id.len(), 24);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{id}"
        );
        ids.push(id);
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
}

async fn get_returns_the_identity_with_its_etag(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let id = sandbox.create(organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = sandbox.get(&format!("/identities/{id}")).await;
    assert_eq!(res.expect(200)["type"], "ORGANIZATION");
    assert_eq!(res.headers["etag"], "\"1\"");
    assert!(res.body.get("warnings").is_none());
}

async fn patch_merges_objects_clears_nulls_and_keeps_absent_fields(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let created = sandbox
        .create(with(
            user(1),
            json!({"nickname": "old", "gender": "F", "address": {"street": "A", "streetNumber": "1"},
                   "securityOptions": {"signTrx": true}, "extendedData": [1, 2]}),
        ))
        .await;
    let id = created["id"].as_str().unwrap();
    let res = sandbox
        .patch(
            &format!("/identities/{id}"),
            json!({"nickname": "new", "gender": null, "address": {"streetNumber": "2", "optionalAddress": "Of. 5"},
                   "securityOptions": {"twoFactorAuth": true}, "extendedData": [3]}),
        )
        .await;
    let got = res.expect(200);
    assert_eq!(res.headers["etag"], "\"2\"");
    assert_eq!(got["version"], 2);
    assert_eq!(got["nickname"], "new");
    assert_eq!(got["gender"], Value::Null);
    assert_eq!(got["name"], "User 1", "absent fields stay");
    assert_eq!(got["address"]["street"], "A", "objects merge");
    assert_eq!(got["address"]["streetNumber"], "2");
    assert_eq!(got["address"]["optionalAddress"], "Of. 5");
    assert_eq!(got["securityOptions"]["signTrx"], true);
    assert_eq!(got["securityOptions"]["twoFactorAuth"], true);
    assert_eq!(got["extendedData"], json!([3]), "arrays replace");
    assert_eq!(got["createdAt"], created["createdAt"]);
    let read = sandbox.get(&format!("/identities/{id}")).await;
    assert_eq!(read.expect(200)["nickname"], "new");
    let cleared = sandbox
        .patch(&format!("/identities/{id}"), json!({"address": null}))
        .await;
    assert_eq!(cleared.expect(200)["address"], Value::Null);
}

async fn patch_refuses_to_clear_required_fields_with_code_12(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let id = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for field in ["name", "country", "documentType", "documentNumber"] {
        let res = sandbox
            .patch(&format!("/identities/{id}"), json!({ field: null }))
            .await;
        res.expect_error(400, "12");
        assert_eq!(res.error_fields(), vec![field]);
    }
    assert_eq!(
        sandbox.get(&format!("/identities/{id}")).await.expect(200)["version"],
        1
    );
}

async fn patch_refuses_to_change_read_only_fields_but_accepts_their_current_value(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let created = sandbox.create(user(1)).await;
    let id = created["id"].as_str().unwrap();
    let changes = [
        json!({"id": "ffffffffffffffffffffffff"}),
        json!({"type": "ORGANIZATION"}),
        json!({"createdAt": "2020-01-01T00:00:00Z"}),
        json!({"updatedAt": null}),
        json!({"version": 7}),
    ];
    for change in changes {
        let res = sandbox
            .patch(&format!("/identities/{id}"), change.clone())
            .await;
        res.expect_error(400, "11");
        assert_eq!(res.error_fields().len(), 1, "{change}");
    }
    let same = json!({"id": id, "type": "USER", "createdAt": created["createdAt"], "version": 1, "nickname": "ok"});
    sandbox
        .patch(&format!("/identities/{id}"), same)
        .await
        .expect(200);
}

async fn patch_validates_changed_fields_like_create(app: &TestApp) {
    let production = app.production().await;
    let id = production.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = production
        .patch(
            &format!("/identities/{id}"),
            json!({"documentNumber": "18.604.011-4"}),
        )
        .await;
    res.expect_error(400, "11");
    assert_eq!(res.error_fields(), vec!["documentNumber"]);
    // A new country re-checks the phone, which belongs to Chile.
    let res = production
        .patch(
            &format!("/identities/{id}"),
            json!({"country": "ARG", "documentType": "DNI", "documentNumber": "20123456"}),
        )
        .await;
    res.expect_error(400, "11");
    assert!(
        res.error_fields().contains(&"phone".to_owned()),
        "{:#}",
        res.body
    );
    let got = production
        .patch(
            &format!("/identities/{id}"),
            json!({"documentNumber": "176040114"}),
        )
        .await;
    assert_eq!(got.expect(200)["documentNumber"], "17604011-4");
}

async fn an_empty_patch_changes_nothing(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let created = sandbox.create(user(1)).await;
    let id = created["id"].as_str().unwrap();
    let got = sandbox
        .patch(&format!("/identities/{id}"), json!({"name": "User 1"}))
        .await;
    assert_eq!(got.expect(200)["version"], 1);
    assert_eq!(got.body["updatedAt"], created["updatedAt"]);
}

async fn status_follows_the_onboarding_order(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let id = sandbox
        .create(with(user(1), json!({"status": "PENDING"})))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/identities/{id}");
    let steps = [
        ("PENDING_PHONE_VALIDATION", 200),
        ("PENDING_EMAIL_VALIDATION", 422),
        ("PENDING_PHONE_VALIDATION", 200),
        ("ACTIVE", 200),
        ("SCREENING", 422),
        ("BLOCKED", 200),
        ("PENDING", 422),
        ("ACTIVE", 200),
    ];
    for (status, expected) in steps {
        let res = sandbox.patch(&path, json!({"status": status})).await;
        if expected == 200 {
            assert_eq!(res.expect(200)["status"], status);
        } else {
            res.expect_error(422, "21");
        }
    }
    sandbox
        .patch(&path, json!({"status": "ACTIVE"}))
        .await
        .expect(200);
    let res = sandbox.patch(&path, json!({"status": "DONE"})).await;
    res.expect_error(400, "11");
}

async fn blocked_is_refused_at_creation(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let res = sandbox
        .post("/identities", with(user(1), json!({"status": "BLOCKED"})))
        .await;
    res.expect_error(400, "11");
    assert_eq!(res.error_fields(), vec!["status"]);
    let got = sandbox
        .create(with(user(1), json!({"status": "SCREENING"})))
        .await;
    assert_eq!(got["status"], "SCREENING");
}

async fn delete_answers_204_and_the_identity_is_gone_everywhere(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox.create(organization()).await;
    let org_id = org["id"].as_str().unwrap();
    let user_id = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kid_id = sandbox
        .create(with(user(2), json!({"email": "kid@example.com"})))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sandbox
        .post(&format!("/identities/{org_id}/children"), json!([user_id]))
        .await
        .expect(200);
    sandbox
        .post(&format!("/identities/{user_id}/children"), json!([kid_id]))
        .await
        .expect(200);
    let res = sandbox.delete(&format!("/identities/{user_id}")).await;
    assert_eq!(res.status.as_u16(), 204);
    assert_eq!(res.body, Value::Null);
    sandbox
        .get(&format!("/identities/{user_id}"))
        .await
        .expect_error(404, "31");
    sandbox
        .patch(&format!("/identities/{user_id}"), json!({"name": "x"}))
        .await
        .expect_error(404, "31");
    sandbox
        .delete(&format!("/identities/{user_id}"))
        .await
        .expect_error(404, "31");
    sandbox
        .post(&format!("/identities/{user_id}/children"), json!([kid_id]))
        .await
        .expect_error(404, "31");
    let parent = sandbox.get(&format!("/identities/{org_id}")).await;
    assert_eq!(
        parent.expect(200)["children"],
        json!([]),
        "removed from every parent"
    );
    assert_eq!(
        parent.body["version"], 3,
        "the parent's representation changed"
    );
    let list = sandbox.get("/identities?type=USER").await;
    let ids: Vec<&str> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![kid_id.as_str()]);
    let listed = sandbox
        .get(&format!("/identities?parentId={user_id}"))
        .await;
    assert_eq!(
        listed.expect(200)["data"],
        json!([]),
        "its own child links are dropped"
    );
    // Its values no longer count for uniqueness.
    sandbox.create(user(1)).await;
}

async fn rules_are_merged_and_removed_by_key_or_all_at_once(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let id = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/identities/{id}/rules");
    let got = sandbox
        .post(&path, json!({"limit": 10, "nested": {"a": 1}}))
        .await;
    assert_eq!(
        got.expect(200)["rules"],
        json!({"limit": 10, "nested": {"a": 1}})
    );
    let got = sandbox
        .post(&path, json!({"nested": {"b": 2}, "other": true}))
        .await;
    assert_eq!(
        got.expect(200)["rules"],
        json!({"limit": 10, "nested": {"a": 1, "b": 2}, "other": true})
    );
    let got = sandbox
        .call(Method::DELETE, &path, Some(json!(["limit", "missing"])))
        .await;
    assert_eq!(
        got.expect(200)["rules"],
        json!({"nested": {"a": 1, "b": 2}, "other": true})
    );
    // No body is no body, even with a JSON content type.
    let req = sandbox
        .builder(Method::DELETE, &path)
        .header("content-type", "application/json")
        .body(axum::body::Body::empty())
        .unwrap();
    let got = app.send(req).await;
    assert_eq!(got.expect(200)["rules"], Value::Null);
    let version = got.body["version"].clone();
    let again = sandbox
        .call(Method::DELETE, &path, Some(json!(["gone"])))
        .await;
    assert_eq!(
        again.expect(200)["version"],
        version,
        "removing from no rules changes nothing"
    );
    let again = sandbox.post(&path, json!({})).await;
    assert_eq!(
        again.expect(200)["version"],
        version,
        "merging nothing changes nothing"
    );
    assert_eq!(again.body["rules"], Value::Null);
    sandbox
        .call(Method::DELETE, &path, Some(json!([1])))
        .await
        .expect_error(400, "11");
    let huge: serde_json::Map<String, Value> = (0..2000)
        .map(|i| (format!("key{i}"), json!("value")))
        .collect();
    sandbox
        .post(&path, Value::Object(huge))
        .await
        .expect_error(400, "11");
}

async fn permissions_are_granted_listed_and_revoked(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox.create(organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let member = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/identities/{member}/permissions");
    assert_eq!(sandbox.get(&path).await.expect(200), &json!([]));
    let grant =
        json!([{"resource": "IDENTITY", "reference": org, "permissions": ["READ", "WRITE"]}]);
    assert_eq!(sandbox.post(&path, grant).await.expect(200), &json!({}));
    let more =
        json!([{"resource": "IDENTITY", "reference": org, "permissions": ["WRITE", "SIGN"]}]);
    sandbox.post(&path, more).await.expect(200);
    let listed = sandbox.get(&path).await;
    assert_eq!(
        listed.expect(200),
        &json!([{"resource": "IDENTITY", "reference": org, "permissions": ["READ", "WRITE", "SIGN"]}])
    );
    let res = sandbox
        .delete(&format!("/identities/{member}/permissions/{org}"))
        .await;
    assert_eq!(res.expect(200), &json!({}));
    assert_eq!(sandbox.get(&path).await.expect(200), &json!([]));
    sandbox
        .get("/identities/ffffffffffffffffffffffff/permissions")
        .await
        .expect_error(404, "31");
}

async fn permissions_need_an_existing_reference(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let member = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/identities/{member}/permissions");
    let bad = [
        json!([{"resource": "IDENTITY", "reference": "ffffffffffffffffffffffff", "permissions": ["READ"]}]),
        json!([{"resource": "IDENTITY", "reference": "nope", "permissions": ["READ"]}]),
        json!([{"resource": "ACCOUNT", "reference": member, "permissions": ["READ"]}]),
        json!([{"resource": "IDENTITY", "reference": member, "permissions": "READ"}]),
        json!([{"resource": "IDENTITY", "reference": member, "permissions": []}]),
    ];
    for body in bad {
        sandbox
            .post(&path, body.clone())
            .await
            .expect_error(400, "11");
    }
    sandbox
        .post(&path, json!({"resource": "IDENTITY"}))
        .await
        .expect_error(400, "14");
    assert_eq!(sandbox.get(&path).await.expect(200), &json!([]));
}

async fn if_match_with_a_stale_version_answers_412_and_changes_nothing(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let id = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kid = sandbox
        .create(with(user(2), json!({"email": "k@example.com"})))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/identities/{id}");
    let ok = sandbox
        .call_with(
            Method::PATCH,
            &path,
            Some(json!({"nickname": "a"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(ok.expect(200)["version"], 2);
    let stale = [
        (Method::PATCH, path.clone(), Some(json!({"nickname": "b"}))),
        (Method::POST, format!("{path}/children"), Some(json!([kid]))),
        (
            Method::DELETE,
            format!("{path}/children"),
            Some(json!([kid])),
        ),
        (Method::POST, format!("{path}/rules"), Some(json!({"a": 1}))),
        (Method::DELETE, format!("{path}/rules"), None),
        (Method::DELETE, path.clone(), None),
    ];
    for (method, p, body) in stale {
        let res = sandbox
            .call_with(method.clone(), &p, body, &[("if-match", "1")])
            .await;
        res.expect_error(412, "21");
    }
    let now = sandbox.get(&path).await;
    assert_eq!(now.expect(200)["version"], 2);
    assert_eq!(now.body["nickname"], "a");
    let res = sandbox
        .call_with(Method::DELETE, &path, None, &[("if-match", "2")])
        .await;
    assert_eq!(res.status.as_u16(), 204);
}

async fn unknown_fields_are_ignored_and_reported_as_warnings(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let got = sandbox
        .create(with(
            user(1),
            json!({"favouriteColour": "blue", "id": "ffffffffffffffffffffffff"}),
        ))
        .await;
    let warnings = got["warnings"].as_array().unwrap();
    let fields: Vec<&str> = warnings
        .iter()
        .map(|w| w["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"favouriteColour"), "{warnings:?}");
    assert!(fields.contains(&"id"), "{warnings:?}");
    assert_ne!(got["id"], "ffffffffffffffffffffffff");
    assert!(got.get("favouriteColour").is_none());
}

async fn concurrent_patches_without_if_match_all_apply_one_after_the_other(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let id = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/identities/{id}");
    let tasks = (0..30).map(|i| {
        let sandbox = sandbox.clone();
        let path = path.clone();
        async move {
            sandbox
                .patch(&path, json!({"nickname": format!("n{i}")}))
                .await
                .status
                .as_u16()
        }
    });
    let statuses = crate::children::futures_join_all(tasks).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(sandbox.get(&path).await.expect(200)["version"], 31);
}

async fn the_two_factor_alias_works_in_a_patch(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let id = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/identities/{id}");
    let got = sandbox
        .patch(
            &path,
            json!({"securityOptions": {"twoFactorEnabled": true}}),
        )
        .await;
    assert_eq!(got.expect(200)["securityOptions"]["twoFactorAuth"], true);
    let got = sandbox
        .patch(
            &path,
            json!({"securityOptions": {"twoFactorEnabled": false, "twoFactorAuth": true}}),
        )
        .await;
    got.expect_error(400, "11");
}

async fn permission_scopes_with_a_resource_or_reference_of_the_wrong_type_answer_400_code_11(
    app: &TestApp,
) {
    let sandbox = app.sandbox().await;
    let member = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/identities/{member}/permissions");
    let cases = [
        (
            json!([{"resource": 1, "reference": member, "permissions": ["READ"]}]),
            vec!["[0].resource"],
        ),
        (
            json!([{"resource": "IDENTITY", "reference": 42, "permissions": ["READ"]}]),
            vec!["[0].reference"],
        ),
        (
            json!([{"resource": ["IDENTITY"], "reference": {"id": member}, "permissions": ["READ"]}]),
            vec!["[0].resource", "[0].reference"],
        ),
        // A wrong type next to a missing field: still 11, both listed.
        (
            json!([{"reference": true, "permissions": ["READ"]}]),
            vec!["[0].resource", "[0].reference"],
        ),
    ];
    for (body, fields) in cases {
        let res = sandbox.post(&path, body.clone()).await;
        res.expect_error(400, "11");
        assert_eq!(res.error_fields(), fields, "{body}");
    }
    let res = sandbox
        .post(
            &path,
            json!([{"resource": "IDENTITY", "reference": 42, "permissions": ["READ"]}]),
        )
        .await;
    assert_eq!(res.body["errors"][0]["code"], "invalidType");
    // Absent or null is still a missing field (12).
    let res = sandbox
        .post(
            &path,
            json!([{"resource": "IDENTITY", "reference": null, "permissions": ["READ"]}]),
        )
        .await;
    res.expect_error(400, "12");
    assert_eq!(res.error_fields(), ["[0].reference"]);
}

async fn a_patch_lists_read_only_errors_together_with_every_other_bad_field(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let id = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = sandbox
        .patch(
            &format!("/identities/{id}"),
            json!({"id": "ffffffffffffffffffffffff", "version": 9, "name": 42,
                   "email": "not an email", "documentNumber": "x"}),
        )
        .await;
    res.expect_error(400, "11");
    let mut fields = res.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec!["documentNumber", "email", "id", "name", "version"],
        "{:#}",
        res.body
    );
    // Nothing changed.
    assert_eq!(
        sandbox.get(&format!("/identities/{id}")).await.expect(200)["version"],
        1
    );
}

async fn a_patch_that_changes_nothing_still_reports_its_warnings(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let created = sandbox.create(user(1)).await;
    let id = created["id"].as_str().unwrap();
    let got = sandbox
        .patch(
            &format!("/identities/{id}"),
            json!({"favouriteColour": "x"}),
        )
        .await;
    let body = got.expect(200);
    assert_eq!(body["version"], 1);
    assert_eq!(body["updatedAt"], created["updatedAt"]);
    assert_eq!(got.headers["etag"], "\"1\"");
    let warnings = body["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["field"], "favouriteColour");
    assert_eq!(warnings[0]["code"], "unknownField");
    // The sandbox's strict-level findings too: the RUT below has a wrong check digit, and sending
    // it again (in another spelling) changes nothing.
    let odd = sandbox
        .create(with(
            user(2),
            json!({"email": "odd@example.com", "documentNumber": "18.604.011-4"}),
        ))
        .await;
    let odd_id = odd["id"].as_str().unwrap();
    assert!(!odd["warnings"].as_array().unwrap().is_empty());
    let got = sandbox
        .patch(
            &format!("/identities/{odd_id}"),
            json!({"documentNumber": "186040114", "nickname": null}),
        )
        .await;
    let body = got.expect(200);
    assert_eq!(body["version"], 1);
    assert_eq!(body["updatedAt"], odd["updatedAt"]);
    let fields: Vec<&str> = body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"documentNumber"), "{body:#}");
}

async fn granting_permissions_already_held_changes_no_version(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox.create(organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let member = sandbox.create(user(1)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/identities/{member}/permissions");
    let scope =
        |names: Value| json!([{"resource": "IDENTITY", "reference": org, "permissions": names}]);
    sandbox
        .post(&path, scope(json!(["READ", "WRITE"])))
        .await
        .expect(200);
    let granted = sandbox.get(&format!("/identities/{member}")).await;
    let granted = granted.expect(200).clone();
    assert_eq!(granted["version"], 2);
    // Everything here is already held: the same names, a subset, a repeat, another case of
    // the resource.
    for again in [
        scope(json!(["READ", "WRITE"])),
        scope(json!(["WRITE"])),
        json!([{"resource": "identity", "reference": org, "permissions": ["READ"]},
               {"resource": "IDENTITY", "reference": org, "permissions": ["READ", "WRITE"]}]),
    ] {
        sandbox.post(&path, again.clone()).await.expect(200);
        let now = sandbox.get(&format!("/identities/{member}")).await;
        let now = now.expect(200);
        assert_eq!(now["version"], 2, "{again}");
        assert_eq!(now["updatedAt"], granted["updatedAt"], "{again}");
    }
    // A new name is a change.
    sandbox
        .post(&path, scope(json!(["SIGN"])))
        .await
        .expect(200);
    let now = sandbox.get(&format!("/identities/{member}")).await;
    assert_eq!(now.expect(200)["version"], 3);
    assert_eq!(
        sandbox.get(&path).await.expect(200),
        &scope(json!(["READ", "WRITE", "SIGN"]))
    );
}

async fn countries_must_be_upper_case_alpha3_codes(app: &TestApp) {
    let sandbox = app.sandbox().await;
    for bad in ["chl", "Chl", "cHL"] {
        let res = sandbox
            .post("/identities", with(user(1), json!({"country": bad})))
            .await;
        res.expect_error(400, "11");
        assert_eq!(res.error_fields(), ["country"], "{bad}");
        assert!(
            res.body["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("upper-case"),
            "{:#}",
            res.body
        );
    }
    let created = sandbox.create(user(1)).await;
    let id = created["id"].as_str().unwrap();
    let res = sandbox
        .patch(&format!("/identities/{id}"), json!({"country": "chl"}))
        .await;
    res.expect_error(400, "11");
    assert_eq!(res.error_fields(), ["country"]);
    // Sending the stored value is fine.
    sandbox
        .patch(&format!("/identities/{id}"), json!({"country": "CHL"}))
        .await
        .expect(200);
    let res = sandbox.get("/identities?country=chl").await;
    res.expect_error(400, "11");
    assert_eq!(res.error_fields(), ["country"]);
    let listed = sandbox.get("/identities?country=CHL").await;
    assert_eq!(listed.expect(200)["pagination"]["count"], 1);
}
