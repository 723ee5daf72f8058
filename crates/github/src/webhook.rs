//! Webhooks: checking `X-Hub-Signature-256` and reading `push` and `repository` events into
//! what the catalog needs to refresh or drop locations.

use crate::error::GithubError;
use crate::glob::GlobPattern;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`, compared in
/// constant time. An empty secret or a missing or malformed header never verifies.
pub fn verify_signature(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    if secret.is_empty() {
        return false;
    }
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(signature) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// The `X-Hub-Signature-256` value GitHub sends for `body` under `secret`: `sha256=<hex>`.
/// For tests and benchmarks that play GitHub's part.
pub fn signature_header(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; kept total without a panic.
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A `push` event, reduced to what decides which locations to refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// `repository.full_name`, e.g. `acme/svc`.
    pub repo_full_name: String,
    /// `repository.html_url`, e.g. `https://github.com/acme/svc`.
    pub repo_html_url: Option<String>,
    pub default_branch: Option<String>,
    /// The full ref, e.g. `refs/heads/main` or `refs/tags/v1`.
    pub git_ref: String,
    /// The branch when the ref is a branch.
    pub branch: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The branch was created or deleted by this push.
    pub created: bool,
    pub deleted: bool,
    pub archived: bool,
    pub fork: bool,
    pub topics: Vec<String>,
    /// Paths per kind of change over all commits, each listed once, in first-seen order.
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
    /// `added`, `modified` and `removed` together, each path once.
    pub changed_paths: Vec<String>,
}

impl PushEvent {
    /// Whether the push went to `tracked_branch`, or to the default branch when `None`.
    pub fn is_on_branch(&self, tracked_branch: Option<&str>) -> bool {
        match (
            self.branch.as_deref(),
            tracked_branch.or(self.default_branch.as_deref()),
        ) {
            (Some(branch), Some(tracked)) => branch == tracked,
            _ => false,
        }
    }

    /// Changed paths matching a provider's `catalogPath` (a path or a glob).
    pub fn changed_paths_matching(&self, catalog_path: &str) -> Vec<String> {
        let pattern = GlobPattern::new(catalog_path);
        self.changed_paths
            .iter()
            .filter(|p| pattern.matches(p))
            .cloned()
            .collect()
    }
}

/// Reads a `push` payload (the raw body, after [`verify_signature`]).
pub fn parse_push_event(body: &[u8]) -> Result<PushEvent, GithubError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| GithubError::invalid(format!("push event is not JSON: {e}")))?;
    let repo = &v["repository"];
    let repo_full_name = repo["full_name"]
        .as_str()
        .ok_or_else(|| GithubError::invalid("push event has no repository.full_name"))?
        .to_string();
    let git_ref = v["ref"]
        .as_str()
        .ok_or_else(|| GithubError::invalid("push event has no ref"))?
        .to_string();
    let mut added = Vec::new();
    let mut modified = Vec::new();
    let mut removed = Vec::new();
    let commits = v["commits"].as_array().cloned().unwrap_or_default();
    for commit in commits.iter().chain(
        // GitHub sends head_commit in commits too; it only matters when commits is empty.
        commits
            .is_empty()
            .then_some(&v["head_commit"])
            .filter(|c| c.is_object()),
    ) {
        push_unique(&mut added, &commit["added"]);
        push_unique(&mut modified, &commit["modified"]);
        push_unique(&mut removed, &commit["removed"]);
    }
    let mut changed_paths = Vec::new();
    for path in added.iter().chain(&modified).chain(&removed) {
        if !changed_paths.contains(path) {
            changed_paths.push(path.clone());
        }
    }
    let text = |x: &Value| x.as_str().map(str::to_string);
    Ok(PushEvent {
        repo_html_url: text(&repo["html_url"]),
        // Push payloads carry `master_branch` too; `default_branch` is the documented one.
        default_branch: text(&repo["default_branch"]).or_else(|| text(&repo["master_branch"])),
        branch: git_ref.strip_prefix("refs/heads/").map(str::to_string),
        before: text(&v["before"]),
        after: text(&v["after"]),
        created: v["created"].as_bool().unwrap_or(false),
        deleted: v["deleted"].as_bool().unwrap_or(false),
        archived: repo["archived"].as_bool().unwrap_or(false),
        fork: repo["fork"].as_bool().unwrap_or(false),
        topics: string_list(&repo["topics"]),
        repo_full_name,
        git_ref,
        added,
        modified,
        removed,
        changed_paths,
    })
}

/// A `repository` event: the repository was archived, deleted, renamed, transferred, …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryEvent {
    /// `archived`, `unarchived`, `deleted`, `renamed`, `transferred`, `publicized`,
    /// `privatized`, `edited`, `created`.
    pub action: String,
    /// The repository's name after the event.
    pub repo_full_name: String,
    /// For `renamed`: the full name before (same owner, old name).
    pub previous_full_name: Option<String>,
    pub organization: Option<String>,
    pub default_branch: Option<String>,
    pub archived: bool,
    pub visibility: Option<String>,
}

