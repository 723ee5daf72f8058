//! The audit log (`audit_events`): append and read in id order.

use diesel::prelude::*;
use portico_store::schema::audit_events::dsl as a;
use portico_store::{with_conn, DbConn};

use crate::audit::{AuditEvent, AuditOutcome, NewAuditEvent};
use crate::error::{AuthError, AuthResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = portico_store::schema::audit_events)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct AuditEventRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    target: Option<String>,
    outcome: String,
    details: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = portico_store::schema::audit_events)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct NewAuditEventRow<'a> {
    at: i64,
    actor: &'a str,
    action: &'a str,
    target: Option<&'a str>,
    outcome: &'a str,
    details: String,
}

/// Appends one event.
pub fn record_audit_event(conn: &mut DbConn<'_>, event: &NewAuditEvent) -> AuthResult<()> {
    let row = NewAuditEventRow {
        at: event.at,
        actor: &event.actor,
        action: &event.action,
        target: event.target.as_deref(),
        outcome: event.outcome.as_str(),
        details: event.details.to_string(),
    };
    with_conn!(conn, c => diesel::insert_into(a::audit_events).values(&row).execute(*c))?;
    Ok(())
}

/// Up to `limit` events with an id greater than `after_id` (all when `None`), oldest first.
pub fn list_audit_events(
    conn: &mut DbConn<'_>,
    after_id: Option<i64>,
    limit: i64,
) -> AuthResult<Vec<AuditEvent>> {
    let after = after_id.unwrap_or(0);
    let rows = with_conn!(conn, c => a::audit_events
        .filter(a::id.gt(after))
        .order(a::id.asc())
        .limit(limit.max(0))
        .select(AuditEventRow::as_select())
        .load(*c))?;
    rows.into_iter()
        .map(|row| {
            let outcome = AuditOutcome::parse(&row.outcome).ok_or_else(|| {
                AuthError::Corrupt(format!(
                    "audit event {} has outcome {:?}",
                    row.id, row.outcome
                ))
            })?;
            let details = serde_json::from_str(&row.details)
                .map_err(|e| AuthError::Corrupt(format!("audit event {}: {e}", row.id)))?;
            Ok(AuditEvent {
                id: row.id,
                at: row.at,
                actor: row.actor,
                action: row.action,
                target: row.target,
                outcome,
                details,
            })
        })
        .collect()
}
