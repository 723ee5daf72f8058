//! Liveness and readiness for load balancers (Backstage's paths, plus `/healthcheck`).

use crate::app::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub async fn liveness() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready when the database answers.
pub async fn readiness(state: web::Data<AppState>) -> HttpResponse {
    match state.catalog.db().ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ok" })),
        Err(e) => {
            tracing::warn!("readiness check failed: {e}");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "error", "message": "database unavailable" }))
        }
    }
}
