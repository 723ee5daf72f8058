//! Reading catalog files from their locations: local files (with globs), URLs on configured
//! GitHub hosts through the GitHub API, and other HTTP(S) URLs from allowed hosts only.

mod file;
mod github;
mod url_reader;

use portico_github::GithubReader;
use std::sync::Arc;

pub use url_reader::AllowedHost;

/// One file read from a location: its own target (absolute path or URL) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFile {
    pub target: String,
    pub content: String,
}

/// Why a read failed. `NotFound` lets optional locations pass; `Transient` never removes
/// what the location emitted before.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Invalid(String),
}

impl ReadError {
    /// The Backstage error name this failure is reported under.
    pub fn error_name(&self) -> &'static str {
        match self {
            ReadError::NotFound(_) => "NotFoundError",
            ReadError::NotAllowed(_) => "NotAllowedError",
            ReadError::Transient(_) => "Error",
            ReadError::Invalid(_) => "InputError",
        }
    }
}

/// Reads `file` and `url` targets. Cheap to clone.
#[derive(Clone)]
pub struct LocationReader {
    inner: Arc<Inner>,
}

struct Inner {
    allow: Vec<AllowedHost>,
    http: reqwest::Client,
    /// Reads URLs on the hosts of `integrations.github`, which (as in Backstage) need no
    /// `backend.reading.allow` entry.
    github: Option<GithubReader>,
}

impl LocationReader {
    pub fn new(allow: Vec<AllowedHost>) -> Self {
        Self::with_github(allow, None)
    }

    /// A reader that sends URLs on `github`'s configured hosts through the GitHub API.
    pub fn with_github(allow: Vec<AllowedHost>, github: Option<GithubReader>) -> Self {
        let http = url_reader::build_client();
        Self {
            inner: Arc::new(Inner {
                allow,
                http,
                github,
            }),
        }
    }

    /// The GitHub reader, when `target` is on one of its hosts.
    fn github_for(&self, target: &str) -> Option<&GithubReader> {
        self.inner.github.as_ref().filter(|g| g.handles(target))
    }

    /// Reads every file a target names: one file, or each match of a glob.
    pub async fn read_target(
        &self,
        location_type: &str,
        target: &str,
    ) -> Result<Vec<ReadFile>, ReadError> {
        match normalize_type(location_type) {
            "file" => {
                let target = target.to_string();
                tokio::task::spawn_blocking(move || file::read_file_target(&target))
                    .await
                    .map_err(|e| ReadError::Transient(e.to_string()))?
            }
            "url" => {
                if let Some(github) = self.github_for(target) {
                    return github::read_target(github, target).await;
                }
                let content =
                    url_reader::read_url(&self.inner.http, &self.inner.allow, target).await?;
                Ok(vec![ReadFile {
                    target: target.to_string(),
                    content,
                }])
            }
            other => Err(ReadError::Invalid(format!(
                "Unsupported location type '{other}'"
            ))),
        }
    }

    /// Reads one file as text (placeholders): no globs.
    pub async fn read_text(&self, location_type: &str, target: &str) -> Result<String, ReadError> {
        match normalize_type(location_type) {
            "file" => {
                let target = target.to_string();
                tokio::task::spawn_blocking(move || file::read_one(&target))
                    .await
                    .map_err(|e| ReadError::Transient(e.to_string()))?
            }
            "url" => match self.github_for(target) {
                Some(github) => github::read_text(github, target).await,
                None => url_reader::read_url(&self.inner.http, &self.inner.allow, target).await,
            },
            other => Err(ReadError::Invalid(format!(
                "Unsupported location type '{other}'"
            ))),
        }
    }

    /// Whether a URL target would be read at all (for registration-time checks).
    pub fn check_url_allowed(&self, target: &str) -> Result<(), ReadError> {
        if self.github_for(target).is_some() {
            return Ok(());
        }
        url_reader::check_allowed(&self.inner.allow, target).map(|_| ())
    }

    /// [`resolve_relative`], except that relative targets in a file on a GitHub host resolve
    /// inside the same repository and ref.
    pub fn resolve_relative(
        &self,
        location_type: &str,
        base: &str,
        target: &str,
    ) -> Result<String, ReadError> {
        if normalize_type(location_type) == "url" && self.github_for(base).is_some() {
            return github::resolve_in_repository(base, target);
        }
        resolve_relative(location_type, base, target)
    }
}

/// Legacy Backstage location types (`github`, `gitlab`, …) are all read as `url`.
pub fn normalize_type(location_type: &str) -> &str {
    match location_type {
        "file" => "file",
        "url" | "github" | "github/api" | "gitlab" | "bitbucket" | "azure/api" | "gerrit" => "url",
        other => other,
    }
}

/// Resolves `target` against the file it appears in (`base`), as Backstage does: standard URL
/// joining for `url`, the file's directory for `file`. Absolute targets stay as they are.
pub fn resolve_relative(
    location_type: &str,
    base: &str,
    target: &str,
) -> Result<String, ReadError> {
    match normalize_type(location_type) {
        "url" => {
            if let Ok(abs) = url::Url::parse(target) {
                return Ok(abs.to_string());
            }
            let base = url::Url::parse(base)
                .map_err(|e| ReadError::Invalid(format!("Invalid base URL '{base}': {e}")))?;
            base.join(target).map(|u| u.to_string()).map_err(|e| {
                ReadError::Invalid(format!("Cannot resolve '{target}' against '{base}': {e}"))
            })
        }
        _ => {
            let path = std::path::Path::new(target);
            if path.is_absolute() {
                return Ok(file::normalize_path(path));
            }
            let dir = std::path::Path::new(base)
                .parent()
                .unwrap_or(std::path::Path::new("/"));
            Ok(file::normalize_path(&dir.join(path)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_url_targets_join_like_urls() {
        let base = "https://github.com/o/r/blob/main/dir/all.yaml";
        assert_eq!(
            resolve_relative("url", base, "./x.yaml").unwrap(),
            "https://github.com/o/r/blob/main/dir/x.yaml"
        );
        assert_eq!(
            resolve_relative("url", base, "../y/z.yaml").unwrap(),
            "https://github.com/o/r/blob/main/y/z.yaml"
        );
        assert_eq!(
            resolve_relative("url", base, "https://example.com/a.yaml").unwrap(),
            "https://example.com/a.yaml"
        );
    }

    #[test]
    fn relative_file_targets_resolve_against_the_directory() {
        assert_eq!(
            resolve_relative("file", "/a/b/all.yaml", "./c.yaml").unwrap(),
            "/a/b/c.yaml"
        );
        assert_eq!(
            resolve_relative("file", "/a/b/all.yaml", "../c/d.yaml").unwrap(),
            "/a/c/d.yaml"
        );
        assert_eq!(
            resolve_relative("file", "/a/b/all.yaml", "/x/y.yaml").unwrap(),
            "/x/y.yaml"
        );
    }
}
