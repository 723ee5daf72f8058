//! GitHub webhook events: the signature is checked before anything is parsed; a `push` that
//! touches catalog files schedules just the locations that read them (and wakes the engine);
//! `repository` events (deleted, archived, renamed, …) start a discovery run.

use super::GithubCatalog;
use crate::error::CatalogError;
use crate::store;
use portico_github::{
    parse_push_event, parse_repository_event, verify_signature, GithubUrl, PushEvent,
};
use portico_store::now_millis;
use secrecy::ExposeSecret;
use std::collections::BTreeSet;

/// Why an event was refused.
#[derive(Debug, thiserror::Error)]
pub enum GithubEventError {
    #[error(
        "No GitHub webhook secret is configured (portico.github.webhookSecret or \
         integrations.github[].apps[].webhookSecret); events are refused"
    )]
    NoSecret,
    #[error("Missing or invalid X-Hub-Signature-256 signature")]
    BadSignature,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// What an accepted event led to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventOutcome {
    /// Entities (Locations) scheduled for processing now.
    pub refreshed: Vec<String>,
    /// Discovery providers whose run was started.
    pub discovery: Vec<String>,
}

impl GithubCatalog {
    /// Handles one webhook delivery: `event` is `X-GitHub-Event`, `signature` is
    /// `X-Hub-Signature-256`, `body` the raw request body.
    #[tracing::instrument(skip_all, fields(github.event = %event, github.delivery = delivery.unwrap_or("")))]
    pub async fn handle_event(
        &self,
        event: &str,
        delivery: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<EventOutcome, GithubEventError> {
        let secret = self
            .settings()
            .webhook_secret()
            .ok_or(GithubEventError::NoSecret)?;
        if !verify_signature(secret.expose_secret(), body, signature) {
            tracing::warn!(github.event = %event, "GitHub event refused: bad or missing signature");
            return Err(GithubEventError::BadSignature);
        }
        let invalid = |e: portico_github::GithubError| GithubEventError::Invalid(e.to_string());
        let outcome = match event {
            "push" => {
                self.handle_push(parse_push_event(body).map_err(invalid)?)
                    .await?
            }
            "repository" => {
                let event = parse_repository_event(body).map_err(invalid)?;
                let owner = event
                    .repo_full_name
                    .split_once('/')
                    .map(|(o, _)| o.to_string())
                    .or(event.organization.clone())
                    .unwrap_or_default();
                tracing::info!(github.repo = %event.repo_full_name, action = %event.action,
                    "GitHub repository event");
                // A transfer moves the repository out of an organization we cannot name.
                let all = event.action == "transferred";
                EventOutcome {
                    refreshed: Vec::new(),
                    discovery: self.trigger_discovery_for(None, &owner, all),
                }
            }
            _ => EventOutcome::default(),
        };
        Ok(outcome)
    }

    async fn handle_push(&self, event: PushEvent) -> Result<EventOutcome, GithubEventError> {
        let Some(branch) = event.branch.clone() else {
            return Ok(EventOutcome::default());
        };
        let Some((owner, repo)) = event.repo_full_name.split_once('/') else {
            return Err(GithubEventError::Invalid(format!(
                "push event names no owner in repository.full_name '{}'",
                event.repo_full_name
            )));
        };
        let host = event
            .repo_html_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_else(|| portico_github::config::GITHUB_HOST.to_string());
        let refreshed = if event.changed_paths.is_empty() {
            Vec::new()
        } else {
            let pushed = PushedFiles {
                host: host.clone(),
                owner: owner.to_string(),
                repo: repo.to_string(),
                branch: branch.clone(),
                event: event.clone(),
            };
            self.inner
                .db
                .write(move |conn| {
                    let pattern = pushed.like_pattern();
                    let rows = store::entities_with_location_key_like(conn, &pattern)?;
                    let mut refresh = BTreeSet::new();
                    for (entity_ref, key) in rows {
                        if !pushed.touches(&key) {
                            continue;
                        }
                        let (parents, _) = store::parents_of(conn, &entity_ref)?;
                        if parents.is_empty() {
                            // Emitted by a provider (discovery, registration, config): a
                            // Location whose own target is the changed file.
                            if entity_ref.starts_with("location:") {
                                refresh.insert(entity_ref);
                            }
                        } else {
                            // Read from the changed file: the Location that read it.
                            refresh.extend(parents);
                        }
                    }
                    let refresh: Vec<String> = refresh.into_iter().collect();
                    store::schedule_refresh_many(conn, &refresh, now_millis())?;
                    Ok::<_, CatalogError>(refresh)
                })
                .await?
        };
        if !refreshed.is_empty() {
            self.inner.engine.wake();
        }
        // Files added or removed change what discovery finds when it checks for them.
        let added_or_removed = event.added.iter().chain(&event.removed).count() > 0;
        let discovery = if added_or_removed {
            self.trigger_discovery_for(Some((&host, &event)), owner, false)
        } else {
            Vec::new()
        };
        tracing::info!(github.repo = %event.repo_full_name, git.branch = %branch,
            files = event.changed_paths.len(), locations = refreshed.len(),
            discovery = ?discovery, "GitHub push handled");
        Ok(EventOutcome {
            refreshed,
            discovery,
        })
    }

    /// Starts discovery for the providers of `owner` (every provider when `all`). For a push,
    /// only providers that check files (globs or `validateLocationsExist`) on the pushed branch
    /// and whose `catalogPath` matches an added or removed file: the others emit the same
    /// Locations whatever the files are.
    fn trigger_discovery_for(
        &self,
        push: Option<(&str, &PushEvent)>,
        owner: &str,
        all: bool,
    ) -> Vec<String> {
        let mut started = Vec::new();
        for provider in &self.settings().providers {
            // A provider of a GitHub App's organizations may cover any owner.
            let org_matches = provider
                .organization
                .as_deref()
                .map_or(provider.app.is_some(), |o| o.eq_ignore_ascii_case(owner));
            if !(all || org_matches) {
                continue;
            }
            if let Some((host, event)) = push {
                let checks_files =
                    provider.validate_locations_exist || provider.catalog_path_has_glob();
                let on_branch = event.is_on_branch(provider.filters.branch.as_deref());
                let mut added_or_removed = event.clone();
                added_or_removed.changed_paths =
                    event.added.iter().chain(&event.removed).cloned().collect();
                let touches = !added_or_removed
                    .changed_paths_matching(&provider.catalog_path)
                    .is_empty();
                if !(provider.host.eq_ignore_ascii_case(host)
                    && checks_files
                    && on_branch
                    && touches)
                {
                    continue;
                }
            }
            self.trigger_discovery(&provider.id);
            started.push(provider.id.clone());
        }
        started
    }
}

/// The files one push changed in one repository and branch.
struct PushedFiles {
    host: String,
    owner: String,
    repo: String,
    branch: String,
    event: PushEvent,
}

impl PushedFiles {
    /// A `LIKE` pattern (lowercased, `\`-escaped) narrowing location keys to the repository;
    /// [`touches`](Self::touches) decides exactly.
    fn like_pattern(&self) -> String {
        let escape = |s: &str| {
            s.to_ascii_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        };
        format!(
            "url:%://{}/{}/{}/%",
            escape(&self.host),
            escape(&self.owner),
            escape(&self.repo)
        )
    }

