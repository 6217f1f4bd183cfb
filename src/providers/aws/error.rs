//! Errors from EC2, and the one place where EC2 error codes are classified.
//!
//! Every SDK failure becomes an [`AwsError`] that prints as one line naming
//! the EC2 operation, the error code and the message. What a code *means*
//! for retries and idempotency is decided by [`classify`] alone, so the rules
//! can be unit-tested with constructed codes (most of them never happen
//! against moto).

use std::error::Error as StdError;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use thiserror::Error;

use crate::wait::WaitError;

/// An EC2 call, or a wait on EC2, that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AwsError {
    /// EC2 answered with an error code.
    #[error("EC2 {operation} failed: {code}: {message}")]
    Api {
        /// The EC2 operation, e.g. `CreateVpcEndpoint`.
        operation: &'static str,
        /// EC2's error code, e.g. `InvalidGroup.NotFound`.
        code: String,
        /// EC2's message, flattened to one line.
        message: String,
    },
    /// A wait ran out of time; `last_state` is what was seen last.
    #[error("{address}: {step} timed out after {waited_secs}s (last state: {last_state})")]
    Timeout {
        /// The address of the resource the wait was for.
        address: String,
        /// The step waited on, e.g. "waiting for the VPC endpoint to be available".
        step: String,
        /// The last remote state seen.
        last_state: String,
        /// How long the wait lasted, in whole seconds.
        waited_secs: u64,
    },
    /// A wait ended in a terminal remote state such as `failed` or `rejected`.
    #[error("{address}: {step} failed: {message}")]
    Failed {
        /// The address of the resource the wait was for.
        address: String,
        /// The step waited on, e.g. "waiting for the VPC endpoint to be available".
        step: String,
        /// Why, e.g. the endpoint's terminal state with EC2's own message.
        message: String,
    },
    /// EC2 answered, but without the object asked for by its id.
    #[error("EC2 {operation}: {id} is not listed")]
    NotListed {
        /// The EC2 operation, e.g. `DescribeSecurityGroups`.
        operation: &'static str,
        /// The id asked for, e.g. `sg-0a1b…`.
        id: String,
    },
    /// No answer from EC2 (connection, timeout, credentials) or an answer
    /// that could not be used.
    #[error("EC2 {operation} failed: {message}")]
    Other {
        /// The EC2 operation, e.g. `CreateVpcEndpoint`.
        operation: &'static str,
        /// What went wrong: the SDK's error chain, or what the answer lacked.
        message: String,
    },
}

/// What an EC2 error code means to privlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The object (group, rule, endpoint, interface) does not exist.
    NotFound,
    /// The object (usually a rule) exists already.
    Duplicate,
    /// Something still uses the object (security group with lingering
    /// endpoint network interfaces).
    DependencyViolation,
    /// Another operation on the same VPC or endpoint is in progress; the
    /// same request succeeds later.
    Busy,
    /// Throttling or a server-side failure; the SDK already retried these.
    Transient,
    /// Anything else: retrying will not help.
    Fatal,
}

/// Codes EC2 uses for throttling and server-side failures.
const TRANSIENT_CODES: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
];

/// Codes that mean "busy, try the same request again later".
const BUSY_CODES: &[&str] = &["IncorrectState", "ConcurrentTagAccess"];

/// Message fragments (lower case) that mean the same, whatever the code:
/// EC2 answers concurrent endpoint operations in one VPC with, for example,
/// `InvalidParameter: Cannot modify VPC Endpoint vpce-… at this time because
/// there is an idempotent operation going on`.
const BUSY_MESSAGES: &[&str] = &[
    "idempotent operation",
    "operation in progress",
    "operation is in progress",
    "another operation",
    "try again later",
];

/// Classifies an EC2 error code (and message) once, for every caller.
pub fn classify(code: &str, message: &str) -> ErrorKind {
    let lower = message.to_ascii_lowercase();
    if BUSY_CODES.contains(&code) || BUSY_MESSAGES.iter().any(|m| lower.contains(m)) {
        ErrorKind::Busy
    } else if code.ends_with("NotFound") {
        ErrorKind::NotFound
    } else if code.ends_with(".Duplicate") {
        ErrorKind::Duplicate
    } else if code == "DependencyViolation" {
        ErrorKind::DependencyViolation
    } else if TRANSIENT_CODES.contains(&code) {
        ErrorKind::Transient
    } else {
        ErrorKind::Fatal
    }
}

