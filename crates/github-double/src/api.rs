//! The double's behaviour, free of HTTP plumbing: one request in, one reply out, against the
//! shared state (model, quota, injected failures, request statistics).

use crate::app::{self, Apps, Refused};
use crate::model::{AppModel, OrgModel};
use crate::oauth::{self, OAuthCodes};
use crate::shapes::{self, ContentRef};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A failure to answer instead of the real thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Primary rate limit: 403, `X-RateLimit-Remaining: 0`, `X-RateLimit-Reset` in `reset_in`,
    /// and `Retry-After` when given.
    RateLimited {
        reset_in: Duration,
        retry_after: Option<Duration>,
    },
    /// Secondary rate limit: 403 with `Retry-After` and quota left.
    SecondaryRateLimit { retry_after: Duration },
    /// 429, with `Retry-After` when given.
    TooManyRequests { retry_after: Option<Duration> },
    /// A 5xx with GitHub's error body.
    ServerError { status: u16 },
    /// 401 Bad credentials.
    BadCredentials,
    /// Answers normally, after this delay (for client timeouts).
    Delay(Duration),
}

/// What the double has seen since the start (or the last reset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestStats {
    pub total: u64,
    /// Requests answered 304 Not Modified.
    pub not_modified: u64,
    /// Requests that carried `If-None-Match`.
    pub conditional: u64,
    /// Requests that used up primary quota (not 304s, not `/rate_limit`, not injected failures).
    pub quota_counted: u64,
    /// Requests answered with an injected failure.
    pub failures_injected: u64,
    /// Requests per path (without the query string).
    pub by_path: BTreeMap<String, u64>,
    pub by_status: BTreeMap<u16, u64>,
}

impl RequestStats {
    /// Requests to exactly this path.
    pub fn to_path(&self, path: &str) -> u64 {
        self.by_path.get(path).copied().unwrap_or(0)
    }

    /// Requests to paths starting with `prefix`.
    pub fn with_prefix(&self, prefix: &str) -> u64 {
        self.by_path
            .iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn with_status(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }
}

/// One request as the double saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The path as sent (percent-encoded), without the query.
    pub path: String,
    pub query: String,
    pub status: u16,
    pub if_none_match: Option<String>,
    pub authorization: bool,
    /// The token or JWT of the `Authorization` header, without its scheme.
    pub credential: Option<String>,
    /// When the double received it.
    pub received_at: Instant,
}

/// The parts of a request the double looks at.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestInfo {
    pub method: String,
    /// Percent-encoded path.
    pub path: String,
    pub query: String,
    pub accept: Option<String>,
    pub if_none_match: Option<String>,
    pub authorization: Option<String>,
    /// The request body (OAuth's form posts).
    pub body: Vec<u8>,
}

pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Option<Duration>,
}

struct Quota {
    limit: u64,
    used: u64,
    reset: u64,
    window: Duration,
}

pub(crate) struct State {
    /// The primary organization.
    pub model: OrgModel,
    /// More organizations served beside it (e.g. other installations of an app).
    pub other_orgs: Vec<OrgModel>,
    pub apps: Apps,
    pub base_url: String,
    quota: Quota,
    failures: VecDeque<(Option<String>, Failure)>,
    pub stats: RequestStats,
    pub log: Vec<RequestRecord>,
    request_seq: u64,
    oauth_codes: OAuthCodes,
}

pub(crate) fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Like GitHub's default rate limit for a token: 5,000 per hour.
const DEFAULT_LIMIT: u64 = 5000;
const DEFAULT_WINDOW: Duration = Duration::from_secs(3600);
const MAX_PER_PAGE: usize = 100;
const DEFAULT_PER_PAGE: usize = 30;

impl State {
    pub(crate) fn new(model: OrgModel, base_url: String) -> Self {
        Self {
            model,
            other_orgs: Vec::new(),
            apps: Apps::default(),
            base_url,
            quota: Quota {
                limit: DEFAULT_LIMIT,
                used: 0,
                reset: now_epoch() + DEFAULT_WINDOW.as_secs(),
                window: DEFAULT_WINDOW,
            },
            failures: VecDeque::new(),
            stats: RequestStats::default(),
            log: Vec::new(),
            request_seq: 0,
            oauth_codes: OAuthCodes::default(),
        }
    }

    pub(crate) fn set_rate_limit(&mut self, limit: u64, window: Duration) {
        self.quota = Quota {
            limit,
            used: 0,
            reset: now_epoch() + window.as_secs().max(1),
            window,
        };
    }

    pub(crate) fn add_app(&mut self, app: AppModel) {
        self.apps.apps.retain(|a| a.id != app.id);
        self.apps.apps.push(app);
    }

    pub(crate) fn expire_installation_tokens(&mut self) {
        self.apps.expire_all();
    }

    /// The organization named `login`, primary or other.
    fn org_model(&self, login: &str) -> Option<&OrgModel> {
        std::iter::once(&self.model)
            .chain(&self.other_orgs)
            .find(|o| o.login.eq_ignore_ascii_case(login))
    }

    pub(crate) fn queue_failures(&mut self, path_prefix: Option<String>, n: usize, f: Failure) {
        for _ in 0..n {
            self.failures.push_back((path_prefix.clone(), f.clone()));
        }
    }

