//! One GitHub API endpoint (an integration): octocrab, the integration's credentials (a token
//! and GitHub App installations, picked per owner), a semaphore bounding concurrent calls, the
//! quota from every answer, a shared pause while rate-limited, conditional GETs from a bounded
//! cache, and bounded retries. Every REST call in the crate goes through [`ApiClient::send`].

use crate::app::AppCredentials;
use crate::cache::Lru;
use crate::config::GithubIntegrationConfig;
use crate::error::GithubError;
use crate::rate_limit::{backoff, classify_limited, Limited, RateQuota};
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, IF_NONE_MATCH};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// GitHub's JSON media type.
pub(crate) const ACCEPT_JSON: &str = "application/vnd.github+json";
/// The contents API answers a file's bytes as they are with this.
pub(crate) const ACCEPT_RAW: &str = "application/vnd.github.raw";

/// Tuning for every client a reader holds. The defaults suit a server; tests shorten them.
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// Concurrent requests per GitHub host.
    pub max_concurrency: usize,
    /// Retries after a 5xx, a transport error or a rate-limit answer.
    pub max_retries: u32,
    /// The longest a call waits out a rate limit; beyond it the call fails with `RateLimited`
    /// so the caller can reschedule instead of holding a worker.
    pub max_rate_limit_wait: Duration,
    /// First wait after a 5xx or transport error; doubled per retry.
    pub server_error_backoff: Duration,
    /// Wait after a rate-limit answer that gave no reset time; doubled per retry.
    pub rate_limit_backoff: Duration,
    /// One attempt, from sending to the last body byte.
    pub request_timeout: Duration,
    /// Responses kept (with their ETag) for conditional requests.
    pub cache_entries: usize,
    /// Larger bodies are not cached.
    pub cache_max_body_bytes: usize,
    /// Larger bodies are refused as `Invalid`.
    pub max_body_bytes: usize,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            max_concurrency: 4,
            max_retries: 3,
            max_rate_limit_wait: Duration::from_secs(60),
            server_error_backoff: Duration::from_millis(500),
            rate_limit_backoff: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            cache_entries: 4096,
            cache_max_body_bytes: 1024 * 1024,
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

/// A successful answer, fresh or from the cache.
#[derive(Debug)]
pub(crate) struct Body {
    pub(crate) bytes: Vec<u8>,
    pub(crate) etag: Option<String>,
    pub(crate) link: Option<String>,
    pub(crate) content_type: Option<String>,
}

pub(crate) enum Fetched {
    /// A 200 (or the cached copy of one, after a 304 the caller did not ask for).
    Body(Arc<Body>),
    /// A 304 for the ETag the caller passed.
    NotModified,
}

pub(crate) struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// Whose credentials a request carries.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// The owner's: a GitHub App installation token when an app is installed there, else the
    /// integration's token, else none. `None` (no owner) uses the token.
    Owner(Option<&'a str>),
    /// Exactly this bearer credential (an app JWT).
    Bearer(&'a str),
}

/// One request to send.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub(crate) method: &'a Method,
    /// Relative to the API base, with its query.
    pub(crate) path: &'a str,
    pub(crate) accept: &'a str,
    pub(crate) if_none_match: Option<&'a str>,
    pub(crate) auth: Auth<'a>,
}

pub(crate) struct ApiClient {
    pub(crate) host: String,
    pub(crate) api_base: url::Url,
    octo: octocrab::Octocrab,
    credentials: AppCredentials,
    permits: Semaphore,
    quota: Mutex<Option<RateQuota>>,
    paused_until: Mutex<Option<Instant>>,
    cache: Mutex<Lru<Body>>,
    options: ReaderOptions,
    /// No token and no app: warned about once, on first use (the implicit github.com entry may
    /// never be).
    anonymous: bool,
    warned_anonymous: AtomicBool,
}

