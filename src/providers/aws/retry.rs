//! Retries of "busy" answers.
//!
//! Throttling and server-side failures are retried by the SDK's standard
//! retry mode. What the SDK cannot know is that EC2 also refuses a create,
//! modify or delete while another operation on the same VPC or endpoint is
//! running (`IncorrectState`, "idempotent operation going on"); the same
//! request succeeds a little later. [`retry_busy`] retries exactly those
//! answers, with exponential backoff and jitter, and reports each retry
//! through [`crate::logging::progress`].

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use super::error::AwsError;

/// How [`retry_busy`] backs off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyRetry {
    /// First delay.
    pub min_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
    /// Retries after the first attempt.
    pub max_retries: usize,
}

impl Default for BusyRetry {
    /// About two minutes in all: 1 s, 2 s, 4 s, … capped at 20 s, 9 retries.
    fn default() -> Self {
        BusyRetry {
            min_delay: crate::limits::AWS_BUSY_MIN_DELAY,
            max_delay: crate::limits::AWS_BUSY_MAX_DELAY,
            max_retries: 9,
        }
    }
}

/// Runs `op`, running it again while it fails with a busy answer.
pub(crate) async fn retry_busy<T, F, Fut>(policy: BusyRetry, op: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .with_max_times(policy.max_retries)
        .with_jitter();
    let mut attempt = 1;
    op.retry(backoff)
        .when(AwsError::is_busy)
        .notify(|e: &AwsError, delay: Duration| {
            attempt += 1;
            crate::logging::progress(&format!(
                "EC2: {}, retrying in {} (attempt {attempt} of {})",
                e.code().unwrap_or("busy"),
                crate::logging::pause(delay),
                policy.max_retries + 1
            ));
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn fast(max_retries: usize) -> BusyRetry {
        BusyRetry {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            max_retries,
        }
    }

    fn err(code: &str, message: &str) -> AwsError {
        AwsError::Api {
            operation: "CreateVpcEndpoint",
            code: code.into(),
            message: message.into(),
        }
    }

    #[tokio::test]
    async fn retries_busy_answers_until_success() {
        let calls = AtomicUsize::new(0);
        let out = retry_busy(fast(5), || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(err("IncorrectState", "vpc busy")),
                1 => Err(err(
                    "InvalidParameter",
                    "there is an idempotent operation going on",
                )),
                _ => Ok("vpce-1"),
            }
        })
        .await;
        assert_eq!(out.unwrap(), "vpce-1");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let calls = AtomicUsize::new(0);
        let out: Result<(), _> = retry_busy(fast(5), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(err("InvalidVpcID.NotFound", "no such vpc"))
        })
        .await;
        assert!(out.unwrap_err().is_not_found());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn gives_up_after_max_retries() {
        let calls = AtomicUsize::new(0);
        let out: Result<(), _> = retry_busy(fast(2), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(err("IncorrectState", "still busy"))
        })
        .await;
        assert!(out.unwrap_err().is_busy());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
