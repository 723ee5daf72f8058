//! The GitHub OAuth provider's steps: the authorize URL, exchanging the code for an access
//! token, fetching `/user`, and resolving the user with the configured sign-in resolvers.
//! Cookies, nonces and the callback page belong to the HTTP layer.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::resolver::{resolve_sign_in, ResolvedUser, SignInProfile, SignInResolver, UserResolver};
use super::ProfileInfo;
use crate::config::{GithubProviderConfig, SignInConfig};
use crate::error::{AuthError, AuthResult};

/// Scopes always requested, as Backstage's GitHub provider does.
pub const DEFAULT_GITHUB_SCOPES: &[&str] = &["read:user"];
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);
const USER_AGENT: &str = "portico";

/// An access token from the code exchange.
#[derive(Clone, Deserialize)]
pub struct GithubAccessToken {
    pub access_token: SecretString,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    /// Only for GitHub Apps with expiring tokens.
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
}

impl std::fmt::Debug for GithubAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubAccessToken")
            .field("token_type", &self.token_type)
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// The fields of `GET /user` that sign-in uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GithubUser {
    pub login: String,
    pub id: i64,
    #[serde(default)]
    pub node_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
}

impl GithubUser {
    /// What sign-in resolvers see: the login as user name, the node id as user id.
    pub fn sign_in_profile(&self) -> SignInProfile {
        SignInProfile {
            username: Some(self.login.clone()),
            user_id: self.node_id.clone(),
            email: self.email.clone(),
        }
    }

    /// The profile shown in the app, as Backstage's default transform builds it.
    pub fn profile_info(&self) -> ProfileInfo {
        ProfileInfo {
            email: self.email.clone(),
            display_name: Some(self.name.clone().unwrap_or_else(|| self.login.clone())),
            picture: self.avatar_url.clone(),
        }
    }
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

pub struct GithubProvider {
    client_id: String,
    client_secret: SecretString,
    /// Where `/login/oauth/*` lives.
    web_base: url::Url,
    /// Where `/user` lives.
    api_base: url::Url,
    callback_url: Option<String>,
    additional_scopes: Vec<String>,
    resolvers: Vec<SignInResolver>,
    session_duration: Option<Duration>,
    http: reqwest::Client,
}

impl GithubProvider {
    /// Reads one `auth.providers.github.<env>` block; `path` names it in errors.
    pub fn from_config(
        config: &GithubProviderConfig,
        http: reqwest::Client,
        path: &str,
    ) -> AuthResult<Self> {
        if config.client_id.trim().is_empty() {
            return Err(AuthError::Config(format!(
                "{path}.clientId must not be empty"
            )));
        }
        if config.client_secret.expose_secret().trim().is_empty() {
            return Err(AuthError::Config(format!(
                "{path}.clientSecret must not be empty"
            )));
        }
        let (web, api) = match config.enterprise_instance_url.as_deref() {
            Some(instance) => {
                let instance = instance.trim_end_matches('/');
                (instance.to_owned(), format!("{instance}/api/v3"))
            }
            None => (
                "https://github.com".to_owned(),
                "https://api.github.com".to_owned(),
            ),
        };
        let web_base = parse_base(&web)
            .map_err(|e| AuthError::Config(format!("{path}.enterpriseInstanceUrl: {e}")))?;
        let api_base = parse_base(&api)
            .map_err(|e| AuthError::Config(format!("{path}.enterpriseInstanceUrl: {e}")))?;
        let resolvers = config
            .sign_in
            .as_ref()
            .map_or(&[][..], |s: &SignInConfig| &s.resolvers[..])
            .iter()
            .enumerate()
            .map(|(i, r)| SignInResolver::from_config(r, &format!("{path}.signIn.resolvers[{i}]")))
            .collect::<AuthResult<Vec<_>>>()?;
        Ok(Self {
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            web_base,
            api_base,
            callback_url: config.callback_url.clone(),
            additional_scopes: config
                .additional_scopes
                .as_ref()
                .map(|s| s.0.clone())
                .unwrap_or_default(),
            resolvers,
            session_duration: config.session_duration.map(|d| d.as_duration()),
            http,
        })
    }

    /// Points OAuth and API calls elsewhere (a test double, a proxy).
    pub fn with_endpoints(mut self, web_base: &str, api_base: &str) -> AuthResult<Self> {
        self.web_base = parse_base(web_base).map_err(AuthError::Config)?;
        self.api_base = parse_base(api_base).map_err(AuthError::Config)?;
        Ok(self)
    }

