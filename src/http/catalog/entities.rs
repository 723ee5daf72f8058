//! `/entities…` and `/entity-facets`: reads and deletes of final entities.

use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Allowed, Caller};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use portico_auth::permission::{CATALOG_ENTITY_DELETE, CATALOG_ENTITY_READ};
use portico_auth::AuditOutcome;
use portico_catalog::store::{Boundary, SortSpec};
use portico_catalog::Catalog;
use portico_model::EntityRef;
use portico_query::{Cursor, EntityFilter, SortOrder};
use serde_json::{json, Value};

/// Rows fetched per database round trip when streaming a whole listing.
const STREAM_PAGE: i64 = 1000;

fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn project(text: String, fields: Option<&[String]>) -> Result<String, ApiError> {
    match fields {
        None => Ok(text),
        Some(fields) => {
            let value: Value =
                serde_json::from_str(&text).map_err(|e| ApiError::input(e.to_string()))?;
            Ok(portico_query::project_fields(&value, fields).to_string())
        }
    }
}

fn sort_spec(order: Option<(&str, SortOrder)>) -> SortSpec {
    match order {
        Some((field, dir)) => SortSpec {
            key: Some(field.to_lowercase()),
            descending: dir == SortOrder::Desc,
        },
        None => SortSpec {
            key: None,
            descending: false,
        },
    }
}

/// GET /entities: a bare JSON array. With `limit`/`offset`/`after`, one page and a `Link`
/// header; without, the whole result, streamed page by page.
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let allowed = caller.authorize(&state, "catalog", &CATALOG_ENTITY_READ)?;
    let pairs = query_pairs(&req);
    let mut request = portico_query::parse_list_params(&pairs)?;
    request.filter = allowed.restrict(request.filter.take());
    let sort = sort_spec(
        request
            .order
            .as_ref()
            .and_then(|o| o.first())
            .map(|o| (o.field.as_str(), o.order)),
    );
    let fields = request.fields.clone();
    if let Some(pagination) = request.pagination() {
        let limit = pagination
            .limit
            .map(|l| l.min(i64::MAX as u64 / 4) as i64)
            .unwrap_or(i64::MAX / 4);
        let offset = pagination.offset.unwrap_or(0).min(i64::MAX as u64 / 4) as i64;
        let page = state
            .catalog
            .page_entities(
                request.filter.clone(),
                None,
                sort,
                None,
                false,
                limit,
                offset,
            )
            .await?;
        let items = page
            .items
            .into_iter()
            .map(|t| project(t, fields.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut response = HttpResponse::Ok();
        response.content_type("application/json");
        if page.has_more {
            let next = portico_query::AfterCursor {
                limit: Some(limit as u64),
                offset: Some((offset + limit) as u64),
            }
            .encode();
            let mut kept: Vec<(String, String)> = pairs
                .into_iter()
                .filter(|(k, _)| k != "after" && k != "offset" && k != "limit")
                .collect();
            kept.push(("after".into(), next));
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(kept)
                .finish();
            response.insert_header((header::LINK, format!("</entities?{query}>; rel=\"next\"")));
        }
        return Ok(response.body(format!("[{}]", items.join(","))));
    }
    let stream = stream_entities(state.catalog.clone(), request.filter.clone(), sort, fields);
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .streaming(stream))
}

