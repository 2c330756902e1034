//! Validation levels: sandbox structural with strict findings as warnings, production strict,
//! and the operator's per-client setting (spec §6.2).

use padron_domain::ValidationLevel;
use padron_store::Environment;
use serde_json::{Value, json};

use crate::helpers::{TestApp, organization, user, with};

crate::on_both_backends!(
    sandbox_accepts_structural_numbers_and_warns_about_strict_failures,
    production_rejects_what_only_strict_validation_catches,
    the_operator_can_set_the_level_per_client_and_environment,
    calling_codes_must_belong_to_the_country_at_every_level,
    document_types_must_fit_the_country_and_the_identity_type,
    emails_must_be_addresses,
    text_limits_are_enforced,
    bank_accounts_need_number_bank_and_currency,
    mexican_rfcs_have_13_characters_for_people_and_12_for_companies,
);

fn warning_fields(body: &Value) -> Vec<String> {
    body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["field"].as_str().unwrap().to_owned())
        .collect()
}

async fn sandbox_accepts_structural_numbers_and_warns_about_strict_failures(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let body = with(
        user(1),
        json!({"documentNumber": "18604011-4", "phone": "+5692111111"}),
    );
    let got = sandbox.create(body).await;
    let mut fields = warning_fields(&got);
    fields.sort();
    assert_eq!(fields, vec!["documentNumber", "phone"]);
    assert_eq!(got["phone"], "+5692111111");
}

async fn production_rejects_what_only_strict_validation_catches(app: &TestApp) {
    let production = app.production().await;
    let body = with(
        user(1),
        json!({"documentNumber": "18604011-4", "phone": "+5692111111", "email": "a@[127.0.0.1]"}),
    );
    let res = production.post("/identities", body).await;
    res.expect_error(400, "11");
    let mut fields = res.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["documentNumber", "email", "phone"]);
    let got = production.create(user(1)).await;
    assert_eq!(got["warnings"], json!([]));
}

async fn the_operator_can_set_the_level_per_client_and_environment(app: &TestApp) {
    let id = &app.client.client_id;
    app.store
        .set_validation_level(id, Environment::Sandbox, Some(ValidationLevel::Strict))
        .await
        .unwrap();
    app.store
        .set_validation_level(
            id,
            Environment::Production,
            Some(ValidationLevel::Structural),
        )
        .await
        .unwrap();
    let weak = with(user(1), json!({"documentNumber": "18604011-4"}));
    app.sandbox()
        .await
        .post("/identities", weak.clone())
        .await
        .expect_error(400, "11");
    let got = app.production().await.create(weak).await;
    assert_eq!(warning_fields(&got), vec!["documentNumber"]);
}

async fn calling_codes_must_belong_to_the_country_at_every_level(app: &TestApp) {
    for caller in [app.sandbox().await, app.production().await] {
        let res = caller
            .post(
                "/identities",
                with(user(1), json!({"phone": "+5491123456789"})),
            )
            .await;
        res.expect_error(400, "11");
        assert_eq!(res.error_fields(), vec!["phone"]);
        assert!(
            res.body["detail"].as_str().unwrap().contains("+54"),
            "{:#}",
            res.body
        );
        let res = caller
            .post(
                "/identities",
                with(user(1), json!({"phone": "56961234567"})),
            )
            .await;
        res.expect_error(400, "11");
    }
}

