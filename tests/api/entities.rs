//! The entity read API: shapes, filters, fields, facets, paging, by-refs, ancestry, errors.

use crate::helpers::{test_config, FileHost, TestApp};
use crate::on_both_backends;
use portico_catalog::ConfiguredLocation;
use portico_test_support::TestDb;
use serde_json::{json, Value};

const ORG: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team-a }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: jane }
spec: { memberOf: [team-a] }
"#;

fn components(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc-{i:03}\n  title: Service {i}\n  tags: [{tag}]\nspec:\n  type: {ty}\n  lifecycle: production\n  owner: team-a\n  providesApis: [api-{i:03}]\n",
                tag = if i % 2 == 0 { "java" } else { "go" },
                ty = if i % 3 == 0 { "website" } else { "service" },
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

async fn start(db: TestDb) -> (TestApp, FileHost) {
    let host = FileHost::start().await;
    host.put("/org.yaml", ORG);
    host.put("/components.yaml", &components(25));
    host.put(
        "/all.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: { name: all }\nspec:\n  targets: [./org.yaml, ./components.yaml]\n",
    );
    let location = ConfiguredLocation {
        location_type: "url".into(),
        target: host.url("/all.yaml"),
    };
    let config = test_config(&db, vec![location], host.allow());
    let app = TestApp::spawn(db, config).await;
    app.process().await;
    (app, host)
}

async fn reads_filters_fields_and_errors(db: TestDb) {
    let (app, host) = start(db).await;

    let (status, all) = app.get("/api/catalog/entities").await;
    assert_eq!(status, 200);
    // 25 components, a group, a user, the `all` Location and the config's root Location.
    assert_eq!(all.as_array().unwrap().len(), 29);

    let (status, svc) = app
        .get("/api/catalog/entities/by-name/Component/Default/SVC-001")
        .await;
    assert_eq!(status, 200);
    assert_eq!(svc["metadata"]["name"], "svc-001");
    let uid = svc["metadata"]["uid"].as_str().unwrap().to_string();
    assert!(!svc["metadata"]["etag"].as_str().unwrap().is_empty());
    let rels = svc["relations"].as_array().unwrap();
    assert!(rels.contains(&json!({"type": "ownedBy", "targetRef": "group:default/team-a"})));
    assert!(rels.contains(&json!({"type": "providesApi", "targetRef": "api:default/api-001"})));
    assert_eq!(
        svc["metadata"]["annotations"]["backstage.io/view-url"],
        host.url("/components.yaml")
    );

    let (status, by_uid) = app
        .get(&format!("/api/catalog/entities/by-uid/{uid}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(by_uid, svc);

    // The reverse half lands on the group.
    let (_, group) = app
        .get("/api/catalog/entities/by-name/group/default/team-a")
        .await;
    let owner_of = group["relations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "ownerOf")
        .count();
    assert_eq!(owner_of, 25);
    assert!(group["relations"]
        .as_array()
        .unwrap()
        .contains(&json!({"type": "hasMember", "targetRef": "user:default/jane"})));

    // Filters: AND inside one, OR across params, case-insensitive, tags as keys, relations.
    let (_, list) = app
        .get("/api/catalog/entities?filter=kind=component,spec.type=WEBSITE")
        .await;
    assert_eq!(list.as_array().unwrap().len(), 9);
    let (_, list) = app
        .get("/api/catalog/entities?filter=kind=user&filter=kind=group")
        .await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (_, list) = app
        .get("/api/catalog/entities?filter=metadata.tags.java")
        .await;
    assert_eq!(list.as_array().unwrap().len(), 13);
    let (_, list) = app
        .get("/api/catalog/entities?filter=relations.ownedby=group:default/team-a")
        .await;
    assert_eq!(list.as_array().unwrap().len(), 25);

    // Fields projection.
    let (_, list) = app
        .get("/api/catalog/entities?filter=kind=user&fields=kind,metadata.name")
        .await;
    assert_eq!(
        list,
        json!([{"kind": "User", "metadata": {"name": "jane"}}])
    );

    // Legacy paging with a Link header.
    let res = app
        .client
        .get(
            app.url("/api/catalog/entities?filter=kind=component&limit=10&order=asc:metadata.name"),
        )
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    let link = res
        .headers()
        .get("link")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let page: Value = res.json().await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 10);
    assert_eq!(page[0]["metadata"]["name"], "svc-000");
    assert!(link.contains("after="), "{link}");

    // Facets.
    let (status, facets) = app
        .get("/api/catalog/entity-facets?facet=kind&facet=spec.type&facet=metadata.tags")
        .await;
    assert_eq!(status, 200);
    let kinds = facets["facets"]["kind"].as_array().unwrap();
    assert!(
        kinds.contains(&json!({"value": "Component", "count": 25})),
        "{kinds:?}"
    );
    assert!(facets["facets"]["metadata.tags"]
        .as_array()
        .unwrap()
        .contains(&json!({"value": "java", "count": 13})));
    let (_, filtered) = app
        .get("/api/catalog/entity-facets?facet=spec.type&filter=metadata.tags.go")
        .await;
    let types = filtered["facets"]["spec.type"].as_array().unwrap();
    let total: i64 = types.iter().map(|v| v["count"].as_i64().unwrap()).sum();
    assert_eq!(total, 12);
    let (status, err) = app.get("/api/catalog/entity-facets").await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["name"], "InputError");

    // By refs, in order, null for unknown.
    let (status, refs) = app
        .post("/api/catalog/entities/by-refs", &json!({"entityRefs": ["user:default/jane", "component:default/nope"], "fields": ["metadata.name"]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        refs,
        json!({"items": [{"metadata": {"name": "jane"}}, null]})
    );

    // Ancestry walks up to the root Location.
    let (status, ancestry) = app
        .get("/api/catalog/entities/by-name/component/default/svc-001/ancestry")
        .await;
    assert_eq!(status, 200);
    assert_eq!(ancestry["rootEntityRef"], "component:default/svc-001");
    assert_eq!(ancestry["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        ancestry["items"][0]["parentEntityRefs"],
        json!(["location:default/all"])
    );

    // Errors in Backstage's shape.
    let (status, err) = app
        .get("/api/catalog/entities/by-name/component/default/missing")
        .await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["name"], "NotFoundError");
    assert_eq!(err["request"]["method"], "GET");
    assert_eq!(
        err["request"]["url"],
        "/entities/by-name/component/default/missing"
    );
    assert_eq!(err["response"]["statusCode"], 404);
    let (status, err) = app.get("/api/catalog/entities?filter==component").await;
    assert_eq!(status, 400, "{err}");
    let (status, err) = app.get("/api/catalog/no-such-route").await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["name"], "NotFoundError");

    app.stop().await;
    host.stop().await;
}
on_both_backends!(reads_filters_fields_and_errors);

async fn by_query_cursors_walk_both_ways(db: TestDb) {
    let (app, host) = start(db).await;
    let (status, first) = app
        .get("/api/catalog/entities/by-query?filter=kind=component&orderField=metadata.name,asc&limit=10&fields=metadata.name")
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["totalItems"], 25);
    assert!(first["pageInfo"].get("prevCursor").is_none());
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&first)[0], "svc-000");
    let next = first["pageInfo"]["nextCursor"].as_str().unwrap();
    let (_, second) = app
        .get(&format!(
            "/api/catalog/entities/by-query?cursor={next}&limit=10"
        ))
        .await;
    assert_eq!(names(&second)[0], "svc-010");
    assert_eq!(second["totalItems"], 25);
    let next = second["pageInfo"]["nextCursor"].as_str().unwrap();
    let (_, third) = app
        .get(&format!(
            "/api/catalog/entities/by-query?cursor={next}&limit=10"
        ))
        .await;
    assert_eq!(names(&third).len(), 5);
    assert!(third["pageInfo"].get("nextCursor").is_none());
    let prev = third["pageInfo"]["prevCursor"].as_str().unwrap();
    let (_, back) = app
        .get(&format!(
            "/api/catalog/entities/by-query?cursor={prev}&limit=10"
        ))
        .await;
    assert_eq!(names(&back), names(&second));

    // Descending, with full text.
    let (_, found) = app
        .get("/api/catalog/entities/by-query?filter=kind=component&orderField=metadata.name,desc&fullTextFilterTerm=SVC-00&fullTextFilterFields=metadata.name")
        .await;
    assert_eq!(found["totalItems"], 10);
    assert_eq!(names(&found)[0], "svc-009");

    let (status, err) = app
        .get("/api/catalog/entities/by-query?cursor=garbage")
        .await;
    assert_eq!(status, 400, "{err}");
    app.stop().await;
    host.stop().await;
}
on_both_backends!(by_query_cursors_walk_both_ways);
