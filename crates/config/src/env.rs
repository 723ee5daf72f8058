//! The environment a config load sees, and Backstage's `APP_CONFIG_*` override layer.
//!
//! The environment is an explicit value rather than a read of the process environment so that
//! loading is deterministic and tests never have to mutate global state.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::ConfigError;

/// Prefix of the variables that override config keys, as in Backstage.
pub const APP_CONFIG_PREFIX: &str = "APP_CONFIG_";

/// Environment variables visible to config loading: used for `${VAR}` and `$env`
/// substitution and enumerated for `APP_CONFIG_*` overrides.
///
/// Kept sorted by name so that override processing (and its errors) is deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigEnv {
    vars: BTreeMap<String, String>,
}

impl ConfigEnv {
    /// An empty environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot of the process environment.
    ///
    /// Variables whose name or value is not UTF-8 are skipped: `std::env::vars` would panic on
    /// them, and YAML text could not name them anyway.
    pub fn from_process() -> Self {
        std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect()
    }

    /// Builder-style [`ConfigEnv::set`].
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }

    /// Sets (or replaces) one variable.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    /// The raw value of a variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// All variables, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value substitution sees: Backstage trims environment values before using them, so
    /// a trailing newline from `$(cat secret)` does not end up in the config.
    pub(crate) fn lookup(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| v.trim().to_owned())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for ConfigEnv {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        ConfigEnv {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// Builds the config layer given by `APP_CONFIG_*` variables, following Backstage's
/// `readEnvConfig`: the name after the prefix is split on `_` into key segments
/// (`APP_CONFIG_backend_listen_port` → `backend.listen.port`), the value is parsed as JSON
/// when it parses and kept as a string otherwise, and empty values are skipped.
///
/// Returns `None` when no such variable is set.
pub(crate) fn app_config_layer(env: &ConfigEnv) -> Result<Option<Value>, ConfigError> {
    let mut data: Option<Map<String, Value>> = None;
    for (name, raw) in env.iter() {
        let Some(key) = name.strip_prefix(APP_CONFIG_PREFIX) else {
            continue;
        };
        // Backstage skips empty values so that `APP_CONFIG_x=` in a shell script is harmless.
        if raw.is_empty() {
            continue;
        }
        let parts: Vec<&str> = key.split('_').collect();
        if let Some(bad) = parts.iter().find(|p| !is_valid_key_part(p)) {
            return Err(ConfigError::invalid(
                name,
                format!(
                    "invalid env config key '{key}': segment '{bad}' must start with a letter \
                     and contain only letters, digits, '-' and ':'"
                ),
            ));
        }
        let (last, parents) = match parts.split_last() {
            Some(split) => split,
            None => continue,
        };
        let mut obj = data.get_or_insert_with(Map::new);
        for (index, part) in parents.iter().enumerate() {
            let entry = obj
                .entry((*part).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            match entry {
                Value::Object(inner) => obj = inner,
                _ => {
                    let sub_key = parts[..=index].join("_");
                    return Err(ConfigError::invalid(
                        name,
                        format!("could not nest config for key '{key}' under existing value '{sub_key}'"),
                    ));
                }
            }
        }
        if obj.contains_key(*last) {
            return Err(ConfigError::invalid(
                name,
                format!("refusing to override existing config at key '{key}'"),
            ));
        }
        let value =
            serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
        // A JSON null would silently unset the key in Backstage's merge; it refuses instead.
        if value.is_null() {
            return Err(ConfigError::invalid(
                name,
                format!("failed to parse JSON-serialized config value for key '{key}': value may not be null"),
            ));
        }
        obj.insert((*last).to_owned(), value);
    }
    Ok(data.map(Value::Object))
}

/// Backstage's `CONFIG_KEY_PART_PATTERN` (`^[a-z][a-z0-9]*(?:[-_:][a-z0-9]+)*$`, case
/// insensitive) applied to one `_`-separated segment, which can therefore not contain `_`.
fn is_valid_key_part(part: &str) -> bool {
    let mut chars = part.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    let mut after_separator = false;
    for c in chars {
        if c.is_ascii_alphanumeric() {
            after_separator = false;
        } else if (c == '-' || c == ':') && !after_separator {
            after_separator = true;
        } else {
            return false;
        }
    }
    !after_separator
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_nested_layer_and_parses_json() {
        let env = ConfigEnv::new()
            .with("APP_CONFIG_backend_listen_port", "7008")
            .with("APP_CONFIG_backend_baseUrl", "http://example.com:7008")
            .with("APP_CONFIG_catalog_rules", r#"[{"allow":["Component"]}]"#)
            .with("APP_CONFIG_flag", "true")
            .with("APP_CONFIG_zero", "007")
            .with("PATH", "/bin");
        let layer = app_config_layer(&env).unwrap().unwrap();
        assert_eq!(
            layer,
            json!({
                "backend": {"listen": {"port": 7008}, "baseUrl": "http://example.com:7008"},
                "catalog": {"rules": [{"allow": ["Component"]}]},
                "flag": true,
                "zero": "007",
            })
        );
    }

    #[test]
    fn no_variables_means_no_layer() {
        let env = ConfigEnv::new()
            .with("HOME", "/home/someone")
            .with("APP_CONFIG_empty", "");
        assert_eq!(app_config_layer(&env).unwrap(), None);
    }

    #[test]
    fn rejects_bad_keys_nulls_and_conflicts() {
        for (name, value) in [
            ("APP_CONFIG_", "1"),
            ("APP_CONFIG_a__b", "1"),
            ("APP_CONFIG_9lives", "1"),
            ("APP_CONFIG_nothing", "null"),
        ] {
            let env = ConfigEnv::new().with(name, value);
            let err = app_config_layer(&env).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { key, .. } if key == name),
                "{name}: {err}"
            );
        }
        let env = ConfigEnv::new()
            .with("APP_CONFIG_a", "1")
            .with("APP_CONFIG_a_b", "2");
        assert!(app_config_layer(&env).is_err());
    }

    #[test]
    fn key_part_pattern() {
        assert!(is_valid_key_part("baseUrl"));
        assert!(is_valid_key_part("connect-src"));
        assert!(is_valid_key_part("a:b"));
        assert!(!is_valid_key_part(""));
        assert!(!is_valid_key_part("-a"));
        assert!(!is_valid_key_part("a-"));
        assert!(!is_valid_key_part("a--b"));
        assert!(!is_valid_key_part("a.b"));
    }

    #[test]
    fn lookup_trims() {
        let env: ConfigEnv = [("TOKEN", " abc\n")].into_iter().collect();
        assert_eq!(env.lookup("TOKEN").as_deref(), Some("abc"));
        assert_eq!(env.get("TOKEN"), Some(" abc\n"));
        assert_eq!(env.lookup("MISSING"), None);
    }
}
