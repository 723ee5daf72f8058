//! `backend.database`: Backstage's knex-style database settings, and their resolution to the
//! SQLite file or PostgreSQL URL Portico connects to.
//!
//! Portico is a single plugin (the catalog) in one process, so Backstage's per-plugin
//! settings (`backend.database.plugin.*`, `pluginDivisionMode`, `prefix`, …) are accepted and
//! ignored, and the base connection is used directly.

use std::fmt;
use std::path::Path;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::de::{opt_port, opt_stringish};
use crate::error::ConfigError;

/// The SQLite path meaning "an in-memory database".
pub const SQLITE_MEMORY: &str = ":memory:";

/// File name used under `connection.directory`: Backstage names each plugin's SQLite file
/// `<pluginId>.sqlite`, and the catalog's plugin id is `catalog`.
pub const SQLITE_DIRECTORY_FILE: &str = "catalog.sqlite";

const CLIENT_KEY: &str = "backend.database.client";
const CONNECTION_KEY: &str = "backend.database.connection";

/// Characters left unescaped in URL user info and path segments: RFC 3986 "unreserved".
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `backend.database`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseConfig {
    /// `better-sqlite3`, `sqlite3` or `pg`.
    #[serde(default)]
    pub client: Option<String>,
    #[serde(default)]
    pub connection: Option<DatabaseConnection>,

    // Backstage keys Portico does not act on (see the module docs); declared so they do not
    // produce unknown-key warnings.
    #[serde(default)]
    pub ensure_exists: Option<Value>,
    #[serde(default)]
    pub ensure_schema_exists: Option<Value>,
    #[serde(default)]
    pub keepalive: Option<Value>,
    #[serde(default)]
    pub knex_config: Option<Value>,
    #[serde(default)]
    pub plugin: Option<Value>,
    #[serde(default)]
    pub plugin_division_mode: Option<Value>,
    #[serde(default)]
    pub prefix: Option<Value>,
    #[serde(default)]
    pub role: Option<Value>,
    #[serde(default)]
    pub schema_prefix: Option<Value>,
    #[serde(default)]
    pub skip_migrations: Option<Value>,
}

/// `backend.database.connection`.
#[derive(Clone, PartialEq)]
pub enum DatabaseConnection {
    /// A SQLite file path, `:memory:`, or a `postgres://` / `postgresql://` URL.
    String(String),
    /// The knex object form (boxed: it is much larger than a string).
    Object(Box<ConnectionObject>),
}

/// The object form of `backend.database.connection`: `{ host, port, user, password, database }`
/// for PostgreSQL, `{ directory }` or `{ filename }` for SQLite.
#[derive(Clone, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionObject {
    #[serde(default, deserialize_with = "opt_stringish")]
    pub host: Option<String>,
    #[serde(default, deserialize_with = "opt_port")]
    pub port: Option<u16>,
    #[serde(default, deserialize_with = "opt_stringish")]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "opt_stringish")]
    pub password: Option<String>,
    #[serde(default, deserialize_with = "opt_stringish")]
    pub database: Option<String>,
    /// node-postgres' URL-in-an-object form.
    #[serde(default)]
    pub connection_string: Option<String>,
    /// `true`, `false` or node's TLS options object; see [`DatabaseConfig::resolve`].
    #[serde(default)]
    pub ssl: Option<Value>,
    /// Backstage's connection flavour: `default`, or `azure` / `cloudsql`, which Portico
    /// does not support.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// SQLite: directory holding one `<plugin>.sqlite` file per plugin.
    #[serde(default)]
    pub directory: Option<String>,
    /// SQLite: the database file.
    #[serde(default)]
    pub filename: Option<String>,
    /// Accepted (Backstage sets it by default) but not used.
    #[serde(default, rename = "application_name")]
    pub application_name: Option<String>,
}

/// Where Portico's data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// A SQLite database file, or [`SQLITE_MEMORY`].
    Sqlite { path: String },
    /// A libpq-style `postgresql://` URL, with user and password percent-encoded.
    Postgres { url: String },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Client {
    Sqlite,
    Postgres,
}

