//! Typed view of Backstage's `backend` section: the keys Portico uses, plus the well-known
//! Backstage keys it accepts without using, so a real app-config does not produce warnings.

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Unexpected, Visitor};
use serde_json::Value;

use crate::database::DatabaseConfig;
use crate::de::opt_port;

/// Backstage's default backend port.
pub const DEFAULT_PORT: u16 = 7007;

/// Host bound when `backend.listen.host` is not set; Backstage then listens on all interfaces.
pub const DEFAULT_HOST: &str = "0.0.0.0";

/// `backend`.
#[derive(Clone, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendConfig {
    /// `backend.baseUrl`: the externally reachable URL of the backend.
    #[serde(default)]
    pub base_url: Option<String>,
    /// `backend.listen`.
    #[serde(default)]
    pub listen: Listen,
    /// `backend.database`.
    #[serde(default)]
    pub database: DatabaseConfig,
    /// `backend.reading`: hosts the backend may fetch URLs from.
    #[serde(default)]
    pub reading: Reading,
    /// `backend.workingDirectory`: scratch space for plugins.
    #[serde(default)]
    pub working_directory: Option<String>,

    // Backstage keys (from @backstage/backend-defaults' schema) that Portico does not act on.
    // They are declared so they are neither unknown-key warnings nor lost; the raw values are
    // kept for whoever wants to honour them later.
    #[serde(default)]
    pub actions: Option<Value>,
    #[serde(default)]
    pub auditor: Option<Value>,
    #[serde(default)]
    pub auth: Option<Value>,
    #[serde(default)]
    pub cache: Option<Value>,
    #[serde(default)]
    pub cors: Option<Value>,
    #[serde(default)]
    pub csp: Option<Value>,
    #[serde(default)]
    pub health: Option<Value>,
    #[serde(default)]
    pub https: Option<Value>,
    #[serde(default)]
    pub lifecycle: Option<Value>,
    #[serde(default)]
    pub logger: Option<Value>,
    #[serde(default)]
    pub metrics: Option<Value>,
    #[serde(default)]
    pub rate_limit: Option<Value>,
    #[serde(default)]
    pub referrer: Option<Value>,
    #[serde(default)]
    pub server: Option<Value>,
    #[serde(default)]
    pub tracing: Option<Value>,
    #[serde(default)]
    pub trust_proxy: Option<Value>,
}

/// Only the fields Portico uses: `auth`, `cors` and friends may hold secrets.
impl fmt::Debug for BackendConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendConfig")
            .field("base_url", &self.base_url)
            .field("listen", &self.listen)
            .field("database", &self.database)
            .field("reading", &self.reading)
            .field("working_directory", &self.working_directory)
            .finish_non_exhaustive()
    }
}

/// `backend.listen`: either `{ host, port }` or Backstage's string form `"7007"`,
/// `":7007"` or `"127.0.0.1:7007"`. Unset parts are `None`; see [`Listen::port_or_default`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listen {
    pub host: Option<String>,
    pub port: Option<u16>,
}

impl Listen {
    /// The port to bind: `port`, else Backstage's 7007.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_PORT)
    }

    /// The host to bind: `host`, else all interfaces.
    pub fn host_or_default(&self) -> &str {
        match self.host.as_deref() {
            Some(host) if !host.is_empty() => host,
            _ => DEFAULT_HOST,
        }
    }

    /// Backstage's `readHttpListenOptions` string parsing: `<port>` or `<host>:<port>`
    /// (an empty host means the default). Addresses with more colons (bare IPv6) are rejected,
    /// as in Backstage; the object form takes any host.
    fn parse(text: &str) -> Option<Listen> {
        let parts: Vec<&str> = text.split(':').collect();
        let port = parts.last()?.trim().parse::<u16>().ok()?;
        let host = match parts.as_slice() {
            [_] => None,
            [host, _] => Some(host.trim())
                .filter(|h| !h.is_empty())
                .map(str::to_owned),
            _ => return None,
        };
        Some(Listen {
            host,
            port: Some(port),
        })
    }
}

#[derive(serde::Deserialize)]
struct ListenObject {
    #[serde(default)]
    host: Option<String>,
    #[serde(default, deserialize_with = "opt_port")]
    port: Option<u16>,
}

impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ListenVisitor)
    }
}

struct ListenVisitor;

