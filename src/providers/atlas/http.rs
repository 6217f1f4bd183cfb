//! The transport under the Atlas client: one `reqwest` client, authentication
//! (HTTP Digest with a reused challenge, or a cached service-account token),
//! a shared request budget, a shared pause after `429`, and retries with
//! exponential backoff and jitter for `429`, `5xx` and connection errors.
//!
//! Every attempt is logged (method, path without the query, status,
//! duration, attempt number) and every retry with the pause before it; a
//! retry and an attempt still unanswered after a while are reported through
//! [`crate::logging::progress`]. Headers and bodies are never logged: they
//! carry the `Authorization` header, the client secret and tokens.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use digest_auth::{AuthContext, HttpMethod, WwwAuthenticateHeader};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use serde::Deserialize;

use super::error::{AtlasError, ErrorEnvelope, one_line};
use super::{ClientOptions, Credentials};

/// The versioned media type of every operation this client uses.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.atlas.2023-01-01+json";

/// How a request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Reads, deletes and updates that set a value: sent again after a
    /// `429`, a `5xx`, a refused connection or a timeout.
    Always,
    /// Creates that Atlas may carry out even when its answer is lost or an
    /// error: sent again only when Atlas cannot have acted on them (a `429`,
    /// a connection that never opened). After a `5xx`, a timeout or a
    /// dropped connection the caller reads back what exists first.
    UnlessActed,
}

/// What one request asks for besides its method, path and body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct How<'a> {
    /// The versioned media type sent in `Accept` (and `Content-Type`).
    pub media_type: &'a str,
    /// Whether it may be sent again.
    pub retry: Retry,
}

impl How<'static> {
    /// The default: [`MEDIA_TYPE`], sent again after any transient failure.
    pub const DEFAULT: How<'static> = How {
        media_type: MEDIA_TYPE,
        retry: Retry::Always,
    };
}

/// A transport failure of one attempt, described, and whether the request
/// surely never reached Atlas (the connection did not open).
struct Failure {
    message: String,
    unsent: bool,
}

/// Path of the OAuth token endpoint, relative to the base URL.
const TOKEN_PATH: &str = "/api/oauth/token";

/// The answer to one request, after retries. Deliberately not `Debug`: a
/// token answer's body is a secret.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

/// A service-account token and when to stop using it.
struct Token {
    value: String,
    refresh_at: Instant,
}

enum Auth {
    Digest {
        username: String,
        password: String,
        /// The last challenge, reused with an increasing `nc`.
        challenge: Mutex<Option<WwwAuthenticateHeader>>,
        /// Held by the request that fetches the first challenge, so that
        /// concurrent first requests wait for it instead of each drawing a
        /// `401` of their own.
        handshake: tokio::sync::Mutex<()>,
    },
    ServiceAccount {
        client_id: String,
        client_secret: String,
        /// Serialises token fetches so concurrent requests share one.
        token: tokio::sync::Mutex<Option<Token>>,
    },
}

/// How one attempt authenticated, to decide what a `401` means.
enum Sent {
    Nothing,
    /// With the challenge shared by all requests of the client.
    SharedDigest,
    /// With a challenge received during the same call.
    OwnDigest,
    Bearer,
    Basic,
}

impl Sent {
    /// How the attempt authenticated, as the log names it.
    fn name(&self) -> &'static str {
        match self {
            Sent::Nothing => "none",
            Sent::SharedDigest | Sent::OwnDigest => "digest",
            Sent::Bearer => "bearer",
            Sent::Basic => "basic",
        }
    }
}

/// What a request carries in `Authorization`.
#[derive(Clone, Copy)]
enum Mode<'a> {
    /// Atlas API call: digest or bearer, per the credentials; with its
    /// media type and retry rule.
    Api(How<'a>),
    /// Token request: HTTP Basic with the service-account id and secret.
    TokenBasic,
}

