//! The log of state changes: each time an endpoint, endpoint service or interface endpoint
//! reaches a new status, which and when (`GET /__sandbox/transitions`). The time is the
//! moment the status was due (a delay's end, or an EC2 verdict's arrival), not the moment a
//! request or the ticker applied it, so a client's detection lag can be measured against it.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

const MAX_LOG: usize = 100_000;

/// One status change.
#[derive(Debug, Clone, Serialize)]
pub struct Transition {
    /// `serverless_endpoint`, `endpoint_service` or `interface_endpoint`.
    pub kind: &'static str,
    /// The object's id (for an interface endpoint, its AWS VPC endpoint id).
    pub id: String,
    /// The status reached.
    pub status: &'static str,
    /// When, in seconds since the Unix epoch.
    pub at: f64,
}

/// Status changes, oldest first.
#[derive(Debug, Default)]
pub struct TransitionLog(Vec<Transition>);

impl TransitionLog {
    /// Records that `id` reached `status` at `at`.
    pub fn record(&mut self, kind: &'static str, id: &str, status: &'static str, at: Instant) {
        if self.0.len() >= MAX_LOG {
            self.0.remove(0);
        }
        self.0.push(Transition {
            kind,
            id: id.to_owned(),
            status,
            at: unix_seconds(at),
        });
    }

    /// Everything recorded.
    pub fn all(&self) -> &[Transition] {
        &self.0
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// `at` on the wall clock, in seconds since the Unix epoch.
fn unix_seconds(at: Instant) -> f64 {
    let now = Instant::now();
    let wall = SystemTime::now();
    let wall_at = match now.checked_duration_since(at) {
        Some(ago) => wall - ago,
        None => wall + at.duration_since(now),
    };
    wall_at
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn records_the_due_moment_on_the_wall_clock() {
        let mut log = TransitionLog::default();
        let due = Instant::now() - Duration::from_secs(3);
        log.record("serverless_endpoint", "e1", "RESERVED", due);
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let t = &log.all()[0];
        assert!((wall - t.at - 3.0).abs() < 0.5, "{} vs {wall}", t.at);
        log.clear();
        assert!(log.all().is_empty());
    }
}
