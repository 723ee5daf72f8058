//! The single error type returned by every fallible function of this crate.

use std::path::PathBuf;

/// Why configuration could not be loaded or read.
///
/// Key paths (`path` of [`ConfigError::Type`], `key` of [`ConfigError::Invalid`]) use the
/// dotted form operators write in YAML, with `[n]` for array elements:
/// `catalog.locations[2].target`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A config file named on the command line could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A config file is not valid YAML, or its top level is not a mapping.
    #[error("cannot parse config file {}: {message}", path.display())]
    Yaml { path: PathBuf, message: String },
    /// A value does not have the type the reading code expects.
    #[error("{path}: {message}")]
    Type { path: String, message: String },
    /// A value is well-formed YAML but unusable: a bad include, an unsupported database
    /// client, a malformed `APP_CONFIG_` variable and the like.
    #[error("invalid config at {key}: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}
