//! The web frontend: the files of `web/`, embedded into the binary at compile time and served
//! at `/`. `index.html` answers every client-side route (`/catalog`, `/catalog/:namespace/:kind/
//! :name`, `/register`, …); `/static/…` serves the assets with their content types. The API and
//! health routes are registered before these and are unaffected; `/api/…` and `/.backstage/…`
//! never reach the frontend, so unknown API paths keep answering with the JSON NotFoundError.

use crate::http::error::ApiError;
use actix_web::dev::RequestHead;
use actix_web::http::header;
use actix_web::{guard, web, HttpRequest, HttpResponse};

/// One embedded file of `web/`.
pub struct Asset {
    /// Path below `web/`, e.g. `static/app.js`.
    pub path: &'static str,
    pub bytes: &'static [u8],
    /// Strong validator, computed at compile time from the content.
    pub etag: u64,
}

/// FNV-1a: a stable content hash for ETags, evaluated at compile time.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(Asset {
            path: $path,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path)),
            etag: fnv1a(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path))),
        }),*]
    };
}

/// Every file of `web/`. A new file must be listed here (the web tests check that each file
/// under `web/` is served). `include_bytes!` makes cargo rebuild when a listed file changes.
pub static ASSETS: &[Asset] = assets![
    "index.html",
    "static/app.css",
    "static/app.js",
    "static/api.js",
    "static/dom.js",
    "static/favicon.svg",
    "static/graph.js",
    "static/identity.js",
    "static/refs.js",
    "static/router.js",
    "static/yaml.js",
    "static/pages/catalog.js",
    "static/pages/entity.js",
    "static/pages/not-found.js",
    "static/pages/register.js",
    "static/pages/sign-in.js",
];

/// First path segments of the client-side routes: these answer 200 with `index.html`. Other
/// browser page requests get `index.html` with 404, and the app shows its "not found" page.
/// (The scaffolder's pages, `/create…`, join this list when they exist.)
const CLIENT_ROUTES: &[&str] = &["", "catalog", "register"];

/// Prefixes that belong to the backend and never to the frontend.
const BACKEND_PREFIXES: &[&str] = &["/api/", "/.backstage/", "/static/"];

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
                   frame-ancestors 'none'";

pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

pub fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{path:.*}", get_or_head().to(static_file))
        .route(
            "/{tail:.*}",
            get_or_head()
                .guard(guard::fn_guard(|ctx| is_page_request(ctx.head())))
                .to(index),
        );
}

fn first_segment(path: &str) -> &str {
    path.trim_start_matches('/').split('/').next().unwrap_or("")
}

fn is_client_route(path: &str) -> bool {
    CLIENT_ROUTES.contains(&first_segment(path))
}

/// A browser asking for a page: a client-side route, or any other non-backend path whose
/// `Accept` names HTML. Everything else falls through to the JSON NotFoundError.
fn is_page_request(head: &RequestHead) -> bool {
    let path = head.uri.path();
    if BACKEND_PREFIXES
        .iter()
        .any(|p| path.starts_with(p) || path == p.trim_end_matches('/'))
    {
        return false;
    }
    if is_client_route(path) {
        return true;
    }
    head.headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

async fn index(req: HttpRequest) -> HttpResponse {
    let status = if is_client_route(req.path()) {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::NOT_FOUND
    };
    match asset("index.html") {
        Some(a) => HttpResponse::build(status)
            .content_type(content_type(a.path))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::REFERRER_POLICY, "same-origin"))
            .body(a.bytes),
        None => HttpResponse::InternalServerError().finish(),
    }
}

async fn static_file(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let Some(a) = asset(&format!("static/{path}")) else {
        return Err(ApiError::not_found(format!("No such file: /static/{path}")));
    };
    let etag = format!("\"{:016x}\"", a.etag);
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::ETAG, etag));
    if matches {
        return Ok(response.finish());
    }
    Ok(response.content_type(content_type(a.path)).body(a.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_routes() {
        assert!(is_client_route("/"));
        assert!(is_client_route("/catalog"));
        assert!(is_client_route("/catalog/default/component/x.y"));
        assert!(is_client_route("/register"));
        assert!(!is_client_route("/favicon.ico"));
        assert!(!is_client_route("/catalogue"));
    }

    #[test]
    fn every_asset_has_a_known_content_type() {
        for a in ASSETS {
            assert_ne!(
                content_type(a.path),
                "application/octet-stream",
                "{}",
                a.path
            );
        }
    }
}
