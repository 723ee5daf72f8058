//! Loading config files into one merged tree, and reading typed sections out of it.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::backend::BackendConfig;
use crate::env::{app_config_layer, ConfigEnv};
use crate::error::ConfigError;
use crate::keypath::{error_path, ignored_path, join_key};
use crate::transform::{base_dir, parse_yaml, Transformer};

/// One config file that contributed to a [`LoadedConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The path as given to [`load_config`].
    pub path: PathBuf,
    /// The directory relative `$file` / `$include` paths in it were resolved against.
    pub dir: PathBuf,
}

/// The merged configuration: all files, then the `APP_CONFIG_*` overrides.
///
/// The tree is a `serde_json::Value` (always an object at the root) rather than a YAML value
/// because Backstage's model is JSON (`APP_CONFIG_*` values are JSON, `$include` accepts JSON)
/// and the rest of Portico already speaks `serde_json`. Keys keep file order. Explicit `null`s
/// have been removed: in Backstage a `null` in a later file unsets the key.
#[derive(Clone, PartialEq, Default)]
pub struct LoadedConfig {
    value: Value,
    sources: Vec<SourceFile>,
}

/// Files Backstage reads when no `--config` is given, for `root` (the working directory):
/// `app-config.yaml`, then for each name in `BACKSTAGE_ENV` (comma-separated)
/// `app-config.<env>.yaml`, then `app-config.local.yaml`, then `app-config.<env>.local.yaml`.
///
/// `app-config.yaml` is always listed, so that loading fails when it is missing (as in
/// Backstage); the others are listed only when they exist.
pub fn default_config_files(root: &Path, env: &ConfigEnv) -> Vec<PathBuf> {
    let envs: Vec<&str> = env
        .get("BACKSTAGE_ENV")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let mut files = vec![root.join("app-config.yaml")];
    let existing = |name: String| {
        let path = root.join(name);
        path.is_file().then_some(path)
    };
    files.extend(
        envs.iter()
            .filter_map(|e| existing(format!("app-config.{e}.yaml"))),
    );
    files.extend(existing("app-config.local.yaml".to_owned()));
    files.extend(
        envs.iter()
            .filter_map(|e| existing(format!("app-config.{e}.local.yaml"))),
    );
    files
}

/// Loads `files` in order and applies `APP_CONFIG_*` overrides from `env`.
///
/// Each file is parsed as YAML (an empty file contributes nothing; a non-mapping top level is
/// an error), its strings are substituted and its `$env`/`$file`/`$include` forms resolved
/// relative to its own directory, and it is deep-merged over the previous files: objects merge
/// key by key, while a scalar or array in a later file replaces the earlier value whole, as
/// with Backstage's repeated `--config`. The `APP_CONFIG_*` layer is merged last, so it wins.
pub fn load_config(files: &[PathBuf], env: &ConfigEnv) -> Result<LoadedConfig, ConfigError> {
    let transformer = Transformer { env };
    let mut merged = Value::Object(Map::new());
    let mut sources = Vec::with_capacity(files.len());
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Io {
            path: file.clone(),
            source,
        })?;
        let parsed = parse_yaml(&text).map_err(|message| ConfigError::Yaml {
            path: file.clone(),
            message,
        })?;
        let dir = base_dir(file);
        match parsed {
            Value::Null => {}
            Value::Object(_) => {
                let layer = transformer
                    .transform(parsed, "", &dir, 0)
                    .map_err(|err| in_file(err, file))?;
                if let Some(layer) = layer {
                    merged = merge(merged, layer);
                }
            }
            other => {
                return Err(ConfigError::Yaml {
                    path: file.clone(),
                    message: format!(
                        "expected a mapping at the top level, found {}",
                        describe(&other)
                    ),
                })
            }
        }
        tracing::debug!(path = %file.display(), "loaded config file");
        sources.push(SourceFile {
            path: file.clone(),
            dir,
        });
    }
    if let Some(layer) = app_config_layer(env)? {
        merged = merge(merged, layer);
    }
    strip_nulls(&mut merged);
    Ok(LoadedConfig {
        value: merged,
        sources,
    })
}

/// Adds the file to an include error, which otherwise names only the key.
fn in_file(err: ConfigError, file: &Path) -> ConfigError {
    match err {
        ConfigError::Invalid { key, message } => ConfigError::Invalid {
            key,
            message: format!("{message} (in {})", file.display()),
        },
        other => other,
    }
}

