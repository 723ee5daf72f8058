//! Running a provider on its `schedule` (`frequency`, `timeout`, `initialDelay`): once at start
//! (after the initial delay), then every `frequency`, each run bounded by `timeout`, until the
//! server stops.

use portico_github::{ScheduleConfig, ScheduleDuration};
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Without a `schedule` (Backstage requires one; Portico picks this).
const DEFAULT_FREQUENCY: Duration = Duration::from_secs(30 * 60);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    pub(crate) frequency: Duration,
    pub(crate) timeout: Duration,
    pub(crate) initial_delay: Duration,
}

impl Schedule {
    /// The fixed intervals of a `schedule` block. Cron expressions are not supported: they fall
    /// back to the default frequency, with a warning naming the provider.
    pub(crate) fn from_config(config: Option<&ScheduleConfig>, what: &str) -> Self {
        let fixed = |d: Option<&ScheduleDuration>, key: &str, default: Duration| match d {
            None => default,
            Some(ScheduleDuration::Every(d)) => *d,
            Some(other) => {
                tracing::warn!(provider = %what,
                    "{what}: schedule.{key} {other:?} is not a fixed interval, which Portico \
                     does not support yet; using {} s", default.as_secs());
                default
            }
        };
        let frequency = fixed(
            config.and_then(|c| c.frequency.as_ref()),
            "frequency",
            DEFAULT_FREQUENCY,
        )
        .max(Duration::from_secs(1));
        Self {
            frequency,
            timeout: fixed(
                config.and_then(|c| c.timeout.as_ref()),
                "timeout",
                DEFAULT_TIMEOUT,
            ),
            initial_delay: fixed(
                config.and_then(|c| c.initial_delay.as_ref()),
                "initialDelay",
                Duration::ZERO,
            ),
        }
    }
}

/// Calls `run` on the schedule until `cancel` fires. A run that exceeds the timeout is
/// dropped (nothing is applied: mutations happen at the end of a run).
pub(crate) async fn run_on_schedule<F, Fut>(
    what: String,
    schedule: Schedule,
    cancel: CancellationToken,
    mut run: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    tokio::select! {
        _ = cancel.cancelled() => return,
        _ = tokio::time::sleep(schedule.initial_delay) => {}
    }
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            outcome = tokio::time::timeout(schedule.timeout, run()) => {
                if outcome.is_err() {
                    tracing::warn!(provider = %what, timeout_s = schedule.timeout.as_secs(),
                        "{what}: the run timed out; nothing was applied");
                }
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(schedule.frequency) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schedules_from_config() {
        let config: ScheduleConfig = serde_json::from_value(json!({
            "frequency": {"minutes": 5}, "timeout": "PT1M", "initialDelay": {"seconds": 3}
        }))
        .unwrap();
        assert_eq!(
            Schedule::from_config(Some(&config), "p"),
            Schedule {
                frequency: Duration::from_secs(300),
                timeout: Duration::from_secs(60),
                initial_delay: Duration::from_secs(3),
            }
        );
        let cron: ScheduleConfig =
            serde_json::from_value(json!({"frequency": {"cron": "*/5 * * * *"}})).unwrap();
        let s = Schedule::from_config(Some(&cron), "p");
        assert_eq!(s.frequency, DEFAULT_FREQUENCY);
        assert_eq!(
            Schedule::from_config(None, "p").initial_delay,
            Duration::ZERO
        );
    }

    #[tokio::test]
    async fn runs_at_start_and_then_on_the_frequency_until_cancelled() {
        let cancel = CancellationToken::new();
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let schedule = Schedule {
            frequency: Duration::from_millis(20),
            timeout: Duration::from_secs(5),
            initial_delay: Duration::ZERO,
        };
        let seen = count.clone();
        let task = tokio::spawn(run_on_schedule(
            "p".into(),
            schedule,
            cancel.clone(),
            move || {
                let seen = seen.clone();
                async move {
                    seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            },
        ));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while count.load(std::sync::atomic::Ordering::SeqCst) < 3 {
            assert!(std::time::Instant::now() < deadline, "runs did not repeat");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cancel.cancel();
        task.await.unwrap();
    }
}
