//! The access tokens Entra ID issued, with their audience and expiry, and their check on
//! every Resource Manager request (`InvalidAuthenticationToken`, `ExpiredAuthenticationToken`,
//! `InvalidAuthenticationTokenAudience`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::errors::ArmError;

/// Audiences ARM accepts, each asked for as `<audience>/.default`.
const AUDIENCES: [&str; 2] = [
    "https://management.azure.com",
    "https://management.core.windows.net",
];

/// One issued token.
#[derive(Debug, Clone)]
struct Issued {
    audience: String,
    expires: Instant,
}

/// The tokens issued so far.
#[derive(Debug, Default)]
pub struct Tokens {
    issued: HashMap<String, Issued>,
}

impl Tokens {
    /// Checks a bearer token for Resource Manager at `now`.
    pub fn check(&self, token: &str, now: Instant) -> Result<(), ArmError> {
        let unauthorized = |code, message: &str| {
            ArmError::new(StatusCode::UNAUTHORIZED, code, message.to_string())
        };
        let Some(issued) = self.issued.get(token) else {
            return Err(unauthorized(
                "InvalidAuthenticationToken",
                "The access token is invalid.",
            ));
        };
        if issued.expires <= now {
            return Err(unauthorized(
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
            ));
        }
        if !AUDIENCES.contains(&issued.audience.trim_end_matches('/')) {
            return Err(unauthorized(
                "InvalidAuthenticationTokenAudience",
                &format!(
                    "The access token has been obtained for wrong audience or resource '{}'.",
                    issued.audience
                ),
            ));
        }
        Ok(())
    }
}

impl Tokens {
    /// A new opaque token for `audience`, valid for `ttl` from `now`.
    pub fn issue(&mut self, audience: String, ttl: Duration, now: Instant) -> String {
        let token = format!(
            "sandbox.{}.{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let issued = Issued {
            audience,
            expires: now + ttl,
        };
        self.issued.insert(token.clone(), issued);
        token
    }
}
