//! The web frontend: its routes beside the API's (plain HTTP), and the pages in a real headless
//! Chromium driven through WebDriver, against the real server with Backstage's reference
//! examples and a generated catalog loaded.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests stop at the first failure"
)]

// The API tests' TestApp and FileHost, shared rather than copied (this target uses part of it).
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod browse;
mod browser;
mod fixture;
mod routes;
mod sign_in;
