//! [`ProviderError`]: how a cloud call failed, as the engine sees it. The
//! cloud's own error is kept as the source; the engine only asks whether
//! the failure is terminal (the object must be replaced) or not.

use thiserror::Error;

use crate::model::Kind;

/// Any error a cloud reports, kept whole.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A provider failure, one line, never carrying a secret.
#[derive(Debug, Error)]
pub enum ProviderError {
    /// The remote side reached a terminal failure (Atlas FAILED or REJECTED,
    /// EC2 failed): the object is unusable and must be replaced.
    #[error(transparent)]
    Terminal(BoxError),
    /// A cloud call failed and the object may still become usable
    /// (timeouts, API errors).
    #[error(transparent)]
    Cloud(BoxError),
    /// Writing the state failed.
    #[error("writing state: {0}")]
    State(#[source] BoxError),
    /// The attributes handed to the provider do not have the kind's shape.
    #[error("attributes of {kind}: {source}")]
    Attributes {
        /// The resource kind.
        kind: Kind,
        /// What did not fit.
        #[source]
        source: serde_json::Error,
    },
    /// An object vanished while privlink was working on it.
    #[error("{what} disappeared{during}")]
    Vanished {
        /// The object, e.g. "VPC endpoint vpce-…".
        what: String,
        /// When, e.g. " while linking" (may be empty).
        during: &'static str,
    },
    /// No registered cloud manages this kind.
    #[error("no provider manages resources of kind {0}")]
    UnknownKind(Kind),
    /// The operation is not possible for this kind.
    #[error("{0}")]
    Unsupported(String),
}

impl ProviderError {
    /// True when the object is unusable and must be replaced.
    pub fn is_terminal(&self) -> bool {
        matches!(self, ProviderError::Terminal(_))
    }

    /// An object that vanished while privlink was working on it.
    pub fn vanished(what: impl Into<String>, during: &'static str) -> Self {
        ProviderError::Vanished {
            what: what.into(),
            during,
        }
    }
}
