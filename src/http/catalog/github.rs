//! `GET /api/catalog/portico/github/rate-limit`: Portico's own: the GitHub API quota of every
//! configured host, as last reported (or asked for with the free `GET /rate_limit`).

use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::extract::Caller;
use actix_web::{web, HttpResponse};
use portico_auth::permission::CATALOG_LOCATION_READ;
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HostQuota {
    host: String,
    limit: Option<u64>,
    remaining: Option<u64>,
    /// When the window resets, in seconds since the Unix epoch.
    reset: Option<u64>,
    reset_in_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Who may read locations may see the quota their reads use.
pub async fn rate_limit(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.authorize(&state, "catalog", &CATALOG_LOCATION_READ)?;
    let hosts: Vec<HostQuota> = state
        .github
        .rate_limits()
        .await
        .into_iter()
        .map(|h| HostQuota {
            host: h.host,
            limit: h.quota.map(|q| q.limit),
            remaining: h.quota.map(|q| q.remaining),
            reset: h.quota.map(|q| q.reset),
            reset_in_seconds: h.quota.map(|q| q.time_to_reset().as_secs()),
            error: h.error,
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "hosts": hosts })))
}
