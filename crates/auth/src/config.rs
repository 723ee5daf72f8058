//! Typed views of the config sections this crate reads: `auth` (Backstage's auth plugin),
//! `backend.auth` (external access) and `portico.permission` (see
//! [`crate::permission::PermissionConfig`]). The root config composes them; tests build them
//! in code.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::duration::ConfigDuration;

/// Backstage's default user token lifetime, and its allowed range.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);
pub const MIN_TOKEN_TTL: Duration = Duration::from_secs(600);
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(86_400);

/// `auth`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthConfig {
    /// `auth.environment`: which per-environment block of each provider applies
    /// (Backstage's default: `development`).
    #[serde(default)]
    pub environment: Option<String>,
    /// `auth.backstageTokenExpiration`: user token lifetime, clamped to 10 min – 24 h.
    #[serde(default)]
    pub backstage_token_expiration: Option<ConfigDuration>,
    #[serde(default)]
    pub providers: ProvidersConfig,

    // Backstage keys accepted so real app-configs load without warnings; Portico does not
    // act on them (its keys live in the database, its sessions in `auth_refresh_sessions`).
    #[serde(default)]
    pub session: Option<Value>,
    #[serde(default)]
    pub key_store: Option<Value>,
    #[serde(default)]
    pub identity_token_algorithm: Option<String>,
    #[serde(default)]
    pub omit_identity_token_ownership_claim: Option<bool>,
}

impl AuthConfig {
    pub fn environment(&self) -> &str {
        self.environment.as_deref().unwrap_or("development")
    }

    /// The user token lifetime, clamped as Backstage clamps it.
    pub fn token_ttl(&self) -> Duration {
        self.backstage_token_expiration
            .map_or(DEFAULT_TOKEN_TTL, ConfigDuration::as_duration)
            .clamp(MIN_TOKEN_TTL, MAX_TOKEN_TTL)
    }
}

/// `auth.providers`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvidersConfig {
    /// `auth.providers.guest`; absent means the guest provider with its defaults.
    #[serde(default)]
    pub guest: Option<GuestProviderConfig>,
    /// `auth.providers.github.<environment>`.
    #[serde(default)]
    pub github: BTreeMap<String, GithubProviderConfig>,
}

/// `auth.providers.guest`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestProviderConfig {
    /// Portico-only: `false` turns the guest provider off entirely.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Default `user:development/guest`.
    #[serde(default)]
    pub user_entity_ref: Option<String>,
    /// Default: just the user ref.
    #[serde(default)]
    pub ownership_entity_refs: Option<Vec<String>>,
    /// Allows guest sign-in outside development (Backstage: outside NODE_ENV=development).
    #[serde(default)]
    pub dangerously_allow_outside_development: bool,
}

fn yes() -> bool {
    true
}

impl Default for GuestProviderConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            user_entity_ref: None,
            ownership_entity_refs: None,
            dangerously_allow_outside_development: false,
        }
    }
}

/// `auth.providers.github.<environment>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GithubProviderConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    /// GitHub Enterprise Server, e.g. `https://ghe.example.com`; OAuth then lives under it and
    /// the API under `<it>/api/v3`.
    #[serde(default)]
    pub enterprise_instance_url: Option<String>,
    /// Overrides the callback URL (default `<auth base>/github/handler/frame`).
    #[serde(default)]
    pub callback_url: Option<String>,
    #[serde(default)]
    pub additional_scopes: Option<StringList>,
    #[serde(default)]
    pub sign_in: Option<SignInConfig>,
    /// How long a sign-in session (the refresh cookie) lasts.
    #[serde(default)]
    pub session_duration: Option<ConfigDuration>,
}

/// `signIn` of a provider.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInConfig {
    #[serde(default)]
    pub resolvers: Vec<SignInResolverConfig>,
}

/// One of `signIn.resolvers`, e.g. `{ resolver: usernameMatchingUserEntityName }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInResolverConfig {
    pub resolver: String,
    #[serde(default)]
    pub dangerously_allow_sign_in_without_user_in_catalog: bool,
    /// For the email resolvers.
    #[serde(default)]
    pub allowed_domains: Option<Vec<String>>,
}

/// `backend.auth`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendAuthConfig {
    #[serde(default)]
    pub external_access: Vec<ExternalAccessConfig>,
    /// Lets requests without credentials through to the plugins (which then see anonymous
    /// callers) instead of answering 401.
    #[serde(default)]
    pub dangerously_disable_default_auth_policy: bool,
    /// Deprecated Backstage form of `externalAccess` `type: legacy` entries (`secret`).
    #[serde(default)]
    pub keys: Vec<LegacyKeyConfig>,
    /// Backstage's plugin-to-plugin key store; Portico is one process and has no use for it.
    #[serde(default)]
    pub plugin_key_store: Option<Value>,
}

/// One of `backend.auth.externalAccess`. `options` is read according to `type` when the
/// [`crate::ExternalAccess`] is built, so errors name the entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalAccessConfig {
    #[serde(rename = "type")]
    pub access_type: String,
    #[serde(default)]
    pub options: Value,
    #[serde(default)]
    pub access_restrictions: Option<Vec<AccessRestrictionConfig>>,
}

/// `accessRestrictions[]`: `{ plugin, permission?, permissionAttribute?: { action? } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessRestrictionConfig {
    pub plugin: String,
    #[serde(default)]
    pub permission: Option<StringList>,
    #[serde(default)]
    pub permission_attribute: Option<PermissionAttributeConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionAttributeConfig {
    #[serde(default)]
    pub action: Option<StringList>,
}

/// `backend.auth.keys[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyKeyConfig {
    pub secret: SecretString,
}

/// A string or a list of strings, each split on spaces and commas, as Backstage reads
/// `permission`, `algorithm`, `issuer`, ...: `'a,b'`, `'a b'` and `[a, b]` are the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringList(pub Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let raw = Raw::deserialize(deserializer)
            .map_err(|_| serde::de::Error::custom("expected a string or a list of strings"))?;
        let items = match raw {
            Raw::One(s) => vec![s],
            Raw::Many(v) => v,
        };
        let mut out: Vec<String> = Vec::new();
        for item in &items {
            for part in item.split([' ', ',']).filter(|p| !p.is_empty()) {
                if !out.iter().any(|o| o == part) {
                    out.push(part.to_owned());
                }
            }
        }
        Ok(StringList(out))
    }
}

impl StringList {
    /// `None` when empty, as Backstage treats an empty list like an absent key.
    pub fn non_empty(&self) -> Option<&[String]> {
        (!self.0.is_empty()).then_some(&self.0[..])
    }
}
