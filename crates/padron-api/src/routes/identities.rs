//! `/identities`: create, find, list, update, delete, and the children, rules and permissions
//! of one identity.

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use padron_domain::{
    Country, DocumentNumber, DocumentType, EmailAddress, Identity, IdentityFields, IdentityId,
    IdentityKind, Status,
};
use padron_store::{
    BoxError, IdentityChange, IdentityEdit, IdentityFilter, LinkChange, Permission, StoreError,
    Tenant,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::now_micros;
use crate::error::{ApiError, FieldError};
use crate::extract::{ApiVersion, Caller, JsonBody, if_match, path_id};
use crate::wire::{self, IdentityOut, MAX_FREE_JSON, READ_ONLY};

/// What `Json(value).into_response()` answers, serialised into a buffer of `capacity` bytes:
/// axum starts from 128 bytes and grows a `BytesMut` write by write, which showed in the
/// profile of every identity answer and of list pages above all.
fn json_response<T: Serialize>(value: &T, capacity: usize) -> Response {
    let mut body = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        // As `Json` answers a value that cannot be serialised (the envelope middleware turns
        // the body into the error envelope); the cause is logged here, once.
        Err(err) => {
            tracing::error!(error = %err, "failed to serialise an answer");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                )],
                err.to_string(),
            )
                .into_response()
        }
    }
}

/// Room for one rendered identity without children (about 1.2 KB in version 2, 1.6 KB in
/// version 1); more is grown as needed.
const IDENTITY_JSON_BYTES: usize = 2048;

