//! Engine tests of the shared pollers, on an in-memory list.

use super::*;
use crate::wait::NoProgress;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// An in-memory remote list: objects reach "READY" once `flipped`; every
/// read and every action of a wait is written to `log` in order.
#[derive(Default)]
struct FakeList {
    flipped: AtomicBool,
    failing: AtomicBool,
    reads: AtomicUsize,
    log: Mutex<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the list answered 503")]
struct Unavailable;

impl FakeList {
    fn note(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }

    async fn read(&self) -> Result<&'static str, Unavailable> {
        let n = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
        self.note(format!("GET list #{n}"));
        if self.failing.load(Ordering::SeqCst) {
            return Err(Unavailable);
        }
        Ok(match self.flipped.load(Ordering::SeqCst) {
            true => "READY",
            false => "PENDING",
        })
    }
}

fn policy() -> WaitPolicy {
    WaitPolicy {
        timeout: Duration::from_secs(60),
        ..WaitPolicy::default()
    }
}

fn subscribe(
    pollers: &Arc<Pollers<&'static str, Unavailable>>,
    list: &Arc<FakeList>,
) -> Rounds<&'static str, Unavailable> {
    let list = list.clone();
    pollers.subscribe("project/instance", move || {
        let list = list.clone();
        async move { list.read().await }
    })
}

/// A wait that, once the list says READY, takes its next action (logged).
fn spawn_wait(
    pollers: &Arc<Pollers<&'static str, Unavailable>>,
    list: &Arc<FakeList>,
    i: usize,
) -> tokio::task::JoinHandle<Result<(), WaitError<Arc<Unavailable>>>> {
    let began = Instant::now();
    let rounds = subscribe(pollers, list);
    let list = list.clone();
    tokio::spawn(async move {
        let address = format!("endpoint.e{i}");
        wait_shared(
            &address,
            "waiting",
            policy(),
            &NoProgress,
            began,
            rounds,
            |s, _| match *s {
                "READY" => Poll::Ready(()),
                other => Poll::Pending(other.to_owned()),
            },
        )
        .await?;
        list.note(format!("act e{i}"));
        Ok(())
    })
}

#[tokio::test(start_paused = true)]
async fn one_list_read_answers_every_wait_on_it() {
    let pollers = Pollers::new(Duration::from_millis(500), Duration::from_secs(15));
    let list = Arc::new(FakeList::default());
    let waits: Vec<_> = (0..5).map(|i| spawn_wait(&pollers, &list, i)).collect();
    // A few rounds go by with everything pending: one read per round,
    // however many waits listen.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let before = list.reads.load(Ordering::SeqCst);
    assert_eq!(before, 4, "one read per 500 ms round: {:?}", list.log);
    assert_eq!(pollers.running(), 1);
    list.flipped.store(true, Ordering::SeqCst);
    for w in waits {
        w.await.unwrap().unwrap();
    }
    let log = list.log.lock().unwrap().clone();
    // The read after the flip is followed by every wait's action, and no
    // other read comes between.
    let tail = &log[before..];
    assert_eq!(tail[0], format!("GET list #{}", before + 1), "{log:?}");
    let mut acted: Vec<_> = tail[1..].to_vec();
    acted.sort();
    assert_eq!(
        acted,
        (0..5).map(|i| format!("act e{i}")).collect::<Vec<_>>()
    );
    // Nobody listens any more: the poller stops.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pollers.running(), 0);
    assert_eq!(list.reads.load(Ordering::SeqCst), before + 1);
}

#[tokio::test(start_paused = true)]
async fn a_round_sent_before_the_wait_began_does_not_count() {
    let pollers = Pollers::new(Duration::from_millis(500), Duration::from_secs(15));
    let list = Arc::new(FakeList::default());
    list.flipped.store(true, Ordering::SeqCst);
    // A listener keeps the poller alive with a READY round kept...
    let _keep = subscribe(&pollers, &list);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(list.reads.load(Ordering::SeqCst), 1);
    // ...which a wait that begins later must not take: it waits for the
    // next round.
    let began = Instant::now();
    spawn_wait(&pollers, &list, 0).await.unwrap().unwrap();
    assert_eq!(list.reads.load(Ordering::SeqCst), 2);
    assert!(began.elapsed() >= Duration::from_millis(400));
}

#[tokio::test(start_paused = true)]
async fn failed_reads_back_off_and_end_the_waits_with_the_error() {
    let pollers = Pollers::new(Duration::from_millis(500), Duration::from_secs(15));
    let list = Arc::new(FakeList::default());
    list.failing.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let waits: Vec<_> = (0..3).map(|i| spawn_wait(&pollers, &list, i)).collect();
    for w in waits {
        let err = w.await.unwrap().unwrap_err();
        assert!(matches!(err, WaitError::Poll { .. }), "{err}");
        assert!(err.to_string().contains("503"), "{err}");
    }
    // MAX_FAILED_POLLS + 1 reads for all three waits, spaced by a backoff
    // of at least two seconds (with jitter) instead of the 500 ms rounds.
    assert_eq!(
        list.reads.load(Ordering::SeqCst),
        MAX_FAILED_POLLS as usize + 1
    );
    assert!(
        started.elapsed() >= FAILED_POLL_DELAY * 3,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_wait_times_out_with_the_last_state() {
    let pollers = Pollers::new(Duration::from_millis(500), Duration::from_secs(15));
    let list = Arc::new(FakeList::default());
    let began = Instant::now();
    let rounds = subscribe(&pollers, &list);
    let policy = WaitPolicy {
        timeout: Duration::from_secs(3),
        ..WaitPolicy::default()
    };
    let out: Result<(), _> = wait_shared(
        "e",
        "waiting",
        policy,
        &NoProgress,
        began,
        rounds,
        |s, _| Poll::Pending(s.to_string()),
    )
    .await;
    match out.unwrap_err() {
        WaitError::TimedOut { last_state, .. } => assert_eq!(last_state, "PENDING"),
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_read_under_way_stops_when_the_last_listener_leaves() {
    let pollers: Arc<Pollers<&'static str, Unavailable>> =
        Pollers::new(Duration::from_millis(500), Duration::from_secs(15));
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    // A read that takes a minute (an answer with retries after it).
    let rounds = pollers.subscribe("project/instance", move || {
        let done = done.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            done.store(true, Ordering::SeqCst);
            Ok("READY")
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(pollers.running(), 1);
    drop(rounds);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(pollers.running(), 0, "the poller left with its listener");
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(!finished.load(Ordering::SeqCst), "the read was dropped");
}

#[tokio::test(start_paused = true)]
async fn a_read_slower_than_the_interval_is_not_followed_by_one_nobody_needs() {
    let pollers: Arc<Pollers<&'static str, Unavailable>> =
        Pollers::new(Duration::from_millis(500), Duration::from_secs(15));
    let reads = Arc::new(AtomicUsize::new(0));
    let counted = reads.clone();
    // Each read takes 1 s (an answer after the client's retries).
    let rounds = pollers.subscribe("project/instance", move || {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok("READY")
        }
    });
    let began = Instant::now();
    let ready = |s: &&str, _| match *s {
        "READY" => Poll::Ready(()),
        other => Poll::Pending(other.to_owned()),
    };
    wait_shared(
        "endpoint.e0",
        "waiting",
        policy(),
        &NoProgress,
        began,
        rounds,
        ready,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(reads.load(Ordering::SeqCst), 1, "no read after the answer");
    assert_eq!(pollers.running(), 0);
}
