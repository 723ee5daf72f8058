//! Portico's auth, following Backstage's identity model: ES256 user tokens with rotating
//! keys shared through the database, the JWKS and OpenID documents, external access for CI
//! (static tokens, third-party JWKS, legacy secrets), the guest and GitHub sign-in providers
//! with their sign-in resolvers, refresh sessions, a permission policy from config whose
//! conditional decisions become catalog filters, and the audit log.
//!
//! Framework-free: the HTTP layer parses requests, sets cookies and renders pages; it calls
//! [`AuthService`]'s parts. The catalog lookups sign-in needs come in through
//! [`providers::UserResolver`].

mod audit;
mod authenticator;
mod clock;
pub mod config;
mod duration;
mod error;
mod external;
#[cfg(test)]
mod fakes;
mod identity;
mod keys;
pub mod permission;
pub mod providers;
mod service;
mod sessions;
pub mod store;
mod tokens;
mod wellknown;

pub use audit::{AuditEvent, AuditLog, AuditOutcome, NewAuditEvent};
pub use authenticator::{bearer_token, Authenticator};
pub use clock::Clock;
pub use duration::ConfigDuration;
pub use error::{AuthError, AuthResult};
pub use external::{ExternalAccess, MIN_STATIC_TOKEN_LENGTH};
pub use identity::{AccessRestriction, AccessRestrictions, Identity, IdentityKind};
pub use keys::{
    DbKeyStore, KeyPolicy, KeyStore, MemoryKeyStore, PublicJwk, SigningKeys, StoredKey,
};
pub use service::{AuthService, AuthSettings, TOKEN_LEEWAY};
pub use sessions::{RefreshSession, RefreshSessions, DEFAULT_SESSION_DURATION};
pub use tokens::{
    IdentityTokens, IssuedToken, MAX_TOKEN_LENGTH, USER_TOKEN_AUDIENCE, USER_TOKEN_TYPE,
};
pub use wellknown::{jwks_document, openid_configuration, userinfo_document, OpenIdConfiguration};
