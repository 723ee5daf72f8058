//! Locations over the API: registration, dry runs, refusals, broken files, updates, orphans,
//! conflicts and deletion.

use crate::helpers::{test_config, FileHost, TestApp};
use crate::on_both_backends;
use portico_test_support::TestDb;
use serde_json::{json, Value};

fn component(name: &str, owner: &str) -> String {
    format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n")
}

async fn registered_locations_ingest_update_and_go_away(db: TestDb) {
    let host = FileHost::start().await;
    host.put(
        "/repo/catalog-info.yaml",
        &format!(
            "{}---\n{}",
            component("alpha", "team-a"),
            component("beta", "team-a")
        ),
    );
    let config = test_config(&db, vec![], host.allow());
    let app = TestApp::spawn(db, config).await;
    let target = host.url("/repo/catalog-info.yaml");

    // A dry run reads now and stores nothing.
    let (status, dry) = app
        .post(
            "/api/catalog/locations?dryRun=true",
            &json!({"type": "url", "target": target}),
        )
        .await;
    assert_eq!(status, 201, "{dry}");
    assert_eq!(dry["exists"], false);
    let kinds: Vec<&str> = dry["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "Component").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(app.get("/api/catalog/locations").await.1, json!([]));

    // Registration answers at once; processing reads it.
    let created = app.register_url_location(&target).await;
    assert_eq!(created["entities"], json!([]));
    let id = created["location"]["id"].as_str().unwrap().to_string();
    let (status, again) = app
        .post(
            "/api/catalog/locations",
            &json!({"type": "url", "target": target}),
        )
        .await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["error"]["name"], "ConflictError");
    app.process().await;
    assert_eq!(app.names_of_kind("component").await, vec!["alpha", "beta"]);
    let (_, list) = app.get("/api/catalog/locations").await;
    assert_eq!(list[0]["data"]["id"], id.as_str());
    let (status, by_entity) = app
        .get("/api/catalog/locations/by-entity/component/default/alpha")
        .await;
    assert_eq!(status, 200);
    assert_eq!(by_entity["target"], target.as_str());

    // An edit shows after a refresh; the etag changes, the uid does not.
    let (_, before) = app
        .get("/api/catalog/entities/by-name/component/default/alpha")
        .await;
    host.put(
        "/repo/catalog-info.yaml",
        &format!(
            "{}---\n{}",
            component("alpha", "team-b"),
            component("beta", "team-a")
        ),
    );
    let (status, _) = app
        .post(
            "/api/catalog/refresh",
            &json!({"entityRef": "component:default/alpha"}),
        )
        .await;
    assert_eq!(status, 200);
    app.process().await;
    let (_, after) = app
        .get("/api/catalog/entities/by-name/component/default/alpha")
        .await;
    assert_eq!(after["spec"]["owner"], "team-b");
    assert_eq!(after["metadata"]["uid"], before["metadata"]["uid"]);
    assert_ne!(after["metadata"]["etag"], before["metadata"]["etag"]);

    // A document that disappears leaves an orphan (strategy keep).
    host.put("/repo/catalog-info.yaml", &component("alpha", "team-b"));
    app.post(
        "/api/catalog/refresh",
        &json!({"entityRef": "component:default/alpha"}),
    )
    .await;
    app.process().await;
    let (_, beta) = app
        .get("/api/catalog/entities/by-name/component/default/beta")
        .await;
    assert_eq!(
        beta["metadata"]["annotations"]["backstage.io/orphan"],
        "true"
    );

    // A transient failure (the file is gone: 404 is a read error) keeps what was there.
    host.remove("/repo/catalog-info.yaml");
    app.post(
        "/api/catalog/refresh",
        &json!({"entityRef": "component:default/alpha"}),
    )
    .await;
    app.process().await;
    let (status, alpha) = app
        .get("/api/catalog/entities/by-name/component/default/alpha")
        .await;
    assert_eq!(status, 200);
    assert!(alpha["metadata"]["annotations"]
        .get("backstage.io/orphan")
        .is_none());

    // Deleting an entity by uid: it comes back while its location still emits it.
    host.put("/repo/catalog-info.yaml", &component("alpha", "team-b"));
    let uid = alpha["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/catalog/entities/by-uid/{uid}"))
            .await,
        204
    );
    assert_eq!(
        app.get(&format!("/api/catalog/entities/by-uid/{uid}"))
            .await
            .0,
        404
    );
    app.post("/api/catalog/refresh", &json!({"entityRef": format!("location:default/{}", portico_catalog::processing::generated_location_name("url", &target))})).await;
    app.process().await;
    assert_eq!(
        app.get("/api/catalog/entities/by-name/component/default/alpha")
            .await
            .0,
        200
    );

    // Deleting the location removes what only it emitted.
    assert_eq!(
        app.delete(&format!("/api/catalog/locations/{id}")).await,
        204
    );
    app.process().await;
    assert_eq!(
        app.get("/api/catalog/entities/by-name/component/default/alpha")
            .await
            .0,
        404
    );
    assert_eq!(
        app.delete(&format!("/api/catalog/locations/{id}")).await,
        404
    );
    app.stop().await;
    host.stop().await;
}
on_both_backends!(registered_locations_ingest_update_and_go_away);

