//! Leveled logging and the progress lines about retries and slow calls.
//!
//! The level comes from `-v` (info), `-vv` (debug), `-vvv` (trace) and the
//! `PRIVLINK_LOG` environment variable (`trace`, `debug`, `info`, `warn`,
//! `error` or `off`), whichever is the more verbose; [`LogSettings`] holds
//! the result and [`init`] installs the `tracing` subscriber. Log lines go
//! to standard error, or are appended to the file named by
//! `PRIVLINK_LOG_PATH`.
//!
//! Only privlink's own events pass at the chosen level. The libraries under
//! it (the AWS SDK, hyper, reqwest, rustls, ...) pass at `warn`, and at
//! `trace` only when `PRIVLINK_LOG=trace` is set explicitly (`-vvv` does
//! not open them). At `trace` the AWS SDK prints the requests it signs and
//! sends, with the `authorization` and `x-amz-security-token` values
//! redacted and the credentials' secret shown as `** redacted **`; reqwest
//! logs through `log`, which is not collected. privlink itself logs methods,
//! paths, statuses, operations and durations, never a header or a body.
//!
//! [`progress`] is the one way to tell the user that a call is being retried
//! or is slow: it is an `info` event, and without a log on standard error
//! it is also printed there, at most one line every
//! [`PROGRESS_INTERVAL`](crate::limits::PROGRESS_INTERVAL). [`watch`]
//! reports a call that has not been answered yet.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;

use crate::limits::PROGRESS_INTERVAL;

/// The environment variable that sets the log level.
pub const ENV_LOG: &str = "PRIVLINK_LOG";
/// The environment variable naming a file the log is appended to.
pub const ENV_LOG_PATH: &str = "PRIVLINK_LOG_PATH";

/// The target of [`progress`] events.
const PROGRESS_TARGET: &str = "privlink::progress";

/// What to log, and where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSettings {
    /// privlink's own level; `None` logs nothing.
    pub level: Option<LevelFilter>,
    /// `PRIVLINK_LOG=trace` was set: the libraries log at `trace` too.
    pub libraries_open: bool,
    /// `PRIVLINK_LOG_PATH`: the file the log is appended to.
    pub path: Option<PathBuf>,
    /// A `PRIVLINK_LOG` value that is not a level, to warn about.
    pub unknown: Option<String>,
}

impl LogSettings {
    /// Resolves the settings from the number of `-v` flags and an
    /// environment lookup; blank values count as unset.
    pub fn resolve(verbose: u8, env: &impl Fn(&str) -> Option<String>) -> LogSettings {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let from_flags = match verbose {
            0 => None,
            1 => Some(LevelFilter::INFO),
            2 => Some(LevelFilter::DEBUG),
            _ => Some(LevelFilter::TRACE),
        };
        let (from_env, unknown) = match get(ENV_LOG) {
            None => (None, None),
            Some(v) => match v.trim().parse::<LevelFilter>() {
                Ok(level) => (Some(level), None),
                Err(_) => (None, Some(v)),
            },
        };
        let level = from_flags.max(from_env).filter(|l| *l != LevelFilter::OFF);
        LogSettings {
            level,
            libraries_open: from_env == Some(LevelFilter::TRACE),
            path: get(ENV_LOG_PATH).map(PathBuf::from),
            unknown,
        }
    }

    /// The filter: privlink at its level, every other target at `warn`
    /// (`trace` when the libraries are open).
    fn filter(&self) -> EnvFilter {
        let ours = self.level.unwrap_or(LevelFilter::OFF);
        let others = if self.libraries_open {
            LevelFilter::TRACE
        } else {
            LevelFilter::WARN
        };
        EnvFilter::builder().parse_lossy(format!("{others},privlink={ours}"))
    }
}

/// Why the log could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// `PRIVLINK_LOG_PATH` names a file that cannot be opened for appending.
    #[error("cannot open the log file {path} (PRIVLINK_LOG_PATH)")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// True when log lines at `info` or more go to standard error, which then
/// shows every progress line already.
static LOG_ON_STDERR: AtomicBool = AtomicBool::new(false);

/// True when log lines at `warn` go to standard error, which then shows
/// every [`warn_once`] line already.
static WARN_ON_STDERR: AtomicBool = AtomicBool::new(false);

/// When the last progress line was printed on standard error.
static LAST_PROGRESS: Mutex<Option<Instant>> = Mutex::new(None);

