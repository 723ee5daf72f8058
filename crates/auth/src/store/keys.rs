//! Published signing keys (`auth_signing_keys`).

use diesel::prelude::*;
use portico_store::schema::auth_signing_keys::dsl as k;
use portico_store::{with_conn, DbConn};

use crate::error::{AuthError, AuthResult};
use crate::keys::{PublicJwk, StoredKey};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = portico_store::schema::auth_signing_keys)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct SigningKeyRow {
    kid: String,
    public_jwk: String,
    created_at: i64,
    expires_at: i64,
}

impl SigningKeyRow {
    fn into_key(self) -> AuthResult<StoredKey> {
        let jwk: PublicJwk = serde_json::from_str(&self.public_jwk)
            .map_err(|e| AuthError::Corrupt(format!("signing key {}: {e}", self.kid)))?;
        if jwk.kid != self.kid {
            return Err(AuthError::Corrupt(format!(
                "signing key {} holds the JWK of {}",
                self.kid, jwk.kid
            )));
        }
        Ok(StoredKey {
            jwk,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

pub fn insert_signing_key(conn: &mut DbConn<'_>, key: &StoredKey) -> AuthResult<()> {
    let row = SigningKeyRow {
        kid: key.jwk.kid.clone(),
        public_jwk: serde_json::to_string(&key.jwk)
            .map_err(|e| AuthError::Corrupt(e.to_string()))?,
        created_at: key.created_at,
        expires_at: key.expires_at,
    };
    with_conn!(conn, c => diesel::insert_into(k::auth_signing_keys).values(&row).execute(*c))?;
    Ok(())
}

pub fn find_signing_key(conn: &mut DbConn<'_>, kid: &str) -> AuthResult<Option<StoredKey>> {
    let row = with_conn!(conn, c => k::auth_signing_keys
        .filter(k::kid.eq(kid))
        .select(SigningKeyRow::as_select())
        .first(*c)
        .optional())?;
    row.map(SigningKeyRow::into_key).transpose()
}

pub fn list_signing_keys(conn: &mut DbConn<'_>) -> AuthResult<Vec<StoredKey>> {
    let rows = with_conn!(conn, c => k::auth_signing_keys
        .order((k::created_at.asc(), k::kid.asc()))
        .select(SigningKeyRow::as_select())
        .load(*c))?;
    rows.into_iter().map(SigningKeyRow::into_key).collect()
}

/// Deletes keys that expired at or before `now`.
pub fn delete_expired_signing_keys(conn: &mut DbConn<'_>, now: i64) -> AuthResult<usize> {
    Ok(
        with_conn!(conn, c => diesel::delete(k::auth_signing_keys.filter(k::expires_at.le(now)))
        .execute(*c))?,
    )
}
