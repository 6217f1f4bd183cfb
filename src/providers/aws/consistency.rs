//! EC2's eventual consistency, as privlink meets it: for a while after
//! CreateSecurityGroup or CreateVpcEndpoint, EC2 may answer `*.NotFound`
//! for the new object, leave it out of describes, and list fewer network
//! interfaces for a new endpoint than it has subnets. Here: reads of one
//! object by its id (the confirmation a refresh asks for before it believes
//! an object is gone), and reads that ask again, for a bounded time, until
//! EC2 shows a new object complete.

use std::collections::BTreeMap;
use std::time::Duration;

use super::retry::retry_unseen;
use super::{AwsError, Ec2, Observed, SecurityGroupInfo, VpcEndpointInfo, types};

/// An endpoint as read, with the private IP of each network interface
/// found (by interface id).
pub type EndpointRead = (VpcEndpointInfo, BTreeMap<String, String>);

/// How much longer EC2 may take to show an object whose create `attempt`
/// began moments ago (less than
/// [`AWS_PROPAGATION_TIMEOUT`](crate::limits::AWS_PROPAGATION_TIMEOUT)
/// ago); `None` for an older one, or one of unknown age.
pub fn young(attempt: Option<&str>) -> Option<Duration> {
    let age = crate::state::attempt_age(attempt?)?;
    crate::limits::AWS_PROPAGATION_TIMEOUT.checked_sub(age)
}

/// True when the endpoint lists at least `subnets` network interfaces (one
/// per subnet) and an IP was found for each.
pub fn interfaces_complete(
    v: &VpcEndpointInfo,
    ips: &BTreeMap<String, String>,
    subnets: usize,
) -> bool {
    v.network_interface_ids.len() >= subnets
        && v.network_interface_ids
            .iter()
            .all(|eni| ips.contains_key(eni))
}

impl Ec2 {
    /// How this client asks again about objects EC2 does not show yet.
    pub(crate) fn seen_retry(&self) -> super::SeenRetry {
        self.seen
    }

    /// The group with this id, asked for by id; `None` when EC2 says it does
    /// not exist.
    pub async fn security_group(&self, id: &str) -> Result<Option<SecurityGroupInfo>, AwsError> {
        const OP: &str = "DescribeSecurityGroups";
        let out = self
            .client
            .describe_security_groups()
            .group_ids(id)
            .send()
            .observed(&self.region, OP)
            .await
            .map_err(|e| AwsError::from_sdk(OP, e));
        match out {
            Ok(out) => Ok(out
                .security_groups()
                .iter()
                .filter_map(types::security_group_info)
                .find(|g| g.id == id)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The endpoint with this id, asked for by id; `None` when EC2 says it
    /// does not exist.
    pub async fn vpc_endpoint(&self, id: &str) -> Result<Option<VpcEndpointInfo>, AwsError> {
        Ok(self
            .describe_vpc_endpoints(&[id.to_owned()])
            .await?
            .into_iter()
            .find(|v| v.id == id))
    }

    /// The group privlink has just created, once EC2 shows it: asked for by
    /// id again while EC2 says it does not exist, for at most `within`.
    pub async fn seen_security_group(
        &self,
        id: &str,
        within: Duration,
    ) -> Result<SecurityGroupInfo, AwsError> {
        let ids = [id.to_owned()];
        retry_unseen(self.seen.within(within), &ids, || async {
            self.security_group(id)
                .await?
                .ok_or_else(|| AwsError::NotListed {
                    operation: "DescribeSecurityGroups",
                    id: id.to_owned(),
                })
        })
        .await
    }

    /// The endpoint privlink has just created, once EC2 lists it (in any
    /// state): asked for again while it does not, for at most `within`;
    /// `None` if it never does.
    pub async fn seen_endpoint(
        &self,
        id: &str,
        within: Duration,
    ) -> Result<Option<VpcEndpointInfo>, AwsError> {
        let ids = [id.to_owned()];
        let found = retry_unseen(self.seen.within(within), &ids, || async {
            self.vpc_endpoint(id)
                .await?
                .ok_or_else(|| AwsError::NotListed {
                    operation: "DescribeVpcEndpoints",
                    id: id.to_owned(),
                })
        })
        .await;
        match found {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_unseen(&ids) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The endpoint privlink has just created with the IPs of its network
    /// interfaces, once EC2 shows it with one interface per subnet of its own
    /// and an IP for each: asked for again, for at most `within`, while it
    /// is missing or incomplete; then as it stands (`None` if still not
    /// listed).
    pub async fn seen_vpc_endpoint(
        &self,
        id: &str,
        within: Duration,
    ) -> Result<Option<EndpointRead>, AwsError> {
        let ids = [id.to_owned()];
        let complete = retry_unseen(self.seen.within(within), &ids, || async {
            let read = self.endpoint_with_ips(id).await?;
            match read {
                Some((v, ips)) if interfaces_complete(&v, &ips, v.subnet_ids.len()) => Ok((v, ips)),
                _ => Err(AwsError::NotListed {
                    operation: "DescribeVpcEndpoints",
                    id: id.to_owned(),
                }),
            }
        })
        .await;
        match complete {
            Ok(read) => Ok(Some(read)),
            Err(e) if e.is_unseen(&ids) => self.endpoint_with_ips(id).await,
            Err(e) => Err(e),
        }
    }

    /// The endpoint by id with the IPs of the network interfaces it lists.
    pub async fn endpoint_with_ips(&self, id: &str) -> Result<Option<EndpointRead>, AwsError> {
        let Some(v) = self.vpc_endpoint(id).await? else {
            return Ok(None);
        };
        let ips = self
            .network_interface_ips(&v.network_interface_ids)
            .await?
            .into_iter()
            .collect();
        Ok(Some((v, ips)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_are_complete_with_one_per_subnet_and_each_ip() {
        let v = VpcEndpointInfo {
            id: "vpce-1".into(),
            vpc_id: "vpc-1".into(),
            service_name: "svc".into(),
            state: "available".into(),
            subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
            security_group_ids: vec![],
            network_interface_ids: vec!["eni-1".into()],
            tags: BTreeMap::new(),
            last_error: None,
        };
        let ips: BTreeMap<String, String> = [("eni-1".to_owned(), "10.0.1.5".to_owned())].into();
        assert!(!interfaces_complete(&v, &ips, 2), "one interface of two");
        let both = VpcEndpointInfo {
            network_interface_ids: vec!["eni-1".into(), "eni-2".into()],
            ..v.clone()
        };
        assert!(!interfaces_complete(&both, &ips, 2), "no IP for eni-2 yet");
        let mut all = ips.clone();
        all.insert("eni-2".into(), "10.0.2.5".into());
        assert!(interfaces_complete(&both, &all, 2));
        assert!(interfaces_complete(&v, &ips, 1));
    }
}
