//! When to try a failed call-out again.

use std::time::{Duration, SystemTime};

use rand::Rng;

use super::http::{ErrorClass, Exchange};

/// The shortest and longest delay a `Retry-After` header may ask for.
pub const RETRY_AFTER_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(24 * 3600));

/// Tells whether a failed attempt may succeed later: network errors, timeouts, 408, 429 and
/// 5xx. Other statuses, redirects, refused addresses and invalid URLs are final.
pub fn is_retryable(exchange: &Exchange) -> bool {
    match exchange.error_class {
        Some(
            ErrorClass::Dns
            | ErrorClass::Connect
            | ErrorClass::Tls
            | ErrorClass::Timeout
            | ErrorClass::Protocol,
        ) => true,
        Some(ErrorClass::Status) => exchange
            .status
            .is_some_and(|status| status == 408 || status == 429 || status >= 500),
        Some(
            ErrorClass::InvalidUrl
            | ErrorClass::AddressRefused
            | ErrorClass::Redirect
            | ErrorClass::HookUnavailable,
        )
        | None => false,
    }
}

/// Returns `delay` changed by a random amount of up to `jitter` (0.2 for ±20 %), so retries of
/// many deliveries that failed together do not all arrive together.
pub fn with_jitter(delay: Duration, jitter: f64) -> Duration {
    if jitter <= 0.0 || delay.is_zero() {
        return delay;
    }
    let factor = rand::thread_rng().gen_range((1.0 - jitter)..=(1.0 + jitter));
    delay.mul_f64(factor.max(0.0))
}

/// Returns the delay a `Retry-After` header requests, as seconds or an HTTP date, kept within
/// [`RETRY_AFTER_BOUNDS`].
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            let at =
                SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(date.timestamp()).ok()?);
            at.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(delay.clamp(RETRY_AFTER_BOUNDS.0, RETRY_AFTER_BOUNDS.1))
}

/// Parses a duration such as `500ms`, `5s`, `30m`, `2h` or `5d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration `{text}`: write a number and a unit, such as 5s"))?;
    let millis = match unit {
        "ms" => 1,
        "s" | "" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ if unit.starts_with('.') => {
            return Err(format!(
                "invalid duration `{text}`: write a whole number, such as 1500ms for 1.5s"
            ))
        }
        _ => {
            return Err(format!(
                "invalid duration unit in `{text}`: use ms, s, m, h or d"
            ))
        }
    };
    let duration = Duration::from_millis(number.saturating_mul(millis));
    if duration > MAX_DURATION {
        return Err(format!("invalid duration `{text}`: use at most 365d"));
    }
    Ok(duration)
}

/// The maximum duration of a setting. Much longer ones would overflow the clock when added
/// to the current time.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 86_400);

/// Parses a retry schedule: comma-separated delays before the second, third and later
/// attempts, such as `5s,5m,30m,2h,5h,10h,10h`. An empty text means no retries.
pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(parse_duration)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_table() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cases = [
            ("120", Some(120)),
            ("0", Some(1)),
            ("999999", Some(86400)),
            ("Tue, 14 Nov 2023 22:15:20 GMT", Some(120)),
            ("Tue, 14 Nov 2023 22:00:00 GMT", Some(1)),
            ("soon", None),
            ("-5", None),
        ];
        for (header, expected) in cases {
            assert_eq!(
                retry_after(header, now).map(|d| d.as_secs()),
                expected,
                "header {header:?}"
            );
        }
    }

    #[test]
    fn jitter_stays_within_bounds() {
        for _ in 0..1000 {
            let delay = with_jitter(Duration::from_secs(100), 0.2);
            assert!(delay >= Duration::from_secs(80), "{delay:?}");
            assert!(delay <= Duration::from_secs(120), "{delay:?}");
        }
    }

    #[test]
    fn schedules_parse() {
        let schedule = parse_schedule("0s, 5s,5m,30m,2h,5h,10h,10h").unwrap();
        assert_eq!(schedule.len(), 8);
        assert_eq!(schedule[4], Duration::from_secs(7200));
        assert_eq!(parse_schedule("").unwrap(), Vec::<Duration>::new());
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_schedule("5x").is_err());
        assert!(parse_schedule("s").is_err());
    }

    #[test]
    fn durations_parse() {
        let valid = [
            ("250ms", Duration::from_millis(250)),
            ("7", Duration::from_secs(7)),
            ("2m", Duration::from_secs(120)),
            ("365d", MAX_DURATION),
        ];
        for (text, expected) in valid {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }

        let invalid = [
            ("366d", "use at most 365d"),
            ("18446744073709551615s", "use at most 365d"),
            ("99999999999999999999s", "write a number and a unit"),
            ("1.5s", "write a whole number"),
            ("-1s", "write a number and a unit"),
            ("5x", "use ms, s, m, h or d"),
            ("", "write a number and a unit"),
        ];
        for (text, expected) in invalid {
            let error = parse_duration(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn retryable_classes() {
        let mut exchange = Exchange {
            error_class: Some(ErrorClass::Status),
            ..Exchange::default()
        };
        for (status, expected) in [
            (500, true),
            (503, true),
            (408, true),
            (429, true),
            (404, false),
            (410, false),
            (400, false),
        ] {
            exchange.status = Some(status);
            assert_eq!(is_retryable(&exchange), expected, "status {status}");
        }
        exchange.error_class = Some(ErrorClass::AddressRefused);
        assert!(!is_retryable(&exchange));
        exchange.error_class = Some(ErrorClass::Timeout);
        assert!(is_retryable(&exchange));
    }
}