impl ApiClient {
    pub(crate) fn new(
        config: &GithubIntegrationConfig,
        options: &ReaderOptions,
    ) -> Result<Self, GithubError> {
        let host = config.host.to_ascii_lowercase();
        let api_base_str = config.effective_api_base_url().ok_or_else(|| {
            GithubError::invalid(format!(
                "integrations.github: host '{host}' needs an apiBaseUrl (e.g. https://{host}/api/v3)"
            ))
        })?;
        let api_base = url::Url::parse(&api_base_str).map_err(|e| {
            GithubError::invalid(format!(
                "integrations.github: invalid apiBaseUrl '{api_base_str}': {e}"
            ))
        })?;
        // octocrab spawns its request worker on the current runtime.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(GithubError::invalid(
                "the GitHub client must be created inside a Tokio runtime",
            ));
        }
        let builder = octocrab::Octocrab::builder()
            .base_uri(api_base_str.as_str())
            .map_err(|e| GithubError::invalid(format!("invalid apiBaseUrl '{api_base_str}': {e}")))?
            .set_connect_timeout(Some(options.request_timeout.min(Duration::from_secs(10))))
            .set_read_timeout(Some(options.request_timeout));
        // No octocrab auth: each request carries the credential its owner needs.
        let token = config.token_value();
        let anonymous = token.is_none() && config.apps.is_empty();
        let credentials = AppCredentials::new(&host, token, &config.apps);
        let octo = builder.build().map_err(|e| {
            GithubError::invalid(format!("could not build the GitHub client for {host}: {e}"))
        })?;
        Ok(Self {
            host,
            api_base,
            octo,
            credentials,
            permits: Semaphore::new(options.max_concurrency.max(1)),
            quota: Mutex::new(None),
            paused_until: Mutex::new(None),
            cache: Mutex::new(Lru::new(options.cache_entries)),
            options: options.clone(),
            anonymous,
            warned_anonymous: AtomicBool::new(false),
        })
    }

    pub(crate) fn quota(&self) -> Option<RateQuota> {
        *self.quota.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The integration's credentials (token and GitHub Apps).
    pub(crate) fn credentials(&self) -> &AppCredentials {
        &self.credentials
    }

    /// GETs `path` (relative to the API base, with its query) conditionally, with `owner`'s
    /// credentials: with the caller's ETag, else with the cached one. A 304 answers
    /// `NotModified` to a caller that passed an ETag, and the cached body to one that did not.
    pub(crate) async fn get(
        &self,
        owner: Option<&str>,
        path: &str,
        accept: &str,
        caller_etag: Option<&str>,
    ) -> Result<Fetched, GithubError> {
        let key = format!("{accept} {path}");
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key);
        let conditional = caller_etag
            .map(str::to_string)
            .or_else(|| cached.as_ref().and_then(|c| c.etag.clone()));
        let raw = self
            .send(Request {
                method: &Method::GET,
                path,
                accept,
                if_none_match: conditional.as_deref(),
                auth: Auth::Owner(owner),
            })
            .await?;
        if raw.status == StatusCode::NOT_MODIFIED {
            return match (caller_etag, cached) {
                (Some(_), _) => Ok(Fetched::NotModified),
                (None, Some(body)) => Ok(Fetched::Body(body)),
                (None, None) => Err(GithubError::transient(format!(
                    "GitHub answered 304 Not Modified for {path} without a cached copy"
                ))),
            };
        }
        let header = |name: &str| {
            raw.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let body = Body {
            etag: header("etag"),
            link: header("link"),
            content_type: header("content-type"),
            bytes: raw.body,
        };
        let cacheable =
            body.etag.is_some() && body.bytes.len() <= self.options.cache_max_body_bytes;
        let body = Arc::new(body);
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cacheable {
            cache.put_shared(key, body.clone());
        } else {
            cache.remove(&key);
        }
        Ok(Fetched::Body(body))
    }

    /// GETs every page of a list, following `Link: rel="next"`. Pages are conditional requests
    /// too, so an unchanged list costs no quota.
    pub(crate) async fn get_all_pages(
        &self,
        owner: Option<&str>,
        first_path: &str,
    ) -> Result<Vec<serde_json::Value>, GithubError> {
        // A cap against a server that links pages in a circle.
        const MAX_PAGES: usize = 1000;
        let mut items = Vec::new();
        let mut next = Some(first_path.to_string());
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(GithubError::invalid(format!(
                    "more than {MAX_PAGES} pages listing {first_path}"
                )));
            }
            let Fetched::Body(body) = self.get(owner, &path, ACCEPT_JSON, None).await? else {
                return Err(GithubError::transient(format!(
                    "unexpected 304 listing {path}"
                )));
            };
            let page: Vec<serde_json::Value> = serde_json::from_slice(&body.bytes)
                .map_err(|e| GithubError::invalid(format!("unexpected answer for {path}: {e}")))?;
            items.extend(page);
            if let Some(link) = body.link.as_deref().and_then(next_link) {
                next = Some(self.relative_to_base(&link)?);
            }
        }
        Ok(items)
    }

    /// GETs one JSON document.
    pub(crate) async fn get_json(
        &self,
        owner: Option<&str>,
        path: &str,
    ) -> Result<serde_json::Value, GithubError> {
        let Fetched::Body(body) = self.get(owner, path, ACCEPT_JSON, None).await? else {
            return Err(GithubError::transient(format!("unexpected 304 for {path}")));
        };
        serde_json::from_slice(&body.bytes)
            .map_err(|e| GithubError::invalid(format!("unexpected answer for {path}: {e}")))
    }

    /// Turns a `Link` URL into a path on this API, refusing other origins: the token must not
    /// travel to a host the config did not name.
    pub(crate) fn relative_to_base(&self, link: &str) -> Result<String, GithubError> {
        let url = url::Url::parse(link)
            .map_err(|e| GithubError::invalid(format!("bad Link URL '{link}': {e}")))?;
        if url.origin() != self.api_base.origin() {
            return Err(GithubError::invalid(format!(
                "GitHub linked to another origin: {link}"
            )));
        }
        Ok(match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        })
    }

    /// Sends with the waits and retries the options allow; answers 2xx and 304, or the error.
    /// A 401 for an installation token drops that token and tries once more with a new one
    /// (it was revoked, or expired early).
    pub(crate) async fn send(&self, request: Request<'_>) -> Result<RawResponse, GithubError> {
        let Request {
            method,
            path,
            accept,
            if_none_match,
            auth,
        } = request;
        if self.anonymous && !self.warned_anonymous.swap(true, Ordering::Relaxed) {
            tracing::warn!(github.host = %self.host,
                "No token configured for GitHub host {}: requests are unauthenticated \
                 (60 per hour on github.com) and private repositories are invisible",
                self.host);
        }
        let mut attempt: u32 = 0;
        let mut renewed_token = false;
        loop {
            self.wait_out_pause(path).await?;
            // Resolved outside the permit: minting a token sends requests of its own.
            let credential = match auth {
                Auth::Bearer(jwt) => Some(crate::app::Credential::App(jwt.to_string())),
                Auth::Owner(owner) => self.credentials.credential_for(self, owner).await?,
            };
            let outcome = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| GithubError::transient("GitHub client is shutting down"))?;
                // A pause may have begun while this request queued for a permit.
                if !self.pause_remaining().is_zero() {
                    continue;
                }
                let bearer = credential.as_ref().map(crate::app::Credential::secret);
                self.send_once(method, path, accept, if_none_match, bearer)
                    .await
            };
            let raw = match outcome {
                Ok(raw) => raw,
                Err(message) => {
                    if attempt >= self.options.max_retries {
                        return Err(GithubError::transient(format!(
                            "{method} {path} on {}: {message}",
                            self.host
                        )));
                    }
                    let wait = self.server_backoff(attempt);
                    tracing::warn!(github.host = %self.host, http.path = %path, attempt,
                        wait_ms = wait.as_millis() as u64, "GitHub request failed: {message}; retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
            };
            self.record_quota(&raw.headers);
            let status = raw.status;
            if status.is_success() || status == StatusCode::NOT_MODIFIED {
                return Ok(raw);
            }
            let message = error_message(&raw.body, status);
            let what = format!("{method} {path} on {}: {status} {message}", self.host);
            if status == StatusCode::UNAUTHORIZED && !renewed_token {
                if let (Some(crate::app::Credential::Installation { owner, .. }), Auth::Owner(_)) =
                    (&credential, auth)
                {
                    tracing::warn!(github.host = %self.host, github.owner = %owner,
                        "GitHub refused the installation token of {owner}; minting a new one");
                    self.credentials.forget(owner);
                    renewed_token = true;
                    continue;
                }
            }
            match status {
                // 409 on a read is GitHub's "Git Repository is empty": nothing there either.
                StatusCode::NOT_FOUND | StatusCode::GONE | StatusCode::CONFLICT => {
                    return Err(GithubError::not_found(what));
                }
                StatusCode::UNAUTHORIZED => return Err(GithubError::unauthorized(what)),
                StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => {
                    let hint = match classify_limited(status, &raw.headers, &raw.body) {
                        Limited::Forbidden => return Err(GithubError::unauthorized(what)),
                        Limited::Wait(hint) => hint,
                    };
                    let wait = hint.unwrap_or_else(|| {
                        backoff(
                            self.options.rate_limit_backoff,
                            attempt,
                            self.options.max_rate_limit_wait,
                        )
                    });
                    if attempt >= self.options.max_retries
                        || wait > self.options.max_rate_limit_wait
                    {
                        tracing::warn!(github.host = %self.host, http.path = %path,
                            retry_after_s = wait.as_secs(), "GitHub rate limit: giving up for now");
                        return Err(GithubError::RateLimited {
                            retry_after: wait,
                            message: what,
                        });
                    }
                    tracing::warn!(github.host = %self.host, http.path = %path, attempt,
                        wait_ms = wait.as_millis() as u64, "GitHub rate limit: waiting");
                    self.pause_for(wait);
                    attempt += 1;
                }
                s if s.is_server_error() => {
                    if attempt >= self.options.max_retries {
                        return Err(GithubError::transient(what));
                    }
                    let wait = self.server_backoff(attempt);
                    tracing::warn!(github.host = %self.host, http.path = %path, attempt,
                        wait_ms = wait.as_millis() as u64, "GitHub server error {status}; retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => return Err(GithubError::invalid(what)),
            }
        }
    }

    fn server_backoff(&self, attempt: u32) -> Duration {
        backoff(
            self.options.server_error_backoff,
            attempt,
            Duration::from_secs(10),
        )
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        accept: &str,
        if_none_match: Option<&str>,
        bearer: Option<&str>,
    ) -> Result<RawResponse, String> {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_str(accept).map_err(|e| e.to_string())?,
        );
        if let Some(bearer) = bearer {
            let mut value = HeaderValue::from_str(&format!("Bearer {bearer}"))
                .map_err(|_| "the credential is not a valid header value".to_string())?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        if let Some(etag) = if_none_match {
            // An ETag that is not a valid header value is dropped: the request is then plain.
            if let Ok(value) = HeaderValue::from_str(etag) {
                headers.insert(IF_NONE_MATCH, value);
            }
        }
        let max_body = self.options.max_body_bytes;
        let attempt = async {
            let response = if method == Method::GET {
                self.octo._get_with_headers(path, Some(headers)).await
            } else {
                let mut builder = http::Request::builder().method(method.clone()).uri(path);
                for (name, value) in &headers {
                    builder = builder.header(name, value);
                }
                match self
                    .octo
                    .build_request(builder, Some(&serde_json::json!({})))
                {
                    Ok(request) => self.octo.execute(request).await,
                    Err(e) => Err(e),
                }
            }
            .map_err(|e| describe_octocrab_error(&e))?;
            let (parts, body) = response.into_parts();
            let bytes = http_body_util::Limited::new(body, max_body)
                .collect()
                .await
                .map_err(|e| format!("reading the body: {e}"))?
                .to_bytes();
            Ok(RawResponse {
                status: parts.status,
                headers: parts.headers,
                body: bytes.to_vec(),
            })
        };
        match tokio::time::timeout(self.options.request_timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "timed out after {} ms",
                self.options.request_timeout.as_millis()
            )),
        }
    }

    fn record_quota(&self, headers: &HeaderMap) {
        let Some(quota) = RateQuota::from_headers(headers) else {
            return;
        };
        let previous = self
            .quota
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(quota);
        tracing::debug!(github.host = %self.host, quota.remaining = quota.remaining,
            quota.limit = quota.limit, quota.reset = quota.reset, "GitHub quota");
        let threshold = quota.limit / 10;
        let crossed = previous.is_none_or(|p| p.remaining > threshold);
        if quota.remaining <= threshold && crossed {
            tracing::warn!(github.host = %self.host, quota.remaining = quota.remaining,
                quota.limit = quota.limit, reset_in_s = quota.time_to_reset().as_secs(),
                "GitHub quota is running low");
        }
    }

    /// Makes every request on this client wait `wait` (the longest pause asked for wins).
    fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    /// How long until the quota resets, when it is known to be used up.
    fn exhausted_for(&self) -> Duration {
        self.quota()
            .filter(RateQuota::is_exhausted)
            .map(|q| q.time_to_reset())
            .unwrap_or_default()
    }

    /// How long requests must still wait: an explicit pause or a used-up quota.
    fn pause_remaining(&self) -> Duration {
        let pause = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map(|until| until.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        pause.max(self.exhausted_for())
    }

    /// Waits while the client is paused or the known quota is used up, so nothing is sent that
    /// GitHub would refuse; fails at once when the wait would exceed the allowed maximum.
    async fn wait_out_pause(&self, path: &str) -> Result<(), GithubError> {
        loop {
            let exhausted = self.exhausted_for();
            let wait = self.pause_remaining();
            if wait.is_zero() {
                return Ok(());
            }
            if wait > self.options.max_rate_limit_wait {
                return Err(GithubError::RateLimited {
                    retry_after: wait,
                    message: format!(
                        "GET {path} on {}: rate limited, not sending until the limit resets",
                        self.host
                    ),
                });
            }
            tokio::time::sleep(wait).await;
            if !exhausted.is_zero() {
                // The window has reset; forget the exhausted quota until GitHub reports anew.
                let mut quota = self.quota.lock().unwrap_or_else(PoisonError::into_inner);
                if quota.is_some_and(|q| q.is_exhausted()) {
                    *quota = None;
                }
            }
        }
    }
}

fn describe_octocrab_error(e: &octocrab::Error) -> String {
    use std::error::Error as _;
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// GitHub's `{"message": …}`, or the status text.
fn error_message(body: &[u8], status: StatusCode) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_string))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string())
}

/// The `rel="next"` URL of a `Link` header.
pub(crate) fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_next_link() {
        let header = "<https://api.github.com/organizations/1/repos?per_page=100&page=2>; \
                      rel=\"next\", <https://api.github.com/organizations/1/repos?page=5>; \
                      rel=\"last\"";
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://api.github.com/organizations/1/repos?per_page=100&page=2")
        );
        assert_eq!(
            next_link("<https://x/y?page=1>; rel=\"prev\", <https://x/y?page=1>; rel=\"first\""),
            None
        );
    }

    #[test]
    fn error_messages_come_from_the_body() {
        assert_eq!(
            error_message(
                br#"{"message":"Bad credentials"}"#,
                StatusCode::UNAUTHORIZED
            ),
            "Bad credentials"
        );
        assert_eq!(
            error_message(b"<html>", StatusCode::BAD_GATEWAY),
            "Bad Gateway"
        );
    }
}