impl DatabaseConfig {
    /// Resolves the settings to a connection target.
    ///
    /// * client `better-sqlite3` / `sqlite3`: the string connection is the file path (or
    ///   `:memory:`); `{ filename }`, `{ directory }` (→ `<directory>/catalog.sqlite`) or both
    ///   (→ `<directory>/<filename>`); no connection → `default_sqlite_path`.
    /// * client `pg`: a `postgres://` / `postgresql://` URL as given (also as
    ///   `{ connectionString }`), or the object form turned into a URL. Without `database`
    ///   the URL names none, so the server's default (the user name) applies; Backstage would
    ///   instead derive `backstage_plugin_catalog`. `ssl: true` or an options object becomes
    ///   `sslmode=require` (certificate options are not carried over); `ssl: false` becomes
    ///   `sslmode=disable`. A `host` starting with `/` is a Unix socket directory.
    /// * no client: a PostgreSQL URL means PostgreSQL; any other string is a SQLite path; an
    ///   object is PostgreSQL when it has `host`, `user`, `password`, `port` or
    ///   `connectionString`, else SQLite; nothing at all → `default_sqlite_path`.
    /// * any other client is an error naming `backend.database.client`.
    pub fn resolve(&self, default_sqlite_path: &str) -> Result<DatabaseTarget, ConfigError> {
        let client = match self.client.as_deref().map(str::trim) {
            None | Some("") => self.infer_client(),
            Some("better-sqlite3" | "sqlite3") => Client::Sqlite,
            Some("pg") => Client::Postgres,
            Some(other) => {
                return Err(ConfigError::invalid(
                    CLIENT_KEY,
                    format!(
                        "unsupported database client '{other}'; Portico supports \
                         'better-sqlite3', 'sqlite3' and 'pg'"
                    ),
                ))
            }
        };
        match client {
            Client::Sqlite => self.resolve_sqlite(default_sqlite_path),
            Client::Postgres => self.resolve_postgres(),
        }
    }

    fn infer_client(&self) -> Client {
        match &self.connection {
            Some(DatabaseConnection::String(s)) if is_postgres_url(s) => Client::Postgres,
            Some(DatabaseConnection::Object(o)) if o.looks_like_postgres() => Client::Postgres,
            _ => Client::Sqlite,
        }
    }

    fn resolve_sqlite(&self, default_path: &str) -> Result<DatabaseTarget, ConfigError> {
        let path = match &self.connection {
            None => default_path.to_owned(),
            Some(DatabaseConnection::String(s)) => {
                let s = s.trim();
                if is_postgres_url(s) {
                    return Err(ConfigError::invalid(
                        CONNECTION_KEY,
                        "a PostgreSQL URL needs client 'pg', not a SQLite client",
                    ));
                }
                if s.is_empty() {
                    default_path.to_owned()
                } else {
                    s.to_owned()
                }
            }
            Some(DatabaseConnection::Object(o)) => {
                let filename = o.filename.as_deref().filter(|f| !f.is_empty());
                let directory = o.directory.as_deref().filter(|d| !d.is_empty());
                match (directory, filename) {
                    (_, Some(SQLITE_MEMORY)) => SQLITE_MEMORY.to_owned(),
                    (Some(dir), file) => Path::new(dir)
                        .join(file.unwrap_or(SQLITE_DIRECTORY_FILE))
                        .to_string_lossy()
                        .into_owned(),
                    (None, Some(file)) => file.to_owned(),
                    (None, None) => default_path.to_owned(),
                }
            }
        };
        Ok(DatabaseTarget::Sqlite { path })
    }

    fn resolve_postgres(&self) -> Result<DatabaseTarget, ConfigError> {
        let url = match &self.connection {
            None => {
                return Err(ConfigError::invalid(
                    CONNECTION_KEY,
                    "client 'pg' needs a connection (a postgres:// URL or {host, port, user, password, database})",
                ))
            }
            Some(DatabaseConnection::String(s)) => checked_postgres_url(s, CONNECTION_KEY)?,
            Some(DatabaseConnection::Object(o)) => o.postgres_url()?,
        };
        Ok(DatabaseTarget::Postgres { url })
    }
}

