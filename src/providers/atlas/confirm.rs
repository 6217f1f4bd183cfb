//! Creates that survive a lost answer. Atlas may carry out a create and
//! still answer `5xx`, time out or drop the connection; sending the same
//! `POST` again then makes a second object, or draws a `409`. So a create
//! is sent once, and after such an answer (or a `409`) privlink reads back
//! what exists: it adopts the object the create made, and sends the create
//! again (after a backoff with jitter) only when the read shows nothing.
//! A `409` is never trusted by its error code alone: only the read decides.

use std::future::Future;

use backon::{BackoffBuilder, ExponentialBuilder};

use super::{AtlasError, ClientOptions};

/// What a failed create's answer says about the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Atlas refused it and made nothing (a `4xx` other than `409`).
    Refused,
    /// Atlas may have made it (`5xx`, timeout, dropped connection).
    Unknown,
    /// Atlas says it exists already (`409`).
    Conflict,
}

/// What the error of a create says about the object.
pub(crate) fn outcome(e: &AtlasError) -> Outcome {
    match e {
        AtlasError::Transport { .. } => Outcome::Unknown,
        AtlasError::Api { status: 409, .. } => Outcome::Conflict,
        AtlasError::Api { status, .. } if *status >= 500 => Outcome::Unknown,
        _ => Outcome::Refused,
    }
}

/// Whose object a `409` on a create's first attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FirstConflict {
    /// Ours: the create names the object (an interface endpoint is the
    /// cloud endpoint's id), so one that exists is read back and taken.
    Ours,
    /// Not known: another object holds the place (the region's endpoint
    /// service), which the caller decides about; Atlas's error is returned.
    /// A `409` after an attempt of this call whose outcome is not known is
    /// read back all the same.
    Theirs,
}

/// Sends `create` until it succeeds, or `find` turns up the object an
/// earlier attempt made (or that already existed, after a `409`, see
/// [`FirstConflict`]). `what` names the object in progress lines and logs.
pub(crate) async fn create_confirmed<T, C, CF, F, FF>(
    options: &ClientOptions,
    what: &str,
    first_conflict: FirstConflict,
    create: C,
    find: F,
) -> Result<T, AtlasError>
where
    C: Fn() -> CF,
    CF: Future<Output = Result<T, AtlasError>>,
    F: Fn() -> FF,
    FF: Future<Output = Result<Option<T>, AtlasError>>,
{
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(options.min_retry_delay)
        .with_max_delay(options.max_retry_delay)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build();
    let attempts = options.max_retries + 1;
    let mut attempt = 1;
    let mut unsure = false;
    loop {
        let error = match create().await {
            Ok(made) => return Ok(made),
            Err(e) => e,
        };
        let seen = outcome(&error);
        let foreign =
            seen == Outcome::Conflict && !unsure && first_conflict == FirstConflict::Theirs;
        if seen == Outcome::Refused || foreign {
            return Err(error);
        }
        unsure |= seen == Outcome::Unknown;
        tracing::info!(what, %error, "reading back after a create whose outcome is not known");
        if let Some(found) = find().await? {
            tracing::info!(
                what,
                "the create was carried out: adopting what Atlas holds"
            );
            return Ok(found);
        }
        if seen == Outcome::Conflict || attempt >= attempts {
            return Err(error);
        }
        attempt += 1;
        let delay = delays.next().unwrap_or(options.max_retry_delay);
        crate::logging::progress(&format!(
            "Atlas: creating {what} failed ({}) and nothing was created; \
             trying again in {} (attempt {attempt} of {attempts})",
            short(&error),
            crate::logging::pause(delay)
        ));
        crate::wait::idle(delay).await;
    }
}

