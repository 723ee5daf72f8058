//! Identities and permissions end to end: guest sign-in, tokens for CI, forged tokens,
//! replicas sharing keys, ownership-based deletes, GitHub sign-in against a local double.

use crate::helpers::{guest_token, test_config, FileHost, TestApp};
use crate::on_both_backends;
use actix_web::{web, App, HttpResponse, HttpServer};
use base64::Engine as _;
use portico_test_support::TestDb;
use serde_json::{json, Value};

const CI_TOKEN: &str = "ci-token-0123456789abcdefghijklmnop";

fn component(name: &str, owner: &str) -> String {
    format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n")
}

const ORG: &str = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: { name: team-a }\nspec: { type: team, children: [] }\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: { name: team-b }\nspec: { type: team, children: [] }\n---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: { name: alice }\nspec: { memberOf: [team-a] }\n---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: { name: bob }\nspec: { memberOf: [team-b] }\n";

async fn status_with(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn tokens_are_required_checked_and_verified(db: TestDb) {
    let mut config = test_config(&db, vec![], vec![]);
    config.backend_auth = serde_json::from_value(json!({
        "externalAccess": [{"type": "static", "options": {"token": CI_TOKEN, "subject": "ci-catalog"}}]
    }))
    .unwrap();
    let app = TestApp::spawn(db, config).await;

    // No token, or a bad one: 401 in Backstage's error shape.
    let (status, body) = status_with(&app, "/api/catalog/entities", None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["name"], "AuthenticationError");
    assert_eq!(body["request"]["url"], "/entities");

    // Without GitHub configured, the sign-in page offers the guest only.
    let (status, providers) = status_with(&app, "/api/auth/portico/providers", None).await;
    assert_eq!(status, 200, "{providers}");
    assert_eq!(
        providers["providers"],
        json!([{"id": "guest", "title": "Guest"}])
    );

    // The guest token works, and says who it is.
    let (status, _) = status_with(&app, "/api/catalog/entities", Some(&app.token)).await;
    assert_eq!(status, 200);
    let (status, info) = status_with(&app, "/api/auth/v1/userinfo", Some(&app.token)).await;
    assert_eq!(status, 200);
    assert!(
        info["claims"]["sub"].as_str().unwrap().starts_with("user:"),
        "{info}"
    );

    // The token is an ES256 JWT whose key is published.
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(app.token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256");
    let (_, jwks) = status_with(&app, "/api/auth/.well-known/jwks.json", None).await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == header["kid"]),
        "{jwks}"
    );
    let (_, openid) = status_with(&app, "/api/auth/.well-known/openid-configuration", None).await;
    assert!(openid["jwks_uri"]
        .as_str()
        .unwrap()
        .ends_with("/.well-known/jwks.json"));

    // Forged, tampered, wrong-algorithm and expired tokens are refused.
    let parts: Vec<&str> = app.token.split('.').collect();
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let mut claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    claims["sub"] = json!("user:default/admin");
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    let none_alg = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        parts[1]
    );
    let hs256 = {
        let key = jsonwebtoken::EncodingKey::from_secret(b"guessed");
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.kid = header["kid"].as_str().map(str::to_string);
        jsonwebtoken::encode(&h, &claims, &key).unwrap()
    };
    let mut expired_claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    expired_claims["exp"] = json!(1_000_000_000);
    let expired = format!("{}.{}.{}", parts[0], b64(&expired_claims), parts[2]);
    for bad in [
        tampered.as_str(),
        none_alg.as_str(),
        hs256.as_str(),
        expired.as_str(),
        "garbage",
        "a.b.c",
    ] {
        let (status, body) = status_with(&app, "/api/catalog/entities", Some(bad)).await;
        assert_eq!(status, 401, "{bad}: {body}");
        assert_eq!(body["error"]["name"], "AuthenticationError");
    }

    // A CI static token registers a location, and the write is in the audit log.
    let host = FileHost::start().await;
    let res = app
        .client
        .post(app.url("/api/catalog/locations"))
        .bearer_auth(CI_TOKEN)
        .json(&json!({"type": "url", "target": "https://example.com/catalog-info.yaml"}))
        .send()
        .await
        .unwrap();
    // example.com is not on the read allow-list: refused as input, but authenticated.
    assert_eq!(res.status().as_u16(), 400);
    let (status, audit) = app.get("/api/auth/portico/audit-events").await;
    assert_eq!(status, 200, "{audit}");
    let events = audit["items"].as_array().unwrap();
    assert!(events.iter().any(|e| e["actor"] == "service:ci-catalog" && e["action"] == "catalog.location.create"), "{audit}");
    host.stop().await;
    app.stop().await;
}
on_both_backends!(tokens_are_required_checked_and_verified);

