//! Configuration under Backstage's keys: `integrations.github[]`, `catalog.providers.github` and
//! `catalog.providers.githubOrg`. Plain serde types (camelCase); the root config composes them.

use crate::error::GithubError;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;

/// The public GitHub's web host; the default for every `host` key.
pub const GITHUB_HOST: &str = "github.com";
const GITHUB_API_BASE_URL: &str = "https://api.github.com";
const GITHUB_RAW_BASE_URL: &str = "https://raw.githubusercontent.com";
const DEFAULT_CATALOG_PATH: &str = "/catalog-info.yaml";
/// The id Backstage gives a single unnamed `catalog.providers.github` block.
pub const DEFAULT_PROVIDER_ID: &str = "default";

fn default_host() -> String {
    GITHUB_HOST.to_string()
}

fn default_catalog_path() -> String {
    DEFAULT_CATALOG_PATH.to_string()
}

fn default_true() -> bool {
    true
}

/// One `integrations.github[]` entry. Credentials are picked by the URL's host.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GithubIntegrationConfig {
    #[serde(default = "default_host")]
    pub host: String,
    #[serde(default)]
    pub api_base_url: Option<String>,
    /// Accepted for Backstage configs and not used: every read goes through the REST contents
    /// API (conditional requests, one path for tokens, apps and Enterprise). See the README.
    #[serde(default)]
    pub raw_base_url: Option<String>,
    #[serde(default)]
    pub token: Option<SecretString>,
    /// GitHub Apps: for an owner one of them is installed on, requests carry an installation
    /// token; `token` stays the fallback for other owners.
    #[serde(default)]
    pub apps: Vec<GithubAppConfig>,
}

/// One `integrations.github[].apps[]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GithubAppConfig {
    pub app_id: u64,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    #[serde(default)]
    pub private_key: Option<SecretString>,
    #[serde(default)]
    pub webhook_secret: Option<SecretString>,
    #[serde(default)]
    pub allowed_installation_owners: Option<Vec<String>>,
    #[serde(default)]
    pub public_access: Option<bool>,
}

impl GithubIntegrationConfig {
    /// An integration for `host` with no credentials and default base URLs.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            api_base_url: None,
            raw_base_url: None,
            token: None,
            apps: Vec::new(),
        }
    }

    pub fn with_api_base_url(mut self, url: impl Into<String>) -> Self {
        self.api_base_url = Some(url.into());
        self
    }

    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(SecretString::from(token.into()));
        self
    }

    /// The REST base URL: the configured one without trailing slashes, or
    /// `https://api.github.com` for github.com. Enterprise hosts must configure it.
    pub fn effective_api_base_url(&self) -> Option<String> {
        match &self.api_base_url {
            Some(url) => Some(url.trim_end_matches('/').to_string()),
            None if self.host == GITHUB_HOST => Some(GITHUB_API_BASE_URL.to_string()),
            None => None,
        }
    }

    /// The raw-content base URL, as Backstage derives it.
    pub fn effective_raw_base_url(&self) -> Option<String> {
        match &self.raw_base_url {
            Some(url) => Some(url.trim_end_matches('/').to_string()),
            None if self.host == GITHUB_HOST => Some(GITHUB_RAW_BASE_URL.to_string()),
            None => None,
        }
    }

    /// The token, trimmed as Backstage does; `None` when missing or blank.
    pub(crate) fn token_value(&self) -> Option<String> {
        let token = self.token.as_ref()?.expose_secret().trim().to_string();
        (!token.is_empty()).then_some(token)
    }

    /// The first app's webhook secret, if any (for signature checks).
    pub fn webhook_secret(&self) -> Option<&SecretString> {
        self.apps.iter().find_map(|a| a.webhook_secret.as_ref())
    }
}

/// Backstage always has a github.com integration: the configured ones, plus an unauthenticated
/// github.com entry when none was configured.
pub fn with_default_integration(
    mut configs: Vec<GithubIntegrationConfig>,
) -> Vec<GithubIntegrationConfig> {
    if !configs.iter().any(|c| c.host == GITHUB_HOST) {
        configs.push(GithubIntegrationConfig::new(GITHUB_HOST));
    }
    configs
}

/// `catalog.providers.github`: a single unnamed provider (id `default`) or a map of id → provider.
#[derive(Debug, Clone, Default)]
pub struct GithubProviders(pub Vec<GithubProviderConfig>);