/// The first words of an error, for a progress line.
fn short(e: &AtlasError) -> String {
    match e {
        AtlasError::Api { status, .. } => format!("HTTP {status}"),
        AtlasError::Transport { message, .. } => message
            .split(':')
            .next()
            .unwrap_or("request failed")
            .to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    fn api(status: u16) -> AtlasError {
        AtlasError::Api {
            status,
            error_code: "X".into(),
            detail: "d".into(),
            method: "POST".into(),
            path: "/p".into(),
        }
    }

    fn options() -> ClientOptions {
        ClientOptions {
            max_retries: 3,
            min_retry_delay: Duration::from_millis(1),
            max_retry_delay: Duration::from_millis(2),
            ..ClientOptions::default()
        }
    }

    #[test]
    fn outcomes() {
        assert_eq!(outcome(&api(500)), Outcome::Unknown);
        assert_eq!(outcome(&api(503)), Outcome::Unknown);
        assert_eq!(outcome(&api(409)), Outcome::Conflict);
        assert_eq!(outcome(&api(400)), Outcome::Refused);
        let t = AtlasError::Transport {
            method: "POST".into(),
            path: "/p".into(),
            message: "timed out".into(),
        };
        assert_eq!(outcome(&t), Outcome::Unknown);
    }

    #[tokio::test]
    async fn a_ghost_create_is_adopted_not_repeated() {
        let posts = AtomicU32::new(0);
        let made = AtomicU32::new(0);
        let got = create_confirmed(
            &options(),
            "x",
            FirstConflict::Ours,
            || async {
                posts.fetch_add(1, Ordering::SeqCst);
                made.fetch_add(1, Ordering::SeqCst);
                Err::<u32, _>(api(503))
            },
            || async { Ok((made.load(Ordering::SeqCst) > 0).then_some(7)) },
        )
        .await
        .unwrap();
        assert_eq!(got, 7);
        assert_eq!(posts.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_lost_create_is_sent_again_and_a_conflict_is_read() {
        let posts = AtomicU32::new(0);
        let got = create_confirmed(
            &options(),
            "x",
            FirstConflict::Ours,
            || async {
                match posts.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(api(500)),
                    _ => Ok(3u32),
                }
            },
            || async { Ok(None) },
        )
        .await
        .unwrap();
        assert_eq!(got, 3);
        assert_eq!(posts.load(Ordering::SeqCst), 2);
        // A 409 with nothing to adopt is the caller's error, sent once.
        let posts = AtomicU32::new(0);
        let err = create_confirmed(
            &options(),
            "x",
            FirstConflict::Ours,
            || async {
                posts.fetch_add(1, Ordering::SeqCst);
                Err::<u32, _>(api(409))
            },
            || async { Ok(None) },
        )
        .await
        .unwrap_err();
        assert_eq!(err.status(), Some(409));
        assert_eq!(posts.load(Ordering::SeqCst), 1);
        // A refusal is not read back.
        let err = create_confirmed(
            &options(),
            "x",
            FirstConflict::Ours,
            || async { Err::<u32, _>(api(400)) },
            || async { Err(AtlasError::Config("read after a refusal".into())) },
        )
        .await
        .unwrap_err();
        assert_eq!(err.status(), Some(400));
    }

    #[tokio::test]
    async fn a_foreign_conflict_is_returned_unless_an_attempt_was_unsure() {
        let err = create_confirmed(
            &options(),
            "x",
            FirstConflict::Theirs,
            || async { Err::<u32, _>(api(409)) },
            || async { Err(AtlasError::Config("read after a foreign 409".into())) },
        )
        .await
        .unwrap_err();
        assert_eq!(err.status(), Some(409));
        // 503 (made later), nothing read yet, then 409: it is ours.
        let posts = AtomicU32::new(0);
        let reads = AtomicU32::new(0);
        let got = create_confirmed(
            &options(),
            "x",
            FirstConflict::Theirs,
            || async {
                match posts.fetch_add(1, Ordering::SeqCst) {
                    0 => Err::<u32, _>(api(503)),
                    _ => Err(api(409)),
                }
            },
            || async { Ok((reads.fetch_add(1, Ordering::SeqCst) > 0).then_some(9)) },
        )
        .await
        .unwrap();
        assert_eq!(got, 9);
        assert_eq!(posts.load(Ordering::SeqCst), 2);
    }
}
