//! The server the web tests browse: Backstage's reference examples, a generated organisation
//! of a few thousand entities (`portico::bench::generate_catalog`), and a FileHost whose host
//! is in `backend.reading.allow`, for registering locations through the register page.

use crate::helpers::{shared_dir, test_config, FileHost, TestApp};
use portico_auth::config::GuestProviderConfig;
use portico_catalog::ConfiguredLocation;
use portico_test_support::TestDb;
use std::path::PathBuf;

/// Entities in the generated organisation.
pub const GENERATED: usize = 3000;

pub struct Fixture {
    pub app: TestApp,
    pub files: FileHost,
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
    /// Starts the server and processes everything it was configured with. `generated` entities
    /// of the synthetic organisation (0 for none).
    pub async fn start(generated: usize) -> (Fixture, bool) {
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
        let db = TestDb::sqlite();
        let mut config = test_config(&db, locations, files.allow());
        config.engine.batch_size = 500;
        // The guest is the reference examples' `user:default/guest` (member of `guests`).
        config.auth.providers.guest = Some(GuestProviderConfig {
            user_entity_ref: Some("user:default/guest".into()),
            ..GuestProviderConfig::default()
        });
        let started = std::time::Instant::now();
        let app = TestApp::spawn(db, config).await;
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
