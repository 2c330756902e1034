//! Children: add, remove, replace; same tenant only; no self-links, no cycles (spec §6.5).

use axum::http::Method;
use serde_json::{Value, json};

use crate::helpers::{Caller, TestApp, organization, user, with};

crate::on_both_backends!(
    patch_children_replaces_the_set_and_shows_each_childs_own_name_and_email,
    add_and_remove_children_are_idempotent,
    unknown_or_deleted_children_answer_400_naming_them_and_change_nothing,
    an_identity_cannot_be_its_own_child,
    links_cannot_form_a_cycle,
    an_identity_may_have_several_parents,
    more_than_a_thousand_children_per_request_answer_400,
    concurrent_replacements_leave_exactly_one_of_the_requested_sets,
    concurrent_opposite_links_never_store_a_cycle,
    concurrent_delete_and_link_never_leave_a_link_to_a_deleted_identity,
    concurrent_replace_add_and_delete_of_children_never_fail,
    a_patch_naming_the_current_children_with_repeats_changes_nothing,
    every_answer_shows_the_children_of_its_own_version,
    a_childs_new_name_and_email_show_in_each_of_its_parents,
    a_deleted_child_leaves_each_of_its_parents_and_its_links_go_with_it,
    concurrent_renames_and_links_leave_every_parent_showing_the_childs_last_name,
);

/// Each link added bumps the parent's version by one and adds one child, so any answer for the
/// parent must show `version - 1` children. No-op PATCHes racing the links check it on the path
/// that locks the row before reading: on PostgreSQL a read that waited for the lock must not
/// pair the new version with the children from before the wait.
async fn every_answer_shows_the_children_of_its_own_version(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox
        .create(with(organization(), json!({"nickname": "steady"})))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut kids = Vec::new();
    for n in 0..12 {
        kids.push(new_user(&sandbox, n).await);
    }
    let (org_path, children_path) = (
        format!("/identities/{org}"),
        format!("/identities/{org}/children"),
    );
    let adds = kids
        .iter()
        .map(|kid| sandbox.post(&children_path, json!([kid])));
    let noops = (0..12).map(|_| sandbox.patch(&org_path, json!({"nickname": "steady"})));
    let (added, patched) = tokio::join!(futures_join_all(adds), futures_join_all(noops));
    for answer in added.iter().chain(&patched) {
        let body = answer.expect(200);
        let version = body["version"].as_i64().unwrap();
        assert_eq!(
            ids(body).len() as i64,
            version - 1,
            "children and version disagree: {body:#}"
        );
    }
    let last = sandbox.get(&org_path).await;
    assert_eq!(last.expect(200)["version"], 13);
}

