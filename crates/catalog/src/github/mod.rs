//! GitHub in the catalog: the repository-discovery and org providers (each run a full
//! mutation, on its schedule and once at start), webhook events that refresh just the
//! locations a push touched, and the API quota. Talking to GitHub (REST, ETags, rate limits,
//! URLs) is `portico-github`'s job; reading `url` locations on GitHub hosts is `read/`'s.

mod events;
mod schedule;
mod settings;

pub use events::{EventOutcome, GithubEventError};
pub use schedule::ScheduledRun;
pub use settings::GithubSettings;

use crate::engine::Engine;
use crate::error::CatalogError;
use crate::processing::root_location_entity;
use crate::store;
use portico_github::{
    DiscoveredLocation, GithubError, GithubOrgProviderConfig, GithubProviderConfig, GithubReader,
    RateQuota,
};
use portico_store::{now_millis, Db};
use schedule::{run_with_lease, Schedule};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why a provider run applied nothing.
#[derive(Debug, thiserror::Error)]
pub enum GithubProviderError {
    #[error("no GitHub provider with id '{0}' is configured")]
    UnknownProvider(String),
    #[error(transparent)]
    Github(#[from] GithubError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// What one discovery run applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryRun {
    pub provider_id: String,
    /// Location entities emitted (one per discovered catalog file).
    pub locations: usize,
    pub duration: Duration,
}

/// What one org import applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgImportRun {
    pub provider_id: String,
    pub users: usize,
    pub groups: usize,
}

/// One GitHub host's API quota, as last reported (or asked for with the free `/rate_limit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostQuota {
    pub host: String,
    pub quota: Option<RateQuota>,
    /// Why the quota could not be asked for, when it was not known yet.
    pub error: Option<String>,
}

/// The providers that run on a schedule.
#[derive(Debug, Clone, Copy)]
enum ScheduledProvider {
    Discovery,
    OrgImport,
}

impl ScheduledProvider {
    /// Where the provider is configured, for messages.
    fn config_key(self) -> &'static str {
        match self {
            ScheduledProvider::Discovery => "catalog.providers.github",
            ScheduledProvider::OrgImport => "catalog.providers.githubOrg",
        }
    }

    /// The key of its schedule's lease.
    fn task_key(self, id: &str) -> String {
        match self {
            ScheduledProvider::Discovery => discovery_provider_key(id),
            ScheduledProvider::OrgImport => org_provider_key(id),
        }
    }
}

/// The provider key of a discovery provider's full mutations.
pub fn discovery_provider_key(id: &str) -> String {
    format!("github-provider:{id}")
}

/// The provider key of an org provider's full mutations.
pub fn org_provider_key(id: &str) -> String {
    format!("github-org-provider:{id}")
}

/// The catalog's GitHub use cases. Cheap to clone.
#[derive(Clone)]
pub struct GithubCatalog {
    inner: Arc<Inner>,
}

struct Inner {
    reader: GithubReader,
    engine: Engine,
    db: Db,
    settings: GithubSettings,
    /// One run at a time per provider key: a run a webhook triggers waits for a scheduled one.
    runs: HashMap<String, tokio::sync::Mutex<()>>,
    /// Discovery runs started by webhooks, so tests and the benchmark can wait for them.
    triggered: Mutex<Vec<JoinHandle<()>>>,
    /// Scheduled runs this replica claimed, oldest first (the last thousand).
    scheduled_runs: Mutex<Vec<ScheduledRun>>,
}

