//! The caller of a request, and the permission check every handler makes with it.

use crate::app::AppState;
use crate::http::error::ApiError;
use actix_web::{web, FromRequest, HttpRequest};
use portico_auth::permission::{Decision, Permission};
use portico_auth::{bearer_token, AuditOutcome, Identity, NewAuditEvent};
use portico_query::EntityFilter;
use std::future::Future;
use std::pin::Pin;

/// Who is calling: a verified identity, or `None` for an anonymous caller where the
/// deployment allows them. A bad, expired or forged token is a 401 before the handler runs.
#[derive(Debug, Clone)]
pub struct Caller(pub Option<Identity>);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::internal_error("application state missing"))?;
            let bearer = header.as_deref().and_then(bearer_token);
            let identity = state
                .auth
                .authenticator
                .authenticate_required(bearer)
                .await?;
            Ok(Caller(identity))
        })
    }
}

/// What a permission check allows.
pub enum Allowed {
    /// Everything the permission covers.
    All,
    /// Only the catalog entities matching this filter.
    Matching(EntityFilter),
}

impl Allowed {
    /// The filter to add to a query, if any.
    pub fn filter(&self) -> Option<&EntityFilter> {
        match self {
            Allowed::All => None,
            Allowed::Matching(f) => Some(f),
        }
    }

    /// Combines a request's own filter with what the caller may see.
    pub fn restrict(&self, filter: Option<EntityFilter>) -> Option<EntityFilter> {
        match (self, filter) {
            (Allowed::All, f) => f,
            (Allowed::Matching(c), None) => Some(c.clone()),
            (Allowed::Matching(c), Some(f)) => Some(EntityFilter::All(vec![f, c.clone()])),
        }
    }

    /// Whether one entity is allowed.
    pub fn admits(&self, entity: &serde_json::Value) -> bool {
        match self {
            Allowed::All => true,
            Allowed::Matching(f) => portico_query::build_search_rows(entity)
                .map(|rows| portico_query::matches(f, &rows))
                .unwrap_or(false),
        }
    }
}

impl Caller {
    /// Checks a permission for a plugin (`catalog`, `scaffolder`, …): 403 when denied.
    pub fn authorize(
        &self,
        state: &AppState,
        plugin: &str,
        permission: &Permission,
    ) -> Result<Allowed, ApiError> {
        if let Some(identity) = &self.0 {
            identity.check_plugin_access(plugin)?;
        }
        match state.auth.policy.evaluate(self.0.as_ref(), permission) {
            Decision::Allow => Ok(Allowed::All),
            Decision::Deny => Err(ApiError::not_allowed(format!(
                "{} is not allowed to use {}",
                self.actor(),
                permission.name
            ))),
            Decision::Conditional(condition) => Ok(Allowed::Matching(condition.to_entity_filter())),
        }
    }

    pub fn actor(&self) -> String {
        self.0
            .as_ref()
            .map_or_else(|| "anonymous".to_string(), Identity::actor)
    }

    /// Records a write in the audit log; a failure to record is logged, not returned, so it
    /// never turns a done write into an error.
    pub async fn audit(
        &self,
        state: &AppState,
        action: &str,
        target: Option<String>,
        outcome: AuditOutcome,
    ) {
        let event = NewAuditEvent::new(self.0.as_ref(), action, target, outcome);
        if let Err(e) = state.auth.audit.record(event).await {
            tracing::error!("could not record audit event {action}: {e}");
        }
    }
}