/// Parents show each child's name and email from their link rows: every change of those two
/// fields must reach every parent, and nothing else may touch them.
async fn a_childs_new_name_and_email_show_in_each_of_its_parents(app: &TestApp) {
    let sandbox = app.sandbox().await;
    // `c` is `a`'s own child: a renamed parent's children stay as they are.
    let [org1, org2, a, b, c] = two_parents_of_a_and_b(&sandbox).await;
    let children = |name_a: &str, email_a: Value| {
        json!([
            {"id": a, "name": name_a, "email": email_a},
            {"id": b, "name": "User 2", "email": "child2@example.com"}
        ])
    };
    let a_path = format!("/identities/{a}");
    // A parent's body shows its children's names and emails, so it gets a new version (and
    // ETag) whenever they change, and only then.
    let parent_versions = || async {
        let mut versions = Vec::new();
        for org in [&org1, &org2] {
            let got = sandbox.get(&format!("/identities/{org}")).await;
            let version = got.expect(200)["version"].as_i64().unwrap();
            assert_eq!(got.headers["etag"], format!("\"{version}\"").as_str());
            versions.push(version);
        }
        versions
    };
    let before = parent_versions().await;
    let renamed = sandbox
        .patch(
            &a_path,
            json!({"name": "Ana", "email": "Ana.New@Example.com"}),
        )
        .await;
    let stored_email = renamed.expect(200)["email"].clone();
    assert_eq!(renamed.body["children"][0]["id"], c.as_str());
    for org in [&org1, &org2] {
        let got = sandbox.get(&format!("/identities/{org}")).await;
        assert_eq!(
            got.expect(200)["children"],
            children("Ana", stored_email.clone()),
            "{org}"
        );
        let listed = sandbox.get(&format!("/identities?parentId={org}")).await;
        let page = listed.expect(200)["data"].clone();
        assert_eq!(page[0]["name"], "Ana");
        assert_eq!(page[0]["email"], stored_email);
    }
    let renamed_versions = parent_versions().await;
    assert_eq!(
        renamed_versions,
        before.iter().map(|v| v + 1).collect::<Vec<_>>()
    );
    // A change of other fields leaves the links and the parents as they are; the email removed
    // is gone too.
    sandbox
        .patch(&a_path, json!({"nickname": "ana", "name": "Ana"}))
        .await
        .expect(200);
    assert_eq!(parent_versions().await, renamed_versions);
    let got = sandbox.get(&format!("/identities/{org1}")).await;
    assert_eq!(
        got.expect(200)["children"],
        children("Ana", stored_email.clone())
    );
    sandbox
        .patch(&a_path, json!({"email": null}))
        .await
        .expect(200);
    assert_eq!(
        parent_versions().await,
        renamed_versions.iter().map(|v| v + 1).collect::<Vec<_>>()
    );
    for org in [&org1, &org2] {
        let got = sandbox.get(&format!("/identities/{org}")).await;
        assert_eq!(
            got.expect(200)["children"],
            children("Ana", Value::Null),
            "{org}"
        );
    }
    // A rename refused (a duplicate) changes no parent either.
    let dup = sandbox
        .patch(
            &a_path,
            json!({"name": "Refused", "email": "child2@example.com"}),
        )
        .await;
    dup.expect_error(409, "13");
    let got = sandbox.get(&format!("/identities/{org2}")).await;
    assert_eq!(got.expect(200)["children"], children("Ana", Value::Null));
    // The parent's answer to a PATCH that also replaces its children shows the new names.
    sandbox
        .patch(&format!("/identities/{b}"), json!({"name": "Bea"}))
        .await
        .expect(200);
    let got = sandbox
        .patch(&format!("/identities/{org1}"), json!({"children": [b, a]}))
        .await;
    assert_eq!(
        got.expect(200)["children"],
        json!([
            {"id": b, "name": "Bea", "email": "child2@example.com"},
            {"id": a, "name": "Ana", "email": null}
        ])
    );
}

/// A deleted identity is removed from every parent's `children` (spec §6.6), and no link row
/// names it any more, as parent or as child.
async fn a_deleted_child_leaves_each_of_its_parents_and_its_links_go_with_it(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let [org1, org2, a, b, c] = two_parents_of_a_and_b(&sandbox).await;
    assert_eq!(
        sandbox
            .delete(&format!("/identities/{a}"))
            .await
            .status
            .as_u16(),
        204
    );
    for org in [&org1, &org2] {
        let got = sandbox.get(&format!("/identities/{org}")).await;
        let got = got.expect(200);
        assert_eq!(
            got["children"],
            json!([{"id": b, "name": "User 2", "email": "child2@example.com"}])
        );
        // The parent's representation changed: so did its version (2 after the link, 3 now).
        assert_eq!(got["version"], 3);
    }
    let links = app
        .count_sql(&format!(
            "select count(*) from identity_children where parent_id = '{a}' or child_id = '{a}'"
        ))
        .await;
    assert_eq!(links, 0);
    // Its former child lives on, parentless.
    let got = sandbox.get(&format!("/identities/{c}")).await;
    assert_eq!(got.expect(200)["name"], "User 3");
}

