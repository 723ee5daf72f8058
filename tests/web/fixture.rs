//! The server the web tests browse: Backstage's reference examples, a generated organisation
//! of a few thousand entities (`portico::bench::generate_catalog`), and a FileHost whose host
//! is in `backend.reading.allow`, for registering locations through the register page.
//! Optionally GitHub sign-in, against the GitHub double.

use crate::helpers::{shared_dir, test_config, FileHost, TestApp};
use portico_auth::config::GuestProviderConfig;
use portico_catalog::ConfiguredLocation;
use portico_github_double::{GithubDouble, OrgModel, UserModel};
use portico_test_support::TestDb;
use serde_json::json;
use std::path::PathBuf;

/// The GitHub account the double signs in: the generated catalog's `user:default/user-1`
/// (`usernameMatchingUserEntityName`), under a GitHub name of its own.
pub const GITHUB_LOGIN: &str = "user-1";
pub const GITHUB_NAME: &str = "Ada Lovelace";

/// Entities in the generated organisation.
pub const GENERATED: usize = 3000;

pub struct Fixture {
    pub app: TestApp,
    pub files: FileHost,
    /// The GitHub double behind `auth.providers.github`, when configured.
    pub github: Option<GithubDouble>,
    generated: PathBuf,
}

/// Backstage's reference examples as a `file` location, as tests/api/reference.rs loads them;
/// missing only outside CI (loudly).
fn reference_location() -> Option<ConfiguredLocation> {
    let path = shared_dir().join("reference/examples/all.yaml");
    if !path.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {} is missing",
            path.display()
        );
        eprintln!(
            "*** SKIP: {} not found; the web tests run without Backstage's examples ***",
            path.display()
        );
        return None;
    }
    Some(ConfiguredLocation {
        location_type: "file".into(),
        target: path
            .canonicalize()
            .expect("canonical path")
            .display()
            .to_string(),
    })
}

impl Fixture {
    /// Starts the server on `db` and processes everything it was configured with. `generated`
    /// entities of the synthetic organisation (0 for none). Sign-in: the guest only.
    pub async fn start(db: TestDb, generated: usize) -> (Fixture, bool) {
        Fixture::start_with(db, generated, false).await
    }

    /// As [`Fixture::start`], with GitHub sign-in configured too, pointed at the GitHub double.
    pub async fn with_github(db: TestDb, generated: usize) -> (Fixture, bool) {
        Fixture::start_with(db, generated, true).await
    }

    async fn start_with(db: TestDb, generated: usize, github: bool) -> (Fixture, bool) {
        let files = FileHost::start().await;
        let dir = std::env::temp_dir().join(format!("portico-web-{}", uuid::Uuid::new_v4()));
        let mut locations = Vec::new();
        if generated > 0 {
            let (location, _owners) =
                portico::bench::generate_catalog(&dir, generated).expect("generate catalog");
            locations.push(ConfiguredLocation {
                location_type: "file".into(),
                target: location.display().to_string(),
            });
        }
        let reference = reference_location();
        let has_reference = reference.is_some();
        locations.extend(reference);
        let mut config = test_config(&db, locations, files.allow());
        config.engine.batch_size = 500;
        // The OAuth callback goes to backend.baseUrl, so the server's own address must be
        // known before it starts.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        config.base_url = Some(format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("local address").port()
        ));
        let double = if github {
            let model = OrgModel::new("acme").user(UserModel::new(GITHUB_LOGIN).name(GITHUB_NAME));
            let double = GithubDouble::start(model)
                .await
                .expect("start the GitHub double");
            double.with_model(|m| m.authenticated_user = Some(GITHUB_LOGIN.into()));
            config.auth = serde_json::from_value(json!({
                "providers": {"github": {"development": {
                    "clientId": "portico-web-test",
                    "clientSecret": "portico-web-test-secret",
                    "enterpriseInstanceUrl": double.base_url,
                    "signIn": {"resolvers": [{"resolver": "usernameMatchingUserEntityName"}]}
                }}}
            }))
            .expect("auth config");
            Some(double)
        } else {
            None
        };
        // The guest is the reference examples' `user:default/guest` (member of `guests`).
        config.auth.providers.guest = Some(GuestProviderConfig {
            user_entity_ref: Some("user:default/guest".into()),
            ..GuestProviderConfig::default()
        });
        let started = std::time::Instant::now();
        let app = TestApp::spawn_on(listener, db, config).await;
        app.process().await;
        eprintln!(
            "web fixture: {generated} generated entities (and the reference examples: {}) processed in {:.1} s",
            has_reference,
            started.elapsed().as_secs_f64()
        );
        (
            Fixture {
                app,
                files,
                github: double,
                generated: dir,
            },
            has_reference,
        )
    }

    pub async fn stop(self) {
        self.app.stop().await;
        self.files.stop().await;
        let _ = std::fs::remove_dir_all(&self.generated);
    }
}
