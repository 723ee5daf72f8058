//! Everything the server needs from this crate, built once from config.

use std::sync::Arc;
use std::time::Duration;

use portico_store::Db;

use crate::audit::AuditLog;
use crate::authenticator::Authenticator;
use crate::clock::Clock;
use crate::config::{AuthConfig, BackendAuthConfig};
use crate::error::{AuthError, AuthResult};
use crate::external::ExternalAccess;
use crate::keys::{DbKeyStore, KeyPolicy, SigningKeys};
use crate::permission::{PermissionConfig, PermissionPolicy};
use crate::providers::{GithubProvider, GuestProvider};
use crate::sessions::RefreshSessions;
use crate::tokens::IdentityTokens;

/// Clock skew tolerated on token times, between replicas and against third parties.
pub const TOKEN_LEEWAY: Duration = Duration::from_secs(30);

/// The auth pieces, shared by the HTTP handlers (cheap to clone).
#[derive(Clone)]
pub struct AuthService {
    pub tokens: Arc<IdentityTokens>,
    pub authenticator: Arc<Authenticator>,
    pub sessions: RefreshSessions,
    pub policy: Arc<PermissionPolicy>,
    pub guest: Arc<GuestProvider>,
    /// The GitHub provider of `auth.environment`, when configured.
    pub github: Option<Arc<GithubProvider>>,
    pub audit: AuditLog,
    /// `auth.backstageTokenExpiration`, clamped.
    pub token_ttl: Duration,
    /// `<backend.baseUrl>/api/auth`.
    pub auth_base_url: String,
}

/// The config sections the service is built from.
pub struct AuthSettings<'a> {
    /// `<backend.baseUrl>/api/auth`: the token issuer and the base of callback URLs.
    pub auth_base_url: &'a str,
    pub auth: &'a AuthConfig,
    pub backend_auth: &'a BackendAuthConfig,
    pub permission: &'a PermissionConfig,
}