/// A link copies the child's name and email into the link row while renames of the child run:
/// whichever commits first, every parent ends up showing the name the child has.
async fn concurrent_renames_and_links_leave_every_parent_showing_the_childs_last_name(
    app: &TestApp,
) {
    let sandbox = app.sandbox().await;
    let [org1, org2] = two_organizations(&sandbox).await;
    for round in 0..8 {
        let child = new_user(&sandbox, round).await;
        let (child_path, link_path, org2_path) = (
            format!("/identities/{child}"),
            format!("/identities/{org1}/children"),
            format!("/identities/{org2}"),
        );
        let (link1, link2, rename1, rename2) = tokio::join!(
            sandbox.post(&link_path, json!([child])),
            sandbox.patch(&org2_path, json!({"children": [child]})),
            sandbox.patch(
                &child_path,
                json!({"name": format!("First {round}"), "email": format!("first{round}@example.com")})
            ),
            sandbox.patch(
                &child_path,
                json!({"name": format!("Second {round}"), "email": format!("second{round}@example.com")})
            ),
        );
        for answer in [&link1, &link2, &rename1, &rename2] {
            answer.expect(200);
        }
        let own = sandbox.get(&child_path).await;
        let own = own.expect(200);
        let shown = json!({"id": child, "name": own["name"], "email": own["email"]});
        for org in [&org1, &org2] {
            let got = sandbox.get(&format!("/identities/{org}")).await;
            let kids = got.expect(200)["children"].as_array().unwrap().clone();
            assert!(
                kids.contains(&shown),
                "round {round}: {org} shows {kids:?}, the child is {shown}"
            );
        }
    }
}

/// Two organizations: the recipe's, and one with another RUT.
async fn two_organizations(caller: &Caller<'_>) -> [String; 2] {
    let second = with(
        organization(),
        json!({"documentNumber": "76.086.428-5", "name": "Operator 2"}),
    );
    let mut ids = Vec::new();
    for body in [organization(), second] {
        ids.push(caller.create(body).await["id"].as_str().unwrap().to_owned());
    }
    [ids[0].clone(), ids[1].clone()]
}

/// `[org1, org2, a, b, c]`: both organizations are parents of users `a` and `b` (in that
/// order), and `c` is `a`'s child.
async fn two_parents_of_a_and_b(caller: &Caller<'_>) -> [String; 5] {
    let [org1, org2] = two_organizations(caller).await;
    let a = new_user(caller, 1).await;
    let b = new_user(caller, 2).await;
    let c = new_user(caller, 3).await;
    for org in [&org1, &org2] {
        caller
            .post(&format!("/identities/{org}/children"), json!([a, b]))
            .await
            .expect(200);
    }
    caller
        .post(&format!("/identities/{a}/children"), json!([c]))
        .await
        .expect(200);
    [org1, org2, a, b, c]
}

async fn new_user(caller: &Caller<'_>, n: u32) -> String {
    let body = with(user(n), json!({"email": format!("child{n}@example.com")}));
    caller.create(body).await["id"].as_str().unwrap().to_owned()
}