/// The whole listing as a stream of JSON fragments: `[`, entities separated by commas, `]`.
fn stream_entities(
    catalog: Catalog,
    filter: Option<EntityFilter>,
    sort: SortSpec,
    fields: Option<Vec<String>>,
) -> impl futures_util::Stream<Item = Result<Bytes, ApiError>> {
    enum State {
        Start,
        Next(Option<Boundary>),
        Done,
    }
    futures_util::stream::unfold(State::Start, move |state| {
        let catalog = catalog.clone();
        let filter = filter.clone();
        let sort = sort.clone();
        let fields = fields.clone();
        async move {
            let (boundary, first) = match state {
                State::Done => return None,
                State::Start => (None, true),
                State::Next(b) => (b, false),
            };
            let page = match catalog
                .page_entities(filter, None, sort, boundary, false, STREAM_PAGE, 0)
                .await
            {
                Ok(p) => p,
                Err(e) => return Some((Err(ApiError::from(e)), State::Done)),
            };
            let mut chunk = String::with_capacity(
                page.items.iter().map(String::len).sum::<usize>() + page.items.len() + 2,
            );
            if first {
                chunk.push('[');
            }
            for (i, item) in page.items.into_iter().enumerate() {
                if i > 0 || !first {
                    chunk.push(',');
                }
                match project(item, fields.as_deref()) {
                    Ok(t) => chunk.push_str(&t),
                    Err(e) => return Some((Err(e), State::Done)),
                }
            }
            if !page.has_more {
                chunk.push(']');
                return Some((Ok(Bytes::from(chunk)), State::Done));
            }
            // The first page's leading comma rule: later pages start with a comma.
            Some((Ok(Bytes::from(chunk)), State::Next(page.last)))
        }
    })
}

/// GET /entities/by-query
pub async fn by_query(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let allowed = caller.authorize(&state, "catalog", &CATALOG_ENTITY_READ)?;
    let request = portico_query::parse_by_query_params(&query_pairs(&req))?;
    run_by_query(&state.catalog, request, &allowed).await
}

/// POST /entities/by-query
pub async fn by_query_post(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let allowed = caller.authorize(&state, "catalog", &CATALOG_ENTITY_READ)?;
    let request = portico_query::parse_by_query_body(&body)?;
    run_by_query(&state.catalog, request, &allowed).await
}

