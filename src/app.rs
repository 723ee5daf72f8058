//! Application state, built once at start and shared with every handler.

use crate::config::Config;
use portico_catalog::processing::{Processor, RulesEnforcer};
use portico_catalog::read::LocationReader;
use portico_catalog::{Catalog, ConfiguredLocation, Engine, EngineSettings};
use portico_store::{run_migrations, Db};
use std::sync::Arc;

pub struct AppState {
    pub config: Arc<Config>,
    pub catalog: Catalog,
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
        let reader = LocationReader::new(config.reading_allow.clone());
        let processor = Processor::new(reader, RulesEnforcer::new(config.catalog_rules.clone()));
        let engine = Engine::new(db.clone(), processor, config.engine.clone());
        let locations: Vec<ConfiguredLocation> = config.catalog_locations.clone();
        let catalog = Catalog::new(db, engine, locations, config.registration_types.clone());
        Ok(AppState {
            config: Arc::new(config),
            catalog,
        })
    }

    pub fn engine_settings(&self) -> &EngineSettings {
        self.catalog.engine().settings()
    }
}
