//! Sign-in providers (`auth.providers`): guest, and GitHub's OAuth steps; the sign-in
//! resolvers that map a provider profile to a catalog User; and the response shapes the
//! frontend expects.

mod github;
mod guest;
mod resolver;

pub use github::{GithubAccessToken, GithubProvider, GithubUser, DEFAULT_GITHUB_SCOPES};
pub use guest::{GuestProvider, DEFAULT_GUEST_USER_REF};
pub(crate) use resolver::filter_for_ref as resolver_filter_for_ref;
pub use resolver::{
    ownership_entity_refs_of, resolve_sign_in, Resolution, ResolvedUser, SignInProfile,
    SignInResolver, UserResolver,
};

use serde::{Deserialize, Serialize};

use crate::tokens::IssuedToken;

/// Profile information shown by the frontend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
}

/// `identity` inside `backstageIdentity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackstageUserIdentity {
    #[serde(rename = "type")]
    pub identity_type: &'static str,
    pub user_entity_ref: String,
    pub ownership_entity_refs: Vec<String>,
}

/// `backstageIdentity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackstageIdentityResponse {
    pub token: String,
    pub expires_in_seconds: i64,
    pub identity: BackstageUserIdentity,
}

/// What `/<provider>/refresh` returns and `handler/frame` posts to the app:
/// `{ profile, providerInfo?, backstageIdentity }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub profile: ProfileInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_info: Option<serde_json::Value>,
    pub backstage_identity: BackstageIdentityResponse,
}

impl AuthResponse {
    pub fn new(issued: IssuedToken, profile: ProfileInfo) -> Self {
        let user_entity_ref = issued
            .identity
            .user_entity_ref()
            .unwrap_or_default()
            .to_owned();
        AuthResponse {
            profile,
            provider_info: None,
            backstage_identity: BackstageIdentityResponse {
                token: issued.token,
                expires_in_seconds: issued.expires_in_seconds,
                identity: BackstageUserIdentity {
                    identity_type: "user",
                    user_entity_ref,
                    ownership_entity_refs: issued.identity.ownership_entity_refs,
                },
            },
        }
    }
}

#[cfg(test)]
mod tests;