pub(crate) struct Transport {
    pub base_url: String,
    http: reqwest::Client,
    auth: Auth,
    pub options: ClientOptions,
    limiter: Option<DefaultDirectRateLimiter>,
    paused_until: Mutex<Option<Instant>>,
}

impl Transport {
    pub fn new(
        base_url: &str,
        credentials: Credentials,
        options: ClientOptions,
    ) -> Result<Self, AtlasError> {
        let base_url = base_url.trim().trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base_url)
            .map_err(|e| AtlasError::Config(format!("invalid base URL {base_url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(AtlasError::Config(format!(
                "invalid base URL {base_url:?}: the scheme must be http or https"
            )));
        }
        if options.min_retry_delay > options.max_retry_delay {
            return Err(AtlasError::Config(
                "min_retry_delay must not exceed max_retry_delay".to_owned(),
            ));
        }
        let http = crate::tls::reqwest_builder(&[&base_url])
            .user_agent(concat!("privlink/", env!("CARGO_PKG_VERSION")))
            .timeout(options.request_timeout)
            .connect_timeout(options.connect_timeout)
            .build()
            .map_err(|e| AtlasError::Config(format!("cannot build the HTTP client: {e}")))?;
        let auth = match credentials {
            Credentials::Digest {
                public_key,
                private_key,
            } => Auth::Digest {
                username: public_key,
                password: private_key,
                challenge: Mutex::new(None),
                handshake: tokio::sync::Mutex::new(()),
            },
            Credentials::ServiceAccount {
                client_id,
                client_secret,
            } => Auth::ServiceAccount {
                client_id,
                client_secret,
                token: tokio::sync::Mutex::new(None),
            },
        };
        let limiter = NonZeroU32::new(options.requests_per_second).map(|rps| {
            let burst = NonZeroU32::new(options.burst).unwrap_or(NonZeroU32::MIN);
            RateLimiter::direct(Quota::per_second(rps).allow_burst(burst))
        });
        Ok(Transport {
            base_url,
            http,
            auth,
            options,
            limiter,
            paused_until: Mutex::new(None),
        })
    }

    /// Sends an Atlas API request with retries; returns the final answer,
    /// whatever its status, except `401` (→ [`AtlasError::Unauthorized`]).
    pub async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
        how: How<'_>,
    ) -> Result<Reply, AtlasError> {
        let body = body.map(|b| serde_json::to_vec(b).expect("JSON values serialize"));
        if let Auth::Digest {
            challenge,
            handshake,
            ..
        } = &self.auth
        {
            let unknown = || challenge.lock().expect("digest lock").is_none();
            if unknown() {
                // The first request answers the Digest challenge while the
                // others wait for it, keeping their call slots: it keeps its
                // own throughout (even through a retry's pause) and waits on
                // no other step, so it always finishes, and the waiters go on
                // at once instead of queueing for slots behind later steps.
                let _first = handshake.lock().await;
                if unknown() {
                    return crate::wait::keep_slot(self.execute(
                        method,
                        path_and_query,
                        body,
                        Mode::Api(how),
                    ))
                    .await;
                }
            }
        }
        self.execute(method, path_and_query, body, Mode::Api(how))
            .await
    }

    async fn execute(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        mode: Mode<'_>,
    ) -> Result<Reply, AtlasError> {
        let retry = match mode {
            Mode::Api(how) => how.retry,
            Mode::TokenBasic => Retry::Always,
        };
        let url = format!("{}{}", self.base_url, path_and_query);
        let path = path_and_query
            .split('?')
            .next()
            .unwrap_or(path_and_query)
            .to_owned();
        let mut call = CallState::new(&self.options);
        loop {
            self.wait_turn().await;
            let request = self.http.request(method.clone(), &url);
            let (request, sent) = self
                .prepare(request, &method, path_and_query, &body, mode, &mut call)
                .await?;
            let attempt = Attempt {
                method: &method,
                path: &path,
                number: call.retries + 1,
            };
            let (status, headers, bytes) = match self.send_once(request, &attempt, &sent).await {
                Ok(answer) => answer,
                Err(failure)
                    if call.retries < self.options.max_retries
                        && (failure.unsent || retry == Retry::Always) =>
                {
                    call.retries += 1;
                    let delay = call.next_delay(&self.options);
                    let what = failure
                        .message
                        .split(':')
                        .next()
                        .unwrap_or("request failed");
                    self.announce_retry(&attempt, what, delay, &call);
                    crate::wait::idle(delay).await;
                    continue;
                }
                Err(failure) => {
                    return Err(AtlasError::Transport {
                        method: method.to_string(),
                        path,
                        message: failure.message,
                    });
                }
            };
            sunset_warning(&headers, &method, &path, mode);
            if status == StatusCode::UNAUTHORIZED {
                if self.answer_challenge(sent, &headers, &mut call).await {
                    continue;
                }
                return Err(unauthorized(&bytes, &method, path));
            }
            if let (Sent::OwnDigest, Some(prompt)) = (&sent, call.own_challenge.take())
                && let Auth::Digest { challenge, .. } = &self.auth
            {
                *challenge.lock().expect("digest lock") = Some(prompt);
            }
            if (retry == Retry::Always || status == StatusCode::TOO_MANY_REQUESTS)
                && self.throttled(status, &headers, &attempt, &mut call).await
            {
                continue;
            }
            return Ok(Reply {
                status,
                body: bytes,
            });
        }
    }

    /// Sends one attempt and reads its answer, logging it and reporting it
    /// while it is unanswered; a transport error comes back described.
    async fn send_once(
        &self,
        request: reqwest::RequestBuilder,
        attempt: &Attempt<'_>,
        sent: &Sent,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), Failure> {
        let Attempt {
            method,
            path,
            number,
        } = *attempt;
        tracing::debug!(%method, path, attempt = number, auth = sent.name(), "Atlas request sent");
        let started = Instant::now();
        let subject = format!("Atlas ({method} {path})");
        let result = crate::logging::watch(&subject, answer(request)).await;
        let duration_ms = crate::logging::millis(started.elapsed());
        match result {
            Ok(answer) => {
                let status = answer.0.as_u16();
                tracing::info!(%method, path, status, duration_ms, attempt = number, "Atlas request");
                Ok(answer)
            }
            Err(e) => {
                let unsent = e.is_connect();
                let error = describe_transport_error(e);
                tracing::info!(%method, path, duration_ms, attempt = number, %error, "Atlas request failed");
                Err(Failure {
                    message: error,
                    unsent,
                })
            }
        }
    }

    /// Logs a retry and reports it: `Atlas: 503, retrying in 8 s (attempt 3
    /// of 6)`. `call.retries` already counts it.
    fn announce_retry(&self, attempt: &Attempt<'_>, what: &str, delay: Duration, call: &CallState) {
        let next = call.retries + 1;
        let of = self.options.max_retries + 1;
        tracing::debug!(
            method = %attempt.method,
            path = attempt.path,
            wait_ms = delay.as_millis() as u64,
            next_attempt = next,
            "Atlas retry"
        );
        crate::logging::progress(&format!(
            "Atlas: {what}, retrying in {} (attempt {next} of {of})",
            crate::logging::pause(delay)
        ));
    }

    /// Adds what the request needs to authenticate (and its body).
    async fn prepare(
        &self,
        mut request: reqwest::RequestBuilder,
        method: &Method,
        path_and_query: &str,
        body: &Option<Vec<u8>>,
        mode: Mode<'_>,
        call: &mut CallState,
    ) -> Result<(reqwest::RequestBuilder, Sent), AtlasError> {
        let how = match mode {
            Mode::Api(how) => how,
            Mode::TokenBasic => How::DEFAULT,
        };
        if let Mode::TokenBasic = mode {
            let Auth::ServiceAccount {
                client_id,
                client_secret,
                ..
            } = &self.auth
            else {
                unreachable!("token requests only exist for service accounts")
            };
            request = request
                .basic_auth(client_id, Some(client_secret))
                .header(ACCEPT, "application/json")
                .form(&[("grant_type", "client_credentials")]);
            return Ok((request, Sent::Basic));
        }
        request = request.header(ACCEPT, how.media_type);
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, how.media_type)
                .body(body.clone());
        }
        let (header, sent) = self
            .authorization(method, path_and_query, call.own_challenge.as_mut())
            .await?;
        if let Some(header) = header {
            request = request.header(AUTHORIZATION, header);
        }
        Ok((request, sent))
    }

    /// After a 401: true when the request is worth sending again with a
    /// fresh challenge or token.
    async fn answer_challenge(
        &self,
        sent: Sent,
        headers: &HeaderMap,
        call: &mut CallState,
    ) -> bool {
        match sent {
            // Not yet authenticated, or authenticated with the shared
            // challenge (whose nonce may have expired or been raced by a
            // concurrent request): answer the fresh challenge.
            Sent::Nothing | Sent::SharedDigest => {
                tracing::debug!("answering a fresh digest challenge");
                call.own_challenge = digest_challenge(headers);
                call.own_challenge.is_some()
            }
            // Our own fresh challenge was refused: the keys are wrong,
            // unless the nonce went stale in between.
            Sent::OwnDigest => match digest_challenge(headers) {
                Some(prompt) if prompt.stale && call.retries < self.options.max_retries => {
                    call.retries += 1;
                    call.own_challenge = Some(prompt);
                    true
                }
                _ => false,
            },
            Sent::Bearer if !call.token_refreshed => {
                call.token_refreshed = true;
                self.drop_token().await;
                true
            }
            Sent::Bearer | Sent::Basic => false,
        }
    }

    /// After a 429 or a 5xx: pauses as Atlas asks (a 429 pauses the whole
    /// client, also when this request is out of retries, for whoever tries
    /// again); true when the request is to be sent again.
    async fn throttled(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        attempt: &Attempt<'_>,
        call: &mut CallState,
    ) -> bool {
        let limited = status == StatusCode::TOO_MANY_REQUESTS;
        if !limited && !status.is_server_error() {
            return false;
        }
        let backoff = call.next_delay(&self.options);
        let delay = retry_after(headers).map_or(backoff, |ra| ra.max(backoff));
        if limited {
            self.pause_for(delay);
        }
        if call.retries >= self.options.max_retries {
            return false;
        }
        call.retries += 1;
        self.announce_retry(attempt, status.as_str(), delay, call);
        if !limited {
            crate::wait::idle(delay).await;
        }
        true
    }

    /// Waits for the shared pause (set by a `429`) and for the request budget.
    async fn wait_turn(&self) {
        self.wait_pause().await;
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        // A 429 may have arrived while this request waited for the budget.
        self.wait_pause().await;
    }

    async fn wait_pause(&self) {
        loop {
            let until = *self.paused_until.lock().expect("pause lock");
            match until {
                Some(t) if t > Instant::now() => {
                    tracing::debug!(
                        wait_ms = (t - Instant::now()).as_millis() as u64,
                        "waiting for the pause Atlas asked for (429)"
                    );
                    crate::wait::idle_until(t.into()).await
                }
                _ => break,
            }
        }
    }

    fn pause_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut paused = self.paused_until.lock().expect("pause lock");
        if paused.is_none_or(|t| t < until) {
            *paused = Some(until);
        }
    }

    /// True when concurrent requests cannot disturb each other's
    /// authentication: a bearer token, unlike a Digest nonce whose count
    /// must reach Atlas in order (see docs/atlas-digest.md).
    pub(crate) fn reads_in_parallel(&self) -> bool {
        matches!(self.auth, Auth::ServiceAccount { .. })
    }

    /// The `Authorization` header for an API request, if one can be built
    /// yet. `own` is the call's private digest challenge, if it has one.
    async fn authorization(
        &self,
        method: &Method,
        uri: &str,
        own: Option<&mut WwwAuthenticateHeader>,
    ) -> Result<(Option<String>, Sent), AtlasError> {
        match &self.auth {
            Auth::Digest {
                username,
                password,
                challenge,
                ..
            } => {
                let context = AuthContext::new_with_method(
                    username.as_str(),
                    password.as_str(),
                    uri,
                    Option::<&[u8]>::None,
                    HttpMethod::from(method.as_str().to_owned()),
                );
                let answer = if let Some(prompt) = own {
                    prompt.respond(&context).map(|a| (a, Sent::OwnDigest))
                } else {
                    let mut guard = challenge.lock().expect("digest lock");
                    match guard.as_mut() {
                        Some(prompt) => prompt.respond(&context).map(|a| (a, Sent::SharedDigest)),
                        None => return Ok((None, Sent::Nothing)),
                    }
                };
                match answer {
                    Ok((header, sent)) => Ok((Some(header.to_string()), sent)),
                    Err(e) => Err(AtlasError::Unauthorized {
                        detail: format!("cannot answer the digest challenge: {e}"),
                        method: method.to_string(),
                        path: uri.split('?').next().unwrap_or(uri).to_owned(),
                    }),
                }
            }
            Auth::ServiceAccount { .. } => {
                let token = self.token().await?;
                Ok((Some(format!("Bearer {token}")), Sent::Bearer))
            }
        }
    }

    async fn drop_token(&self) {
        if let Auth::ServiceAccount { token, .. } = &self.auth {
            *crate::wait::idle_while(token.lock()).await = None;
        }
    }

    /// A valid bearer token, fetched (once for all concurrent callers) when
    /// the cached one is missing or about to expire.
    async fn token(&self) -> Result<String, AtlasError> {
        let Auth::ServiceAccount { token, .. } = &self.auth else {
            unreachable!("only service accounts use tokens")
        };
        let mut guard = crate::wait::idle_while(token.lock()).await;
        if let Some(t) = guard.as_ref()
            && Instant::now() < t.refresh_at
        {
            return Ok(t.value.clone());
        }
        tracing::debug!(path = TOKEN_PATH, "requesting a service-account token");
        let requested_at = Instant::now();
        let reply =
            Box::pin(self.execute(Method::POST, TOKEN_PATH, None, Mode::TokenBasic)).await?;
        if !reply.status.is_success() {
            let detail = ErrorEnvelope::parse(&reply.body)
                .and_then(|e| e.message())
                .unwrap_or_else(|| one_line(&String::from_utf8_lossy(&reply.body)));
            return Err(AtlasError::Unauthorized {
                detail: format!(
                    "the service-account token request failed with HTTP {}: {detail}",
                    reply.status.as_u16()
                ),
                method: "POST".to_owned(),
                path: TOKEN_PATH.to_owned(),
            });
        }
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&reply.body).map_err(|e| AtlasError::Decode {
                status: reply.status.as_u16(),
                method: "POST".to_owned(),
                path: TOKEN_PATH.to_owned(),
                message: format!("token answer: {e}"),
            })?;
        let lifetime = answer
            .expires_in
            .map_or(crate::limits::ATLAS_TOKEN_LIFETIME, Duration::from_secs);
        // Refresh a minute early (or halfway, for short-lived tokens).
        let margin = crate::limits::ATLAS_TOKEN_REFRESH_MARGIN.min(lifetime / 2);
        tracing::debug!(
            lifetime_s = lifetime.as_secs(),
            "service-account token received"
        );
        let value = answer.access_token;
        *guard = Some(Token {
            value: value.clone(),
            refresh_at: requested_at + lifetime - margin,
        });
        Ok(value)
    }
}