/// Backstage's layering: objects merge recursively, anything else in `higher` replaces
/// `lower`. A `null` in `higher` replaces too, and is stripped afterwards, which unsets the key.
fn merge(lower: Value, higher: Value) -> Value {
    match (lower, higher) {
        (Value::Object(mut low), Value::Object(high)) => {
            for (key, high_value) in high {
                match low.get_mut(&key) {
                    // Merging in place keeps the key where the earlier file put it.
                    Some(slot) => {
                        let low_value = std::mem::take(slot);
                        *slot = merge(low_value, high_value);
                    }
                    None => {
                        low.insert(key, high_value);
                    }
                }
            }
            Value::Object(low)
        }
        (_, higher) => higher,
    }
}

/// Removes `null` object members, recursing through objects only: Backstage's merge leaves
/// arrays untouched, and serde reads a remaining `null` as `None` anyway.
fn strip_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
        for v in map.values_mut() {
            strip_nulls(v);
        }
    }
}

/// A serde-style description of a value's type, for error messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "a sequence".to_owned(),
        Value::Object(_) => "a map".to_owned(),
    }
}

impl LoadedConfig {
    /// Wraps an already-built tree, e.g. for tests. `null` members are removed as after a load;
    /// a non-object root is replaced by an empty object, since config is always a mapping.
    pub fn from_value(mut value: Value) -> Self {
        if !value.is_object() {
            value = Value::Object(Map::new());
        }
        strip_nulls(&mut value);
        LoadedConfig {
            value,
            sources: Vec::new(),
        }
    }

    /// The whole merged tree (an object).
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Consumes the config, returning the merged tree.
    pub fn into_value(self) -> Value {
        self.value
    }

    /// The files that were loaded, in order.
    pub fn sources(&self) -> &[SourceFile] {
        &self.sources
    }

    /// The value at a dotted key path (`backend.listen.port`; `""` is the root), or `None` when
    /// it is absent or an intermediate value is not an object.
    pub fn value_at(&self, dotted_path: &str) -> Option<&Value> {
        self.lookup(dotted_path).ok().flatten()
    }

    /// Like [`LoadedConfig::value_at`], but an intermediate non-object is a type error (as in
    /// Backstage's reader) rather than silently absent.
    fn lookup(&self, dotted_path: &str) -> Result<Option<&Value>, ConfigError> {
        let mut current = &self.value;
        if dotted_path.is_empty() {
            return Ok(Some(current));
        }
        let mut walked = String::new();
        for part in dotted_path.split('.') {
            match current {
                Value::Object(map) => match map.get(part) {
                    Some(next) => current = next,
                    None => return Ok(None),
                },
                other => {
                    return Err(ConfigError::Type {
                        path: if walked.is_empty() {
                            ".".to_owned()
                        } else {
                            walked
                        },
                        message: format!("invalid type: {}, expected a map", describe(other)),
                    })
                }
            }
            walked = join_key(&walked, part);
        }
        Ok(Some(current))
    }

    /// Deserializes the value at `dotted_path` into `T`; an absent value gives `T::default()`.
    ///
    /// A type mismatch is a [`ConfigError::Type`] whose `path` is the full key path
    /// (`backend.listen.port: invalid type: string "abc", expected u16`). Keys `T` does not
    /// know are not errors — a Backstage app-config carries plenty of keys for other plugins —
    /// but are returned as full key paths (`backend.database.conection`) so the caller can warn.
    pub fn section<T: DeserializeOwned + Default>(
        &self,
        dotted_path: &str,
    ) -> Result<(T, Vec<String>), ConfigError> {
        let Some(value) = self.lookup(dotted_path)? else {
            return Ok((T::default(), Vec::new()));
        };
        let mut unknown = Vec::new();
        let mut on_ignored = |path: serde_ignored::Path<'_>| {
            unknown.push(join_key(dotted_path, &ignored_path(&path)));
        };
        let tracked = serde_ignored::Deserializer::new(value, &mut on_ignored);
        let result: Result<T, _> = serde_path_to_error::deserialize(tracked);
        match result {
            Ok(section) => Ok((section, unknown)),
            Err(err) => {
                let path = join_key(dotted_path, &error_path(err.path()));
                Err(ConfigError::Type {
                    path: if path.is_empty() {
                        ".".to_owned()
                    } else {
                        path
                    },
                    message: err.into_inner().to_string(),
                })
            }
        }
    }

    /// [`LoadedConfig::section`], logging each unknown key as a `tracing` warning.
    pub fn section_logged<T: DeserializeOwned + Default>(
        &self,
        dotted_path: &str,
    ) -> Result<T, ConfigError> {
        let (section, unknown) = self.section(dotted_path)?;
        for key in unknown {
            tracing::warn!(key = %key, "ignoring unknown config key");
        }
        Ok(section)
    }

    /// The `backend` section, with unknown-key warnings.
    pub fn backend(&self) -> Result<(BackendConfig, Vec<String>), ConfigError> {
        self.section("backend")
    }
}

