//! `/refresh`, `/validate-entity` and `/analyze-location`.

use super::wire::{AnalyzeInput, RefreshInput, ValidateInput};
use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Allowed, Caller};
use actix_web::{web, HttpResponse};
use portico_auth::permission::{
    CATALOG_ENTITY_REFRESH, CATALOG_ENTITY_VALIDATE, CATALOG_LOCATION_ANALYZE,
};
use portico_auth::AuditOutcome;
use serde_json::{json, Value};

pub async fn refresh(
    state: web::Data<AppState>,
    caller: Caller,
    input: web::Json<RefreshInput>,
) -> Result<HttpResponse, ApiError> {
    let r = portico_catalog::parse_full_ref(&input.entity_ref)?;
    let target = Some(r.to_string());
    let allowed = match caller.authorize(&state, "catalog", &CATALOG_ENTITY_REFRESH) {
        Ok(a) => a,
        Err(e) => {
            caller
                .audit(
                    &state,
                    "catalog.entity.refresh",
                    target,
                    AuditOutcome::Denied,
                )
                .await;
            return Err(e);
        }
    };
    if let Allowed::Matching(_) = &allowed {
        let text = state.catalog.entity_by_ref(&r).await?;
        let entity: Option<Value> = text.and_then(|t| serde_json::from_str(&t).ok());
        if !entity.as_ref().is_some_and(|e| allowed.admits(e)) {
            caller
                .audit(
                    &state,
                    "catalog.entity.refresh",
                    target,
                    AuditOutcome::Denied,
                )
                .await;
            return Err(ApiError::not_allowed(format!("You may not refresh {r}")));
        }
    }
    let result = state.catalog.refresh(&r).await;
    let outcome = if result.is_ok() {
        AuditOutcome::Succeeded
    } else {
        AuditOutcome::Failed
    };
    caller
        .audit(&state, "catalog.entity.refresh", target, outcome)
        .await;
    result?;
    Ok(HttpResponse::Ok().finish())
}

pub async fn validate_entity(
    state: web::Data<AppState>,
    caller: Caller,
    input: web::Json<ValidateInput>,
) -> Result<HttpResponse, ApiError> {
    caller.authorize(&state, "catalog", &CATALOG_ENTITY_VALIDATE)?;
    let input = input.into_inner();
    if !input.location.contains(':') {
        return Err(ApiError::input(format!(
            "Invalid location ref {}, expected type:target",
            input.location
        )));
    }
    let errors = state
        .catalog
        .validate_entity(input.entity, &input.location)
        .await?;
    if errors.is_empty() {
        return Ok(HttpResponse::Ok().finish());
    }
    let errors: Vec<Value> = errors
        .into_iter()
        .map(|e| json!({ "name": e.error.name, "message": e.error.message }))
        .collect();
    Ok(HttpResponse::BadRequest().json(json!({ "errors": errors })))
}

/// Lists the catalog files a location holds (a dry run of reading it); when it holds none,
/// suggests a Component to create, with the fields a person still has to fill in.
pub async fn analyze_location(
    state: web::Data<AppState>,
    caller: Caller,
    input: web::Json<AnalyzeInput>,
) -> Result<HttpResponse, ApiError> {
    caller.authorize(&state, "catalog", &CATALOG_LOCATION_ANALYZE)?;
    let input = input.into_inner();
    let location = input.location;
    let file_name = input
        .catalog_file_name
        .unwrap_or_else(|| "catalog-info.yaml".to_string());
    let target = if location.target.ends_with(".yaml") || location.target.ends_with(".yml") {
        location.target.clone()
    } else {
        format!("{}/{}", location.target.trim_end_matches('/'), file_name)
    };
    match state
        .catalog
        .dry_run_location(&location.location_type, &target)
        .await
    {
        Ok(result) => {
            let existing: Vec<Value> = result
                .entities
                .into_iter()
                .filter(|e| {
                    e.get("kind").and_then(Value::as_str) != Some("Location")
                        || e.pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| !n.starts_with("generated-"))
                })
                .map(|entity| {
                    json!({
                        "location": { "type": location.location_type, "target": target },
                        "isRegistered": result.exists,
                        "entity": entity,
                    })
                })
                .collect();
            Ok(HttpResponse::Ok()
                .json(json!({ "existingEntityFiles": existing, "generateEntities": [] })))
        }
        Err(portico_catalog::CatalogError::NotFound(_)) => {
            let name = location
                .target
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("component")
                .to_string();
            Ok(HttpResponse::Ok().json(json!({
                "existingEntityFiles": [],
                "generateEntities": [{
                    "entity": {
                        "apiVersion": "backstage.io/v1alpha1",
                        "kind": "Component",
                        "metadata": { "name": name },
                        "spec": { "type": "other", "lifecycle": "unknown" }
                    },
                    "fields": [{
                        "field": "spec.owner",
                        "state": "needsUserInput",
                        "value": null,
                        "description": "Entity owner is recommended"
                    }]
                }]
            })))
        }
        Err(e) => Err(e.into()),
    }
}