/// The digest challenge of a `401`, if it carries one.
fn digest_challenge(headers: &HeaderMap) -> Option<WwwAuthenticateHeader> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.trim_start().to_ascii_lowercase().starts_with("digest"))
        .and_then(|v| digest_auth::parse(v).ok())
}

/// Warns (once per run, see [`crate::logging::warn_once`]) when Atlas says
/// the version of an operation privlink uses will be retired: the answer
/// carries a `Sunset` header (RFC 8594), and `Deprecation` often with it.
fn sunset_warning(headers: &HeaderMap, method: &Method, path: &str, mode: Mode<'_>) {
    let Some(sunset) = headers.get("sunset").and_then(|v| v.to_str().ok()) else {
        return;
    };
    let media_type = match mode {
        Mode::Api(how) => how.media_type,
        Mode::TokenBasic => "application/json",
    };
    let version = media_type
        .strip_prefix("application/vnd.atlas.")
        .and_then(|v| v.strip_suffix("+json"))
        .unwrap_or(media_type);
    tracing::debug!(%method, path, sunset, version, "Atlas answered with a Sunset header");
    crate::logging::warn_once(
        "atlas-sunset",
        &format!(
            "warning: Atlas says {method} {} (API version {version}) is deprecated and \
             ends on {} (its Sunset header): calls to it fail after that date",
            path,
            one_line(sunset)
        ),
    );
}

