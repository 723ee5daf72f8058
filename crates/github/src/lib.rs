//! GitHub for Portico: Backstage's GitHub config keys, GitHub URLs, file reads with ETags and
//! rate-limit handling, glob expansion, repository discovery, org import (users and teams) and
//! webhook events. Every REST call goes through octocrab against the configured `apiBaseUrl`
//! (github.com, Enterprise, or the local test double).
//!
//! Framework-free and catalog-free: the catalog calls [`GithubReader`] and maps
//! [`GithubError`] to its own read errors. It does not write entities or schedule anything.

mod app;
mod cache;
mod client;
pub mod config;
mod discovery;
mod error;
mod glob;
mod org;
mod rate_limit;
mod reader;
pub mod url;
pub mod webhook;

pub use client::ReaderOptions;
pub use config::{
    GithubIntegrationConfig, GithubOrgProviderConfig, GithubOrgProviders, GithubProviderConfig,
    GithubProviders, ScheduleConfig, ScheduleDuration,
};
pub use discovery::DiscoveredLocation;
pub use error::GithubError;
pub use org::{
    ANNOTATION_GITHUB_TEAM_SLUG, ANNOTATION_GITHUB_USER_ID, ANNOTATION_GITHUB_USER_LOGIN,
};
pub use rate_limit::RateQuota;
pub use reader::{FileRead, GithubReader};
pub use url::{GithubUrl, UrlKind};
pub use webhook::{
    parse_push_event, parse_repository_event, signature_header, verify_signature, PushEvent,
    RepositoryEvent,
};