impl GithubCatalog {
    /// `reader` must be the one the catalog's [`LocationReader`](crate::read::LocationReader)
    /// reads GitHub URLs with, so discovery's existence checks and the reads share one ETag cache.
    pub fn new(reader: GithubReader, engine: Engine, db: Db, settings: GithubSettings) -> Self {
        let runs = settings
            .providers
            .iter()
            .map(|p| discovery_provider_key(&p.id))
            .chain(
                settings
                    .org_providers
                    .iter()
                    .map(|p| org_provider_key(&p.id)),
            )
            .map(|key| (key, tokio::sync::Mutex::new(())))
            .collect();
        Self {
            inner: Arc::new(Inner {
                reader,
                engine,
                db,
                settings,
                runs,
                triggered: Mutex::new(Vec::new()),
                scheduled_runs: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn reader(&self) -> &GithubReader {
        &self.inner.reader
    }

    pub fn settings(&self) -> &GithubSettings {
        &self.inner.settings
    }

    fn provider(&self, id: &str) -> Result<&GithubProviderConfig, GithubProviderError> {
        self.inner
            .settings
            .providers
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| GithubProviderError::UnknownProvider(id.to_string()))
    }

    fn org_provider(&self, id: &str) -> Result<&GithubOrgProviderConfig, GithubProviderError> {
        self.inner
            .settings
            .org_providers
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| GithubProviderError::UnknownProvider(id.to_string()))
    }

    async fn lock_run(&self, key: &str) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.inner.runs.get(key) {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    /// Lists the provider's organization and replaces the provider's Location entities with
    /// one per discovered catalog file. On any failure (rate limit, 5xx, timeout) nothing is
    /// applied, so a transient problem never removes a repository's entities.
    #[tracing::instrument(skip_all, fields(provider.id = %id))]
    pub async fn run_discovery(&self, id: &str) -> Result<DiscoveryRun, GithubProviderError> {
        let provider = self.provider(id)?;
        let key = discovery_provider_key(id);
        let _running = self.lock_run(&key).await;
        let started = Instant::now();
        let found = match self.inner.reader.discover(provider).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(provider.id = %id, retryable = e.is_retryable(),
                    "GitHub discovery failed; the provider's locations are left as they are: {e}");
                return Err(e.into());
            }
        };
        let presence = if provider.validate_locations_exist {
            "required"
        } else {
            "optional"
        };
        let entities: Vec<Value> = found
            .iter()
            .map(|l| discovered_location_entity(l, presence))
            .collect();
        let locations = entities.len();
        self.inner
            .engine
            .apply_full_mutation(&key, entities)
            .await?;
        let duration = started.elapsed();
        self.log_quota(&provider.host, "discovery");
        tracing::info!(provider.id = %id, locations, duration_ms = duration.as_millis() as u64,
            "GitHub discovery applied");
        Ok(DiscoveryRun {
            provider_id: id.to_string(),
            locations,
            duration,
        })
    }

    /// Imports the org provider's organizations' users and teams as `User` and `Group`
    /// entities, replacing what it emitted before. Any failure applies nothing.
    #[tracing::instrument(skip_all, fields(provider.id = %id))]
    pub async fn run_org_import(&self, id: &str) -> Result<OrgImportRun, GithubProviderError> {
        let provider = self.org_provider(id)?;
        let key = org_provider_key(id);
        let _running = self.lock_run(&key).await;
        let orgs = if provider.orgs.is_empty() {
            // As Backstage: every organization the host's GitHub Apps are installed on.
            let host = web_host(&provider.github_url).ok_or_else(|| GithubError::Invalid {
                message: format!(
                    "catalog.providers.githubOrg.{id}: invalid githubUrl '{}'",
                    provider.github_url
                ),
            })?;
            match self.inner.reader.installed_organizations(&host, None).await {
                Ok(orgs) => orgs,
                Err(e) => {
                    tracing::warn!(provider.id = %id,
                        "GitHub org import failed; the provider's entities are left as they are: {e}");
                    return Err(GithubError::Invalid {
                        message: format!(
                            "catalog.providers.githubOrg.{id}: orgs is empty, so the \
                             organizations are those the GitHub Apps are installed on: {e}"
                        ),
                    }
                    .into());
                }
            }
        } else {
            provider.orgs.clone()
        };
        let mut imported = Vec::new();
        for org in &orgs {
            match self
                .inner
                .reader
                .import_org(&provider.github_url, org)
                .await
            {
                Ok(entities) => imported.push(entities),
                Err(e) => {
                    tracing::warn!(provider.id = %id, github.org = %org,
                        "GitHub org import failed; the provider's entities are left as they are: {e}");
                    return Err(e.into());
                }
            }
        }
        let entities = merge_org_entities(imported);
        let users = entities.iter().filter(|e| e["kind"] == "User").count();
        let groups = entities.len() - users;
        self.inner
            .engine
            .apply_full_mutation(&key, entities)
            .await?;
        if let Some(host) = web_host(&provider.github_url) {
            self.log_quota(&host, "org import");
        }
        tracing::info!(provider.id = %id, users, groups, "GitHub org import applied");
        Ok(OrgImportRun {
            provider_id: id.to_string(),
            users,
            groups,
        })
    }

    /// Runs every discovery provider once, in order; failures are logged and returned.
    pub async fn run_all_discovery(&self) -> Vec<Result<DiscoveryRun, GithubProviderError>> {
        let mut results = Vec::new();
        for provider in &self.inner.settings.providers {
            results.push(self.run_discovery(&provider.id).await);
        }
        results
    }

    /// Runs every org provider once, in order.
    pub async fn run_all_org_imports(&self) -> Vec<Result<OrgImportRun, GithubProviderError>> {
        let mut results = Vec::new();
        for provider in &self.inner.settings.org_providers {
            results.push(self.run_org_import(&provider.id).await);
        }
        results
    }

    /// Schedules every Location a discovery provider emitted for processing now (their reads
    /// are conditional: unchanged files cost no quota). Returns how many were scheduled.
    pub async fn refresh_provider_locations(&self, id: &str) -> Result<usize, GithubProviderError> {
        self.provider(id)?;
        let key = discovery_provider_key(id);
        let scheduled = self
            .inner
            .db
            .write(move |conn| {
                let refs = store::entities_emitted_by_provider(conn, &key)?;
                store::schedule_refresh_many(conn, &refs, now_millis())
            })
            .await?;
        self.inner.engine.wake();
        Ok(scheduled)
    }

    /// Starts every provider's schedule. Runs are shared with the other replicas on the same
    /// database through leases (`task_leases`): each due run happens on one replica. Returns
    /// the schedule loops, which end when `cancel` fires (after a run in progress).
    pub fn spawn_schedules(&self, cancel: CancellationToken) -> Vec<JoinHandle<()>> {
        let settings = &self.inner.settings;
        let discovery = settings
            .providers
            .iter()
            .map(|p| (ScheduledProvider::Discovery, &p.id, p.schedule.as_ref()));
        let org_import = settings
            .org_providers
            .iter()
            .map(|p| (ScheduledProvider::OrgImport, &p.id, p.schedule.as_ref()));
        discovery
            .chain(org_import)
            .map(|(kind, id, schedule)| {
                let what = format!("{}.{id}", kind.config_key());
                let schedule = self.schedule_or_default(schedule, &what);
                let this = self.clone();
                let id = id.clone();
                self.spawn_schedule(kind.task_key(&id), schedule, cancel.clone(), move || {
                    let this = this.clone();
                    let id = id.clone();
                    // Failures are logged where they happen; the next run tries again.
                    async move { this.run_scheduled(kind, &id).await }
                })
            })
            .collect()
    }

    async fn run_scheduled(&self, kind: ScheduledProvider, id: &str) -> Result<(), String> {
        let outcome = match kind {
            ScheduledProvider::Discovery => self.run_discovery(id).await.map(|_| ()),
            ScheduledProvider::OrgImport => self.run_org_import(id).await.map(|_| ()),
        };
        outcome.map_err(|e| e.to_string())
    }

    fn spawn_schedule<F, Fut>(
        &self,
        task_id: String,
        schedule: Schedule,
        cancel: CancellationToken,
        run: F,
    ) -> JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        let this = self.clone();
        let on_claim = move |claimed: ScheduledRun| {
            tracing::info!(task.id = %claimed.task_id, scheduled_at = claimed.scheduled_at,
                "claimed a scheduled run");
            let mut runs = this
                .inner
                .scheduled_runs
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if runs.len() >= 1000 {
                runs.remove(0);
            }
            runs.push(claimed);
        };
        tokio::spawn(run_with_lease(
            self.inner.db.clone(),
            task_id,
            schedule,
            cancel,
            on_claim,
            run,
        ))
    }

