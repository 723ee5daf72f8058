//! Sign-in: resolvers against an in-memory catalog, the guest provider, and GitHub's OAuth
//! steps against a local double.

use serde_json::json;

use super::*;
use crate::config::{AuthConfig, GithubProviderConfig, SignInResolverConfig};
use crate::error::AuthError;
use crate::fakes::{user_entity, FakeCatalog, HttpDouble};

fn catalog() -> FakeCatalog {
    FakeCatalog::with_users(vec![
        user_entity(
            "jane",
            &["team-a", "platform"],
            json!({ "github.com/user-id": "MDQ6VXNlcjE=", "github.com/user-login": "JaneDoe" }),
            Some("jane@acme.com"),
        ),
        user_entity("joe", &[], json!({}), Some("joe@acme.com")),
        user_entity("twin-1", &[], json!({}), Some("twin@acme.com")),
        user_entity("twin-2", &[], json!({}), Some("twin@acme.com")),
    ])
}

fn resolver(yaml: &str) -> SignInResolver {
    let config: SignInResolverConfig = serde_yaml::from_str(yaml).unwrap();
    SignInResolver::from_config(&config, "test").unwrap()
}

fn profile(username: &str, user_id: Option<&str>, email: Option<&str>) -> SignInProfile {
    SignInProfile {
        username: Some(username.to_owned()),
        user_id: user_id.map(str::to_owned),
        email: email.map(str::to_owned),
    }
}

#[tokio::test]
async fn username_resolver_finds_the_user_and_its_groups() {
    let users = catalog();
    let r = [resolver("resolver: usernameMatchingUserEntityName")];
    let jane = resolve_sign_in(&r, &profile("jane", None, None), &users)
        .await
        .unwrap();
    assert_eq!(jane.user_entity_ref, "user:default/jane");
    assert_eq!(
        jane.ownership_entity_refs,
        vec![
            "user:default/jane",
            "group:default/team-a",
            "group:default/platform"
        ]
    );
    assert_eq!(jane.resolution, Resolution::Catalog);
}

#[tokio::test]
async fn unknown_users_are_refused_unless_allowed() {
    let users = catalog();
    let strict = [resolver("resolver: usernameMatchingUserEntityName")];
    match resolve_sign_in(&strict, &profile("mallory", None, None), &users).await {
        Err(AuthError::Unauthenticated(m)) => {
            assert!(m.contains("unable to resolve user identity"))
        }
        other => panic!("{other:?}"),
    }
    let lenient = [resolver(
        "{ resolver: usernameMatchingUserEntityName, dangerouslyAllowSignInWithoutUserInCatalog: true }",
    )];
    let mallory = resolve_sign_in(&lenient, &profile("Mallory", None, None), &users)
        .await
        .unwrap();
    assert_eq!(mallory.user_entity_ref, "user:default/mallory");
    assert_eq!(mallory.ownership_entity_refs, vec!["user:default/mallory"]);
    assert_eq!(mallory.resolution, Resolution::Fallback);
}

#[tokio::test]
async fn resolvers_are_tried_in_order() {
    let users = catalog();
    let chain = [
        resolver("resolver: usernameMatchingUserEntityName"),
        resolver("resolver: userIdMatchingUserEntityAnnotation"),
    ];
    // The login matches no name, the node id matches jane's annotation.
    let found = resolve_sign_in(
        &chain,
        &profile("JaneDoe", Some("MDQ6VXNlcjE="), None),
        &users,
    )
    .await
    .unwrap();
    assert_eq!(found.user_entity_ref, "user:default/jane");
    let by_login = [resolver("resolver: userLoginMatchingUserEntityAnnotation")];
    let found = resolve_sign_in(&by_login, &profile("JaneDoe", None, None), &users)
        .await
        .unwrap();
    assert_eq!(found.user_entity_ref, "user:default/jane");
    assert!(resolve_sign_in(&[], &profile("jane", None, None), &users)
        .await
        .is_err());
}

