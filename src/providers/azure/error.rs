//! [`AzureError`]: how a call to Microsoft Entra ID or Azure Resource
//! Manager failed, with ARM's own error code and message. Never carries a
//! secret or a token.

use std::time::Duration;

use thiserror::Error;

use crate::providers::ProviderError;
use crate::wait::WaitError;

/// A failed Azure call or wait.
#[derive(Debug, Error)]
pub enum AzureError {
    /// A variable the credentials need is not set.
    #[error(
        "Azure credentials: {0} is not set, expected AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"
    )]
    MissingVariable(&'static str),
    /// Microsoft Entra ID refused the client-credentials token request.
    #[error("Microsoft Entra ID refused the token request ({status}): {code}: {description}")]
    Token {
        /// The HTTP status.
        status: u16,
        /// Entra ID's `error`.
        code: String,
        /// Entra ID's `error_description`.
        description: String,
    },
    /// Azure Resource Manager answered with an error envelope.
    #[error("{method} {path}: Azure Resource Manager answered {status}: {code}: {message}")]
    Arm {
        /// The method.
        method: String,
        /// The path, without query.
        path: String,
        /// The HTTP status.
        status: u16,
        /// ARM's `error.code`.
        code: String,
        /// ARM's `error.message`.
        message: String,
    },
    /// The request did not get an answer.
    #[error("{method} {path}: {source}")]
    Transport {
        /// The method.
        method: String,
        /// The path, without query.
        path: String,
        /// What the HTTP client said.
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not the JSON expected.
    #[error("{method} {path}: unexpected answer: {source}")]
    Decode {
        /// The method.
        method: String,
        /// The path, without query.
        path: String,
        /// What did not fit.
        #[source]
        source: serde_json::Error,
    },
    /// A wait ended in ARM's `Failed` (or a rejected connection).
    #[error("{address}: {step} failed: {message}")]
    Failed {
        /// The resource's address.
        address: String,
        /// What was waited for.
        step: String,
        /// ARM's message.
        message: String,
    },
    /// A wait ran out of time.
    #[error("{address}: {step} timed out after {}s (last state: {last_state})", .waited.as_secs())]
    TimedOut {
        /// The resource's address.
        address: String,
        /// What was waited for.
        step: String,
        /// The state seen last.
        last_state: String,
        /// How long the wait lasted.
        waited: Duration,
    },
}

impl AzureError {
    /// ARM's error code, for an ARM error.
    pub fn code(&self) -> Option<&str> {
        match self {
            AzureError::Arm { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, for an ARM error.
    pub fn status(&self) -> Option<u16> {
        match self {
            AzureError::Arm { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A wait's end as an [`AzureError`].
    pub(crate) fn from_wait(err: WaitError<AzureError>) -> AzureError {
        match err {
            WaitError::Failed {
                address,
                step,
                message,
            } => AzureError::Failed {
                address,
                step,
                message,
            },
            WaitError::TimedOut {
                address,
                step,
                last_state,
                waited,
            } => AzureError::TimedOut {
                address,
                step,
                last_state,
                waited,
            },
            WaitError::Poll { source, .. } => source,
        }
    }
}

impl From<AzureError> for ProviderError {
    fn from(e: AzureError) -> Self {
        match e {
            AzureError::Failed { .. } => ProviderError::Terminal(Box::new(e)),
            _ => ProviderError::Cloud(Box::new(e)),
        }
    }
}