/// Installs the subscriber the settings ask for (none when they ask for no
/// log). A second call in the same process changes nothing.
pub fn init(settings: &LogSettings) -> Result<(), LogError> {
    if let Some(value) = &settings.unknown {
        eprintln!(
            "warning: {ENV_LOG}={value:?} is not a level \
             (trace, debug, info, warn, error, off); ignored"
        );
    }
    let Some(level) = settings.level else {
        return Ok(());
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(settings.filter())
        .with_ansi(false);
    match &settings.path {
        Some(path) => {
            let file = open_log(path).map_err(|source| LogError::Open {
                path: path.clone(),
                source,
            })?;
            let _ = builder.with_writer(Mutex::new(file)).try_init();
        }
        None => {
            if builder.with_writer(std::io::stderr).try_init().is_ok() {
                LOG_ON_STDERR.store(level >= LevelFilter::INFO, Ordering::Relaxed);
                WARN_ON_STDERR.store(level >= LevelFilter::WARN, Ordering::Relaxed);
            }
        }
    }
    Ok(())
}

/// Opens the log file for appending, readable by its owner alone when it
/// is created.
fn open_log(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Tells the user about a retry or a slow call: an `info` event, and a line
/// on standard error when the log does not go there, at most one every
/// [`PROGRESS_INTERVAL`].
pub fn progress(line: &str) {
    tracing::info!(target: PROGRESS_TARGET, "{line}");
    if LOG_ON_STDERR.load(Ordering::Relaxed) {
        return;
    }
    let now = Instant::now();
    let mut last = LAST_PROGRESS.lock().unwrap_or_else(|p| p.into_inner());
    if last.is_some_and(|t| now.duration_since(t) < PROGRESS_INTERVAL) {
        return;
    }
    *last = Some(now);
    drop(last);
    eprintln!("{line}");
}

/// The warnings already printed in this run, by key.
static WARNED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Prints `line` on standard error (and logs it as a warning) the first
/// time this run warns about `key`; later warnings with the same key are
/// only logged at debug level. For conditions every answer of a kind
/// repeats, such as an API version Atlas will retire.
pub fn warn_once(key: &str, line: &str) {
    let mut warned = WARNED.lock().unwrap_or_else(|p| p.into_inner());
    if warned.iter().any(|k| k == key) {
        tracing::debug!("{line}");
        return;
    }
    warned.push(key.to_owned());
    drop(warned);
    tracing::warn!("{line}");
    if !WARN_ON_STDERR.load(Ordering::Relaxed) {
        eprintln!("{line}");
    }
}

/// Runs `call`, reporting through [`progress`] every
/// [`PROGRESS_INTERVAL`] that it is still unanswered: "still waiting for
/// an answer from SUBJECT after N s".
pub async fn watch<F: Future>(subject: &str, call: F) -> F::Output {
    let started = Instant::now();
    let mut call = std::pin::pin!(call);
    let mut ticks = tokio::time::interval_at(
        tokio::time::Instant::now() + PROGRESS_INTERVAL,
        PROGRESS_INTERVAL,
    );
    loop {
        tokio::select! {
            out = &mut call => return out,
            _ = ticks.tick() => progress(&format!(
                "still waiting for an answer from {subject} after {} s",
                started.elapsed().as_secs()
            )),
        }
    }
}

/// A call's duration as its log line gives it (`duration_ms`): in
/// milliseconds, to the hundredth.
pub fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

/// A pause as progress lines spell it: `8 s`, or `400 ms` under a second.
pub fn pause(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} s", d.as_secs_f64().round())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(verbose: u8, vars: &[(&str, &str)]) -> LogSettings {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let env = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        LogSettings::resolve(verbose, &env)
    }

    #[test]
    fn durations_are_logged_in_milliseconds_to_the_hundredth() {
        assert_eq!(millis(Duration::from_micros(27_846)), 27.85);
        assert_eq!(millis(Duration::from_micros(999)), 1.0);
        assert_eq!(millis(Duration::from_secs(3)), 3000.0);
        assert_eq!(millis(Duration::ZERO), 0.0);
    }

    #[test]
    fn flags_and_the_environment_pick_the_more_verbose_level() {
        assert_eq!(resolve(0, &[]).level, None);
        assert_eq!(resolve(1, &[]).level, Some(LevelFilter::INFO));
        assert_eq!(resolve(2, &[]).level, Some(LevelFilter::DEBUG));
        assert_eq!(resolve(5, &[]).level, Some(LevelFilter::TRACE));
        assert_eq!(
            resolve(1, &[(ENV_LOG, "DEBUG")]).level,
            Some(LevelFilter::DEBUG)
        );
        assert_eq!(
            resolve(2, &[(ENV_LOG, "warn")]).level,
            Some(LevelFilter::DEBUG)
        );
        assert_eq!(resolve(0, &[(ENV_LOG, "off")]).level, None);
        assert_eq!(resolve(0, &[(ENV_LOG, " ")]), LogSettings::default());
        let odd = resolve(0, &[(ENV_LOG, "loud")]);
        assert_eq!((odd.level, odd.unknown.as_deref()), (None, Some("loud")));
    }

    #[test]
    fn libraries_open_only_with_an_explicit_trace() {
        assert!(!resolve(3, &[]).libraries_open);
        assert!(!resolve(0, &[(ENV_LOG, "debug")]).libraries_open);
        let t = resolve(0, &[(ENV_LOG, "trace"), (ENV_LOG_PATH, "/tmp/p.log")]);
        assert!(t.libraries_open);
        assert_eq!(t.path, Some(PathBuf::from("/tmp/p.log")));
        assert_eq!(t.filter().to_string(), "privlink=trace,trace");
        assert_eq!(resolve(2, &[]).filter().to_string(), "privlink=debug,warn");
    }

    #[test]
    fn pauses_read_in_seconds_or_milliseconds() {
        assert_eq!(pause(Duration::from_millis(7_600)), "8 s");
        assert_eq!(pause(Duration::from_millis(400)), "400 ms");
    }
}
