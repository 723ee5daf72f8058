//! `POST /api/events/http/github`: GitHub webhook deliveries, at Backstage's events endpoint.
//! Authenticated by the `X-Hub-Signature-256` HMAC, not by a Backstage token (GitHub cannot send
//! one); a bad or missing signature is a 401 and the body is not looked at.

use crate::app::AppState;
use crate::http::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use portico_catalog::github::GithubEventError;
use serde_json::json;

/// The largest payload GitHub sends.
pub const MAX_PAYLOAD_BYTES: usize = 25 * 1024 * 1024;

pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let outcome = state
        .github
        .handle_event(
            header("x-github-event").unwrap_or_default(),
            header("x-github-delivery"),
            header("x-hub-signature-256"),
            &body,
        )
        .await?;
    Ok(HttpResponse::Accepted().json(json!({
        "status": "accepted",
        "refreshedLocations": outcome.refreshed.len(),
        "discovery": outcome.discovery,
    })))
}

impl From<GithubEventError> for ApiError {
    fn from(e: GithubEventError) -> Self {
        match e {
            GithubEventError::NoSecret | GithubEventError::BadSignature => ApiError {
                status: StatusCode::UNAUTHORIZED,
                name: "AuthenticationError",
                message: e.to_string(),
            },
            GithubEventError::Invalid(m) => ApiError::input(m),
            GithubEventError::Catalog(e) => e.into(),
        }
    }
}
