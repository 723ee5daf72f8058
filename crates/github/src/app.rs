//! GitHub App credentials (Backstage's `GithubAppCredentialsMux` and
//! `SingleInstanceGithubCredentialsProvider`): each app in `integrations.github[].apps[]` signs
//! a short app JWT (RS256), finds its installation on the request's owner
//! (`GET /app/installations`, cached), and mints an installation token
//! (`POST /app/installations/{id}/access_tokens`), cached per owner until shortly before it
//! expires. The first app installed on the owner wins; without one, the integration's `token`
//! is used (or nothing).

use crate::client::{ApiClient, Auth, Request, ACCEPT_JSON};
use crate::config::GithubAppConfig;
use crate::error::GithubError;
use http::Method;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// As Backstage: a cached installation list is trusted this long...
const INSTALLATIONS_TTL: Duration = Duration::from_secs(10 * 60);
/// ...and re-read on a miss at most this often.
const INSTALLATIONS_REFRESH_THROTTLE: Duration = Duration::from_secs(60);
/// A token is used until this long before it expires (Backstage: 10 minutes), or half its
/// lifetime when that is shorter.
const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(10 * 60);
/// App JWTs: issued 30 s in the past against clock drift, valid 9.5 minutes (GitHub's limit
/// is 10).
const JWT_BACKDATE_S: u64 = 30;
const JWT_LIFETIME_S: u64 = 570;

/// The credential one request carries.
#[derive(Clone)]
pub(crate) enum Credential {
    /// The integration's `token`.
    Token(String),
    /// An installation token for `owner` (lowercase).
    Installation { owner: String, token: String },
    /// An app JWT.
    App(String),
}

impl Credential {
    pub(crate) fn secret(&self) -> &str {
        match self {
            Credential::Token(t) | Credential::App(t) => t,
            Credential::Installation { token, .. } => token,
        }
    }
}

/// One installation as `GET /app/installations` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Installation {
    pub(crate) id: u64,
    pub(crate) account: String,
    /// `Organization` or `User`.
    pub(crate) target_type: String,
    pub(crate) suspended: bool,
}

impl Installation {
    fn from_json(v: &serde_json::Value) -> Option<Self> {
        Some(Self {
            id: v["id"].as_u64()?,
            account: v["account"]["login"].as_str()?.to_string(),
            target_type: v["target_type"]
                .as_str()
                .or(v["account"]["type"].as_str())
                .unwrap_or_default()
                .to_string(),
            suspended: !v["suspended_by"].is_null() || !v["suspended_at"].is_null(),
        })
    }
}

struct CachedToken {
    token: String,
    /// When to stop using it (expiry minus the margin).
    use_until: SystemTime,
}

struct CachedInstallations {
    list: Vec<Installation>,
    fetched_at: SystemTime,
}

/// One `apps[]` entry.
struct AppAuth {
    app_id: u64,
    /// The PEM, parsed on first use (so a bad key is a read error, not a failed start).
    private_key: Option<String>,
    allowed_owners: Option<Vec<String>>,
    installations: tokio::sync::Mutex<Option<CachedInstallations>>,
    tokens: Mutex<HashMap<String, CachedToken>>,
    /// One token minted at a time per app, so concurrent reads share it.
    minting: tokio::sync::Mutex<()>,
}

/// Every app of one integration, and its token as the fallback.
pub(crate) struct AppCredentials {
    host: String,
    token: Option<String>,
    apps: Vec<AppAuth>,
}

/// Why an app gave no token for an owner.
enum NoToken {
    /// Not installed there, or the owner is not allowed: try the next app or the token.
    NotInstalled,
    Failed(GithubError),
}

type BoxedFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl AppCredentials {
    pub(crate) fn new(host: &str, token: Option<String>, apps: &[GithubAppConfig]) -> Self {
        Self {
            host: host.to_string(),
            token,
            apps: apps
                .iter()
                .map(|a| AppAuth {
                    app_id: a.app_id,
                    // Backstage accepts keys whose newlines were written as `\n`.
                    private_key: a
                        .private_key
                        .as_ref()
                        .map(|k| k.expose_secret().replace("\\n", "\n")),
                    allowed_owners: a
                        .allowed_installation_owners
                        .as_ref()
                        .map(|o| o.iter().map(|s| s.to_ascii_lowercase()).collect()),
                    installations: tokio::sync::Mutex::new(None),
                    tokens: Mutex::new(HashMap::new()),
                    minting: tokio::sync::Mutex::new(()),
                })
                .collect(),
        }
    }

    pub(crate) fn has_apps(&self) -> bool {
        !self.apps.is_empty()
    }

    /// The credential for a request about `owner`'s resources: an installation token of the
    /// first app installed there, else the token. An app that fails for another reason than
    /// "not installed" (a wrong key, a suspended installation) fails the request when no
    /// other app has a token, as in Backstage.
    pub(crate) async fn credential_for(
        &self,
        client: &ApiClient,
        owner: Option<&str>,
    ) -> Result<Option<Credential>, GithubError> {
        let fallback = || self.token.clone().map(Credential::Token);
        let Some(owner) = owner.filter(|_| self.has_apps()) else {
            return Ok(fallback());
        };
        let owner = owner.to_ascii_lowercase();
        let mut failure = None;
        for app in &self.apps {
            match app.installation_token(client, &self.host, &owner).await {
                Ok(token) => return Ok(Some(Credential::Installation { owner, token })),
                Err(NoToken::NotInstalled) => {}
                Err(NoToken::Failed(e)) => {
                    failure.get_or_insert(e);
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(fallback()),
        }
    }

    /// Drops the cached installation tokens of `owner` (GitHub refused one).
    pub(crate) fn forget(&self, owner: &str) {
        for app in &self.apps {
            app.tokens
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(owner);
        }
    }

    /// The organizations the apps are installed on (`target_type` Organization), in order,
    /// without duplicates; only the app `only_app` when given. Suspended installations count:
    /// Backstage lists them too (their reads then fail and say why).
    pub(crate) async fn installed_organizations(
        &self,
        client: &ApiClient,
        only_app: Option<u64>,
    ) -> Result<Vec<String>, GithubError> {
        let mut orgs: Vec<String> = Vec::new();
        let apps: Vec<&AppAuth> = self
            .apps
            .iter()
            .filter(|a| only_app.is_none_or(|id| a.app_id == id))
            .collect();
        if apps.is_empty() {
            return Err(GithubError::invalid(match only_app {
                Some(id) => format!(
                    "integrations.github (host {}) has no GitHub App with appId {id}",
                    self.host
                ),
                None => format!(
                    "integrations.github (host {}) has no GitHub App (apps[]), so the \
                     organizations to read cannot be listed",
                    self.host
                ),
            }));
        }
        for app in apps {
            let list = app
                .installations(client, &self.host, false)
                .await
                .map_err(|e| e.context(&format!("GitHub App {}", app.app_id)))?;
            for i in list.iter().filter(|i| i.target_type == "Organization") {
                if !orgs.iter().any(|o| o.eq_ignore_ascii_case(&i.account)) {
                    orgs.push(i.account.clone());
                }
            }
        }
        Ok(orgs)
    }
}

impl AppAuth {
    fn label(&self, host: &str) -> String {
        format!("GitHub App {} on {host}", self.app_id)
    }

    /// A JWT for this app, valid for a few minutes.
    fn jwt(&self, host: &str) -> Result<String, GithubError> {
        let pem = self.private_key.as_deref().ok_or_else(|| {
            GithubError::invalid(format!(
                "{}: integrations.github[].apps[].privateKey is missing",
                self.label(host)
            ))
        })?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| {
            GithubError::invalid(format!(
                "{}: integrations.github[].apps[].privateKey is not an RSA private key in PEM \
                 form: {e}",
                self.label(host)
            ))
        })?;
        let now = unix_seconds(SystemTime::now());
        let claims = serde_json::json!({
            "iat": now.saturating_sub(JWT_BACKDATE_S),
            "exp": now + JWT_LIFETIME_S,
            "iss": self.app_id.to_string(),
        });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &key,
        )
        .map_err(|e| {
            GithubError::invalid(format!(
                "{}: could not sign the app JWT: {e}",
                self.label(host)
            ))
        })
    }

    fn cached_token(&self, owner: &str, now: SystemTime) -> Option<String> {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(owner)
            .filter(|t| now < t.use_until)
            .map(|t| t.token.clone())
    }

    async fn installation_token(
        &self,
        client: &ApiClient,
        host: &str,
        owner: &str,
    ) -> Result<String, NoToken> {
        if self
            .allowed_owners
            .as_ref()
            .is_some_and(|allowed| !allowed.iter().any(|a| a == owner))
        {
            return Err(NoToken::NotInstalled);
        }
        if let Some(token) = self.cached_token(owner, SystemTime::now()) {
            return Ok(token);
        }
        let _minting = self.minting.lock().await;
        if let Some(token) = self.cached_token(owner, SystemTime::now()) {
            return Ok(token);
        }
        let installation = self
            .installation_of(client, host, owner)
            .await
            .map_err(NoToken::Failed)?
            .ok_or(NoToken::NotInstalled)?;
        if installation.suspended {
            return Err(NoToken::Failed(GithubError::unauthorized(format!(
                "{}: the installation on {owner} is suspended",
                self.label(host)
            ))));
        }
        let (token, expires_at) = self
            .mint(client, host, installation.id)
            .await
            .map_err(NoToken::Failed)?;
        let now = SystemTime::now();
        let use_until = use_until(now, expires_at);
        tracing::debug!(github.host = %host, github.owner = %owner, app.id = self.app_id,
            "minted a GitHub App installation token");
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                owner.to_string(),
                CachedToken {
                    token: token.clone(),
                    use_until,
                },
            );
        Ok(token)
    }

    /// The installation on `owner`: from the cached list, re-read once when it is missing
    /// there and the list was not re-read in the last minute.
    async fn installation_of(
        &self,
        client: &ApiClient,
        host: &str,
        owner: &str,
    ) -> Result<Option<Installation>, GithubError> {
        let find = |list: &[Installation]| {
            list.iter()
                .find(|i| i.account.eq_ignore_ascii_case(owner))
                .cloned()
        };
        if let Some(found) = find(&self.installations(client, host, false).await?) {
            return Ok(Some(found));
        }
        Ok(find(&self.installations(client, host, true).await?))
    }

    /// Every installation of the app, cached for ten minutes; `on_miss` re-reads a list older
    /// than a minute.
    async fn installations(
        &self,
        client: &ApiClient,
        host: &str,
        on_miss: bool,
    ) -> Result<Vec<Installation>, GithubError> {
        let mut cache = self.installations.lock().await;
        let now = SystemTime::now();
        if let Some(cached) = cache.as_ref() {
            let age = now.duration_since(cached.fetched_at).unwrap_or_default();
            let fresh = if on_miss {
                age < INSTALLATIONS_REFRESH_THROTTLE
            } else {
                age < INSTALLATIONS_TTL
            };
            if fresh {
                return Ok(cached.list.clone());
            }
        }
        let jwt = self.jwt(host)?;
        let mut list = Vec::new();
        let mut next = Some("/app/installations?per_page=100".to_string());
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            if pages > 100 {
                return Err(GithubError::invalid(format!(
                    "{}: more than 100 pages of installations",
                    self.label(host)
                )));
            }
            let raw = send_boxed(client, &Method::GET, &path, &jwt)
                .await
                .map_err(|e| e.context(&format!("{}: listing installations", self.label(host))))?;
            let page: Vec<serde_json::Value> = serde_json::from_slice(&raw.body).map_err(|e| {
                GithubError::invalid(format!(
                    "{}: unexpected answer listing installations: {e}",
                    self.label(host)
                ))
            })?;
            list.extend(page.iter().filter_map(Installation::from_json));
            let link = raw
                .headers
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(crate::client::next_link);
            if let Some(link) = link {
                next = Some(client.relative_to_base(&link)?);
            }
        }
        *cache = Some(CachedInstallations {
            list: list.clone(),
            fetched_at: now,
        });
        Ok(list)
    }

    async fn mint(
        &self,
        client: &ApiClient,
        host: &str,
        installation_id: u64,
    ) -> Result<(String, SystemTime), GithubError> {
        let jwt = self.jwt(host)?;
        let path = format!("/app/installations/{installation_id}/access_tokens");
        let context = format!("{}: creating an installation token", self.label(host));
        let raw = send_boxed(client, &Method::POST, &path, &jwt)
            .await
            .map_err(|e| {
                if matches!(e, GithubError::NotFound { .. }) {
                    // The installation went away: list again next time.
                    if let Ok(mut cache) = self.installations.try_lock() {
                        *cache = None;
                    }
                }
                e.context(&context)
            })?;
        let body: serde_json::Value = serde_json::from_slice(&raw.body)
            .map_err(|e| GithubError::invalid(format!("{context}: unexpected answer: {e}")))?;
        let token = body["token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| GithubError::invalid(format!("{context}: no token in the answer")))?;
        let expires_at = body["expires_at"]
            .as_str()
            .and_then(parse_github_time)
            // GitHub's installation tokens live an hour.
            .unwrap_or_else(|| SystemTime::now() + Duration::from_secs(3600));
        Ok((token.to_string(), expires_at))
    }
}