async fn document_types_must_fit_the_country_and_the_identity_type(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let cases = [
        json!({"type": "ORGANIZATION", "name": "Co", "country": "BRA", "documentType": "CPF", "documentNumber": "529.982.247-25"}),
        json!({"type": "USER", "name": "Jo", "country": "BRA", "documentType": "CNPJ", "documentNumber": "11.222.333/0001-81"}),
        json!({"type": "USER", "name": "Jo", "country": "CHL", "documentType": "CURP", "documentNumber": "BADD110313HCMLNS09"}),
        json!({"type": "USER", "name": "Jo", "country": "XXX", "documentType": "RUT", "documentNumber": "17604011-4"}),
        json!({"type": "USER", "name": "Jo", "country": "CL", "documentType": "RUT", "documentNumber": "17604011-4"}),
        json!({"type": "USER", "name": "Jo", "country": "CHL", "documentType": "LICENSE", "documentNumber": "17604011-4"}),
    ];
    for body in cases {
        sandbox
            .post("/identities", body.clone())
            .await
            .expect_error(400, "11");
    }
    let ok = [
        json!({"type": "USER", "name": "Jo", "country": "BRA", "documentType": "CPF", "documentNumber": "529.982.247-25"}),
        json!({"type": "ORGANIZATION", "name": "Co", "country": "BRA", "documentType": "CNPJ", "documentNumber": "11.222.333/0001-81"}),
        json!({"type": "USER", "name": "Jo", "country": "CHL", "documentType": "RUN", "documentNumber": "17604011-4"}),
        json!({"type": "USER", "name": "Jo", "country": "PER", "documentType": "PASSPORT", "documentNumber": "ab12345"}),
    ];
    for body in ok {
        let got = app.production().await.create(body.clone()).await;
        assert!(
            got["documentType"].as_str().is_some_and(|t| t != "RUN"),
            "aliases are stored canonical: {got:#}"
        );
    }
}

async fn emails_must_be_addresses(app: &TestApp) {
    let production = app.production().await;
    for bad in [
        "plainaddress",
        "a@b@example.com",
        "a..b@example.com",
        "a@example..com",
        "(comment)a@example.com",
    ] {
        let res = production
            .post("/identities", with(user(1), json!({"email": bad})))
            .await;
        res.expect_error(400, "11");
        assert_eq!(res.error_fields(), vec!["email"], "{bad}");
    }
    let long_local = format!("{}@example.com", "a".repeat(65));
    production
        .post("/identities", with(user(1), json!({"email": long_local})))
        .await
        .expect_error(400, "11");
    let got = production
        .create(with(
            user(1),
            json!({"email": "  \"quoted local\"@Example.COM "}),
        ))
        .await;
    assert!(
        got["email"]
            .as_str()
            .unwrap()
            .starts_with("\"quoted local\"@")
    );
}

async fn text_limits_are_enforced(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let res = sandbox
        .post(
            "/identities",
            with(
                user(1),
                json!({"name": "x".repeat(201), "nickname": "y".repeat(201)}),
            ),
        )
        .await;
    res.expect_error(400, "11");
    assert_eq!(res.error_fields(), vec!["name", "nickname"]);
    sandbox
        .post("/identities", with(user(1), json!({"name": "   "})))
        .await
        .expect_error(400, "11");
    let got = sandbox
        .create(with(user(1), json!({"name": "ñ".repeat(200)})))
        .await;
    assert_eq!(got["name"].as_str().unwrap().chars().count(), 200);
    let big = "z".repeat(17 * 1024);
    sandbox
        .post(
            "/identities",
            with(organization(), json!({"kyc": {"blob": big}})),
        )
        .await
        .expect_error(400, "11");
}

async fn bank_accounts_need_number_bank_and_currency(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let res = sandbox
        .post(
            "/identities",
            with(
                user(1),
                json!({"bankAccount": {"bank": "X", "currency": "ZZZ"}}),
            ),
        )
        .await;
    res.expect_error(400, "11");
    let mut fields = res.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec!["bankAccount.accountNumber", "bankAccount.currency"]
    );
}

async fn mexican_rfcs_have_13_characters_for_people_and_12_for_companies(app: &TestApp) {
    let sandbox = app.sandbox().await;
    let person = json!({"type": "USER", "name": "Ana", "country": "MEX", "documentType": "RFC", "documentNumber": "GODE561231GR8"});
    let company = json!({"type": "ORGANIZATION", "name": "Co", "country": "MEX", "documentType": "RFC", "documentNumber": "ABC680524P76"});
    sandbox.create(person.clone()).await;
    sandbox.create(company.clone()).await;
    let swapped = with(person, json!({"type": "ORGANIZATION"}));
    sandbox
        .post("/identities", swapped)
        .await
        .expect_error(400, "11");
    let swapped = with(company, json!({"type": "USER"}));
    sandbox
        .post("/identities", swapped)
        .await
        .expect_error(400, "11");
}
