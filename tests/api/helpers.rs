//! TestApp: the real server on a random port over a test database, with a reqwest client;
//! FileHost: a tiny HTTP server on another random port serving catalog files that tests edit.

use actix_web::{web, App, HttpResponse, HttpServer};
use portico::app::AppState;
use portico::config::Config;
use portico_catalog::read::AllowedHost;
use portico_catalog::{ConfiguredLocation, EngineSettings, OrphanStrategy};
use portico_test_support::TestDb;
use serde_json::Value;
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, RwLock};

/// A config for tests: all kinds allowed, given locations, reads allowed from `allow`.
pub fn test_config(
    db: &TestDb,
    locations: Vec<ConfiguredLocation>,
    allow: Vec<AllowedHost>,
) -> Config {
    Config {
        reading_allow: allow,
        catalog_locations: locations,
        engine: EngineSettings {
            processing_interval: (3600, 3600),
            orphan_strategy: OrphanStrategy::Keep,
            batch_size: 50,
            concurrency: 8,
        },
        ..Config::loopback(db.target.clone())
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// A guest user's identity token, sent by `get`/`post`/`delete`.
    pub token: String,
    pub state: web::Data<AppState>,
    cancel: tokio_util::sync::CancellationToken,
    server: actix_web::dev::ServerHandle,
    // Held so the database outlives the server; dropped (and deleted) last.
    _db: TestDb,
}

impl TestApp {
    /// Starts the server without its background loop: tests drive processing with
    /// [`TestApp::process`] so they never wait on timers.
    pub async fn spawn(db: TestDb, config: Config) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        TestApp::spawn_on(listener, db, config).await
    }

    /// As [`TestApp::spawn`], on a listener bound beforehand, so the config can name the
    /// server's own URL (`backend.baseUrl`, which OAuth callbacks use).
    pub async fn spawn_on(listener: TcpListener, db: TestDb, config: Config) -> TestApp {
        let state = AppState::build(config).await.expect("build state");
        let running = portico::server::start(state, listener, false)
            .await
            .expect("start server");
        let handle = running.server.handle();
        let state = running.state.clone();
        actix_web::rt::spawn(running.server);
        let base = format!("http://127.0.0.1:{}", running.port);
        let client = reqwest::Client::new();
        let token = guest_token(&client, &base).await;
        TestApp {
            base,
            client,
            token,
            state,
            cancel: running.cancel,
            server: handle,
            _db: db,
        }
    }

    /// Processes and stitches until nothing is due.
    pub async fn process(&self) {
        self.state
            .catalog
            .engine()
            .run_until_idle()
            .await
            .expect("processing");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> u16 {
        self.send(self.client.delete(self.url(path))).await.0
    }

    /// Registers a `url` location over the API, which must answer 201; returns the body.
    pub async fn register_url_location(&self, target: &str) -> Value {
        let (status, body) = self
            .post(
                "/api/catalog/locations",
                &serde_json::json!({"type": "url", "target": target}),
            )
            .await;
        assert_eq!(status, 201, "registering {target}: {body}");
        body
    }

    /// Sends with the guest token; answers the status and the JSON body (or its text).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let res = request.bearer_auth(&self.token).send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `metadata.name`s of every entity of a kind, sorted.
    pub async fn names_of_kind(&self, kind: &str) -> Vec<String> {
        let (status, body) = self
            .get(&format!("/api/catalog/entities?filter=kind={kind}"))
            .await;
        assert_eq!(status, 200, "{body}");
        let mut names: Vec<String> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        self.server.stop(false).await;
    }
}

/// Signs in with the guest provider, as the web frontend does in the embedded set-up.
pub async fn guest_token(client: &reqwest::Client, base: &str) -> String {
    let res = client
        .get(format!("{base}/api/auth/guest/refresh"))
        .header("X-Requested-With", "XMLHttpRequest")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "guest sign-in failed");
    let body: Value = res.json().await.unwrap();
    body["backstageIdentity"]["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Serves files from memory over real HTTP; tests change, add and remove them.
#[derive(Clone)]
pub struct FileHost {
    pub base: String,
    pub host: String,
    files: Arc<RwLock<HashMap<String, String>>>,
    handle: actix_web::dev::ServerHandle,
}

impl FileHost {
    pub async fn start() -> FileHost {
        let files: Arc<RwLock<HashMap<String, String>>> = Arc::default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = files.clone();
        let server = HttpServer::new(move || {
            let files = shared.clone();
            App::new().default_service(web::to(move |req: actix_web::HttpRequest| {
                let files = files.clone();
                async move {
                    match files.read().unwrap().get(req.path()) {
                        Some(content) => HttpResponse::Ok()
                            .content_type("text/yaml")
                            .body(content.clone()),
                        None => HttpResponse::NotFound().body("not found"),
                    }
                }
            }))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        FileHost {
            base: format!("http://127.0.0.1:{port}"),
            host: format!("127.0.0.1:{port}"),
            files,
            handle,
        }
    }

    pub fn allow(&self) -> Vec<AllowedHost> {
        vec![AllowedHost {
            host: self.host.clone(),
            paths: None,
        }]
    }

    pub fn put(&self, path: &str, content: &str) {
        self.files
            .write()
            .unwrap()
            .insert(path.to_string(), content.to_string());
    }

    pub fn remove(&self, path: &str) {
        self.files.write().unwrap().remove(path);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Declares one async test body and runs it as `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name(portico_test_support::TestDb::sqlite()).await
            }
            #[actix_web::test]
            async fn postgres() {
                if let Some(db) = portico_test_support::TestDb::postgres() {
                    super::$name(db).await
                }
            }
        }
    };
}

/// The shared reference folder beside the repository.
pub fn shared_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}
