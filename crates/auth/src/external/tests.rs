//! External access: static tokens, JWKS-verified third-party tokens (against a JWKS served
//! from 127.0.0.1), legacy tokens, and access restrictions.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use super::ExternalAccess;
use crate::authenticator::Authenticator;
use crate::clock::Clock;
use crate::config::BackendAuthConfig;
use crate::error::AuthError;
use crate::fakes::HttpDouble;
use crate::identity::IdentityKind;
use crate::keys::{KeyPolicy, MemoryKeyStore, SigningKeys};
use crate::permission::{self, Decision, PermissionConfig, PermissionPolicy};
use crate::tokens::IdentityTokens;

const NOW_MS: i64 = 1_700_000_000_000;
const NOW_S: i64 = NOW_MS / 1000;

fn config(yaml: &str) -> BackendAuthConfig {
    serde_yaml::from_str(yaml).unwrap()
}

fn access(yaml: &str, clock: &Clock) -> Result<ExternalAccess, AuthError> {
    ExternalAccess::from_config(&config(yaml), reqwest::Client::new(), clock.clone())
}

const STATIC: &str = "
externalAccess:
  - type: static
    options: { token: ci-secret-token-123, subject: ci-catalog }
    accessRestrictions:
      - plugin: catalog
        permission: catalog.location.create,catalog.entity.refresh
  - type: static
    options: { token: admin-token-456789, subject: admin-curl }
";

#[tokio::test]
async fn static_tokens_match_exactly() {
    let clock = Clock::manual(NOW_MS);
    let access = access(STATIC, &clock).unwrap();
    let ci = access.verify("ci-secret-token-123").await.unwrap();
    assert_eq!(ci.service_subject(), Some("ci-catalog"));
    let admin = access.verify("admin-token-456789").await.unwrap();
    assert_eq!(admin.service_subject(), Some("admin-curl"));
    assert!(matches!(
        admin.kind,
        IdentityKind::Service {
            access_restrictions: None,
            ..
        }
    ));
    for wrong in [
        "ci-secret-token-12",
        "ci-secret-token-1234",
        "CI-SECRET-TOKEN-123",
        "",
    ] {
        assert!(access.verify(wrong).await.is_none(), "{wrong}");
    }
}

#[test]
fn static_token_config_is_validated() {
    let clock = Clock::manual(NOW_MS);
    for (yaml, needle) in [
        ("externalAccess: [ { type: static, options: { token: short, subject: ci } } ]", "at least 8"),
        ("externalAccess: [ { type: static, options: { token: 'has space in it', subject: ci } } ]", "non-space"),
        ("externalAccess: [ { type: static, options: { token: long-enough-token, subject: 'c i' } } ]", "subject"),
        ("externalAccess: [ { type: static, options: { token: long-enough-token } } ]", "subject"),
        ("externalAccess: [ { type: magic, options: {} } ]", "unknown type 'magic'"),
        (
            "externalAccess: [ { type: static, options: { token: long-enough-token, subject: ci }, accessRestrictions: [ { plugin: catalog }, { plugin: catalog } ] } ]",
            "twice",
        ),
        (
            "externalAccess: [ { type: static, options: { token: long-enough-token, subject: ci }, accessRestrictions: [ { plugin: catalog, permissionAttribute: { action: destroy } } ] } ]",
            "destroy",
        ),
    ] {
        match access(yaml, &clock) {
            Err(AuthError::Config(message)) => assert!(message.contains(needle), "{message}"),
            Err(other) => panic!("{yaml}: {other:?}"),
            Ok(_) => panic!("{yaml} was accepted"),
        }
    }
}

