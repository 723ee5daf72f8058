//! External access (`backend.auth.externalAccess`): tokens for CI and other systems, checked
//! against static secrets, a third party's JWKS, or a legacy shared HMAC secret.

mod jwks;
mod legacy;
mod static_token;

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use crate::clock::Clock;
use crate::config::{AccessRestrictionConfig, BackendAuthConfig, ExternalAccessConfig};
use crate::error::{AuthError, AuthResult};
use crate::identity::{AccessRestriction, AccessRestrictions, Identity, IdentityKind};
use crate::permission::PermissionAction;

pub use jwks::JwksVerifier;
pub use legacy::LegacyTokenVerifier;
pub use static_token::{StaticToken, MIN_STATIC_TOKEN_LENGTH};

enum Handler {
    Static(StaticToken),
    Jwks(JwksVerifier),
    Legacy(LegacyTokenVerifier),
}

struct Entry {
    handler: Handler,
    restrictions: Option<AccessRestrictions>,
}

/// Every configured external-access handler, tried in config order.
pub struct ExternalAccess {
    entries: Vec<Entry>,
}

impl ExternalAccess {
    /// Validates `backend.auth.externalAccess` (and the deprecated `backend.auth.keys`).
    /// `http` fetches JWKS documents.
    pub fn from_config(
        config: &BackendAuthConfig,
        http: reqwest::Client,
        clock: Clock,
    ) -> AuthResult<Self> {
        let mut entries = Vec::new();
        for (i, entry) in config.external_access.iter().enumerate() {
            let path = format!("backend.auth.externalAccess[{i}]");
            entries.push(Entry {
                handler: build_handler(entry, &path, &http, &clock)?,
                restrictions: read_restrictions(entry.access_restrictions.as_deref(), &path)?,
            });
        }
        for (i, key) in config.keys.iter().enumerate() {
            let path = format!("backend.auth.keys[{i}]");
            entries.push(Entry {
                handler: Handler::Legacy(LegacyTokenVerifier::new(
                    &key.secret,
                    "external:backstage-plugin",
                    clock.clone(),
                    &path,
                )?),
                restrictions: None,
            });
        }
        Ok(Self { entries })
    }

    /// No external access at all.
    pub fn none() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The service identity of the first handler that accepts `token`, or `None`.
    pub async fn verify(&self, token: &str) -> Option<Identity> {
        for entry in &self.entries {
            let subject = match &entry.handler {
                Handler::Static(h) => h.verify(token),
                Handler::Jwks(h) => h.verify(token).await,
                Handler::Legacy(h) => h.verify(token),
            };
            if let Some(subject) = subject {
                return Some(Identity {
                    kind: IdentityKind::Service {
                        subject,
                        access_restrictions: entry.restrictions.clone(),
                    },
                    ownership_entity_refs: Vec::new(),
                    expires_at: None,
                });
            }
        }
        None
    }
}

fn options<T: DeserializeOwned>(entry: &ExternalAccessConfig, path: &str) -> AuthResult<T> {
    serde_json::from_value(entry.options.clone())
        .map_err(|e| AuthError::Config(format!("{path}.options: {e}")))
}

fn build_handler(
    entry: &ExternalAccessConfig,
    path: &str,
    http: &reqwest::Client,
    clock: &Clock,
) -> AuthResult<Handler> {
    Ok(match entry.access_type.as_str() {
        "static" => Handler::Static(StaticToken::new(options(entry, path)?, path)?),
        "jwks" => Handler::Jwks(JwksVerifier::new(
            options(entry, path)?,
            http.clone(),
            clock.clone(),
            path,
        )?),
        "legacy" => {
            let o: legacy::LegacyOptions = options(entry, path)?;
            Handler::Legacy(LegacyTokenVerifier::new(
                &o.secret,
                &o.subject,
                clock.clone(),
                path,
            )?)
        }
        other => {
            return Err(AuthError::Config(format!(
                "{path}: unknown type '{other}', expected one of 'static', 'jwks', 'legacy'"
            )))
        }
    })
}

fn read_restrictions(
    configs: Option<&[AccessRestrictionConfig]>,
    path: &str,
) -> AuthResult<Option<AccessRestrictions>> {
    let Some(configs) = configs.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let mut by_plugin = BTreeMap::new();
    for (i, c) in configs.iter().enumerate() {
        let at = format!("{path}.accessRestrictions[{i}]");
        if c.plugin.trim().is_empty() {
            return Err(AuthError::Config(format!("{at}.plugin must not be empty")));
        }
        let permission_actions = match c
            .permission_attribute
            .as_ref()
            .and_then(|a| a.action.as_ref())
            .and_then(|a| a.non_empty())
        {
            None => None,
            Some(actions) => Some(
                actions
                    .iter()
                    .map(|a| {
                        PermissionAction::parse(a).ok_or_else(|| {
                            AuthError::Config(format!(
                                "{at}.permissionAttribute.action: invalid value '{a}', valid values are 'create', 'read', 'update', 'delete'"
                            ))
                        })
                    })
                    .collect::<AuthResult<Vec<_>>>()?,
            ),
        };
        let restriction = AccessRestriction {
            permission_names: c
                .permission
                .as_ref()
                .and_then(|p| p.non_empty())
                .map(<[String]>::to_vec),
            permission_actions,
        };
        if by_plugin.insert(c.plugin.clone(), restriction).is_some() {
            return Err(AuthError::Config(format!(
                "{at}: 'accessRestrictions' declared twice for plugin '{}'",
                c.plugin
            )));
        }
    }
    Ok(Some(AccessRestrictions::new(by_plugin)))
}

#[cfg(test)]
mod tests;