async fn bad_input_is_refused_or_reported_and_loses_nothing_else(db: TestDb) {
    let host = FileHost::start().await;
    host.put("/good.yaml", &component("good", "team-a"));
    host.put(
        "/broken.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: [unclosed\n",
    );
    host.put(
        "/mixed.yaml",
        &format!(
            "{}---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: Bad Name!\nspec: {{ type: service, lifecycle: x, owner: y }}\n---\n{}",
            component("first", "team-a"),
            component("last", "team-a")
        ),
    );
    host.put(
        "/all.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: { name: all }\nspec:\n  targets: [./good.yaml, ./broken.yaml, ./mixed.yaml, ./missing.yaml]\n",
    );
    let config = test_config(&db, vec![], host.allow());
    let app = TestApp::spawn(db, config).await;

    // Hosts off the allow-list, loopback included, are refused: no SSRF through registration.
    for target in [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:1/x.yaml",
        "https://example.com/a.yaml",
        "file:///etc/passwd",
    ] {
        let (status, err) = app
            .post(
                "/api/catalog/locations",
                &json!({"type": "url", "target": target}),
            )
            .await;
        assert_eq!(status, 400, "{target}: {err}");
        assert_eq!(err["error"]["name"], "InputError");
    }
    let (status, err) = app
        .post(
            "/api/catalog/locations",
            &json!({"type": "file", "target": "/etc/passwd"}),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    let (status, err) = app
        .post("/api/catalog/locations", &json!({"type": "url"}))
        .await;
    assert_eq!(status, 400, "{err}");

    // One broken file and one bad document do not stop the rest.
    app.register_url_location(&host.url("/all.yaml")).await;
    app.process().await;
    assert_eq!(
        app.names_of_kind("component").await,
        vec!["first", "good", "last"]
    );
    let (_, all) = app
        .get("/api/catalog/entities/by-name/location/default/all")
        .await;
    let messages: Vec<String> = all["status"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["message"].as_str().unwrap().to_string())
        .collect();
    let joined = messages.join("\n");
    assert!(joined.contains("broken.yaml, document 0"), "{joined}");
    assert!(
        joined.contains("mixed.yaml, document 1") && joined.contains("metadata.name"),
        "{joined}"
    );
    assert!(joined.contains("missing.yaml"), "{joined}");

    // A dry run of a broken file is an error response.
    let (status, err) = app
        .post(
            "/api/catalog/locations?dryRun=true",
            &json!({"type": "url", "target": host.url("/broken.yaml")}),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    let (status, _) = app
        .post(
            "/api/catalog/locations?dryRun=true",
            &json!({"type": "url", "target": host.url("/nothing.yaml")}),
        )
        .await;
    assert_eq!(status, 404);

    // validate-entity
    let good = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"}, "spec": {"type": "service", "lifecycle": "p", "owner": "o"}});
    let (status, _) = app
        .post(
            "/api/catalog/validate-entity",
            &json!({"entity": good, "location": "url:https://example.com/x.yaml"}),
        )
        .await;
    assert_eq!(status, 200);
    let bad = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x y"}, "spec": {}});
    let (status, body) = app
        .post(
            "/api/catalog/validate-entity",
            &json!({"entity": bad, "location": "url:https://example.com/x.yaml"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("metadata.name"),
        "{body}"
    );

    // Malformed JSON bodies and bad refs are InputErrors.
    let res = app
        .client
        .post(app.url("/api/catalog/refresh"))
        .header("content-type", "application/json")
        .body("{")
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["name"], "InputError");
    let (status, _) = app
        .post(
            "/api/catalog/refresh",
            &json!({"entityRef": "component:default/nope"}),
        )
        .await;
    assert_eq!(status, 404);
    app.stop().await;
    host.stop().await;
}
on_both_backends!(bad_input_is_refused_or_reported_and_loses_nothing_else);

/// `shared` (emitted by two locations) is still the first location's: owned by `team-a`.
async fn assert_first_owner_keeps_shared(app: &TestApp) {
    let (_, shared) = app
        .get("/api/catalog/entities/by-name/component/default/shared")
        .await;
    assert_eq!(
        shared["spec"]["owner"], "team-a",
        "the first owner keeps it"
    );
}

async fn the_same_entity_from_two_locations_is_a_conflict(db: TestDb) {
    let host = FileHost::start().await;
    host.put("/a.yaml", &component("shared", "team-a"));
    host.put("/b.yaml", &component("shared", "team-b"));
    let config = test_config(&db, vec![], host.allow());
    let app = TestApp::spawn(db, config).await;
    app.register_url_location(&host.url("/a.yaml")).await;
    app.process().await;
    app.register_url_location(&host.url("/b.yaml")).await;
    app.process().await;
    assert_first_owner_keeps_shared(&app).await;
    let name = portico_catalog::processing::generated_location_name("url", &host.url("/b.yaml"));
    let (_, loc) = app
        .get(&format!(
            "/api/catalog/entities/by-name/location/default/{name}"
        ))
        .await;
    assert_eq!(
        loc["status"]["items"][0]["error"]["name"], "ConflictError",
        "{loc}"
    );
    app.stop().await;
    host.stop().await;
}
on_both_backends!(the_same_entity_from_two_locations_is_a_conflict);

/// How many entities match a filter, by `totalItems`.
async fn count_matching(app: &TestApp, filter: &str) -> u64 {
    let (status, page) = app
        .get(&format!(
            "/api/catalog/entities/by-query?filter={filter}&limit=1"
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    page["totalItems"].as_u64().unwrap_or_default()
}

/// A Location emitting thousands of entities writes them a chunk at a time while it reads its
/// targets: every one is served with its parent (none stitched as an orphan meanwhile), a
/// conflict in a later chunk is still reported, and a target dropped later orphans exactly
/// its entities.
async fn a_location_emitting_thousands_writes_them_in_chunks(db: TestDb) {
    const FILES: usize = 5;
    const PER_FILE: usize = 600;
    let host = FileHost::start().await;
    host.put("/other.yaml", &component("shared", "team-a"));
    for f in 0..FILES {
        let mut docs: Vec<String> = (0..PER_FILE)
            .map(|i| component(&format!("bulk-{f}-{i}"), "team-b"))
            .collect();
        if f == 3 {
            docs[0] = component("shared", "team-b");
        }
        if f == 0 {
            // Processed in the first batch; the components after it add to its relations
            // while batches are full, so its stitch is debounced until processing settles.
            docs.insert(0, "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-b\nspec:\n  type: team\n  children: []\n".into());
        }
        host.put(&format!("/big/part-{f}.yaml"), &docs.join("---\n"));
    }
    let location = |files: usize| {
        let targets: String = (0..files)
            .map(|f| format!("    - ./part-{f}.yaml\n"))
            .collect();
        format!("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: big\nspec:\n  targets:\n{targets}")
    };
    host.put("/big/all.yaml", &location(FILES));
    let config = test_config(&db, vec![], host.allow());
    let app = TestApp::spawn(db, config).await;
    for path in ["/other.yaml", "/big/all.yaml"] {
        app.register_url_location(&host.url(path)).await;
        app.process().await;
    }

    assert_eq!(
        count_matching(&app, "kind=component").await,
        (FILES * PER_FILE) as u64,
        "every child once, and `shared` from its first location"
    );
    assert_eq!(
        count_matching(&app, "metadata.annotations.backstage.io/orphan=true").await,
        0
    );
    assert_first_owner_keeps_shared(&app).await;
    let (_, big) = app
        .get("/api/catalog/entities/by-name/location/default/big")
        .await;
    let conflicts: Vec<&Value> = big["status"]["items"]
        .as_array()
        .map(|items| items.iter().collect())
        .unwrap_or_default();
    assert_eq!(conflicts.len(), 1, "{big}");
    assert_eq!(conflicts[0]["error"]["name"], "ConflictError");
    assert!(
        conflicts[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("component:default/shared"),
        "{big}"
    );
    let (_, bulk) = app
        .get("/api/catalog/entities/by-name/component/default/bulk-4-599")
        .await;
    assert_eq!(
        bulk["relations"],
        json!([{"type": "ownedBy", "targetRef": "group:default/team-b"}])
    );
    let (_, team) = app
        .get("/api/catalog/entities/by-name/group/default/team-b")
        .await;
    let owned = team["relations"]
        .as_array()
        .map(|r| r.iter().filter(|r| r["type"] == "ownerOf").count())
        .unwrap_or_default();
    assert_eq!(owned, FILES * PER_FILE - 1, "every component but `shared`");
    let (_, due, stitching) = app.state.catalog.backlog().await.expect("backlog");
    assert_eq!(
        (due, stitching),
        (0, 0),
        "nothing left due or waiting to be stitched"
    );

    // The last target goes: its entities, and only those, become orphans.
    host.put("/big/all.yaml", &location(FILES - 1));
    let registered =
        portico_catalog::processing::generated_location_name("url", &host.url("/big/all.yaml"));
    for entity_ref in [
        format!("location:default/{registered}"),
        "location:default/big".to_string(),
    ] {
        app.post("/api/catalog/refresh", &json!({ "entityRef": entity_ref }))
            .await;
        app.process().await;
    }
    assert_eq!(
        count_matching(&app, "metadata.annotations.backstage.io/orphan=true").await,
        PER_FILE as u64
    );
    let (_, gone) = app
        .get("/api/catalog/entities/by-name/component/default/bulk-4-0")
        .await;
    assert_eq!(
        gone["metadata"]["annotations"]["backstage.io/orphan"], "true",
        "{gone}"
    );
    app.stop().await;
    host.stop().await;
}
on_both_backends!(a_location_emitting_thousands_writes_them_in_chunks);
