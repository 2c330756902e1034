//! Discovery: `GET /document-types` answers, per country, the accepted document types, who may
//! use each, the canonical format and an example that really validates.

use axum::body::Body;
use axum::http::Request;
use padron_domain::{Country, DocumentNumber, DocumentType, ValidationLevel};
use serde_json::{Value, json};

use crate::helpers::TestApp;

crate::on_both_backends!(
    chile_lists_rut_for_users_and_organizations,
    brazil_lists_cpf_for_users_and_cnpj_for_organizations,
    without_a_country_every_country_of_the_table_is_listed,
    every_example_is_strictly_valid_and_canonical,
    a_country_outside_the_table_gets_passport_only,
    a_bad_country_answers_400_code_11,
    discovery_needs_credentials_of_the_environment,
    sandbox_answers_the_same_table,
    the_example_creates_an_identity_in_production,
);

/// The `documentTypes` of the one country in an answer.
fn types_of(body: &Value, country: &str) -> Vec<Value> {
    let entry = body["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .find(|c| c["country"] == country)
        .unwrap_or_else(|| panic!("{country} missing: {body:#}"));
    entry["documentTypes"].as_array().expect("types").clone()
}

fn find<'a>(types: &'a [Value], name: &str) -> &'a Value {
    types
        .iter()
        .find(|t| t["documentType"] == name)
        .unwrap_or_else(|| panic!("{name} missing: {types:#?}"))
}

async fn chile_lists_rut_for_users_and_organizations(app: &TestApp) {
    let res = app
        .production()
        .await
        .get("/document-types?country=CHL")
        .await;
    let body = res.expect(200);
    assert_eq!(body["data"].as_array().unwrap().len(), 1, "{body:#}");
    let types = types_of(body, "CHL");
    let names: Vec<&str> = types
        .iter()
        .map(|t| t["documentType"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["RUT", "PASSPORT"]);
    let rut = find(&types, "RUT");
    assert_eq!(rut["identityTypes"], json!(["USER", "ORGANIZATION"]));
    assert_eq!(rut["example"], "17604011-4");
    assert!(rut["canonicalFormat"].as_str().unwrap().contains("dash"));
    assert!(rut["format"].as_str().is_some_and(|f| !f.is_empty()));
    assert_eq!(
        find(&types, "PASSPORT")["identityTypes"],
        json!(["USER"]),
        "passports are for people only"
    );
}

async fn brazil_lists_cpf_for_users_and_cnpj_for_organizations(app: &TestApp) {
    let res = app
        .production()
        .await
        .get("/document-types?country=bra")
        .await;
    let types = types_of(res.expect(200), "BRA");
    assert_eq!(find(&types, "CPF")["identityTypes"], json!(["USER"]));
    assert_eq!(
        find(&types, "CNPJ")["identityTypes"],
        json!(["ORGANIZATION"])
    );
    // The alphanumeric CNPJ of July 2026 is the advertised example.
    assert_eq!(find(&types, "CNPJ")["example"], "12ABC34501DE35");
    assert!(
        find(&types, "CPF")["canonicalFormat"]
            .as_str()
            .unwrap()
            .contains("no separators")
    );
}

async fn without_a_country_every_country_of_the_table_is_listed(app: &TestApp) {
    let res = app.production().await.get("/document-types").await;
    let body = res.expect(200);
    let countries: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["country"].as_str().unwrap())
        .collect();
    assert_eq!(
        countries,
        [
            "CHL", "MEX", "BRA", "ARG", "COL", "PER", "URY", "ECU", "USA", "ESP"
        ]
    );
    let arg = types_of(body, "ARG");
    assert_eq!(
        find(&arg, "CUIT")["identityTypes"],
        json!(["USER", "ORGANIZATION"])
    );
    assert_eq!(find(&arg, "CUIL")["identityTypes"], json!(["USER"]));
    let esp = types_of(body, "ESP");
    assert_eq!(find(&esp, "CIF")["identityTypes"], json!(["ORGANIZATION"]));
    // An empty filter is no filter, like the listing's.
    let empty = app.production().await.get("/document-types?country=").await;
    assert_eq!(empty.expect(200)["data"].as_array().unwrap().len(), 10);
}

