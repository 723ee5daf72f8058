//! Application state, built once at start and shared with every handler.

use crate::config::Config;
use portico_auth::{AuthService, AuthSettings, Clock};
use portico_catalog::github::GithubCatalog;
use portico_catalog::processing::{Processor, RulesEnforcer};
use portico_catalog::read::LocationReader;
use portico_catalog::{Catalog, ConfiguredLocation, Engine};
use portico_store::{run_migrations, Db};
use std::sync::Arc;

pub struct AppState {
    pub config: Arc<Config>,
    pub catalog: Catalog,
    pub auth: AuthService,
    /// Discovery, org import, webhooks and quota for GitHub.
    pub github: GithubCatalog,
}

impl AppState {
    /// Connects, migrates, and builds the catalog. Does not start the processing loop.
    pub async fn build(config: Config) -> anyhow::Result<AppState> {
        let db = Db::connect(&config.database)?;
        let migrate_db = db.clone();
        let applied = tokio::task::spawn_blocking(move || run_migrations(&migrate_db)).await??;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "database migrated");
        }
        // One GitHub client for reads and discovery, so both share its ETag cache.
        let github_reader = config.github.build_reader()?;
        let reader =
            LocationReader::with_github(config.reading_allow.clone(), Some(github_reader.clone()));
        let processor = Processor::new(reader, RulesEnforcer::new(config.catalog_rules.clone()));
        let auth_base_url = config.auth_base_url();
        let auth = AuthService::from_config(
            db.clone(),
            AuthSettings {
                auth_base_url: &auth_base_url,
                auth: &config.auth,
                backend_auth: &config.backend_auth,
                permission: &config.permission,
            },
            reqwest::Client::new(),
            Clock::system(),
        )?;
        if config.backend_auth.dangerously_disable_default_auth_policy {
            tracing::warn!(
                "backend.auth.dangerouslyDisableDefaultAuthPolicy is true: every caller, signed in \
                 or not, may use every endpoint"
            );
        }
        let engine = Engine::new(db.clone(), processor, config.engine.clone());
        let locations: Vec<ConfiguredLocation> = config.catalog_locations.clone();
        let github = GithubCatalog::new(
            github_reader,
            engine.clone(),
            db.clone(),
            config.github.clone(),
        );
        let catalog = Catalog::new(db, engine, locations, config.registration_types.clone());
        Ok(AppState {
            config: Arc::new(config),
            catalog,
            auth,
            github,
        })
    }
}
