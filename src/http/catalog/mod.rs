//! Handlers of the catalog API under `/api/catalog`.

pub mod entities;
pub mod github;
pub mod locations;
pub mod operations;
pub mod wire;