impl ConnectionObject {
    fn looks_like_postgres(&self) -> bool {
        self.host.is_some()
            || self.user.is_some()
            || self.password.is_some()
            || self.port.is_some()
            || self.connection_string.is_some()
    }

    fn postgres_url(&self) -> Result<String, ConfigError> {
        if let Some(kind) = self.kind.as_deref().filter(|k| *k != "default") {
            return Err(ConfigError::invalid(
                format!("{CONNECTION_KEY}.type"),
                format!("connection type '{kind}' is not supported; use 'default'"),
            ));
        }
        if let Some(url) = &self.connection_string {
            return checked_postgres_url(url, &format!("{CONNECTION_KEY}.connectionString"));
        }
        let mut url = String::from("postgresql://");
        if self.user.is_some() || self.password.is_some() {
            if let Some(user) = &self.user {
                url.extend(utf8_percent_encode(user, URL_COMPONENT));
            }
            if let Some(password) = &self.password {
                url.push(':');
                url.extend(utf8_percent_encode(password, URL_COMPONENT));
            }
            url.push('@');
        }
        let mut query = Vec::new();
        let host = self
            .host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            // node-postgres' default, which Backstage deployments rely on.
            .unwrap_or("localhost");
        if host.starts_with('/') {
            // libpq takes a socket directory only as a query parameter in URL form.
            query.push(format!("host={}", utf8_percent_encode(host, URL_COMPONENT)));
        } else if host.contains(':') && !host.starts_with('[') {
            url.push('[');
            url.push_str(host);
            url.push(']');
        } else {
            url.push_str(host);
        }
        if let Some(port) = self.port {
            url.push(':');
            url.push_str(&port.to_string());
        }
        url.push('/');
        if let Some(database) = self.database.as_deref().filter(|d| !d.is_empty()) {
            url.extend(utf8_percent_encode(database, URL_COMPONENT));
        }
        match &self.ssl {
            Some(Value::Bool(true) | Value::Object(_)) => query.push("sslmode=require".to_owned()),
            Some(Value::Bool(false)) => query.push("sslmode=disable".to_owned()),
            _ => {}
        }
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        Ok(url)
    }
}

fn is_postgres_url(s: &str) -> bool {
    let lower = s.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

fn checked_postgres_url(s: &str, key: &str) -> Result<String, ConfigError> {
    let s = s.trim();
    if is_postgres_url(s) {
        Ok(s.to_owned())
    } else {
        Err(ConfigError::invalid(
            key,
            "expected a postgres:// or postgresql:// URL for client 'pg'",
        ))
    }
}

/// Masks the password in a `scheme://user:password@host/...` URL.
fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest_start = scheme_end + 3;
    let rest = &url[rest_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    match authority[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..rest_start],
            &authority[..colon],
            &rest[at..]
        ),
        None => url.to_owned(),
    }
}

impl DatabaseTarget {
    /// A form safe for logs: the PostgreSQL password replaced by `***`.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseTarget::Sqlite { path } => format!("sqlite:{path}"),
            DatabaseTarget::Postgres { url } => redact_url(url),
        }
    }
}

/// Redacted, so a target can be logged directly.
impl fmt::Display for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Redacted, for the same reason as `Display`.
impl fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseTarget::Sqlite { path } => {
                f.debug_struct("Sqlite").field("path", path).finish()
            }
            DatabaseTarget::Postgres { url } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .finish(),
        }
    }
}

/// Redacts URL passwords.
impl fmt::Debug for DatabaseConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseConnection::String(s) => f.debug_tuple("String").field(&redact_url(s)).finish(),
            DatabaseConnection::Object(o) => f.debug_tuple("Object").field(o).finish(),
        }
    }
}

/// Redacts the password.
impl fmt::Debug for ConnectionObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionObject")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("database", &self.database)
            .field(
                "connection_string",
                &self.connection_string.as_deref().map(redact_url),
            )
            .field("ssl", &self.ssl.is_some())
            .field("kind", &self.kind)
            .field("directory", &self.directory)
            .field("filename", &self.filename)
            .finish_non_exhaustive()
    }
}

impl<'de> Deserialize<'de> for DatabaseConnection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ConnectionVisitor)
    }
}

struct ConnectionVisitor;

