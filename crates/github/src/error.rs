//! `GithubError`: every way a GitHub call can fail, in the terms the catalog maps to its own
//! read errors (NotFound, NotAllowed, Transient, Invalid).

use std::time::Duration;

/// A failed GitHub call. Only `NotFound` means "the thing is gone"; `RateLimited` and `Transient`
/// mean "try again later" and must never make the catalog drop what it already has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GithubError {
    /// 404: the repository, ref, file, org, team or user does not exist (or the token can't see it).
    #[error("{message}")]
    NotFound { message: String },
    /// 401 (bad or missing credentials) or a 403 that is not a rate limit (no permission).
    #[error("{message}")]
    Unauthorized { message: String },
    /// 403/429 with rate-limit headers, still limited after the bounded wait. `retry_after` is how
    /// long GitHub asked us to wait from the moment we gave up.
    #[error("{message} (retry after {}s)", retry_after.as_secs())]
    RateLimited {
        retry_after: Duration,
        message: String,
    },
    /// 5xx, timeouts and transport errors, after the bounded retries.
    #[error("{message}")]
    Transient { message: String },
    /// A bad URL or config, an unexpected status or an answer we could not understand.
    #[error("{message}")]
    Invalid { message: String },
}

impl GithubError {
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        GithubError::NotFound {
            message: message.into(),
        }
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        GithubError::Unauthorized {
            message: message.into(),
        }
    }

    pub(crate) fn transient(message: impl Into<String>) -> Self {
        GithubError::Transient {
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        GithubError::Invalid {
            message: message.into(),
        }
    }

    /// Whether trying again later may succeed (rate limits, 5xx, timeouts).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            GithubError::RateLimited { .. } | GithubError::Transient { .. }
        )
    }

    /// How long to wait before trying again, when GitHub said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GithubError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

impl GithubError {
    /// The same error with `context` in front of its message (e.g. the URL being read).
    pub(crate) fn context(self, context: &str) -> Self {
        let prefix = |m: String| format!("{context}: {m}");
        match self {
            GithubError::NotFound { message } => GithubError::NotFound {
                message: prefix(message),
            },
            GithubError::Unauthorized { message } => GithubError::Unauthorized {
                message: prefix(message),
            },
            GithubError::RateLimited {
                retry_after,
                message,
            } => GithubError::RateLimited {
                retry_after,
                message: prefix(message),
            },
            GithubError::Transient { message } => GithubError::Transient {
                message: prefix(message),
            },
            GithubError::Invalid { message } => GithubError::Invalid {
                message: prefix(message),
            },
        }
    }
}