#[tokio::test]
async fn restricted_tokens_are_confined_to_their_plugins_and_permissions() {
    let clock = Clock::manual(NOW_MS);
    let access = access(STATIC, &clock).unwrap();
    let ci = access.verify("ci-secret-token-123").await.unwrap();
    assert!(ci.check_plugin_access("catalog").is_ok());
    assert!(matches!(
        ci.check_plugin_access("scaffolder"),
        Err(AuthError::NotAllowed(m)) if m.contains("'catalog'")
    ));
    let policy = PermissionPolicy::default();
    assert_eq!(
        policy.evaluate(Some(&ci), &permission::CATALOG_LOCATION_CREATE),
        Decision::Allow
    );
    assert_eq!(
        policy.evaluate(Some(&ci), &permission::CATALOG_ENTITY_REFRESH),
        Decision::Allow
    );
    assert_eq!(
        policy.evaluate(Some(&ci), &permission::CATALOG_ENTITY_DELETE),
        Decision::Deny
    );
    assert_eq!(
        policy.evaluate(Some(&ci), &permission::SCAFFOLDER_TASK_CREATE),
        Decision::Deny
    );

    let by_action = super::ExternalAccess::from_config(
        &config(
            "externalAccess: [ { type: static, options: { token: read-only-token, subject: reader }, accessRestrictions: [ { plugin: catalog, permissionAttribute: { action: [read] } } ] } ]",
        ),
        reqwest::Client::new(),
        clock,
    )
    .unwrap();
    let reader = by_action.verify("read-only-token").await.unwrap();
    assert_eq!(
        policy.evaluate(Some(&reader), &permission::CATALOG_ENTITY_READ),
        Decision::Allow
    );
    assert_eq!(
        policy.evaluate(Some(&reader), &permission::CATALOG_LOCATION_READ),
        Decision::Allow
    );
    assert_eq!(
        policy.evaluate(Some(&reader), &permission::CATALOG_LOCATION_CREATE),
        Decision::Deny
    );
    // No action attribute at all: outside an action restriction.
    assert_eq!(
        policy.evaluate(Some(&reader), &permission::CATALOG_ENTITY_VALIDATE),
        Decision::Deny
    );
}

/// A third party's ES256 key: its signing key and public JWK.
fn third_party_key(kid: &str) -> (EncodingKey, Value) {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    });
    (EncodingKey::from_ec_der(pkcs8.as_ref()), jwk)
}

fn sign(key: &EncodingKey, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn actions_claims() -> Value {
    json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "portico",
        "sub": "repo:acme/payments:ref:refs/heads/main",
        "iat": NOW_S - 10,
        "nbf": NOW_S - 10,
        "exp": NOW_S + 300,
    })
}

async fn jwks_server(keys: Arc<std::sync::Mutex<Vec<Value>>>) -> HttpDouble {
    HttpDouble::start(move |request| {
        if request.path == "/.well-known/jwks" {
            (200, json!({ "keys": *keys.lock().unwrap() }).to_string())
        } else {
            (404, "{}".to_owned())
        }
    })
    .await
}

fn jwks_config(base_url: &str, extra: &str) -> String {
    format!(
        "externalAccess:\n  - type: jwks\n    options:\n      url: {base_url}/.well-known/jwks\n      issuer: https://token.actions.githubusercontent.com\n      audience: portico\n{extra}"
    )
}

