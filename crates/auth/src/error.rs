//! The auth crate's failures, each mapped to one Backstage error name at the HTTP edge.

use portico_store::StoreError;

/// What can go wrong while authenticating, signing in, or deciding permissions.
///
/// Suggested HTTP mapping: `Unauthenticated` 401 `AuthenticationError`, `NotAllowed` 403
/// `NotAllowedError`, `InvalidInput` 400 `InputError`, `NotFound` 404 `NotFoundError`,
/// `Conflict` 409 `ConflictError`, `Store` per [`StoreError::is_unavailable`] (503) or 500,
/// and everything else 500 with a generic message.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No valid credentials: a bad, expired or unknown token, or a failed sign-in.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials that may not do this.
    #[error("{0}")]
    NotAllowed(String),
    /// A malformed request (bad entity ref, missing OAuth code, ...).
    #[error("{0}")]
    InvalidInput(String),
    /// A lookup that found nothing, e.g. a sign-in resolver's user query.
    #[error("{0}")]
    NotFound(String),
    /// A lookup that found more than one thing where one was expected.
    #[error("{0}")]
    Conflict(String),
    /// The configuration is invalid; reported at start-up.
    #[error("invalid auth configuration: {0}")]
    Config(String),
    /// A remote party (GitHub, a JWKS endpoint) failed or answered nonsense.
    #[error("{0}")]
    Upstream(String),
    /// Key generation or signing failed.
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored auth data is corrupt: {0}")]
    Corrupt(String),
}

impl From<diesel::result::Error> for AuthError {
    fn from(e: diesel::result::Error) -> Self {
        AuthError::Store(StoreError::Query(e))
    }
}

impl AuthError {
    pub(crate) fn unauthenticated(message: impl Into<String>) -> Self {
        AuthError::Unauthenticated(message.into())
    }
}

pub type AuthResult<T> = Result<T, AuthError>;
