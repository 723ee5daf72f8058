//! Several Portico processes on one PostgreSQL database share the processing work.

use crate::helpers::{test_config, FileHost, TestApp};
use portico_catalog::ConfiguredLocation;
use portico_test_support::TestDb;
use std::collections::HashSet;

#[actix_web::test]
async fn two_replicas_ingest_one_catalog_without_duplicates_or_losses() {
    let Some(db) = TestDb::postgres() else { return };
    let host = FileHost::start().await;
    let mut targets = Vec::new();
    for f in 0..20 {
        let docs: Vec<String> = (0..25)
            .map(|i| format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c-{f}-{i}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-{f}\n"))
            .collect();
        host.put(&format!("/f{f}.yaml"), &docs.join("---\n"));
        targets.push(format!("./f{f}.yaml"));
    }
    host.put("/all.yaml", &format!("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {{ name: all }}\nspec:\n  targets: [{}]\n", targets.join(", ")));
    let location = ConfiguredLocation {
        location_type: "url".into(),
        target: host.url("/all.yaml"),
    };
    let config = test_config(&db, vec![location.clone()], host.allow());
    let target = db.target.clone();
    let a = TestApp::spawn(db, config.clone()).await;
    // A second replica with its own pools on the same database.
    let second_db = portico_test_support::TestDb::postgres().unwrap();
    let mut config_b = config;
    config_b.database = target.clone();
    let b = TestApp::spawn(second_db, config_b).await;

    let (ra, rb) = tokio::join!(
        a.state.catalog.engine().run_until_idle(),
        b.state.catalog.engine().run_until_idle()
    );
    ra.unwrap();
    rb.unwrap();
    // Anything one replica scheduled for the other finishes too.
    a.process().await;
    b.process().await;

    let (_, from_a) = a
        .get("/api/catalog/entities?filter=kind=component&fields=metadata.uid,metadata.name")
        .await;
    let (_, from_b) = b
        .get("/api/catalog/entities?filter=kind=component&fields=metadata.uid,metadata.name")
        .await;
    assert_eq!(from_a, from_b);
    let names: HashSet<&str> = from_a
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(from_a.as_array().unwrap().len(), 500);
    assert_eq!(names.len(), 500);

    // Nothing flaps: another full pass changes no etag.
    let etags = |v: &serde_json::Value| v.to_string();
    let before = etags(&a.get("/api/catalog/entities?fields=metadata.etag").await.1);
    let (_, _) = (
        a.state.catalog.refresh_providers().await.unwrap(),
        b.state.catalog.refresh_providers().await.unwrap(),
    );
    a.state
        .catalog
        .refresh(&portico_catalog::parse_full_ref("location:default/all").unwrap())
        .await
        .unwrap();
    let (ra, rb) = tokio::join!(
        a.state.catalog.engine().run_until_idle(),
        b.state.catalog.engine().run_until_idle()
    );
    ra.unwrap();
    rb.unwrap();
    let after = etags(&a.get("/api/catalog/entities?fields=metadata.etag").await.1);
    assert_eq!(before, after);
    a.stop().await;
    b.stop().await;
    host.stop().await;
}
