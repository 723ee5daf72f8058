//! Durations in config, written the ways Backstage's `readDurationFromConfig` reads them: an
//! object (`{ hours: 1, minutes: 30 }`), an `ms`-style string (`90s`, `1h`, `2 days`) or an
//! ISO 8601 duration (`PT1H30M`).

use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::time::Duration;

/// A [`Duration`] read from config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigDuration(pub Duration);

impl ConfigDuration {
    pub fn as_duration(self) -> Duration {
        self.0
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HumanDuration {
    #[serde(default)]
    years: f64,
    #[serde(default)]
    months: f64,
    #[serde(default)]
    weeks: f64,
    #[serde(default)]
    days: f64,
    #[serde(default)]
    hours: f64,
    #[serde(default)]
    minutes: f64,
    #[serde(default)]
    seconds: f64,
    #[serde(default)]
    milliseconds: f64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawDuration {
    Text(String),
    Object(HumanDuration),
}

const SECOND: f64 = 1000.0;
const MINUTE: f64 = 60.0 * SECOND;
const HOUR: f64 = 60.0 * MINUTE;
const DAY: f64 = 24.0 * HOUR;
const WEEK: f64 = 7.0 * DAY;
// As luxon and `ms` count them.
const MONTH: f64 = 30.0 * DAY;
const YEAR: f64 = 365.25 * DAY;

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let millis = match RawDuration::deserialize(deserializer).map_err(|_| {
            de::Error::custom(
                "expected a duration: an object such as { hours: 1 }, a string such as '1h', or ISO 8601 such as 'PT1H'",
            )
        })? {
            RawDuration::Object(h) => {
                h.years * YEAR
                    + h.months * MONTH
                    + h.weeks * WEEK
                    + h.days * DAY
                    + h.hours * HOUR
                    + h.minutes * MINUTE
                    + h.seconds * SECOND
                    + h.milliseconds
            }
            RawDuration::Text(text) => parse_duration_millis(&text).map_err(de::Error::custom)?,
        };
        if !millis.is_finite() || millis < 0.0 {
            return Err(de::Error::custom("duration must not be negative"));
        }
        Ok(ConfigDuration(Duration::from_millis(millis.round() as u64)))
    }
}

/// Parses `ms`-style (`1h`, `30 minutes`) and ISO 8601 (`P1DT2H`) durations into milliseconds.
pub fn parse_duration_millis(text: &str) -> Result<f64, String> {
    let text = text.trim();
    if let Some(iso) = text.strip_prefix('P').or_else(|| text.strip_prefix('p')) {
        return parse_iso(iso).ok_or_else(|| format!("invalid ISO 8601 duration '{text}'"));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration '{text}'"))?;
    let unit = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 1.0,
        "s" | "sec" | "secs" | "second" | "seconds" => SECOND,
        "m" | "min" | "mins" | "minute" | "minutes" => MINUTE,
        "h" | "hr" | "hrs" | "hour" | "hours" => HOUR,
        "d" | "day" | "days" => DAY,
        "w" | "week" | "weeks" => WEEK,
        "mo" | "month" | "months" => MONTH,
        "y" | "yr" | "yrs" | "year" | "years" => YEAR,
        other => return Err(format!("invalid duration unit '{other}' in '{text}'")),
    };
    Ok(value * unit)
}

fn parse_iso(rest: &str) -> Option<f64> {
    let (date, time) = match rest.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total = 0.0;
    let mut any = false;
    for (part, units) in [
        (
            date,
            &[('Y', YEAR), ('M', MONTH), ('W', WEEK), ('D', DAY)][..],
        ),
        (
            time.unwrap_or(""),
            &[('H', HOUR), ('M', MINUTE), ('S', SECOND)][..],
        ),
    ] {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == ',' {
                number.push(if c == ',' { '.' } else { c });
                continue;
            }
            let unit = units.iter().find(|(u, _)| *u == c.to_ascii_uppercase())?.1;
            total += number.parse::<f64>().ok()? * unit;
            number.clear();
            any = true;
        }
        if !number.is_empty() {
            return None;
        }
    }
    if time == Some("") {
        return None;
    }
    any.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str) -> Result<Duration, serde_yaml::Error> {
        serde_yaml::from_str::<ConfigDuration>(yaml).map(|d| d.0)
    }

    #[test]
    fn reads_the_three_forms() {
        assert_eq!(
            read("{ hours: 1, minutes: 30 }").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(read("'90s'").unwrap(), Duration::from_secs(90));
        assert_eq!(read("2 days").unwrap(), Duration::from_secs(2 * 86400));
        assert_eq!(read("PT1H30M").unwrap(), Duration::from_secs(5400));
        assert_eq!(read("P1DT1S").unwrap(), Duration::from_secs(86401));
    }

    #[test]
    fn rejects_nonsense() {
        assert!(read("soon").is_err());
        assert!(read("5 fortnights").is_err());
        assert!(read("PT").is_err());
        assert!(read("{ hourz: 1 }").is_err());
        assert!(read("'-1h'").is_err());
    }
}