/// Sends an app request; boxed, because sending resolves credentials, which may send.
fn send_boxed<'a>(
    client: &'a ApiClient,
    method: &'a Method,
    path: &'a str,
    jwt: &'a str,
) -> BoxedFuture<'a, Result<crate::client::RawResponse, GithubError>> {
    Box::pin(client.send(Request {
        method,
        path,
        accept: ACCEPT_JSON,
        if_none_match: None,
        auth: Auth::Bearer(jwt),
    }))
}

/// When to stop using a token that expires at `expires_at`: the margin before, or half-way
/// for tokens that live shorter than twice the margin.
fn use_until(now: SystemTime, expires_at: SystemTime) -> SystemTime {
    let lifetime = expires_at.duration_since(now).unwrap_or_default();
    let margin = TOKEN_EXPIRY_MARGIN.min(lifetime / 2);
    expires_at - margin
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `2026-01-01T00:00:00Z` (GitHub's timestamps, always UTC).
fn parse_github_time(s: &str) -> Option<SystemTime> {
    let (date, time) = s.trim().trim_end_matches('Z').split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split(['.', '+']).next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    u64::try_from(secs)
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_times_parse() {
        assert_eq!(
            parse_github_time("1970-01-02T00:00:01Z"),
            Some(UNIX_EPOCH + Duration::from_secs(86_401))
        );
        assert_eq!(
            parse_github_time("2026-03-01T12:30:00Z").map(unix_seconds),
            Some(1_772_368_200)
        );
        assert_eq!(parse_github_time("yesterday"), None);
        assert_eq!(parse_github_time("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn tokens_are_used_until_shortly_before_they_expire() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = now + Duration::from_secs(3600);
        assert_eq!(use_until(now, hour), hour - Duration::from_secs(600));
        let short = now + Duration::from_secs(60);
        assert_eq!(use_until(now, short), now + Duration::from_secs(30));
        assert_eq!(
            use_until(now, now - Duration::from_secs(5)),
            now - Duration::from_secs(5)
        );
    }

    #[test]
    fn installations_parse_from_github_json() {
        let v = serde_json::json!({"id": 7, "account": {"login": "Acme", "type": "Organization"},
            "target_type": "Organization", "suspended_by": null, "suspended_at": null});
        assert_eq!(
            Installation::from_json(&v),
            Some(Installation {
                id: 7,
                account: "Acme".into(),
                target_type: "Organization".into(),
                suspended: false
            })
        );
        let suspended = serde_json::json!({"id": 8, "account": {"login": "u", "type": "User"},
            "suspended_at": "2026-01-01T00:00:00Z"});
        let i = Installation::from_json(&suspended).unwrap();
        assert!(i.suspended);
        assert_eq!(i.target_type, "User");
    }

    #[test]
    fn a_missing_or_malformed_key_is_an_error_naming_the_key() {
        let app = |key: Option<&str>| {
            let config: GithubAppConfig = serde_json::from_value(match key {
                Some(k) => serde_json::json!({"appId": 3, "privateKey": k}),
                None => serde_json::json!({"appId": 3}),
            })
            .unwrap();
            AppCredentials::new("github.com", None, &[config])
        };
        let missing = app(None).apps[0].jwt("github.com").unwrap_err();
        assert!(
            missing.to_string().contains("privateKey is missing"),
            "{missing}"
        );
        let malformed = app(Some("not a pem")).apps[0]
            .jwt("github.com")
            .unwrap_err();
        assert!(
            malformed.to_string().contains("not an RSA private key"),
            "{malformed}"
        );
    }
}
