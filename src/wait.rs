//! Waiting on asynchronous remote state.
//!
//! Every wait in privlink goes through [`wait_for`]: it polls a closure with
//! exponential backoff and jitter (from the `backon` crate's schedule),
//! enforces a timeout, reports progress (which step, which remote state, for
//! how long) to a [`Progress`] sink, and turns a cloud's terminal failure
//! (a `FAILED` or `REJECTED` status, say) into an error carrying the remote
//! message.
//!
//! It also owns the call slots behind `--parallelism`: a step runs holding
//! one of a fixed number of [`CallSlots`], and every sleep of a wait or of a
//! retry goes through [`idle`], which hands the slot back for its duration.
//! So `--parallelism` bounds the steps talking to the clouds at once, while
//! any number of steps may be waiting on a remote state change.
//!
//! Once [`CallSlots::stop_waits`] is called (on an interrupt), a step that
//! idles, or idles already, parks there for good instead of going on: it is
//! then at a safe point (no call in flight, nothing half-written), the
//! executor counts it in [`CallSlots::parked`] and can drop it; a wait
//! stopped so leaves its resource `creating` with its id, for the next run
//! to resume.
//!
//! Waits on a list that answers for many objects at once do not poll on
//! their own: they listen to a shared poller ([`crate::shared_poll`]).

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use thiserror::Error;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};

/// A fixed number of slots for steps that are calling the clouds, and the
/// switch that stops their waits.
#[derive(Debug, Clone)]
pub struct CallSlots {
    permits: Arc<Semaphore>,
    stop: Arc<Stop>,
}

/// Whether waits are stopped, and how many steps are parked.
#[derive(Debug)]
struct Stop {
    stopped: watch::Sender<bool>,
    parked: AtomicUsize,
    /// Signalled each time a step parks or unparks.
    changed: Notify,
}

impl Stop {
    /// Never returns once waits are stopped: the step stays parked, counted
    /// in `parked` until it is dropped.
    async fn park(&self) -> Infallible {
        let mut stopped = self.stopped.subscribe();
        // The sender lives as long as `self`: the wait only ends on `true`.
        let _ = stopped.wait_for(|s| *s).await;
        /// Counts the parked step until it is dropped.
        struct Parked<'a>(&'a Stop);
        impl Drop for Parked<'_> {
            fn drop(&mut self) {
                self.0.parked.fetch_sub(1, Ordering::SeqCst);
                self.0.changed.notify_one();
            }
        }
        self.parked.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_one();
        let _parked = Parked(self);
        std::future::pending().await
    }
}

/// One slot, taken by a step before it starts.
#[derive(Debug)]
pub struct CallSlot(OwnedSemaphorePermit);

/// The slot of the step running in this task, released while it idles.
struct Held {
    slots: CallSlots,
    permit: Mutex<Option<OwnedSemaphorePermit>>,
    /// Inside [`keep_slot`]: idling keeps the slot.
    kept: AtomicUsize,
}

tokio::task_local! {
    static HELD: Held;
}

impl CallSlots {
    /// `n` slots (at least one).
    pub fn new(n: usize) -> Self {
        CallSlots {
            permits: Arc::new(Semaphore::new(n.max(1))),
            stop: Arc::new(Stop {
                stopped: watch::Sender::new(false),
                parked: AtomicUsize::new(0),
                changed: Notify::new(),
            }),
        }
    }

    /// A free slot now, if there is one.
    pub fn try_take(&self) -> Option<CallSlot> {
        self.permits.clone().try_acquire_owned().ok().map(CallSlot)
    }

    /// The next free slot, waiting for one if needed.
    pub async fn take(&self) -> CallSlot {
        CallSlot(
            self.permits
                .clone()
                .acquire_owned()
                .await
                .expect("call slots are never closed"),
        )
    }

    /// Slots free at the moment.
    pub fn free(&self) -> usize {
        self.permits.available_permits()
    }

    /// Stops the waits of the steps run with these slots: from now on, each
    /// step parks at its next [`idle_while`] (or the one it is in), never to
    /// go on.
    pub fn stop_waits(&self) {
        self.stop.stopped.send_replace(true);
    }

    /// How many steps are parked since [`CallSlots::stop_waits`].
    pub fn parked(&self) -> usize {
        self.stop.parked.load(Ordering::SeqCst)
    }

