//! The `task_leases` table: provider schedules shared by every replica. Each statement is
//! written once and compiled for both backends; a claim is one `UPDATE` whose `WHERE`
//! re-checks due time and lease, so on PostgreSQL a second replica's concurrent claim waits
//! for the first to commit, re-evaluates, and matches no row.

use crate::error::CatalogResult;
use diesel::prelude::*;
use portico_store::schema::task_leases as tl;
use portico_store::{with_conn, DbConn};

/// The outcome of [`try_claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This replica holds the lease for the run scheduled at `scheduled_at`.
    Claimed { ticket: String, scheduled_at: i64 },
    /// Not due, or another replica holds an unexpired lease.
    NotClaimed {
        next_run_start_at: Option<i64>,
        lease_expires_at: Option<i64>,
    },
}

/// Makes sure the task exists; keeps an earlier next run than `first_run` (a run already due
/// stays due), as Backstage's scheduler does when a replica (re)starts.
pub fn register_task(
    conn: &mut DbConn<'_>,
    id: &str,
    settings: &str,
    first_run: Option<i64>,
) -> CatalogResult<()> {
    with_conn!(conn, c => diesel::insert_into(tl::table)
        .values((
            tl::id.eq(id),
            tl::settings.eq(settings),
            tl::next_run_start_at.eq(first_run),
        ))
        .on_conflict(tl::id)
        .do_nothing()
        .execute(*c))?;
    with_conn!(conn, c => diesel::update(tl::table.filter(tl::id.eq(id)))
        .set(tl::settings.eq(settings))
        .execute(*c))?;
    if let Some(first_run) = first_run {
        with_conn!(conn, c => diesel::update(
            tl::table
                .filter(tl::id.eq(id))
                .filter(tl::next_run_start_at.is_null().or(tl::next_run_start_at.gt(first_run))),
        )
        .set(tl::next_run_start_at.eq(first_run))
        .execute(*c))?;
    }
    Ok(())
}

/// Takes the lease when the task is due and nobody holds an unexpired lease.
pub fn try_claim(
    conn: &mut DbConn<'_>,
    id: &str,
    ticket: &str,
    now: i64,
    lease_ms: i64,
) -> CatalogResult<Claim> {
    let claimed = with_conn!(conn, c => diesel::update(
        tl::table
            .filter(tl::id.eq(id))
            .filter(tl::next_run_start_at.le(now))
            .filter(tl::current_run_ticket.is_null().or(tl::current_run_expires_at.lt(now))),
    )
    .set((
        tl::current_run_ticket.eq(ticket),
        tl::current_run_started_at.eq(now),
        tl::current_run_expires_at.eq(now.saturating_add(lease_ms)),
    ))
    .execute(*c))?;
    let (next_run_start_at, lease_expires_at): (Option<i64>, Option<i64>) = with_conn!(conn, c => tl::table
            .filter(tl::id.eq(id))
            .select((tl::next_run_start_at, tl::current_run_expires_at))
            .first(*c))?;
    Ok(match (claimed, next_run_start_at) {
        (1, Some(scheduled_at)) => Claim::Claimed {
            ticket: ticket.to_string(),
            scheduled_at,
        },
        _ => Claim::NotClaimed {
            next_run_start_at,
            lease_expires_at,
        },
    })
}

/// Gives the lease back with the next run time; false when the lease was lost meanwhile (it
/// expired and another replica took it).
pub fn release(
    conn: &mut DbConn<'_>,
    id: &str,
    ticket: &str,
    next_run_start_at: Option<i64>,
    ended_at: i64,
    error: Option<&str>,
) -> CatalogResult<bool> {
    let released = with_conn!(conn, c => diesel::update(
        tl::table
            .filter(tl::id.eq(id))
            .filter(tl::current_run_ticket.eq(ticket)),
    )
    .set((
        tl::next_run_start_at.eq(next_run_start_at),
        tl::current_run_ticket.eq(None::<String>),
        tl::current_run_started_at.eq(None::<i64>),
        tl::current_run_expires_at.eq(None::<i64>),
        tl::last_run_ended_at.eq(Some(ended_at)),
        tl::last_run_error.eq(error),
    ))
    .execute(*c))?;
    Ok(released == 1)
}

/// Makes an idle task due now (Backstage's manual trigger); false while it runs.
pub fn trigger_task(conn: &mut DbConn<'_>, id: &str, now: i64) -> CatalogResult<bool> {
    let updated = with_conn!(conn, c => diesel::update(
        tl::table
            .filter(tl::id.eq(id))
            .filter(tl::current_run_ticket.is_null()),
    )
    .set(tl::next_run_start_at.eq(Some(now)))
    .execute(*c))?;
    Ok(updated == 1)
}

/// One task's row, for status and tests.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct TaskLease {
    pub id: String,
    pub settings: String,
    pub next_run_start_at: Option<i64>,
    pub current_run_ticket: Option<String>,
    pub current_run_started_at: Option<i64>,
    pub current_run_expires_at: Option<i64>,
    pub last_run_ended_at: Option<i64>,
    pub last_run_error: Option<String>,
}

pub fn task_lease(conn: &mut DbConn<'_>, id: &str) -> CatalogResult<Option<TaskLease>> {
    Ok(with_conn!(conn, c => tl::table
        .filter(tl::id.eq(id))
        .select((
            tl::id,
            tl::settings,
            tl::next_run_start_at,
            tl::current_run_ticket,
            tl::current_run_started_at,
            tl::current_run_expires_at,
            tl::last_run_ended_at,
            tl::last_run_error,
        ))
        .first::<TaskLease>(*c)
        .optional())?)
}