async fn only_owners_may_delete_when_the_policy_says_so(db: TestDb) {
    let host = FileHost::start().await;
    host.put("/org.yaml", ORG);
    host.put("/a.yaml", &component("owned-by-a", "team-a"));
    let mut config = test_config(&db, vec![], host.allow());
    config.permission = serde_json::from_value(json!({
        "rules": [
            {"callers": ["authenticated"], "permissions": ["catalog.entity.delete"], "result": "conditional",
             "conditions": {"rule": "IS_ENTITY_OWNER"}}
        ]
    }))
    .unwrap();
    config.backend_auth = serde_json::from_value(json!({
        "externalAccess": [{"type": "static", "options": {"token": CI_TOKEN, "subject": "ci"}}]
    }))
    .unwrap();
    let app = TestApp::spawn(db, config).await;
    for path in ["/org.yaml", "/a.yaml"] {
        app.register_url_location(&host.url(path)).await;
    }
    app.process().await;
    let (_, entity) = app
        .get("/api/catalog/entities/by-name/component/default/owned-by-a")
        .await;
    let uid = entity["metadata"]["uid"].as_str().unwrap().to_string();

    let issue = |user: &str, groups: &[&str]| {
        let tokens = app.state.auth.tokens.clone();
        let ttl = app.state.auth.token_ttl;
        let sub = format!("user:default/{user}");
        let mut ent = vec![sub.clone()];
        ent.extend(groups.iter().map(|g| format!("group:default/{g}")));
        async move {
            tokens
                .issue_user_token(&sub, &ent, ttl)
                .await
                .unwrap()
                .token
        }
    };
    let bob = issue("bob", &["team-b"]).await;
    let res = app
        .client
        .delete(app.url(&format!("/api/catalog/entities/by-uid/{uid}")))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["name"], "NotAllowedError");
    assert_eq!(
        app.get(&format!("/api/catalog/entities/by-uid/{uid}"))
            .await
            .0,
        200,
        "a refused delete changes nothing"
    );

    let alice = issue("alice", &["team-a"]).await;
    let res = app
        .client
        .delete(app.url(&format!("/api/catalog/entities/by-uid/{uid}")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(
        app.get(&format!("/api/catalog/entities/by-uid/{uid}"))
            .await
            .0,
        404
    );

    let (_, audit) = app.get("/api/auth/portico/audit-events").await;
    let deletes: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "catalog.entity.delete")
        .map(|e| (e["actor"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(deletes.len(), 2, "{audit}");
    assert_eq!(deletes[0].0, "user:default/bob");
    assert_eq!(deletes[1].0, "user:default/alice");
    assert_ne!(deletes[0].1, deletes[1].1);
    app.stop().await;
    host.stop().await;
}
on_both_backends!(only_owners_may_delete_when_the_policy_says_so);

#[actix_web::test]
async fn a_token_from_one_replica_is_accepted_by_another() {
    let Some(db) = TestDb::postgres() else { return };
    let target = db.target.clone();
    let config = test_config(&db, vec![], vec![]);
    let a = TestApp::spawn(db, config.clone()).await;
    let second = TestDb::postgres().unwrap();
    let mut config_b = config;
    config_b.database = target;
    let b = TestApp::spawn(second, config_b).await;
    // Each replica signs with its own key; both publish to the shared database.
    let token_a = guest_token(&a.client, &a.base).await;
    let (status, _) = status_with(&b, "/api/catalog/entities", Some(&token_a)).await;
    assert_eq!(status, 200);
    let (status, _) = status_with(&a, "/api/catalog/entities", Some(&b.token)).await;
    assert_eq!(status, 200);
    a.stop().await;
    b.stop().await;
}

#[actix_web::test]
async fn outside_development_the_guest_is_not_offered() {
    let db = TestDb::sqlite();
    let mut config = test_config(&db, vec![], vec![]);
    config.auth = serde_json::from_value(json!({"environment": "production"})).unwrap();
    config.backend_auth = serde_json::from_value(json!({
        "externalAccess": [{"type": "static", "options": {"token": CI_TOKEN, "subject": "ci"}}]
    }))
    .unwrap();
    // TestApp signs a guest in; here that is refused, so the server is started by hand.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let state = portico::app::AppState::build(config).await.unwrap();
    let running = portico::server::start(state, listener, false)
        .await
        .unwrap();
    let handle = running.server.handle();
    actix_web::rt::spawn(running.server);
    let base = format!("http://127.0.0.1:{}", running.port);
    let client = reqwest::Client::new();
    let providers: Value = client
        .get(format!("{base}/api/auth/portico/providers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        providers,
        json!({"environment": "production", "providers": []})
    );
    let res = client
        .get(format!("{base}/api/auth/guest/refresh"))
        .header("X-Requested-With", "XMLHttpRequest")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    running.cancel.cancel();
    handle.stop(false).await;
}

/// GitHub's OAuth endpoints and `/user`, on loopback.
async fn start_github_oauth_double() -> (String, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(|| {
        App::new()
            .route(
                "/login/oauth/access_token",
                web::post().to(|body: String| async move {
                    if body.contains("code=good-code") {
                        HttpResponse::Ok().json(json!({"access_token": "gho_test", "token_type": "bearer", "scope": "read:user"}))
                    } else {
                        HttpResponse::Ok().json(json!({"error": "bad_verification_code"}))
                    }
                }),
            )
            .route(
                "/api/v3/user",
                web::get().to(|req: actix_web::HttpRequest| async move {
                    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
                    if auth.ends_with("gho_test") {
                        HttpResponse::Ok().json(json!({"login": "alice", "id": 42, "node_id": "U_42", "name": "Alice", "email": "alice@example.com", "avatar_url": null}))
                    } else {
                        HttpResponse::Unauthorized().json(json!({"message": "Bad credentials"}))
                    }
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (format!("http://127.0.0.1:{port}"), handle)
}

#[actix_web::test]
async fn github_sign_in_resolves_a_catalog_user() {
    let db = TestDb::sqlite();
    let (github, github_handle) = start_github_oauth_double().await;
    let host = FileHost::start().await;
    host.put("/org.yaml", ORG);
    let location = portico_catalog::ConfiguredLocation {
        location_type: "url".into(),
        target: host.url("/org.yaml"),
    };
    let mut config = test_config(&db, vec![location], host.allow());
    config.auth = serde_json::from_value(json!({
        "providers": {"github": {"development": {
            "clientId": "client", "clientSecret": "secret", "enterpriseInstanceUrl": github,
            "signIn": {"resolvers": [{"resolver": "usernameMatchingUserEntityName"}]}
        }}}
    }))
    .unwrap();
    let app = TestApp::spawn(db, config).await;
    app.process().await;
    // The sign-in page's list: the guest (the default config allows it) and GitHub.
    let (status, providers) = status_with(&app, "/api/auth/portico/providers", None).await;
    assert_eq!(status, 200, "{providers}");
    assert_eq!(
        providers,
        json!({"environment": "development", "providers": [
            {"id": "guest", "title": "Guest"}, {"id": "github", "title": "GitHub"}
        ]})
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let start = client
        .get(app.url("/api/auth/github/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status().as_u16(), 302);
    let location = start
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        location.starts_with(&format!("{github}/login/oauth/authorize")),
        "{location}"
    );
    let nonce_cookie = start
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let state = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();

    // A wrong state is refused.
    let frame = client
        .get(app.url("/api/auth/github/handler/frame?code=good-code&state=wrong"))
        .header("cookie", &nonce_cookie)
        .send()
        .await
        .unwrap();
    let html = frame.text().await.unwrap();
    assert!(html.contains("invalid state"), "{html}");

    let frame = client
        .get(app.url(&format!(
            "/api/auth/github/handler/frame?code=good-code&state={state}"
        )))
        .header("cookie", &nonce_cookie)
        .send()
        .await
        .unwrap();
    let refresh_cookie = frame
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("github-refresh-token="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("a refresh cookie");
    let html = frame.text().await.unwrap();
    assert!(html.contains("user:default/alice"), "{html}");

    let refreshed: Value = client
        .get(app.url("/api/auth/github/refresh"))
        .header("cookie", &refresh_cookie)
        .header("X-Requested-With", "XMLHttpRequest")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let identity = &refreshed["backstageIdentity"]["identity"];
    assert_eq!(
        identity["userEntityRef"], "user:default/alice",
        "{refreshed}"
    );
    assert!(identity["ownershipEntityRefs"]
        .as_array()
        .unwrap()
        .contains(&json!("group:default/team-a")));
    let token = refreshed["backstageIdentity"]["token"].as_str().unwrap();
    let (status, _) = status_with(&app, "/api/catalog/entities", Some(token)).await;
    assert_eq!(status, 200);

    // Without X-Requested-With the refresh is refused.
    let res = client
        .get(app.url("/api/auth/github/refresh"))
        .header("cookie", &refresh_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    app.stop().await;
    host.stop().await;
    github_handle.stop(false).await;
}