#[tokio::test]
async fn jwks_tokens_verify_against_the_published_keys() {
    let (key, jwk) = third_party_key("k1");
    let keys = Arc::new(std::sync::Mutex::new(vec![jwk]));
    let server = jwks_server(keys.clone()).await;
    let clock = Clock::manual(NOW_MS);
    let access = access(
        &jwks_config(
            &server.base_url,
            "      subjectPrefix: github-actions\n      algorithm: ES256\n",
        ),
        &clock,
    )
    .unwrap();

    let token = sign(&key, "k1", &actions_claims());
    let identity = access.verify(&token).await.unwrap();
    assert_eq!(
        identity.service_subject(),
        Some("external:github-actions:repo:acme/payments:ref:refs/heads/main")
    );
    // Cached: the second token costs no fetch.
    assert!(access.verify(&token).await.is_some());
    assert_eq!(server.count("/.well-known/jwks"), 1);

    let mut bad_claims = Vec::new();
    for (field, value) in [
        ("iss", json!("https://evil.example.com")),
        ("aud", json!("someone-else")),
        ("aud", json!(["someone-else"])),
        ("exp", json!(NOW_S - 60)),
        ("exp", json!("never")),
        ("nbf", json!(NOW_S + 600)),
        ("sub", json!("")),
    ] {
        let mut claims = actions_claims();
        claims[field] = value;
        bad_claims.push(claims);
    }
    let mut no_exp = actions_claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    bad_claims.push(no_exp);
    for claims in bad_claims {
        assert!(
            access.verify(&sign(&key, "k1", &claims)).await.is_none(),
            "{claims}"
        );
    }
    let mut array_aud = actions_claims();
    array_aud["aud"] = json!(["other", "portico"]);
    assert!(access.verify(&sign(&key, "k1", &array_aud)).await.is_some());

    // A key the JWKS does not publish, even under a published kid.
    let (stranger, _) = third_party_key("k1");
    assert!(access
        .verify(&sign(&stranger, "k1", &actions_claims()))
        .await
        .is_none());

    // HS256 with the public JWK as the secret.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".to_owned());
    let secret = serde_json::to_vec(&keys.lock().unwrap()[0]).unwrap();
    let hs = jsonwebtoken::encode(
        &header,
        &actions_claims(),
        &EncodingKey::from_secret(&secret),
    )
    .unwrap();
    assert!(access.verify(&hs).await.is_none());
    // alg none.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "kid": "k1" }).to_string()),
        URL_SAFE_NO_PAD.encode(actions_claims().to_string())
    );
    assert!(access.verify(&none).await.is_none());
}

#[tokio::test]
async fn unknown_kids_refetch_the_jwks_within_a_cooldown() {
    let (key1, jwk1) = third_party_key("k1");
    let keys = Arc::new(std::sync::Mutex::new(vec![jwk1]));
    let server = jwks_server(keys.clone()).await;
    let clock = Clock::manual(NOW_MS);
    let access = access(&jwks_config(&server.base_url, ""), &clock).unwrap();
    assert!(access
        .verify(&sign(&key1, "k1", &actions_claims()))
        .await
        .is_some());

    // The provider rotates to k2; the first k2 token within the cooldown is refused without
    // another fetch.
    let (key2, jwk2) = third_party_key("k2");
    keys.lock().unwrap().push(jwk2);
    let token2 = sign(&key2, "k2", &actions_claims());
    assert!(access.verify(&token2).await.is_none());
    assert_eq!(server.count("/.well-known/jwks"), 1);
    // After it, the unknown kid triggers one refetch.
    clock.advance(31_000);
    assert!(access.verify(&token2).await.is_some());
    assert_eq!(server.count("/.well-known/jwks"), 2);
    // Forged kids do not hammer the endpoint.
    for i in 0..5 {
        assert!(access
            .verify(&sign(&key2, &format!("forged-{i}"), &actions_claims()))
            .await
            .is_none());
    }
    assert_eq!(server.count("/.well-known/jwks"), 2);
}

#[tokio::test]
async fn jwks_algorithm_restrictions_apply() {
    let (key, jwk) = third_party_key("k1");
    let server = jwks_server(Arc::new(std::sync::Mutex::new(vec![jwk]))).await;
    let clock = Clock::manual(NOW_MS);
    let only_rs = access(
        &jwks_config(&server.base_url, "      algorithm: [RS256]\n"),
        &clock,
    )
    .unwrap();
    assert!(only_rs
        .verify(&sign(&key, "k1", &actions_claims()))
        .await
        .is_none());
    assert!(matches!(
        access(
            &jwks_config(&server.base_url, "      algorithm: HS256\n"),
            &clock
        ),
        Err(AuthError::Config(_))
    ));
    // An unreachable JWKS refuses instead of failing the request.
    let offline = access(
        "externalAccess: [ { type: jwks, options: { url: 'http://127.0.0.1:9/jwks' } } ]",
        &clock,
    )
    .unwrap();
    assert!(offline
        .verify(&sign(&key, "k1", &actions_claims()))
        .await
        .is_none());
}

