//! Authentication as Atlas does it: HTTP Digest (MD5, `qop=auth`) with API keys, and OAuth 2.0
//! client-credentials tokens for service accounts (`/api/oauth/token`, `/api/oauth/revoke`).
//!
//! Nonces are remembered with their issue time and the highest nonce count seen, so that stale
//! nonces (older than the TTL, or unknown ones, e.g. from before a restart) are answered with
//! `stale=true` and replayed nonce counts are refused.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::{Digest, Md5};
use rand::Rng;

/// The realm Atlas announces in its challenges.
pub const REALM: &str = "MMS Public API";
/// Lifetime of an OAuth access token, as real Atlas documents it.
pub const TOKEN_TTL: Duration = Duration::from_secs(3600);

/// Why a digest `Authorization` header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The header could not be parsed.
    #[error("malformed digest header: {0}")]
    Malformed(String),
    /// The realm is not [`REALM`].
    #[error("unexpected realm {0:?}")]
    WrongRealm(String),
    /// The `uri` parameter is not the request's path and query.
    #[error("digest uri {0:?} does not match the request")]
    UriMismatch(String),
    /// A `qop` or `algorithm` other than `auth` and MD5.
    #[error("unsupported qop or algorithm")]
    Unsupported,
    /// The user name is not the configured public key.
    #[error("unknown API key {0:?}")]
    UnknownUser(String),
    /// The `response` hash is wrong.
    #[error("digest response does not match")]
    BadResponse,
    /// The nonce is unknown or expired.
    #[error("nonce expired or unknown")]
    StaleNonce,
    /// The nonce count did not increase.
    #[error("nonce count {0} was already used")]
    ReplayedNonceCount(u64),
}

impl DigestError {
    /// Whether the challenge should say `stale=true` (the credentials were right, only the
    /// nonce was too old).
    pub fn is_stale(&self) -> bool {
        matches!(self, DigestError::StaleNonce)
    }
}

/// Why an OAuth token request or revocation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// Wrong or missing client credentials.
    #[error("client authentication failed")]
    InvalidClient,
    /// A grant type other than `client_credentials`.
    #[error("grant_type must be client_credentials")]
    UnsupportedGrantType,
    /// A revocation without a token.
    #[error("request is missing the token parameter")]
    InvalidRequest,
}

impl OAuthError {
    /// The RFC 6749 `error` value.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidRequest => "invalid_request",
        }
    }
}

/// Configured secrets. A pair left out disables that method; with none at all, authentication
/// is off.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// API public key (the Digest user name).
    pub public_key: Option<String>,
    /// API private key (the Digest password).
    pub private_key: Option<String>,
    /// Service account client id.
    pub client_id: Option<String>,
    /// Service account client secret.
    pub client_secret: Option<String>,
}

#[derive(Debug)]
struct NonceState {
    issued: Instant,
    last_nc: u64,
}

/// Digest verifier and token issuer.
#[derive(Debug)]
pub struct Authenticator {
    creds: Credentials,
    nonce_ttl: Duration,
    nonces: HashMap<String, NonceState>,
    tokens: HashMap<String, Instant>,
}

fn md5_hex(input: &str) -> String {
    let digest = Md5::digest(input.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Splits the parameters of a `Digest …` header into key/value pairs, honouring quoted strings
/// (which may contain commas) and backslash escapes.
fn parse_params(input: &str) -> Result<HashMap<String, String>, DigestError> {
    let mut out = HashMap::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(DigestError::Malformed(format!("no value for {key}")));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(escaped) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        closed = true;
                        break;
                    }
                    _ => value.push(c),
                }
            }
            if !closed {
                return Err(DigestError::Malformed(format!("unterminated {key}")));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_string();
        }
        out.insert(key.to_ascii_lowercase(), value);
    }
    Ok(out)
}

impl Authenticator {
    /// A verifier for `creds` whose nonces live `nonce_ttl`.
    pub fn new(creds: Credentials, nonce_ttl: Duration) -> Self {
        Self {
            creds,
            nonce_ttl,
            nonces: HashMap::new(),
            tokens: HashMap::new(),
        }
    }

    /// Whether any credentials were configured; when not, every request is let through.
    pub fn enabled(&self) -> bool {
        self.digest_enabled() || self.oauth_enabled()
    }