/// `Retry-After` in seconds (the form Atlas uses); HTTP dates are ignored.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// A one-line description of a transport error, with its causes and without
/// the URL (the caller names the path).
fn describe_transport_error(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut parts = vec![kind.to_owned()];
    let e = e.without_url();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = one_line(&s.to_string());
        if !text.is_empty() && !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// One attempt of a call, as the log names it.
#[derive(Clone, Copy)]
struct Attempt<'a> {
    method: &'a Method,
    /// The path without its query.
    path: &'a str,
    /// 1 for the first attempt.
    number: u32,
}

/// What one call keeps between its attempts.
struct CallState {
    retries: u32,
    delays: backon::ExponentialBackoff,
    /// A digest challenge received during this call. It is used by this
    /// call alone (so no concurrent request can race its nonce count) and
    /// handed to the shared slot once it has worked.
    own_challenge: Option<WwwAuthenticateHeader>,
    token_refreshed: bool,
}

impl CallState {
    fn new(options: &ClientOptions) -> Self {
        CallState {
            retries: 0,
            delays: ExponentialBuilder::default()
                .with_min_delay(options.min_retry_delay)
                .with_max_delay(options.max_retry_delay)
                .with_factor(2.0)
                .with_jitter()
                .without_max_times()
                .build(),
            own_challenge: None,
            token_refreshed: false,
        }
    }

