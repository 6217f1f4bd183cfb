//! Shared pollers: one request per remote list answers every wait on it.
//!
//! A cloud often answers the status of many objects in one list (Atlas lists
//! every endpoint of a serverless instance in one answer). [`Pollers`] keeps
//! one poller per list key: a task that fetches the list at a fixed interval
//! while at least one wait listens, and publishes each answer as a [`Round`]
//! through a `tokio::sync::watch` channel. Every wait on that key sees the
//! same round, so a change is seen by all of them from one request, at most
//! one interval (plus the request's own time) after it happened, and the
//! request rate per key is fixed whatever the number of waits.
//!
//! A failed fetch is published too (every wait counts it), and the poller
//! then backs off with jitter (doubling from [`FAILED_POLL_DELAY`]) until a
//! fetch succeeds. [`wait_shared`] is the wait on a poller: the same
//! timeout, progress reports, failure and stop handling as
//! [`crate::wait::wait_for`], but it polls nothing itself.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::wait::{
    FAILED_POLL_DELAY, MAX_FAILED_POLLS, Poll, Progress, WaitError, WaitEvent, WaitPolicy,
    idle_while,
};

/// One answer of a poller.
#[derive(Debug)]
pub struct Round<T, E> {
    /// When its request was sent: the answer shows the remote state at or
    /// after this moment.
    pub started: Instant,
    /// The list, or why it could not be read.
    pub answer: Result<Arc<T>, Arc<E>>,
}

type Slot<T, E> = Option<Arc<Round<T, E>>>;

/// What a wait listens to: the rounds of one poller.
pub type Rounds<T, E> = watch::Receiver<Slot<T, E>>;

/// The pollers of one kind of list, by key.
pub struct Pollers<T, E> {
    every: Duration,
    max_backoff: Duration,
    lists: Mutex<HashMap<String, watch::Sender<Slot<T, E>>>>,
}

impl<T, E> Pollers<T, E>
where
    T: Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    /// Pollers that fetch every `every` while their lists read fine, and
    /// back off up to `max_backoff` while they fail.
    pub fn new(every: Duration, max_backoff: Duration) -> Arc<Self> {
        Arc::new(Pollers {
            every,
            max_backoff,
            lists: Mutex::new(HashMap::new()),
        })
    }

    /// The rounds of the poller for `key`, starting one (whose requests
    /// `fetch` makes) if none runs. The poller stops once nobody listens.
    pub fn subscribe<F, Fut>(self: &Arc<Self>, key: &str, fetch: F) -> Rounds<T, E>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let mut lists = self.lists.lock().expect("pollers lock");
        if let Some(tx) = lists.get(key) {
            return tx.subscribe();
        }
        let (tx, rx) = watch::channel(None);
        lists.insert(key.to_owned(), tx.clone());
        tokio::spawn(self.clone().run(key.to_owned(), tx, fetch));
        rx
    }

    /// Number of pollers running.
    pub fn running(&self) -> usize {
        self.lists.lock().expect("pollers lock").len()
    }

    /// Removes the poller of `key` if nobody listens; true when removed.
    fn retire(&self, key: &str, tx: &watch::Sender<Slot<T, E>>) -> bool {
        let mut lists = self.lists.lock().expect("pollers lock");
        if tx.receiver_count() > 0 {
            return false;
        }
        if lists.get(key).is_some_and(|t| t.same_channel(tx)) {
            lists.remove(key);
        }
        true
    }

    /// The poller's loop: fetch, publish, pause, while anyone listens (a
    /// fetch under way stops when the last listener leaves).
    async fn run<F, Fut>(self: Arc<Self>, key: String, tx: watch::Sender<Slot<T, E>>, fetch: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let mut backoff: Option<backon::ExponentialBackoff> = None;
        loop {
            if self.retire(&key, &tx) {
                return;
            }
            let started = Instant::now();
            // A read nobody waits for any more is dropped, retries and all.
            let answer = tokio::select! {
                answer = fetch() => answer.map(Arc::new).map_err(Arc::new),
                _ = tx.closed() => continue,
            };
            let gap = match answer.is_ok() {
                true => {
                    backoff = None;
                    self.every
                }
                false => backoff
                    .get_or_insert_with(|| {
                        ExponentialBuilder::default()
                            .with_min_delay(FAILED_POLL_DELAY)
                            .with_max_delay(self.max_backoff)
                            .with_factor(2.0)
                            .with_jitter()
                            .without_max_times()
                            .build()
                    })
                    .next()
                    .unwrap_or(self.max_backoff),
            };
            tx.send_replace(Some(Arc::new(Round { started, answer })));
            // After a read slower than the gap, the listeners still get a
            // moment to take this round (and leave) before the next read.
            let next = (started + gap).max(Instant::now() + crate::limits::POLL_LISTEN_PAUSE);
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = tx.closed() => {}
            }
        }
    }
}

