//! The HTTP server: middleware, routes, and the processing loop beside it.

use crate::app::AppState;
use crate::http;
use actix_web::dev::{Server, Service};
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A running Portico: the HTTP server and the processing loop, stopped together.
pub struct Running {
    pub server: Server,
    pub state: web::Data<AppState>,
    pub port: u16,
    pub cancel: CancellationToken,
}

/// Binds `listener`, emits the configured locations and starts processing. The returned
/// server future must be awaited (or spawned) to serve.
pub async fn start(
    state: AppState,
    listener: TcpListener,
    run_processing: bool,
) -> anyhow::Result<Running> {
    let port = listener.local_addr()?.port();
    let state = web::Data::new(state);
    state.catalog.refresh_providers().await?;
    let cancel = CancellationToken::new();
    if run_processing {
        let engine = state.catalog.engine().clone();
        let token = cancel.clone();
        tokio::spawn(async move { engine.run(token).await });
        state.github.spawn_schedules(cancel.clone());
    }
    let app_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(4 * 1024 * 1024)
                    .error_handler(http::error::json_error_handler),
            )
            .app_data(web::QueryConfig::default().error_handler(http::error::query_error_handler))
            .app_data(web::PathConfig::default().error_handler(http::error::path_error_handler))
            .wrap_fn(|req, srv| {
                let (method, path) = http::error::request_line(&req);
                let fut = srv.call(req);
                async move {
                    fut.await
                        .map(|res| http::error::add_request_to_errors(method, path, res))
                }
            })
            .wrap(tracing_actix_web::TracingLogger::default())
            .configure(http::configure)
            .default_service(web::to(http::error::not_found_route))
    })
    // Streamed listings are written in several pieces; without TCP_NODELAY the last piece
    // waits for the client's delayed ACK (about 40 ms per response).
    .on_connect(|conn, _| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!("could not set TCP_NODELAY: {e}");
            }
        }
    })
    .listen(listener)?
    .shutdown_timeout(5)
    .run();
    Ok(Running {
        server,
        state,
        port,
        cancel,
    })
}