    /// Resolves when a step parks or unparks (or did since the last call).
    pub async fn parked_changed(&self) {
        self.stop.changed.notified().await;
    }

    /// Runs `step` holding `slot`; every [`idle`] inside it gives the slot
    /// back while it sleeps and takes one again before returning.
    pub async fn run<F: Future>(&self, slot: CallSlot, step: F) -> F::Output {
        let held = Held {
            slots: self.clone(),
            permit: Mutex::new(Some(slot.0)),
            kept: AtomicUsize::new(0),
        };
        HELD.scope(held, step).await
    }
}

/// Runs `f` without holding the task's call slot (if it has one); the slot
/// is taken again, waiting for a free one, before returning. Everything that
/// waits on time or on another step (a sleep, a lock another step holds
/// while it may itself idle) goes through here: a step that keeps its slot
/// while waiting for a step that needs a slot back could wait forever.
///
/// Once the waits are stopped ([`CallSlots::stop_waits`]), the step parks
/// here instead of going on.
pub async fn idle_while<F: Future>(f: F) -> F::Output {
    let (released, stop) = HELD
        .try_with(|h| {
            let stop = h.slots.stop.clone();
            if h.kept.load(Ordering::SeqCst) > 0 {
                return (None, Some(stop));
            }
            let permit = h.permit.lock().expect("slot lock").take();
            let released = permit.map(|p| {
                drop(p);
                h.slots.clone()
            });
            (released, Some(stop))
        })
        .unwrap_or((None, None));
    let out = match stop {
        Some(stop) => tokio::select! {
            biased;
            never = stop.park() => match never {},
            out = f => out,
        },
        None => f.await,
    };
    if let Some(slots) = released {
        let slot = slots.take().await;
        // The scope is still the same task's: put the slot back where it was.
        let _ = HELD.try_with(|h| *h.permit.lock().expect("slot lock") = Some(slot.0));
    }
    out
}

/// Runs `f` keeping the task's call slot even where it idles. For work that
/// others wait for while keeping their own slots (the first Digest exchange
/// of a client): it must finish without needing a slot back, and must not
/// itself wait on another step.
pub async fn keep_slot<F: Future>(f: F) -> F::Output {
    /// Undoes the count even if `f` is dropped half-way.
    struct Kept(bool);
    impl Drop for Kept {
        fn drop(&mut self) {
            if self.0 {
                let _ = HELD.try_with(|h| h.kept.fetch_sub(1, Ordering::SeqCst));
            }
        }
    }
    let _kept = Kept(
        HELD.try_with(|h| h.kept.fetch_add(1, Ordering::SeqCst))
            .is_ok(),
    );
    f.await
}

/// Sleeps until `deadline` without holding the task's call slot.
pub async fn idle_until(deadline: tokio::time::Instant) {
    idle_while(tokio::time::sleep_until(deadline)).await;
}

/// [`idle_until`] for a duration.
pub async fn idle(duration: Duration) {
    idle_until(tokio::time::Instant::now() + duration).await;
}

/// What one poll of a remote object found.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll<T> {
    /// The wait is over: the object reached the wanted state.
    Ready(T),
    /// Still in progress; the string is the remote state, for progress output.
    Pending(String),
    /// A terminal failure; the string carries the remote error message.
    Failed(String),
}

/// How long and how often to poll.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitPolicy {
    /// Give up after this long.
    pub timeout: Duration,
    /// First delay between polls.
    pub min_delay: Duration,
    /// Longest delay between polls.
    pub max_delay: Duration,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            timeout: crate::limits::WAIT_TIMEOUT,
            min_delay: crate::limits::POLL_MIN_DELAY,
            max_delay: crate::limits::POLL_MAX_DELAY,
        }
    }
}

/// Consecutive failed polls a wait tolerates before it gives up.
pub(crate) const MAX_FAILED_POLLS: u32 = 3;

/// The pause after a failed poll, doubled for each further failure in a row
/// (and capped by the policy's longest delay): the client has already
/// retried that request, so the remote side is in trouble and the next poll
/// waits at least as long as the client's first retry would.
pub(crate) const FAILED_POLL_DELAY: Duration = Duration::from_secs(2);