fn ids(identity: &Value) -> Vec<String> {
    identity["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn patch_children_replaces_the_set_and_shows_each_childs_own_name_and_email(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox.create(organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = new_user(&sandbox, 1).await;
    let b = new_user(&sandbox, 2).await;
    let c = new_user(&sandbox, 3).await;
    let path = format!("/identities/{org}");
    let body =
        json!({"children": [{"id": a, "name": "ignored", "email": "ignored@example.com"}, b]});
    let got = sandbox.patch(&path, body).await;
    assert_eq!(
        got.expect(200)["children"],
        json!([
            {"id": a, "name": "User 1", "email": "child1@example.com"},
            {"id": b, "name": "User 2", "email": "child2@example.com"}
        ])
    );
    let got = sandbox.patch(&path, json!({"children": [c]})).await;
    assert_eq!(ids(got.expect(200)), vec![c.clone()]);
    // A child's own changes show in its parent.
    sandbox
        .patch(&format!("/identities/{c}"), json!({"name": "Renamed"}))
        .await
        .expect(200);
    let got = sandbox.get(&path).await;
    assert_eq!(got.expect(200)["children"][0]["name"], "Renamed");
    let got = sandbox.patch(&path, json!({"children": []})).await;
    assert_eq!(got.expect(200)["children"], json!([]));
}

async fn add_and_remove_children_are_idempotent(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox.create(organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = new_user(&sandbox, 1).await;
    let b = new_user(&sandbox, 2).await;
    let path = format!("/identities/{org}/children");
    let got = sandbox.post(&path, json!([a, a])).await;
    assert_eq!(ids(got.expect(200)), vec![a.clone()]);
    assert_eq!(got.body["version"], 2);
    let got = sandbox.post(&path, json!([a, b])).await;
    assert_eq!(ids(got.expect(200)), vec![a.clone(), b.clone()]);
    let got = sandbox.post(&path, json!([a])).await;
    assert_eq!(
        got.expect(200)["version"],
        3,
        "adding an existing child changes nothing"
    );
    let got = sandbox
        .call(
            Method::DELETE,
            &path,
            Some(json!([a, "ffffffffffffffffffffffff"])),
        )
        .await;
    assert_eq!(ids(got.expect(200)), vec![b.clone()]);
    let got = sandbox.call(Method::DELETE, &path, Some(json!([a]))).await;
    assert_eq!(
        got.expect(200)["version"],
        4,
        "removing a non-child changes nothing"
    );
    sandbox
        .call(Method::DELETE, &path, Some(json!(["nope"])))
        .await
        .expect_error(400, "11");
}

async fn unknown_or_deleted_children_answer_400_naming_them_and_change_nothing(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox.create(organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = new_user(&sandbox, 1).await;
    let gone = new_user(&sandbox, 2).await;
    sandbox.delete(&format!("/identities/{gone}")).await;
    let missing = "ffffffffffffffffffffffff";
    let res = sandbox
        .post(
            &format!("/identities/{org}/children"),
            json!([a, missing, gone]),
        )
        .await;
    res.expect_error(400, "11");
    let text = res.body.to_string();
    assert!(text.contains(missing) && text.contains(&gone), "{text}");
    assert!(
        !res.body["errors"].to_string().contains(&a),
        "only the bad ids are named"
    );
    let res = sandbox
        .patch(
            &format!("/identities/{org}"),
            json!({"children": [a, missing], "nickname": "x"}),
        )
        .await;
    res.expect_error(400, "11");
    let now = sandbox.get(&format!("/identities/{org}")).await;
    assert_eq!(now.expect(200)["children"], json!([]), "no partial change");
    assert_eq!(now.body["nickname"], Value::Null);
    assert_eq!(now.body["version"], 1);
}

async fn an_identity_cannot_be_its_own_child(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox.create(organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sandbox
        .post(&format!("/identities/{org}/children"), json!([org]))
        .await
        .expect_error(422, "21");
    sandbox
        .patch(&format!("/identities/{org}"), json!({"children": [org]}))
        .await
        .expect_error(422, "21");
}

async fn links_cannot_form_a_cycle(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let a = new_user(&sandbox, 1).await;
    let b = new_user(&sandbox, 2).await;
    let c = new_user(&sandbox, 3).await;
    sandbox
        .post(&format!("/identities/{a}/children"), json!([b]))
        .await
        .expect(200);
    sandbox
        .post(&format!("/identities/{b}/children"), json!([c]))
        .await
        .expect(200);
    sandbox
        .post(&format!("/identities/{c}/children"), json!([a]))
        .await
        .expect_error(422, "21");
    sandbox
        .patch(&format!("/identities/{c}"), json!({"children": [a]}))
        .await
        .expect_error(422, "21");
    sandbox
        .post(&format!("/identities/{b}/children"), json!([a]))
        .await
        .expect_error(422, "21");
    let got = sandbox.get(&format!("/identities/{c}")).await;
    assert_eq!(got.expect(200)["children"], json!([]));
    // A diamond is not a cycle.
    sandbox
        .post(&format!("/identities/{a}/children"), json!([c]))
        .await
        .expect(200);
}

async fn an_identity_may_have_several_parents(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let [org1, org2] = two_organizations(&sandbox).await;
    let a = new_user(&sandbox, 1).await;
    sandbox
        .post(&format!("/identities/{org1}/children"), json!([a]))
        .await
        .expect(200);
    sandbox
        .post(&format!("/identities/{org2}/children"), json!([a]))
        .await
        .expect(200);
    for org in [&org1, &org2] {
        let listed = sandbox.get(&format!("/identities?parentId={org}")).await;
        assert_eq!(listed.expect(200)["data"][0]["id"], a.as_str());
    }
}

async fn more_than_a_thousand_children_per_request_answer_400(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox.create(organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let many: Vec<String> = (0..1001).map(|i| format!("{i:024x}")).collect();
    sandbox
        .post(&format!("/identities/{org}/children"), json!(many))
        .await
        .expect_error(400, "11");
}

async fn concurrent_replacements_leave_exactly_one_of_the_requested_sets(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox.create(organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut users = Vec::new();
    for n in 0..10 {
        users.push(new_user(&sandbox, n).await);
    }
    // 50 requests, each asking for a different set of three children.
    let sets: Vec<Vec<String>> = (0..50)
        .map(|i| {
            (0..3)
                .map(|k| users[(i + k * 3) % users.len()].clone())
                .collect()
        })
        .collect();
    let tasks = sets.iter().map(|set| {
        let sandbox = sandbox.clone();
        let path = format!("/identities/{org}");
        async move {
            sandbox
                .patch(&path, json!({"children": set}))
                .await
                .status
                .as_u16()
        }
    });
    let statuses = futures_join_all(tasks).await;
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    let got = sandbox.get(&format!("/identities/{org}")).await;
    let mut final_set = ids(got.expect(200));
    final_set.sort();
    assert!(
        sets.iter().any(|s| {
            let mut s = s.clone();
            s.sort();
            s == final_set
        }),
        "the final children {final_set:?} are a mix of requests"
    );
}

/// Runs futures concurrently on the current task.
pub async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    futures_util::future::join_all(futures).await
}

async fn concurrent_opposite_links_never_store_a_cycle(app: &TestApp) {
    let sandbox = app.sandbox().await;
    for round in 0..10 {
        let a = new_user(&sandbox, round * 2).await;
        let b = new_user(&sandbox, round * 2 + 1).await;
        let (a_path, b_path) = (
            format!("/identities/{a}/children"),
            format!("/identities/{b}/children"),
        );
        let (ab, ba) = tokio::join!(
            sandbox.post(&a_path, json!([b])),
            sandbox.post(&b_path, json!([a]))
        );
        let statuses = [ab.status.as_u16(), ba.status.as_u16()];
        assert!(
            statuses.contains(&422),
            "one link must be refused: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 422),
            "{statuses:?}"
        );
        let a_kids = ids(sandbox.get(&format!("/identities/{a}")).await.expect(200));
        let b_kids = ids(sandbox.get(&format!("/identities/{b}")).await.expect(200));
        assert!(
            !(a_kids.contains(&b) && b_kids.contains(&a)),
            "a cycle was stored"
        );
    }
}

async fn concurrent_delete_and_link_never_leave_a_link_to_a_deleted_identity(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox.create(organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for round in 0..10 {
        let child = new_user(&sandbox, round).await;
        let (link_path, child_path) = (
            format!("/identities/{org}/children"),
            format!("/identities/{child}"),
        );
        let (linked, deleted) = tokio::join!(
            sandbox.post(&link_path, json!([child])),
            sandbox.delete(&child_path)
        );
        assert_eq!(deleted.status.as_u16(), 204);
        assert!(
            matches!(linked.status.as_u16(), 200 | 400),
            "{:#}",
            linked.body
        );
        let kids = ids(sandbox.get(&format!("/identities/{org}")).await.expect(200));
        assert!(
            !kids.contains(&child),
            "round {round}: a deleted identity is still a child"
        );
        let listed = sandbox.get(&format!("/identities?parentId={org}")).await;
        assert!(!listed.body.to_string().contains(&child));
    }
    // The link table itself holds no row pointing at a deleted identity.
    let dangling = app
        .count_sql(
            "select count(*) from identity_children c join identities i on i.id = c.child_id \
             where i.deleted_at is not null",
        )
        .await;
    assert_eq!(dangling, 0);
}

async fn concurrent_replace_add_and_delete_of_children_never_fail(app: &TestApp) {
    // Each of these takes the tenant's link lock and row locks; taken in different orders they
    // would deadlock on PostgreSQL.
    let sandbox = app.sandbox().await;
    let org = sandbox.create(organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for round in 0..8 {
        let a = new_user(&sandbox, round * 3).await;
        let b = new_user(&sandbox, round * 3 + 1).await;
        let c = new_user(&sandbox, round * 3 + 2).await;
        sandbox
            .post(&format!("/identities/{org}/children"), json!([c]))
            .await
            .expect(200);
        let (org_path, children_path, c_path) = (
            format!("/identities/{org}"),
            format!("/identities/{org}/children"),
            format!("/identities/{c}"),
        );
        let (replaced, added, deleted, renamed) = tokio::join!(
            sandbox.patch(
                &org_path,
                json!({"children": [a, c], "nickname": format!("r{round}")})
            ),
            sandbox.post(&children_path, json!([b])),
            sandbox.delete(&c_path),
            sandbox.patch(&org_path, json!({"nickname": format!("n{round}")})),
        );
        assert!(
            matches!(replaced.status.as_u16(), 200 | 400),
            "{:#}",
            replaced.body
        );
        assert_eq!(added.status.as_u16(), 200, "{:#}", added.body);
        assert_eq!(deleted.status.as_u16(), 204, "{:#}", deleted.body);
        assert_eq!(renamed.status.as_u16(), 200, "{:#}", renamed.body);
        let kids = ids(sandbox.get(&org_path).await.expect(200));
        assert!(!kids.contains(&c), "a deleted identity is still a child");
    }
}

async fn a_patch_naming_the_current_children_with_repeats_changes_nothing(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let org = sandbox.create(organization()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = new_user(&sandbox, 1).await;
    let b = new_user(&sandbox, 2).await;
    let path = format!("/identities/{org}");
    let linked = sandbox.patch(&path, json!({"children": [a, b]})).await;
    let linked = linked.expect(200).clone();
    assert_eq!(linked["version"], 2);
    for same in [
        json!([a, a, b]),
        json!([a, b, b, a]),
        json!([{"id": a}, a, {"id": b, "name": "ignored"}]),
    ] {
        let got = sandbox.patch(&path, json!({"children": same})).await;
        let got = got.expect(200);
        assert_eq!(got["version"], 2, "{same}");
        assert_eq!(got["updatedAt"], linked["updatedAt"], "{same}");
        assert_eq!(ids(got), vec![a.clone(), b.clone()], "{same}");
    }
    // Another order is a change: children are shown in link order.
    let got = sandbox.patch(&path, json!({"children": [b, a, b]})).await;
    let got = got.expect(200);
    assert_eq!(got["version"], 3);
    assert_eq!(ids(got), vec![b.clone(), a.clone()]);
}
