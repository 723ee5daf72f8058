//! `/api/auth`: the JWKS and OpenID documents, userinfo, guest and GitHub sign-in with refresh
//! sessions in cookies, the list of configured sign-in providers, and Portico's audit log.

use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::extract::Caller;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use portico_auth::providers::{AuthResponse, UserResolver};
use portico_auth::{jwks_document, openid_configuration, userinfo_document, AuthResult};
use portico_query::EntityFilter;
use serde::Deserialize;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/auth")
            .route("/.well-known/jwks.json", web::get().to(jwks))
            .route("/.well-known/openid-configuration", web::get().to(openid))
            .route("/v1/userinfo", web::get().to(userinfo))
            .route("/guest/refresh", web::get().to(guest_refresh))
            .route("/guest/refresh", web::post().to(guest_refresh))
            .route("/guest/logout", web::post().to(logout_ok))
            .route("/github/start", web::get().to(github_start))
            .route("/github/handler/frame", web::get().to(github_frame))
            .route("/github/refresh", web::get().to(github_refresh))
            .route("/github/refresh", web::post().to(github_refresh))
            .route("/github/logout", web::post().to(github_logout))
            .route("/portico/audit-events", web::get().to(audit_events))
            .route("/portico/providers", web::get().to(providers)),
    );
}

/// Sign-in looks users up in the catalog.
pub struct CatalogUsers<'a>(pub &'a portico_catalog::Catalog);

#[async_trait::async_trait]
impl UserResolver for CatalogUsers<'_> {
    async fn find_users(&self, filter: &EntityFilter) -> AuthResult<Vec<Value>> {
        let sort = portico_catalog::store::SortSpec {
            key: None,
            descending: false,
        };
        let page = self
            .0
            .page_entities(Some(filter.clone()), None, sort, None, false, 10, 0)
            .await
            .map_err(|e| portico_auth::AuthError::Upstream(e.to_string()))?;
        Ok(page
            .items
            .iter()
            .filter_map(|t| serde_json::from_str(t).ok())
            .collect())
    }
}

async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let keys = state.auth.tokens.keys().public_keys().await?;
    Ok(HttpResponse::Ok().json(jwks_document(&keys)))
}

async fn openid(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(openid_configuration(&state.auth.auth_base_url))
}

async fn userinfo(caller: Caller) -> Result<HttpResponse, ApiError> {
    let identity = caller
        .0
        .ok_or_else(|| ApiError::unauthenticated("No user identity"))?;
    let doc = userinfo_document(&identity)
        .ok_or_else(|| ApiError::unauthenticated("The token is not a user token"))?;
    Ok(HttpResponse::Ok().json(doc))
}

/// Backstage's clients mark refresh calls with this header; it keeps other sites' forms
/// from using the session cookie.
fn require_xhr(req: &HttpRequest) -> Result<(), ApiError> {
    match req
        .headers()
        .get("x-requested-with")
        .and_then(|v| v.to_str().ok())
    {
        Some("XMLHttpRequest") => Ok(()),
        _ => Err(ApiError::unauthenticated("Invalid X-Requested-With header")),
    }
}

async fn guest_refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    require_xhr(&req)?;
    let development = state.config.auth.environment() == "development";
    let users = CatalogUsers(&state.catalog);
    let (user, profile) = state.auth.guest.sign_in(development, Some(&users)).await?;
    let issued = state
        .auth
        .tokens
        .issue_user_token(
            &user.user_entity_ref,
            &user.ownership_entity_refs,
            state.auth.token_ttl,
        )
        .await?;
    Ok(HttpResponse::Ok().json(AuthResponse::new(issued, profile)))
}

/// Portico's own: the sign-in providers the web frontend offers, and the environment it passes
/// as `env`. Needs no token, since it is asked before anyone signs in.
async fn providers(state: web::Data<AppState>) -> HttpResponse {
    let environment = state.config.auth.environment();
    let mut providers = Vec::new();
    if state
        .auth
        .guest
        .allows_sign_in(environment == "development")
    {
        providers.push(json!({ "id": "guest", "title": "Guest" }));
    }
    if state.auth.github.is_some() {
        providers.push(json!({ "id": "github", "title": "GitHub" }));
    }
    HttpResponse::Ok().json(json!({ "environment": environment, "providers": providers }))
}

async fn logout_ok() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn github(state: &AppState) -> Result<&portico_auth::providers::GithubProvider, ApiError> {
    state
        .auth
        .github
        .as_deref()
        .ok_or_else(|| ApiError::not_found("Unknown auth provider 'github'"))
}

const NONCE_COOKIE: &str = "github-nonce";
const REFRESH_COOKIE: &str = "github-refresh-token";

#[derive(Deserialize)]
struct StartQuery {
    #[serde(default)]
    scope: Option<String>,
}

