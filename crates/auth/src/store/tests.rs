//! Round trips of every auth table on SQLite and, when a server is reachable, PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use portico_store::Db;
use portico_test_support::TestDb;
use serde_json::json;

use crate::audit::{AuditLog, AuditOutcome, NewAuditEvent};
use crate::clock::Clock;
use crate::identity::Identity;
use crate::keys::{DbKeyStore, KeyPolicy, KeyStore, SigningKeys};
use crate::providers::{ProfileInfo, Resolution, ResolvedUser};
use crate::sessions::RefreshSessions;
use crate::tokens::IdentityTokens;

const HOUR: Duration = Duration::from_secs(3600);
const ISSUER: &str = "http://localhost:7007/api/auth";

macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(&portico_test_support::TestDb::sqlite()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = portico_test_support::TestDb::postgres() {
                    super::$name(&db).await;
                }
            }
        }
    };
}

fn tokens_on(db: Db, clock: &Clock) -> IdentityTokens {
    let keys = SigningKeys::new(
        Arc::new(DbKeyStore::new(db)),
        KeyPolicy {
            rotation: HOUR,
            max_token_ttl: HOUR,
            leeway: Duration::from_secs(30),
        },
        clock.clone(),
    );
    IdentityTokens::new(Arc::new(keys), ISSUER)
}

async fn signing_keys_round_trip(test: &TestDb) {
    let store = DbKeyStore::new(test.db.clone());
    let clock = Clock::manual(1_000);
    let tokens = tokens_on(test.db.clone(), &clock);
    let issued = tokens
        .issue_user_token("user:default/jane", &[], HOUR)
        .await
        .unwrap();
    let stored = store.list_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    let key = &stored[0];
    assert_eq!(key.created_at, 1_000);
    assert_eq!(key.expires_at, 1_000 + 2 * 3_600_000 + 30_000);
    assert_eq!(
        store.get_key(&key.jwk.kid).await.unwrap().as_ref(),
        Some(key)
    );
    assert!(store.get_key("nope").await.unwrap().is_none());
    assert_eq!(
        store.remove_expired_keys(key.expires_at - 1).await.unwrap(),
        0
    );
    assert!(tokens.verify(&issued.token).await.is_ok());
    assert_eq!(store.remove_expired_keys(key.expires_at).await.unwrap(), 1);
    assert!(store.list_keys().await.unwrap().is_empty());
}
on_both_backends!(signing_keys_round_trip);

/// Two processes (two pools, two key sets) on one database verify each other's tokens.
async fn replicas_verify_each_others_tokens(test: &TestDb) {
    let clock = Clock::manual(1_700_000_000_000);
    let a = tokens_on(test.db.clone(), &clock);
    let b = tokens_on(Db::connect(&test.target).unwrap(), &clock);
    // B looks first, so it must go back to the database for A's key.
    assert!(b.keys().public_keys().await.unwrap().is_empty());
    let from_a = a
        .issue_user_token("user:default/jane", &[], HOUR)
        .await
        .unwrap();
    let from_b = b
        .issue_user_token("user:default/joe", &[], HOUR)
        .await
        .unwrap();
    assert_eq!(
        b.verify(&from_a.token).await.unwrap().user_entity_ref(),
        Some("user:default/jane")
    );
    assert_eq!(
        a.verify(&from_b.token).await.unwrap().user_entity_ref(),
        Some("user:default/joe")
    );
    let kids_a: Vec<String> = a
        .keys()
        .public_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    let kids_b: Vec<String> = b
        .keys()
        .public_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids_a.len(), 2);
    assert_eq!(kids_a, kids_b);

    // A rotates; B still verifies A's old and new tokens.
    clock.advance(3_600_000);
    let rotated = a
        .issue_user_token("user:default/jane", &[], HOUR)
        .await
        .unwrap();
    assert!(b.verify(&rotated.token).await.is_ok());
    assert!(b.verify(&from_a.token).await.is_ok());
    assert_eq!(a.keys().public_keys().await.unwrap().len(), 3);
}
on_both_backends!(replicas_verify_each_others_tokens);

