//! Rate limits: reading `X-RateLimit-*` and `Retry-After`, telling a rate-limit answer from a
//! permission error, and deciding how long to wait.

use http::{HeaderMap, StatusCode};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The primary quota as GitHub last reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateQuota {
    pub remaining: u64,
    pub limit: u64,
    /// When the window resets, in seconds since the Unix epoch.
    pub reset: u64,
}

impl RateQuota {
    /// Reads the quota headers; `None` when GitHub sent none (e.g. a GHES with limits off) or
    /// when they describe another resource than `core` (search and GraphQL have their own).
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        if let Some(resource) = header_str(headers, "x-ratelimit-resource") {
            if resource != "core" {
                return None;
            }
        }
        Some(Self {
            remaining: header_u64(headers, "x-ratelimit-remaining")?,
            limit: header_u64(headers, "x-ratelimit-limit")?,
            reset: header_u64(headers, "x-ratelimit-reset")?,
        })
    }

    /// Time until the window resets, from now (zero if it already has).
    pub fn time_to_reset(&self) -> Duration {
        Duration::from_secs(self.reset.saturating_sub(now_epoch_secs()))
    }

    /// Whether the quota is used up and the window has not reset yet.
    pub fn is_exhausted(&self) -> bool {
        self.remaining == 0 && self.reset > now_epoch_secs()
    }
}

pub(crate) fn now_epoch_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    header_str(headers, name)?.parse().ok()
}

/// How a 403/429 should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limited {
    /// A rate limit: wait this long (from GitHub's headers, or `None` when it gave no hint).
    Wait(Option<Duration>),
    /// A plain 403: no permission; waiting won't help.
    Forbidden,
}

/// Classifies a 403/429 the way GitHub documents it: `Retry-After` (secondary limits),
/// `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset` (primary), any 429, or a 403 whose
/// message says "rate limit" (secondary limits without headers).
pub(crate) fn classify_limited(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Limited {
    if let Some(secs) = header_u64(headers, "retry-after") {
        return Limited::Wait(Some(Duration::from_secs(secs)));
    }
    let remaining = header_u64(headers, "x-ratelimit-remaining");
    if remaining == Some(0) {
        let wait = header_u64(headers, "x-ratelimit-reset")
            .map(|reset| Duration::from_secs(reset.saturating_sub(now_epoch_secs()).max(1)));
        return Limited::Wait(wait);
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Limited::Wait(None);
    }
    let message = String::from_utf8_lossy(body).to_ascii_lowercase();
    if message.contains("rate limit") {
        return Limited::Wait(None);
    }
    Limited::Forbidden
}

/// Exponential backoff from `base`, doubled per attempt and capped at `cap`.
pub(crate) fn backoff(base: Duration, attempt: u32, cap: Duration) -> Duration {
    base.saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn quota_from_headers() {
        let h = headers(&[
            ("x-ratelimit-limit", "5000".into()),
            ("x-ratelimit-remaining", "4999".into()),
            ("x-ratelimit-reset", "1700000000".into()),
            ("x-ratelimit-resource", "core".into()),
        ]);
        assert_eq!(
            RateQuota::from_headers(&h),
            Some(RateQuota {
                remaining: 4999,
                limit: 5000,
                reset: 1_700_000_000
            })
        );
        let search = headers(&[
            ("x-ratelimit-limit", "30".into()),
            ("x-ratelimit-remaining", "0".into()),
            ("x-ratelimit-reset", "1700000000".into()),
            ("x-ratelimit-resource", "search".into()),
        ]);
        assert_eq!(RateQuota::from_headers(&search), None);
        assert_eq!(RateQuota::from_headers(&HeaderMap::new()), None);
    }

    #[test]
    fn rate_limits_are_told_from_permission_errors() {
        let reset = (now_epoch_secs() + 30).to_string();
        let primary = headers(&[
            ("x-ratelimit-remaining", "0".into()),
            ("x-ratelimit-reset", reset),
        ]);
        match classify_limited(StatusCode::FORBIDDEN, &primary, b"") {
            Limited::Wait(Some(d)) => assert!(d.as_secs() >= 29 && d.as_secs() <= 30),
            other => panic!("{other:?}"),
        }
        let secondary = headers(&[("retry-after", "7".into())]);
        assert_eq!(
            classify_limited(StatusCode::FORBIDDEN, &secondary, b""),
            Limited::Wait(Some(Duration::from_secs(7)))
        );
        assert_eq!(
            classify_limited(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), b""),
            Limited::Wait(None)
        );
        assert_eq!(
            classify_limited(
                StatusCode::FORBIDDEN,
                &HeaderMap::new(),
                br#"{"message":"You have exceeded a secondary rate limit"}"#
            ),
            Limited::Wait(None)
        );
        let plenty = headers(&[("x-ratelimit-remaining", "4000".into())]);
        assert_eq!(
            classify_limited(
                StatusCode::FORBIDDEN,
                &plenty,
                br#"{"message":"Resource not accessible by integration"}"#
            ),
            Limited::Forbidden
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        assert_eq!(backoff(base, 0, cap), Duration::from_millis(100));
        assert_eq!(backoff(base, 2, cap), Duration::from_millis(400));
        assert_eq!(backoff(base, 10, cap), cap);
        assert_eq!(backoff(base, u32::MAX, cap), cap);
    }
}