async fn every_example_is_strictly_valid_and_canonical(app: &TestApp) {
    let res = app.production().await.get("/document-types").await;
    let mut checked = 0;
    for entry in res.expect(200)["data"].as_array().unwrap() {
        let country = Country::parse(entry["country"].as_str().unwrap()).unwrap();
        for t in entry["documentTypes"].as_array().unwrap() {
            let name = t["documentType"].as_str().unwrap();
            let doc_type = DocumentType::parse(name).unwrap_or_else(|| panic!("{name}"));
            let example = t["example"].as_str().unwrap();
            let (value, warnings) = DocumentNumber::parse(country, doc_type, example)
                .unwrap_or_else(|e| panic!("{country} {name} {example}: {e}"))
                .at_level(ValidationLevel::Strict)
                .unwrap_or_else(|e| panic!("{country} {name} {example}: {e:?}"));
            assert_eq!(value.as_str(), example, "{country} {name} is canonical");
            assert!(warnings.is_empty(), "{country} {name}: {warnings:?}");
            assert!(!t["identityTypes"].as_array().unwrap().is_empty());
            checked += 1;
        }
    }
    // 25 national types across the ten countries, plus a passport for each.
    assert_eq!(checked, 35);
}

async fn a_country_outside_the_table_gets_passport_only(app: &TestApp) {
    let res = app
        .production()
        .await
        .get("/document-types?country=FRA")
        .await;
    let types = types_of(res.expect(200), "FRA");
    assert_eq!(types.len(), 1);
    assert_eq!(types[0]["documentType"], "PASSPORT");
}

async fn a_bad_country_answers_400_code_11(app: &TestApp) {
    let production = app.production().await;
    for bad in ["CL", "XXX", "chile", "C%C3%87L"] {
        let res = production
            .get(&format!("/document-types?country={bad}"))
            .await;
        res.expect_error(400, "11");
        assert_eq!(res.error_fields(), ["country"], "{bad}");
    }
    // `legacy()` sends no version header of its own, so the bad one is the only one.
    let wrong_version = production
        .legacy()
        .call_with(
            axum::http::Method::GET,
            "/document-types",
            None,
            &[("conomyhq-api-version", "2020-01-01")],
        )
        .await;
    wrong_version.expect_error(400, "11");
}

async fn discovery_needs_credentials_of_the_environment(app: &TestApp) {
    let bare = Request::get("/document-types?country=CHL")
        .body(Body::empty())
        .unwrap();
    app.send(bare).await.expect_error(401, "41");
    let production = app.production().await;
    let key_only = Request::get("/document-types")
        .header("x-api-key", &production.api_key)
        .body(Body::empty())
        .unwrap();
    app.send(key_only).await.expect_error(401, "41");
    // A sandbox credential on the production path is refused, as for /identities.
    let sandbox = app.sandbox().await;
    let crossed = crate::helpers::Caller {
        prefix: String::new(),
        ..sandbox.clone()
    };
    crossed.get("/document-types").await.expect_error(401, "41");
}

async fn sandbox_answers_the_same_table(app: &TestApp) {
    // The sandbox caller sends to `/sandbox/document-types`.
    let sandbox = app.sandbox().await.get("/document-types").await;
    let production = app.production().await.get("/document-types").await;
    assert_eq!(sandbox.expect(200), production.expect(200));
    // The legacy shape (no version header) is the same document.
    let legacy = app.sandbox().await.legacy().get("/document-types").await;
    assert_eq!(legacy.expect(200), sandbox.expect(200));
}

async fn the_example_creates_an_identity_in_production(app: &TestApp) {
    // What discovery advertises must be what create accepts at the strict level.
    let production = app.production().await;
    let res = production.get("/document-types?country=MEX").await;
    let types = types_of(res.expect(200), "MEX");
    let curp = find(&types, "CURP");
    assert_eq!(curp["identityTypes"], json!(["USER"]));
    let body = json!({"type": "USER", "name": "Ana", "country": "MEX", "documentType": "CURP",
                      "documentNumber": curp["example"]});
    let created = production.create(body).await;
    assert_eq!(created["documentNumber"], curp["example"]);
}
