//! Portico's configuration: Backstage's `app-config.yaml` keys where the two overlap
//! (`backend.*`, `catalog.*`), Portico-only keys under `portico:`. Loaded once at start.

use portico_catalog::processing::CatalogRule;
use portico_catalog::read::AllowedHost;
use portico_catalog::{ConfiguredLocation, EngineSettings, OrphanStrategy};
use portico_config::{load_config, ConfigEnv, DatabaseTarget, LoadedConfig};
use portico_store::DbTarget;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where the embedded default keeps its database.
pub const DEFAULT_SQLITE_PATH: &str = "data/portico.db";

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DbTarget,
    pub listen_host: String,
    pub listen_port: u16,
    pub base_url: Option<String>,
    pub reading_allow: Vec<AllowedHost>,
    pub catalog_locations: Vec<ConfiguredLocation>,
    pub catalog_rules: Vec<CatalogRule>,
    pub registration_types: Vec<String>,
    pub engine: EngineSettings,
    /// `auth`: identity token lifetime, sign-in providers.
    pub auth: portico_auth::config::AuthConfig,
    /// `backend.auth`: external access for CI and services.
    pub backend_auth: portico_auth::config::BackendAuthConfig,
    /// `portico.permission`: who may do what.
    pub permission: portico_auth::permission::PermissionConfig,
    /// `integrations.github`, `catalog.providers.github`/`githubOrg`, `portico.github`.
    pub github: portico_catalog::github::GithubSettings,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "Backstage keys declared so they do not warn as unknown"
)]
struct CatalogSection {
    #[serde(default)]
    locations: Vec<LocationEntry>,
    #[serde(default)]
    rules: Option<Vec<CatalogRule>>,
    #[serde(default)]
    orphan_strategy: Option<OrphanStrategy>,
    #[serde(default)]
    processing_interval: Option<Value>,
    // Backstage keys read by other issues' work or not acted on; declared so they do not warn.
    #[serde(default)]
    import: Option<Value>,
    #[serde(default)]
    providers: Option<Value>,
    #[serde(default)]
    readonly: Option<Value>,
    #[serde(default)]
    stitching_strategy: Option<Value>,
    #[serde(default)]
    orphan_provider_strategy: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct LocationEntry {
    #[serde(rename = "type")]
    location_type: String,
    target: String,
    #[serde(default)]
    rules: Option<Vec<LocationRule>>,
}

#[derive(Debug, Deserialize)]
struct LocationRule {
    allow: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PorticoSection {
    #[serde(default)]
    catalog: PorticoCatalog,
    #[serde(default)]
    permission: portico_auth::permission::PermissionConfig,
    #[serde(default)]
    github: PorticoGithub,
}

/// `integrations`: only GitHub is read; other hosts warn as unknown keys.
#[derive(Debug, Default, Deserialize)]
struct IntegrationsSection {
    #[serde(default)]
    github: Vec<portico_github::GithubIntegrationConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PorticoGithub {
    /// Checks `X-Hub-Signature-256` on `POST /api/events/http/github`.
    #[serde(default)]
    webhook_secret: Option<secrecy::SecretString>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PorticoCatalog {
    /// Location types `POST /locations` accepts (Backstage allows only `url`).
    #[serde(default)]
    registration_types: Option<Vec<String>>,
    #[serde(default)]
    batch_size: Option<i64>,
    #[serde(default)]
    concurrency: Option<usize>,
}

impl Config {
    /// A server on a random loopback port with no locations, every kind allowed from every
    /// location, and entities reprocessed hourly: where the benchmark and the end-to-end
    /// tests start from before they set what they measure or test.
    pub fn loopback(database: DbTarget) -> Config {
        let every_kind = [
            "Component",
            "System",
            "API",
            "Resource",
            "Location",
            "Domain",
            "Group",
            "User",
            "Template",
        ];
        Config {
            database,
            listen_host: "127.0.0.1".into(),
            listen_port: 0,
            base_url: None,
            reading_allow: Vec::new(),
            catalog_locations: Vec::new(),
            catalog_rules: vec![CatalogRule {
                allow: every_kind.iter().map(|k| k.to_string()).collect(),
                locations: None,
            }],
            registration_types: vec!["url".into()],
            engine: EngineSettings {
                processing_interval: (3600, 3600),
                ..EngineSettings::default()
            },
            auth: Default::default(),
            backend_auth: Default::default(),
            permission: Default::default(),
            github: Default::default(),
        }
    }

    /// Loads and merges the files (later wins), applies `${VAR}` and `APP_CONFIG_*` from the
    /// process environment, and checks every known key's type.
    pub fn load(files: &[PathBuf]) -> anyhow::Result<Config> {
        let loaded = load_config(files, &ConfigEnv::from_process())?;
        Self::from_loaded(&loaded)
    }

    pub fn from_loaded(loaded: &LoadedConfig) -> anyhow::Result<Config> {
        let backend = loaded.section_logged::<portico_config::BackendConfig>("backend")?;
        let catalog = loaded.section_logged::<CatalogSection>("catalog")?;
        let portico = loaded.section_logged::<PorticoSection>("portico")?;
        let integrations = loaded.section_logged::<IntegrationsSection>("integrations")?;
        let auth = loaded.section_logged::<portico_auth::config::AuthConfig>("auth")?;
        let backend_auth =
            loaded.section_logged::<portico_auth::config::BackendAuthConfig>("backend.auth")?;
        let database = match backend.database.resolve(DEFAULT_SQLITE_PATH)? {
            DatabaseTarget::Sqlite { path } => DbTarget::Sqlite(path),
            DatabaseTarget::Postgres { url } => DbTarget::Postgres(url),
        };
        let mut rules = catalog
            .rules
            .unwrap_or_else(portico_catalog::processing::RulesEnforcer::default_rules);
        let mut catalog_locations = Vec::new();
        for l in catalog.locations {
            let target = if l.location_type == "file" {
                absolute_path(&l.target)
            } else {
                l.target.clone()
            };
            if let Some(location_rules) = l.rules {
                for r in location_rules {
                    rules.push(CatalogRule {
                        allow: r.allow,
                        locations: Some(vec![portico_catalog::processing::RuleLocation {
                            location_type: l.location_type.clone(),
                            target: Some(target.clone()),
                            pattern: None,
                        }]),
                    });
                }
            }
            catalog_locations.push(ConfiguredLocation {
                location_type: l.location_type,
                target,
            });
        }
        let mut engine = EngineSettings::default();
        if let Some(interval) = catalog.processing_interval {
            engine.processing_interval = parse_interval(&interval)?;
        }
        if let Some(strategy) = catalog.orphan_strategy {
            engine.orphan_strategy = strategy;
        }
        if let Some(b) = portico.catalog.batch_size {
            engine.batch_size = b.max(1);
        }
        if let Some(c) = portico.catalog.concurrency {
            engine.concurrency = c.max(1);
        }
        let github = portico_catalog::github::GithubSettings::from_config(
            integrations.github,
            catalog.providers.as_ref(),
            portico.github.webhook_secret,
        )?;
        Ok(Config {
            database,
            listen_host: backend.listen.host_or_default().to_string(),
            listen_port: backend.listen.port_or_default(),
            base_url: backend.base_url.clone(),
            reading_allow: backend
                .reading
                .allow
                .iter()
                .map(|a| AllowedHost {
                    host: a.host.clone(),
                    paths: a.paths.clone(),
                })
                .collect(),
            catalog_locations,
            catalog_rules: rules,
            registration_types: portico
                .catalog
                .registration_types
                .unwrap_or_else(|| vec!["url".to_string()]),
            engine,
            auth,
            backend_auth,
            permission: portico.permission,
            github,
        })
    }

    /// `<backend.baseUrl>/api/auth`: the issuer of identity tokens.
    pub fn auth_base_url(&self) -> String {
        let base = self
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://localhost:{}", self.listen_port));
        format!("{}/api/auth", base.trim_end_matches('/'))
    }
}

/// Backstage's duration forms: `{ minutes: 30 }`, `{ seconds: 100 }`, a number of seconds,
/// or an ISO-8601 string such as `PT30M`.
fn parse_interval(value: &Value) -> anyhow::Result<(u64, u64)> {
    let seconds = match value {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::Object(map) => {
            let mut total = 0.0;
            for (unit, amount) in map {
                let amount = amount.as_f64().ok_or_else(|| {
                    anyhow::anyhow!("catalog.processingInterval.{unit}: expected a number")
                })?;
                total += amount
                    * match unit.as_str() {
                        "milliseconds" => 0.001,
                        "seconds" => 1.0,
                        "minutes" => 60.0,
                        "hours" => 3600.0,
                        "days" => 86400.0,
                        other => {
                            anyhow::bail!("catalog.processingInterval: unknown unit '{other}'")
                        }
                    };
            }
            total
        }
        Value::String(s) => parse_iso_duration(s).ok_or_else(|| {
            anyhow::anyhow!("catalog.processingInterval: cannot parse duration '{s}'")
        })?,
        _ => anyhow::bail!(
            "catalog.processingInterval: expected a duration such as {{ minutes: 30 }}"
        ),
    };
    let secs = seconds.max(1.0).round() as u64;
    Ok((secs, secs))
}

fn parse_iso_duration(s: &str) -> Option<f64> {
    let rest = s.strip_prefix("PT")?;
    let mut total = 0.0;
    let mut number = String::new();
    for c in rest.chars() {
        match c {
            '0'..='9' | '.' => number.push(c),
            'H' | 'M' | 'S' => {
                let n: f64 = number.parse().ok()?;
                total += n * match c {
                    'H' => 3600.0,
                    'M' => 60.0,
                    _ => 1.0,
                };
                number.clear();
            }
            _ => return None,
        }
    }
    Some(total)
}

/// Backstage resolves `file` targets against the working directory.
fn absolute_path(target: &str) -> String {
    let path = Path::new(target);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    clean(&joined)
}

fn clean(path: &Path) -> String {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(
            parse_interval(&serde_json::json!({"minutes": 30})).unwrap(),
            (1800, 1800)
        );
        assert_eq!(
            parse_interval(&serde_json::json!({"seconds": 5})).unwrap(),
            (5, 5)
        );
        assert_eq!(
            parse_interval(&serde_json::json!("PT1M30S")).unwrap(),
            (90, 90)
        );
        assert!(parse_interval(&serde_json::json!({"weeks": 1})).is_err());
    }

    #[test]
    fn backstage_keys_map_to_portico_settings() {
        let loaded = LoadedConfig::from_value(serde_json::json!({
            "backend": {"database": {"client": "better-sqlite3", "connection": ":memory:"},
                        "listen": {"port": 7008}, "reading": {"allow": [{"host": "example.com"}]}},
            "catalog": {"locations": [{"type": "url", "target": "https://example.com/a.yaml", "rules": [{"allow": ["User"]}]}],
                        "orphanStrategy": "delete", "processingInterval": {"seconds": 10}}
        }));
        let c = Config::from_loaded(&loaded).unwrap();
        assert_eq!(c.database, DbTarget::Sqlite(":memory:".into()));
        assert_eq!(c.listen_port, 7008);
        assert_eq!(c.reading_allow.len(), 1);
        assert_eq!(c.catalog_locations.len(), 1);
        assert_eq!(c.catalog_rules.len(), 2);
        assert_eq!(c.engine.orphan_strategy, OrphanStrategy::Delete);
        assert_eq!(c.engine.processing_interval, (10, 10));
        assert_eq!(c.registration_types, vec!["url".to_string()]);
    }

    #[test]
    fn github_keys_compose_the_github_settings() {
        let loaded = LoadedConfig::from_value(serde_json::json!({
            "integrations": {"github": [{"host": "ghe.example.com",
                "apiBaseUrl": "https://ghe.example.com/api/v3", "token": "t"}]},
            "catalog": {"providers": {
                "github": {"organization": "acme", "catalogPath": "/**/catalog-info.yaml",
                           "schedule": {"frequency": {"minutes": 10}}},
                "githubOrg": {"githubUrl": "https://ghe.example.com", "orgs": ["acme"]}}},
            "portico": {"github": {"webhookSecret": "s"}}
        }));
        let c = Config::from_loaded(&loaded).unwrap();
        assert_eq!(c.github.integrations[0].host, "ghe.example.com");
        assert_eq!(c.github.providers[0].id, "default");
        assert_eq!(c.github.org_providers[0].orgs, ["acme"]);
        assert!(c.github.webhook_secret().is_some());
        let bad = LoadedConfig::from_value(serde_json::json!({
            "catalog": {"providers": {"github": {"p": {"catalogPath": "/x.yaml"}}}}
        }));
        let error = Config::from_loaded(&bad).unwrap_err().to_string();
        assert!(error.contains("catalog.providers.github.p"), "{error}");
    }
}
