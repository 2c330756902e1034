//! `/document-types`: which national documents each country accepts, who may use them, their
//! canonical form and an example, so client UIs can build their forms from the same table the
//! validators use (spec §6.2, described in `docs/DISCOVERY.md`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use padron_domain::{Country, DocumentTypeInfo, document_countries, document_types};
use serde::Serialize;

use crate::error::{ApiError, FieldError};
use crate::extract::Caller;

/// The answer: one entry per country, in the order of spec §6.2's table.
#[derive(Debug, Serialize)]
pub struct DocumentTypesOut {
    /// The countries asked for (one with `?country=`, otherwise every country of the table).
    pub data: Vec<CountryDocumentsOut>,
}

/// The document types of one country.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CountryDocumentsOut {
    /// ISO 3166-1 alpha-3 code.
    pub country: &'static str,
    /// Every accepted type, national ones first, `PASSPORT` last.
    pub document_types: Vec<DocumentTypeOut>,
}

/// One accepted document type.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentTypeOut {
    /// The value to send as `documentType`.
    pub document_type: &'static str,
    /// The identity `type`s that may use it (`USER`, `ORGANIZATION`), so a form can filter on
    /// the identity's own `type` value.
    pub identity_types: Vec<&'static str>,
    /// What is accepted on input, in words.
    pub format: &'static str,
    /// How the number is stored and returned, in words.
    pub canonical_format: &'static str,
    /// A valid number (strict level) in canonical form.
    pub example: &'static str,
    /// What the document is.
    pub description: &'static str,
}

impl From<DocumentTypeInfo> for DocumentTypeOut {
    fn from(info: DocumentTypeInfo) -> Self {
        let identity_types = [(info.user, "USER"), (info.organization, "ORGANIZATION")]
            .into_iter()
            .filter_map(|(allowed, name)| allowed.then_some(name))
            .collect();
        Self {
            document_type: info.document_type.as_str(),
            identity_types,
            format: info.format,
            canonical_format: info.canonical,
            example: info.example,
            description: info.description,
        }
    }
}

fn country_out(country: Country) -> CountryDocumentsOut {
    CountryDocumentsOut {
        country: country.alpha3(),
        document_types: document_types(country)
            .into_iter()
            .map(DocumentTypeOut::from)
            .collect(),
    }
}

/// `GET /document-types[?country=CHL]`.
///
/// Needs the same credentials as `/identities`: the answer is static, but keeping every API
/// route behind one rule leaves nothing for a client to special-case. A bad version header
/// answers 400 like everywhere else (the router checks it on every API route); both versions get
/// this shape, as the endpoint has no legacy form.
pub async fn list_document_types(
    _caller: Caller,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<DocumentTypesOut>, ApiError> {
    let Query(params) =
        query.map_err(|_| ApiError::InvalidParam("the query string is malformed".to_owned()))?;
    let data = match params.get("country").map(|v| v.trim()) {
        // An empty `country=` means no filter, as for the listing's filters.
        None | Some("") => document_countries().map(country_out).collect(),
        Some(raw) => {
            let country = Country::parse(raw).map_err(|issue| {
                ApiError::Fields(vec![FieldError::new(
                    "country",
                    issue.code,
                    "country must be an ISO 3166-1 alpha-3 code",
                )])
            })?;
            vec![country_out(country)]
        }
    };
    Ok(Json(DocumentTypesOut { data }))
}