impl<'de> Deserialize<'de> for GithubProviders {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        parse_github_providers(&value)
            .map(GithubProviders)
            .map_err(serde::de::Error::custom)
    }
}

/// Reads `catalog.providers.github` as Backstage does: a block with `organization` or `app` is
/// the single provider `default`; otherwise each key is a provider id.
pub fn parse_github_providers(
    value: &serde_json::Value,
) -> Result<Vec<GithubProviderConfig>, GithubError> {
    let Some(map) = value.as_object() else {
        return Err(GithubError::invalid(
            "catalog.providers.github must be a mapping",
        ));
    };
    let single = map.contains_key("organization") || map.contains_key("app");
    let entries: Vec<(String, &serde_json::Value)> = if single {
        vec![(DEFAULT_PROVIDER_ID.to_string(), value)]
    } else {
        map.iter().map(|(k, v)| (k.clone(), v)).collect()
    };
    entries
        .into_iter()
        .map(|(id, v)| {
            let mut provider: GithubProviderConfig = serde_json::from_value(v.clone())
                .map_err(|e| GithubError::invalid(format!("catalog.providers.github.{id}: {e}")))?;
            provider.id = id;
            provider.validate()?;
            Ok(provider)
        })
        .collect()
}

/// One repository-discovery provider (Backstage's `GithubEntityProvider`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GithubProviderConfig {
    /// The provider id (the map key, or `default`).
    #[serde(skip)]
    pub id: String,
    #[serde(default)]
    pub organization: Option<String>,
    /// A GitHub App id: without `organization`, discover every organization that app (of the
    /// host's integration) is installed on.
    #[serde(default)]
    pub app: Option<u64>,
    #[serde(default = "default_host")]
    pub host: String,
    #[serde(default = "default_catalog_path")]
    pub catalog_path: String,
    #[serde(default)]
    pub filters: GithubProviderFilters,
    #[serde(default)]
    pub validate_locations_exist: bool,
    #[serde(default)]
    pub schedule: Option<ScheduleConfig>,
    /// GraphQL page sizes; accepted and ignored (Portico lists with REST, 100 per page).
    #[serde(default)]
    pub page_sizes: Option<serde_json::Value>,
}

/// `filters.*` of a discovery provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GithubProviderFilters {
    /// A regex on the repository name, anchored at both ends.
    #[serde(default)]
    pub repository: Option<String>,
    /// The branch to read instead of each repository's default branch.
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub topic: TopicFilter,
    /// `public`, `private`, `internal`; empty or absent means all.
    #[serde(default)]
    pub visibility: Option<Vec<String>>,
    #[serde(default = "default_true")]
    pub allow_forks: bool,
    #[serde(default)]
    pub allow_archived: bool,
}

impl Default for GithubProviderFilters {
    fn default() -> Self {
        Self {
            repository: None,
            branch: None,
            topic: TopicFilter::default(),
            visibility: None,
            allow_forks: true,
            allow_archived: false,
        }
    }
}

/// `filters.topic`: `exclude` wins over `include`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TopicFilter {
    #[serde(default)]
    pub include: Option<Vec<String>>,
    #[serde(default)]
    pub exclude: Option<Vec<String>>,
}

impl GithubProviderConfig {
    /// A provider for one organization with Backstage's defaults.
    pub fn new(id: impl Into<String>, organization: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            organization: Some(organization.into()),
            app: None,
            host: default_host(),
            catalog_path: default_catalog_path(),
            filters: GithubProviderFilters::default(),
            validate_locations_exist: false,
            schedule: None,
            page_sizes: None,
        }
    }

    /// The checks Backstage makes when reading the config.
    pub fn validate(&self) -> Result<(), GithubError> {
        let id = &self.id;
        if self.organization.is_none() && self.app.is_none() {
            return Err(GithubError::invalid(format!(
                "catalog.providers.github.{id}: either organization or app must be specified"
            )));
        }
        if self.validate_locations_exist && self.catalog_path_has_glob() {
            return Err(GithubError::invalid(format!(
                "catalog.providers.github.{id}: the catalog path {} contains a wildcard, which \
                 is incompatible with validateLocationsExist",
                self.catalog_path
            )));
        }
        if self
            .filters
            .branch
            .as_deref()
            .is_some_and(|b| b.contains('/'))
        {
            return Err(GithubError::invalid(format!(
                "catalog.providers.github.{id}: slash characters (/) are not allowed in \
                 filters.branch"
            )));
        }
        self.repository_regex()?;
        Ok(())
    }

    /// Whether `catalogPath` holds a glob, which makes discovery list each repository's tree.
    pub fn catalog_path_has_glob(&self) -> bool {
        crate::glob::has_glob(&self.catalog_path)
    }

    /// `filters.repository`, anchored at both ends as Backstage does.
    pub fn repository_regex(&self) -> Result<Option<regex::Regex>, GithubError> {
        let Some(pattern) = &self.filters.repository else {
            return Ok(None);
        };
        let mut anchored = pattern.clone();
        if !anchored.starts_with('^') {
            anchored.insert(0, '^');
        }
        if !anchored.ends_with('$') {
            anchored.push('$');
        }
        regex::Regex::new(&anchored).map(Some).map_err(|e| {
            GithubError::invalid(format!(
                "catalog.providers.github.{}: invalid filters.repository: {e}",
                self.id
            ))
        })
    }
}