impl<'de> Visitor<'de> for ConnectionVisitor {
    type Value = DatabaseConnection;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a connection string or a connection map")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(DatabaseConnection::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(DatabaseConnection::String(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        // Through the wrapped MapAccess, so key paths and unknown keys are still tracked.
        ConnectionObject::deserialize(MapAccessDeserializer::new(map))
            .map(|object| DatabaseConnection::Object(Box::new(object)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadedConfig;
    use serde_json::json;

    const DEFAULT: &str = "portico.sqlite";

    fn db(value: Value) -> DatabaseConfig {
        let config = LoadedConfig::from_value(json!({"backend": {"database": value}}));
        let (section, warnings) = config
            .section::<DatabaseConfig>("backend.database")
            .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        section
    }

    fn resolve(value: Value) -> Result<DatabaseTarget, ConfigError> {
        db(value).resolve(DEFAULT)
    }

    fn sqlite(path: &str) -> DatabaseTarget {
        DatabaseTarget::Sqlite { path: path.into() }
    }

    fn pg(url: &str) -> DatabaseTarget {
        DatabaseTarget::Postgres { url: url.into() }
    }

    #[test]
    fn absent_config_uses_default_sqlite_path() {
        assert_eq!(resolve(json!({})).unwrap(), sqlite(DEFAULT));
        assert_eq!(
            DatabaseConfig::default().resolve("x.db").unwrap(),
            sqlite("x.db")
        );
        assert_eq!(
            resolve(json!({"client": "better-sqlite3"})).unwrap(),
            sqlite(DEFAULT)
        );
    }

    #[test]
    fn sqlite_string_forms() {
        for client in ["better-sqlite3", "sqlite3"] {
            assert_eq!(
                resolve(json!({"client": client, "connection": ":memory:"})).unwrap(),
                sqlite(SQLITE_MEMORY)
            );
            assert_eq!(
                resolve(json!({"client": client, "connection": "data/catalog.db"})).unwrap(),
                sqlite("data/catalog.db")
            );
        }
        assert_eq!(
            resolve(json!({"connection": "data/x.db"})).unwrap(),
            sqlite("data/x.db")
        );
        assert_eq!(
            resolve(json!({"connection": ":memory:"})).unwrap(),
            sqlite(SQLITE_MEMORY)
        );
    }

    #[test]
    fn sqlite_object_forms() {
        let joined =
            |dir: &str, file: &str| Path::new(dir).join(file).to_string_lossy().into_owned();
        assert_eq!(
            resolve(json!({"client": "better-sqlite3", "connection": {"directory": "/var/db"}}))
                .unwrap(),
            sqlite(&joined("/var/db", "catalog.sqlite"))
        );
        assert_eq!(
            resolve(json!({"client": "better-sqlite3", "connection": {"filename": "a.sqlite"}}))
                .unwrap(),
            sqlite("a.sqlite")
        );
        assert_eq!(
            resolve(
                json!({"client": "sqlite3", "connection": {"directory": "d", "filename": "f.db"}})
            )
            .unwrap(),
            sqlite(&joined("d", "f.db"))
        );
        assert_eq!(
            resolve(json!({"client": "sqlite3", "connection": {"filename": ":memory:"}})).unwrap(),
            sqlite(SQLITE_MEMORY)
        );
        assert_eq!(
            resolve(json!({"connection": {"directory": "d"}})).unwrap(),
            sqlite(&joined("d", "catalog.sqlite"))
        );
    }

    #[test]
    fn postgres_url_forms() {
        let url = "postgresql://u:p@db:5432/catalog";
        assert_eq!(
            resolve(json!({"client": "pg", "connection": url})).unwrap(),
            pg(url)
        );
        assert_eq!(resolve(json!({"connection": url})).unwrap(), pg(url));
        assert_eq!(
            resolve(json!({"connection": "postgres://db/x"})).unwrap(),
            pg("postgres://db/x")
        );
        assert_eq!(
            resolve(json!({"client": "pg", "connection": {"connectionString": url}})).unwrap(),
            pg(url)
        );
    }

    #[test]
    fn postgres_object_form() {
        let target = resolve(json!({
            "client": "pg",
            "connection": {
                "host": "db.internal",
                "port": "5433",
                "user": "back stage",
                "password": "p@ss:w/rd%",
                "database": "portico",
                "application_name": "x",
            }
        }))
        .unwrap();
        assert_eq!(
            target,
            pg("postgresql://back%20stage:p%40ss%3Aw%2Frd%25@db.internal:5433/portico")
        );
        assert_eq!(
            target.redacted(),
            "postgresql://back%20stage:***@db.internal:5433/portico"
        );
        assert!(!format!("{target:?}").contains("w%2Frd"));

        // Backstage's create-app production config: no database, numeric password.
        assert_eq!(
            resolve(json!({"client": "pg", "connection": {"host": "h", "port": 5432, "user": "u", "password": 12345}}))
                .unwrap(),
            pg("postgresql://u:12345@h:5432/")
        );
        assert_eq!(
            resolve(json!({"client": "pg", "connection": {"database": "d"}})).unwrap(),
            pg("postgresql://localhost/d")
        );
        assert_eq!(
            resolve(json!({"client": "pg", "connection": {"host": "::1", "ssl": true}})).unwrap(),
            pg("postgresql://[::1]/?sslmode=require")
        );
        assert_eq!(
            resolve(json!({"client": "pg", "connection": {"host": "/run/postgresql", "user": "u", "ssl": {"rejectUnauthorized": false}}}))
                .unwrap(),
            pg("postgresql://u@/?host=%2Frun%2Fpostgresql&sslmode=require")
        );
        // No client, but clearly PostgreSQL.
        assert_eq!(
            resolve(json!({"connection": {"host": "h", "user": "u"}})).unwrap(),
            pg("postgresql://u@h/")
        );
    }

    #[test]
    fn errors_name_the_key() {
        let key_of = |value: Value| match resolve(value).unwrap_err() {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("unexpected {other}"),
        };
        assert_eq!(
            key_of(json!({"client": "mysql2", "connection": "x"})),
            CLIENT_KEY
        );
        assert_eq!(key_of(json!({"client": "pg"})), CONNECTION_KEY);
        assert_eq!(
            key_of(json!({"client": "pg", "connection": "file.db"})),
            CONNECTION_KEY
        );
        assert_eq!(
            key_of(json!({"client": "sqlite3", "connection": "postgres://h/d"})),
            CONNECTION_KEY
        );
        assert_eq!(
            key_of(json!({"client": "pg", "connection": {"type": "cloudsql", "host": "h"}})),
            "backend.database.connection.type"
        );
    }

    #[test]
    fn connection_type_and_unknown_keys_are_reported() {
        let config = LoadedConfig::from_value(json!({"backend": {"database": {
            "client": "pg",
            "connection": {"host": "h", "port": "x", "pasword": "p"},
        }}}));
        match config
            .section::<DatabaseConfig>("backend.database")
            .unwrap_err()
        {
            ConfigError::Type { path, .. } => assert_eq!(path, "backend.database.connection.port"),
            other => panic!("unexpected {other}"),
        }
        let config = LoadedConfig::from_value(json!({"backend": {"database": {
            "connection": {"host": "h", "pasword": "p"},
            "plugin": {"catalog": {"connection": {"database": "c"}}},
            "knexConfig": {"pool": {"min": 0}},
        }}}));
        let (_, warnings) = config
            .section::<DatabaseConfig>("backend.database")
            .unwrap();
        assert_eq!(warnings, vec!["backend.database.connection.pasword"]);
        let config = LoadedConfig::from_value(json!({"backend": {"database": {"connection": 5}}}));
        match config
            .section::<DatabaseConfig>("backend.database")
            .unwrap_err()
        {
            ConfigError::Type { path, .. } => assert_eq!(path, "backend.database.connection"),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn redaction() {
        assert_eq!(redact_url("postgres://u:p@h/d"), "postgres://u:***@h/d");
        assert_eq!(redact_url("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(
            redact_url("postgres://h/d?x=a:b@c"),
            "postgres://h/d?x=a:b@c"
        );
        assert_eq!(redact_url("file.db"), "file.db");
        assert_eq!(sqlite("a.db").to_string(), "sqlite:a.db");
    }
}
