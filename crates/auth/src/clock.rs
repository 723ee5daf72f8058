//! The time source: the system clock in production, a settable one in tests, so expiry and
//! rotation are tested without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Current time in Unix milliseconds.
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that stands still at `millis` until [`Clock::advance`] or [`Clock::set`].
    pub fn manual(millis: i64) -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(millis))),
        }
    }

    pub fn now_millis(&self) -> i64 {
        match &self.manual {
            Some(t) => t.load(Ordering::SeqCst),
            None => portico_store::now_millis(),
        }
    }

    /// Moves a manual clock forward; no effect on the system clock.
    pub fn advance(&self, millis: i64) {
        if let Some(t) = &self.manual {
            t.fetch_add(millis, Ordering::SeqCst);
        }
    }

    /// Sets a manual clock; no effect on the system clock.
    pub fn set(&self, millis: i64) {
        if let Some(t) = &self.manual {
            t.store(millis, Ordering::SeqCst);
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.manual {
            Some(t) => write!(f, "Clock::manual({})", t.load(Ordering::SeqCst)),
            None => f.write_str("Clock::system"),
        }
    }
}
