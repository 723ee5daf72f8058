//! The documents served under `/api/auth/.well-known/` and `/api/auth/v1/userinfo`.

use serde::Serialize;
use serde_json::{json, Value};

use crate::identity::Identity;
use crate::keys::PublicJwk;

/// `jwks.json`: `{ "keys": [...] }`.
pub fn jwks_document(keys: &[PublicJwk]) -> Value {
    json!({ "keys": keys })
}

/// `openid-configuration`, as Backstage's auth backend describes itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenIdConfiguration {
    pub issuer: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub response_types_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub scopes_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub claims_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
}

/// The configuration document for the auth base URL (`<backend.baseUrl>/api/auth`), which is
/// also the `iss` of user tokens.
pub fn openid_configuration(auth_base_url: &str) -> OpenIdConfiguration {
    let base = auth_base_url.trim_end_matches('/');
    OpenIdConfiguration {
        issuer: base.to_owned(),
        token_endpoint: format!("{base}/v1/token"),
        userinfo_endpoint: format!("{base}/v1/userinfo"),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        response_types_supported: vec!["id_token"],
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: vec!["ES256"],
        scopes_supported: vec!["openid"],
        // Portico issues tokens through its providers only; there is no client registration.
        token_endpoint_auth_methods_supported: vec![],
        claims_supported: vec!["sub", "ent"],
        grant_types_supported: vec![],
    }
}

/// `/v1/userinfo` for a user: `{ "claims": { "sub", "ent" } }`; `None` for services.
pub fn userinfo_document(identity: &Identity) -> Option<Value> {
    let sub = identity.user_entity_ref()?;
    Some(json!({ "claims": { "sub": sub, "ent": identity.ownership_entity_refs } }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openid_configuration_points_at_the_auth_routes() {
        let doc =
            serde_json::to_value(openid_configuration("http://localhost:7007/api/auth/")).unwrap();
        assert_eq!(doc["issuer"], "http://localhost:7007/api/auth");
        assert_eq!(
            doc["jwks_uri"],
            "http://localhost:7007/api/auth/.well-known/jwks.json"
        );
        assert_eq!(
            doc["userinfo_endpoint"],
            "http://localhost:7007/api/auth/v1/userinfo"
        );
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["ES256"])
        );
        assert_eq!(doc["claims_supported"], json!(["sub", "ent"]));
    }

    #[test]
    fn userinfo_is_for_users_only() {
        let user = Identity::user("user:default/jane", vec!["user:default/jane".into()]);
        assert_eq!(
            userinfo_document(&user).unwrap(),
            json!({ "claims": { "sub": "user:default/jane", "ent": ["user:default/jane"] } })
        );
        assert!(userinfo_document(&Identity::service("ci")).is_none());
    }
}
