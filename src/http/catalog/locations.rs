//! `/locations` and `/locations/by-entity`.

use super::wire::{AddLocationQuery, LocationInput, LocationOut};
use crate::app::AppState;
use crate::http::error::ApiError;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rows = state.catalog.locations().await?;
    let body: Vec<_> = rows
        .into_iter()
        .map(|r| json!({ "data": LocationOut::from(r) }))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = state.catalog.location(&id).await?;
    Ok(HttpResponse::Ok().json(LocationOut::from(row)))
}

pub async fn delete(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.catalog.delete_location(&id).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn create(
    state: web::Data<AppState>,
    query: web::Query<AddLocationQuery>,
    input: web::Json<LocationInput>,
) -> Result<HttpResponse, ApiError> {
    let dry_run = query
        .dry_run
        .as_deref()
        .is_some_and(|v| v == "true" || v == "1");
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
    let row = match state
        .catalog
        .add_location(&input.location_type, &input.target)
        .await
    {
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
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (kind, namespace, name) = path.into_inner();
    let r = portico_model::EntityRef::new(kind, namespace, name);
    let row = state.catalog.location_by_entity(&r).await?;
    Ok(HttpResponse::Ok().json(LocationOut::from(row)))
}