    pub(crate) fn clear_failures(&mut self) {
        self.failures.clear();
    }

    fn refill_quota(&mut self) {
        let now = now_epoch();
        if now >= self.quota.reset {
            self.quota.used = 0;
            self.quota.reset = now + self.quota.window.as_secs().max(1);
        }
    }

    fn remaining(&self) -> u64 {
        self.quota.limit.saturating_sub(self.quota.used)
    }

    fn rate_headers(&self) -> Vec<(String, String)> {
        vec![
            ("x-ratelimit-limit".into(), self.quota.limit.to_string()),
            ("x-ratelimit-remaining".into(), self.remaining().to_string()),
            ("x-ratelimit-used".into(), self.quota.used.to_string()),
            ("x-ratelimit-reset".into(), self.quota.reset.to_string()),
            ("x-ratelimit-resource".into(), "core".into()),
        ]
    }

    fn take_failure(&mut self, path: &str) -> Option<Failure> {
        let index = self
            .failures
            .iter()
            .position(|(prefix, _)| prefix.as_deref().is_none_or(|p| path.starts_with(p)))?;
        self.failures.remove(index).map(|(_, f)| f)
    }

    pub(crate) fn respond(&mut self, req: &RequestInfo) -> Reply {
        let received_at = Instant::now();
        self.request_seq += 1;
        self.stats.total += 1;
        *self.stats.by_path.entry(req.path.clone()).or_default() += 1;
        if req.if_none_match.is_some() {
            self.stats.conditional += 1;
        }
        self.refill_quota();
        let mut reply = self.answer(req);
        reply.headers.extend([
            ("x-github-api-version-selected".into(), "2022-11-28".into()),
            (
                "x-github-request-id".into(),
                format!("DOUBLE:{:08X}", self.request_seq),
            ),
        ]);
        *self.stats.by_status.entry(reply.status).or_default() += 1;
        self.log.push(RequestRecord {
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            status: reply.status,
            if_none_match: req.if_none_match.clone(),
            authorization: req.authorization.is_some(),
            credential: req
                .authorization
                .as_deref()
                .map(|a| credential(a).to_string()),
            received_at,
        });
        reply
    }

    fn answer(&mut self, req: &RequestInfo) -> Reply {
        let mut delay = None;
        if let Some(failure) = self.take_failure(&req.path) {
            match failure {
                Failure::Delay(d) => delay = Some(d),
                other => {
                    self.stats.failures_injected += 1;
                    return self.failure_reply(other);
                }
            }
        }
        let mut reply = self.answer_normally(req);
        reply.delay = delay;
        reply
    }

    fn failure_reply(&self, failure: Failure) -> Reply {
        let message = |m: &str| json!({ "message": m, "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api" });
        match failure {
            Failure::RateLimited {
                reset_in,
                retry_after,
            } => {
                let reset = now_epoch() + reset_in.as_secs();
                let mut headers = vec![
                    ("x-ratelimit-limit".into(), self.quota.limit.to_string()),
                    ("x-ratelimit-remaining".into(), "0".into()),
                    ("x-ratelimit-used".into(), self.quota.limit.to_string()),
                    ("x-ratelimit-reset".into(), reset.to_string()),
                    ("x-ratelimit-resource".into(), "core".into()),
                ];
                if let Some(r) = retry_after {
                    headers.push(("retry-after".into(), r.as_secs().to_string()));
                }
                json_reply(
                    403,
                    headers,
                    &message("API rate limit exceeded for user ID 1000."),
                )
            }
            Failure::SecondaryRateLimit { retry_after } => {
                let mut headers = self.rate_headers();
                headers.push(("retry-after".into(), retry_after.as_secs().to_string()));
                json_reply(
                    403,
                    headers,
                    &message("You have exceeded a secondary rate limit. Please wait a few minutes before you try again."),
                )
            }
            Failure::TooManyRequests { retry_after } => {
                let mut headers = self.rate_headers();
                if let Some(r) = retry_after {
                    headers.push(("retry-after".into(), r.as_secs().to_string()));
                }
                json_reply(429, headers, &message("Too Many Requests"))
            }
            Failure::ServerError { status } => json_reply(
                status,
                self.rate_headers(),
                &json!({ "message": "Server Error" }),
            ),
            Failure::BadCredentials => bad_credentials("Bad credentials"),
            Failure::Delay(_) => json_reply(500, Vec::new(), &json!({})),
        }
    }

