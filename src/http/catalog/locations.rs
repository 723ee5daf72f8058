//! `/locations` and `/locations/by-entity`.

use super::wire::{AddLocationQuery, LocationInput, LocationOut};
use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::extract::Caller;
use actix_web::{web, HttpResponse};
use portico_auth::permission::{
    CATALOG_LOCATION_ANALYZE, CATALOG_LOCATION_CREATE, CATALOG_LOCATION_DELETE,
    CATALOG_LOCATION_READ,
};
use portico_auth::AuditOutcome;
use serde_json::json;

pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.authorize(&state, "catalog", &CATALOG_LOCATION_READ)?;
    let rows = state.catalog.locations().await?;
    let body: Vec<_> = rows
        .into_iter()
        .map(|r| json!({ "data": LocationOut::from(r) }))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.authorize(&state, "catalog", &CATALOG_LOCATION_READ)?;
    let row = state.catalog.location(&id).await?;
    Ok(HttpResponse::Ok().json(LocationOut::from(row)))
}

pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = Some(format!("location:{id}"));
    if let Err(e) = caller.authorize(&state, "catalog", &CATALOG_LOCATION_DELETE) {
        caller
            .audit(
                &state,
                "catalog.location.delete",
                target,
                AuditOutcome::Denied,
            )
            .await;
        return Err(e);
    }
    let result = state.catalog.delete_location(&id).await;
    let outcome = if result.is_ok() {
        AuditOutcome::Succeeded
    } else {
        AuditOutcome::Failed
    };
    caller
        .audit(&state, "catalog.location.delete", target, outcome)
        .await;
    result?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AddLocationQuery>,
    input: web::Json<LocationInput>,
) -> Result<HttpResponse, ApiError> {
    let dry_run = query
        .dry_run
        .as_deref()
        .is_some_and(|v| v == "true" || v == "1");
    let target = Some(format!("{}:{}", input.location_type, input.target));
    if dry_run {
        caller.authorize(&state, "catalog", &CATALOG_LOCATION_ANALYZE)?;
    } else if let Err(e) = caller.authorize(&state, "catalog", &CATALOG_LOCATION_CREATE) {
        caller
            .audit(
                &state,
                "catalog.location.create",
                target,
                AuditOutcome::Denied,
            )
            .await;
        return Err(e);
    }
    if dry_run {
        let result = state
            .catalog
            .dry_run_location(&input.location_type, &input.target)
            .await?;
        return Ok(HttpResponse::Created().json(json!({
            "exists": result.exists,
            "location": { "id": format!("{}:{}", input.location_type, input.target), "type": input.location_type, "target": input.target },
            "entities": result.entities,
        })));
    }
    let refresh_on_conflict = query.on_conflict.as_deref() == Some("refresh");
    let added = state
        .catalog
        .add_location(&input.location_type, &input.target)
        .await;
    let outcome = if added.is_ok() {
        AuditOutcome::Succeeded
    } else {
        AuditOutcome::Failed
    };
    caller
        .audit(&state, "catalog.location.create", target, outcome)
        .await;
    let row = match added {
        Err(portico_catalog::CatalogError::Conflict(_)) if refresh_on_conflict => {
            let existing = state
                .catalog
                .locations()
                .await?
                .into_iter()
                .find(|l| l.location_type == input.location_type && l.target == input.target)
                .ok_or_else(|| ApiError::not_found("Location disappeared"))?;
            let root = portico_catalog::processing::root_location_entity(
                &existing.location_type,
                &existing.target,
            );
            if let Ok(r) = portico_model::EntityRef::of_entity(&root) {
                state.catalog.refresh(&r).await?;
            }
            existing
        }
        other => other?,
    };
    Ok(HttpResponse::Created().json(json!({ "location": LocationOut::from(row), "entities": [] })))
}

pub async fn by_entity(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.authorize(&state, "catalog", &CATALOG_LOCATION_READ)?;
    let (kind, namespace, name) = path.into_inner();
    let r = portico_model::EntityRef::new(kind, namespace, name);
    let row = state.catalog.location_by_entity(&r).await?;
    Ok(HttpResponse::Ok().json(LocationOut::from(row)))
}
