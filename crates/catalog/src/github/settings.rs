//! The GitHub part of the configuration, as the catalog uses it: `integrations.github`,
//! `catalog.providers.github`, `catalog.providers.githubOrg` and the webhook secret.

use portico_github::config::{parse_github_org_providers, parse_github_providers};
use portico_github::{
    GithubError, GithubIntegrationConfig, GithubOrgProviderConfig, GithubProviderConfig,
    GithubReader, ReaderOptions,
};
use secrecy::SecretString;
use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub struct GithubSettings {
    /// `integrations.github[]`: hosts, API base URLs and tokens.
    pub integrations: Vec<GithubIntegrationConfig>,
    /// `catalog.providers.github`: repository discovery.
    pub providers: Vec<GithubProviderConfig>,
    /// `catalog.providers.githubOrg`: users and teams.
    pub org_providers: Vec<GithubOrgProviderConfig>,
    /// `portico.github.webhookSecret`; else the first GitHub App's `webhookSecret`.
    pub webhook_secret: Option<SecretString>,
    /// Concurrency, retries and waits of the GitHub client (tests shorten them).
    pub reader_options: ReaderOptions,
}

impl GithubSettings {
    /// Composes the settings from `integrations.github`, the `catalog.providers` block (its
    /// `github` and `githubOrg` keys) and Portico's webhook secret.
    pub fn from_config(
        integrations: Vec<GithubIntegrationConfig>,
        catalog_providers: Option<&Value>,
        webhook_secret: Option<SecretString>,
    ) -> Result<Self, GithubError> {
        let providers = match catalog_providers.and_then(|p| p.get("github")) {
            Some(value) => parse_github_providers(value)?,
            None => Vec::new(),
        };
        let org_providers = match catalog_providers.and_then(|p| p.get("githubOrg")) {
            Some(value) => parse_github_org_providers(value)?,
            None => Vec::new(),
        };
        let schedules = providers
            .iter()
            .map(|p| (format!("catalog.providers.github.{}", p.id), &p.schedule))
            .chain(
                org_providers
                    .iter()
                    .map(|p| (format!("catalog.providers.githubOrg.{}", p.id), &p.schedule)),
            );
        for (what, schedule) in schedules {
            super::schedule::Schedule::from_config(schedule.as_ref(), &what)
                .map_err(|message| GithubError::Invalid { message })?;
        }
        Ok(Self {
            integrations,
            providers,
            org_providers,
            webhook_secret,
            reader_options: ReaderOptions::default(),
        })
    }

    /// The secret `X-Hub-Signature-256` is checked with.
    pub fn webhook_secret(&self) -> Option<&SecretString> {
        self.webhook_secret
            .as_ref()
            .or_else(|| self.integrations.iter().find_map(|i| i.webhook_secret()))
    }

    /// The GitHub client for every configured host (plus github.com, as Backstage always has
    /// it). Call inside the Tokio runtime that will outlive it.
    pub fn build_reader(&self) -> Result<GithubReader, GithubError> {
        GithubReader::with_options(&self.integrations, self.reader_options.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::json;

    #[test]
    fn providers_and_secrets_from_backstage_keys() {
        let integrations: Vec<GithubIntegrationConfig> = serde_json::from_value(json!([
            {"host": "github.com", "token": "t",
             "apps": [{"appId": 1, "webhookSecret": "from-app"}]}
        ]))
        .unwrap();
        let providers = json!({
            "github": {"acme": {"organization": "acme", "catalogPath": "/**/catalog-info.yaml"}},
            "githubOrg": [{"id": "org", "githubUrl": "https://github.com", "orgs": ["acme"]}],
            "somethingElse": {}
        });
        let s = GithubSettings::from_config(integrations.clone(), Some(&providers), None).unwrap();
        assert_eq!(s.providers[0].id, "acme");
        assert_eq!(s.org_providers[0].orgs, ["acme"]);
        assert_eq!(
            s.webhook_secret().map(|w| w.expose_secret().to_string()),
            Some("from-app".into())
        );
        let own = GithubSettings::from_config(
            integrations,
            None,
            Some(SecretString::from("portico".to_string())),
        )
        .unwrap();
        assert!(own.providers.is_empty());
        assert_eq!(
            own.webhook_secret().map(|w| w.expose_secret().to_string()),
            Some("portico".into())
        );
        let bad = json!({"github": {"x": {"host": "github.com"}}});
        assert!(GithubSettings::from_config(vec![], Some(&bad), None).is_err());
        let bad_cron = json!({"githubOrg": [{"id": "o", "githubUrl": "https://github.com",
            "schedule": {"frequency": {"cron": "every minute"}}}]});
        let err = GithubSettings::from_config(vec![], Some(&bad_cron), None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("catalog.providers.githubOrg.o.schedule.frequency: invalid cron"),
            "{err}"
        );
    }
}