    fn answer_normally(&mut self, req: &RequestInfo) -> Reply {
        // The OAuth web flow is GitHub's website, not its API: no token, no quota.
        if req.path.starts_with("/login/oauth/") {
            let mut params = parse_query(&req.query);
            params.extend(parse_query(&String::from_utf8_lossy(&req.body)));
            if let Some(r) = oauth::answer(&mut self.oauth_codes, &self.model, req, &params) {
                return Reply {
                    status: r.status,
                    headers: r.headers,
                    body: r.body,
                    delay: None,
                };
            }
        }
        if req.path == "/app" || req.path.starts_with("/app/") {
            return self.answer_app(req);
        }
        if req.method != "GET" && req.method != "HEAD" {
            return self.not_found();
        }
        if let Err(reply) = self.check_credentials(req) {
            return reply;
        }
        let free = req.path == "/rate_limit";
        if !free && self.remaining() == 0 {
            return json_reply(
                403,
                self.rate_headers(),
                &json!({
                    "message": "API rate limit exceeded for user ID 1000.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                }),
            );
        }
        let routed = self.route(req);
        let (status, content_type, body, mut headers) = match routed {
            Ok(ok) => (200, ok.content_type, ok.body, ok.headers),
            Err(status) => {
                let body = match status {
                    404 => shapes::not_found_body(),
                    409 => {
                        json!({"message": "Git Repository is empty.", "documentation_url": "https://docs.github.com/rest/git/trees#get-a-tree", "status": "409"})
                    }
                    _ => json!({"message": "Error"}),
                };
                (
                    status,
                    "application/json; charset=utf-8".to_string(),
                    body.to_string().into_bytes(),
                    Vec::new(),
                )
            }
        };
        if status == 200 {
            let etag = etag_for(&body, content_type.contains("json"));
            if req
                .if_none_match
                .as_deref()
                .is_some_and(|inm| etag_matches(inm, &etag))
            {
                self.stats.not_modified += 1;
                let mut headers = self.rate_headers();
                headers.push(("etag".into(), etag));
                return Reply {
                    status: 304,
                    headers,
                    body: Vec::new(),
                    delay: None,
                };
            }
            headers.push(("etag".into(), etag));
            headers.push((
                "cache-control".into(),
                "private, max-age=60, s-maxage=60".into(),
            ));
            headers.push(("vary".into(), "Accept, Authorization, Cookie".into()));
        }
        if !free {
            self.quota.used += 1;
            self.stats.quota_counted += 1;
        }
        headers.extend(self.rate_headers());
        headers.push(("content-type".into(), content_type));
        Reply {
            status,
            headers,
            body: if req.method == "HEAD" {
                Vec::new()
            } else {
                body
            },
            delay: None,
        }
    }

    /// A configured token, or an unexpired installation token whose installation covers the
    /// path's owner (another owner's resources are invisible: 404). Anonymous and unknown
    /// tokens pass only while the double requires no token; unknown installation tokens never.
    fn check_credentials(&self, req: &RequestInfo) -> Result<(), Reply> {
        let given = req.authorization.as_deref().map(credential);
        if let Some(issued) = given.and_then(|g| self.apps.issued(g)) {
            if issued.expires_at <= now_epoch() {
                return Err(bad_credentials("Bad credentials"));
            }
            let owner = path_owner(&req.path);
            if owner.is_some_and(|o| !o.eq_ignore_ascii_case(&issued.account)) {
                return Err(self.not_found());
            }
            return Ok(());
        }
        match (&self.model.token, given) {
            (Some(_), None) => Err(bad_credentials("Requires authentication")),
            (Some(token), Some(given)) if given != token.as_str() => {
                Err(bad_credentials("Bad credentials"))
            }
            (None, Some(given)) if given.starts_with("ghs_") => {
                Err(bad_credentials("Bad credentials"))
            }
            _ => Ok(()),
        }
    }

    /// `/app/…`: authenticated with an app JWT only.
    fn answer_app(&mut self, req: &RequestInfo) -> Reply {
        let now = now_epoch();
        let app = match self
            .apps
            .authenticate_app(req.authorization.as_deref(), now)
        {
            Ok(app) => app.clone(),
            Err(Refused(status, message)) => return error_reply(status, message),
        };
        let segments: Vec<&str> = req.path.split('/').skip(2).collect();
        let (api, web) = (self.base_url.clone(), self.model.web_base_url.clone());
        match (req.method.as_str(), segments.as_slice()) {
            ("GET", [""] | []) => json_reply(
                200,
                Vec::new(),
                &json!({"id": app.id, "slug": app.slug, "name": app.slug,
                        "owner": null, "installations_count": app.installations.len()}),
            ),
            ("GET", ["installations"]) => {
                let items: Vec<Value> = app
                    .installations
                    .iter()
                    .map(|i| app::installation_json(&api, &web, &app, i))
                    .collect();
                let query = parse_query(&req.query);
                let routed = self.paginate(req, &query, items);
                let mut headers = routed.headers;
                headers.push(("content-type".into(), routed.content_type));
                Reply {
                    status: 200,
                    headers,
                    body: routed.body,
                    delay: None,
                }
            }
            ("GET", ["installations", id]) => {
                match app.installations.iter().find(|i| i.id.to_string() == *id) {
                    Some(i) => json_reply(
                        200,
                        Vec::new(),
                        &app::installation_json(&api, &web, &app, i),
                    ),
                    None => self.not_found(),
                }
            }
            ("POST", ["installations", id, "access_tokens"]) => {
                let Ok(id) = id.parse::<u64>() else {
                    return self.not_found();
                };
                match self.apps.mint(app.id, id, now) {
                    Ok((token, expires_at)) => {
                        json_reply(201, Vec::new(), &app::access_token_json(&token, expires_at))
                    }
                    Err(Refused(status, message)) => error_reply(status, message),
                }
            }
            _ => self.not_found(),
        }
    }

    fn not_found(&self) -> Reply {
        json_reply(404, self.rate_headers(), &shapes::not_found_body())
    }

    fn route(&self, req: &RequestInfo) -> Result<Routed, u16> {
        let segments: Vec<String> = req
            .path
            .split('/')
            .skip(1)
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let query = parse_query(&req.query);
        let mut seg: Vec<&str> = segments.iter().map(String::as_str).collect();
        // GitHub Enterprise Server serves the same API under /api/v3.
        if seg.starts_with(&["api", "v3"]) {
            seg.drain(..2);
        }
        let owner_model = match seg.as_slice() {
            ["orgs", owner, ..] | ["repos", owner, ..] => self.org_model(owner),
            _ => None,
        };
        let model = owner_model.unwrap_or(&self.model);
        let is_org = |_: &str| owner_model.is_some();
        let (api, web) = (self.base_url.as_str(), model.web_base_url.as_str());
        match seg.as_slice() {
            ["rate_limit"] => Ok(Routed::json(&self.rate_limit_body())),
            ["user"] => match (&req.authorization, model.viewer()) {
                (Some(_), Some(user)) => Ok(Routed::json(&shapes::full_user(api, web, user))),
                _ => Err(404),
            },
            ["users", login] => std::iter::once(&self.model)
                .chain(&self.other_orgs)
                .flat_map(|o| o.users.values())
                .find(|u| u.login.eq_ignore_ascii_case(login))
                .map(|u| Routed::json(&shapes::full_user(api, web, u)))
                .ok_or(404),
            ["orgs", org] if is_org(org) => {
                Ok(Routed::json(&shapes::organization(api, web, model)))
            }
            ["orgs", org, "repos"] if is_org(org) => {
                let items: Vec<Value> = model
                    .repos
                    .values()
                    .map(|r| shapes::repository(api, web, model, r))
                    .collect();
                Ok(self.paginate(req, &query, items))
            }
            ["orgs", org, "members"] if is_org(org) => {
                let items: Vec<Value> = model
                    .members
                    .iter()
                    .filter_map(|login| model.users.get(login))
                    .map(|u| shapes::simple_user(api, web, u))
                    .collect();
                Ok(self.paginate(req, &query, items))
            }
            ["orgs", org, "teams"] if is_org(org) => {
                let items: Vec<Value> = model
                    .teams
                    .values()
                    .map(|t| shapes::team(api, web, model, t))
                    .collect();
                Ok(self.paginate(req, &query, items))
            }
            ["orgs", org, "teams", slug] if is_org(org) => model
                .teams
                .get(*slug)
                .map(|t| Routed::json(&shapes::team(api, web, model, t)))
                .ok_or(404),
            ["orgs", org, "teams", slug, "members"] if is_org(org) => {
                let team = model.teams.get(*slug).ok_or(404u16)?;
                // GitHub lists child teams' members too.
                let mut logins: BTreeSet<&str> = BTreeSet::new();
                let mut pending = vec![team.slug.as_str()];
                let mut seen = BTreeSet::new();
                while let Some(s) = pending.pop() {
                    if !seen.insert(s) {
                        continue;
                    }
                    if let Some(t) = model.teams.get(s) {
                        logins.extend(t.members.iter().map(String::as_str));
                    }
                    pending.extend(
                        model
                            .teams
                            .values()
                            .filter(|c| c.parent.as_deref() == Some(s))
                            .map(|c| c.slug.as_str()),
                    );
                }
                let items: Vec<Value> = logins
                    .iter()
                    .filter_map(|l| model.users.get(*l))
                    .map(|u| shapes::simple_user(api, web, u))
                    .collect();
                Ok(self.paginate(req, &query, items))
            }
            ["repos", owner, name] if is_org(owner) => model
                .repos
                .get(*name)
                .map(|r| Routed::json(&shapes::repository(api, web, model, r)))
                .ok_or(404),
            ["repos", owner, name, "contents", path @ ..] if is_org(owner) => self.contents(
                model,
                req,
                name,
                &path.join("/"),
                query.get("ref").map(String::as_str),
            ),
            ["repos", owner, name, "git", "trees", git_ref @ ..]
                if is_org(owner) && !git_ref.is_empty() =>
            {
                let recursive = query
                    .get("recursive")
                    .is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
                self.tree(model, name, &git_ref.join("/"), recursive)
            }
            _ => Err(404),
        }
    }

    fn rate_limit_body(&self) -> Value {
        let core = json!({
            "limit": self.quota.limit,
            "used": self.quota.used,
            "remaining": self.remaining(),
            "reset": self.quota.reset,
        });
        json!({
            "resources": {
                "core": core,
                "search": { "limit": 30, "used": 0, "remaining": 30, "reset": self.quota.reset },
                "graphql": { "limit": 5000, "used": 0, "remaining": 5000, "reset": self.quota.reset }
            },
            "rate": core
        })
    }

    fn paginate(
        &self,
        req: &RequestInfo,
        query: &BTreeMap<String, String>,
        items: Vec<Value>,
    ) -> Routed {
        let per_page = query
            .get("per_page")
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_PER_PAGE)
            .min(MAX_PER_PAGE);
        let page = query
            .get("page")
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1);
        let last = items.len().div_ceil(per_page).max(1);
        let slice: Vec<Value> = items
            .into_iter()
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .collect();
        let page_url = |n: usize| {
            let mut params: Vec<String> = query
                .iter()
                .filter(|(k, _)| k.as_str() != "page" && k.as_str() != "per_page")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            params.push(format!("per_page={per_page}"));
            params.push(format!("page={n}"));
            format!("<{}{}?{}>", self.base_url, req.path, params.join("&"))
        };
        let mut links = Vec::new();
        if page < last {
            links.push(format!("{}; rel=\"next\"", page_url(page + 1)));
            links.push(format!("{}; rel=\"last\"", page_url(last)));
        }
        if page > 1 {
            links.push(format!("{}; rel=\"prev\"", page_url((page - 1).min(last))));
            links.push(format!("{}; rel=\"first\"", page_url(1)));
        }
        let mut routed = Routed::json(&Value::Array(slice));
        if !links.is_empty() {
            routed.headers.push(("link".into(), links.join(", ")));
        }
        routed
    }

