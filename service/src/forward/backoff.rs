//! Retry decisions: which responses are worth retrying, and how long to
//! wait (exponential backoff with jitter, or the server's `Retry-After`).

use std::time::{Duration, SystemTime};

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx: the data lake has the bundle.
    Delivered,
    /// Worth another try (connection error, timeout, 408, 429, 5xx), after
    /// at least the server's `Retry-After` when it sent one.
    Retry(Option<Duration>),
    /// The data lake refused the bundle itself (other 4xx, or a 3xx we do
    /// not follow): retrying the same bytes would fail the same way.
    Reject,
}

/// Classifies an HTTP status (with its `Retry-After`, if any).
pub fn classify(status: u16, retry_after: Option<Duration>) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        408 | 429 | 500..=599 => Verdict::Retry(retry_after),
        _ => Verdict::Reject,
    }
}

/// Parses `Retry-After`: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Exponential backoff with "equal jitter": the delay before retry number
/// `attempt` (1 after the first failure) is half of `base * 2^(attempt-1)`
/// (capped at `max`) plus a random part of up to the other half, so that
/// many jobs failing together do not come back together. A `Retry-After`
/// longer than that is honoured, up to `max`.
pub fn delay(
    attempt: u32,
    base: Duration,
    max: Duration,
    retry_after: Option<Duration>,
    random: u64,
) -> Duration {
    let exp = base
        .checked_mul(1u32 << attempt.saturating_sub(1).min(30))
        .unwrap_or(max)
        .min(max);
    let half = exp / 2;
    let spread = (exp - half).as_micros() as u64;
    let jitter = if spread == 0 {
        0
    } else {
        random % (spread + 1)
    };
    let backoff = half + Duration::from_micros(jitter);
    match retry_after {
        Some(ra) => backoff.max(ra.min(max)),
        None => backoff,
    }
}

/// A random number for jitter (from the OS generator behind UUID v4, so
/// no extra dependency).
pub fn random() -> u64 {
    let b = uuid::Uuid::new_v4().into_bytes();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[9], b[10]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(classify(201, None), Verdict::Delivered);
        assert_eq!(classify(500, None), Verdict::Retry(None));
        let ra = Some(Duration::from_secs(2));
        assert_eq!(classify(429, ra), Verdict::Retry(ra));
        assert_eq!(classify(400, None), Verdict::Reject);
        assert_eq!(classify(404, None), Verdict::Reject);
        assert_eq!(classify(302, None), Verdict::Reject);
    }

    #[test]
    fn backs_off_exponentially_with_jitter() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(10);
        for attempt in 1..=4u32 {
            let full = base * (1 << (attempt - 1));
            let lo = delay(attempt, base, max, None, 0);
            let hi = delay(attempt, base, max, None, u64::MAX);
            assert_eq!(lo, full / 2);
            assert!(hi <= full && hi >= full / 2, "{hi:?}");
        }
        assert!(delay(40, base, max, None, 7) <= max);
        // Retry-After wins when longer, capped at max.
        assert_eq!(
            delay(1, base, max, Some(Duration::from_secs(3)), 0),
            Duration::from_secs(3)
        );
        assert_eq!(delay(1, base, max, Some(Duration::from_secs(99)), 0), max);
    }

    #[test]
    fn parses_retry_after() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