async fn github_start(
    state: web::Data<AppState>,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, ApiError> {
    let provider = github(&state)?;
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let redirect = provider.callback_url(&state.auth.auth_base_url);
    let scopes = provider.scopes(query.scope.as_deref());
    let url = provider.authorize_url(&redirect, &scopes, &nonce);
    let cookie = Cookie::build(NONCE_COOKIE, nonce)
        .path("/api/auth/github/handler")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::minutes(10))
        .finish();
    Ok(HttpResponse::Found()
        .insert_header(("Location", url))
        .cookie(cookie)
        .finish())
}

#[derive(Deserialize)]
struct FrameQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// The OAuth callback: checks the state against the nonce cookie, exchanges the code, resolves
/// the user in the catalog, starts a refresh session, and hands the result to the opener.
async fn github_frame(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<FrameQuery>,
) -> Result<HttpResponse, ApiError> {
    let provider = github(&state)?;
    let result: Result<(AuthResponse, String), ApiError> = async {
        if let Some(error) = &query.error {
            return Err(ApiError::unauthenticated(format!(
                "GitHub sign-in failed: {error}"
            )));
        }
        let nonce = req.cookie(NONCE_COOKIE).map(|c| c.value().to_string());
        match (&nonce, &query.state) {
            (Some(n), Some(s)) if n == s => {}
            _ => {
                return Err(ApiError::unauthenticated(
                    "Authentication failed, invalid state",
                ))
            }
        }
        let code = query.code.clone().unwrap_or_default();
        let redirect = provider.callback_url(&state.auth.auth_base_url);
        let token = provider.exchange_code(&code, &redirect).await?;
        let github_user = provider.fetch_user(&token.access_token).await?;
        let users = CatalogUsers(&state.catalog);
        let user = provider.sign_in(&github_user, &users).await?;
        let profile = github_user.profile_info();
        let session = state
            .auth
            .sessions
            .create("github", &user, &profile, provider.session_duration())
            .await?;
        let issued = state
            .auth
            .tokens
            .issue_user_token(
                &user.user_entity_ref,
                &user.ownership_entity_refs,
                state.auth.token_ttl,
            )
            .await?;
        Ok((AuthResponse::new(issued, profile), session))
    }
    .await;
    let (message, session) = match result {
        Ok((response, session)) => (
            json!({ "type": "authorization_response", "response": response }),
            Some(session),
        ),
        Err(e) => (
            json!({ "type": "authorization_response", "error": { "name": e.name, "message": e.message } }),
            None,
        ),
    };
    // The message goes to the window that opened the pop-up, as Backstage's frame does.
    let payload = serde_json::to_string(&message)
        .unwrap_or_default()
        .replace('<', "\\u003c");
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signing in</title></head><body>\
         <script>(function(){{var m={payload};if(window.opener){{window.opener.postMessage(m,window.location.origin);}}\
         window.close();}})();</script><noscript>Sign-in finished; close this window.</noscript></body></html>"
    );
    let mut response = HttpResponse::Ok();
    response.content_type("text/html; charset=utf-8");
    if let Some(session) = session {
        response.cookie(
            Cookie::build(REFRESH_COOKIE, session)
                .path("/api/auth/github")
                .http_only(true)
                .same_site(SameSite::Lax)
                .finish(),
        );
    }
    Ok(response.body(html))
}

async fn github_refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    require_xhr(&req)?;
    github(&state)?;
    let token = req
        .cookie(REFRESH_COOKIE)
        .map(|c| c.value().to_string())
        .ok_or_else(|| ApiError::unauthenticated("Refresh failed, missing session"))?;
    let users = CatalogUsers(&state.catalog);
    let response = state
        .auth
        .sessions
        .refresh(
            "github",
            &token,
            &state.auth.tokens,
            state.auth.token_ttl,
            Some(&users),
        )
        .await?;
    Ok(HttpResponse::Ok().json(response))
}

async fn github_logout(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    require_xhr(&req)?;
    if let Some(cookie) = req.cookie(REFRESH_COOKIE) {
        state.auth.sessions.delete(cookie.value()).await?;
    }
    let mut removal = Cookie::build(REFRESH_COOKIE, "")
        .path("/api/auth/github")
        .finish();
    removal.make_removal();
    Ok(HttpResponse::Ok().cookie(removal).finish())
}

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

/// Every write (who, what, when), oldest first; `after` pages on.
async fn audit_events(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.authorize(
        &state,
        "catalog",
        &portico_auth::permission::CATALOG_LOCATION_READ,
    )?;
    if caller.0.is_none() {
        return Err(ApiError::unauthenticated(
            "The audit log needs a signed-in caller",
        ));
    }
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let events = state.auth.audit.list(query.after, limit).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": events })))
}
