//! Backstage-compatible configuration loading: reads `app-config.yaml` files the way
//! `@backstage/config-loader` does, so an existing Backstage configuration works unchanged.
//!
//! * [`load_config`] reads files in order and deep-merges them (later files win), applying
//!   `${VAR}` / `${VAR:-fallback}` substitution (a missing variable makes the value absent),
//!   the `$${` escape, and the `$env`, `$file` and `$include` forms; then the
//!   `APP_CONFIG_<path>` environment overrides.
//! * [`LoadedConfig::section`] deserializes one dotted path into a typed struct, naming the full
//!   key path in type errors and returning unknown keys as warnings.
//! * [`BackendConfig`] and [`DatabaseConfig`] type the `backend` section;
//!   [`DatabaseConfig::resolve`] turns `backend.database` into a [`DatabaseTarget`].
//!
//! The environment is passed in as a [`ConfigEnv`] so tests never touch the process
//! environment; the binary uses [`ConfigEnv::from_process`].

mod backend;
mod database;
mod de;
mod env;
mod error;
mod keypath;
mod load;
mod transform;

pub use backend::{BackendConfig, Listen, Reading, ReadingAllow, DEFAULT_HOST, DEFAULT_PORT};
pub use database::{
    ConnectionObject, DatabaseConfig, DatabaseConnection, DatabaseTarget, SQLITE_DIRECTORY_FILE,
    SQLITE_MEMORY,
};
pub use env::{ConfigEnv, APP_CONFIG_PREFIX};
pub use error::ConfigError;
pub use load::{default_config_files, load_config, LoadedConfig, SourceFile};

#[cfg(test)]
mod test_util {
    //! Scratch directories for tests that need real files.

    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    static COUNTER: AtomicUsize = AtomicUsize::new(0);

    /// A directory under the system temp dir, removed on drop.
    pub(crate) struct TempDir(PathBuf);

    impl TempDir {
        pub(crate) fn new(label: &str) -> Self {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir()
                .join(format!("portico-config-{label}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }

        pub(crate) fn write(&self, name: &str, content: &str) {
            let path = self.0.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::write(path, content).unwrap();
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
