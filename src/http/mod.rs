//! The whole route table, on one screen.

pub mod auth;
pub mod catalog;
pub mod error;
pub mod events;
pub mod extract;
#[path = "web.rs"]
pub mod frontend;
pub mod health;

use actix_web::web;
use catalog::{entities, locations, operations};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthcheck", web::get().to(health::liveness))
        .route(
            "/.backstage/health/v1/liveness",
            web::get().to(health::liveness),
        )
        .route(
            "/.backstage/health/v1/readiness",
            web::get().to(health::readiness),
        )
        .service(
            web::scope("/api/catalog")
                .route("/entities", web::get().to(entities::list))
                .route("/entities/by-query", web::get().to(entities::by_query))
                .route(
                    "/entities/by-query",
                    web::post().to(entities::by_query_post),
                )
                .route("/entities/by-refs", web::post().to(entities::by_refs))
                .route(
                    "/entities/by-uid/{uid}",
                    web::get().to(entities::get_by_uid),
                )
                .route(
                    "/entities/by-uid/{uid}",
                    web::delete().to(entities::delete_by_uid),
                )
                .route(
                    "/entities/by-name/{kind}/{namespace}/{name}",
                    web::get().to(entities::get_by_name),
                )
                .route(
                    "/entities/by-name/{kind}/{namespace}/{name}/ancestry",
                    web::get().to(entities::ancestry),
                )
                .route("/entity-facets", web::get().to(entities::facets))
                .route("/locations", web::get().to(locations::list))
                .route("/locations", web::post().to(locations::create))
                .route(
                    "/locations/by-entity/{kind}/{namespace}/{name}",
                    web::get().to(locations::by_entity),
                )
                .route("/locations/{id}", web::get().to(locations::get))
                .route("/locations/{id}", web::delete().to(locations::delete))
                .route(
                    "/analyze-location",
                    web::post().to(operations::analyze_location),
                )
                .route(
                    "/validate-entity",
                    web::post().to(operations::validate_entity),
                )
                .route("/refresh", web::post().to(operations::refresh))
                .route(
                    "/portico/processing-errors",
                    web::get().to(entities::processing_errors),
                )
                .route(
                    "/portico/github/rate-limit",
                    web::get().to(catalog::github::rate_limit),
                ),
        )
        .service(
            web::resource("/api/events/http/github")
                .app_data(web::PayloadConfig::new(events::github::MAX_PAYLOAD_BYTES))
                .route(web::post().to(events::github::receive)),
        );
    auth::configure(cfg);
    frontend::configure(cfg);
}
