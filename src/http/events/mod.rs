//! Handlers of Backstage's events endpoints under `/api/events`.

pub mod github;