impl<'de> Visitor<'de> for ListenVisitor {
    type Value = Listen;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a listen address like \":7007\" or \"127.0.0.1:7007\", or a map with host and port",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Listen, E> {
        Listen::parse(v).ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Listen, E> {
        let port =
            u16::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))?;
        Ok(Listen {
            host: None,
            port: Some(port),
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<Listen, E> {
        Ok(Listen::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Listen, A::Error> {
        // Going through the wrapped MapAccess keeps key-path tracking and unknown-key
        // reporting working inside the object form.
        let object = ListenObject::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Listen {
            host: object.host,
            port: object.port,
        })
    }
}

/// `backend.reading`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Reading {
    #[serde(default)]
    pub allow: Vec<ReadingAllow>,
}

/// One `backend.reading.allow` entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ReadingAllow {
    /// A host, optionally with a port, or a `*.example.com` subdomain wildcard.
    pub host: String,
    /// When present, only these paths (and paths below them) are allowed.
    #[serde(default)]
    pub paths: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadedConfig;
    use crate::ConfigError;
    use serde_json::json;

    fn backend(value: Value) -> Result<(BackendConfig, Vec<String>), ConfigError> {
        LoadedConfig::from_value(json!({ "backend": value })).backend()
    }

    #[test]
    fn listen_object_form() {
        let (b, w) = backend(json!({"listen": {"host": "127.0.0.1", "port": 7008}})).unwrap();
        assert_eq!(b.listen.host.as_deref(), Some("127.0.0.1"));
        assert_eq!(b.listen.port, Some(7008));
        assert!(w.is_empty());
        // Substituted ports arrive as strings.
        let (b, _) = backend(json!({"listen": {"port": " 7009 "}})).unwrap();
        assert_eq!(b.listen.port_or_default(), 7009);
        assert_eq!(b.listen.host_or_default(), DEFAULT_HOST);
    }

    #[test]
    fn listen_string_forms() {
        for (text, host, port) in [
            (":7007", None, 7007),
            ("7010", None, 7010),
            ("127.0.0.1:7011", Some("127.0.0.1"), 7011),
        ] {
            let (b, _) = backend(json!({ "listen": text })).unwrap();
            assert_eq!(b.listen.host.as_deref(), host, "{text}");
            assert_eq!(b.listen.port, Some(port), "{text}");
        }
        for bad in ["::1:7007", "host:", "abc"] {
            match backend(json!({ "listen": bad })).unwrap_err() {
                ConfigError::Type { path, .. } => assert_eq!(path, "backend.listen"),
                other => panic!("{bad}: unexpected {other}"),
            }
        }
    }

    #[test]
    fn defaults_when_absent() {
        let (b, w) = backend(json!({})).unwrap();
        assert_eq!(b.listen.port_or_default(), DEFAULT_PORT);
        assert_eq!(b.listen.host_or_default(), "0.0.0.0");
        assert!(b.base_url.is_none());
        assert!(w.is_empty());
    }

    #[test]
    fn port_type_errors_name_the_key() {
        let err = backend(json!({"listen": {"port": "abc"}})).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"backend.listen.port: invalid type: string "abc", expected u16"#
        );
        let err = backend(json!({"listen": {"port": 70000}})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "backend.listen.port: invalid value: integer `70000`, expected u16"
        );
        let err =
            backend(json!({"reading": {"allow": [{"host": "a"}, {"paths": []}]}})).unwrap_err();
        match err {
            ConfigError::Type { path, message } => {
                assert_eq!(path, "backend.reading.allow[1]");
                assert!(message.contains("missing field `host`"), "{message}");
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn known_backstage_keys_do_not_warn_but_typos_do() {
        let (b, warnings) = backend(json!({
            "baseUrl": "http://localhost:7007",
            "listen": {"port": 7007, "hots": "x"},
            "cors": {"origin": "http://localhost:3000", "credentials": true},
            "csp": {"connect-src": ["'self'", "http:", "https:"]},
            "auth": {"keys": [{"secret": "s"}]},
            "cache": {"store": "memory"},
            "trustProxy": true,
            "reading": {"allow": [{"host": "example.com", "paths": ["/a"], "pth": 1}]},
            "databse": {},
        }))
        .unwrap();
        assert_eq!(b.base_url.as_deref(), Some("http://localhost:7007"));
        assert!(b.cors.is_some());
        assert_eq!(
            b.reading.allow,
            vec![ReadingAllow {
                host: "example.com".into(),
                paths: Some(vec!["/a".into()])
            }]
        );
        assert_eq!(
            warnings,
            vec![
                "backend.listen.hots",
                "backend.reading.allow[0].pth",
                "backend.databse"
            ]
        );
    }

    #[test]
    fn debug_omits_unused_sections() {
        let (b, _) = backend(json!({"auth": {"keys": [{"secret": "hunter2"}]}})).unwrap();
        assert!(!format!("{b:?}").contains("hunter2"));
    }
}
