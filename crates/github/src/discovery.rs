//! Repository discovery (Backstage's `GithubEntityProvider`, over REST): list an organization's
//! repositories 100 per page, apply the provider's filters, and name the catalog file(s) of each
//! match by blob URL.

use crate::client::{Fetched, ACCEPT_RAW};
use crate::config::{GithubProviderConfig, TopicFilter};
use crate::error::GithubError;
use crate::glob::GlobPattern;
use crate::reader::{tree_files, GithubReader};
use crate::url::{encode_strict, GithubUrl};
use futures_util::{stream, StreamExt, TryStreamExt};

/// One Location the provider should emit (type `url`, presence optional unless validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredLocation {
    /// `OWNER/REPO` as GitHub spells it.
    pub repo_full_name: String,
    /// `https://HOST/OWNER/REPO/blob/BRANCH/PATH`.
    pub url: String,
    /// The branch the URL reads: `filters.branch` or the repository's default branch.
    pub branch: String,
    /// When the repository was last pushed to (GitHub's `pushed_at`), to skip unchanged repos.
    pub pushed_at: Option<String>,
}

/// The fields of `GET /orgs/{org}/repos` discovery needs.
#[derive(Debug, Clone)]
struct RepoSummary {
    name: String,
    full_name: String,
    archived: bool,
    fork: bool,
    visibility: String,
    topics: Vec<String>,
    default_branch: Option<String>,
    pushed_at: Option<String>,
}

impl RepoSummary {
    fn from_json(v: &serde_json::Value) -> Option<Self> {
        let name = v["name"].as_str()?.to_string();
        let full_name = v["full_name"].as_str()?.to_string();
        let visibility = match v["visibility"].as_str() {
            Some(vis) => vis.to_string(),
            // Older Enterprise servers only say `private`.
            None if v["private"].as_bool() == Some(true) => "private".to_string(),
            None => "public".to_string(),
        };
        Some(Self {
            name,
            full_name,
            archived: v["archived"].as_bool().unwrap_or(false),
            fork: v["fork"].as_bool().unwrap_or(false),
            visibility,
            topics: v["topics"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            default_branch: v["default_branch"]
                .as_str()
                .filter(|b| !b.is_empty())
                .map(str::to_string),
            pushed_at: v["pushed_at"].as_str().map(str::to_string),
        })
    }
}

impl GithubReader {
    /// Lists the provider's organization and returns one location per matching repository and
    /// catalog file, sorted by repository and URL. Any failure other than a missing branch or
    /// file fails the whole run, so a caller applying a full mutation never drops locations
    /// because GitHub was briefly unavailable or rate-limited.
    ///
    /// With `app` instead of `organization`, every organization that GitHub App is installed
    /// on is discovered, as Backstage does.
    pub async fn discover(
        &self,
        provider: &GithubProviderConfig,
    ) -> Result<Vec<DiscoveredLocation>, GithubError> {
        provider.validate()?;
        let orgs = match (&provider.organization, provider.app) {
            (Some(org), _) => vec![org.clone()],
            (None, app) => self
                .installed_organizations(&provider.host, app)
                .await
                .map_err(|e| {
                    e.context(&format!(
                        "catalog.providers.github.{}: could not list the organizations of the \
                         GitHub App",
                        provider.id
                    ))
                })?,
        };
        let mut found = Vec::new();
        for org in &orgs {
            found.extend(self.discover_org(provider, org).await?);
        }
        found.sort_by(|a, b| (&a.repo_full_name, &a.url).cmp(&(&b.repo_full_name, &b.url)));
        Ok(found)
    }

