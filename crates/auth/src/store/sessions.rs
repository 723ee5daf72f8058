//! Refresh sessions (`auth_refresh_sessions`), keyed by the SHA-256 of their token.

use diesel::prelude::*;
use portico_store::schema::auth_refresh_sessions::dsl as s;
use portico_store::{with_conn, DbConn};

use crate::error::AuthResult;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = portico_store::schema::auth_refresh_sessions)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct RefreshSessionRow {
    pub token_hash: String,
    pub provider: String,
    pub user_entity_ref: String,
    /// JSON array of refs.
    pub ownership_entity_refs: String,
    /// JSON object: the provider profile (`email`, `displayName`, `picture`).
    pub profile: String,
    /// `catalog` or `fallback`.
    pub resolution: String,
    pub created_at: i64,
    pub expires_at: i64,
}

pub fn insert_refresh_session(conn: &mut DbConn<'_>, row: &RefreshSessionRow) -> AuthResult<()> {
    with_conn!(conn, c => diesel::insert_into(s::auth_refresh_sessions).values(row).execute(*c))?;
    Ok(())
}

/// The session with this token hash, unless it expired at or before `now`.
pub fn find_refresh_session(
    conn: &mut DbConn<'_>,
    token_hash: &str,
    now: i64,
) -> AuthResult<Option<RefreshSessionRow>> {
    Ok(with_conn!(conn, c => s::auth_refresh_sessions
        .filter(s::token_hash.eq(token_hash).and(s::expires_at.gt(now)))
        .select(RefreshSessionRow::as_select())
        .first(*c)
        .optional())?)
}

/// Replaces the ownership refs a session mints tokens with (after a catalog re-check).
pub fn update_session_ownership(
    conn: &mut DbConn<'_>,
    token_hash: &str,
    ownership_entity_refs: &str,
) -> AuthResult<()> {
    with_conn!(conn, c => diesel::update(s::auth_refresh_sessions.filter(s::token_hash.eq(token_hash)))
        .set(s::ownership_entity_refs.eq(ownership_entity_refs))
        .execute(*c))?;
    Ok(())
}

pub fn delete_refresh_session(conn: &mut DbConn<'_>, token_hash: &str) -> AuthResult<bool> {
    let n = with_conn!(conn, c => diesel::delete(s::auth_refresh_sessions.filter(s::token_hash.eq(token_hash)))
        .execute(*c))?;
    Ok(n > 0)
}

/// Signs a user out everywhere.
pub fn delete_user_sessions(conn: &mut DbConn<'_>, user_entity_ref: &str) -> AuthResult<usize> {
    Ok(
        with_conn!(conn, c => diesel::delete(s::auth_refresh_sessions.filter(s::user_entity_ref.eq(user_entity_ref)))
        .execute(*c))?,
    )
}

pub fn delete_expired_sessions(conn: &mut DbConn<'_>, now: i64) -> AuthResult<usize> {
    Ok(
        with_conn!(conn, c => diesel::delete(s::auth_refresh_sessions.filter(s::expires_at.le(now)))
        .execute(*c))?,
    )
}