async fn refresh_sessions_round_trip(test: &TestDb) {
    let clock = Clock::manual(1_700_000_000_000);
    let tokens = tokens_on(test.db.clone(), &clock);
    let sessions = RefreshSessions::new(test.db.clone(), clock.clone());
    let user = ResolvedUser {
        user_entity_ref: "user:default/jane".into(),
        ownership_entity_refs: vec!["user:default/jane".into(), "group:default/team-a".into()],
        resolution: Resolution::Fallback,
    };
    let profile = ProfileInfo {
        email: Some("jane@acme.com".into()),
        display_name: Some("Jane".into()),
        picture: None,
    };
    let token = sessions
        .create("github", &user, &profile, Some(Duration::from_secs(60)))
        .await
        .unwrap();
    let other = sessions
        .create("github", &user, &profile, None)
        .await
        .unwrap();
    assert_ne!(token, other);

    let found = sessions.find("github", &token).await.unwrap().unwrap();
    assert_eq!(found.user, user);
    assert_eq!(found.profile, profile);
    assert_eq!(found.expires_at - found.created_at, 60_000);
    assert!(sessions.find("guest", &token).await.unwrap().is_none());
    assert!(sessions.find("github", "forged").await.unwrap().is_none());

    let response = sessions
        .refresh("github", &token, &tokens, HOUR, None)
        .await
        .unwrap();
    let identity = tokens
        .verify(&response.backstage_identity.token)
        .await
        .unwrap();
    assert_eq!(identity.ownership_entity_refs, user.ownership_entity_refs);
    let wire = serde_json::to_value(&response).unwrap();
    assert_eq!(wire["backstageIdentity"]["identity"]["type"], "user");
    assert_eq!(
        wire["backstageIdentity"]["identity"]["userEntityRef"],
        "user:default/jane"
    );
    assert_eq!(wire["profile"]["displayName"], "Jane");

    // Expiry, then clean-up.
    clock.advance(60_000);
    assert!(sessions.find("github", &token).await.unwrap().is_none());
    assert!(sessions
        .refresh("github", &token, &tokens, HOUR, None)
        .await
        .is_err());
    assert_eq!(sessions.delete_expired().await.unwrap(), 1);

    // Logout.
    assert!(sessions.delete(&other).await.unwrap());
    assert!(!sessions.delete(&other).await.unwrap());
    assert!(sessions.find("github", &other).await.unwrap().is_none());

    let third = sessions
        .create("guest", &user, &profile, None)
        .await
        .unwrap();
    assert_eq!(
        sessions.delete_for_user("user:default/jane").await.unwrap(),
        1
    );
    assert!(sessions.find("guest", &third).await.unwrap().is_none());
}
on_both_backends!(refresh_sessions_round_trip);

async fn audit_events_round_trip(test: &TestDb) {
    let log = AuditLog::new(test.db.clone()).with_clock(Clock::manual(42));
    let jane = Identity::user("user:default/jane", vec![]);
    log.record(
        NewAuditEvent::new(
            Some(&jane),
            "catalog.location.create",
            Some("url:https://github.com/acme/payments/blob/main/catalog-info.yaml".into()),
            AuditOutcome::Succeeded,
        )
        .with_details(json!({ "requestId": "r1" })),
    )
    .await
    .unwrap();
    log.record(NewAuditEvent::new(
        None,
        "catalog.entity.delete",
        None,
        AuditOutcome::Denied,
    ))
    .await
    .unwrap();
    log.record(NewAuditEvent::new(
        Some(&Identity::service("ci")),
        "catalog.entity.refresh",
        Some("component:default/payments".into()),
        AuditOutcome::Failed,
    ))
    .await
    .unwrap();

    let all = log.list(None, 100).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].actor, "user:default/jane");
    assert_eq!(all[0].at, 42);
    assert_eq!(all[0].details, json!({ "requestId": "r1" }));
    assert_eq!(all[1].actor, "anonymous");
    assert_eq!(all[1].target, None);
    assert_eq!(all[1].outcome, AuditOutcome::Denied);
    assert_eq!(all[2].actor, "service:ci");
    assert!(all[0].id < all[1].id && all[1].id < all[2].id);

    let page = log.list(Some(all[0].id), 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, all[1].id);
    assert!(log.list(Some(all[2].id), 10).await.unwrap().is_empty());
    assert!(log.list(None, 0).await.unwrap().is_empty());
}
on_both_backends!(audit_events_round_trip);