    async fn discover_org(
        &self,
        provider: &GithubProviderConfig,
        org: &str,
    ) -> Result<Vec<DiscoveredLocation>, GithubError> {
        let client = self.client_for(&provider.host)?;
        let context = format!("Could not discover repositories of {org}");
        let listed = client
            .get_all_pages(
                Some(org),
                &format!("/orgs/{}/repos?per_page=100&type=all", encode_strict(org)),
            )
            .await
            .map_err(|e| e.context(&context))?;
        let repos: Vec<RepoSummary> = listed.iter().filter_map(RepoSummary::from_json).collect();
        let matching = filter_repositories(provider, repos)?;
        tracing::info!(provider.id = %provider.id, github.org = %org,
            repos.listed = listed.len(), repos.matching = matching.len(),
            "Read GitHub repositories");

        let catalog_path = provider.catalog_path.trim_start_matches('/').to_string();
        let glob = provider
            .catalog_path_has_glob()
            .then(|| GlobPattern::new(&catalog_path));
        let concurrency = self.options().max_concurrency.max(1);
        let found: Vec<DiscoveredLocation> = stream::iter(matching)
            .map(|repo| {
                let glob = glob.as_ref();
                let catalog_path = catalog_path.as_str();
                async move {
                    let branch = provider
                        .filters
                        .branch
                        .clone()
                        .or_else(|| repo.default_branch.clone())
                        .unwrap_or_default();
                    let paths = match glob {
                        Some(pattern) => {
                            self.matching_files(provider, &repo, &branch, pattern, catalog_path)
                                .await?
                        }
                        None if provider.validate_locations_exist => {
                            self.existing_file(provider, &repo, &branch, catalog_path)
                                .await?
                        }
                        None => vec![catalog_path.to_string()],
                    };
                    let (owner, name) = repo
                        .full_name
                        .split_once('/')
                        .unwrap_or((org, repo.name.as_str()));
                    Ok::<_, GithubError>(
                        paths
                            .iter()
                            .map(|p| DiscoveredLocation {
                                repo_full_name: repo.full_name.clone(),
                                url: GithubUrl::blob(&provider.host, owner, name, &branch, p)
                                    .blob_url(),
                                branch: branch.clone(),
                                pushed_at: repo.pushed_at.clone(),
                            })
                            .collect::<Vec<_>>(),
                    )
                }
            })
            .buffer_unordered(concurrency)
            .try_concat()
            .await
            .map_err(|e| e.context(&context))?;
        Ok(found)
    }