/// One identity as a response, with its `ETag`.
fn identity_response(
    status: StatusCode,
    identity: &Identity,
    version: ApiVersion,
    warnings: Option<&[FieldError]>,
) -> Response {
    let body = IdentityOut::new(identity, version, warnings);
    let capacity = IDENTITY_JSON_BYTES + 96 * identity.children.len();
    let mut response = json_response(&body, capacity);
    *response.status_mut() = status;
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", identity.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// A 400 for field errors, counted per country and field.
fn validation_failed(country: Option<&Value>, errors: Vec<FieldError>) -> ApiError {
    let country = country
        .and_then(Value::as_str)
        .and_then(|c| Country::parse(c).ok());
    crate::metrics::record_validation_failures(country.map(Country::alpha3), &errors);
    ApiError::Fields(errors)
}

/// `POST /identities`.
pub async fn create_identity(
    State(state): State<AppState>,
    caller: Caller,
    version: ApiVersion,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let body = body.object()?;
    let draft = wire::parse_create(&body, caller.level)
        .map_err(|errors| validation_failed(body.get("country"), errors))?;
    let children = draft.children.unwrap_or_default();
    let identity = state
        .store
        .create_identity(
            &caller.tenant,
            IdentityId::generate(),
            draft.kind,
            &draft.fields,
            &children,
            now_micros(),
        )
        .await?;
    let mut response = identity_response(
        StatusCode::CREATED,
        &identity,
        version,
        Some(&draft.warnings),
    );
    let prefix = match caller.tenant.environment {
        padron_store::Environment::Sandbox => "/sandbox",
        padron_store::Environment::Production => "",
    };
    if let Ok(location) = HeaderValue::from_str(&format!("{prefix}/identities/{}", identity.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /identities/{id}`.
pub async fn find_identity(
    State(state): State<AppState>,
    caller: Caller,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let identity = load(&state, &caller.tenant, path_id(&id)?).await?;
    Ok(identity_response(StatusCode::OK, &identity, version, None))
}

async fn load(state: &AppState, tenant: &Tenant, id: IdentityId) -> Result<Identity, ApiError> {
    state
        .store
        .find_identity(tenant, id)
        .await?
        .ok_or_else(ApiError::identity_not_found)
}

#[derive(Serialize)]
struct Pagination {
    limit: u32,
    count: usize,
    next: Option<String>,
}

#[derive(Serialize)]
struct Page<'a> {
    data: Vec<IdentityOut<'a>>,
    pagination: Pagination,
}

/// Cursors are the last id of a page behind a version tag, base64url: opaque to clients and
/// changeable without breaking them.
const CURSOR_TAG: &str = "c1:";

fn encode_cursor(id: IdentityId) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_TAG}{id}"))
}

fn decode_cursor(raw: &str) -> Option<IdentityId> {
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    IdentityId::parse(text.strip_prefix(CURSOR_TAG)?)
}

/// Parses the query of `GET /identities`, collecting every bad parameter.
fn list_query(
    params: &HashMap<String, String>,
) -> Result<(IdentityFilter, Option<IdentityId>, u32), ApiError> {
    let mut errors = Vec::new();
    let mut bad =
        |field: &str, detail: &str| errors.push(FieldError::new(field, "invalidValue", detail));
    let get = |key: &str| params.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut filter = IdentityFilter::default();
    let limit = match get("limit") {
        None => 20,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                bad("limit", "limit must be a whole number from 1 to 100");
                20
            }
        },
    };
    let after = match get("next") {
        None => None,
        Some(raw) => {
            let cursor = decode_cursor(raw);
            if cursor.is_none() {
                bad("next", "next must be a cursor returned by a previous page");
            }
            cursor
        }
    };
    if let Some(raw) = get("type") {
        filter.kind = IdentityKind::parse(raw);
        if filter.kind.is_none() {
            bad("type", "type must be USER or ORGANIZATION");
        }
    }
    if let Some(raw) = get("status") {
        match Status::parse(raw) {
            Some(s) => filter.status = Some(s.as_str().to_owned()),
            None => bad("status", "status is not a known status"),
        }
    }
    let mut country = None;
    if let Some(raw) = get("country") {
        match wire::parse_country(raw) {
            Ok(c) => country = Some(c),
            Err(issue) => bad("country", &issue.detail),
        }
    }
    filter.country = country.map(|c| c.alpha3().to_owned());
    let mut document_type = None;
    if let Some(raw) = get("documentType") {
        match DocumentType::parse(raw) {
            Some(t) => document_type = Some(t),
            None => bad("documentType", "documentType is not a known document type"),
        }
    }
    filter.document_type = document_type.map(|t| t.as_str().to_owned());
    if let Some(raw) = get("parentId") {
        match IdentityId::parse(raw) {
            Some(id) => filter.parent_id = Some(id),
            None => bad("parentId", "parentId must be an identity id"),
        }
    }
    // Emails compare case-insensitively: the filter matches the stored key, not the address.
    filter.email_key = get("email").map(|raw| match EmailAddress::parse(raw) {
        Ok(checked) => checked.value.key(),
        Err(_) => raw.to_lowercase(),
    });
    filter.phone_key = get("phone").map(padron_store::phone_key);
    filter.document_key = get("documentNumber").map(|raw| {
        // Told the country and type, the number is canonicalised exactly as a stored one is (a
        // RUT loses its leading zeros); otherwise only separators and letter case are undone.
        let canonical = match (country, document_type) {
            (Some(c), Some(t)) => DocumentNumber::parse(c, t, raw).ok().map(|n| n.value),
            _ => None,
        };
        padron_store::document_key(canonical.as_ref().map_or(raw, DocumentNumber::as_str))
    });
    filter.external_id = get("externalId").map(str::to_owned);
    if errors.is_empty() {
        Ok((filter, after, limit))
    } else {
        Err(ApiError::Fields(errors))
    }
}

/// `GET /identities`: filters, keyset pagination in creation order.
pub async fn list_identities(
    State(state): State<AppState>,
    caller: Caller,
    version: ApiVersion,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) =
        query.map_err(|_| ApiError::InvalidParam("the query string is malformed".to_owned()))?;
    let (filter, after, limit) = list_query(&params)?;
    // One extra row tells whether another page exists without a count query.
    let mut rows = state
        .store
        .list_identities(&caller.tenant, &filter, after, limit + 1)
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|i| encode_cursor(i.id))
    } else {
        None
    };
    let page = Page {
        pagination: Pagination {
            limit,
            count: rows.len(),
            next,
        },
        data: rows
            .iter()
            .map(|i| IdentityOut::new(i, version, None))
            .collect(),
    };
    let capacity = 128 + IDENTITY_JSON_BYTES * page.data.len();
    Ok(json_response(&page, capacity))
}

/// A change computed from the current identity.
struct Change {
    fields: IdentityFields,
    children: Option<Vec<IdentityId>>,
}

/// What `compute` made of a request: the change (`None` when nothing changes) and the warnings
/// of validating the request, which the answer carries whether or not anything changed.
struct Computed {
    change: Option<Change>,
    warnings: Vec<FieldError>,
}

/// Read, compute, write under the identity's row lock: `compute` sees the identity as it is now
/// and returns no change when there is nothing to change (no new version). Concurrent edits of
/// one identity apply one after the other, each to the result of the one before.
async fn modify(
    state: &AppState,
    tenant: &Tenant,
    id: IdentityId,
    expected: Option<i64>,
    touches_links: bool,
    compute: impl Fn(&Identity) -> Result<Computed, ApiError> + Send + Sync,
) -> Result<(Identity, Vec<FieldError>), ApiError> {
    // The warnings of the last attempt; the closure may run again after a retry.
    let warnings = std::sync::Mutex::new(Vec::new());
    let change = |current: &Identity| -> Result<Option<IdentityChange>, BoxError> {
        let computed = compute(current).map_err(|e| Box::new(e) as BoxError)?;
        if let Ok(mut w) = warnings.lock() {
            *w = computed.warnings;
        }
        Ok(computed.change.map(|c| IdentityChange {
            fields: c.fields,
            children: c.children,
        }))
    };
    let edit = IdentityEdit {
        expected_version: expected,
        touches_links,
        now: now_micros(),
        change: &change,
    };
    let modified = state
        .store
        .modify_identity(tenant, id, &edit)
        .await
        .map_err(|err| match err {
            StoreError::Rejected(inner) => match inner.downcast::<ApiError>() {
                Ok(api) => *api,
                Err(_) => ApiError::Internal,
            },
            other => other.into(),
        })?;
    // Also when nothing changed: an ignored unknown field or a strict-level finding is worth
    // reporting even if the patch turned out to be a no-op (spec §6.1).
    Ok((modified.identity, warnings.into_inner().unwrap_or_default()))
}

/// Errors for read-only fields sent with a value other than the current one.
fn read_only_errors(patch: &Map<String, Value>, current: &Identity) -> Vec<FieldError> {
    let now = |key: &str| -> Value {
        match key {
            "id" => json!(current.id.to_hex()),
            "type" => json!(current.kind.as_str()),
            "createdAt" => json!(wire::timestamp(current.created_at)),
            "updatedAt" => json!(wire::timestamp(current.updated_at)),
            _ => json!(current.version),
        }
    };
    READ_ONLY
        .iter()
        .filter(|key| patch.get(**key).is_some_and(|sent| *sent != now(key)))
        .map(|key| FieldError::new(*key, "immutable", format!("{key} cannot be changed")))
        .collect()
}

/// `PATCH /identities/{id}`: JSON merge patch; `children` replaces the set of children.
pub async fn update_identity(
    State(state): State<AppState>,
    caller: Caller,
    version: ApiVersion,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let patch = body.object()?;
    let mut mergeable = patch.clone();
    for key in READ_ONLY.iter().chain(&["children"]) {
        mergeable.remove(*key);
    }
    let mergeable = Value::Object(mergeable);
    // Parents show a child's name and email: a patch that may change them changes links too.
    let touches_links = ["children", "name", "email"]
        .iter()
        .any(|key| patch.contains_key(*key));
    let (identity, warnings) = modify(
        &state,
        &caller.tenant,
        id,
        if_match(&headers),
        touches_links,
        |current| {
            // Read-only fields are checked with the rest, so that `errors` lists every problem
            // of the body (spec §4), not only the read-only ones.
            let mut errors = read_only_errors(&patch, current);
            let mut merged = wire::patch_base(current);
            wire::merge_patch(&mut merged, &mergeable);
            let Value::Object(merged) = merged else {
                return Err(ApiError::Internal);
            };
            let parsed = wire::parse_patch(&merged, &patch, current, caller.level);
            let draft = match parsed {
                Ok(draft) if errors.is_empty() => draft,
                Ok(_) => return Err(validation_failed(merged.get("country"), errors)),
                Err(more) => {
                    errors.extend(more);
                    return Err(validation_failed(merged.get("country"), errors));
                }
            };
            current
                .fields
                .status
                .change_to(draft.fields.status)
                .map_err(|e| ApiError::FailedPrecondition(e.to_string()))?;
            // An id listed twice is linked once, so `[a, a]` is the same set as `[a]`. Order
            // counts: children are shown in link order, which a replacement resets.
            let same_children = draft.children.as_ref().is_none_or(|ids| {
                let mut seen = HashSet::with_capacity(ids.len());
                ids.iter()
                    .copied()
                    .filter(|id| seen.insert(*id))
                    .eq(current.children.iter().map(|c| c.id))
            });
            let change = (draft.fields != current.fields || !same_children).then_some(Change {
                fields: draft.fields,
                children: draft.children,
            });
            Ok(Computed {
                change,
                warnings: draft.warnings,
            })
        },
    )
    .await?;
    Ok(identity_response(
        StatusCode::OK,
        &identity,
        version,
        Some(&warnings),
    ))
}

/// `DELETE /identities/{id}`: 204; the row stays as a tombstone.
///
/// The endpoint takes no body, but one that is sent must still be JSON within the size limit
/// (spec §3, §10), like every other request body; its content is ignored.
pub async fn delete_identity(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    _body: JsonBody,
) -> Result<StatusCode, ApiError> {
    let id = path_id(&id)?;
    state
        .store
        .delete_identity(&caller.tenant, id, if_match(&headers), now_micros())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn change_children(
    state: AppState,
    caller: Caller,
    version: ApiVersion,
    headers: HeaderMap,
    id: String,
    body: JsonBody,
    change: LinkChange,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let items = body.array()?;
    let children = wire::parse_id_list("children", &items).map_err(ApiError::Fields)?;
    let identity = state
        .store
        .change_children(
            &caller.tenant,
            id,
            change,
            &children,
            if_match(&headers),
            now_micros(),
        )
        .await?;
    Ok(identity_response(StatusCode::OK, &identity, version, None))
}

/// `POST /identities/{id}/children`: links the ids as children (already linked ones stay).
pub async fn add_children(
    State(state): State<AppState>,
    caller: Caller,
    version: ApiVersion,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    change_children(state, caller, version, headers, id, body, LinkChange::Add).await
}

/// `DELETE /identities/{id}/children`: unlinks the ids (ids not linked are ignored).
pub async fn remove_children(
    State(state): State<AppState>,
    caller: Caller,
    version: ApiVersion,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    change_children(
        state,
        caller,
        version,
        headers,
        id,
        body,
        LinkChange::Remove,
    )
    .await
}

/// Replaces `rules` with `compute(current rules)`, checking the size limit.
async fn change_rules(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    id: IdentityId,
    compute: impl Fn(Map<String, Value>) -> Option<Map<String, Value>> + Send + Sync,
) -> Result<Identity, ApiError> {
    let (identity, _) = modify(
        state,
        &caller.tenant,
        id,
        if_match(headers),
        false,
        |current| {
            let rules = match current
                .fields
                .rules
                .as_deref()
                .map(serde_json::from_str::<Value>)
            {
                Some(Ok(Value::Object(map))) => map,
                _ => Map::new(),
            };
            // An empty object is no rules at all, so emptying them twice changes nothing.
            let new_rules = compute(rules)
                .filter(|m| !m.is_empty())
                .map(|m| Value::Object(m).to_string());
            if new_rules.as_ref().is_some_and(|t| t.len() > MAX_FREE_JSON) {
                return Err(ApiError::field(
                    "rules",
                    "tooLarge",
                    format!("rules must be at most {MAX_FREE_JSON} bytes of JSON"),
                ));
            }
            let change = (new_rules != current.fields.rules).then(|| Change {
                fields: IdentityFields {
                    rules: new_rules,
                    ..current.fields.clone()
                },
                children: None,
            });
            Ok(Computed {
                change,
                warnings: Vec::new(),
            })
        },
    )
    .await?;
    Ok(identity)
}

/// `POST /identities/{id}/rules`: merges the body (a JSON merge patch) into `rules`.
pub async fn add_rules(
    State(state): State<AppState>,
    caller: Caller,
    version: ApiVersion,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let patch = Value::Object(body.object()?);
    let identity = change_rules(&state, &caller, &headers, id, |rules| {
        let mut merged = Value::Object(rules);
        wire::merge_patch(&mut merged, &patch);
        match merged {
            Value::Object(map) => Some(map),
            _ => None,
        }
    })
    .await?;
    Ok(identity_response(StatusCode::OK, &identity, version, None))
}

/// `DELETE /identities/{id}/rules`: removes the listed keys, or every rule without a body.
pub async fn remove_rules(
    State(state): State<AppState>,
    caller: Caller,
    version: ApiVersion,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let keys: Option<Vec<String>> = match body.0 {
        None => None,
        Some(Value::Array(items)) => {
            let mut keys = Vec::with_capacity(items.len());
            let mut errors = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(k) => keys.push(k.to_owned()),
                    None => errors.push(FieldError::new(
                        format!("[{i}]"),
                        "invalidType",
                        "rule keys must be strings",
                    )),
                }
            }
            if !errors.is_empty() {
                return Err(ApiError::Fields(errors));
            }
            Some(keys)
        }
        Some(_) => {
            return Err(ApiError::Parsing(
                "the body must be a JSON array of rule keys".to_owned(),
            ));
        }
    };
    let identity = change_rules(&state, &caller, &headers, id, |mut rules| match &keys {
        None => None,
        Some(keys) => {
            for k in keys {
                rules.remove(k);
            }
            Some(rules)
        }
    })
    .await?;
    Ok(identity_response(StatusCode::OK, &identity, version, None))
}

#[derive(Serialize)]
struct PermissionOut {
    resource: String,
    reference: String,
    permissions: Vec<String>,
}

/// `GET /identities/{id}/permissions`.
pub async fn list_permissions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let scopes = state.store.permissions(&caller.tenant, id).await?;
    let out: Vec<PermissionOut> = scopes
        .into_iter()
        .map(|p| PermissionOut {
            resource: p.resource,
            reference: p.reference.to_hex(),
            permissions: p.permissions,
        })
        .collect();
    Ok(Json(out).into_response())
}

/// The resources a scope may govern.
const RESOURCES: [&str; 1] = ["IDENTITY"];

/// A required string of scope `i`, trimmed. Absent or null is missing (code 12); any other JSON
/// type is a wrong type (code 11), never "missing", so the client learns what to fix (spec §4).
fn scope_text<'v>(
    errors: &mut Vec<FieldError>,
    i: usize,
    key: &str,
    value: Option<&'v Value>,
) -> Option<&'v str> {
    let field = format!("[{i}].{key}");
    match value {
        None | Some(Value::Null) => {
            errors.push(FieldError::missing(&field));
            None
        }
        Some(Value::String(s)) => Some(s.trim()),
        Some(other) => {
            errors.push(FieldError::new(
                field.clone(),
                "invalidType",
                format!("{field} must be a string, not {}", wire::type_name(other)),
            ));
            None
        }
    }
}

fn parse_grants(items: &[Value]) -> Result<Vec<Permission>, ApiError> {
    let mut errors = Vec::new();
    let mut grants = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(map) = item.as_object() else {
            errors.push(FieldError::new(
                format!("[{i}]"),
                "invalidType",
                "each scope must be an object",
            ));
            continue;
        };
        let resource = match scope_text(&mut errors, i, "resource", map.get("resource")) {
            Some(r) => {
                let r = r.to_ascii_uppercase();
                if RESOURCES.contains(&r.as_str()) {
                    Some(r)
                } else {
                    errors.push(FieldError::new(
                        format!("[{i}].resource"),
                        "invalidValue",
                        "resource must be IDENTITY",
                    ));
                    None
                }
            }
            None => None,
        };
        let reference = match scope_text(&mut errors, i, "reference", map.get("reference")) {
            Some(raw) => {
                let id = IdentityId::parse(raw);
                if id.is_none() {
                    errors.push(FieldError::new(
                        format!("[{i}].reference"),
                        "invalidId",
                        "reference must be an identity id",
                    ));
                }
                id
            }
            None => None,
        };
        let names = match map.get("permissions") {
            Some(Value::Array(names)) => {
                let names: Option<Vec<String>> = names
                    .iter()
                    .map(|n| {
                        n.as_str()
                            .map(str::trim)
                            .filter(|n| !n.is_empty() && n.len() <= 200)
                            .map(str::to_owned)
                    })
                    .collect::<Option<Vec<String>>>()
                    .filter(|names| !names.is_empty());
                if names.is_none() {
                    errors.push(FieldError::new(
                        format!("[{i}].permissions"),
                        "invalidValue",
                        "permissions must be a non-empty array of non-empty strings",
                    ));
                }
                names
            }
            None | Some(Value::Null) => {
                errors.push(FieldError::missing(&format!("[{i}].permissions")));
                None
            }
            Some(_) => {
                errors.push(FieldError::new(
                    format!("[{i}].permissions"),
                    "invalidType",
                    "permissions must be an array of strings",
                ));
                None
            }
        };
        if let (Some(resource), Some(reference), Some(permissions)) = (resource, reference, names) {
            grants.push(Permission {
                resource,
                reference,
                permissions,
            });
        }
    }
    if errors.is_empty() {
        Ok(grants)
    } else {
        Err(ApiError::Fields(errors))
    }
}

/// `POST /identities/{id}/permissions`: grants scopes over other identities; 200 `{}`.
pub async fn grant_permissions(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let grants = parse_grants(&body.array()?)?;
    match state
        .store
        .grant_permissions(
            &caller.tenant,
            id,
            &grants,
            if_match(&headers),
            now_micros(),
        )
        .await
    {
        Ok(()) => Ok(Json(json!({})).into_response()),
        Err(StoreError::UnknownIdentities(ids)) => Err(ApiError::Fields(
            ids.iter()
                .map(|r| {
                    FieldError::new(
                        "reference",
                        "unknownIdentity",
                        format!("identity {r} does not exist"),
                    )
                })
                .collect(),
        )),
        Err(other) => Err(other.into()),
    }
}

/// `DELETE /identities/{id}/permissions/{otherId}`: revokes every scope over `otherId`; 200 `{}`.
/// A body, which the endpoint does not take, must still be JSON within the size limit and is
/// ignored (see [`delete_identity`]).
pub async fn revoke_permissions(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, other)): Path<(String, String)>,
    _body: JsonBody,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let other = path_id(&other)?;
    state
        .store
        .revoke_permissions(&caller.tenant, id, other, if_match(&headers), now_micros())
        .await?;
    Ok(Json(json!({})).into_response())
}
