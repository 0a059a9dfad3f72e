//! Retrying transient errors: exponential backoff for a bounded time.
//!
//! A server that restarts, fails over or kills a connection is back within seconds to minutes;
//! one that is really gone is not. Each operation (a chunk's read, a batch's write, an applier
//! transaction, a binlog stream) retries its transient errors (`ErrorClass::Transient`: refused
//! or lost connections, a server shutting down, deadlocks, lock wait timeouts, a killed query) on
//! a fresh connection, waiting 100 ms, then twice as long each time up to 8 s, for at most
//! [`RetryPolicy::retry_for`] after its first failure (`--retry-for`), saying so at each retry.
//! Any other error, or time up, stops the run with the error.

use std::time::{Duration, Instant};

use reshard_types::ErrorClass;

/// Delay before the first retry.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);

/// Longest delay between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(8);

/// How long transient errors are retried by default: a server restart or a failover fits.
pub const DEFAULT_RETRY_FOR: Duration = Duration::from_secs(300);

/// How long an operation retries its transient errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The time after an operation's first failure within which it is tried again.
    pub retry_for: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            retry_for: DEFAULT_RETRY_FOR,
        }
    }
}

/// The delay before retry number `retry` (1 for the first retry): doubling from
/// [`FIRST_DELAY`], capped at [`MAX_DELAY`].
pub fn backoff(retry: u32) -> Duration {
    let factor = 1u32 << retry.saturating_sub(1).min(16);
    FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY)
}

/// The retries of one operation.
#[derive(Debug)]
pub(crate) struct Retries {
    policy: RetryPolicy,
    /// When the current run of failures began.
    first_failure: Option<Instant>,
    retries: u32,
}

impl Retries {
    pub(crate) fn new(policy: RetryPolicy) -> Retries {
        Retries {
            policy,
            first_failure: None,
            retries: 0,
        }
    }

    /// After `what` failed with `error`: whether to try again. A transient error within the
    /// policy's time is logged, waited out (the backoff) and answered `true`; anything else
    /// `false`, and the caller reports the error.
    pub(crate) fn again(
        &mut self,
        what: &str,
        class: ErrorClass,
        error: &dyn std::fmt::Display,
    ) -> bool {
        if class != ErrorClass::Transient {
            return false;
        }
        let first = *self.first_failure.get_or_insert_with(Instant::now);
        let delay = backoff(self.retries + 1);
        let spent = first.elapsed();
        if spent + delay > self.policy.retry_for {
            tracing::warn!(
                "{what} failed ({error}); giving up after {} retries over {} s (--retry-for {} s)",
                self.retries,
                spent.as_secs(),
                self.policy.retry_for.as_secs()
            );
            return false;
        }
        self.retries += 1;
        tracing::warn!(
            "{what} failed ({error}); retrying on a fresh connection in {} ms (retry {}, for up to {} s more)",
            delay.as_millis(),
            self.retries,
            self.policy.retry_for.saturating_sub(spent).as_secs()
        );
        std::thread::sleep(delay);
        true
    }

    /// The operation succeeded: a later failure starts a new run of retries.
    pub(crate) fn succeeded(&mut self) {
        self.first_failure = None;
        self.retries = 0;
    }
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
    }

    #[test]
    fn only_transient_errors_are_retried_and_only_for_the_time_given() {
        let mut retries = Retries::new(RetryPolicy {
            retry_for: Duration::from_millis(1000),
        });
        assert!(!retries.again("x", ErrorClass::Definite, &"definite"));
        // 100 + 200 + 400 ms fit in 1 s (with 300 ms to spare for a slow machine); the next
        // delay (800 ms) does not.
        assert!(retries.again("x", ErrorClass::Transient, &"lost"));
        assert!(retries.again("x", ErrorClass::Transient, &"lost"));
        assert!(retries.again("x", ErrorClass::Transient, &"lost"));
        assert!(!retries.again("x", ErrorClass::Transient, &"lost"));
        retries.succeeded();
        assert!(retries.again("x", ErrorClass::Transient, &"lost again"));
    }
}
