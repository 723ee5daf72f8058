//! `GithubReader`: the crate's entry point. Holds one API client per configured host, reads
//! files with conditional requests, expands globs through the tree API and reports the quota.
//! Discovery and org import (`discovery.rs`, `org.rs`) add methods to it.

use crate::cache::Lru;
use crate::client::{ApiClient, Fetched, ReaderOptions, ACCEPT_RAW};
use crate::config::{with_default_integration, GithubIntegrationConfig};
use crate::error::GithubError;
use crate::glob::{has_glob, GlobPattern};
use crate::rate_limit::RateQuota;
use crate::url::{tree_api_path, GithubUrl};
use std::sync::{Arc, Mutex, PoisonError};

/// The result of [`GithubReader::read_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRead {
    /// The file's text and the ETag to pass next time.
    Content { text: String, etag: Option<String> },
    /// Unchanged since the ETag the caller passed (GitHub answered 304, costing no quota).
    NotModified,
}

/// Reads from every configured GitHub host. Cheap to clone; create it inside the Tokio runtime
/// that will outlive it (octocrab spawns its worker there).
#[derive(Clone)]
pub struct GithubReader {
    inner: Arc<Inner>,
}

struct Inner {
    clients: Vec<Arc<ApiClient>>,
    options: ReaderOptions,
    /// Matched paths per repository, branch, pattern and `pushed_at`: a repository nobody
    /// pushed to since the last run needs no tree request at all.
    pub(crate) memo: Mutex<Lru<Vec<String>>>,
}

impl GithubReader {
    /// A reader for `integrations.github[]`, plus the unauthenticated github.com entry Backstage
    /// adds when none is configured.
    pub fn new(integrations: &[GithubIntegrationConfig]) -> Result<Self, GithubError> {
        Self::with_options(integrations, ReaderOptions::default())
    }

    pub fn with_options(
        integrations: &[GithubIntegrationConfig],
        options: ReaderOptions,
    ) -> Result<Self, GithubError> {
        let clients = with_default_integration(integrations.to_vec())
            .iter()
            .map(|c| ApiClient::new(c, &options).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                clients,
                memo: Mutex::new(Lru::new(options.cache_entries)),
                options,
            }),
        })
    }

    /// Whether `url` is on a configured GitHub host, so this reader (not a plain HTTP read)
    /// should handle it. Malformed GitHub URLs are handled too: reading them explains what
    /// is wrong.
    pub fn handles(&self, url: &str) -> bool {
        let Ok(parsed) = url::Url::parse(url) else {
            return false;
        };
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return false,
        };
        matches!(parsed.scheme(), "http" | "https") && self.client_for(&host).is_ok()
    }

    /// The quota of the most constrained host (lowest remaining share) as last reported.
    pub fn quota(&self) -> Option<RateQuota> {
        self.inner
            .clients
            .iter()
            .filter_map(|c| c.quota())
            .min_by_key(|q| (q.remaining * 10_000).checked_div(q.limit).unwrap_or(0))
    }

    /// The quota of one host as last reported.
    pub fn quota_for_host(&self, host: &str) -> Option<RateQuota> {
        self.client_for(host).ok()?.quota()
    }

    /// Asks `GET /rate_limit` (free on GitHub) for a host's quota.
    pub async fn refresh_quota(&self, host: &str) -> Result<Option<RateQuota>, GithubError> {
        let client = self.client_for(host)?;
        let value = client.get_json(None, "/rate_limit").await?;
        let core = &value["resources"]["core"];
        Ok(
            match (
                core["remaining"].as_u64(),
                core["limit"].as_u64(),
                core["reset"].as_u64(),
            ) {
                (Some(remaining), Some(limit), Some(reset)) => Some(RateQuota {
                    remaining,
                    limit,
                    reset,
                }),
                _ => None,
            },
        )
    }

    /// Reads one file (`…/blob/REF/PATH`, or a `tree` URL naming a file). With
    /// `previous_etag`, an unchanged file answers `NotModified`. Without one, the reader's own
    /// ETag cache still makes the request conditional, and an unchanged file answers
    /// `Content` from the cache.
    pub async fn read_file(
        &self,
        url: &str,
        previous_etag: Option<&str>,
    ) -> Result<FileRead, GithubError> {
        let context = format!("Could not read {url}");
        let gurl = GithubUrl::parse(url)?;
        if gurl.path.is_empty() {
            return Err(GithubError::invalid(format!(
                "{context}: the URL names a repository root, not a file"
            )));
        }
        let client = self.client_for(&gurl.host)?;
        let fetched = client
            .get(
                Some(&gurl.owner),
                &gurl.contents_api_path(),
                ACCEPT_RAW,
                previous_etag,
            )
            .await
            .map_err(|e| e.context(&context))?;
        let body = match fetched {
            Fetched::NotModified => return Ok(FileRead::NotModified),
            Fetched::Body(body) => body,
        };
        if is_directory_listing(body.content_type.as_deref(), &body.bytes) {
            return Err(GithubError::invalid(format!(
                "{context}: the URL names a directory, not a file"
            )));
        }
        let text = String::from_utf8(body.bytes.clone())
            .map_err(|_| GithubError::invalid(format!("{context}: the file is not UTF-8 text")))?;
        Ok(FileRead::Content {
            text,
            etag: body.etag.clone(),
        })
    }

    /// Expands a URL whose path holds a glob (`…/blob/main/**/catalog-info.yaml`) into the blob
    /// URLs of the matching files, sorted, through one tree request (itself conditional). A URL
    /// without glob characters comes back as it is.
    pub async fn expand_glob(&self, url: &str) -> Result<Vec<String>, GithubError> {
        let gurl = GithubUrl::parse(url)?;
        if !has_glob(&gurl.path) {
            return Ok(vec![gurl.blob_url()]);
        }
        let client = self.client_for(&gurl.host)?;
        let pattern = GlobPattern::new(&gurl.path);
        let files = tree_files(&client, &gurl.owner, &gurl.repo, &gurl.git_ref)
            .await
            .map_err(|e| e.context(&format!("Could not expand {url}")))?;
        let mut urls: Vec<String> = files
            .iter()
            .filter(|p| pattern.matches(p))
            .map(|p| gurl.with_path(p).blob_url())
            .collect();
        urls.sort();
        Ok(urls)
    }

    /// The organizations the GitHub Apps of `host`'s integration are installed on (only app
    /// `app` when given), as Backstage lists them for providers without an organization.
    /// Installations on user accounts are left out.
    pub async fn installed_organizations(
        &self,
        host: &str,
        app: Option<u64>,
    ) -> Result<Vec<String>, GithubError> {
        let client = self.client_for(host)?;
        client
            .credentials()
            .installed_organizations(&client, app)
            .await
    }

    pub(crate) fn client_for(&self, host: &str) -> Result<Arc<ApiClient>, GithubError> {
        let host = host.to_ascii_lowercase();
        self.inner
            .clients
            .iter()
            .find(|c| c.host == host)
            .cloned()
            .ok_or_else(|| {
                GithubError::invalid(format!(
                    "No GitHub integration is configured for host '{host}' \
                     (integrations.github[].host)"
                ))
            })
    }

    pub(crate) fn options(&self) -> &ReaderOptions {
        &self.inner.options
    }

    pub(crate) fn memo_get(&self, key: &str) -> Option<Arc<Vec<String>>> {
        self.inner
            .memo
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
    }

    pub(crate) fn memo_put(&self, key: String, paths: Vec<String>) {
        self.inner
            .memo
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(key, paths);
    }
}