    /// The next backoff delay, with jitter.
    fn next_delay(&mut self, options: &ClientOptions) -> Duration {
        self.delays.next().unwrap_or(options.max_retry_delay)
    }
}

/// Sends the request and reads the whole answer.
async fn answer(
    request: reqwest::RequestBuilder,
) -> Result<(StatusCode, HeaderMap, Vec<u8>), reqwest::Error> {
    let response = request.send().await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await?;
    Ok((status, headers, body.to_vec()))
}

/// The error for credentials Atlas refused, with Atlas's own words.
fn unauthorized(body: &[u8], method: &Method, path: String) -> AtlasError {
    let detail = ErrorEnvelope::parse(body)
        .and_then(|e| e.message())
        .unwrap_or_else(|| "You are not authorized for this resource.".to_owned());
    AtlasError::Unauthorized {
        detail,
        method: method.to_string(),
        path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn rejects_bad_base_urls() {
        let creds = || Credentials::Digest {
            public_key: "p".into(),
            private_key: "s".into(),
        };
        assert!(Transport::new("not a url", creds(), ClientOptions::default()).is_err());
        assert!(Transport::new("ftp://x", creds(), ClientOptions::default()).is_err());
        let t = Transport::new("http://127.0.0.1:1/", creds(), ClientOptions::default()).unwrap();
        assert_eq!(t.base_url, "http://127.0.0.1:1");
    }
}