    fn digest_enabled(&self) -> bool {
        self.creds.public_key.is_some() && self.creds.private_key.is_some()
    }

    fn oauth_enabled(&self) -> bool {
        self.creds.client_id.is_some() && self.creds.client_secret.is_some()
    }

    /// Issues a fresh nonce and returns the `WWW-Authenticate` value announcing it.
    pub fn challenge(&mut self, stale: bool, now: Instant) -> String {
        let ttl = self.nonce_ttl;
        self.nonces
            .retain(|_, state| now.saturating_duration_since(state.issued) <= ttl);
        let mut bytes = [0u8; 24];
        rand::rng().fill(&mut bytes[..]);
        let nonce = BASE64.encode(bytes);
        self.nonces.insert(
            nonce.clone(),
            NonceState {
                issued: now,
                last_nc: 0,
            },
        );
        format!(
            "Digest realm=\"{REALM}\", domain=\"\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\", stale={stale}"
        )
    }

    /// Checks a `Digest …` header for a request with `method` whose request target is
    /// `path_and_query` (a client that signed only the path is accepted too).
    pub fn verify_digest(
        &mut self,
        header: &str,
        method: &str,
        path_and_query: &str,
        now: Instant,
    ) -> Result<(), DigestError> {
        let rest = header
            .strip_prefix("Digest ")
            .or_else(|| header.strip_prefix("digest "))
            .ok_or_else(|| DigestError::Malformed("not a digest header".into()))?;
        let params = parse_params(rest)?;
        let get = |key: &str| {
            params
                .get(key)
                .map(String::as_str)
                .ok_or_else(|| DigestError::Malformed(format!("missing {key}")))
        };
        let username = get("username")?;
        let realm = get("realm")?;
        let nonce = get("nonce")?;
        let uri = get("uri")?;
        let response = get("response")?;
        let qop = get("qop")?;
        let nc_text = get("nc")?;
        let cnonce = get("cnonce")?;
        if realm != REALM {
            return Err(DigestError::WrongRealm(realm.to_string()));
        }
        let path = path_and_query.split('?').next().unwrap_or(path_and_query);
        if uri != path_and_query && uri != path {
            return Err(DigestError::UriMismatch(uri.to_string()));
        }
        if qop != "auth"
            || params
                .get("algorithm")
                .is_some_and(|a| !a.eq_ignore_ascii_case("MD5"))
        {
            return Err(DigestError::Unsupported);
        }
        let nc = u64::from_str_radix(nc_text, 16)
            .map_err(|_| DigestError::Malformed(format!("bad nc {nc_text:?}")))?;
        let (Some(public), Some(private)) = (&self.creds.public_key, &self.creds.private_key)
        else {
            return Err(DigestError::UnknownUser(username.to_string()));
        };
        if username != public {
            return Err(DigestError::UnknownUser(username.to_string()));
        }
        let ha1 = md5_hex(&format!("{public}:{REALM}:{private}"));
        let ha2 = md5_hex(&format!("{method}:{uri}"));
        let expected = md5_hex(&format!("{ha1}:{nonce}:{nc_text}:{cnonce}:{qop}:{ha2}"));
        if !expected.eq_ignore_ascii_case(response) {
            return Err(DigestError::BadResponse);
        }
        let ttl = self.nonce_ttl;
        let state = self.nonces.get_mut(nonce).ok_or(DigestError::StaleNonce)?;
        if now.saturating_duration_since(state.issued) > ttl {
            self.nonces.remove(nonce);
            return Err(DigestError::StaleNonce);
        }
        if nc <= state.last_nc {
            return Err(DigestError::ReplayedNonceCount(nc));
        }
        state.last_nc = nc;
        Ok(())
    }

    fn check_basic(&self, header: &str) -> Result<(), OAuthError> {
        let (Some(id), Some(secret)) = (&self.creds.client_id, &self.creds.client_secret) else {
            return Err(OAuthError::InvalidClient);
        };
        let encoded = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
            .ok_or(OAuthError::InvalidClient)?;
        let decoded = BASE64
            .decode(encoded.trim())
            .map_err(|_| OAuthError::InvalidClient)?;
        let text = String::from_utf8(decoded).map_err(|_| OAuthError::InvalidClient)?;
        match text.split_once(':') {
            Some((given_id, given_secret)) if given_id == id && given_secret == secret => Ok(()),
            _ => Err(OAuthError::InvalidClient),
        }
    }

