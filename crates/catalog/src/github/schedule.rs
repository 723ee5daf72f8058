//! Running a provider on its `schedule` (`frequency`, `timeout`, `initialDelay`) across
//! replicas, as Backstage's scheduler does: each provider is a row of `task_leases`; a replica
//! runs it only after claiming the lease of a due run, and gives the lease back with the next
//! run time. So each period runs on exactly one replica; a replica that dies mid-run loses its
//! lease when `timeout` passes. `frequency` is a fixed interval (the next run is the previous
//! scheduled time plus the interval, or now when that has passed), a cron expression (UTC), or
//! `{ trigger: manual }` (never on a timer).

use crate::error::CatalogError;
use crate::store::leases::{self, Claim};
use portico_github::{ScheduleConfig, ScheduleDuration};
use portico_store::{now_millis, Db};
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Without a `schedule` (Backstage requires one; Portico picks this).
const DEFAULT_FREQUENCY: Duration = Duration::from_secs(30 * 60);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How often an idle replica looks for due work at most (Backstage's work check: 5 s).
const WORK_CHECK: Duration = Duration::from_secs(5);

/// When runs are due.
#[derive(Debug, Clone)]
pub(crate) enum Cadence {
    Every(Duration),
    /// A cron expression (5 fields, or 6 with seconds), evaluated in UTC.
    Cron(Box<croner::Cron>),
    /// Only when triggered.
    Manual,
}

impl PartialEq for Cadence {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Cadence::Every(a), Cadence::Every(b)) => a == b,
            (Cadence::Cron(a), Cadence::Cron(b)) => a.as_str() == b.as_str(),
            (Cadence::Manual, Cadence::Manual) => true,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Schedule {
    pub(crate) cadence: Cadence,
    pub(crate) timeout: Duration,
    pub(crate) initial_delay: Duration,
}

impl Default for Schedule {
    /// Every 30 minutes, from the start, 10 minutes at most per run.
    fn default() -> Self {
        Self {
            cadence: Cadence::Every(DEFAULT_FREQUENCY),
            timeout: DEFAULT_TIMEOUT,
            initial_delay: Duration::ZERO,
        }
    }
}

impl Schedule {
    /// The schedule of a `schedule` block; `what` names it in errors
    /// (`catalog.providers.github.<id>`).
    pub(crate) fn from_config(config: Option<&ScheduleConfig>, what: &str) -> Result<Self, String> {
        let fixed = |d: Option<&ScheduleDuration>, key: &str, default: Duration| match d {
            None => Ok(default),
            Some(ScheduleDuration::Every(d)) => Ok(*d),
            Some(other) => Err(format!(
                "{what}.schedule.{key}: {} is not a duration (e.g. {{ minutes: 10 }} or PT10M)",
                describe(other)
            )),
        };
        let cadence = match config.and_then(|c| c.frequency.as_ref()) {
            None => Schedule::default().cadence,
            Some(ScheduleDuration::Every(d)) => Cadence::Every((*d).max(Duration::from_millis(10))),
            Some(ScheduleDuration::Cron(expression)) => {
                let cron = croner::Cron::from_str(expression.trim()).map_err(|e| {
                    format!(
                        "{what}.schedule.frequency: invalid cron expression '{expression}': {e}"
                    )
                })?;
                Cadence::Cron(Box::new(cron))
            }
            Some(ScheduleDuration::Other(value))
                if value.get("trigger").and_then(|t| t.as_str()) == Some("manual") =>
            {
                Cadence::Manual
            }
            Some(other) => {
                return Err(format!(
                    "{what}.schedule.frequency: {} is neither a duration, {{ cron: '…' }} nor \
                     {{ trigger: manual }}",
                    describe(other)
                ))
            }
        };
        Ok(Self {
            cadence,
            timeout: fixed(
                config.and_then(|c| c.timeout.as_ref()),
                "timeout",
                DEFAULT_TIMEOUT,
            )?
            .max(Duration::from_millis(10)),
            initial_delay: fixed(
                config.and_then(|c| c.initial_delay.as_ref()),
                "initialDelay",
                Duration::ZERO,
            )?,
        })
    }

    /// When the first run is due after a (re)start at `now` (Unix ms): after the initial
    /// delay; else now for an interval, the next cron time, and never for manual tasks.
    pub(crate) fn first_run(&self, now: i64) -> Option<i64> {
        if !self.initial_delay.is_zero() {
            return Some(now.saturating_add(millis(self.initial_delay)));
        }
        match &self.cadence {
            Cadence::Every(_) => Some(now),
            Cadence::Cron(cron) => next_cron_time(cron, now),
            Cadence::Manual => None,
        }
    }

    /// When the run after the one scheduled at `scheduled_at` is due, at `now`: an interval
    /// later (or now, when that has passed already), the next cron time after now, or never.
    pub(crate) fn next_run(&self, scheduled_at: i64, now: i64) -> Option<i64> {
        match &self.cadence {
            Cadence::Every(frequency) => {
                Some(scheduled_at.saturating_add(millis(*frequency)).max(now))
            }
            Cadence::Cron(cron) => next_cron_time(cron, now),
            Cadence::Manual => None,
        }
    }

    /// How long an idle replica waits at most before looking again.
    fn work_check(&self) -> Duration {
        match self.cadence {
            Cadence::Every(frequency) => frequency.min(WORK_CHECK),
            _ => WORK_CHECK,
        }
    }

    /// The settings column: what the schedule is, for people reading the table.
    fn settings_json(&self) -> String {
        let cadence = match &self.cadence {
            Cadence::Every(d) => format!("every {} ms", d.as_millis()),
            Cadence::Cron(c) => format!("cron {}", c.as_str()),
            Cadence::Manual => "manual".to_string(),
        };
        serde_json::json!({
            "cadence": cadence,
            "timeoutMs": millis(self.timeout),
            "initialDelayMs": millis(self.initial_delay),
        })
        .to_string()
    }
}

fn describe(d: &ScheduleDuration) -> String {
    match d {
        ScheduleDuration::Every(d) => format!("{d:?}"),
        ScheduleDuration::Cron(c) => format!("{{ cron: '{c}' }}"),
        ScheduleDuration::Other(v) => v.to_string(),
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The first cron time strictly after `now` (Unix ms), in UTC.
fn next_cron_time(cron: &croner::Cron, now: i64) -> Option<i64> {
    let now = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now)?;
    cron.find_next_occurrence(&now, false)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// One run this replica claimed, for status and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledRun {
    pub task_id: String,
    /// The `next_run_start_at` the run was claimed for: one value per period.
    pub scheduled_at: i64,
}

/// Runs `run` whenever this replica claims a due run of `task_id`, until `cancel` fires.
/// A claimed run is not interrupted by `cancel`, only by the schedule's timeout (when its
/// lease lapses too), so every claimed period finishes or is handed on. `on_claim` is told
/// each claimed run.
pub(crate) async fn run_with_lease<F, Fut>(
    db: Db,
    task_id: String,
    schedule: Schedule,
    cancel: CancellationToken,
    on_claim: impl Fn(ScheduledRun) + Send,
    mut run: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let registered = {
        let (id, settings, first) = (
            task_id.clone(),
            schedule.settings_json(),
            schedule.first_run(now_millis()),
        );
        db.write(move |conn| leases::register_task(conn, &id, &settings, first))
            .await
    };
    if let Err(e) = registered {
        tracing::error!(task.id = %task_id, "could not register the scheduled task; it will not run: {e}");
        return;
    }
    let lease_ms = millis(schedule.timeout);
    loop {
        if cancel.is_cancelled() {
            return;
        }
        let now = now_millis();
        let ticket = uuid::Uuid::new_v4().to_string();
        let claim = {
            let id = task_id.clone();
            db.write(move |conn| leases::try_claim(conn, &id, &ticket, now, lease_ms))
                .await
        };
        let wait = match claim {
            Ok(Claim::Claimed {
                ticket,
                scheduled_at,
            }) => {
                on_claim(ScheduledRun {
                    task_id: task_id.clone(),
                    scheduled_at,
                });
                let error = match tokio::time::timeout(schedule.timeout, run()).await {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e),
                    Err(_) => {
                        tracing::warn!(task.id = %task_id, timeout_s = schedule.timeout.as_secs(),
                            "{task_id}: the run timed out; nothing was applied");
                        Some(format!("timed out after {} ms", lease_ms))
                    }
                };
                let ended = now_millis();
                let next = schedule.next_run(scheduled_at, ended);
                let id = task_id.clone();
                let released: Result<bool, CatalogError> = db
                    .write(move |conn| {
                        leases::release(conn, &id, &ticket, next, ended, error.as_deref())
                    })
                    .await;
                match released {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(task.id = %task_id,
                        "{task_id}: the lease lapsed during the run; another replica may run it"),
                    Err(e) => tracing::warn!(task.id = %task_id,
                        "{task_id}: could not release the lease (it lapses after the timeout): {e}"),
                }
                Duration::ZERO
            }
            Ok(Claim::NotClaimed {
                next_run_start_at,
                lease_expires_at,
            }) => {
                // Wake when the next run is due or the holder's lease lapses, if sooner.
                let now = now_millis();
                [next_run_start_at, lease_expires_at.map(|e| e + 1)]
                    .into_iter()
                    .flatten()
                    .filter(|t| *t > now)
                    .map(|t| Duration::from_millis((t - now) as u64))
                    .fold(schedule.work_check(), Duration::min)
            }
            Err(e) => {
                tracing::warn!(task.id = %task_id, "{task_id}: could not claim the run: {e}");
                schedule.work_check()
            }
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schedule(v: serde_json::Value) -> Result<Schedule, String> {
        let config: ScheduleConfig = serde_json::from_value(v).unwrap();
        Schedule::from_config(Some(&config), "catalog.providers.github.p")
    }

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn schedules_from_config() {
        let s = schedule(json!({
            "frequency": {"minutes": 5}, "timeout": "PT1M", "initialDelay": {"seconds": 3}
        }))
        .unwrap();
        assert_eq!(
            s,
            Schedule {
                cadence: Cadence::Every(Duration::from_secs(300)),
                timeout: Duration::from_secs(60),
                initial_delay: Duration::from_secs(3),
            }
        );
        let none = Schedule::from_config(None, "p").unwrap();
        assert_eq!(none.cadence, Cadence::Every(DEFAULT_FREQUENCY));
        assert_eq!(none.initial_delay, Duration::ZERO);
        assert_eq!(
            schedule(json!({"frequency": {"trigger": "manual"}}))
                .unwrap()
                .cadence,
            Cadence::Manual
        );
    }

    #[test]
    fn bad_schedules_name_the_key() {
        let err = schedule(json!({"frequency": {"cron": "61 * * * *"}})).unwrap_err();
        assert!(
            err.starts_with("catalog.providers.github.p.schedule.frequency: invalid cron"),
            "{err}"
        );
        let err = schedule(json!({"frequency": {"fortnights": 1}})).unwrap_err();
        assert!(err.contains("schedule.frequency"), "{err}");
        let err = schedule(json!({"timeout": {"cron": "* * * * *"}})).unwrap_err();
        assert!(err.contains("schedule.timeout"), "{err}");
    }

    #[test]
    fn cron_runs_at_the_next_matching_minute_in_utc() {
        let s = schedule(json!({"frequency": {"cron": "*/5 * * * *"}})).unwrap();
        let now = at("2026-03-01T10:07:30Z");
        assert_eq!(s.first_run(now), Some(at("2026-03-01T10:10:00Z")));
        // After a run, the next time strictly after the end of the run.
        assert_eq!(
            s.next_run(at("2026-03-01T10:10:00Z"), at("2026-03-01T10:10:00Z")),
            Some(at("2026-03-01T10:15:00Z"))
        );
        let daily = schedule(json!({"frequency": {"cron": "30 2 * * 1-5"}})).unwrap();
        // Saturday → Monday 02:30.
        assert_eq!(
            daily.first_run(at("2026-02-28T12:00:00Z")),
            Some(at("2026-03-02T02:30:00Z"))
        );
        let seconds = schedule(json!({"frequency": {"cron": "*/10 * * * * *"}})).unwrap();
        assert_eq!(
            seconds.first_run(at("2026-03-01T10:00:01Z")),
            Some(at("2026-03-01T10:00:10Z"))
        );
        // The initial delay still comes first.
        let delayed = schedule(json!({"frequency": {"cron": "0 0 * * *"},
                                      "initialDelay": {"seconds": 5}}))
        .unwrap();
        assert_eq!(delayed.first_run(1_000), Some(6_000));
    }

    #[test]
    fn intervals_keep_their_rhythm_and_manual_tasks_never_come_due() {
        let s = schedule(json!({"frequency": {"seconds": 60}})).unwrap();
        assert_eq!(s.first_run(5_000), Some(5_000));
        // A short run: the next one is an interval after the scheduled time.
        assert_eq!(s.next_run(5_000, 7_000), Some(65_000));
        // A run longer than the interval: the next one is due at once, not in a burst.
        assert_eq!(s.next_run(5_000, 200_000), Some(200_000));
        let manual = schedule(json!({"frequency": {"trigger": "manual"}})).unwrap();
        assert_eq!(manual.first_run(5_000), None);
        assert_eq!(manual.next_run(5_000, 7_000), None);
    }
}
