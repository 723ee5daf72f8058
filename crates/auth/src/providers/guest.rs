//! The guest provider: sign-in without credentials, for development.

use super::resolver::{Resolution, ResolvedUser, UserResolver};
use super::ProfileInfo;
use crate::config::GuestProviderConfig;
use crate::error::{AuthError, AuthResult};
use crate::identity::canonical_ref;

/// Backstage's guest user.
pub const DEFAULT_GUEST_USER_REF: &str = "user:development/guest";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestProvider {
    enabled: bool,
    user_entity_ref: String,
    ownership_entity_refs: Vec<String>,
    allow_outside_development: bool,
}

impl GuestProvider {
    /// Reads `auth.providers.guest` (absent: the defaults).
    pub fn from_config(config: Option<&GuestProviderConfig>) -> AuthResult<Self> {
        let defaults = GuestProviderConfig::default();
        let config = config.unwrap_or(&defaults);
        let bad = |e: AuthError| AuthError::Config(format!("auth.providers.guest: {e}"));
        let user_entity_ref = canonical_ref(
            config
                .user_entity_ref
                .as_deref()
                .unwrap_or(DEFAULT_GUEST_USER_REF),
            Some("user"),
        )
        .map_err(bad)?;
        let ownership_entity_refs = match &config.ownership_entity_refs {
            Some(refs) => refs
                .iter()
                .map(|r| canonical_ref(r, None))
                .collect::<AuthResult<Vec<_>>>()
                .map_err(bad)?,
            None => vec![user_entity_ref.clone()],
        };
        Ok(Self {
            enabled: config.enabled,
            user_entity_ref,
            ownership_entity_refs,
            allow_outside_development: config.dangerously_allow_outside_development,
        })
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Whether [`sign_in`](Self::sign_in) can succeed where `development` says what it says.
    pub fn allows_sign_in(&self, development: bool) -> bool {
        self.enabled && (development || self.allow_outside_development)
    }

    /// Signs in as the guest user. `development` says whether Portico runs as a development
    /// instance (Backstage: NODE_ENV=development); elsewhere guest sign-in needs
    /// `dangerouslyAllowOutsideDevelopment`. When the catalog has the guest user, its
    /// ownership comes from there; otherwise from config.
    pub async fn sign_in(
        &self,
        development: bool,
        users: Option<&dyn UserResolver>,
    ) -> AuthResult<(ResolvedUser, ProfileInfo)> {
        if !self.enabled {
            return Err(AuthError::NotFound(
                "Unknown auth provider 'guest'".to_owned(),
            ));
        }
        if !development && !self.allow_outside_development {
            return Err(AuthError::NotAllowed(
                "The guest provider cannot be used outside of a development environment unless 'auth.providers.guest.dangerouslyAllowOutsideDevelopment' is enabled".to_owned(),
            ));
        }
        if let Some(users) = users {
            if let Some(found) = self.find_in_catalog(users).await? {
                return Ok((found, ProfileInfo::default()));
            }
        }
        Ok((
            ResolvedUser {
                user_entity_ref: self.user_entity_ref.clone(),
                ownership_entity_refs: self.ownership_entity_refs.clone(),
                resolution: Resolution::Fallback,
            },
            ProfileInfo::default(),
        ))
    }

    async fn find_in_catalog(&self, users: &dyn UserResolver) -> AuthResult<Option<ResolvedUser>> {
        let filter = super::resolver::filter_for_ref(&self.user_entity_ref);
        let found = users.find_users(&filter).await?;
        match found.as_slice() {
            [user] => {
                let (user_entity_ref, ownership_entity_refs) =
                    super::resolver::ownership_entity_refs_of(user)?;
                Ok(Some(ResolvedUser {
                    user_entity_ref,
                    ownership_entity_refs,
                    resolution: Resolution::Catalog,
                }))
            }
            _ => Ok(None),
        }
    }
}