impl AwsError {
    /// The error's classification; errors without a code are
    /// [`ErrorKind::Transient`] (no answer) or [`ErrorKind::Fatal`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            AwsError::Api { code, message, .. } => classify(code, message),
            AwsError::NotListed { .. } => ErrorKind::NotFound,
            AwsError::Other { .. } => ErrorKind::Transient,
            AwsError::Timeout { .. } | AwsError::Failed { .. } => ErrorKind::Fatal,
        }
    }

    /// The EC2 error code, if EC2 answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The object concerned does not exist (any `*.NotFound` code).
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }

    /// The object exists already (any `*.Duplicate` code).
    pub fn is_duplicate(&self) -> bool {
        self.kind() == ErrorKind::Duplicate
    }

    /// EC2 says that one of `ids` does not exist (or did not list it), as it
    /// does for seconds after the create that made it: a `*.NotFound` answer
    /// (not one about a rule) naming one of them or naming no id of their
    /// kind at all.
    pub fn is_unseen(&self, ids: &[String]) -> bool {
        match self {
            AwsError::NotListed { id, .. } => ids.contains(id),
            AwsError::Api { code, message, .. } => {
                if classify(code, message) != ErrorKind::NotFound
                    || code == "InvalidPermission.NotFound"
                {
                    return false;
                }
                let named = |id: &String| {
                    let prefix = id.split_inclusive('-').next().unwrap_or(id);
                    ids_in_message(message, prefix)
                };
                ids.iter()
                    .any(|id| named(id).contains(id) || named(id).is_empty())
            }
            _ => false,
        }
    }

    /// `DependencyViolation`: something still uses the object.
    pub fn is_dependency_violation(&self) -> bool {
        self.kind() == ErrorKind::DependencyViolation
    }

    /// Another operation is in progress; the same request may succeed later.
    pub fn is_busy(&self) -> bool {
        self.kind() == ErrorKind::Busy
    }

    /// Worth retrying later: busy, throttled, a server-side failure or no
    /// answer at all.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), ErrorKind::Busy | ErrorKind::Transient)
    }

    /// Builds the error for a failed SDK call of `operation`.
    pub(crate) fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + StdError + 'static,
        R: std::fmt::Debug + 'static,
    {
        match err.code() {
            Some(code) => AwsError::Api {
                operation,
                code: code.to_owned(),
                message: one_line(err.message().unwrap_or("no message")),
            },
            None => AwsError::Other {
                operation,
                message: one_line(&error_chain(&err)),
            },
        }
    }

    /// Builds the error for an answer that lacks something privlink needs.
    pub(crate) fn missing(operation: &'static str, what: &str) -> AwsError {
        AwsError::Other {
            operation,
            message: format!("the answer has no {what}"),
        }
    }

    /// Turns the shared wait helper's error into this module's error.
    pub(crate) fn from_wait(err: WaitError<AwsError>) -> AwsError {
        match err {
            WaitError::Failed {
                address,
                step,
                message,
            } => AwsError::Failed {
                address,
                step,
                message,
            },
            WaitError::TimedOut {
                address,
                step,
                last_state,
                waited,
            } => AwsError::Timeout {
                address,
                step,
                last_state,
                waited_secs: waited.as_secs(),
            },
            WaitError::Poll { source, .. } => source,
        }
    }
}

