//! Loads app-config files modelled on Backstage's create-app output and checks that they
//! resolve to what a Backstage backend would use, without spurious unknown-key warnings.

use std::path::PathBuf;

use portico_config::{load_config, ConfigEnv, DatabaseTarget, LoadedConfig};
use serde::Deserialize;
use serde_json::json;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

#[derive(Debug, Default, Deserialize)]
struct CatalogSection {
    #[serde(default)]
    locations: Vec<LocationEntry>,
    #[serde(default)]
    rules: Vec<serde_json::Value>,
    #[serde(default)]
    import: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct LocationEntry {
    #[serde(rename = "type")]
    kind: String,
    target: String,
    #[serde(default)]
    rules: Vec<serde_json::Value>,
}

#[test]
fn create_app_default_config_loads_and_resolves() {
    let env = ConfigEnv::new().with("GITHUB_TOKEN", "ghp_test\n");
    let config: LoadedConfig = load_config(&[fixture("app-config.yaml")], &env).unwrap();

    let (backend, warnings) = config.backend().unwrap();
    assert!(warnings.is_empty(), "unexpected warnings: {warnings:?}");
    assert_eq!(backend.base_url.as_deref(), Some("http://localhost:7007"));
    assert_eq!(backend.listen.port_or_default(), 7007);
    assert_eq!(backend.listen.host_or_default(), "0.0.0.0");
    assert_eq!(
        backend.database.resolve("portico.sqlite").unwrap(),
        DatabaseTarget::Sqlite {
            path: ":memory:".into()
        }
    );
    assert_eq!(backend.reading.allow.len(), 2);
    assert_eq!(
        backend.reading.allow[1].paths.as_deref(),
        Some(&["/catalog".to_owned()][..])
    );
    // BACKEND_SECRET is unset, so the secret is absent (Backstage's rule), the key list stays.
    assert_eq!(config.value_at("backend.auth.keys"), Some(&json!([{}])));

    // Substituted and trimmed.
    assert_eq!(
        config.value_at("integrations.github"),
        Some(&json!([{"host": "github.com", "token": "ghp_test"}]))
    );
    // Sections holding only comments are null in YAML, hence absent.
    assert_eq!(config.value_at("proxy"), None);
    assert_eq!(config.value_at("kubernetes"), None);
    assert_eq!(config.value_at("permission.enabled"), Some(&json!(true)));

    let (catalog, warnings) = config.section::<CatalogSection>("catalog").unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(catalog.locations.len(), 3);
    assert_eq!(catalog.locations[1].kind, "file");
    assert_eq!(
        catalog.locations[1].target,
        "../../examples/template/template.yaml"
    );
    assert_eq!(
        catalog.locations[2].rules,
        vec![json!({"allow": ["User", "Group"]})]
    );
    assert_eq!(catalog.rules.len(), 1);
    assert!(catalog.import.is_some());
}

#[test]
fn production_overlay_switches_to_postgres() {
    let env = ConfigEnv::new()
        .with("POSTGRES_HOST", "db.internal")
        .with("POSTGRES_PORT", "5432")
        .with("POSTGRES_USER", "backstage")
        .with("POSTGRES_PASSWORD", "s3cr#t")
        .with("APP_CONFIG_backend_listen_port", "7100");
    let config = load_config(
        &[
            fixture("app-config.yaml"),
            fixture("app-config.production.yaml"),
        ],
        &env,
    )
    .unwrap();

    let (backend, warnings) = config.backend().unwrap();
    assert!(warnings.is_empty(), "unexpected warnings: {warnings:?}");
    let target = backend.database.resolve("portico.sqlite").unwrap();
    assert_eq!(
        target,
        DatabaseTarget::Postgres {
            url: "postgresql://backstage:s3cr%23t@db.internal:5432/".into()
        }
    );
    assert!(!target.to_string().contains("s3cr"));
    // APP_CONFIG_backend_listen_port is an object layer, so it replaces the string form.
    assert_eq!(backend.listen.port, Some(7100));
    // Arrays are replaced, not concatenated.
    assert_eq!(
        config.value_at("catalog.locations"),
        Some(&json!([{"type": "file", "target": "./examples/entities.yaml"}]))
    );
    // Untouched keys from the base file survive.
    assert_eq!(
        config.value_at("app.title"),
        Some(&json!("Scaffolded Backstage App"))
    );
    assert_eq!(
        config.value_at("app.baseUrl"),
        Some(&json!("http://localhost:7007"))
    );
    assert_eq!(config.sources().len(), 2);
}