/// `catalog.providers.githubOrg`: a list of `{ id, githubUrl, orgs, schedule }` or a map of
/// id → `{ githubUrl, orgs, schedule }`.
#[derive(Debug, Clone, Default)]
pub struct GithubOrgProviders(pub Vec<GithubOrgProviderConfig>);

/// One org-import provider (Backstage's `GithubOrgEntityProvider`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GithubOrgProviderConfig {
    #[serde(default)]
    pub id: String,
    /// The web URL of the GitHub instance, e.g. `https://github.com`.
    pub github_url: String,
    /// Organizations to import; empty means every organization the GitHub Apps of the host's
    /// integration are installed on (as Backstage; a token alone cannot list them).
    #[serde(default)]
    pub orgs: Vec<String>,
    #[serde(default)]
    pub schedule: Option<ScheduleConfig>,
}

impl<'de> Deserialize<'de> for GithubOrgProviders {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        parse_github_org_providers(&value)
            .map(GithubOrgProviders)
            .map_err(serde::de::Error::custom)
    }
}

/// Reads `catalog.providers.githubOrg` in either of its forms.
pub fn parse_github_org_providers(
    value: &serde_json::Value,
) -> Result<Vec<GithubOrgProviderConfig>, GithubError> {
    let parse = |key: String, v: &serde_json::Value| {
        serde_json::from_value::<GithubOrgProviderConfig>(v.clone())
            .map_err(|e| GithubError::invalid(format!("catalog.providers.githubOrg.{key}: {e}")))
    };
    match value {
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let p = parse(i.to_string(), v)?;
                if p.id.is_empty() {
                    return Err(GithubError::invalid(format!(
                        "catalog.providers.githubOrg.{i}: id is required"
                    )));
                }
                Ok(p)
            })
            .collect(),
        serde_json::Value::Object(map) if map.contains_key("githubUrl") => {
            let mut p = parse("githubUrl".to_string(), value)?;
            if p.id.is_empty() {
                p.id = DEFAULT_PROVIDER_ID.to_string();
            }
            Ok(vec![p])
        }
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(id, v)| {
                let mut p = parse(id.clone(), v)?;
                p.id = id.clone();
                Ok(p)
            })
            .collect(),
        _ => Err(GithubError::invalid(
            "catalog.providers.githubOrg must be a list or a mapping",
        )),
    }
}

/// `schedule`: each field is a duration object, an ISO 8601 duration, a short string like `30m`,
/// or `{ cron: '…' }`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleConfig {
    #[serde(default)]
    pub frequency: Option<ScheduleDuration>,
    #[serde(default)]
    pub timeout: Option<ScheduleDuration>,
    #[serde(default)]
    pub initial_delay: Option<ScheduleDuration>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// A parsed schedule duration. Forms Portico cannot turn into a fixed interval stay as JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleDuration {
    Every(Duration),
    Cron(String),
    Other(serde_json::Value),
}

impl<'de> Deserialize<'de> for ScheduleDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(ScheduleDuration::from_value(value))
    }
}

impl ScheduleDuration {
    pub fn from_value(value: serde_json::Value) -> Self {
        match &value {
            serde_json::Value::Object(map) => {
                if let Some(cron) = map.get("cron").and_then(|c| c.as_str()) {
                    return ScheduleDuration::Cron(cron.to_string());
                }
                match duration_from_object(map) {
                    Some(d) => ScheduleDuration::Every(d),
                    None => ScheduleDuration::Other(value),
                }
            }
            serde_json::Value::String(s) => {
                match parse_iso_duration(s).or_else(|| parse_short(s)) {
                    Some(d) => ScheduleDuration::Every(d),
                    None => ScheduleDuration::Other(value),
                }
            }
            _ => ScheduleDuration::Other(value),
        }
    }