    fn branch_files<'m>(
        model: &'m OrgModel,
        repo: &str,
        git_ref: Option<&str>,
    ) -> Result<(String, &'m BTreeMap<String, Vec<u8>>), u16> {
        let repo = model.repos.get(repo).ok_or(404u16)?;
        if repo.branches.is_empty() {
            return Err(409);
        }
        let git_ref = git_ref.unwrap_or(&repo.default_branch);
        let files = repo.branches.get(git_ref).ok_or(404u16)?;
        Ok((git_ref.to_string(), files))
    }

    fn contents(
        &self,
        model: &OrgModel,
        req: &RequestInfo,
        repo: &str,
        path: &str,
        git_ref: Option<&str>,
    ) -> Result<Routed, u16> {
        let (git_ref, files) = match Self::branch_files(model, repo, git_ref) {
            // GitHub answers 404 for the contents of an empty repository.
            Err(409) => return Err(404),
            other => other?,
        };
        let full_name = format!("{}/{repo}", model.login);
        let refs = ContentRef {
            api: &self.base_url,
            web: &model.web_base_url,
            full_name: &full_name,
            git_ref: &git_ref,
        };
        let path = path.trim_matches('/');
        if let Some(content) = files.get(path) {
            let raw = req.accept.as_deref().is_some_and(|a| a.contains(".raw"));
            return Ok(if raw {
                Routed {
                    content_type: "text/plain; charset=utf-8".into(),
                    body: content.clone(),
                    headers: Vec::new(),
                }
            } else {
                Routed::json(&refs.file_with_content(path, content))
            });
        }
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let shas = blob_shas(files);
        let mut entries: BTreeMap<String, Value> = BTreeMap::new();
        for (file, content) in files.range(prefix.clone()..) {
            let Some(rest) = file.strip_prefix(&prefix) else {
                break;
            };
            match rest.split_once('/') {
                None => {
                    entries.insert(file.clone(), refs.file_entry(file, content));
                }
                Some((dir, _)) => {
                    let dir_path = format!("{prefix}{dir}");
                    if !entries.contains_key(&dir_path) {
                        let sha = dir_sha(&shas, &dir_path);
                        entries.insert(dir_path.clone(), refs.dir_entry(&dir_path, &sha));
                    }
                }
            }
        }
        if entries.is_empty() && !path.is_empty() {
            return Err(404);
        }
        Ok(Routed::json(&Value::Array(entries.into_values().collect())))
    }

    fn tree(
        &self,
        model: &OrgModel,
        repo: &str,
        git_ref: &str,
        recursive: bool,
    ) -> Result<Routed, u16> {
        let (git_ref, files) = Self::branch_files(model, repo, Some(git_ref))?;
        let full_name = format!("{}/{repo}", model.login);
        let api = &self.base_url;
        let shas = blob_shas(files);
        let mut entries: BTreeMap<String, Value> = BTreeMap::new();
        for (path, content) in files {
            let parts: Vec<&str> = path.split('/').collect();
            for depth in 1..parts.len() {
                if !recursive && depth > 1 {
                    break;
                }
                let dir = parts[..depth].join("/");
                if !entries.contains_key(&dir) {
                    let sha = dir_sha(&shas, &dir);
                    entries.insert(
                        dir.clone(),
                        json!({ "path": dir, "mode": "040000", "type": "tree", "sha": sha,
                                "url": format!("{api}/repos/{full_name}/git/trees/{sha}") }),
                    );
                }
            }
            if recursive || parts.len() == 1 {
                let sha = shas.get(path.as_str()).cloned().unwrap_or_default();
                entries.insert(
                    path.clone(),
                    json!({ "path": path, "mode": "100644", "type": "blob", "sha": sha,
                            "size": content.len(),
                            "url": format!("{api}/repos/{full_name}/git/blobs/{sha}") }),
                );
            }
        }
        let sha = dir_sha(&shas, "");
        Ok(Routed::json(&json!({
            "sha": sha,
            "url": format!("{api}/repos/{full_name}/git/trees/{sha}"),
            "tree": entries.into_values().collect::<Vec<_>>(),
            "truncated": false,
            "ref": git_ref
        })))
    }
}

