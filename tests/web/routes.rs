//! The frontend's routes over plain HTTP: pages answer with index.html, assets with their
//! content types, and the API and health routes answer exactly as before.

use crate::fixture::Fixture;
use reqwest::header::{ACCEPT, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn web_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read web/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            web_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[actix_web::test]
async fn pages_assets_and_api_routes_coexist() {
    let (fixture, _) = Fixture::start(portico_test_support::TestDb::sqlite(), 0).await;
    let app = &fixture.app;
    let client = &app.client;

    // Client-side routes answer with the app shell.
    for path in [
        "/",
        "/catalog",
        "/catalog?kind=component&q=x",
        "/catalog/default/component/some.name",
        "/register",
    ] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(
            res.headers()[CONTENT_TYPE],
            "text/html; charset=utf-8",
            "{path}"
        );
        assert!(res.headers().contains_key("content-security-policy"));
        let body = res.text().await.unwrap();
        assert!(
            body.contains(r#"<script type="module" src="/static/app.js">"#),
            "{path}: {body}"
        );
    }
    // An unknown page, asked for by a browser: the shell (which shows "not found") with 404.
    let res = client
        .get(app.url("/no-such-page"))
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()[CONTENT_TYPE], "text/html; charset=utf-8");

    // Every file under web/ is embedded and served with a specific content type.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let mut files = Vec::new();
    web_files(&root, &mut files);
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let path = if rel == "index.html" {
            "/".to_string()
        } else {
            format!("/{rel}")
        };
        assert!(
            rel == "index.html" || rel.starts_with("static/"),
            "{rel}: web/ files other than index.html belong under web/static/"
        );
        let res = client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(
            res.status(),
            200,
            "{path}: not served; is it listed in src/http/web.rs ASSETS?"
        );
        let content_type = res.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
        let expected = match rel.rsplit_once('.').map(|(_, e)| e) {
            Some("html") => "text/html; charset=utf-8",
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("{rel}: no expected content type for {other:?}"),
        };
        assert_eq!(content_type, expected, "{path}");
        assert_eq!(
            res.bytes().await.unwrap().as_ref(),
            std::fs::read(&file).unwrap().as_slice(),
            "{path}: served bytes differ from the file"
        );
    }

    // Assets revalidate with their ETag.
    let res = client.get(app.url("/static/app.js")).send().await.unwrap();
    let etag = res.headers()[ETAG].clone();
    let res = client
        .get(app.url("/static/app.js"))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);

    // Unknown assets and unknown API paths: Backstage's JSON NotFoundError, even for browsers.
    for (path, accept) in [
        ("/static/nope.js", "*/*"),
        ("/api/catalog/no-such-route", "text/html"),
        ("/api/no-such-plugin/x", "text/html"),
        ("/api", "text/html"),
        ("/.backstage/nope", "text/html"),
        ("/.backstage", "text/html"),
        ("/favicon.ico", "image/avif,image/webp,*/*"),
    ] {
        let res = client
            .get(app.url(path))
            .header(ACCEPT, accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(body["error"]["name"], "NotFoundError", "{path}: {body}");
        assert_eq!(body["response"]["statusCode"], 404, "{path}: {body}");
    }

    // The API and health routes are unchanged.
    let (status, body) = app.get("/api/catalog/entities").await;
    assert_eq!(status, 200);
    assert!(body.is_array(), "{body}");
    let (status, body) = app.get("/api/catalog/entities/by-query?limit=1").await;
    assert_eq!(status, 200);
    assert!(body["items"].is_array(), "{body}");
    for path in [
        "/healthcheck",
        "/.backstage/health/v1/liveness",
        "/.backstage/health/v1/readiness",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body["status"], "ok", "{path}: {body}");
    }
    let (status, body) = app
        .post(
            "/api/catalog/entities/by-refs",
            &serde_json::json!({ "entityRefs": [] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    fixture.stop().await;
}