    /// The fixed interval, when there is one.
    pub fn as_duration(&self) -> Option<Duration> {
        match self {
            ScheduleDuration::Every(d) => Some(*d),
            _ => None,
        }
    }
}

/// Seconds per unit; months and years are approximated (30 and 365 days) like Luxon does for
/// schedules.
fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit {
        "years" | "year" | "y" => 365.0 * 86_400.0,
        "months" | "month" | "mo" => 30.0 * 86_400.0,
        "weeks" | "week" | "w" => 7.0 * 86_400.0,
        "days" | "day" | "d" => 86_400.0,
        "hours" | "hour" | "hrs" | "hr" | "h" => 3_600.0,
        "minutes" | "minute" | "mins" | "min" | "m" => 60.0,
        "seconds" | "second" | "secs" | "sec" | "s" => 1.0,
        "milliseconds" | "millisecond" | "ms" => 0.001,
        _ => return None,
    })
}

fn duration_from_object(map: &serde_json::Map<String, serde_json::Value>) -> Option<Duration> {
    if map.is_empty() {
        return None;
    }
    let mut total = 0.0;
    for (key, value) in map {
        let n = value.as_f64()?;
        total += n * unit_seconds(key)?;
    }
    seconds_to_duration(total)
}

fn seconds_to_duration(total: f64) -> Option<Duration> {
    (total.is_finite() && total >= 0.0).then(|| Duration::from_secs_f64(total))
}

/// `P1DT2H30M`, `PT15M`, `P2W`: the ISO 8601 forms Backstage configs use.
fn parse_iso_duration(s: &str) -> Option<Duration> {
    let rest = s.trim().strip_prefix('P')?;
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut in_time = false;
    let mut number = String::new();
    for c in rest.chars() {
        match c {
            'T' if !in_time && number.is_empty() => in_time = true,
            '0'..='9' | '.' | ',' => number.push(if c == ',' { '.' } else { c }),
            _ => {
                let n: f64 = number.parse().ok()?;
                number.clear();
                let unit = match (in_time, c) {
                    (false, 'Y') => "years",
                    (false, 'M') => "months",
                    (false, 'W') => "weeks",
                    (false, 'D') => "days",
                    (true, 'H') => "hours",
                    (true, 'M') => "minutes",
                    (true, 'S') => "seconds",
                    _ => return None,
                };
                total += n * unit_seconds(unit)?;
            }
        }
    }
    if !number.is_empty() {
        return None;
    }
    seconds_to_duration(total)
}