/// The next round of `rounds` whose request was sent at or after `since`
/// and that is not `seen`; `None` if the poller is gone.
async fn next_round<T, E>(
    rounds: &mut Rounds<T, E>,
    since: Instant,
    seen: Option<Instant>,
) -> Option<Arc<Round<T, E>>> {
    loop {
        let current = rounds.borrow_and_update().clone();
        if let Some(round) = current
            && round.started >= since
            && seen != Some(round.started)
        {
            return Some(round);
        }
        rounds.changed().await.ok()?;
    }
}

/// Waits until `judge` finds the wanted state in a round of `rounds`, or a
/// terminal failure, or the policy's timeout runs out. Only rounds whose
/// request was sent at or after `began` count (take it before subscribing:
/// what was changed before it shows in them). More than a few failed rounds in a row end the
/// wait with the last one's error. `judge` also gets the round's start.
pub async fn wait_shared<T, E, V, J>(
    address: &str,
    step: &str,
    policy: WaitPolicy,
    progress: &dyn Progress,
    began: Instant,
    mut rounds: Rounds<T, E>,
    mut judge: J,
) -> Result<V, WaitError<Arc<E>>>
where
    E: std::error::Error + 'static,
    J: FnMut(&T, Instant) -> Poll<V>,
{
    let mut seen = None;
    let mut failed = 0u32;
    let mut last_state = String::from("not read yet");
    loop {
        let remaining = policy.timeout.saturating_sub(began.elapsed());
        let next = idle_while(tokio::time::timeout(
            remaining,
            next_round(&mut rounds, began, seen),
        ))
        .await;
        let round = match next {
            Ok(Some(round)) => round,
            // Out of time, or the poller is gone (it only stops once
            // nobody listens, so this wait would never hear again).
            Ok(None) | Err(_) => return Err(timed_out(address, step, last_state, began)),
        };
        seen = Some(round.started);
        match &round.answer {
            Ok(list) => match judge(list, round.started) {
                Poll::Ready(value) => return Ok(value),
                Poll::Failed(message) => {
                    return Err(WaitError::Failed {
                        address: address.to_owned(),
                        step: step.to_owned(),
                        message,
                    });
                }
                Poll::Pending(state) => {
                    failed = 0;
                    fail::fail_point!("wait-pending", |_| crate::crash::crash_here());
                    last_state = state;
                }
            },
            Err(source) => {
                failed += 1;
                if failed > MAX_FAILED_POLLS || began.elapsed() >= policy.timeout {
                    return Err(WaitError::Poll {
                        address: address.to_owned(),
                        step: step.to_owned(),
                        source: source.clone(),
                    });
                }
                last_state = format!("unknown (a poll failed: {source})");
            }
        }
        let elapsed = began.elapsed();
        progress.waiting(&WaitEvent {
            address,
            step,
            state: &last_state,
            elapsed,
        });
        if elapsed >= policy.timeout {
            return Err(timed_out(address, step, last_state, began));
        }
    }
}

fn timed_out<E: std::error::Error + 'static>(
    address: &str,
    step: &str,
    last_state: String,
    began: Instant,
) -> WaitError<E> {
    WaitError::TimedOut {
        address: address.to_owned(),
        step: step.to_owned(),
        last_state,
        waited: began.elapsed(),
    }
}

#[cfg(test)]
mod tests;