    /// Whether a location key (`url:<GitHub URL>`) names a file this push changed: the same
    /// host, repository (GitHub ignores case there) and branch, and a changed path equal to
    /// the URL's path or matching it as a glob.
    fn touches(&self, location_key: &str) -> bool {
        let Some(url) = location_key
            .strip_prefix("url:")
            .and_then(|u| GithubUrl::parse(u).ok())
        else {
            return false;
        };
        if !(url.host.eq_ignore_ascii_case(&self.host)
            && url.owner.eq_ignore_ascii_case(&self.owner)
            && url.repo.eq_ignore_ascii_case(&self.repo)
            && url.git_ref == self.branch)
        {
            return false;
        }
        if self.event.changed_paths.contains(&url.path) {
            return true;
        }
        url.path.contains(['*', '?', '[', '{'])
            && !self.event.changed_paths_matching(&url.path).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pushed(paths: &[&str]) -> PushedFiles {
        let body = serde_json::json!({
            "ref": "refs/heads/main",
            "repository": {"full_name": "Acme/svc_1", "html_url": "https://github.com/Acme/svc_1",
                           "default_branch": "main"},
            "commits": [{"added": [], "modified": paths, "removed": []}]
        });
        PushedFiles {
            host: "github.com".into(),
            owner: "Acme".into(),
            repo: "svc_1".into(),
            branch: "main".into(),
            event: parse_push_event(body.to_string().as_bytes()).unwrap(),
        }
    }

    #[test]
    fn like_patterns_are_lowercased_and_escaped() {
        assert_eq!(
            pushed(&[]).like_pattern(),
            "url:%://github.com/acme/svc\\_1/%"
        );
    }

    #[test]
    fn keys_match_exact_paths_and_globs_on_the_pushed_branch() {
        let p = pushed(&["catalog-info.yaml", "services/a/catalog-info.yaml"]);
        assert!(p.touches("url:https://github.com/acme/SVC_1/blob/main/catalog-info.yaml"));
        assert!(
            p.touches("url:https://github.com/Acme/svc_1/blob/main/services/**/catalog-info.yaml")
        );
        assert!(!p.touches("url:https://github.com/Acme/svc_1/blob/dev/catalog-info.yaml"));
        assert!(!p.touches("url:https://github.com/Acme/svc_1/blob/main/other.yaml"));
        assert!(!p.touches("url:https://github.com/Acme/svc_12/blob/main/catalog-info.yaml"));
        assert!(!p.touches("url:https://ghe.example.com/Acme/svc_1/blob/main/catalog-info.yaml"));
        assert!(!p.touches("file:/tmp/catalog-info.yaml"));
        assert!(!p.touches("url:https://github.com/alice"));
    }
}
