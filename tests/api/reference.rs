//! Backstage's reference examples load exactly as Backstage loads them.

use crate::helpers::{shared_dir, test_config, TestApp};
use crate::on_both_backends;
use portico_catalog::ConfiguredLocation;
use portico_test_support::TestDb;
use serde_json::Value;

fn reference_location() -> Option<ConfiguredLocation> {
    let path = shared_dir().join("reference/examples/all.yaml");
    if !path.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {} is missing",
            path.display()
        );
        eprintln!("*** SKIP: {} not found ***", path.display());
        return None;
    }
    let path = path.canonicalize().unwrap();
    Some(ConfiguredLocation {
        location_type: "file".into(),
        target: path.display().to_string(),
    })
}

async fn reference_examples_load_as_in_backstage(db: TestDb) {
    let Some(location) = reference_location() else {
        return;
    };
    let config = test_config(&db, vec![location], vec![]);
    let app = TestApp::spawn(db, config).await;
    app.process().await;

    let (status, all) = app.get("/api/catalog/entities").await;
    assert_eq!(status, 200);
    let all = all.as_array().unwrap().clone();
    let mut refs: Vec<String> = all
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["kind"].as_str().unwrap(),
                e["metadata"]["name"].as_str().unwrap()
            )
        })
        .filter(|r| !r.starts_with("Location:generated-"))
        .collect();
    refs.sort();
    // The config's own root Location is the one generated entity; 18 entities besides it.
    assert_eq!(all.len(), 19, "{refs:#?}");
    let templates = refs.iter().filter(|r| r.starts_with("Template:")).count();
    assert_eq!(templates, 11, "{refs:#?}");
    for expected in [
        "Location:portico-reference-examples",
        "API:example-grpc-api",
        "Component:backstage-demo",
        "Component:example-website",
        "Group:guests",
        "User:guest",
        "System:examples",
    ] {
        assert!(
            refs.contains(&expected.to_string()),
            "missing {expected} in {refs:#?}"
        );
    }
    for rejected in ["API:demo-graphql", "API:github-mcp-server"] {
        assert!(
            !refs.contains(&rejected.to_string()),
            "{rejected} should be rejected"
        );
    }

    // Every rejected document has a reason that names it.
    let (status, errors) = app.get("/api/catalog/portico/processing-errors").await;
    assert_eq!(status, 200);
    let text = errors.to_string();
    assert!(text.contains("demo-graphql"), "{text}");
    assert!(text.contains("github-mcp-server"), "{text}");
    assert!(text.contains("AiResource"), "{text}");

    // Relations resolve both ways: the guest user is a member of guests.
    let (_, user) = app
        .get("/api/catalog/entities/by-name/user/default/guest")
        .await;
    let rels: Vec<(String, String)> = user["relations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().into(),
                r["targetRef"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        rels.contains(&("memberOf".into(), "group:default/guests".into())),
        "{rels:?}"
    );
    let (_, group) = app
        .get("/api/catalog/entities/by-name/group/default/guests")
        .await;
    assert!(group["relations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["type"] == "hasMember" && r["targetRef"] == "user:default/guest"));
    assert!(
        group["metadata"]["annotations"]["backstage.io/managed-by-location"]
            .as_str()
            .unwrap()
            .starts_with("file:")
    );
    assert_eq!(
        group.pointer("/metadata/namespace"),
        Some(&Value::String("default".into()))
    );
    app.stop().await;
}
on_both_backends!(reference_examples_load_as_in_backstage);
