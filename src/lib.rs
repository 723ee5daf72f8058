//! The `portico` server as a library, so tests and the benchmark start exactly what the
//! binary starts.

pub mod app;
pub mod bench;
pub mod bench_github;
pub mod config;
pub mod http;
pub mod server;
pub mod telemetry;
pub mod validate;
