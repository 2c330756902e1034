//! The OpenAPI document and the docs page: complete, served without credentials, kept under
//! review by snapshots (with the error envelope's shape).

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{Value, json};

use crate::helpers::TestApp;

crate::on_both_backends!(
    the_openapi_document_describes_every_route_and_every_route_exists,
    the_docs_page_is_served_from_the_binary,
    error_envelopes_keep_their_shape,
);

async fn the_openapi_document_describes_every_route_and_every_route_exists(app: &TestApp) {
    let res = app
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    let doc = res.expect(200).clone();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/identities",
        "/sandbox/identities/{id}/permissions/{otherId}",
        "/document-types",
        "/auth",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    let sandbox = app.sandbox().await;
    let production = app.production().await;
    let id = "ffffffffffffffffffffffff";
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            // Every operation documents the error envelope for every error status.
            for status in [
                "400", "401", "404", "409", "412", "413", "422", "429", "500",
            ] {
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {path} does not document {status}"
                );
            }
            // And the route exists: anything but a 404 "no such route" or a 405.
            let uri = path.replace("{id}", id).replace("{otherId}", id);
            let res = match uri.strip_prefix("/sandbox") {
                Some(rest) => sandbox.call(method.clone(), rest, None).await,
                None => production.call(method.clone(), &uri, None).await,
            };
            assert_ne!(res.status.as_u16(), 405, "{method} {path}");
            assert_ne!(res.body["detail"], "no such route", "{method} {path}");
        }
    }
    // The snapshot makes every change of the contract a reviewed diff.
    insta::assert_json_snapshot!("openapi", doc);
}

async fn the_docs_page_is_served_from_the_binary(app: &TestApp) {
    let res = app
        .send(Request::get("/docs").body(Body::empty()).unwrap())
        .await;
    assert!(res.status.is_redirection(), "{:?}", res.status);
    let res = app
        .send(Request::get("/docs/").body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.status.as_u16(), 200);
    let page = res.body.as_str().unwrap_or_default().to_owned();
    assert!(page.contains("swagger-ui"), "{page}");
    assert!(
        !page.contains("https://"),
        "the page must not load assets from the internet"
    );
    for asset in [
        "/docs/swagger-ui.css",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-initializer.js",
    ] {
        let res = app
            .send(Request::get(asset).body(Body::empty()).unwrap())
            .await;
        assert_eq!(res.status.as_u16(), 200, "{asset}");
    }
    let init = app
        .send(
            Request::get("/docs/swagger-initializer.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(
        init.body
            .as_str()
            .unwrap_or_default()
            .contains("/openapi.json")
    );
}

async fn error_envelopes_keep_their_shape(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let res = sandbox
        .call_with(
            Method::POST,
            "/identities",
            Some(json!({"type": "USER", "name": 5, "country": "CHL", "documentType": "RUT", "documentNumber": "1-9", "phone": "+54 11"})),
            &[("x-request-id", "snapshot")],
        )
        .await;
    let body: Value = res.body.clone();
    insta::assert_json_snapshot!("invalid_create", body);
    let res = sandbox
        .call_with(
            Method::GET,
            "/identities/nope",
            None,
            &[("x-request-id", "snapshot")],
        )
        .await;
    insta::assert_json_snapshot!("not_found", res.body);
}
