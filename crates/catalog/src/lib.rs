//! Portico's catalog: reading locations, processing entities, stitching final entities, and
//! the queries behind the Backstage catalog API. Framework-free: the HTTP layer, the CLI and
//! the benchmark all call [`Catalog`].

mod engine;
mod error;
pub mod github;
pub mod processing;
pub mod read;
mod service;
pub mod stitch;
pub mod store;

pub use engine::{
    Engine, EngineSettings, OrphanStrategy, TickStats, CONFIG_PROVIDER, DATABASE_PROVIDER,
};
pub use error::{CatalogError, CatalogResult};
pub use service::*;