/// Reads a `repository` payload.
pub fn parse_repository_event(body: &[u8]) -> Result<RepositoryEvent, GithubError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| GithubError::invalid(format!("repository event is not JSON: {e}")))?;
    let repo = &v["repository"];
    let action = v["action"]
        .as_str()
        .ok_or_else(|| GithubError::invalid("repository event has no action"))?
        .to_string();
    let repo_full_name = repo["full_name"]
        .as_str()
        .ok_or_else(|| GithubError::invalid("repository event has no repository.full_name"))?
        .to_string();
    let previous_full_name = v["changes"]["repository"]["name"]["from"]
        .as_str()
        .map(|old| match repo_full_name.split_once('/') {
            Some((owner, _)) => format!("{owner}/{old}"),
            None => old.to_string(),
        });
    let text = |x: &Value| x.as_str().map(str::to_string);
    Ok(RepositoryEvent {
        action,
        previous_full_name,
        organization: text(&v["organization"]["login"]),
        default_branch: text(&repo["default_branch"]),
        archived: repo["archived"].as_bool().unwrap_or(false),
        visibility: text(&repo["visibility"]),
        repo_full_name,
    })
}

fn string_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn push_unique(into: &mut Vec<String>, paths: &Value) {
    for path in string_list(paths) {
        if !into.contains(&path) {
            into.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn signatures() {
        // GitHub's documented example.
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(verify_signature(
            "It's a Secret to Everybody",
            b"Hello, World!",
            Some(header)
        ));
        let body = br#"{"ref":"refs/heads/main"}"#;
        let good = sign("s3cret", body);
        assert!(verify_signature("s3cret", body, Some(&good)));
        assert!(verify_signature(
            "s3cret",
            body,
            Some(&good.to_ascii_uppercase().replace("SHA256=", "sha256="))
        ));
        assert!(!verify_signature("other", body, Some(&good)));
        assert!(!verify_signature("s3cret", b"{}", Some(&good)));
        assert!(!verify_signature("s3cret", body, None));
        assert!(!verify_signature("s3cret", body, Some("sha1=abc")));
        assert!(!verify_signature("s3cret", body, Some("sha256=zz")));
        assert!(!verify_signature("s3cret", body, Some(&good[..20])));
        assert!(!verify_signature("", body, Some(&sign("", body))));
        assert_eq!(signature_header("s3cret", body), good);
    }

    const PUSH: &str = r#"{
      "ref": "refs/heads/main", "before": "a1", "after": "b2", "created": false, "deleted": false,
      "repository": { "full_name": "acme/svc", "html_url": "https://github.com/acme/svc",
                      "default_branch": "main", "master_branch": "main", "archived": false,
                      "fork": false, "topics": ["backstage"] },
      "commits": [
        { "added": ["docs/new.yaml"], "modified": ["catalog-info.yaml"], "removed": [] },
        { "added": [], "modified": ["catalog-info.yaml", "README.md"], "removed": ["old/catalog-info.yaml"] }
      ],
      "head_commit": { "added": [], "modified": ["README.md"], "removed": [] }
    }"#;

    #[test]
    fn push_events() {
        let e = parse_push_event(PUSH.as_bytes()).unwrap();
        assert_eq!(e.repo_full_name, "acme/svc");
        assert_eq!(e.branch.as_deref(), Some("main"));
        assert_eq!(e.added, ["docs/new.yaml"]);
        assert_eq!(e.modified, ["catalog-info.yaml", "README.md"]);
        assert_eq!(e.removed, ["old/catalog-info.yaml"]);
        assert_eq!(
            e.changed_paths,
            [
                "docs/new.yaml",
                "catalog-info.yaml",
                "README.md",
                "old/catalog-info.yaml"
            ]
        );
        assert!(e.is_on_branch(None));
        assert!(!e.is_on_branch(Some("develop")));
        assert_eq!(
            e.changed_paths_matching("/catalog-info.yaml"),
            ["catalog-info.yaml"]
        );
        assert_eq!(
            e.changed_paths_matching("**/catalog-info.yaml"),
            ["catalog-info.yaml", "old/catalog-info.yaml"]
        );
        assert_eq!(e.topics, ["backstage"]);
    }

    #[test]
    fn tag_pushes_and_bad_payloads() {
        let tag = parse_push_event(
            br#"{"ref":"refs/tags/v1","repository":{"full_name":"a/b"},"commits":[]}"#,
        )
        .unwrap();
        assert_eq!(tag.branch, None);
        assert!(!tag.is_on_branch(Some("main")));
        assert!(tag.changed_paths.is_empty());
        assert!(parse_push_event(b"not json").is_err());
        assert!(parse_push_event(br#"{"ref":"refs/heads/x"}"#).is_err());
        assert!(parse_push_event(br#"{"repository":{"full_name":"a/b"}}"#).is_err());
    }

    #[test]
    fn repository_events() {
        let e = parse_repository_event(
            br#"{"action":"renamed","changes":{"repository":{"name":{"from":"old"}}},
                 "repository":{"full_name":"acme/new","default_branch":"main","archived":false,
                 "visibility":"public"},"organization":{"login":"acme"}}"#,
        )
        .unwrap();
        assert_eq!(e.action, "renamed");
        assert_eq!(e.previous_full_name.as_deref(), Some("acme/old"));
        assert_eq!(e.organization.as_deref(), Some("acme"));
        assert!(parse_repository_event(br#"{"repository":{}}"#).is_err());
    }
}