#[tokio::test]
async fn annotation_values_must_match_exactly() {
    let users = catalog();
    let r = [resolver("resolver: userIdMatchingUserEntityAnnotation")];
    // The catalog compares case-insensitively; ids are case-sensitive.
    match resolve_sign_in(&r, &profile("x", Some("mdq6vxnlcje="), None), &users).await {
        Err(AuthError::Unauthenticated(m)) => assert!(m.contains("does not match")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        resolve_sign_in(&r, &profile("x", None, None), &users).await,
        Err(AuthError::Unauthenticated(m)) if m.contains("user ID")
    ));
}

#[tokio::test]
async fn email_resolvers() {
    let users = catalog();
    let by_email = [resolver("resolver: emailMatchingUserEntityProfileEmail")];
    let found = resolve_sign_in(
        &by_email,
        &profile("x", None, Some("joe+ci@acme.com")),
        &users,
    )
    .await
    .unwrap();
    assert_eq!(found.user_entity_ref, "user:default/joe");
    assert!(matches!(
        resolve_sign_in(
            &by_email,
            &profile("x", None, Some("twin@acme.com")),
            &users
        )
        .await,
        Err(AuthError::Conflict(_))
    ));
    let local = [resolver(
        "{ resolver: emailLocalPartMatchingUserEntityName, allowedDomains: [acme.com] }",
    )];
    let found = resolve_sign_in(&local, &profile("x", None, Some("jane@acme.com")), &users)
        .await
        .unwrap();
    assert_eq!(found.user_entity_ref, "user:default/jane");
    assert!(matches!(
        resolve_sign_in(&local, &profile("x", None, Some("jane@evil.com")), &users).await,
        Err(AuthError::NotAllowed(_))
    ));
}

#[test]
fn unknown_resolvers_are_config_errors() {
    let config: SignInResolverConfig = serde_yaml::from_str("resolver: magic").unwrap();
    assert!(matches!(
        SignInResolver::from_config(&config, "x"),
        Err(AuthError::Config(_))
    ));
    assert!(serde_yaml::from_str::<SignInResolverConfig>("{ resolver: a, typo: 1 }").is_err());
}

#[tokio::test]
async fn guest_sign_in() {
    let guest = GuestProvider::from_config(None).unwrap();
    assert!(guest.is_enabled());
    let (user, _) = guest.sign_in(true, None).await.unwrap();
    assert_eq!(user.user_entity_ref, DEFAULT_GUEST_USER_REF);
    assert_eq!(user.ownership_entity_refs, vec![DEFAULT_GUEST_USER_REF]);
    assert!(matches!(
        guest.sign_in(false, None).await,
        Err(AuthError::NotAllowed(_))
    ));

    let config: AuthConfig = serde_yaml::from_str(
        "providers: { guest: { userEntityRef: user:default/jane, ownershipEntityRefs: [group:default/guests], dangerouslyAllowOutsideDevelopment: true } }",
    )
    .unwrap();
    let guest = GuestProvider::from_config(config.providers.guest.as_ref()).unwrap();
    let (user, _) = guest.sign_in(false, None).await.unwrap();
    assert_eq!(user.user_entity_ref, "user:default/jane");
    assert_eq!(user.ownership_entity_refs, vec!["group:default/guests"]);
    // When the catalog knows the guest user, ownership comes from there.
    let users = catalog();
    let (user, _) = guest.sign_in(false, Some(&users)).await.unwrap();
    assert_eq!(user.resolution, Resolution::Catalog);
    assert_eq!(user.ownership_entity_refs[1], "group:default/team-a");

    let off: AuthConfig = serde_yaml::from_str("providers: { guest: { enabled: false } }").unwrap();
    let guest = GuestProvider::from_config(off.providers.guest.as_ref()).unwrap();
    assert!(!guest.is_enabled());
    assert!(guest.sign_in(true, None).await.is_err());
}

fn github_config(extra: &str) -> GithubProviderConfig {
    serde_yaml::from_str(&format!(
        "clientId: client-1\nclientSecret: secret-1\nsignIn:\n  resolvers:\n    - resolver: usernameMatchingUserEntityName\n{extra}"
    ))
    .unwrap()
}