/// Every file path (blobs only) in a ref's tree.
pub(crate) async fn tree_files(
    client: &ApiClient,
    owner: &str,
    repo: &str,
    git_ref: &str,
) -> Result<Vec<String>, GithubError> {
    let path = tree_api_path(owner, repo, git_ref);
    let tree = client.get_json(Some(owner), &path).await?;
    if tree["truncated"].as_bool() == Some(true) {
        tracing::warn!(github.repo = %format!("{owner}/{repo}"), git.r#ref = %git_ref,
            "GitHub truncated the tree of {owner}/{repo}@{git_ref}: some files will not be matched");
    }
    let entries = tree["tree"].as_array().ok_or_else(|| {
        GithubError::invalid(format!("unexpected answer for {path}: no tree array"))
    })?;
    Ok(entries
        .iter()
        .filter(|e| e["type"] == "blob")
        .filter_map(|e| e["path"].as_str().map(str::to_string))
        .collect())
}

/// GitHub answers a directory's listing as JSON even when asked for raw content.
fn is_directory_listing(content_type: Option<&str>, bytes: &[u8]) -> bool {
    let json = content_type.is_some_and(|t| t.contains("json") && !t.contains("raw"));
    json && bytes.first() == Some(&b'[')
        && serde_json::from_slice::<Vec<serde_json::Value>>(bytes)
            .is_ok_and(|items| items.iter().all(|i| i.get("type").is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_listings_are_recognised() {
        let listing = br#"[{"type":"file","name":"a.yaml"}]"#;
        assert!(is_directory_listing(
            Some("application/json; charset=utf-8"),
            listing
        ));
        assert!(!is_directory_listing(
            Some("application/vnd.github.raw"),
            listing
        ));
        assert!(!is_directory_listing(
            Some("application/json"),
            b"{\"kind\":\"x\"}"
        ));
    }

    #[tokio::test]
    async fn handles_only_configured_hosts() {
        let reader = GithubReader::new(&[GithubIntegrationConfig::new("ghe.example.com")
            .with_api_base_url("https://ghe.example.com/api/v3")])
        .unwrap();
        assert!(reader.handles("https://ghe.example.com/a/b/blob/main/c.yaml"));
        assert!(
            reader.handles("https://github.com/a/b/blob/main/c.yaml"),
            "github.com is always there"
        );
        assert!(!reader.handles("https://gitlab.com/a/b/blob/main/c.yaml"));
        assert!(
            reader.handles("https://github.com/a/b"),
            "read_file explains what is wrong"
        );
        assert!(!reader.handles("https://raw.githubusercontent.com/a/b/main/c.yaml"));
        assert!(!reader.handles("not a url"));
        assert!(GithubReader::new(&[GithubIntegrationConfig::new("ghe.example.com")]).is_err());
    }

    #[tokio::test]
    async fn futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let reader = GithubReader::new(&[]).unwrap();
        let provider = crate::GithubProviderConfig::new("p", "acme");
        assert_send(&reader.read_file("https://github.com/a/b/blob/main/c", None));
        assert_send(&reader.expand_glob("https://github.com/a/b/blob/main/*"));
        assert_send(&reader.discover(&provider));
        assert_send(&reader.import_org("https://github.com", "acme"));
    }

    #[test]
    fn needs_a_runtime() {
        assert!(GithubReader::new(&[]).is_err());
    }
}
