//! Turning a request's bearer token into an [`Identity`]: user tokens first, then external
//! access, as Backstage's auth service does.

use std::sync::Arc;

use crate::error::{AuthError, AuthResult};
use crate::external::ExternalAccess;
use crate::identity::Identity;
use crate::tokens::IdentityTokens;

pub struct Authenticator {
    tokens: Arc<IdentityTokens>,
    external: ExternalAccess,
    disable_default_auth_policy: bool,
}

impl Authenticator {
    /// `disable_default_auth_policy` is `backend.auth.dangerouslyDisableDefaultAuthPolicy`.
    pub fn new(
        tokens: Arc<IdentityTokens>,
        external: ExternalAccess,
        disable_default_auth_policy: bool,
    ) -> Self {
        Self {
            tokens,
            external,
            disable_default_auth_policy,
        }
    }

    pub fn tokens(&self) -> &Arc<IdentityTokens> {
        &self.tokens
    }

    /// Who presented `bearer` (the token after `Bearer `; see [`bearer_token`]).
    ///
    /// - no token: `Ok(None)`, an anonymous caller;
    /// - a user token (`typ: vnd.backstage.user`): its identity, or an `Unauthenticated`
    ///   error saying why it was refused — never handed on to external access;
    /// - anything else: the first external-access handler that accepts it, else
    ///   `Unauthenticated("Illegal token")`.
    pub async fn authenticate(&self, bearer: Option<&str>) -> AuthResult<Option<Identity>> {
        let Some(token) = bearer.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if IdentityTokens::is_user_token(token) {
            return self.tokens.verify(token).await.map(Some);
        }
        match self.external.verify(token).await {
            Some(identity) => Ok(Some(identity)),
            None => Err(AuthError::unauthenticated("Illegal token")),
        }
    }

    /// [`Authenticator::authenticate`], then Backstage's default auth policy: a request
    /// without credentials is refused unless `dangerouslyDisableDefaultAuthPolicy` is set.
    /// For routes Backstage marks `unauthenticated` (well-known documents, sign-in) call
    /// `authenticate` instead.
    pub async fn authenticate_required(
        &self,
        bearer: Option<&str>,
    ) -> AuthResult<Option<Identity>> {
        match self.authenticate(bearer).await? {
            Some(identity) => Ok(Some(identity)),
            None if self.disable_default_auth_policy => Ok(None),
            None => Err(AuthError::unauthenticated("Missing credentials")),
        }
    }

    pub fn default_auth_policy_disabled(&self) -> bool {
        self.disable_default_auth_policy
    }
}

/// The token of an `Authorization: Bearer <token>` header value, as Backstage matches it
/// (`^Bearer[ ]+(\S+)$`, case-insensitive scheme).
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let scheme = authorization.get(..6)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let rest = &authorization[6..];
    let token = rest.trim_start_matches(' ');
    if token.len() == rest.len() || token.is_empty() || token.chars().any(char::is_whitespace) {
        return None;
    }
    Some(token)
}
