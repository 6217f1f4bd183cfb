//! Status reads shared by concurrent waits.
//!
//! Many endpoints of one serverless instance waiting at once would each poll
//! their own endpoint; Atlas lists them all in one answer. A [`SharedRead`]
//! keeps the last list per key and the moment its request started. A poll
//! names the oldest start it accepts (the caller picks it: never before its
//! own last change to the object, so a list from before a create cannot say
//! the new endpoint is missing); it takes the kept list if that qualifies,
//! and otherwise fetches a new one while the others wait for it. With a
//! floor of "poll start minus a small age", one key costs at most one
//! request per that age however many waits poll it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

type Cell<T> = Arc<tokio::sync::Mutex<Option<(Instant, Arc<T>)>>>;

/// The last answer per key, fetched by one caller at a time.
pub(crate) struct SharedRead<T> {
    cells: Mutex<HashMap<String, Cell<T>>>,
}

impl<T> Default for SharedRead<T> {
    fn default() -> Self {
        SharedRead {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> SharedRead<T> {
    /// An answer for `key` whose request started at or after `oldest`:
    /// the kept one if it qualifies, else a new one from `fetch`.
    pub(crate) async fn read_since<E, F, Fut>(
        &self,
        key: &str,
        oldest: Instant,
        fetch: F,
    ) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let cell = self
            .cells
            .lock()
            .expect("shared read lock")
            .entry(key.to_owned())
            .or_default()
            .clone();
        // Whoever holds the cell may idle (a 429 pause) and need a call
        // slot back: wait for it without holding ours.
        let mut kept = crate::wait::idle_while(cell.lock()).await;
        if let Some((at, value)) = &*kept
            && *at >= oldest
        {
            return Ok(value.clone());
        }
        let started = Instant::now();
        let value = Arc::new(fetch().await?);
        *kept = Some((started, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_polls_share_one_fetch_and_never_get_an_older_answer() {
        let shared: Arc<SharedRead<usize>> = Arc::default();
        let fetches = Arc::new(AtomicUsize::new(0));
        let poll = |shared: Arc<SharedRead<usize>>, fetches: Arc<AtomicUsize>| async move {
            let since = Instant::now();
            shared
                .read_since("p/i", since, || async {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok::<_, Infallible>(fetches.fetch_add(1, Ordering::SeqCst) + 1)
                })
                .await
                .unwrap()
        };
        // Ten polls at once: one request in flight, then at most one more for
        // the polls that began after it started.
        let mut tasks = Vec::new();
        for _ in 0..10 {
            tasks.push(tokio::spawn(poll(shared.clone(), fetches.clone())));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(fetches.load(Ordering::SeqCst) <= 2, "{fetches:?}");
        // A poll that begins after the last fetch started gets a new answer.
        let before = fetches.load(Ordering::SeqCst);
        let got = poll(shared.clone(), fetches.clone()).await;
        assert_eq!(*got, before + 1);
        // Another key is read on its own.
        let other = shared
            .read_since("p/other", Instant::now(), || async {
                Ok::<_, Infallible>(99)
            })
            .await
            .unwrap();
        assert_eq!(*other, 99);
    }

    #[tokio::test]
    async fn a_kept_answer_is_reused_only_if_it_started_after_the_floor() {
        let shared: SharedRead<u32> = SharedRead::default();
        let read = |v: u32, oldest: Instant| {
            shared.read_since("k", oldest, move || async move { Ok::<_, Infallible>(v) })
        };
        let start = Instant::now();
        assert_eq!(*read(1, start).await.unwrap(), 1);
        assert_eq!(*read(2, start).await.unwrap(), 1);
        let after_a_change = Instant::now();
        assert_eq!(*read(3, after_a_change).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn a_failed_fetch_keeps_nothing() {
        let shared: SharedRead<u8> = SharedRead::default();
        let err = shared
            .read_since("k", Instant::now(), || async { Err::<u8, _>("503") })
            .await;
        assert_eq!(err.unwrap_err(), "503");
        let ok = shared
            .read_since("k", Instant::now(), || async { Ok::<_, &str>(7) })
            .await;
        assert_eq!(*ok.unwrap(), 7);
    }
}