#[test]
fn github_authorize_urls() {
    let github =
        GithubProvider::from_config(&github_config(""), reqwest::Client::new(), "x").unwrap();
    let scopes = github.scopes(Some("repo read:user"));
    assert_eq!(scopes, vec!["read:user", "repo"]);
    let url = url::Url::parse(&github.authorize_url(
        "http://localhost:7007/api/auth/github/handler/frame",
        &scopes,
        "state-1",
    ))
    .unwrap();
    assert_eq!(
        url.as_str().split('?').next(),
        Some("https://github.com/login/oauth/authorize")
    );
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], "client-1");
    assert_eq!(query["scope"], "read:user repo");
    assert_eq!(query["state"], "state-1");
    assert_eq!(query["response_type"], "code");
    assert_eq!(
        query["redirect_uri"],
        "http://localhost:7007/api/auth/github/handler/frame"
    );
    assert_eq!(
        github.callback_url("http://localhost:7007/api/auth/"),
        "http://localhost:7007/api/auth/github/handler/frame"
    );

    let ghe = GithubProvider::from_config(
        &github_config(
            "enterpriseInstanceUrl: https://ghe.acme.com/\nadditionalScopes: read:org\n",
        ),
        reqwest::Client::new(),
        "x",
    )
    .unwrap();
    let url = ghe.authorize_url("cb", &ghe.scopes(None), "s");
    assert!(
        url.starts_with("https://ghe.acme.com/login/oauth/authorize?"),
        "{url}"
    );
    assert!(url.contains("scope=read%3Auser+read%3Aorg"), "{url}");
}

#[tokio::test]
async fn github_code_exchange_user_fetch_and_sign_in() {
    let server = HttpDouble::start(|request| match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/login/oauth/access_token") => {
            if request.body.contains("code=good-code") && request.body.contains("client_secret=secret-1") {
                (200, json!({ "access_token": "gho_abc", "token_type": "bearer", "scope": "read:user" }).to_string())
            } else {
                (200, json!({ "error": "bad_verification_code", "error_description": "The code passed is incorrect or expired." }).to_string())
            }
        }
        ("GET", "/api/v3/user") => {
            if request.header("authorization") == Some("Bearer gho_abc") {
                (200, json!({ "login": "jane", "id": 1, "node_id": "MDQ6VXNlcjE=", "name": "Jane Doe", "email": null, "avatar_url": "https://avatars/1" }).to_string())
            } else {
                (401, json!({ "message": "Bad credentials" }).to_string())
            }
        }
        _ => (404, "{}".to_owned()),
    })
    .await;
    // The double stands in as a GitHub Enterprise instance.
    let github = GithubProvider::from_config(
        &github_config(&format!("enterpriseInstanceUrl: {}\n", server.base_url)),
        reqwest::Client::new(),
        "x",
    )
    .unwrap();

    let token = github
        .exchange_code("good-code", "http://cb")
        .await
        .unwrap();
    assert_eq!(token.scope.as_deref(), Some("read:user"));
    let user = github.fetch_user(&token.access_token).await.unwrap();
    assert_eq!(user.login, "jane");
    assert_eq!(
        user.profile_info().display_name.as_deref(),
        Some("Jane Doe")
    );
    let resolved = github.sign_in(&user, &catalog()).await.unwrap();
    assert_eq!(resolved.user_entity_ref, "user:default/jane");

    assert!(matches!(
        github.exchange_code("bad-code", "http://cb").await,
        Err(AuthError::Unauthenticated(m)) if m.contains("bad_verification_code")
    ));
    assert!(matches!(
        github
            .fetch_user(&secrecy::SecretString::from("nope"))
            .await,
        Err(AuthError::Unauthenticated(_))
    ));
    let exchange = server.requests.lock().unwrap()[0].clone();
    assert_eq!(exchange.header("accept"), Some("application/json"));
    assert!(exchange.body.contains("grant_type=authorization_code"));

    // with_endpoints points the provider at any base.
    let moved = GithubProvider::from_config(&github_config(""), reqwest::Client::new(), "x")
        .unwrap()
        .with_endpoints(&server.base_url, &format!("{}/api/v3", server.base_url))
        .unwrap();
    assert!(moved.exchange_code("good-code", "http://cb").await.is_ok());
}
