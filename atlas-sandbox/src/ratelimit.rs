//! Token-bucket rate limiting, refilled continuously at `refill` tokens per `period` up to
//! `capacity`. Atlas keeps one bucket per *endpoint set* and scope; the only endpoint set the
//! reference documents for these resources is "Private Endpoint Services" (scope GROUP,
//! capacity 4000, refill 2000 per 60 s), so its operations get a bucket per project of their
//! own, and every other operation of a project (clusters, serverless instances, serverless
//! private endpoints, whose sets are not documented) shares a second one. Requests outside a
//! project share one bucket per set.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The endpoint set of the API path whose non-empty segments (after the `/api/atlas/v2`
/// prefix) are `segments`: `private-endpoint-services` for the dedicated endpoint services and
/// their interface endpoints, `project` for everything else.
pub fn endpoint_set(segments: &[&str]) -> &'static str {
    match segments {
        ["groups", _, "privateEndpoint", "serverless", ..] => "project",
        ["groups", _, "privateEndpoint", ..] => "private-endpoint-services",
        _ => "project",
    }
}

/// Bucket parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Bucket size.
    pub capacity: u64,
    /// Tokens added per `period`.
    pub refill: u64,
    /// Refill period.
    pub period: Duration,
}

impl RateLimit {
    fn per_second(&self) -> f64 {
        self.refill as f64 / self.period.as_secs_f64().max(1e-9)
    }
}

/// A request refused because its bucket is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Seconds until a token is back.
    pub retry_after_secs: u64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets per key.
#[derive(Debug)]
pub struct RateLimiter {
    /// Parameters of every bucket.
    pub limit: RateLimit,
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    /// Limiter with full buckets of `limit`.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: HashMap::new(),
        }
    }

    fn bucket(&mut self, key: &str, now: Instant) -> &mut Bucket {
        let limit = self.limit;
        let bucket = self.buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: limit.capacity as f64,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.per_second()).min(limit.capacity as f64);
        bucket.updated = now;
        bucket
    }

    /// Takes one token; on success returns the tokens left.
    pub fn take(&mut self, key: &str, now: Instant) -> Result<u64, Limited> {
        let per_second = self.limit.per_second();
        let bucket = self.bucket(key, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(bucket.tokens.floor() as u64)
        } else {
            let missing = 1.0 - bucket.tokens;
            let wait = if per_second > 0.0 {
                (missing / per_second).ceil() as u64
            } else {
                u64::MAX
            };
            Err(Limited {
                retry_after_secs: wait.max(1),
            })
        }
    }

    /// Tokens left without taking one.
    pub fn remaining(&mut self, key: &str, now: Instant) -> u64 {
        self.bucket(key, now).tokens.floor() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_refills_and_is_per_key() {
        let mut limiter = RateLimiter::new(RateLimit {
            capacity: 2,
            refill: 1,
            period: Duration::from_secs(10),
        });
        let t0 = Instant::now();
        assert_eq!(limiter.take("a", t0), Ok(1));
        assert_eq!(limiter.take("a", t0), Ok(0));
        assert_eq!(
            limiter.take("a", t0),
            Err(Limited {
                retry_after_secs: 10
            })
        );
        assert_eq!(limiter.take("b", t0), Ok(1));
        let later = t0 + Duration::from_secs(10);
        assert_eq!(limiter.take("a", later), Ok(0));
        assert_eq!(limiter.remaining("a", later + Duration::from_secs(100)), 2);
    }

    #[test]
    fn endpoint_sets() {
        let p = "5f7cac1adf5d6c6306f4b283";
        assert_eq!(
            endpoint_set(&["groups", p, "privateEndpoint", "endpointService"]),
            "private-endpoint-services"
        );
        assert_eq!(
            endpoint_set(&[
                "groups",
                p,
                "privateEndpoint",
                "AWS",
                "endpointService",
                "x"
            ]),
            "private-endpoint-services"
        );
        assert_eq!(
            endpoint_set(&["groups", p, "privateEndpoint", "serverless", "instance"]),
            "project"
        );
        assert_eq!(endpoint_set(&["groups", p, "clusters"]), "project");
    }
}
