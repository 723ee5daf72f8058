//! Integration tests: the real octocrab client against the GitHub double on 127.0.0.1.

mod app;
mod discovery;
mod glob;
mod helpers;
mod org;
mod rate_limit;
mod read;
