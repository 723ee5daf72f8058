//! Every error response is Backstage's JSON: `{error: {name, message}, request: {method, url},
//! response: {statusCode}}`. Handlers return [`ApiError`]; a middleware fills in `request`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use portico_catalog::CatalogError;
use portico_query::QueryError;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub name: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            name: "InputError",
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            name: "NotFoundError",
            message: message.into(),
        }
    }
    pub fn not_allowed(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            name: "NotAllowedError",
            message: message.into(),
        }
    }
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            name: "AuthenticationError",
            message: message.into(),
        }
    }
    /// A 500 whose cause is logged, never sent.
    pub fn internal_error(cause: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {cause}");
        Self::internal()
    }
    fn internal() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            name: "Error",
            message: "Internal server error".into(),
        }
    }
}

impl std::error::Error for ApiError {}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

/// Carried on the response so the middleware can add the request to the body.
#[derive(Debug, Clone)]
struct ErrorInfo {
    name: &'static str,
    message: String,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status).json(body(
            self.name,
            &self.message,
            "",
            "",
            self.status,
        ));
        response.extensions_mut().insert(ErrorInfo {
            name: self.name,
            message: self.message.clone(),
        });
        response
    }
}

fn body(
    name: &str,
    message: &str,
    method: &str,
    url: &str,
    status: StatusCode,
) -> serde_json::Value {
    json!({
        "error": { "name": name, "message": message },
        "request": { "method": method, "url": url },
        "response": { "statusCode": status.as_u16() },
    })
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(m) => ApiError::not_found(m),
            CatalogError::InvalidInput(m) => ApiError::input(m),
            CatalogError::Conflict(m) => Self {
                status: StatusCode::CONFLICT,
                name: "ConflictError",
                message: m,
            },
            CatalogError::NotAllowed(m) => Self {
                status: StatusCode::FORBIDDEN,
                name: "NotAllowedError",
                message: m,
            },
            CatalogError::Store(e) if e.is_unavailable() => {
                tracing::error!("database unavailable: {e}");
                Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    name: "ServiceUnavailableError",
                    message: "The database is not available".into(),
                }
            }
            CatalogError::Store(e) => {
                tracing::error!("database error: {e}");
                ApiError::internal()
            }
            CatalogError::Corrupt(m) => {
                tracing::error!("corrupt data: {m}");
                ApiError::internal()
            }
        }
    }
}

impl From<portico_auth::AuthError> for ApiError {
    fn from(e: portico_auth::AuthError) -> Self {
        use portico_auth::AuthError as A;
        match e {
            A::Unauthenticated(m) => ApiError::unauthenticated(m),
            A::NotAllowed(m) => ApiError::not_allowed(m),
            A::InvalidInput(m) => ApiError::input(m),
            A::NotFound(m) => ApiError::not_found(m),
            A::Conflict(m) => Self {
                status: StatusCode::CONFLICT,
                name: "ConflictError",
                message: m,
            },
            A::Store(e) => CatalogError::Store(e).into(),
            other @ (A::Config(_) | A::Upstream(_) | A::Crypto(_) | A::Corrupt(_)) => {
                ApiError::internal_error(other)
            }
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        ApiError::input(e.to_string())
    }
}

/// Middleware body: rewrites error bodies with the request's method and path (without the
/// plugin prefix, as Backstage reports it).
pub fn add_request_to_errors<B: MessageBody + 'static>(
    method: String,
    path: String,
    res: ServiceResponse<B>,
) -> ServiceResponse<BoxBody> {
    let info = res.response().extensions().get::<ErrorInfo>().cloned();
    let status = res.status();
    let res = res.map_into_boxed_body();
    match info {
        Some(info) => {
            let url = path
                .strip_prefix("/api/catalog")
                .unwrap_or(&path)
                .to_string();
            let (req, _) = res.into_parts();
            let response = HttpResponse::build(status).json(body(
                info.name,
                &info.message,
                &method,
                &url,
                status,
            ));
            ServiceResponse::new(req, response)
        }
        None => res,
    }
}

pub fn request_line(req: &ServiceRequest) -> (String, String) {
    let path = match req.query_string() {
        "" => req.path().to_string(),
        q => format!("{}?{q}", req.path()),
    };
    (req.method().to_string(), path)
}

/// Unknown routes answer with Backstage's NotFoundError JSON.
pub async fn not_found_route(req: actix_web::HttpRequest) -> HttpResponse {
    ApiError::not_found(format!("Not found: {} {}", req.method(), req.path())).error_response()
}

pub fn json_error_handler(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::input(format!("Malformed request body: {err}")).into()
}

pub fn query_error_handler(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::input(format!("Malformed query: {err}")).into()
}

pub fn path_error_handler(
    err: actix_web::error::PathError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::input(format!("Malformed path: {err}")).into()
}