    /// The schedule of a provider; settings from config were checked already, so the
    /// default (with a warning) is for settings built in code only.
    fn schedule_or_default(
        &self,
        config: Option<&portico_github::ScheduleConfig>,
        what: &str,
    ) -> Schedule {
        Schedule::from_config(config, what).unwrap_or_else(|e| {
            tracing::warn!(provider = %what, "{e}; using the default schedule");
            Schedule::default()
        })
    }

    /// The scheduled runs this replica claimed (the last thousand), oldest first.
    pub fn scheduled_runs(&self) -> Vec<ScheduledRun> {
        self.inner
            .scheduled_runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes a provider's scheduled task due now, on whichever replica claims it first (the
    /// way to run a `{ trigger: manual }` provider); false while a run is in progress.
    pub async fn trigger_scheduled(&self, task_id: &str) -> Result<bool, CatalogError> {
        let id = task_id.to_string();
        self.inner
            .db
            .write(move |conn| crate::store::leases::trigger_task(conn, &id, now_millis()))
            .await
    }

    /// Starts a discovery run in the background (for webhooks, which must answer quickly).
    fn trigger_discovery(&self, id: &str) {
        let this = self.clone();
        let id = id.to_string();
        let handle = tokio::spawn(async move {
            let _ = this.run_discovery(&id).await;
        });
        let mut triggered = self
            .inner
            .triggered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        triggered.retain(|h| !h.is_finished());
        triggered.push(handle);
    }

    /// Waits until every discovery run a webhook started has finished.
    pub async fn wait_for_triggered_runs(&self) {
        loop {
            let handles: Vec<JoinHandle<()>> = std::mem::take(
                &mut *self
                    .inner
                    .triggered
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            );
            if handles.is_empty() {
                return;
            }
            for handle in handles {
                let _ = handle.await;
            }
        }
    }

    /// The quota of every configured GitHub host: as last reported, else asked for with
    /// `GET /rate_limit`, which costs no quota.
    pub async fn rate_limits(&self) -> Vec<HostQuota> {
        let mut hosts: Vec<String> = self
            .inner
            .settings
            .integrations
            .iter()
            .map(|i| i.host.to_ascii_lowercase())
            .collect();
        hosts.dedup();
        let mut out = Vec::new();
        for host in hosts {
            let known = self.inner.reader.quota_for_host(&host);
            let (quota, error) = match known {
                Some(q) => (Some(q), None),
                None => match self.inner.reader.refresh_quota(&host).await {
                    Ok(q) => (q, None),
                    Err(e) => (None, Some(e.to_string())),
                },
            };
            if let Some(q) = quota {
                tracing::info!(github.host = %host, quota.remaining = q.remaining,
                    quota.limit = q.limit, "GitHub quota");
            }
            out.push(HostQuota { host, quota, error });
        }
        out
    }

    fn log_quota(&self, host: &str, after: &str) {
        if let Some(q) = self.inner.reader.quota_for_host(host) {
            tracing::info!(github.host = %host, quota.remaining = q.remaining,
                quota.limit = q.limit, reset_in_s = q.time_to_reset().as_secs(),
                "GitHub quota after {after}: {} of {} left", q.remaining, q.limit);
        }
    }
}

/// The `host[:port]` of a web URL such as `githubUrl`.
fn web_host(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    Some(match (url.host_str()?, url.port()) {
        (h, Some(p)) => format!("{h}:{p}"),
        (h, None) => h.to_string(),
    })
}

/// The Location entity for one discovered catalog file, as Backstage's provider emits it.
fn discovered_location_entity(location: &DiscoveredLocation, presence: &str) -> Value {
    let mut entity = root_location_entity("url", &location.url);
    if let Some(spec) = entity.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("presence".into(), Value::String(presence.to_string()));
    }
    entity
}