/// The pause before the next poll after `failed` consecutive failed polls:
/// [`poll_gap`]'s value, or more while polls fail.
fn after_failures(gap: Duration, failed: u32, policy: WaitPolicy) -> Duration {
    if failed == 0 {
        return gap;
    }
    let backoff = FAILED_POLL_DELAY.saturating_mul(1 << (failed - 1).min(16));
    gap.max(backoff.min(policy.max_delay))
}

/// One progress report from a wait.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitEvent<'a> {
    /// The resource address the wait belongs to.
    pub address: &'a str,
    /// The step, e.g. "waiting for RESERVED".
    pub step: &'a str,
    /// The last remote state seen.
    pub state: &'a str,
    /// Time since the wait started.
    pub elapsed: Duration,
}

/// Receives progress reports. Implemented by the output module; tests may use
/// [`NoProgress`].
pub trait Progress: Send + Sync {
    /// Called after every poll that found the object still pending.
    fn waiting(&self, event: &WaitEvent<'_>);
}

/// A progress sink that discards everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn waiting(&self, _event: &WaitEvent<'_>) {}
}

/// Why a wait did not succeed.
#[derive(Debug, Error)]
pub enum WaitError<E: std::error::Error + 'static> {
    /// The remote side reported a terminal failure.
    #[error("{address}: {step} failed: {message}")]
    Failed {
        /// The address of the resource waited on.
        address: String,
        /// The step waited on, e.g. "waiting for RESERVED".
        step: String,
        /// The remote side's message, or a description of the failed state.
        message: String,
    },
    /// The timeout ran out; `last_state` is what was seen last.
    #[error("{address}: {step} timed out after {}s (last state: {last_state})", .waited.as_secs())]
    TimedOut {
        /// The address of the resource waited on.
        address: String,
        /// The step waited on, e.g. "waiting for RESERVED".
        step: String,
        /// The last remote state seen.
        last_state: String,
        /// How long the wait lasted.
        waited: Duration,
    },
    /// A poll itself failed (after the caller's own retries).
    #[error("{address}: {step}: {source}")]
    Poll {
        /// The address of the resource waited on.
        address: String,
        /// The step waited on, e.g. "waiting for RESERVED".
        step: String,
        /// The poll's own error.
        #[source]
        source: E,
    },
}

/// The pause before the next poll: the backoff schedule's delay, but never
/// more than an eighth of the time waited so far (nor less than the policy's
/// minimum), so that a state change is seen at most about 12% late while
/// long waits still poll rarely.
pub fn poll_gap(backoff: Duration, elapsed: Duration, policy: WaitPolicy) -> Duration {
    backoff.min(policy.min_delay.max(elapsed / 8))
}