/// The error and its sources, joined with ": ", skipping repeats.
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut next = err.source();
    while let Some(e) = next {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Collapses whitespace runs (including newlines) into single spaces.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Ids with `prefix` (e.g. `vpce-`) that an error message names, such as
/// `The VpcEndPoint ID 'vpce-0a1b' does not exist` or a list of several.
pub(crate) fn ids_in_message(message: &str, prefix: &str) -> Vec<String> {
    let mut ids: Vec<String> = message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|t| t.len() > prefix.len() && t.starts_with(prefix))
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str, message: &str) -> AwsError {
        AwsError::Api {
            operation: "CreateVpcEndpoint",
            code: code.into(),
            message: message.into(),
        }
    }

    #[test]
    fn classifies_not_found_codes() {
        for code in [
            "InvalidGroup.NotFound",
            "InvalidVpcEndpointId.NotFound",
            "InvalidVpcEndpoint.NotFound",
            "InvalidPermission.NotFound",
            "InvalidNetworkInterfaceID.NotFound",
        ] {
            assert_eq!(
                classify(code, "does not exist"),
                ErrorKind::NotFound,
                "{code}"
            );
            assert!(api(code, "x").is_not_found());
        }
    }

    #[test]
    fn classifies_duplicates_and_dependencies() {
        assert!(api("InvalidPermission.Duplicate", "the rule exists").is_duplicate());
        assert!(api("InvalidGroup.Duplicate", "exists").is_duplicate());
        let dv = api(
            "DependencyViolation",
            "resource sg-0123 has a dependent object",
        );
        assert!(dv.is_dependency_violation());
        assert!(!dv.is_retryable(), "retried only by the delete wait");
    }

    #[test]
    fn classifies_concurrent_operations_as_busy() {
        let idempotent = api(
            "InvalidParameter",
            "Cannot modify VPC Endpoint vpce-0dbb at this time because there is an \
             idempotent operation going on",
        );
        assert!(idempotent.is_busy());
        assert!(idempotent.is_retryable());
        assert!(api("IncorrectState", "The vpc is in an incorrect state").is_busy());
        assert!(api("ConcurrentTagAccess", "tags are being modified").is_busy());
        assert!(api("InvalidParameter", "Another operation is in progress").is_busy());
    }

    #[test]
    fn classifies_transient_and_fatal() {
        assert_eq!(
            classify("RequestLimitExceeded", "slow down"),
            ErrorKind::Transient
        );
        assert_eq!(classify("InternalError", "oops"), ErrorKind::Transient);
        assert!(api("Unavailable", "The service is unavailable").is_retryable());
        for code in [
            "InvalidParameterValue",
            "UnauthorizedOperation",
            "AuthFailure",
            "InvalidVpcID.Malformed",
        ] {
            let e = api(code, "bad request");
            assert_eq!(e.kind(), ErrorKind::Fatal, "{code}");
            assert!(!e.is_retryable() && !e.is_not_found() && !e.is_busy());
        }
        let no_answer = AwsError::Other {
            operation: "DescribeVpcEndpoints",
            message: "dispatch failure: connection refused".into(),
        };
        assert!(no_answer.is_retryable());
    }

    #[test]
    fn displays_one_line_with_operation_code_and_message() {
        let e = api("InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist");
        assert_eq!(
            e.to_string(),
            "EC2 CreateVpcEndpoint failed: InvalidVpcID.NotFound: The vpc ID 'vpc-1' does not exist"
        );
        assert_eq!(one_line("a\n  b\tc "), "a b c");
    }

    #[test]
    fn wait_errors_map_to_aws_errors() {
        let t = AwsError::from_wait(WaitError::TimedOut {
            address: "endpoints.a.vpc_endpoint".into(),
            step: "waiting for available".into(),
            last_state: "pending".into(),
            waited: std::time::Duration::from_secs(61),
        });
        assert_eq!(
            t.to_string(),
            "endpoints.a.vpc_endpoint: waiting for available timed out after 61s (last state: pending)"
        );
        let inner = api("AuthFailure", "bad key");
        let p = AwsError::from_wait(WaitError::Poll {
            address: "a".into(),
            step: "s".into(),
            source: inner.clone(),
        });
        assert_eq!(p, inner);
    }

    #[test]
    fn unseen_means_not_found_naming_the_new_object_or_no_object() {
        let ours = vec!["sg-0a1".to_owned()];
        let named = |code: &str, message: &str| api(code, message).is_unseen(&ours);
        assert!(named(
            "InvalidGroup.NotFound",
            "The security group 'sg-0a1' does not exist"
        ));
        assert!(named("InvalidGroup.NotFound", "does not exist"));
        // Another group named: the user's own mistake, not propagation.
        assert!(!named(
            "InvalidGroup.NotFound",
            "The security group 'sg-0ff' does not exist"
        ));
        assert!(!named("InvalidPermission.NotFound", "no such rule"));
        assert!(!named("UnauthorizedOperation", "sg-0a1"));
        let unlisted = AwsError::NotListed {
            operation: "DescribeSecurityGroups",
            id: "sg-0a1".into(),
        };
        assert!(unlisted.is_unseen(&ours) && unlisted.is_not_found());
        assert!(!unlisted.is_unseen(&["sg-0b2".to_owned()]));
        assert_eq!(
            unlisted.to_string(),
            "EC2 DescribeSecurityGroups: sg-0a1 is not listed"
        );
    }

    #[test]
    fn finds_ids_in_not_found_messages() {
        assert_eq!(
            ids_in_message("The VpcEndPoint ID 'vpce-0abc123' does not exist", "vpce-"),
            vec!["vpce-0abc123"]
        );
        assert_eq!(
            ids_in_message(
                "The Vpc Endpoint Ids 'vpce-2, vpce-1' do not exist (vpce-2)",
                "vpce-"
            ),
            vec!["vpce-1", "vpce-2"]
        );
        assert!(ids_in_message("no ids here; vpce- alone", "vpce-").is_empty());
    }
}