/// Several organizations' users and groups in one list: a user in two organizations is one
/// entity member of both organizations' teams.
fn merge_org_entities(imported: Vec<Vec<Value>>) -> Vec<Value> {
    let mut merged: BTreeMap<(String, String), Value> = BTreeMap::new();
    let mut order = Vec::new();
    for entity in imported.into_iter().flatten() {
        let key = (
            entity["kind"].as_str().unwrap_or_default().to_string(),
            entity["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase(),
        );
        match merged.get_mut(&key) {
            Some(existing) if key.0 == "User" => {
                let more = entity["spec"]["memberOf"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if let Some(member_of) = existing["spec"]["memberOf"].as_array_mut() {
                    for group in more {
                        if !member_of.contains(&group) {
                            member_of.push(group);
                        }
                    }
                }
            }
            Some(existing) => {
                tracing::warn!(entity.name = %key.1,
                    "two GitHub organizations have a team named {}; the last one wins", key.1);
                *existing = entity;
            }
            None => {
                order.push(key.clone());
                merged.insert(key, entity);
            }
        }
    }
    order
        .into_iter()
        .filter_map(|key| merged.remove(&key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn discovered_locations_are_optional_url_locations() {
        let entity = discovered_location_entity(
            &DiscoveredLocation {
                repo_full_name: "acme/svc".into(),
                url: "https://github.com/acme/svc/blob/main/catalog-info.yaml".into(),
                branch: "main".into(),
                pushed_at: None,
            },
            "optional",
        );
        assert_eq!(entity["kind"], "Location");
        assert_eq!(
            entity["spec"],
            json!({"type": "url", "presence": "optional",
                   "target": "https://github.com/acme/svc/blob/main/catalog-info.yaml"})
        );
        assert_eq!(
            entity["metadata"]["annotations"]["backstage.io/managed-by-location"],
            "url:https://github.com/acme/svc/blob/main/catalog-info.yaml"
        );
        assert!(entity["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("generated-"));
    }

    #[test]
    fn users_in_two_organizations_are_merged() {
        let user = |groups: Value| json!({"kind": "User", "metadata": {"name": "alice"}, "spec": {"memberOf": groups}});
        let group = |name: &str| json!({"kind": "Group", "metadata": {"name": name}, "spec": {}});
        let merged = merge_org_entities(vec![
            vec![user(json!(["a"])), group("a")],
            vec![user(json!(["b", "a"])), group("b")],
        ]);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0]["spec"]["memberOf"], json!(["a", "b"]));
        assert_eq!(merged[2]["metadata"]["name"], "b");
    }
}