async fn run_by_query(
    catalog: &Catalog,
    request: portico_query::ByQueryRequest,
    allowed: &Allowed,
) -> Result<HttpResponse, ApiError> {
    let limit = request
        .limit
        .map(|l| l as i64)
        .unwrap_or(portico_query::DEFAULT_BY_QUERY_LIMIT as i64);
    let (mut cursor, boundary, backwards, offset) = match request.cursor.clone() {
        Some(c) => {
            let boundary = match (c.order_fields.is_empty(), c.order_field_values.as_slice()) {
                (false, [value, Some(uid)]) => Some(Boundary {
                    sort_value: value.clone(),
                    entity_id: uid.clone(),
                }),
                (true, [Some(uid)]) => Some(Boundary {
                    sort_value: None,
                    entity_id: uid.clone(),
                }),
                _ => return Err(ApiError::input("Malformed cursor")),
            };
            let backwards = c.is_prev;
            (c, boundary, backwards, 0)
        }
        None => {
            let total = if request.total_items_mode == portico_query::TotalItemsMode::Exclude {
                Some(0)
            } else {
                let ft = full_text_of(&request.full_text, &request.order_fields);
                let sort_key = request.order_fields.first().map(|o| o.field.to_lowercase());
                Some(
                    catalog
                        .count_entities(allowed.restrict(request.filter.clone()), ft, sort_key)
                        .await? as u64,
                )
            };
            let cursor = Cursor {
                order_fields: request.order_fields.clone(),
                order_field_values: Vec::new(),
                filter: request.filter.clone(),
                full_text: request.full_text.clone(),
                is_prev: false,
                total_items: total,
                ..Cursor::default()
            };
            (cursor, None, false, request.offset.unwrap_or(0) as i64)
        }
    };
    let sort = sort_spec(
        cursor
            .order_fields
            .first()
            .map(|o| (o.field.as_str(), o.order)),
    );
    let full_text = full_text_of(&cursor.full_text, &cursor.order_fields);
    let had_boundary = boundary.is_some();
    let page = catalog
        .page_entities(
            // The caller's restriction applies on every page; the cursor keeps only the
            // request's own filter.
            allowed.restrict(cursor.filter.clone()),
            full_text,
            sort,
            boundary,
            backwards,
            limit,
            offset,
        )
        .await?;
    let fields = request.fields.clone();
    let items = page
        .items
        .into_iter()
        .map(|t| {
            project(t, fields.as_deref()).and_then(|s| {
                serde_json::from_str::<Value>(&s).map_err(|e| ApiError::input(e.to_string()))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let more_forward = if backwards {
        had_boundary
    } else {
        page.has_more
    };
    let more_backward = if backwards {
        page.has_more
    } else {
        had_boundary || offset > 0
    };
    let sorted = !cursor.order_fields.is_empty();
    let to_values = |b: &Boundary| {
        if sorted {
            vec![b.sort_value.clone(), Some(b.entity_id.clone())]
        } else {
            vec![Some(b.entity_id.clone())]
        }
    };
    let mut page_info = serde_json::Map::new();
    if let (true, Some(last)) = (more_forward, &page.last) {
        cursor.is_prev = false;
        cursor.order_field_values = to_values(last);
        page_info.insert("nextCursor".into(), Value::String(cursor.encode()));
    }
    if let (true, Some(first)) = (more_backward, &page.first) {
        cursor.is_prev = true;
        cursor.order_field_values = to_values(first);
        page_info.insert("prevCursor".into(), Value::String(cursor.encode()));
    }
    Ok(HttpResponse::Ok().json(json!({
        "items": items,
        "totalItems": cursor.total_items.unwrap_or(0),
        "pageInfo": page_info,
    })))
}

/// The full-text search, with Backstage's default fields: the sort field, else the uid.
fn full_text_of(
    full_text: &Option<portico_query::FullTextFilter>,
    order: &[portico_query::OrderField],
) -> Option<(String, Vec<String>)> {
    let ft = full_text.as_ref()?;
    if ft.term.trim().is_empty() {
        return None;
    }
    let fields = match &ft.fields {
        Some(fields) if !fields.is_empty() => fields.clone(),
        _ => vec![order
            .first()
            .map(|o| o.field.clone())
            .unwrap_or_else(|| "metadata.uid".to_string())],
    };
    Some((ft.term.trim().to_string(), fields))
}

/// Serves one stored entity if the caller may read it; one it may not read is "not found".
fn entity_response(
    text: Option<String>,
    allowed: &Allowed,
    missing: String,
) -> Result<HttpResponse, ApiError> {
    let Some(text) = text else {
        return Err(ApiError::not_found(missing));
    };
    if let Allowed::Matching(_) = allowed {
        let entity: Value = serde_json::from_str(&text).map_err(ApiError::internal_error)?;
        if !allowed.admits(&entity) {
            return Err(ApiError::not_found(missing));
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(text))
}

pub async fn get_by_uid(
    state: web::Data<AppState>,
    caller: Caller,
    uid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let allowed = caller.authorize(&state, "catalog", &CATALOG_ENTITY_READ)?;
    let text = state.catalog.entity_by_uid(&uid).await?;
    entity_response(text, &allowed, format!("No entity with uid {uid}"))
}

pub async fn delete_by_uid(
    state: web::Data<AppState>,
    caller: Caller,
    uid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let allowed = match caller.authorize(&state, "catalog", &CATALOG_ENTITY_DELETE) {
        Ok(a) => a,
        Err(e) => {
            caller
                .audit(
                    &state,
                    "catalog.entity.delete",
                    Some(uid.to_string()),
                    AuditOutcome::Denied,
                )
                .await;
            return Err(e);
        }
    };
    // A conditional permission is checked in the delete's own transaction.
    let result = state
        .catalog
        .delete_entity_by_uid(&uid, allowed.filter().cloned())
        .await;
    let outcome = match &result {
        Ok(_) => AuditOutcome::Succeeded,
        Err(portico_catalog::CatalogError::NotAllowed(_)) => AuditOutcome::Denied,
        Err(_) => AuditOutcome::Failed,
    };
    let target = result
        .as_ref()
        .map(|r| r.clone())
        .unwrap_or_else(|_| uid.to_string());
    caller
        .audit(&state, "catalog.entity.delete", Some(target), outcome)
        .await;
    result?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn get_by_name(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let allowed = caller.authorize(&state, "catalog", &CATALOG_ENTITY_READ)?;
    let (kind, namespace, name) = path.into_inner();
    let r = EntityRef::new(kind, namespace, name);
    let text = state.catalog.entity_by_ref(&r).await?;
    entity_response(
        text,
        &allowed,
        format!(
            "No entity named '{}' found, with kind '{}' in namespace '{}'",
            r.name, r.kind, r.namespace
        ),
    )
}

pub async fn ancestry(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let allowed = caller.authorize(&state, "catalog", &CATALOG_ENTITY_READ)?;
    let (kind, namespace, name) = path.into_inner();
    let r = EntityRef::new(kind, namespace, name);
    let ancestry = state.catalog.ancestry(&r).await?;
    if let Some((root, _)) = ancestry.items.first() {
        if !allowed.admits(root) {
            return Err(ApiError::not_found(format!("No such entity {r}")));
        }
    }
    let items: Vec<Value> = ancestry
        .items
        .into_iter()
        .filter(|(entity, _)| allowed.admits(entity))
        .map(|(entity, parents)| json!({ "entity": entity, "parentEntityRefs": parents }))
        .collect();
    Ok(HttpResponse::Ok()
        .json(json!({ "rootEntityRef": ancestry.root_entity_ref, "items": items })))
}

pub async fn by_refs(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let allowed = caller.authorize(&state, "catalog", &CATALOG_ENTITY_READ)?;
    let mut request = portico_query::parse_by_refs_request(&query_pairs(&req), &body)?;
    request.filter = allowed.restrict(request.filter.take());
    let mut refs = Vec::with_capacity(request.entity_refs.len());
    for r in &request.entity_refs {
        refs.push(portico_catalog::parse_full_ref(r)?.to_string());
    }
    let found = state.catalog.entities_by_refs(refs).await?;
    let mut items = Vec::with_capacity(found.len());
    for text in found {
        let item = match text {
            None => Value::Null,
            Some(text) => {
                let entity: Value =
                    serde_json::from_str(&text).map_err(|e| ApiError::input(e.to_string()))?;
                let keep = match &request.filter {
                    None => true,
                    Some(f) => portico_query::build_search_rows(&entity)
                        .map(|rows| portico_query::matches(f, &rows))
                        .unwrap_or(false),
                };
                if !keep {
                    Value::Null
                } else if let Some(fields) = &request.fields {
                    portico_query::project_fields(&entity, fields)
                } else {
                    entity
                }
            }
        };
        items.push(item);
    }
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

pub async fn facets(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let allowed = caller.authorize(&state, "catalog", &CATALOG_ENTITY_READ)?;
    let request = portico_query::parse_facet_params(&query_pairs(&req))?;
    let facets = state
        .catalog
        .facets(request.facets, allowed.restrict(request.filter))
        .await?;
    let mut out = serde_json::Map::new();
    for (facet, values) in facets {
        let values: Vec<Value> = values
            .into_iter()
            .map(|(value, count)| json!({ "value": value, "count": count }))
            .collect();
        out.insert(facet, Value::Array(values));
    }
    Ok(HttpResponse::Ok().json(json!({ "facets": out })))
}

/// Portico's own view of processing errors, including entities that never got a final form
/// (Backstage shows these in its devtools "unprocessed entities" page).
pub async fn processing_errors(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    // These entities have no final form to check a condition against: all or nothing.
    if let Allowed::Matching(_) = caller.authorize(&state, "catalog", &CATALOG_ENTITY_READ)? {
        return Err(ApiError::not_allowed(
            "Reading processing errors needs unrestricted read access",
        ));
    }
    let items = state.catalog.processing_errors().await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