    /// Handles `POST /api/oauth/token`: Basic client authentication plus a form body with
    /// `grant_type=client_credentials`. Returns the new access token.
    pub fn issue_token(
        &mut self,
        basic_header: &str,
        form: &HashMap<String, String>,
        now: Instant,
    ) -> Result<String, OAuthError> {
        self.check_basic(basic_header)?;
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return Err(OAuthError::UnsupportedGrantType);
        }
        self.tokens.retain(|_, expiry| *expiry > now);
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes[..]);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.tokens.insert(token.clone(), now + TOKEN_TTL);
        Ok(token)
    }

    /// Handles `POST /api/oauth/revoke` (`token=…`). Revoking an unknown token succeeds, as
    /// RFC 7009 asks.
    pub fn revoke(
        &mut self,
        basic_header: &str,
        form: &HashMap<String, String>,
    ) -> Result<(), OAuthError> {
        self.check_basic(basic_header)?;
        let token = form.get("token").ok_or(OAuthError::InvalidRequest)?;
        self.tokens.remove(token);
        Ok(())
    }

    /// Whether `token` is a live access token.
    pub fn verify_bearer(&self, token: &str, now: Instant) -> bool {
        self.tokens.get(token).is_some_and(|expiry| *expiry > now)
    }
}

/// The authentication scheme of a request's `Authorization` header: `digest`, `bearer` or
/// `none`.
pub fn auth_kind(headers: &HeaderMap) -> &'static str {
    match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(h) if h.len() >= 7 && h[..7].eq_ignore_ascii_case("digest ") => "digest",
        Some(h) if h.len() >= 7 && h[..7].eq_ignore_ascii_case("bearer ") => "bearer",
        _ => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Authenticator {
        Authenticator::new(
            Credentials {
                public_key: Some("pubkey".into()),
                private_key: Some("secret".into()),
                client_id: Some("mdb_sa_id".into()),
                client_secret: Some("mdb_sa_sk".into()),
            },
            Duration::from_secs(300),
        )
    }

    fn nonce_of(challenge: &str) -> String {
        let params = parse_params(challenge.strip_prefix("Digest ").unwrap()).unwrap();
        params["nonce"].clone()
    }

    /// Builds an Authorization header the way a client computes it.
    fn header(
        user: &str,
        pass: &str,
        realm: &str,
        nonce: &str,
        method: &str,
        uri: &str,
        nc: &str,
    ) -> String {
        let cnonce = "0a4f113b";
        let ha1 = md5_hex(&format!("{user}:{realm}:{pass}"));
        let ha2 = md5_hex(&format!("{method}:{uri}"));
        let response = md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
        format!(
            "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             algorithm=MD5, response=\"{response}\", qop=auth, nc={nc}, cnonce=\"{cnonce}\""
        )
    }

    const URI: &str = "/api/atlas/v2/groups/5f7cac1adf5d6c6306f4b283/serverless?pageNum=1";

    #[test]
    fn challenge_matches_atlas() {
        let mut a = auth();
        let c = a.challenge(false, Instant::now());
        assert!(c.starts_with("Digest realm=\"MMS Public API\", domain=\"\", nonce=\""));
        assert!(c.ends_with("\", algorithm=MD5, qop=\"auth\", stale=false"));
        assert!(a.challenge(true, Instant::now()).ends_with("stale=true"));
    }

    #[test]
    fn good_response_is_accepted_and_nonce_is_reusable() {
        let mut a = auth();
        let now = Instant::now();
        let nonce = nonce_of(&a.challenge(false, now));
        let h = header("pubkey", "secret", REALM, &nonce, "GET", URI, "00000001");
        assert_eq!(a.verify_digest(&h, "GET", URI, now), Ok(()));
        let h2 = header("pubkey", "secret", REALM, &nonce, "GET", URI, "00000002");
        assert_eq!(a.verify_digest(&h2, "GET", URI, now), Ok(()));
    }

    #[test]
    fn wrong_password_and_wrong_user_are_refused() {
        let mut a = auth();
        let now = Instant::now();
        let nonce = nonce_of(&a.challenge(false, now));
        let h = header("pubkey", "nope", REALM, &nonce, "GET", URI, "00000001");
        assert_eq!(
            a.verify_digest(&h, "GET", URI, now),
            Err(DigestError::BadResponse)
        );
        let h = header("other", "secret", REALM, &nonce, "GET", URI, "00000001");
        assert!(matches!(
            a.verify_digest(&h, "GET", URI, now),
            Err(DigestError::UnknownUser(_))
        ));
    }

    #[test]
    fn expired_and_unknown_nonces_are_stale() {
        let mut a = auth();
        let start = Instant::now();
        let nonce = nonce_of(&a.challenge(false, start));
        let h = header("pubkey", "secret", REALM, &nonce, "GET", URI, "00000001");
        let later = start + Duration::from_secs(301);
        let err = a.verify_digest(&h, "GET", URI, later).unwrap_err();
        assert_eq!(err, DigestError::StaleNonce);
        assert!(err.is_stale());
        let h = header(
            "pubkey",
            "secret",
            REALM,
            "bm90LWlzc3VlZA==",
            "GET",
            URI,
            "00000001",
        );
        assert_eq!(
            a.verify_digest(&h, "GET", URI, start),
            Err(DigestError::StaleNonce)
        );
    }

    #[test]
    fn replayed_nonce_count_is_refused() {
        let mut a = auth();
        let now = Instant::now();
        let nonce = nonce_of(&a.challenge(false, now));
        let h = header("pubkey", "secret", REALM, &nonce, "GET", URI, "00000002");
        assert_eq!(a.verify_digest(&h, "GET", URI, now), Ok(()));
        assert_eq!(
            a.verify_digest(&h, "GET", URI, now),
            Err(DigestError::ReplayedNonceCount(2))
        );
        let h1 = header("pubkey", "secret", REALM, &nonce, "GET", URI, "00000001");
        assert_eq!(
            a.verify_digest(&h1, "GET", URI, now),
            Err(DigestError::ReplayedNonceCount(1))
        );
    }

    #[test]
    fn wrong_realm_or_uri_is_refused() {
        let mut a = auth();
        let now = Instant::now();
        let nonce = nonce_of(&a.challenge(false, now));
        let h = header("pubkey", "secret", "Other", &nonce, "GET", URI, "00000001");
        assert!(matches!(
            a.verify_digest(&h, "GET", URI, now),
            Err(DigestError::WrongRealm(_))
        ));
        let other = "/api/atlas/v2/groups/5f7cac1adf5d6c6306f4b283/clusters";
        let h = header("pubkey", "secret", REALM, &nonce, "GET", other, "00000001");
        assert!(matches!(
            a.verify_digest(&h, "GET", URI, now),
            Err(DigestError::UriMismatch(_))
        ));
        // Signed for GET but sent as DELETE.
        let h = header("pubkey", "secret", REALM, &nonce, "GET", URI, "00000001");
        assert_eq!(
            a.verify_digest(&h, "DELETE", URI, now),
            Err(DigestError::BadResponse)
        );
    }

    #[test]
    fn oauth_tokens_are_issued_checked_and_revoked() {
        let mut a = auth();
        let now = Instant::now();
        let basic = format!("Basic {}", BASE64.encode("mdb_sa_id:mdb_sa_sk"));
        let mut form = HashMap::new();
        form.insert("grant_type".to_string(), "client_credentials".to_string());
        let token = a.issue_token(&basic, &form, now).unwrap();
        assert!(a.verify_bearer(&token, now));
        assert!(!a.verify_bearer(&token, now + TOKEN_TTL));
        assert!(!a.verify_bearer("forged", now));
        let bad = format!("Basic {}", BASE64.encode("mdb_sa_id:wrong"));
        assert_eq!(
            a.issue_token(&bad, &form, now),
            Err(OAuthError::InvalidClient)
        );
        let mut revoke = HashMap::new();
        revoke.insert("token".to_string(), token.clone());
        a.revoke(&basic, &revoke).unwrap();
        assert!(!a.verify_bearer(&token, now));
    }
}
