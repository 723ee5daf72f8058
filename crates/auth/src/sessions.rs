//! Refresh sessions: what the refresh cookie stands for. A sign-in creates one (a random
//! opaque token, stored only as its SHA-256, with an expiry); `refresh` mints a new user token
//! from it; logout deletes it.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portico_store::Db;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::error::{AuthError, AuthResult};
use crate::keys::millis;
use crate::providers::{
    ownership_entity_refs_of, AuthResponse, ProfileInfo, Resolution, ResolvedUser, UserResolver,
};
use crate::store::sessions::{self as store, RefreshSessionRow};
use crate::tokens::IdentityTokens;

/// Default session lifetime when the provider config sets none.
pub const DEFAULT_SESSION_DURATION: Duration = Duration::from_secs(30 * 86_400);

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshSession {
    pub provider: String,
    pub user: ResolvedUser,
    pub profile: ProfileInfo,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Clone)]
pub struct RefreshSessions {
    db: Db,
    clock: Clock,
}

impl RefreshSessions {
    pub fn new(db: Db, clock: Clock) -> Self {
        Self { db, clock }
    }

    /// Starts a session and returns its token, to be set as the
    /// `<provider>-refresh-token` cookie. `duration`: the provider's `sessionDuration`, else
    /// [`DEFAULT_SESSION_DURATION`].
    pub async fn create(
        &self,
        provider: &str,
        user: &ResolvedUser,
        profile: &ProfileInfo,
        duration: Option<Duration>,
    ) -> AuthResult<String> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let now = self.clock.now_millis();
        let row = RefreshSessionRow {
            token_hash: hash_token(&token),
            provider: provider.to_owned(),
            user_entity_ref: user.user_entity_ref.clone(),
            ownership_entity_refs: to_json(&user.ownership_entity_refs)?,
            profile: to_json(profile)?,
            resolution: user.resolution.as_str().to_owned(),
            created_at: now,
            expires_at: now.saturating_add(millis(duration.unwrap_or(DEFAULT_SESSION_DURATION))),
        };
        self.db
            .write(move |conn| store::insert_refresh_session(conn, &row))
            .await?;
        Ok(token)
    }

    /// The live session behind `token` for `provider`, if any.
    pub async fn find(&self, provider: &str, token: &str) -> AuthResult<Option<RefreshSession>> {
        let hash = hash_token(token);
        let now = self.clock.now_millis();
        let row = self
            .db
            .read(move |conn| store::find_refresh_session(conn, &hash, now))
            .await?;
        match row {
            Some(row) if row.provider == provider => Ok(Some(from_row(row)?)),
            _ => Ok(None),
        }
    }

    /// Mints a fresh user token from the session behind `token`. With `users`, a session
    /// that was resolved from the catalog is checked again, so group changes reach the new
    /// token and a user removed from the catalog is signed out.
    pub async fn refresh(
        &self,
        provider: &str,
        token: &str,
        tokens: &IdentityTokens,
        ttl: Duration,
        users: Option<&dyn UserResolver>,
    ) -> AuthResult<AuthResponse> {
        let mut session = self
            .find(provider, token)
            .await?
            .ok_or_else(|| AuthError::unauthenticated("Refresh failed: no active session"))?;
        if let (Some(users), Resolution::Catalog) = (users, session.user.resolution) {
            let filter = crate::providers::resolver_filter_for_ref(&session.user.user_entity_ref);
            let found = users.find_users(&filter).await?;
            let [entity] = found.as_slice() else {
                self.delete(token).await?;
                return Err(AuthError::unauthenticated(
                    "Refresh failed: the user is no longer in the catalog",
                ));
            };
            let (_, ownership) = ownership_entity_refs_of(entity)?;
            if ownership != session.user.ownership_entity_refs {
                let hash = hash_token(token);
                let json = to_json(&ownership)?;
                self.db
                    .write(move |conn| store::update_session_ownership(conn, &hash, &json))
                    .await?;
                session.user.ownership_entity_refs = ownership;
            }
        }
        let issued = tokens
            .issue_user_token(
                &session.user.user_entity_ref,
                &session.user.ownership_entity_refs,
                ttl,
            )
            .await?;
        Ok(AuthResponse::new(issued, session.profile))
    }

    /// Ends the session behind `token` (logout). Returns whether there was one.
    pub async fn delete(&self, token: &str) -> AuthResult<bool> {
        let hash = hash_token(token);
        self.db
            .write(move |conn| store::delete_refresh_session(conn, &hash))
            .await
    }

    /// Ends every session of a user.
    pub async fn delete_for_user(&self, user_entity_ref: &str) -> AuthResult<usize> {
        let user = user_entity_ref.to_owned();
        self.db
            .write(move |conn| store::delete_user_sessions(conn, &user))
            .await
    }

    /// Deletes expired sessions; call now and then.
    pub async fn delete_expired(&self) -> AuthResult<usize> {
        let now = self.clock.now_millis();
        self.db
            .write(move |conn| store::delete_expired_sessions(conn, now))
            .await
    }
}

/// The tokens are 256 random bits, so a plain hash (no salt, no stretching) already makes a
/// leaked table useless, and lets a lookup go straight to the row.
fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn to_json<T: serde::Serialize>(value: &T) -> AuthResult<String> {
    serde_json::to_string(value).map_err(|e| AuthError::Corrupt(e.to_string()))
}

fn from_row(row: RefreshSessionRow) -> AuthResult<RefreshSession> {
    let corrupt = |what: &str| {
        AuthError::Corrupt(format!(
            "refresh session of {}: {what}",
            row.user_entity_ref
        ))
    };
    let ownership_entity_refs =
        serde_json::from_str(&row.ownership_entity_refs).map_err(|e| corrupt(&e.to_string()))?;
    let profile = serde_json::from_str(&row.profile).map_err(|e| corrupt(&e.to_string()))?;
    let resolution =
        Resolution::parse(&row.resolution).ok_or_else(|| corrupt("unknown resolution"))?;
    Ok(RefreshSession {
        provider: row.provider,
        user: ResolvedUser {
            user_entity_ref: row.user_entity_ref,
            ownership_entity_refs,
            resolution,
        },
        profile,
        created_at: row.created_at,
        expires_at: row.expires_at,
    })
}