impl AuthService {
    /// Validates the config and wires the pieces; keys are made lazily on the first token.
    pub fn from_config(
        db: Db,
        settings: AuthSettings<'_>,
        http: reqwest::Client,
        clock: Clock,
    ) -> AuthResult<Self> {
        let auth_base_url = settings.auth_base_url.trim_end_matches('/').to_owned();
        url::Url::parse(&auth_base_url)
            .map_err(|e| AuthError::Config(format!("auth base URL '{auth_base_url}': {e}")))?;
        let token_ttl = settings.auth.token_ttl();
        // Rotating once per token lifetime keeps at most about three keys published.
        let key_policy = KeyPolicy {
            rotation: token_ttl,
            max_token_ttl: token_ttl,
            leeway: TOKEN_LEEWAY,
        };
        let keys = Arc::new(SigningKeys::new(
            Arc::new(DbKeyStore::new(db.clone())),
            key_policy,
            clock.clone(),
        ));
        let tokens = Arc::new(IdentityTokens::new(keys, auth_base_url.clone()));
        let external =
            ExternalAccess::from_config(settings.backend_auth, http.clone(), clock.clone())?;
        let disable = settings
            .backend_auth
            .dangerously_disable_default_auth_policy;
        let authenticator = Arc::new(Authenticator::new(tokens.clone(), external, disable));
        let policy = Arc::new(PermissionPolicy::from_config(settings.permission, disable)?);
        let guest = Arc::new(GuestProvider::from_config(
            settings.auth.providers.guest.as_ref(),
        )?);
        let env = settings.auth.environment();
        let github = match settings.auth.providers.github.get(env) {
            Some(config) => Some(Arc::new(GithubProvider::from_config(
                config,
                http,
                &format!("auth.providers.github.{env}"),
            )?)),
            None => None,
        };
        Ok(Self {
            tokens,
            authenticator,
            sessions: RefreshSessions::new(db.clone(), clock.clone()),
            policy,
            guest,
            github,
            audit: AuditLog::new(db).with_clock(clock),
            token_ttl,
            auth_base_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{user_entity, FakeCatalog};
    use crate::permission::{self, Decision};
    use crate::providers::ProfileInfo;
    use serde_json::{json, Value};

    const APP_CONFIG: &str = r#"
backend:
  baseUrl: http://localhost:7007
  auth:
    externalAccess:
      - type: static
        options: { token: ci-secret-token-123, subject: ci-catalog }
        accessRestrictions: [ { plugin: catalog } ]
auth:
  environment: production
  backstageTokenExpiration: { minutes: 30 }
  session: { secret: ignored }
  providers:
    guest: {}
    github:
      production:
        clientId: abc
        clientSecret: def
        signIn:
          resolvers:
            - resolver: usernameMatchingUserEntityName
portico:
  permission:
    rules:
      - callers: [subject:ci-catalog]
        permissions: [catalog.location.create]
        result: allow
      - callers: [services]
        permissions: ['*']
        result: deny
"#;

    fn section<T: serde::de::DeserializeOwned>(root: &Value, pointer: &str) -> T {
        serde_json::from_value(root.pointer(pointer).cloned().unwrap()).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn builds_from_an_app_config_and_signs_in_end_to_end() {
        let root: Value = serde_yaml::from_str(APP_CONFIG).unwrap();
        let auth: AuthConfig = section(&root, "/auth");
        let backend_auth: BackendAuthConfig = section(&root, "/backend/auth");
        let permission: PermissionConfig = section(&root, "/portico/permission");
        let test_db = portico_test_support::TestDb::sqlite();
        let clock = Clock::manual(1_700_000_000_000);
        let service = AuthService::from_config(
            test_db.db.clone(),
            AuthSettings {
                auth_base_url: "http://localhost:7007/api/auth/",
                auth: &auth,
                backend_auth: &backend_auth,
                permission: &permission,
            },
            reqwest::Client::new(),
            clock.clone(),
        )
        .unwrap();
        assert_eq!(service.token_ttl, Duration::from_secs(1800));
        assert!(service.github.is_some());
        assert_eq!(service.auth_base_url, "http://localhost:7007/api/auth");

        // Sign in through the catalog, start a session, refresh it.
        let users =
            FakeCatalog::with_users(vec![user_entity("jane", &["team-a"], json!({}), None)]);
        let (resolved, _) = service.guest.sign_in(true, None).await.unwrap();
        assert_eq!(resolved.user_entity_ref, "user:development/guest");
        let github_user = crate::providers::GithubUser {
            login: "jane".into(),
            id: 1,
            node_id: None,
            name: None,
            email: None,
            avatar_url: None,
        };
        let jane = service
            .github
            .as_ref()
            .unwrap()
            .sign_in(&github_user, &users)
            .await
            .unwrap();
        let cookie = service
            .sessions
            .create("github", &jane, &ProfileInfo::default(), None)
            .await
            .unwrap();
        let response = service
            .sessions
            .refresh(
                "github",
                &cookie,
                &service.tokens,
                service.token_ttl,
                Some(&users),
            )
            .await
            .unwrap();
        assert_eq!(response.backstage_identity.expires_in_seconds, 1800);
        let token = response.backstage_identity.token.clone();
        let identity = service
            .authenticator
            .authenticate(Some(&token))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            identity.ownership_entity_refs,
            vec!["user:default/jane", "group:default/team-a"]
        );
        assert_eq!(
            service
                .policy
                .evaluate(Some(&identity), &permission::CATALOG_ENTITY_DELETE),
            Decision::Allow
        );

        // Group changes reach the next refresh; removal from the catalog ends the session.
        *users.users.lock().unwrap() = vec![user_entity("jane", &["team-b"], json!({}), None)];
        let response = service
            .sessions
            .refresh(
                "github",
                &cookie,
                &service.tokens,
                service.token_ttl,
                Some(&users),
            )
            .await
            .unwrap();
        assert_eq!(
            response.backstage_identity.identity.ownership_entity_refs,
            vec!["user:default/jane", "group:default/team-b"]
        );
        users.users.lock().unwrap().clear();
        assert!(service
            .sessions
            .refresh(
                "github",
                &cookie,
                &service.tokens,
                service.token_ttl,
                Some(&users)
            )
            .await
            .is_err());
        assert!(service
            .sessions
            .find("github", &cookie)
            .await
            .unwrap()
            .is_none());

        // CI: the static token, restricted to the catalog, allowed to register locations only.
        let ci = service
            .authenticator
            .authenticate(Some("ci-secret-token-123"))
            .await
            .unwrap()
            .unwrap();
        assert!(ci.check_plugin_access("catalog").is_ok());
        assert_eq!(
            service
                .policy
                .evaluate(Some(&ci), &permission::CATALOG_LOCATION_CREATE),
            Decision::Allow
        );
        assert_eq!(
            service
                .policy
                .evaluate(Some(&ci), &permission::CATALOG_ENTITY_DELETE),
            Decision::Deny
        );

        // The published documents.
        let jwks = crate::jwks_document(&service.tokens.keys().public_keys().await.unwrap());
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        assert_eq!(jwks["keys"][0]["alg"], "ES256");
        assert_eq!(jwks["keys"][0]["use"], "sig");
        let oidc =
            serde_json::to_value(crate::openid_configuration(&service.auth_base_url)).unwrap();
        assert_eq!(oidc["issuer"], "http://localhost:7007/api/auth");
    }

    #[test]
    fn token_expiration_is_clamped() {
        let read = |yaml: &str| {
            serde_yaml::from_str::<AuthConfig>(yaml)
                .unwrap()
                .token_ttl()
        };
        assert_eq!(read("{}"), Duration::from_secs(3600));
        assert_eq!(
            read("backstageTokenExpiration: { minutes: 1 }"),
            Duration::from_secs(600)
        );
        assert_eq!(
            read("backstageTokenExpiration: { days: 3 }"),
            Duration::from_secs(86_400)
        );
    }

    #[test]
    fn invalid_config_is_refused_at_start() {
        let test_db = portico_test_support::TestDb::sqlite();
        let bad_permission: PermissionConfig = serde_yaml::from_str(
            "rules: [ { callers: [nobody-at-all], permissions: ['*'], result: allow } ]",
        )
        .unwrap();
        let result = AuthService::from_config(
            test_db.db.clone(),
            AuthSettings {
                auth_base_url: "http://localhost:7007/api/auth",
                auth: &AuthConfig::default(),
                backend_auth: &BackendAuthConfig::default(),
                permission: &bad_permission,
            },
            reqwest::Client::new(),
            Clock::system(),
        );
        assert!(matches!(result, Err(AuthError::Config(_))));
    }
}