    /// Files of the repository's branch matching the glob; a missing branch or an empty
    /// repository has none. Memoised by `pushed_at`.
    async fn matching_files(
        &self,
        provider: &GithubProviderConfig,
        repo: &RepoSummary,
        branch: &str,
        pattern: &GlobPattern,
        catalog_path: &str,
    ) -> Result<Vec<String>, GithubError> {
        let memo_key = memo_key(provider, repo, branch, catalog_path);
        if let Some(paths) = memo_key.as_deref().and_then(|k| self.memo_get(k)) {
            return Ok(paths.as_ref().clone());
        }
        let client = self.client_for(&provider.host)?;
        let (owner, name) = split_full_name(&repo.full_name);
        let files = match tree_files(&client, owner, name, branch).await {
            Ok(files) => files,
            Err(GithubError::NotFound { message }) => {
                tracing::debug!(github.repo = %repo.full_name, "no tree: {message}");
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let mut paths: Vec<String> = files.into_iter().filter(|p| pattern.matches(p)).collect();
        paths.sort();
        if let Some(key) = memo_key {
            self.memo_put(key, paths.clone());
        }
        Ok(paths)
    }

    /// `[catalog_path]` when the file exists on the branch, else nothing. Reads the file through
    /// the same cache `read_file` uses, so the catalog's next read of it is a 304.
    async fn existing_file(
        &self,
        provider: &GithubProviderConfig,
        repo: &RepoSummary,
        branch: &str,
        catalog_path: &str,
    ) -> Result<Vec<String>, GithubError> {
        let memo_key = memo_key(provider, repo, branch, catalog_path);
        if let Some(paths) = memo_key.as_deref().and_then(|k| self.memo_get(k)) {
            return Ok(paths.as_ref().clone());
        }
        let client = self.client_for(&provider.host)?;
        let (owner, name) = split_full_name(&repo.full_name);
        let url = GithubUrl::blob(&provider.host, owner, name, branch, catalog_path);
        let paths = match client
            .get(Some(owner), &url.contents_api_path(), ACCEPT_RAW, None)
            .await
        {
            Ok(Fetched::Body(_) | Fetched::NotModified) => vec![catalog_path.to_string()],
            Err(GithubError::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        if let Some(key) = memo_key {
            self.memo_put(key, paths.clone());
        }
        Ok(paths)
    }
}

fn split_full_name(full_name: &str) -> (&str, &str) {
    full_name.split_once('/').unwrap_or(("", full_name))
}

/// Without `pushed_at` nothing can be memoised.
fn memo_key(
    provider: &GithubProviderConfig,
    repo: &RepoSummary,
    branch: &str,
    catalog_path: &str,
) -> Option<String> {
    let pushed_at = repo.pushed_at.as_deref()?;
    Some(format!(
        "{}\n{}\n{branch}\n{catalog_path}\n{pushed_at}",
        provider.host, repo.full_name
    ))
}

/// Backstage's `matchesFilters`: archived, name regex, topics, forks, visibility, and a default
/// branch (an empty repository has none).
fn filter_repositories(
    provider: &GithubProviderConfig,
    repos: Vec<RepoSummary>,
) -> Result<Vec<RepoSummary>, GithubError> {
    let regex = provider.repository_regex()?;
    let filters = &provider.filters;
    let visibilities: Vec<String> = filters
        .visibility
        .iter()
        .flatten()
        .map(|v| v.to_ascii_lowercase())
        .collect();
    Ok(repos
        .into_iter()
        .filter(|r| filters.allow_archived || !r.archived)
        .filter(|r| regex.as_ref().is_none_or(|re| re.is_match(&r.name)))
        .filter(|r| satisfies_topic_filter(&r.topics, &filters.topic))
        .filter(|r| filters.allow_forks || !r.fork)
        .filter(|r| {
            visibilities.is_empty() || visibilities.contains(&r.visibility.to_ascii_lowercase())
        })
        .filter(|r| r.default_branch.is_some())
        .collect())
}

/// Backstage's topic filter: with only `include`, some topic must be included; with only
/// `exclude`, no topic may be excluded; with both, exclude wins.
fn satisfies_topic_filter(topics: &[String], filter: &TopicFilter) -> bool {
    let include = filter.include.as_deref().unwrap_or_default();
    let exclude = filter.exclude.as_deref().unwrap_or_default();
    if topics.iter().any(|t| exclude.contains(t)) {
        return false;
    }
    include.is_empty() || topics.iter().any(|t| include.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn repo(name: &str, extra: serde_json::Value) -> RepoSummary {
        let mut v = json!({
            "name": name, "full_name": format!("acme/{name}"), "archived": false, "fork": false,
            "visibility": "public", "topics": [], "default_branch": "main",
            "pushed_at": "2026-01-01T00:00:00Z"
        });
        if let (Some(obj), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
            for (k, val) in extra {
                obj.insert(k.clone(), val.clone());
            }
        }
        RepoSummary::from_json(&v).unwrap()
    }

    fn names(provider: &GithubProviderConfig, repos: Vec<RepoSummary>) -> Vec<String> {
        filter_repositories(provider, repos)
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect()
    }

    #[test]
    fn filters_like_backstage() {
        let repos = || {
            vec![
                repo("svc-a", json!({"topics": ["backstage"]})),
                repo("svc-old", json!({"archived": true})),
                repo("svc-fork", json!({"fork": true})),
                repo("svc-private", json!({"visibility": "private"})),
                repo("svc-legacy", json!({"topics": ["backstage", "legacy"]})),
                repo("empty", json!({"default_branch": null})),
                repo("lib-b", json!({})),
            ]
        };
        let mut p = GithubProviderConfig::new("p", "acme");
        assert_eq!(
            names(&p, repos()),
            ["svc-a", "svc-fork", "svc-private", "svc-legacy", "lib-b"]
        );
        p.filters.repository = Some("svc-.*".into());
        p.filters.allow_forks = false;
        assert_eq!(names(&p, repos()), ["svc-a", "svc-private", "svc-legacy"]);
        p.filters.topic.include = Some(vec!["backstage".into()]);
        p.filters.topic.exclude = Some(vec!["legacy".into()]);
        assert_eq!(names(&p, repos()), ["svc-a"]);
        let mut v = GithubProviderConfig::new("p", "acme");
        v.filters.visibility = Some(vec!["Private".into()]);
        v.filters.allow_archived = true;
        assert_eq!(names(&v, repos()), ["svc-private"]);
    }

    #[test]
    fn topic_filter_cases() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let f = |inc: Option<&[&str]>, exc: Option<&[&str]>| TopicFilter {
            include: inc.map(t),
            exclude: exc.map(t),
        };
        assert!(satisfies_topic_filter(&t(&[]), &f(None, None)));
        assert!(!satisfies_topic_filter(&t(&[]), &f(Some(&["a"]), None)));
        assert!(satisfies_topic_filter(&t(&[]), &f(None, Some(&["a"]))));
        assert!(satisfies_topic_filter(
            &t(&["a", "b"]),
            &f(Some(&["b"]), None)
        ));
        assert!(!satisfies_topic_filter(
            &t(&["a", "b"]),
            &f(Some(&["a"]), Some(&["b"]))
        ));
    }

    #[test]
    fn visibility_falls_back_to_private_flag() {
        let r = RepoSummary::from_json(&json!({
            "name": "x", "full_name": "o/x", "private": true, "default_branch": "main"
        }))
        .unwrap();
        assert_eq!(r.visibility, "private");
        assert!(RepoSummary::from_json(&json!({"name": "x"})).is_none());
    }
}