/// Shows sources and top-level keys only: the tree holds secrets (tokens, passwords) that
/// must not reach logs through a stray `{:?}`.
impl fmt::Debug for LoadedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self
            .value
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        f.debug_struct("LoadedConfig")
            .field("sources", &self.sources)
            .field("top_level_keys", &keys)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;
    use serde::Deserialize;
    use serde_json::json;

    fn load(tmp: &TempDir, names: &[&str], env: &ConfigEnv) -> Result<LoadedConfig, ConfigError> {
        let files: Vec<PathBuf> = names.iter().map(|n| tmp.path().join(n)).collect();
        load_config(&files, env)
    }

    #[test]
    fn later_file_wins_and_objects_merge() {
        let tmp = TempDir::new("merge");
        tmp.write(
            "a.yaml",
            "app:\n  title: A\n  baseUrl: http://a\nbackend:\n  listen:\n    port: 7007\n    host: 0.0.0.0\n  list: [1, 2, 3]\n  obj:\n    k: v\n",
        );
        tmp.write(
            "b.yaml",
            "app:\n  title: B\nbackend:\n  listen:\n    port: 8080\n  list: [9]\n  obj: replaced\nextra: true\n",
        );
        let config = load(&tmp, &["a.yaml", "b.yaml"], &ConfigEnv::new()).unwrap();
        assert_eq!(
            config.value(),
            &json!({
                "app": {"title": "B", "baseUrl": "http://a"},
                "backend": {"listen": {"port": 8080, "host": "0.0.0.0"}, "list": [9], "obj": "replaced"},
                "extra": true,
            })
        );
        assert_eq!(config.sources().len(), 2);
        assert_eq!(config.sources()[1].dir, tmp.path());
    }

    #[test]
    fn null_unsets_and_missing_substitution_falls_back() {
        let tmp = TempDir::new("null");
        tmp.write("a.yaml", "a:\n  x: 1\n  y: 2\nport: 7007\nempty:\n");
        tmp.write("b.yaml", "a:\n  x: ~\nport: ${NOPE}\n");
        let config = load(&tmp, &["a.yaml", "b.yaml"], &ConfigEnv::new()).unwrap();
        assert_eq!(config.value(), &json!({"a": {"y": 2}, "port": 7007}));
    }

    #[test]
    fn substitution_in_files() {
        let tmp = TempDir::new("subst");
        tmp.write("token.txt", "file-secret\n");
        tmp.write(
            "a.yaml",
            "a: ${HOST}\nb: $${HOST}\nc: ${MISSING}\nd:\n  $env: HOST\ne:\n  $file: token.txt\nf: http://${HOST}:${PORT}\n",
        );
        let env = ConfigEnv::new().with("HOST", "h").with("PORT", "1");
        let config = load(&tmp, &["a.yaml"], &env).unwrap();
        assert_eq!(
            config.value(),
            &json!({"a": "h", "b": "${HOST}", "d": "h", "e": "file-secret", "f": "http://h:1"})
        );
    }

    #[test]
    fn app_config_overrides_win() {
        let tmp = TempDir::new("override");
        tmp.write(
            "a.yaml",
            "backend:\n  listen:\n    port: 7007\n    host: 127.0.0.1\n",
        );
        let env = ConfigEnv::new()
            .with("APP_CONFIG_backend_listen_port", "7008")
            .with("APP_CONFIG_backend_baseUrl", "http://localhost:7008")
            .with("APP_CONFIG_app_title", "My \"Portal\"");
        let config = load(&tmp, &["a.yaml"], &env).unwrap();
        assert_eq!(config.value_at("backend.listen.port"), Some(&json!(7008)));
        assert_eq!(
            config.value_at("backend.listen.host"),
            Some(&json!("127.0.0.1"))
        );
        assert_eq!(
            config.value_at("backend.baseUrl"),
            Some(&json!("http://localhost:7008"))
        );
        assert_eq!(config.value_at("app.title"), Some(&json!("My \"Portal\"")));
        let (backend, warnings) = config.backend().unwrap();
        assert_eq!(backend.listen.port, Some(7008));
        assert!(warnings.is_empty());
    }

    #[test]
    fn file_errors() {
        let tmp = TempDir::new("file-errors");
        tmp.write("bad.yaml", "a: [\n");
        tmp.write("list.yaml", "- a\n- b\n");
        tmp.write("empty.yaml", "");
        tmp.write("include.yaml", "a:\n  $file: missing.txt\n");
        let env = ConfigEnv::new();
        assert!(matches!(
            load(&tmp, &["missing.yaml"], &env),
            Err(ConfigError::Io { .. })
        ));
        assert!(matches!(
            load(&tmp, &["bad.yaml"], &env),
            Err(ConfigError::Yaml { .. })
        ));
        assert!(matches!(
            load(&tmp, &["list.yaml"], &env),
            Err(ConfigError::Yaml { .. })
        ));
        match load(&tmp, &["include.yaml"], &env) {
            Err(ConfigError::Invalid { key, message }) => {
                assert_eq!(key, "a");
                assert!(message.contains("include.yaml"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let empty = load(&tmp, &["empty.yaml"], &env).unwrap();
        assert_eq!(empty.value(), &json!({}));
    }

    #[test]
    fn value_at_paths() {
        let config = LoadedConfig::from_value(json!({"a": {"b": {"c": 1}, "s": "x"}}));
        assert_eq!(config.value_at("a.b.c"), Some(&json!(1)));
        assert_eq!(config.value_at("a.b.missing"), None);
        assert_eq!(config.value_at("a.s.deeper"), None);
        assert_eq!(config.value_at(""), Some(config.value()));
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        port: Option<u16>,
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Item {
        name: String,
    }

    #[test]
    fn section_type_error_names_full_path() {
        let config = LoadedConfig::from_value(json!({"svc": {"opts": {"port": "abc"}}}));
        let err = config.section::<Sample>("svc.opts").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"svc.opts.port: invalid type: string "abc", expected u16"#
        );

        let config =
            LoadedConfig::from_value(json!({"svc": {"items": [{"name": "a"}, {"name": 5}]}}));
        match config.section::<Sample>("svc").unwrap_err() {
            ConfigError::Type { path, .. } => assert_eq!(path, "svc.items[1].name"),
            other => panic!("unexpected {other}"),
        }

        let config = LoadedConfig::from_value(json!({"svc": "scalar"}));
        match config.section::<Sample>("svc.opts").unwrap_err() {
            ConfigError::Type { path, .. } => assert_eq!(path, "svc"),
            other => panic!("unexpected {other}"),
        }
        match config.section::<Sample>("svc").unwrap_err() {
            ConfigError::Type { path, .. } => assert_eq!(path, "svc"),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn section_reports_unknown_keys_with_full_path() {
        let config = LoadedConfig::from_value(json!({
            "svc": {"port": 1, "prot": 2, "items": [{"name": "a", "nmae": "b"}]}
        }));
        let (sample, unknown) = config.section::<Sample>("svc").unwrap();
        assert_eq!(sample.port, Some(1));
        assert_eq!(unknown, vec!["svc.prot", "svc.items[0].nmae"]);
    }

    #[test]
    fn absent_section_is_default() {
        let config = LoadedConfig::from_value(json!({}));
        let (sample, unknown) = config.section::<Sample>("nothing.here").unwrap();
        assert_eq!(sample, Sample::default());
        assert!(unknown.is_empty());
    }

    #[test]
    fn default_files() {
        let tmp = TempDir::new("defaults");
        tmp.write("app-config.local.yaml", "");
        tmp.write("app-config.production.yaml", "");
        tmp.write("app-config.production.local.yaml", "");
        let env = ConfigEnv::new().with("BACKSTAGE_ENV", "production, staging");
        let names: Vec<String> = default_config_files(tmp.path(), &env)
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        assert_eq!(
            names,
            [
                "app-config.yaml",
                "app-config.production.yaml",
                "app-config.local.yaml",
                "app-config.production.local.yaml"
            ]
        );
    }

    #[test]
    fn debug_hides_values() {
        let config = LoadedConfig::from_value(json!({"auth": {"secret": "hunter2"}}));
        let shown = format!("{config:?}");
        assert!(shown.contains("auth"));
        assert!(!shown.contains("hunter2"));
    }
}
