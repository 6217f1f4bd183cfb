//! Retries of "busy" answers, and of "not found" answers about objects
//! privlink has just created.
//!
//! Throttling and server-side failures are retried by the SDK's standard
//! retry mode. What the SDK cannot know is that EC2 also refuses a create,
//! modify or delete while another operation on the same VPC or endpoint is
//! running (`IncorrectState`, "idempotent operation going on"); the same
//! request succeeds a little later. [`retry_busy`] retries exactly those
//! answers, with exponential backoff and jitter, and reports each retry
//! through [`crate::logging::progress`].
//!
//! EC2 is also eventually consistent: for seconds after CreateSecurityGroup
//! or CreateVpcEndpoint, calls naming the new object may answer
//! `InvalidGroup.NotFound` / `InvalidVpcEndpointId.NotFound`, and describes
//! may not list it. [`retry_unseen`] retries a call on such a new object
//! while EC2 says it does not exist, for a bounded time ([`SeenRetry`]).

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

/// How [`retry_unseen`] backs off: for at most `timeout` in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenRetry {
    /// First delay.
    pub min_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
    /// How long, in all, an object may stay unseen before the last answer
    /// is taken as it stands.
    pub timeout: Duration,
}

impl Default for SeenRetry {
    /// 0.5 s, 1 s, 2 s, … capped at 5 s, for at most two minutes.
    fn default() -> Self {
        SeenRetry {
            min_delay: crate::limits::AWS_PROPAGATION_MIN_DELAY,
            max_delay: crate::limits::AWS_PROPAGATION_MAX_DELAY,
            timeout: crate::limits::AWS_PROPAGATION_TIMEOUT,
        }
    }
}

impl SeenRetry {
    /// The same backoff for at most `timeout`.
    pub fn within(self, timeout: Duration) -> Self {
        SeenRetry {
            timeout: self.timeout.min(timeout),
            ..self
        }
    }
}

/// Runs `op`, which names objects privlink has just created (`ids`), again
/// while EC2 answers that one of them does not exist or is not listed (see
/// [`AwsError::is_unseen`]) or that it is busy, until `policy.timeout` has
/// passed in pauses; sleeps give the step's call slot back. Each retry is
/// reported through [`crate::logging::progress`].
pub(crate) async fn retry_unseen<T, F, Fut>(
    policy: SeenRetry,
    ids: &[String],
    op: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .without_max_times()
        .with_total_delay(Some(policy.timeout))
        .with_jitter();
    let started = std::time::Instant::now();
    op.retry(backoff)
        .sleep(crate::wait::idle)
        .when(|e: &AwsError| e.is_unseen(ids) || e.is_busy())
        .notify(|e: &AwsError, delay: Duration| {
            let what = e.code().unwrap_or("not listed");
            tracing::debug!(ids = ?ids, code = what, "EC2 does not show a new object yet");
            crate::logging::progress(&format!(
                "EC2 does not show {} yet ({what}), retrying in {} ({} s so far)",
                ids.join(", "),
                crate::logging::pause(delay),
                started.elapsed().as_secs()
            ));
        })
        .await
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

    fn quick(timeout_ms: u64) -> SeenRetry {
        SeenRetry {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    #[tokio::test]
    async fn a_new_object_is_asked_for_again_until_ec2_shows_it() {
        let ids = vec!["sg-0a1".to_owned()];
        let calls = AtomicUsize::new(0);
        let out = retry_unseen(quick(5_000), &ids, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(err(
                    "InvalidGroup.NotFound",
                    "The security group 'sg-0a1' does not exist",
                )),
                1 => Err(AwsError::NotListed {
                    operation: "DescribeSecurityGroups",
                    id: "sg-0a1".into(),
                }),
                _ => Ok("seen"),
            }
        })
        .await;
        assert_eq!(out.unwrap(), "seen");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_unseen_object_is_given_up_on_after_the_timeout_and_others_at_once() {
        let ids = vec!["sg-0a1".to_owned()];
        let started = std::time::Instant::now();
        let out: Result<(), _> = retry_unseen(quick(40), &ids, || async {
            Err(err("InvalidGroup.NotFound", "sg-0a1 does not exist"))
        })
        .await;
        assert!(out.unwrap_err().is_not_found());
        assert!(started.elapsed() >= Duration::from_millis(30));
        // A missing object privlink did not just create is not waited for.
        let calls = AtomicUsize::new(0);
        let out: Result<(), _> = retry_unseen(quick(5_000), &ids, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(err(
                "InvalidGroup.NotFound",
                "The security group 'sg-0ff' does not exist",
            ))
        })
        .await;
        assert!(out.is_err());
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
