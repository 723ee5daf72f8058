//! A local double of GitHub's REST v3 API for tests: real HTTP on `127.0.0.1:0`, so octocrab
//! (or any client) talks to it through its base URL, with no trait mocks. Serves one
//! organization's repositories, files, trees, members, teams and users with GitHub's JSON shapes,
//! ETags (`If-None-Match` → 304, free of quota), rate-limit headers, pagination `Link`s, tokens,
//! and failures injected on demand; it counts every request. It also plays GitHub's OAuth web
//! flow (`/login/oauth/*`) and Enterprise's `/api/v3` prefix, for sign-in tests.

// GitHub's repository JSON is one large `json!` literal.
#![recursion_limit = "256"]

mod api;
mod app;
mod model;
mod oauth;
mod shapes;

pub use api::{Failure, RequestRecord, RequestStats};
pub use app::keys;
pub use model::{AppModel, InstallationModel, OrgModel, RepoModel, TeamModel, UserModel};
pub use oauth::DEFAULT_ACCESS_TOKEN;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use api::{RequestInfo, State};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// A running double. Stops when dropped.
pub struct GithubDouble {
    /// `http://127.0.0.1:<port>`: the `apiBaseUrl` to configure.
    pub base_url: String,
    state: Arc<Mutex<State>>,
    handle: actix_web::dev::ServerHandle,
}

impl GithubDouble {
    /// Starts serving `model` on a free port of 127.0.0.1. Call inside a Tokio runtime.
    pub async fn start(model: OrgModel) -> std::io::Result<GithubDouble> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let base_url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let state = Arc::new(Mutex::new(State::new(model, base_url.clone())));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(serve))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(GithubDouble {
            base_url,
            state,
            handle,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The organization's login.
    pub fn org(&self) -> String {
        self.state().model.login.clone()
    }

    /// Changes the model in any way; the next request sees the change.
    pub fn with_model<R>(&self, f: impl FnOnce(&mut OrgModel) -> R) -> R {
        f(&mut self.state().model)
    }

    /// Adds or replaces a file on the repository's default branch (and bumps `pushed_at`).
    /// Returns false when the repository does not exist.
    pub fn put_file(&self, repo: &str, path: &str, content: impl Into<Vec<u8>>) -> bool {
        let content = content.into();
        self.with_model(|m| {
            let Some(r) = m.repos.get_mut(repo) else {
                return false;
            };
            let branch = r.default_branch.clone();
            put_on_branch(r, &branch, path, content);
            true
        })
    }

    /// Adds or replaces a file on a branch (created if needed).
    pub fn put_file_on_branch(
        &self,
        repo: &str,
        branch: &str,
        path: &str,
        content: impl Into<Vec<u8>>,
    ) -> bool {
        let content = content.into();
        self.with_model(|m| match m.repos.get_mut(repo) {
            Some(r) => {
                put_on_branch(r, branch, path, content);
                true
            }
            None => false,
        })
    }

    /// Removes a file from the default branch; false when it was not there.
    pub fn remove_file(&self, repo: &str, path: &str) -> bool {
        self.with_model(|m| {
            let Some(r) = m.repos.get_mut(repo) else {
                return false;
            };
            let branch = r.default_branch.clone();
            let removed = r
                .branches
                .get_mut(&branch)
                .and_then(|files| files.remove(path.trim_start_matches('/')))
                .is_some();
            if removed {
                bump_pushed_at(r);
            }
            removed
        })
    }

    pub fn add_repo(&self, repo: RepoModel) {
        self.with_model(|m| {
            m.repos.insert(repo.name.clone(), repo);
        });
    }

    pub fn delete_repo(&self, name: &str) -> bool {
        self.with_model(|m| m.repos.remove(name).is_some())
    }

    /// Adds a user as a member of the organization.
    pub fn add_user(&self, user: UserModel) {
        self.with_model(|m| {
            m.members.insert(user.login.clone());
            m.users.insert(user.login.clone(), user);
        });
    }

    pub fn add_team(&self, team: TeamModel) {
        self.with_model(|m| {
            m.teams.insert(team.slug.clone(), team);
        });
    }

    /// Serves another organization beside the first (e.g. a second installation of an app).
    pub fn add_org(&self, org: OrgModel) {
        let mut state = self.state();
        state
            .other_orgs
            .retain(|o| !o.login.eq_ignore_ascii_case(&org.login));
        state.other_orgs.push(org);
    }

    /// Registers a GitHub App (its public key and installations), replacing one with its id.
    pub fn add_app(&self, app: AppModel) {
        self.state().add_app(app);
    }

    /// Changes an app in any way (installations, suspension, token lifetime).
    pub fn with_app<R>(&self, app_id: u64, f: impl FnOnce(&mut AppModel) -> R) -> Option<R> {
        self.state()
            .apps
            .apps
            .iter_mut()
            .find(|a| a.id == app_id)
            .map(f)
    }

    /// Makes every installation token minted so far expire now, as an hour passing would.
    pub fn expire_installation_tokens(&self) {
        self.state().expire_installation_tokens();
    }

    /// Requires this token from now on (`None`: anonymous requests are fine).
    pub fn set_token(&self, token: Option<&str>) {
        self.with_model(|m| m.token = token.map(str::to_string));
    }

    /// A fresh quota of `limit` requests per `window` (default 5,000 per hour).
    pub fn set_rate_limit(&self, limit: u64, window: Duration) {
        self.state().set_rate_limit(limit, window);
    }

    /// The next `n` requests (to any path) answer with `failure`.
    pub fn fail_next(&self, n: usize, failure: Failure) {
        self.state().queue_failures(None, n, failure);
    }

    /// The next `n` requests to paths starting with `path_prefix` answer with `failure`.
    pub fn fail_next_on(&self, path_prefix: &str, n: usize, failure: Failure) {
        self.state()
            .queue_failures(Some(path_prefix.to_string()), n, failure);
    }

    pub fn clear_failures(&self) {
        self.state().clear_failures();
    }

    /// Counters since the start or the last [`reset_stats`](Self::reset_stats).
    pub fn stats(&self) -> RequestStats {
        self.state().stats.clone()
    }

    /// Every request seen, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state().log.clone()
    }

    pub fn reset_stats(&self) {
        let mut state = self.state();
        state.stats = RequestStats::default();
        state.log.clear();
    }
}

