//! End-to-end tests: the real server on a random port, real HTTP, on SQLite and PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests stop at the first failure"
)]

mod helpers;

mod auth;
mod entities;
mod github;
mod locations;
mod reference;
mod replicas;
