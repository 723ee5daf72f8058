//! Audit events: who did what to what, and whether it went through. Stored by
//! [`crate::store::audit`]; [`AuditLog`] is the async entry point for code holding a `Db`.

use portico_store::Db;
use serde::Serialize;
use serde_json::Value;

use crate::clock::Clock;
use crate::error::AuthResult;
use crate::identity::Identity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    /// The operation was allowed and completed.
    Succeeded,
    /// The operation was allowed but failed.
    Failed,
    /// The permission policy or authentication refused it.
    Denied,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Succeeded => "succeeded",
            AuditOutcome::Failed => "failed",
            AuditOutcome::Denied => "denied",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "succeeded" => Some(AuditOutcome::Succeeded),
            "failed" => Some(AuditOutcome::Failed),
            "denied" => Some(AuditOutcome::Denied),
            _ => None,
        }
    }
}

/// An event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    /// Unix millis.
    pub at: i64,
    /// [`Identity::actor`], or `anonymous`.
    pub actor: String,
    /// Usually a permission name (`catalog.location.create`) or an auth event (`auth.sign-in`).
    pub action: String,
    /// What was acted on: an entity ref, a location id, ...
    pub target: Option<String>,
    pub outcome: AuditOutcome,
    /// Free-form JSON object (request id, error message, ...). Never put secrets here.
    pub details: Value,
}

impl NewAuditEvent {
    pub fn new(
        identity: Option<&Identity>,
        action: impl Into<String>,
        target: Option<String>,
        outcome: AuditOutcome,
    ) -> Self {
        NewAuditEvent {
            at: portico_store::now_millis(),
            actor: identity.map_or_else(|| "anonymous".to_owned(), Identity::actor),
            action: action.into(),
            target,
            outcome,
            details: Value::Object(Default::default()),
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub outcome: AuditOutcome,
    pub details: Value,
}

/// The audit log over a database.
#[derive(Clone)]
pub struct AuditLog {
    db: Db,
    clock: Clock,
}

impl AuditLog {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            clock: Clock::system(),
        }
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Records `event`, stamping it with this log's clock.
    pub async fn record(&self, mut event: NewAuditEvent) -> AuthResult<()> {
        event.at = self.clock.now_millis();
        self.db
            .write(move |conn| crate::store::audit::record_audit_event(conn, &event))
            .await
    }

    /// Events after `after_id`, oldest first; page with the last id returned.
    pub async fn list(&self, after_id: Option<i64>, limit: i64) -> AuthResult<Vec<AuditEvent>> {
        self.db
            .read(move |conn| crate::store::audit::list_audit_events(conn, after_id, limit))
            .await
    }
}
