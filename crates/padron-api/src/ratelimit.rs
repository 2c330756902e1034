//! Per-client rate limiting: a token bucket per client and environment (each environment has its
//! own API key), with separate limits for sandbox and production. Limits are per process: N
//! processes behind a load balancer allow up to N times the configured rate in total. Requests
//! whose key the process has not authenticated recently share one bucket per environment, so
//! the limit needs the credential cache (`PADRON_AUTH_CACHE_SECS` > 0, the default).
//!
//! A small bucket map of our own rather than `governor`: the `RateLimit-Remaining` and
//! `RateLimit-Reset` headers need the bucket's exact state, which governor's keyed limiter only
//! exposes through an extra middleware type, and the whole limiter is ~60 lines.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use padron_store::Environment;

use crate::AppState;
use crate::error::ApiError;

/// A sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests allowed at once (the bucket's size).
    pub burst: u32,
}

impl Quota {
    /// Parses `RATE` or `RATE/BURST` (requests per second, burst defaults to the rate).
    pub fn parse(raw: &str) -> Option<Quota> {
        let (rate, burst) = match raw.split_once('/') {
            Some((r, b)) => (r.trim().parse::<f64>().ok()?, b.trim().parse::<u32>().ok()?),
            None => {
                let r = raw.trim().parse::<f64>().ok()?;
                (r, r.ceil() as u32)
            }
        };
        (rate > 0.0 && rate.is_finite() && burst >= 1).then_some(Quota {
            per_second: rate,
            burst,
        })
    }
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The bucket that requests whose API key this process does not know (yet) share: made-up keys
/// all land here, so they can neither escape the limit nor grow the map.
const UNVERIFIED: &str = "";

/// The limiter of one process.
pub struct RateLimiter {
    sandbox: Option<Quota>,
    production: Option<Quota>,
    buckets: Mutex<HashMap<(Environment, String), Bucket>>,
}

/// The verdict on one request.
pub(crate) struct Verdict {
    allowed: bool,
    limit: u32,
    remaining: u32,
    /// Seconds until a token is available (when refused) or the bucket is full (when allowed).
    reset_secs: u64,
}

impl RateLimiter {
    /// A limiter; an environment without a quota is not limited.
    pub fn new(sandbox: Option<Quota>, production: Option<Quota>) -> Self {
        Self {
            sandbox,
            production,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn quota(&self, env: Environment) -> Option<Quota> {
        match env {
            Environment::Sandbox => self.sandbox,
            Environment::Production => self.production,
        }
    }

    fn take(&self, env: Environment, key: &str, quota: Quota) -> Verdict {
        let now = Instant::now();
        let burst = f64::from(quota.burst);
        let Ok(mut buckets) = self.buckets.lock() else {
            return Verdict {
                allowed: true,
                limit: quota.burst,
                remaining: quota.burst,
                reset_secs: 0,
            };
        };
        let bucket = buckets.entry((env, key.to_owned())).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * quota.per_second).min(burst);
        bucket.updated = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let reset = if allowed {
            (burst - bucket.tokens) / quota.per_second
        } else {
            (1.0 - bucket.tokens) / quota.per_second
        };
        Verdict {
            allowed,
            limit: quota.burst,
            remaining: bucket.tokens.floor() as u32,
            reset_secs: reset.ceil() as u64,
        }
    }
}

/// What the limiter decided for one request.
pub(crate) enum Admission {
    /// No limit applies (none configured for the environment).
    Unlimited,
    /// Within the limit: the answer gets these `RateLimit-*` headers.
    Allowed(Verdict),
    /// Over the limit: the complete 429 answer.
    Refused(Response),
}

/// Takes a token for `req` from its client's bucket.
pub(crate) fn admit(state: &AppState, req: &Request) -> Admission {
    let (Some(limiter), Some(env)) = (
        state.limiter.as_ref(),
        req.extensions().get::<Environment>().copied(),
    ) else {
        return Admission::Unlimited;
    };
    let Some(quota) = limiter.quota(env) else {
        return Admission::Unlimited;
    };
    // Buckets belong to clients, known from the process's credential cache (no database
    // query here); a key not in the cache takes from the shared unverified bucket, and its
    // first successful authentication puts it in the cache for the next request.
    let key = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    let client = state
        .credentials
        .peek(&crate::auth::hash_secret(key))
        .filter(|c| c.environment == env)
        .map(|c| c.client_id)
        .unwrap_or_else(|| UNVERIFIED.to_owned());
    let verdict = limiter.take(env, &client, quota);
    if verdict.allowed {
        return Admission::Allowed(verdict);
    }
    let mut refused = ApiError::TooManyRequests(format!(
        "rate limit of {} requests per second exceeded; retry in {} s",
        quota.per_second, verdict.reset_secs
    ))
    .into_response();
    refused
        .headers_mut()
        .insert("retry-after", HeaderValue::from(verdict.reset_secs.max(1)));
    add_headers(&mut refused, &verdict);
    Admission::Refused(refused)
}

/// The `RateLimit-*` headers of a verdict.
pub(crate) fn add_headers(response: &mut Response, verdict: &Verdict) {
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(verdict.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(verdict.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(verdict.reset_secs));
}

#[cfg(test)]
mod tests {
    use super::Quota;

    #[test]
    fn quotas_parse_rate_and_optional_burst() {
        assert_eq!(
            Quota::parse("10"),
            Some(Quota {
                per_second: 10.0,
                burst: 10
            })
        );
        assert_eq!(
            Quota::parse("0.5/3"),
            Some(Quota {
                per_second: 0.5,
                burst: 3
            })
        );
        assert_eq!(
            Quota::parse("0.5"),
            Some(Quota {
                per_second: 0.5,
                burst: 1
            })
        );
        for bad in ["", "0", "-1", "x", "10/0", "10/x", "inf"] {
            assert_eq!(Quota::parse(bad), None, "{bad}");
        }
    }
}