    /// The callback URL: configured, or `<auth base>/github/handler/frame`.
    pub fn callback_url(&self, auth_base_url: &str) -> String {
        self.callback_url.clone().unwrap_or_else(|| {
            format!(
                "{}/github/handler/frame",
                auth_base_url.trim_end_matches('/')
            )
        })
    }

    /// `auth.providers.github.<env>.sessionDuration`, if set.
    pub fn session_duration(&self) -> Option<Duration> {
        self.session_duration
    }

    /// The scopes to request: the defaults, `additionalScopes`, and what the app asked for
    /// (`scope` query parameter, space- or comma-separated), de-duplicated in that order.
    pub fn scopes(&self, requested: Option<&str>) -> Vec<String> {
        let mut scopes: Vec<String> = Vec::new();
        let requested = requested.unwrap_or_default().split([' ', ',']);
        for s in DEFAULT_GITHUB_SCOPES
            .iter()
            .copied()
            .chain(self.additional_scopes.iter().map(String::as_str))
            .chain(requested)
            .filter(|s| !s.is_empty())
        {
            if !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_owned());
            }
        }
        scopes
    }

    /// Where `/github/start` redirects: GitHub's authorize page with our client id, callback,
    /// scopes and `state` (which the HTTP layer builds and checks against its nonce cookie).
    pub fn authorize_url(&self, redirect_uri: &str, scopes: &[String], state: &str) -> String {
        let mut url = self.web_base.clone();
        url.set_path(&format!("{}login/oauth/authorize", self.web_base.path()));
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", state);
        url.to_string()
    }

    /// Exchanges the callback's `code` for an access token.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> AuthResult<GithubAccessToken> {
        if code.is_empty() {
            return Err(AuthError::InvalidInput(
                "Authentication failed, missing code".to_owned(),
            ));
        }
        let url = join(&self.web_base, "login/oauth/access_token")?;
        let response = self
            .http
            .post(url)
            .timeout(HTTP_TIMEOUT)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ])
            .send()
            .await
            .map_err(|e| AuthError::Upstream(format!("GitHub token exchange failed: {e}")))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|e| {
            AuthError::Upstream(format!(
                "GitHub token exchange answered {status} without JSON: {e}"
            ))
        })?;
        // GitHub reports a bad code with 200 and an `error` field.
        if let Ok(error) = serde_json::from_value::<OAuthError>(body.clone()) {
            let detail = error.error_description.unwrap_or_default();
            return Err(AuthError::unauthenticated(
                format!(
                    "GitHub refused the authorization code: {} {detail}",
                    error.error
                )
                .trim_end()
                .to_owned(),
            ));
        }
        if !status.is_success() {
            return Err(AuthError::Upstream(format!(
                "GitHub token exchange answered {status}"
            )));
        }
        serde_json::from_value(body).map_err(|e| {
            AuthError::Upstream(format!(
                "GitHub token exchange answered an unexpected body: {e}"
            ))
        })
    }

    /// `GET /user` with the access token.
    pub async fn fetch_user(&self, access_token: &SecretString) -> AuthResult<GithubUser> {
        let url = join(&self.api_base, "user")?;
        let response = self
            .http
            .get(url)
            .timeout(HTTP_TIMEOUT)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .bearer_auth(access_token.expose_secret())
            .send()
            .await
            .map_err(|e| AuthError::Upstream(format!("GitHub user request failed: {e}")))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(AuthError::unauthenticated("Invalid access token"));
        }
        if !status.is_success() {
            return Err(AuthError::Upstream(format!(
                "GitHub user request answered {status}"
            )));
        }
        response
            .json()
            .await
            .map_err(|e| AuthError::Upstream(format!("GitHub user is not the expected JSON: {e}")))
    }

    /// Runs the configured sign-in resolvers for a GitHub user.
    pub async fn sign_in(
        &self,
        user: &GithubUser,
        users: &dyn UserResolver,
    ) -> AuthResult<ResolvedUser> {
        resolve_sign_in(&self.resolvers, &user.sign_in_profile(), users).await
    }
}

/// A base URL that relative joins extend rather than replace (`/api/v3` keeps its path).
fn parse_base(text: &str) -> Result<url::Url, String> {
    let with_slash = if text.ends_with('/') {
        text.to_owned()
    } else {
        format!("{text}/")
    };
    let url = url::Url::parse(&with_slash).map_err(|e| format!("invalid URL '{text}': {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("invalid URL '{text}': must be http(s)"));
    }
    Ok(url)
}

fn join(base: &url::Url, path: &str) -> AuthResult<url::Url> {
    base.join(path)
        .map_err(|e| AuthError::Config(format!("cannot build a GitHub URL: {e}")))
}