/// Polls `poll` until it returns [`Poll::Ready`] or [`Poll::Failed`], or the
/// policy's timeout runs out. Delays grow exponentially with jitter.
pub async fn wait_for<T, E, F, Fut>(
    address: &str,
    step: &str,
    policy: WaitPolicy,
    progress: &dyn Progress,
    mut poll: F,
) -> Result<T, WaitError<E>>
where
    E: std::error::Error + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, E>>,
{
    let started = Instant::now();
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .with_factor(1.6)
        .with_jitter()
        .without_max_times()
        .build();
    let mut last_state: String;
    let mut failed_polls = 0u32;
    loop {
        match poll().await {
            Ok(Poll::Ready(value)) => return Ok(value),
            Ok(Poll::Failed(message)) => {
                return Err(WaitError::Failed {
                    address: address.to_owned(),
                    step: step.to_owned(),
                    message,
                });
            }
            Ok(Poll::Pending(state)) => {
                failed_polls = 0;
                fail::fail_point!("wait-pending", |_| crate::crash::crash_here());
                last_state = state
            }
            // A poll that failed even after the client's own retries may
            // still be a passing fault: try again a few times before giving up.
            Err(source) => {
                failed_polls += 1;
                if failed_polls > MAX_FAILED_POLLS || started.elapsed() >= policy.timeout {
                    return Err(WaitError::Poll {
                        address: address.to_owned(),
                        step: step.to_owned(),
                        source,
                    });
                }
                last_state = format!("unknown (a poll failed: {source})");
            }
        }
        let elapsed = started.elapsed();
        progress.waiting(&WaitEvent {
            address,
            step,
            state: &last_state,
            elapsed,
        });
        if elapsed >= policy.timeout {
            return Err(WaitError::TimedOut {
                address: address.to_owned(),
                step: step.to_owned(),
                last_state,
                waited: elapsed,
            });
        }
        let gap = poll_gap(delays.next().unwrap_or(policy.max_delay), elapsed, policy);
        let delay = after_failures(gap, failed_polls, policy);
        let remaining = policy.timeout.saturating_sub(elapsed);
        idle(delay.min(remaining.max(crate::limits::POLL_MIN_IDLE))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::sync::Mutex;

    struct Recorder(Mutex<Vec<String>>);
    impl Progress for Recorder {
        fn waiting(&self, e: &WaitEvent<'_>) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{} {} {}", e.address, e.step, e.state));
        }
    }

    fn fast() -> WaitPolicy {
        WaitPolicy {
            timeout: Duration::from_secs(5),
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        }
    }

    #[tokio::test]
    async fn ready_after_pending_reports_progress() {
        let rec = Recorder(Mutex::new(Vec::new()));
        let mut n = 0;
        let out: Result<u32, WaitError<Infallible>> = wait_for("a.b", "wait", fast(), &rec, || {
            n += 1;
            let v = n;
            async move {
                Ok(if v < 3 {
                    Poll::Pending(format!("S{v}"))
                } else {
                    Poll::Ready(v)
                })
            }
        })
        .await;
        assert_eq!(out.unwrap(), 3);
        assert_eq!(*rec.0.lock().unwrap(), vec!["a.b wait S1", "a.b wait S2"]);
    }

    #[tokio::test]
    async fn failed_carries_message() {
        let out: Result<(), WaitError<Infallible>> =
            wait_for("x", "link", fast(), &NoProgress, || async {
                Ok(Poll::Failed("VPC endpoint not found".into()))
            })
            .await;
        let msg = out.unwrap_err().to_string();
        assert!(msg.contains("VPC endpoint not found"), "{msg}");
    }

    #[derive(Debug)]
    struct Flaky;
    impl std::fmt::Display for Flaky {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("503 from the server")
        }
    }
    impl std::error::Error for Flaky {}

    #[tokio::test]
    async fn a_few_failed_polls_are_tolerated_but_not_forever() {
        let mut n = 0;
        let out: Result<u32, WaitError<Flaky>> = wait_for("x", "w", fast(), &NoProgress, || {
            n += 1;
            let v = n;
            async move {
                if v <= 3 {
                    Err(Flaky)
                } else {
                    Ok(Poll::Ready(v))
                }
            }
        })
        .await;
        assert_eq!(out.unwrap(), 4);
        let out: Result<u32, WaitError<Flaky>> =
            wait_for("x", "w", fast(), &NoProgress, || async { Err(Flaky) }).await;
        assert!(matches!(out, Err(WaitError::Poll { .. })));
    }

    #[test]
    fn the_poll_gap_follows_the_time_waited() {
        let p = WaitPolicy::default();
        let s = Duration::from_secs;
        assert_eq!(poll_gap(s(15), Duration::from_millis(100), p), p.min_delay);
        assert_eq!(poll_gap(s(15), s(8), p), s(1));
        assert_eq!(poll_gap(s(3), s(60), p), s(3));
        assert_eq!(poll_gap(s(15), s(600), p), s(15));
    }

    #[test]
    fn failed_polls_back_off_from_two_seconds() {
        let p = WaitPolicy::default();
        let s = Duration::from_secs;
        let gap = Duration::from_millis(300);
        assert_eq!(after_failures(gap, 0, p), gap);
        assert_eq!(after_failures(gap, 1, p), s(2));
        assert_eq!(after_failures(gap, 2, p), s(4));
        assert_eq!(after_failures(gap, 3, p), s(8));
        assert_eq!(after_failures(gap, 30, p), p.max_delay);
        assert_eq!(after_failures(s(10), 1, p), s(10));
    }

    /// Runs `step` in its own task holding `slot`, as the executor does.
    fn spawn_step<F>(
        slots: &CallSlots,
        slot: CallSlot,
        step: F,
    ) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let slots = slots.clone();
        tokio::spawn(async move { slots.run(slot, step).await })
    }

    #[tokio::test]
    async fn an_idle_step_gives_its_slot_back_and_waits_to_take_one_again() {
        let slots = CallSlots::new(1);
        let first = slots.try_take().expect("one slot");
        assert!(slots.try_take().is_none());
        let started = Instant::now();
        let inner = slots.clone();
        let step = spawn_step(&slots, first, async move {
            idle(Duration::from_millis(50)).await;
            (started.elapsed(), inner.free())
        });
        // The step's slot is free while it sleeps...
        let other = tokio::time::timeout(Duration::from_secs(5), slots.take())
            .await
            .expect("the idle step's slot");
        // ...and it does not go on until a slot is free again.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!step.is_finished());
        drop(other);
        let (took, free_inside) = step.await.unwrap();
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert_eq!(free_inside, 0, "the step holds its slot again");
        assert_eq!(slots.free(), 1, "and gives it back when it ends");
    }

    #[tokio::test]
    async fn a_step_waiting_on_a_lock_does_not_starve_the_holder_of_a_slot() {
        // One slot. Step A holds a lock and idles inside it; step B waits for
        // the lock. If B kept its slot while waiting, A could never take one
        // back to finish.
        let slots = CallSlots::new(1);
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        let a_slot = slots.try_take().unwrap();
        let guard = lock.clone().lock_owned().await;
        let a = spawn_step(&slots, a_slot, async move {
            let _guard = guard;
            idle(Duration::from_millis(50)).await;
        });
        let b_slot = tokio::time::timeout(Duration::from_secs(5), slots.take())
            .await
            .expect("A gives its slot back while idle");
        let b = spawn_step(&slots, b_slot, async move {
            let _g = idle_while(lock.lock()).await;
        });
        tokio::time::timeout(Duration::from_secs(5), async {
            a.await.unwrap();
            b.await.unwrap();
        })
        .await
        .expect("no deadlock");
        assert_eq!(slots.free(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn once_waits_are_stopped_an_idle_step_parks_and_is_counted() {
        let slots = CallSlots::new(2);
        let waiting = spawn_step(&slots, slots.try_take().expect("a slot"), async {
            idle(Duration::from_secs(3600)).await;
        });
        let later = spawn_step(&slots, slots.try_take().expect("a slot"), async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            idle(Duration::from_millis(1)).await;
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(slots.parked(), 0);
        slots.stop_waits();
        // The step already idling parks, and so does the one idling later.
        while slots.parked() < 2 {
            slots.parked_changed().await;
        }
        assert!(!waiting.is_finished() && !later.is_finished());
        waiting.abort();
        later.abort();
        let _ = (waiting.await, later.await);
        assert_eq!(slots.parked(), 0, "a dropped step is no longer counted");
    }

    #[tokio::test]
    async fn inside_keep_slot_an_idle_step_keeps_its_slot() {
        let slots = CallSlots::new(1);
        let first = slots.try_take().expect("one slot");
        let inner = slots.clone();
        let step = spawn_step(&slots, first, async move {
            let kept = keep_slot(async {
                idle(Duration::from_millis(30)).await;
                inner.free()
            })
            .await;
            // Outside it again, idling gives the slot back.
            let released = idle_while(async { inner.free() }).await;
            (kept, released)
        });
        assert_eq!(step.await.unwrap(), (0, 1));
    }

    #[tokio::test]
    async fn idle_outside_a_step_just_sleeps() {
        let started = Instant::now();
        idle(Duration::from_millis(20)).await;
        assert!(started.elapsed() >= Duration::from_millis(20));
    }

    #[tokio::test]
    async fn times_out_with_last_state() {
        let policy = WaitPolicy {
            timeout: Duration::from_millis(30),
            ..fast()
        };
        let out: Result<(), WaitError<Infallible>> =
            wait_for("x", "reserve", policy, &NoProgress, || async {
                Ok(Poll::Pending("RESERVATION_REQUESTED".into()))
            })
            .await;
        match out.unwrap_err() {
            WaitError::TimedOut { last_state, .. } => {
                assert_eq!(last_state, "RESERVATION_REQUESTED")
            }
            other => panic!("unexpected {other}"),
        }
    }
}