struct Routed {
    content_type: String,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
}

impl Routed {
    fn json(value: &Value) -> Self {
        Self {
            content_type: "application/json; charset=utf-8".into(),
            body: value.to_string().into_bytes(),
            headers: Vec::new(),
        }
    }
}

fn json_reply(status: u16, mut headers: Vec<(String, String)>, body: &Value) -> Reply {
    headers.push((
        "content-type".into(),
        "application/json; charset=utf-8".into(),
    ));
    Reply {
        status,
        headers,
        body: body.to_string().into_bytes(),
        delay: None,
    }
}

fn error_reply(status: u16, message: &str) -> Reply {
    json_reply(
        status,
        Vec::new(),
        &json!({ "message": message, "documentation_url": "https://docs.github.com/rest", "status": status.to_string() }),
    )
}

/// The account a path belongs to: `/repos/{owner}/…` and `/orgs/{org}/…`.
fn path_owner(path: &str) -> Option<String> {
    let mut segments = path.split('/').skip(1);
    match (segments.next(), segments.next()) {
        (Some("repos" | "orgs"), Some(owner)) if !owner.is_empty() => Some(
            percent_encoding::percent_decode_str(owner)
                .decode_utf8_lossy()
                .into_owned(),
        ),
        _ => None,
    }
}