#[tokio::test]
async fn legacy_tokens_need_the_shared_secret_and_backstage_server_subject() {
    let secret = STANDARD.encode(b"a shared secret of enough length");
    let clock = Clock::manual(NOW_MS);
    let access = access(
        &format!("externalAccess: [ {{ type: legacy, options: {{ secret: '{secret}', subject: old-backend }} }} ]"),
        &clock,
    )
    .unwrap();
    let key = EncodingKey::from_secret(b"a shared secret of enough length");
    let good = json!({ "sub": "backstage-server", "exp": NOW_S + 60 });
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &good, &key).unwrap();
    assert_eq!(
        access.verify(&token).await.unwrap().service_subject(),
        Some("old-backend")
    );
    for bad in [
        json!({ "sub": "someone", "exp": NOW_S + 60 }),
        json!({ "sub": "backstage-server", "aud": "catalog", "exp": NOW_S + 60 }),
        json!({ "sub": "backstage-server", "exp": NOW_S - 60 }),
    ] {
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &bad, &key).unwrap();
        assert!(access.verify(&token).await.is_none());
    }
    let wrong_key = EncodingKey::from_secret(b"another secret");
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &good, &wrong_key).unwrap();
    assert!(access.verify(&token).await.is_none());
}

#[tokio::test]
async fn the_authenticator_tries_user_tokens_then_external_access() {
    let clock = Clock::manual(NOW_MS);
    let keys = SigningKeys::new(
        Arc::new(MemoryKeyStore::default()),
        KeyPolicy {
            rotation: Duration::from_secs(3600),
            max_token_ttl: Duration::from_secs(3600),
            leeway: Duration::from_secs(30),
        },
        clock.clone(),
    );
    let tokens = Arc::new(IdentityTokens::new(
        Arc::new(keys),
        "http://localhost:7007/api/auth",
    ));
    let auth = Authenticator::new(tokens.clone(), access(STATIC, &clock).unwrap(), false);

    assert_eq!(auth.authenticate(None).await.unwrap(), None);
    assert_eq!(auth.authenticate(Some("  ")).await.unwrap(), None);
    assert!(matches!(
        auth.authenticate_required(None).await,
        Err(AuthError::Unauthenticated(_))
    ));

    let issued = tokens
        .issue_user_token(
            "user:default/jane",
            &["group:default/team-a".into()],
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    let user = auth
        .authenticate(Some(&issued.token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.user_entity_ref(), Some("user:default/jane"));

    let ci = auth
        .authenticate(Some("ci-secret-token-123"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ci.actor(), "service:ci-catalog");

    assert!(matches!(
        auth.authenticate(Some("not-a-known-token")).await,
        Err(AuthError::Unauthenticated(m)) if m == "Illegal token"
    ));
    // An expired user token fails as a user token, with its reason.
    clock.advance(3_600_000);
    assert!(matches!(
        auth.authenticate(Some(&issued.token)).await,
        Err(AuthError::Unauthenticated(m)) if m.contains("expired")
    ));

    let open = Authenticator::new(tokens, ExternalAccess::none(), true);
    assert_eq!(open.authenticate_required(None).await.unwrap(), None);
    assert!(open
        .authenticate_required(Some("junk-token-value"))
        .await
        .is_err());
    let policy = PermissionPolicy::from_config(&PermissionConfig::default(), true).unwrap();
    assert_eq!(
        policy.evaluate(None, &permission::CATALOG_ENTITY_DELETE),
        Decision::Allow
    );
}

#[test]
fn bearer_tokens_are_read_like_backstage_reads_them() {
    use crate::authenticator::bearer_token;
    assert_eq!(bearer_token("Bearer abc.def"), Some("abc.def"));
    assert_eq!(bearer_token("bearer   abc"), Some("abc"));
    assert_eq!(bearer_token("Bearer"), None);
    assert_eq!(bearer_token("Bearer "), None);
    assert_eq!(bearer_token("Bearerabc"), None);
    assert_eq!(bearer_token("Bearer a b"), None);
    assert_eq!(bearer_token("Basic abc"), None);
}
