//! Org import: users and teams as Backstage's default transformers make them.

use crate::helpers::{reader, small_org};
use portico_github::GithubError;
use portico_github_double::{GithubDouble, UserModel};
use serde_json::{json, Value};

fn by_name<'a>(entities: &'a [Value], kind: &str, name: &str) -> &'a Value {
    entities
        .iter()
        .find(|e| e["kind"] == kind && e["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[tokio::test]
async fn users_and_teams_with_their_relations() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    let entities = reader
        .import_org("https://github.com", "acme")
        .await
        .unwrap();
    let kinds: Vec<&str> = entities
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["User", "User", "User", "Group", "Group", "Group"]);

    let alice = by_name(&entities, "User", "alice");
    assert_eq!(
        alice["metadata"]["annotations"],
        json!({
            "backstage.io/managed-by-location": "url:https://github.com/alice",
            "backstage.io/managed-by-origin-location": "url:https://github.com/alice",
            "github.com/user-login": "alice",
            "github.com/user-id": alice["metadata"]["annotations"]["github.com/user-id"].clone()
        })
    );
    assert_eq!(alice["metadata"]["description"], "Platform lead");
    assert_eq!(alice["spec"]["profile"]["displayName"], "Alice Liddell");
    assert_eq!(alice["spec"]["profile"]["email"], "alice@example.com");
    assert!(alice["spec"]["profile"]["picture"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    assert_eq!(
        alice["spec"]["memberOf"],
        json!(["engineering", "platform"])
    );
    // REST lists child teams' members too, so bob is in all three.
    assert_eq!(
        by_name(&entities, "User", "bob")["spec"]["memberOf"],
        json!(["engineering", "platform", "sre"])
    );

    let platform = by_name(&entities, "Group", "platform");
    assert_eq!(platform["spec"]["type"], "team");
    assert_eq!(platform["spec"]["profile"]["displayName"], "Platform");
    assert_eq!(platform["spec"]["parent"], "engineering");
    assert_eq!(platform["spec"]["children"], json!(["sre"]));
    assert_eq!(platform["spec"]["members"], json!(["alice", "bob"]));
    assert_eq!(
        platform["metadata"]["annotations"]["github.com/team-slug"],
        "acme/platform"
    );
    assert_eq!(
        platform["metadata"]["annotations"]["backstage.io/managed-by-location"],
        "url:https://github.com/orgs/acme/teams/platform"
    );
    assert_eq!(
        platform["metadata"]["annotations"]["backstage.io/edit-url"],
        "https://github.com/orgs/acme/teams/platform/edit"
    );
    let engineering = by_name(&entities, "Group", "engineering");
    assert_eq!(engineering["spec"]["children"], json!(["platform"]));
    assert!(engineering["spec"].get("parent").is_none());
    assert_eq!(
        engineering["metadata"]["description"],
        "Everyone who builds"
    );

    let stats = double.stats();
    // members + 3 users + teams + 3 team member lists.
    assert_eq!(stats.total, 8, "{stats:?}");
    eprintln!(
        "org import: {} entities in {} requests",
        entities.len(),
        stats.total
    );

    // A second import of an unchanged org costs no quota.
    double.reset_stats();
    double.add_user(UserModel::new("dave"));
    let again = reader
        .import_org("https://github.com", "acme")
        .await
        .unwrap();
    assert_eq!(again.len(), entities.len() + 1);
    let stats = double.stats();
    assert_eq!(
        stats.quota_counted, 2,
        "the member list and dave: {stats:?}"
    );
}

#[tokio::test]
async fn unknown_orgs_and_hosts() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    assert!(matches!(
        reader.import_org("https://github.com", "nobody").await,
        Err(GithubError::NotFound { .. })
    ));
    assert!(matches!(
        reader
            .import_org("https://gitlab.example.com", "acme")
            .await,
        Err(GithubError::Invalid { .. })
    ));
}