fn bad_credentials(message: &str) -> Reply {
    json_reply(
        401,
        Vec::new(),
        &json!({ "message": message, "documentation_url": "https://docs.github.com/rest", "status": "401" }),
    )
}

/// The token of `Bearer X` or `token X`.
fn credential(header: &str) -> &str {
    let header = header.trim();
    for scheme in ["Bearer ", "bearer ", "token ", "Token "] {
        if let Some(rest) = header.strip_prefix(scheme) {
            return rest.trim();
        }
    }
    header
}

/// Blob ids of a branch's files, computed once per request.
fn blob_shas(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<&str, String> {
    files
        .iter()
        .map(|(path, content)| (path.as_str(), shapes::git_blob_sha(content)))
        .collect()
}

/// A directory's id: depends on every file below it, so it changes when they do.
fn dir_sha(shas: &BTreeMap<&str, String>, dir: &str) -> String {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut parts: Vec<&[u8]> = vec![dir.as_bytes()];
    for (path, sha) in shas.range(prefix.as_str()..) {
        if !path.starts_with(&prefix) {
            break;
        }
        parts.push(path.as_bytes());
        parts.push(sha.as_bytes());
    }
    shapes::object_sha(&parts)
}

/// Weak ETags for JSON (as GitHub sends them), strong ones for raw content.
fn etag_for(body: &[u8], json: bool) -> String {
    let sha = shapes::object_sha(&[body]);
    if json {
        format!("W/\"{sha}\"")
    } else {
        format!("\"{sha}\"")
    }
}

/// `If-None-Match` holds a list of ETags (or `*`); weak and strong forms compare equal.
fn etag_matches(header: &str, etag: &str) -> bool {
    let strip = |e: &str| e.trim().trim_start_matches("W/").to_string();
    let ours = strip(etag);
    header
        .split(',')
        .any(|candidate| candidate.trim() == "*" || strip(candidate) == ours)
}

fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RepoModel, TeamModel, UserModel};

    fn state() -> State {
        let model = OrgModel::new("acme")
            .repo(
                RepoModel::new("svc")
                    .file("catalog-info.yaml", "kind: Component\n")
                    .file("docs/a/catalog-info.yaml", "a")
                    .file("docs/b.md", "b"),
            )
            .repo(RepoModel::new("empty").empty())
            .user(UserModel::new("alice").name("Alice"))
            .user(UserModel::new("bob"))
            .team(TeamModel::new("eng").member("bob"))
            .team(TeamModel::new("platform").parent("eng").member("alice"));
        State::new(model, "http://127.0.0.1:1".into())
    }

    fn get(s: &mut State, path_and_query: &str) -> Reply {
        get_with(s, path_and_query, None, None)
    }

    fn get_with(s: &mut State, pq: &str, accept: Option<&str>, inm: Option<&str>) -> Reply {
        let (path, query) = pq.split_once('?').unwrap_or((pq, ""));
        s.respond(&RequestInfo {
            method: "GET".into(),
            path: path.into(),
            query: query.into(),
            accept: accept.map(str::to_string),
            if_none_match: inm.map(str::to_string),
            authorization: None,
            body: Vec::new(),
        })
    }

    fn header<'a>(r: &'a Reply, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json_body(r: &Reply) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn contents_json_raw_and_conditional() {
        let mut s = state();
        let r = get(
            &mut s,
            "/repos/acme/svc/contents/catalog-info.yaml?ref=main",
        );
        assert_eq!(r.status, 200);
        assert_eq!(json_body(&r)["encoding"], "base64");
        let raw = get_with(
            &mut s,
            "/repos/acme/svc/contents/catalog-info.yaml",
            Some("application/vnd.github.raw"),
            None,
        );
        assert_eq!(raw.body, b"kind: Component\n");
        let etag = header(&raw, "etag").unwrap().to_string();
        let again = get_with(
            &mut s,
            "/repos/acme/svc/contents/catalog-info.yaml",
            Some("application/vnd.github.raw"),
            Some(&etag),
        );
        assert_eq!(again.status, 304);
        assert!(again.body.is_empty());
        assert_eq!(s.stats.not_modified, 1);
        assert_eq!(s.stats.quota_counted, 2);
        assert_eq!(header(&again, "x-ratelimit-remaining"), Some("4998"));
        let dir = get(&mut s, "/repos/acme/svc/contents/docs");
        let names: Vec<String> = json_body(&dir)
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}:{}",
                    e["type"].as_str().unwrap(),
                    e["path"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(names, ["dir:docs/a", "file:docs/b.md"]);
        assert_eq!(
            get(&mut s, "/repos/acme/svc/contents/nope.yaml").status,
            404
        );
        assert_eq!(
            get(&mut s, "/repos/acme/svc/contents/catalog-info.yaml?ref=dev").status,
            404
        );
        assert_eq!(get(&mut s, "/repos/acme/empty/contents/x").status, 404);
    }

    #[test]
    fn trees_and_empty_repositories() {
        let mut s = state();
        let t = json_body(&get(&mut s, "/repos/acme/svc/git/trees/main?recursive=1"));
        let paths: Vec<&str> = t["tree"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        assert_eq!(
            paths,
            [
                "catalog-info.yaml",
                "docs",
                "docs/a",
                "docs/a/catalog-info.yaml",
                "docs/b.md"
            ]
        );
        let top = json_body(&get(&mut s, "/repos/acme/svc/git/trees/main"));
        assert_eq!(top["tree"].as_array().unwrap().len(), 2);
        assert_eq!(get(&mut s, "/repos/acme/empty/git/trees/main").status, 409);
    }

    #[test]
    fn pagination_links() {
        let mut s = state();
        let first = get(&mut s, "/orgs/acme/repos?per_page=1&type=all");
        assert_eq!(json_body(&first).as_array().unwrap().len(), 1);
        let link = header(&first, "link").unwrap();
        assert!(
            link.contains(
                "<http://127.0.0.1:1/orgs/acme/repos?type=all&per_page=1&page=2>; rel=\"next\""
            ),
            "{link}"
        );
        assert!(link.contains("rel=\"last\""));
        let second = get(&mut s, "/orgs/acme/repos?per_page=1&page=2&type=all");
        let link = header(&second, "link").unwrap();
        assert!(!link.contains("rel=\"next\""));
        assert!(link.contains("rel=\"prev\""));
        let single = get(&mut s, "/orgs/acme/repos");
        assert!(header(&single, "link").is_none());
        assert_eq!(get(&mut s, "/orgs/other/repos").status, 404);
    }

    #[test]
    fn team_members_include_child_teams() {
        let mut s = state();
        let eng = json_body(&get(&mut s, "/orgs/acme/teams/eng/members"));
        let logins: Vec<&str> = eng
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["login"].as_str().unwrap())
            .collect();
        assert_eq!(logins, ["alice", "bob"]);
        let teams = json_body(&get(&mut s, "/orgs/acme/teams"));
        assert_eq!(teams[1]["parent"]["slug"], "eng");
        assert_eq!(teams[0]["parent"], Value::Null);
    }

    #[test]
    fn oauth_web_flow_signs_the_viewer_in() {
        let mut s = state();
        s.model.authenticated_user = Some("alice".into());
        let authorize = get(
            &mut s,
            "/login/oauth/authorize?client_id=c&redirect_uri=http%3A%2F%2Fapp%2Fcb&state=n%201",
        );
        assert_eq!(authorize.status, 302);
        let location = header(&authorize, "location").unwrap().to_string();
        assert!(location.starts_with("http://app/cb?code="), "{location}");
        assert!(location.ends_with("&state=n%201"), "{location}");
        let code = location["http://app/cb?code=".len()..]
            .split('&')
            .next()
            .unwrap()
            .to_string();
        let mut exchange = RequestInfo {
            method: "POST".into(),
            path: "/login/oauth/access_token".into(),
            body: format!("client_id=c&code={code}").into_bytes(),
            ..Default::default()
        };
        let token = json_body(&s.respond(&exchange));
        assert_eq!(
            token["access_token"],
            crate::DEFAULT_ACCESS_TOKEN,
            "{token}"
        );
        // A code works once.
        assert_eq!(
            json_body(&s.respond(&exchange))["error"],
            "bad_verification_code"
        );
        exchange.body = b"code=made-up".to_vec();
        assert_eq!(
            json_body(&s.respond(&exchange))["error"],
            "bad_verification_code"
        );
        // The token reads the viewer, also under Enterprise's /api/v3.
        let user = s.respond(&RequestInfo {
            method: "GET".into(),
            path: "/api/v3/user".into(),
            authorization: Some(format!("Bearer {}", crate::DEFAULT_ACCESS_TOKEN)),
            ..Default::default()
        });
        assert_eq!(json_body(&user)["login"], "alice");
    }

    #[test]
    fn tokens_quota_and_failures() {
        let mut s = state();
        s.model.token = Some("good".into());
        let mut req = RequestInfo {
            method: "GET".into(),
            path: "/users/alice".into(),
            ..Default::default()
        };
        assert_eq!(s.respond(&req).status, 401);
        req.authorization = Some("Bearer bad".into());
        assert_eq!(s.respond(&req).status, 401);
        req.authorization = Some("Bearer good".into());
        assert_eq!(s.respond(&req).status, 200);
        s.set_rate_limit(2, Duration::from_secs(60));
        assert_eq!(s.respond(&req).status, 200);
        assert_eq!(s.respond(&req).status, 200);
        let limited = s.respond(&req);
        assert_eq!(limited.status, 403);
        assert_eq!(header(&limited, "x-ratelimit-remaining"), Some("0"));
        req.path = "/rate_limit".into();
        assert_eq!(s.respond(&req).status, 200, "rate_limit is free");
        s.set_rate_limit(100, Duration::from_secs(60));
        req.path = "/users/alice".into();
        s.queue_failures(
            Some("/users/".into()),
            1,
            Failure::ServerError { status: 502 },
        );
        s.queue_failures(
            None,
            1,
            Failure::RateLimited {
                reset_in: Duration::from_secs(1),
                retry_after: Some(Duration::from_secs(1)),
            },
        );
        assert_eq!(s.respond(&req).status, 502);
        let rl = s.respond(&req);
        assert_eq!(rl.status, 403);
        assert_eq!(header(&rl, "retry-after"), Some("1"));
        assert_eq!(s.respond(&req).status, 200);
        assert_eq!(s.stats.failures_injected, 2);
    }

    fn app_jwt(key_pem: &str, iss: &str, iat: u64, exp: u64) -> String {
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap();
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &json!({"iss": iss, "iat": iat, "exp": exp}),
            &key,
        )
        .unwrap()
    }

    fn request(method: &str, path: &str, bearer: Option<&str>) -> RequestInfo {
        RequestInfo {
            method: method.into(),
            path: path.into(),
            authorization: bearer.map(|b| format!("Bearer {b}")),
            ..Default::default()
        }
    }

    #[test]
    fn apps_check_jwts_and_mint_installation_tokens() {
        use crate::app::keys;
        let mut s = state();
        s.model.token = Some("good".into());
        s.other_orgs
            .push(OrgModel::new("beta").repo(RepoModel::new("b").file("catalog-info.yaml", "x")));
        s.add_app(
            crate::model::AppModel::new(42, keys::APP_PUBLIC_KEY_PEM)
                .installed_on_org("acme")
                .installed_on_user("octocat"),
        );
        let now = now_epoch();
        let good = app_jwt(keys::APP_PRIVATE_KEY_PEM, "42", now - 30, now + 500);
        let message = |r: &Reply| json_body(r)["message"].as_str().unwrap().to_string();

        let listed = s.respond(&request("GET", "/app/installations", Some(&good)));
        assert_eq!(listed.status, 200);
        let installs = json_body(&listed);
        assert_eq!(installs[0]["account"]["login"], "acme");
        assert_eq!(installs[0]["target_type"], "Organization");
        assert_eq!(installs[1]["target_type"], "User");

        for (jwt, why) in [
            (
                app_jwt(keys::WRONG_PRIVATE_KEY_PEM, "42", now - 30, now + 500),
                "could not be decoded",
            ),
            (
                app_jwt(keys::APP_PRIVATE_KEY_PEM, "42", now - 700, now - 100),
                "'Expiration time' claim ('exp') must be",
            ),
            (
                app_jwt(keys::APP_PRIVATE_KEY_PEM, "42", now, now + 3600),
                "too far in the future",
            ),
            (
                app_jwt(keys::APP_PRIVATE_KEY_PEM, "7", now, now + 500),
                "Integration not found",
            ),
            ("good".to_string(), "could not be decoded"),
        ] {
            let refused = s.respond(&request("GET", "/app/installations", Some(&jwt)));
            assert_eq!(refused.status, 401, "{why}");
            assert!(message(&refused).contains(why), "{}", message(&refused));
        }
        let refused = s.respond(&request("GET", "/app/installations", None));
        assert_eq!(refused.status, 401);

        let id = installs[0]["id"].as_u64().unwrap();
        let path = format!("/app/installations/{id}/access_tokens");
        assert_eq!(s.respond(&request("GET", &path, Some(&good))).status, 404);
        let minted = s.respond(&request("POST", &path, Some(&good)));
        assert_eq!(minted.status, 201);
        let body = json_body(&minted);
        let token = body["token"].as_str().unwrap().to_string();
        assert!(token.starts_with("ghs_"));
        assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));

        // The token reads its installation's account, not another's; it is no app JWT.
        let svc = "/repos/acme/svc/contents/catalog-info.yaml";
        assert_eq!(s.respond(&request("GET", svc, Some(&token))).status, 200);
        let beta = "/repos/beta/b/contents/catalog-info.yaml";
        assert_eq!(s.respond(&request("GET", beta, Some(&token))).status, 404);
        assert_eq!(s.respond(&request("GET", beta, Some("good"))).status, 200);
        assert_eq!(
            s.respond(&request("GET", "/app/installations", Some(&token)))
                .status,
            401
        );
        // Expired tokens and tokens the double never minted are bad credentials.
        s.expire_installation_tokens();
        assert_eq!(s.respond(&request("GET", svc, Some(&token))).status, 401);
        s.model.token = None;
        assert_eq!(
            s.respond(&request("GET", svc, Some("ghs_unknown"))).status,
            401
        );

        s.apps.apps[0].installations[0].suspended = true;
        let suspended = s.respond(&request("POST", &path, Some(&good)));
        assert_eq!(suspended.status, 403);
        assert_eq!(
            s.respond(&request(
                "POST",
                "/app/installations/1/access_tokens",
                Some(&good)
            ))
            .status,
            404
        );
    }

    #[test]
    fn etag_matching() {
        assert!(etag_matches("W/\"abc\"", "\"abc\""));
        assert!(etag_matches("\"x\", \"abc\"", "W/\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
    }
}