/// `30m`, `1h`, `2 hours`, `500ms`: one number and one unit.
fn parse_short(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: f64 = number.parse().ok()?;
    let unit = unit.trim().to_ascii_lowercase();
    seconds_to_duration(n * unit_seconds(&unit)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integration_defaults_follow_backstage() {
        let c: GithubIntegrationConfig = serde_json::from_value(json!({"token": " t0k "})).unwrap();
        assert_eq!(c.host, "github.com");
        assert_eq!(
            c.effective_api_base_url().as_deref(),
            Some("https://api.github.com")
        );
        assert_eq!(c.token_value().as_deref(), Some("t0k"));
        let ghe: GithubIntegrationConfig = serde_json::from_value(json!({
            "host": "ghe.example.com", "apiBaseUrl": "https://ghe.example.com/api/v3/",
            "apps": [{"appId": 1, "clientId": "c", "clientSecret": "s", "privateKey": "k",
                      "webhookSecret": "w"}]
        }))
        .unwrap();
        assert_eq!(
            ghe.effective_api_base_url().as_deref(),
            Some("https://ghe.example.com/api/v3")
        );
        assert_eq!(ghe.effective_raw_base_url(), None);
        assert!(ghe.webhook_secret().is_some());
        assert!(
            !format!("{ghe:?}").contains("\"w\""),
            "secrets are redacted"
        );
        let all = with_default_integration(vec![ghe]);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].host, "github.com");
    }

    #[test]
    fn single_unnamed_provider_gets_id_default() {
        let providers: GithubProviders = serde_yaml::from_str(
            "organization: acme\ncatalogPath: /catalog-info.yaml\nfilters:\n  branch: main\n  \
             repository: 'svc-.*'\n  topic:\n    include: [backstage]\n    exclude: [legacy]\n  \
             visibility: [public, internal]\n  allowForks: false\nschedule:\n  frequency: \
             { minutes: 30 }\n  timeout: PT3M\n",
        )
        .unwrap();
        let [p] = providers.0.as_slice() else {
            panic!("one provider expected")
        };
        assert_eq!(p.id, "default");
        assert_eq!(p.organization.as_deref(), Some("acme"));
        assert_eq!(p.host, "github.com");
        assert_eq!(p.filters.branch.as_deref(), Some("main"));
        assert!(!p.filters.allow_forks);
        assert!(!p.filters.allow_archived);
        assert_eq!(
            p.filters.topic.exclude.as_deref(),
            Some(&["legacy".to_string()][..])
        );
        let schedule = p.schedule.as_ref().unwrap();
        assert_eq!(
            schedule.frequency.as_ref().and_then(|f| f.as_duration()),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(
            schedule.timeout.as_ref().and_then(|f| f.as_duration()),
            Some(Duration::from_secs(180))
        );
        let re = p.repository_regex().unwrap().unwrap();
        assert!(re.is_match("svc-a"));
        assert!(!re.is_match("my-svc-a"), "anchored at the start");
    }

    #[test]
    fn provider_map_and_defaults() {
        let providers: GithubProviders = serde_yaml::from_str(
            "one:\n  organization: a\ntwo:\n  organization: b\n  host: ghe.example.com\n  \
             catalogPath: '/**/catalog-info.yaml'\n",
        )
        .unwrap();
        let ids: Vec<_> = providers.0.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["one", "two"]);
        assert_eq!(providers.0[0].catalog_path, "/catalog-info.yaml");
        assert!(providers.0[0].filters.allow_forks);
        assert!(providers.0[1].catalog_path_has_glob());
        assert_eq!(providers.0[1].host, "ghe.example.com");
    }

    #[test]
    fn invalid_providers_are_refused() {
        for yaml in [
            "x:\n  host: github.com\n",
            "organization: a\ncatalogPath: '/**/c.yaml'\nvalidateLocationsExist: true\n",
            "organization: a\nfilters:\n  branch: feature/x\n",
            "organization: a\nfilters:\n  repository: '('\n",
        ] {
            assert!(
                serde_yaml::from_str::<GithubProviders>(yaml).is_err(),
                "{yaml}"
            );
        }
    }

    #[test]
    fn org_providers_as_list_or_map() {
        let list: GithubOrgProviders = serde_yaml::from_str(
            "- id: production\n  githubUrl: https://github.com\n  orgs: [acme, beta]\n  \
             schedule:\n    frequency: { cron: '*/30 * * * *' }\n",
        )
        .unwrap();
        assert_eq!(list.0[0].id, "production");
        assert_eq!(list.0[0].orgs, ["acme", "beta"]);
        assert_eq!(
            list.0[0].schedule.as_ref().unwrap().frequency,
            Some(ScheduleDuration::Cron("*/30 * * * *".into()))
        );
        let map: GithubOrgProviders =
            serde_yaml::from_str("prod:\n  githubUrl: https://ghe.example.com\n").unwrap();
        assert_eq!(map.0[0].id, "prod");
        assert!(map.0[0].orgs.is_empty());
        assert!(serde_yaml::from_str::<GithubOrgProviders>("- githubUrl: x\n").is_err());
    }

    #[test]
    fn durations_in_every_simple_form() {
        let d = |v: serde_json::Value| ScheduleDuration::from_value(v).as_duration();
        assert_eq!(
            d(json!({"hours": 1, "minutes": 30})),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(d(json!("P1DT2H")), Some(Duration::from_secs(93_600)));
        assert_eq!(d(json!("PT0.5S")), Some(Duration::from_millis(500)));
        assert_eq!(d(json!("30m")), Some(Duration::from_secs(1800)));
        assert_eq!(d(json!("2 hours")), Some(Duration::from_secs(7200)));
        assert_eq!(d(json!("250ms")), Some(Duration::from_millis(250)));
        assert_eq!(d(json!({"fortnights": 1})), None);
        assert_eq!(d(json!("P")), None);
        assert_eq!(d(json!("soon")), None);
        assert_eq!(
            ScheduleDuration::from_value(json!(42)),
            ScheduleDuration::Other(json!(42))
        );
    }
}
