//! Every fixed timeout, delay and retry pause of privlink, named in one
//! place. Each constant says what it bounds and why it has its value; the
//! code that uses it refers to it by name. Durations a user can change
//! (`--timeout`) have their defaults here too.

use std::time::Duration;

// ----- waits (src/wait.rs) ---------------------------------------------------

/// How long one wait on Atlas or AWS may take by default: the `--timeout` of
/// apply and destroy, and the wait budget of `plan`. Atlas endpoint services
/// take minutes to become available; thirty of them leave a wide margin.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// `--timeout`'s default as the command line spells it; the same duration
/// as [`WAIT_TIMEOUT`].
pub const WAIT_TIMEOUT_ARG: &str = "30m";

/// The wait budget of the commands that only read (`output`, `import`): they
/// never wait for a state change, so one minute is plenty.
pub const READ_ONLY_WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// First delay between two polls of a wait.
pub const POLL_MIN_DELAY: Duration = Duration::from_millis(250);

/// How often a shared poller reads an Atlas list while waits listen to it:
/// a state change is acted on at most this long (plus the read) after
/// Atlas reaches it. One list costs 120 reads a minute, 6 % of the
/// refill of Atlas's "Private Endpoint Services" rate-limit set (2000 a
/// minute per project), however many waits listen to it.
pub const ATLAS_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Longest delay between two polls of a wait.
pub const POLL_MAX_DELAY: Duration = Duration::from_secs(15);

/// The least pause of a shared poller between publishing a round and its
/// next read, so that the waits it answered can leave first (a read slower
/// than the poll interval would otherwise be followed by one at once).
pub const POLL_LISTEN_PAUSE: Duration = Duration::from_millis(50);

/// The shortest pause a wait takes before its last poll, so that a wait whose
/// budget is nearly spent still yields instead of spinning.
pub const POLL_MIN_IDLE: Duration = Duration::from_millis(1);

// ----- interrupts (src/apply.rs) --------------------------------------------

/// How long, after Ctrl-C or SIGTERM, running steps may take to reach their
/// next wait (where they stop) before they are stopped wherever they are: a
/// call in flight usually returns well within it, and the run still exits
/// within two seconds of the signal.
pub const INTERRUPT_GRACE: Duration = Duration::from_millis(1500);

// ----- state lock (src/state/local/lock.rs) ----------------------------------------

/// The pause between two reads of a lock holder's info while the holder is
/// still writing it (it writes right after taking the lock, so this is short).
pub const LOCK_INFO_RETRY_DELAY: Duration = Duration::from_millis(10);

// ----- Atlas client (src/providers/atlas) -----------------------------------

/// The first pause before retrying an Atlas request after a `429`, a `5xx` or
/// a connection error; doubles (with jitter) up to
/// [`ATLAS_MAX_RETRY_DELAY`].
pub const ATLAS_MIN_RETRY_DELAY: Duration = Duration::from_secs(2);

/// The longest pause between two retries of an Atlas request.
pub const ATLAS_MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

/// The lifetime assumed for a service-account token when Atlas does not say
/// (`expires_in` missing): one hour, what Atlas issues.
pub const ATLAS_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// How long before it expires a service-account token is refreshed (or
/// halfway through its life, for shorter-lived tokens).
pub const ATLAS_TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// How long an Atlas request may take to open its connection by default
/// (`--connect-timeout`, `PRIVLINK_CONNECT_TIMEOUT`); the EC2 client uses the
/// same setting.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one attempt of an Atlas request may take by default, from
/// sending to the last byte of the answer (`--request-timeout`,
/// `PRIVLINK_REQUEST_TIMEOUT`); the EC2 client uses the same setting for
/// one attempt of an operation. Atlas answers in well under a second; a
/// minute covers a slow link without hiding a server that never answers.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How many interface endpoints privlink links to one Atlas endpoint service
/// at once (from the create call until the endpoint is AVAILABLE or fails).
/// Atlas accepts the endpoints of one service one operation at a time: when
/// many are linked at once, the extra ones stay PENDING with the error
/// "Failed to accept interface endpoint ... idempotent operation going on"
/// and never become AVAILABLE. Two keep a region's links moving without
/// crowding the service; the others wait their turn (without holding one of
/// the `--parallelism` call slots).
pub const ATLAS_LINKS_PER_SERVICE: usize = 2;

/// How long an interface endpoint may show an `errorMessage` while its
/// `connectionStatus` is not final (PENDING, PENDING_ACCEPTANCE, ...) before
/// the wait for it fails with that message. Atlas leaves such an endpoint
/// stuck rather than failing it; the message is shown at once, and a short
/// grace spares an error Atlas clears by itself on its next pass.
pub const ATLAS_STUCK_ERROR_GRACE: Duration = Duration::from_secs(20);

/// The longest wait, after an apply, for the deployments the file uses (the
/// project's clusters, the named serverless instances) to be IDLE before
/// their connection strings are read: Atlas reconfigures a cluster
/// (`UPDATING`) after each new private endpoint and adds the endpoint's
/// connection string only when done, which takes minutes. Capped by the
/// command's wait budget; past it, the strings are reported as not ready.
pub const DEPLOYMENT_IDLE_WAIT: Duration = Duration::from_secs(15 * 60);

/// First pause between two reads of a deployment that is not IDLE yet;
/// doubles (with jitter) up to [`POLL_MAX_DELAY`].
pub const DEPLOYMENT_IDLE_MIN_DELAY: Duration = Duration::from_secs(1);

// ----- progress lines (src/logging.rs) ---------------------------------------

/// Without `-v`, the least time between two progress lines about retries
/// and slow calls on standard error, and how often a call that has not been
/// answered yet is reported.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

// ----- AWS client (src/providers/aws) ---------------------------------------

/// How long the EC2 client may take to open a connection.
pub const AWS_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one attempt of an EC2 operation may take before the SDK retries.
pub const AWS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

/// The first pause before retrying an EC2 call that failed because the
/// object is busy; doubles up to [`AWS_BUSY_MAX_DELAY`].
pub const AWS_BUSY_MIN_DELAY: Duration = Duration::from_secs(1);

/// The longest pause between two retries of a busy EC2 call.
pub const AWS_BUSY_MAX_DELAY: Duration = Duration::from_secs(20);

/// How long EC2 may take to show an object privlink has just created: for
/// that long after a create, a call naming the new security group or VPC
/// endpoint that answers `*.NotFound`, a describe that does not list it,
/// or an endpoint listing fewer network interfaces than subnets, is asked
/// again rather than believed. EC2's eventual consistency usually settles
/// in seconds; two minutes is the bound Terraform's AWS provider uses too.
pub const AWS_PROPAGATION_TIMEOUT: Duration = Duration::from_secs(120);

/// The first pause before asking EC2 again about a new object it does not
/// show yet; doubles (with jitter) up to [`AWS_PROPAGATION_MAX_DELAY`].
pub const AWS_PROPAGATION_MIN_DELAY: Duration = Duration::from_millis(500);

/// The longest pause between two questions about a new object EC2 does
/// not show yet.
pub const AWS_PROPAGATION_MAX_DELAY: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_argument_spells_the_wait_timeout() {
        assert_eq!(
            humantime::parse_duration(WAIT_TIMEOUT_ARG).unwrap(),
            WAIT_TIMEOUT
        );
    }
}