impl Drop for GithubDouble {
    fn drop(&mut self) {
        // `stop` sends the command when called; the returned future only waits for it.
        drop(self.handle.stop(false));
    }
}

fn put_on_branch(repo: &mut RepoModel, branch: &str, path: &str, content: Vec<u8>) {
    repo.branches
        .entry(branch.to_string())
        .or_default()
        .insert(path.trim_start_matches('/').to_string(), content);
    bump_pushed_at(repo);
}

/// `pushed_at` moves forward on every change, by at least a second, so clients comparing it
/// always see a change even within one second.
fn bump_pushed_at(repo: &mut RepoModel) {
    let format = "%Y-%m-%dT%H:%M:%SZ";
    let now = chrono::Utc::now();
    let next = chrono::NaiveDateTime::parse_from_str(&repo.pushed_at, format)
        .map(|prev| prev.and_utc() + chrono::Duration::seconds(1))
        .map(|min| if now > min { now } else { min })
        .unwrap_or(now);
    repo.pushed_at = next.format(format).to_string();
}

async fn serve(req: HttpRequest, body: web::Bytes, state: web::Data<Mutex<State>>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let info = RequestInfo {
        method: req.method().as_str().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or("").to_string(),
        accept: header("accept"),
        if_none_match: header("if-none-match"),
        authorization: header("authorization"),
        body: body.to_vec(),
    };
    let reply = state
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .respond(&info);
    tracing::debug!(http.path = %info.path, http.status = reply.status, "github double");
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    let status = actix_web::http::StatusCode::from_u16(reply.status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in &reply.headers {
        response.append_header((name.as_str(), value.as_str()));
    }
    response.body(reply.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_at_moves_forward() {
        let mut repo = RepoModel::new("r");
        repo.pushed_at = "2999-01-01T00:00:00Z".into();
        bump_pushed_at(&mut repo);
        assert_eq!(repo.pushed_at, "2999-01-01T00:00:01Z");
        let mut old = RepoModel::new("r");
        bump_pushed_at(&mut old);
        assert!(old.pushed_at.as_str() > "2026-01-01T00:00:00Z");
    }
}
