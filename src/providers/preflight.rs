//! Preflight: what each cloud checks before a plan proposes to create or
//! change anything, and after a delete met an object's container gone.
//!
//! Before a create, the things the file names must exist where it says
//! (the Atlas project, its serverless instance or a cluster in the
//! endpoint's region, the VPC, its subnets, the client security groups):
//! each cloud reads them in batches and reports every [`Problem`] at once,
//! and the plan stops with a [`PreflightError`] before any create call.
//! When an object is gone, the same reads say whether what contains it (a
//! project, a serverless instance) is gone too, so that its delete is done
//! rather than an error forever.

use std::collections::BTreeSet;
use std::fmt;

use thiserror::Error;

use super::parts::Site;
use crate::model::{Address, Attrs, DesiredResource, Kind};

/// Why a cloud is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The plan would create or change the subjects: everything they need
    /// must exist, in the right place.
    Create,
    /// The subjects were not found, or could not be deleted: is what
    /// contains them (a project, a serverless instance) gone?
    Gone,
}

/// One resource a preflight looks at.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// The resource's address.
    pub address: &'a Address,
    /// The resource's kind.
    pub kind: Kind,
    /// Its attributes: desired (references unresolved) before a create,
    /// as recorded in the state after a failed delete.
    pub attrs: &'a Attrs,
    /// Where the endpoint's network side is, when the file says.
    pub site: Option<Site>,
}

/// What one cloud is asked to check.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Why.
    pub purpose: Purpose,
    /// The resources of this cloud's kinds to check.
    pub subjects: Vec<Subject<'a>>,
    /// Every resource the file wants (empty without a file), for what a
    /// subject needs from its neighbours (the VPC of a client egress rule is
    /// that of its endpoint's security group).
    pub desired: &'a [DesiredResource],
}

/// One thing the file names that is not where it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file, e.g. `endpoints.app` or `atlas.project_id`.
    pub at: String,
    /// What is wrong: the thing, and what was found instead.
    pub message: String,
    /// The resources it concerns.
    pub addresses: BTreeSet<Address>,
    /// The missing thing contains those resources (a project, a serverless
    /// instance): they cannot exist either.
    pub container_missing: bool,
}

impl Problem {
    /// A problem at `at` concerning `address`.
    pub fn new(at: impl Into<String>, message: impl Into<String>, address: &Address) -> Self {
        Problem {
            at: at.into(),
            message: message.into(),
            addresses: BTreeSet::from([address.clone()]),
            container_missing: false,
        }
    }

    /// The same problem, saying that what is missing contains its resources.
    pub fn container(mut self) -> Self {
        self.container_missing = true;
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Where in the file a resource comes from: its endpoint (`endpoints.app`),
/// or its own address for a shared one.
pub fn origin(address: &Address) -> String {
    match address.endpoint_name() {
        Some(name) => format!("endpoints.{name}"),
        None => address.to_string(),
    }
}

/// The problems with the same message told once: their places joined,
/// their resources together; in a stable order.
pub fn merge(problems: Vec<Problem>) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    for p in problems {
        match out.iter_mut().find(|o| o.message == p.message) {
            Some(o) => {
                if !o.at.split(", ").any(|a| a == p.at) {
                    o.at = format!("{}, {}", o.at, p.at);
                }
                o.addresses.extend(p.addresses);
                o.container_missing |= p.container_missing;
            }
            None => out.push(p),
        }
    }
    out.sort_by(|a, b| (&a.at, &a.message).cmp(&(&b.at, &b.message)));
    out
}

/// A list of names for a message: at most `MAX_LISTED`, then how many more;
/// `none` when empty.
pub fn listing(names: &[String]) -> String {
    const MAX_LISTED: usize = 10;
    if names.is_empty() {
        return "none".to_owned();
    }
    let shown = names[..names.len().min(MAX_LISTED)].join(", ");
    match names.len().saturating_sub(MAX_LISTED) {
        0 => shown,
        more => format!("{shown}, and {more} more"),
    }
}

/// The plan names things that do not exist: every problem, and nothing
/// was created.
#[derive(Debug, Error)]
#[error(
    "the file names what Atlas or AWS does not have, so nothing was planned or created:{}",
    lines(.problems)
)]
pub struct PreflightError {
    /// Every problem found, merged.
    pub problems: Vec<Problem>,
}

fn lines(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n  {p}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(at: &str, message: &str, address: &str) -> Problem {
        Problem::new(at, message, &Address::new(address))
    }

    #[test]
    fn same_message_is_told_once_with_every_place() {
        let merged = merge(vec![
            problem("endpoints.b", "no cluster in eu-west-1", "endpoints.b.link"),
            problem(
                "endpoint_services.aws.eu-west-1",
                "no cluster in eu-west-1",
                "endpoint_services.aws.eu-west-1",
            ),
            problem("endpoints.b", "no cluster in eu-west-1", "endpoints.b.link"),
            problem(
                "endpoints.a",
                "subnet 'subnet-1' is not in VPC vpc-1",
                "endpoints.a.x",
            )
            .container(),
        ]);
        assert_eq!(merged.len(), 2, "{merged:?}");
        assert_eq!(merged[0].at, "endpoints.a");
        assert!(merged[0].container_missing);
        assert_eq!(merged[1].at, "endpoints.b, endpoint_services.aws.eu-west-1");
        assert_eq!(merged[1].addresses.len(), 2);
        let err = PreflightError { problems: merged };
        let text = err.to_string();
        assert!(
            text.ends_with(
                "\n  endpoints.a: subnet 'subnet-1' is not in VPC vpc-1\n  endpoints.b, endpoint_services.aws.eu-west-1: no cluster in eu-west-1"
            ),
            "{text}"
        );
    }

    #[test]
    fn listings_are_bounded() {
        assert_eq!(listing(&[]), "none");
        let names: Vec<String> = (0..12).map(|i| format!("n{i}")).collect();
        assert_eq!(
            listing(&names),
            "n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, and 2 more"
        );
        assert_eq!(origin(&Address::new("endpoints.app.link")), "endpoints.app");
        assert_eq!(
            origin(&Address::new("endpoint_services.aws.us-east-1")),
            "endpoint_services.aws.us-east-1"
        );
    }
}
