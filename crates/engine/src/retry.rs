//! Retrying transient errors: exponential backoff with a bounded number of attempts.

use std::time::Duration;

/// Attempts per operation (the first try and the retries). Eight attempts with the delays below
/// wait about 20 s in all: long enough to ride out a deadlock storm, a failover's reconnect or a
/// killed connection, short enough that a server that is really gone is reported soon.
pub const MAX_ATTEMPTS: u32 = 8;

/// Delay before the first retry.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);

/// Longest delay between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(8);

/// The delay before retry number `retry` (1 for the first retry): doubling from
/// [`FIRST_DELAY`], capped at [`MAX_DELAY`].
pub fn backoff(retry: u32) -> Duration {
    let factor = 1u32 << retry.saturating_sub(1).min(16);
    FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(4), Duration::from_millis(800));
        assert_eq!(backoff(10), MAX_DELAY);
        assert_eq!(backoff(u32::MAX), MAX_DELAY);
        let total: Duration = (1..MAX_ATTEMPTS).map(backoff).sum();
        assert!(
            total > Duration::from_secs(10) && total < Duration::from_secs(40),
            "{total:?}"
        );
    }
}
