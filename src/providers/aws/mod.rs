//! EC2 side of privlink: the endpoint's security group (seed step 6), the
//! interface VPC endpoint (seed step 3) and the client groups' egress rules
//! towards it (seed step 5).
//!
//! EC2 is reached only through aws-sdk-ec2, configured from the environment
//! by [`load_sdk_config`] once for all regions; `AWS_ENDPOINT_URL_EC2` / `AWS_ENDPOINT_URL` point it
//! at another endpoint (moto in tests), with no code path of our own.
//!
//! Conventions:
//! - Reads are batched: one (paginated) call for many ids; ids that do not
//!   exist are simply absent from the answer. EC2 is eventually consistent:
//!   an object privlink has just created may be absent, or answered
//!   `*.NotFound`, for a while; such answers about new objects are asked
//!   again for a bounded time (see [`consistency`]).
//! - Writes are idempotent where EC2 allows: a rule that exists already is
//!   success when authorizing, a missing one is success when revoking, a
//!   missing object is success when deleting.
//! - Throttling and 5xx answers are retried by the SDK (standard mode,
//!   [`SDK_MAX_ATTEMPTS`] attempts); "busy" answers to creates, modifies and
//!   deletes are retried here with backoff (see [`retry`]).
//! - Every wait goes through [`crate::wait::wait_for`].
//! - Every SDK call goes through `observed`, which logs its
//!   operation, duration and outcome and reports it while it is unanswered
//!   (see [`crate::logging`]).

mod client_egress;
mod cloud;
mod consistency;
mod context;
mod error;
pub mod expand;
mod preflight;
mod retry;
mod security_group;
mod types;
mod vpc_endpoint;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, ResourceType, Tag, TagSpecification, UserIdGroupPair,
    VpcEndpoint, VpcEndpointType,
};
use futures_util::future::try_join_all;

pub use context::AwsCloud;
pub use error::{AwsError, ErrorKind, classify};

/// Tag key carrying the stack name on every AWS resource privlink creates.
pub const TAG_STACK: &str = "privlink:stack";
/// Tag key carrying the resource address on every AWS resource privlink creates.
pub const TAG_ADDRESS: &str = "privlink:address";

/// The rules of every AWS kind.
pub const KINDS: &[&dyn crate::plan::ResourceRules] = &[
    &security_group::RULES,
    &vpc_endpoint::RULES,
    &client_egress::RULES,
];
pub use retry::{BusyRetry, SeenRetry};
pub use types::{CreateVpcEndpoint, Rule, SecurityGroupInfo, Source, VpcEndpointInfo, VpceTarget};

use crate::wait::{Poll, Progress, WaitPolicy, wait_for};
use error::ids_in_message;
use retry::{retry_busy, retry_unseen};

/// Attempts per SDK call (standard retry mode) unless `AWS_MAX_ATTEMPTS` says
/// otherwise.
pub const SDK_MAX_ATTEMPTS: u32 = 5;

/// Most values EC2 accepts in one filter; longer id lists are split.
const FILTER_CHUNK: usize = 200;

/// The protocol value that means all traffic.
const ALL_TRAFFIC: &str = "-1";

/// The connect and attempt timeouts set by [`set_timeouts`].
static TIMEOUTS: OnceLock<(Duration, Duration)> = OnceLock::new();

/// Sets, once for the process, how long the EC2 clients on
/// [`load_sdk_config`] may take to connect and to get an answer to one
/// attempt (`--connect-timeout`, `--request-timeout`). Without it they use
/// [`AWS_CONNECT_TIMEOUT`](crate::limits::AWS_CONNECT_TIMEOUT) and
/// [`AWS_ATTEMPT_TIMEOUT`](crate::limits::AWS_ATTEMPT_TIMEOUT).
pub fn set_timeouts(connect: Duration, attempt: Duration) {
    let _ = TIMEOUTS.set((connect, attempt));
}

/// Loads the standard AWS configuration (environment, profiles, SSO, …)
/// once for every region's client: the SDK's retries ([`SDK_MAX_ATTEMPTS`]
/// unless `AWS_MAX_ATTEMPTS` says otherwise), the timeouts of
/// [`set_timeouts`] and the process's HTTPS client ([`crate::tls`]).
/// `region` is the configuration's own (what credential providers such as
/// STS use); each client sets the region it reads. Naming it spares the
/// SDK's region lookup, which may ask the instance metadata service.
pub async fn load_sdk_config(region: String) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region))
        .http_client(crate::tls::aws_http_client());
    if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() {
        loader = loader.retry_config(RetryConfig::standard().with_max_attempts(SDK_MAX_ATTEMPTS));
    }
    let (connect, attempt) = TIMEOUTS.get().copied().unwrap_or((
        crate::limits::AWS_CONNECT_TIMEOUT,
        crate::limits::AWS_ATTEMPT_TIMEOUT,
    ));
    loader
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(connect)
                .operation_attempt_timeout(attempt)
                .build(),
        )
        .load()
        .await
}

/// An EC2 client for one region.
#[derive(Debug, Clone)]
pub struct Ec2 {
    client: Client,
    region: String,
    busy: BusyRetry,
    seen: SeenRetry,
}

impl Ec2 {
    /// Loads the standard AWS configuration (environment, profiles, SSO, …)
    /// for `region`.
    pub async fn from_env(region: &str) -> Self {
        Self::for_region(&load_sdk_config(region.to_owned()).await, region)
    }

    /// A client of `region` on an already loaded configuration.
    pub fn for_region(sdk_config: &SdkConfig, region: &str) -> Self {
        let conf = aws_sdk_ec2::config::Builder::from(sdk_config)
            .region(Region::new(region.to_owned()))
            .build();
        Ec2 {
            client: Client::from_conf(conf),
            region: region.to_owned(),
            busy: BusyRetry::default(),
            seen: SeenRetry::default(),
        }
    }

    /// Uses an already loaded configuration as is.
    pub async fn from_conf(sdk_config: &SdkConfig) -> Self {
        Ec2 {
            client: Client::new(sdk_config),
            region: sdk_config
                .region()
                .map(|r| r.as_ref().to_owned())
                .unwrap_or_default(),
            busy: BusyRetry::default(),
            seen: SeenRetry::default(),
        }
    }

    /// Replaces the backoff used for busy answers (tests shorten it).
    pub fn with_busy_retry(mut self, busy: BusyRetry) -> Self {
        self.busy = busy;
        self
    }

    /// Replaces how long, and how often, an object privlink has just created
    /// is asked for again while EC2 does not show it (tests shorten it).
    pub fn with_seen_retry(mut self, seen: SeenRetry) -> Self {
        self.seen = seen;
        self
    }

    /// The region this client talks to.
    pub fn region(&self) -> &str {
        &self.region
    }

    // ----- security groups -------------------------------------------------

    /// Creates a security group in `vpc_id`, tagged at creation; returns its id.
    pub async fn create_security_group(
        &self,
        vpc_id: &str,
        name: &str,
        description: &str,
        tags: &[(String, String)],
    ) -> Result<String, AwsError> {
        const OP: &str = "CreateSecurityGroup";
        let spec = tag_spec(ResourceType::SecurityGroup, tags);
        let spec = &spec;
        let out = retry_busy(self.busy, || async move {
            self.client
                .create_security_group()
                .vpc_id(vpc_id)
                .group_name(name)
                .description(description)
                .set_tag_specifications(spec.clone())
                .send()
                .observed(&self.region, OP)
                .await
                .map_err(|e| AwsError::from_sdk(OP, e))
        })
        .await?;
        out.group_id()
            .map(str::to_owned)
            .ok_or_else(|| AwsError::missing(OP, "GroupId"))
    }

    /// Reads the groups with these ids in one (paginated) call; ids that do
    /// not exist are absent from the answer.
    pub async fn describe_security_groups(
        &self,
        ids: &[String],
    ) -> Result<Vec<SecurityGroupInfo>, AwsError> {
        let ids = unique(ids);
        let chunks = try_join_all(ids.chunks(FILTER_CHUNK).map(|chunk| {
            without_missing(chunk, "sg-", |wanted| {
                self.security_groups(vec![filter("group-id", &wanted)])
            })
        }))
        .await?;
        let mut out: Vec<SecurityGroupInfo> = chunks.into_iter().flatten().collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The groups tagged `key` = `value`.
    pub async fn find_security_groups_by_tag(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<SecurityGroupInfo>, AwsError> {
        let mut out = self
            .security_groups(vec![filter(&format!("tag:{key}"), &[value.to_owned()])])
            .await?;
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The groups named `name` in `vpc_id` (at most one: EC2 keeps names
    /// unique in a VPC).
    pub async fn find_security_groups_named(
        &self,
        vpc_id: &str,
        name: &str,
    ) -> Result<Vec<SecurityGroupInfo>, AwsError> {
        self.security_groups(vec![
            filter("vpc-id", &[vpc_id.to_owned()]),
            filter("group-name", &[name.to_owned()]),
        ])
        .await
    }

    async fn security_groups(&self, f: Vec<Filter>) -> Result<Vec<SecurityGroupInfo>, AwsError> {
        const OP: &str = "DescribeSecurityGroups";
        let mut pages = self
            .client
            .describe_security_groups()
            .set_filters(Some(f))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = next_page(&self.region, OP, pages.next()).await {
            let page = page.map_err(|e| AwsError::from_sdk(OP, e))?;
            out.extend(
                page.security_groups()
                    .iter()
                    .filter_map(types::security_group_info),
            );
        }
        Ok(out)
    }

    /// Allows all inbound traffic from each source. Rules that exist already
    /// are success.
    pub async fn authorize_ingress(
        &self,
        group_id: &str,
        sources: &[Source],
        description: &str,
    ) -> Result<(), AwsError> {
        let rules = with_description(sources, description);
        self.change_rules(RuleChange::AuthorizeIngress, group_id, rules)
            .await
    }

    /// Removes the all-traffic inbound rules from each source. Rules (or a
    /// group) that do not exist are success.
    pub async fn revoke_ingress(&self, group_id: &str, sources: &[Source]) -> Result<(), AwsError> {
        self.revoke(RuleChange::RevokeIngress, group_id, sources)
            .await
    }

    /// Allows all outbound traffic to each CIDR (e.g. `10.0.1.17/32`). Rules
    /// that exist already are success.
    pub async fn authorize_egress(
        &self,
        group_id: &str,
        cidrs: &[String],
        description: &str,
    ) -> Result<(), AwsError> {
        let sources: Vec<Source> = cidrs.iter().cloned().map(Source::Cidr).collect();
        let rules = with_description(&sources, description);
        self.change_rules(RuleChange::AuthorizeEgress, group_id, rules)
            .await
    }

    /// Removes the all-traffic outbound rules to each CIDR. Rules (or a group)
    /// that do not exist are success.
    pub async fn revoke_egress(&self, group_id: &str, cidrs: &[String]) -> Result<(), AwsError> {
        let sources: Vec<Source> = cidrs.iter().cloned().map(Source::Cidr).collect();
        self.revoke(RuleChange::RevokeEgress, group_id, &sources)
            .await
    }

    /// Reads the group first and revokes the matching rules exactly as EC2
    /// lists them (descriptions included): a rule is identified without its
    /// description, but moto, for one, matches group sources only with it.
    /// Nothing listed means nothing to do and no further call.
    async fn revoke(
        &self,
        change: RuleChange,
        group_id: &str,
        sources: &[Source],
    ) -> Result<(), AwsError> {
        if sources.is_empty() {
            return Ok(());
        }
        let Some(group) = self
            .describe_security_groups(&[group_id.to_owned()])
            .await?
            .into_iter()
            .next()
        else {
            return Ok(());
        };
        let listed = match change {
            RuleChange::RevokeEgress => &group.egress,
            _ => &group.ingress,
        };
        let (all, narrow): (Vec<&Rule>, Vec<&Rule>) = listed
            .iter()
            .filter(|r| sources.contains(&r.source))
            .partition(|r| r.protocol == ALL_TRAFFIC);
        let rules = all
            .iter()
            .map(|r| (r.source.clone(), r.description.clone()))
            .collect();
        self.change_rules(change, group_id, rules).await?;
        // Rules for one protocol or port range go one by one, exactly as EC2
        // lists them; only in the ingress of the group privlink owns, never
        // in a client group's egress, where such a rule is the user's own.
        if !matches!(change, RuleChange::RevokeIngress) {
            return Ok(());
        }
        for rule in narrow {
            match self
                .send_rules(change, group_id, narrow_permission(rule))
                .await
            {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// One call for all rules; when EC2 refuses it because one rule exists
    /// (authorize) or is missing (revoke), which fails the whole call, each
    /// rule is sent on its own and those answers are ignored.
    async fn change_rules(
        &self,
        change: RuleChange,
        group_id: &str,
        mut rules: Vec<(Source, Option<String>)>,
    ) -> Result<(), AwsError> {
        rules.sort();
        rules.dedup();
        if rules.is_empty() {
            return Ok(());
        }
        let harmless = |e: &AwsError| match change {
            RuleChange::AuthorizeIngress | RuleChange::AuthorizeEgress => e.is_duplicate(),
            // No group, no rules: nothing left to revoke.
            RuleChange::RevokeIngress | RuleChange::RevokeEgress => e.is_not_found(),
        };
        match self.send_rules(change, group_id, permission(&rules)).await {
            Ok(()) => Ok(()),
            Err(e) if harmless(&e) && rules.len() > 1 => {
                for rule in &rules {
                    let one = permission(std::slice::from_ref(rule));
                    match self.send_rules(change, group_id, one).await {
                        Err(e) if !harmless(&e) => return Err(e),
                        _ => {}
                    }
                }
                Ok(())
            }
            Err(e) if harmless(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn send_rules(
        &self,
        change: RuleChange,
        group_id: &str,
        perm: IpPermission,
    ) -> Result<(), AwsError> {
        let perm = &perm;
        let op = change.operation();
        retry_busy(self.busy, || async move {
            let c = &self.client;
            // The four calls differ only in the SDK builder that sends them.
            macro_rules! send {
                ($call:ident) => {
                    c.$call()
                        .group_id(group_id)
                        .ip_permissions(perm.clone())
                        .send()
                        .observed(&self.region, op)
                        .await
                        .map(drop)
                        .map_err(|e| AwsError::from_sdk(op, e))
                };
            }
            match change {
                RuleChange::AuthorizeIngress => send!(authorize_security_group_ingress),
                RuleChange::RevokeIngress => send!(revoke_security_group_ingress),
                RuleChange::AuthorizeEgress => send!(authorize_security_group_egress),
                RuleChange::RevokeEgress => send!(revoke_security_group_egress),
            }
        })
        .await
    }

    /// Deletes a security group. A missing group is success. While EC2
    /// answers `DependencyViolation` (endpoint network interfaces linger for
    /// minutes after the endpoint is deleted) the delete is retried with
    /// backoff until `policy.timeout`, reporting progress for `address`.
    pub async fn delete_security_group(
        &self,
        id: &str,
        address: &str,
        policy: WaitPolicy,
        progress: &dyn Progress,
    ) -> Result<(), AwsError> {
        const OP: &str = "DeleteSecurityGroup";
        wait_for(
            address,
            "deleting the security group",
            policy,
            progress,
            || async move {
                let res = self
                    .client
                    .delete_security_group()
                    .group_id(id)
                    .send()
                    .observed(&self.region, OP)
                    .await
                    .map(drop)
                    .map_err(|e| AwsError::from_sdk(OP, e));
                delete_group_poll(res)
            },
        )
        .await
        .map_err(AwsError::from_wait)
    }

    // ----- VPC endpoints ---------------------------------------------------

    /// Creates an interface endpoint, tagged at creation, with the request's
    /// client token (EC2 answers a repeated token with the first endpoint).
    pub async fn create_vpc_endpoint(
        &self,
        req: &CreateVpcEndpoint,
    ) -> Result<VpcEndpointInfo, AwsError> {
        const OP: &str = "CreateVpcEndpoint";
        let spec = tag_spec(ResourceType::VpcEndpoint, &req.tags);
        let spec = &spec;
        // The endpoint's security group may be new: EC2 may not know it yet.
        let groups = &req.security_group_ids;
        let out = retry_unseen(self.seen, groups, || {
            retry_busy(self.busy, || async move {
                self.client
                    .create_vpc_endpoint()
                    .vpc_endpoint_type(VpcEndpointType::Interface)
                    .vpc_id(&req.vpc_id)
                    .service_name(&req.service_name)
                    .set_subnet_ids(Some(req.subnet_ids.clone()))
                    .set_security_group_ids(Some(req.security_group_ids.clone()))
                    .set_tag_specifications(spec.clone())
                    .set_client_token(Some(req.client_token.clone()).filter(|t| !t.is_empty()))
                    .send()
                    .observed(&self.region, OP)
                    .await
                    .map_err(|e| AwsError::from_sdk(OP, e))
            })
        })
        .await?;
        out.vpc_endpoint()
            .and_then(types::vpc_endpoint_info)
            .ok_or_else(|| AwsError::missing(OP, "VpcEndpoint"))
    }

    /// The endpoints tagged `key` = `value`, deleted ones included (state
    /// `deleted`): callers decide what to do with those.
    pub async fn describe_vpc_endpoints_by_tag(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<VpcEndpointInfo>, AwsError> {
        let f = filter(&format!("tag:{key}"), &[value.to_owned()]);
        self.endpoints(None, Some(f)).await
    }

    /// The endpoints with these ids; ids that do not exist are absent.
    pub async fn describe_vpc_endpoints(
        &self,
        ids: &[String],
    ) -> Result<Vec<VpcEndpointInfo>, AwsError> {
        self.endpoints_by_id(ids).await
    }

    /// EC2 fails the whole call with `InvalidVpcEndpointId.NotFound` when one
    /// id is missing: see [`without_missing`].
    async fn endpoints_by_id(&self, ids: &[String]) -> Result<Vec<VpcEndpointInfo>, AwsError> {
        let mut out = without_missing(ids, "vpce-", |wanted| async move {
            self.endpoints(Some(&wanted), None).await
        })
        .await?;
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn endpoints(
        &self,
        ids: Option<&[String]>,
        f: Option<Filter>,
    ) -> Result<Vec<VpcEndpointInfo>, AwsError> {
        const OP: &str = "DescribeVpcEndpoints";
        let mut pages = self
            .client
            .describe_vpc_endpoints()
            .set_vpc_endpoint_ids(ids.map(<[String]>::to_vec))
            .set_filters(f.map(|f| vec![f]))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = next_page(&self.region, OP, pages.next()).await {
            let page = page.map_err(|e| AwsError::from_sdk(OP, e))?;
            out.extend(
                page.vpc_endpoints()
                    .iter()
                    .filter_map(|e: &VpcEndpoint| types::vpc_endpoint_info(e)),
            );
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Adds and removes subnets and security groups of an endpoint. Nothing
    /// to change means no call.
    pub async fn modify_vpc_endpoint(
        &self,
        id: &str,
        add_subnets: &[String],
        remove_subnets: &[String],
        add_groups: &[String],
        remove_groups: &[String],
    ) -> Result<(), AwsError> {
        const OP: &str = "ModifyVpcEndpoint";
        if add_subnets.is_empty()
            && remove_subnets.is_empty()
            && add_groups.is_empty()
            && remove_groups.is_empty()
        {
            return Ok(());
        }
        let some = |v: &[String]| (!v.is_empty()).then(|| v.to_vec());
        retry_busy(self.busy, || async move {
            self.client
                .modify_vpc_endpoint()
                .vpc_endpoint_id(id)
                .set_add_subnet_ids(some(add_subnets))
                .set_remove_subnet_ids(some(remove_subnets))
                .set_add_security_group_ids(some(add_groups))
                .set_remove_security_group_ids(some(remove_groups))
                .send()
                .observed(&self.region, OP)
                .await
                .map(drop)
                .map_err(|e| AwsError::from_sdk(OP, e))
        })
        .await
    }

    /// Starts deleting an endpoint (see [`Ec2::wait_vpc_endpoint`] with
    /// [`VpceTarget::Gone`]). A missing endpoint is success.
    pub async fn delete_vpc_endpoint(&self, id: &str) -> Result<(), AwsError> {
        const OP: &str = "DeleteVpcEndpoints";
        let res = retry_busy(self.busy, || async move {
            let out = self
                .client
                .delete_vpc_endpoints()
                .vpc_endpoint_ids(id)
                .send()
                .observed(&self.region, OP)
                .await
                .map_err(|e| AwsError::from_sdk(OP, e))?;
            // EC2 reports per-id failures in the answer, not as an error.
            match out.unsuccessful().iter().find_map(|u| u.error()) {
                None => Ok(()),
                Some(err) => Err(AwsError::Api {
                    operation: OP,
                    code: err.code().unwrap_or("Unsuccessful").to_owned(),
                    message: err.message().unwrap_or("no message").to_owned(),
                }),
            }
        })
        .await;
        match res {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        }
    }

    /// Waits until the endpoint reaches `target`, reporting progress for
    /// `address`. [`VpceTarget::Available`] returns the endpoint once it is
    /// `available` or `pendingAcceptance`, and fails on `failed`, `rejected`
    /// and the like; [`VpceTarget::Gone`] returns `None` once it is absent
    /// or `deleted`.
    pub async fn wait_vpc_endpoint(
        &self,
        id: &str,
        target: VpceTarget,
        address: &str,
        policy: WaitPolicy,
        progress: &dyn Progress,
    ) -> Result<Option<VpcEndpointInfo>, AwsError> {
        let ids = [id.to_owned()];
        let ids = &ids;
        wait_for(address, target.step(), policy, progress, || async move {
            let found = self.endpoints_by_id(ids).await?.into_iter().next();
            Ok::<_, AwsError>(types::endpoint_poll(target, found))
        })
        .await
        .map_err(AwsError::from_wait)
    }

    /// The primary private IP of each network interface: one call per 200
    /// ids, all at once; interfaces that do not exist are absent. Sorted by
    /// interface id.
    pub async fn network_interface_ips(
        &self,
        eni_ids: &[String],
    ) -> Result<Vec<(String, String)>, AwsError> {
        const OP: &str = "DescribeNetworkInterfaces";
        let ids = unique(eni_ids);
        let chunks = try_join_all(ids.chunks(FILTER_CHUNK).map(|chunk| async move {
            let mut found = Vec::new();
            let mut pages = self
                .client
                .describe_network_interfaces()
                .filters(filter("network-interface-id", chunk))
                .into_paginator()
                .send();
            while let Some(page) = next_page(&self.region, OP, pages.next()).await {
                let page = page.map_err(|e| AwsError::from_sdk(OP, e))?;
                for eni in page.network_interfaces() {
                    if let (Some(id), Some(ip)) =
                        (eni.network_interface_id(), eni.private_ip_address())
                    {
                        found.push((id.to_owned(), ip.to_owned()));
                    }
                }
            }
            Ok::<_, AwsError>(found)
        }))
        .await?;
        let mut out: Vec<(String, String)> = chunks.into_iter().flatten().collect();
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// Logs and watches one EC2 call: see [`observed`].
trait Observed<T, E>: Future<Output = Result<T, E>> + Sized
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    /// This call, logged and watched as `op` in `region`.
    fn observed(self, region: &str, op: &'static str) -> impl Future<Output = Result<T, E>> {
        observed(region, op, self)
    }
}

impl<F, T, E> Observed<T, E> for F
where
    F: Future<Output = Result<T, E>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
}

/// Runs one EC2 call (`op`, SDK retries included): logs its duration and
/// outcome, and reports it every
/// [`PROGRESS_INTERVAL`](crate::limits::PROGRESS_INTERVAL) while it is
/// unanswered. Only the operation, the region and EC2's error code and
/// message (or the transport's error) are logged, never a request.
async fn observed<T, E>(
    region: &str,
    op: &'static str,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    observe(region, op, call, |_| true).await
}

/// The next page of a paginated read (`next`), observed as one call; the
/// paginator's end sends no request and is not logged as a call.
async fn next_page<T, E>(
    region: &str,
    op: &'static str,
    next: impl Future<Output = Option<Result<T, E>>>,
) -> Option<Result<T, E>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let call = async { next.await.transpose() };
    observe(region, op, call, |out| !matches!(out, Ok(None)))
        .await
        .transpose()
}

/// [`observed`], logging the answer only when `was_call` says a request
/// was made.
async fn observe<T, E>(
    region: &str,
    op: &'static str,
    call: impl Future<Output = Result<T, E>>,
    was_call: impl Fn(&Result<T, E>) -> bool,
) -> Result<T, E>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    tracing::debug!(region, operation = op, "EC2 call sent");
    let started = Instant::now();
    let subject = format!("EC2 {region} ({op})");
    let out = crate::logging::watch(&subject, call).await;
    if !was_call(&out) {
        return out;
    }
    let duration_ms = crate::logging::millis(started.elapsed());
    match &out {
        Ok(_) => tracing::info!(
            region,
            operation = op,
            duration_ms,
            outcome = "ok",
            "EC2 call"
        ),
        Err(e) => tracing::info!(
            region,
            operation = op,
            duration_ms,
            outcome = e.code().unwrap_or("error"),
            error = %DisplayErrorContext(e),
            "EC2 call"
        ),
    }
    out
}

/// The four rule-changing calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleChange {
    AuthorizeIngress,
    RevokeIngress,
    AuthorizeEgress,
    RevokeEgress,
}

impl RuleChange {
    fn operation(self) -> &'static str {
        match self {
            RuleChange::AuthorizeIngress => "AuthorizeSecurityGroupIngress",
            RuleChange::RevokeIngress => "RevokeSecurityGroupIngress",
            RuleChange::AuthorizeEgress => "AuthorizeSecurityGroupEgress",
            RuleChange::RevokeEgress => "RevokeSecurityGroupEgress",
        }
    }
}

/// Pairs each source with the description; an empty one is left out.
fn with_description(sources: &[Source], description: &str) -> Vec<(Source, Option<String>)> {
    let desc = (!description.is_empty()).then(|| description.to_owned());
    sources.iter().map(|s| (s.clone(), desc.clone())).collect()
}

/// One all-traffic permission for the sources, each with its description.
fn permission(rules: &[(Source, Option<String>)]) -> IpPermission {
    let mut p = IpPermission::builder().ip_protocol(ALL_TRAFFIC);
    for (source, desc) in rules {
        p = match source {
            Source::Group(g) => p.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(g)
                    .set_description(desc.clone())
                    .build(),
            ),
            Source::Cidr(c) => p.ip_ranges(
                IpRange::builder()
                    .cidr_ip(c)
                    .set_description(desc.clone())
                    .build(),
            ),
        };
    }
    p.build()
}

/// The permission of one rule for a protocol and port range.
fn narrow_permission(rule: &Rule) -> IpPermission {
    let p = IpPermission::builder()
        .ip_protocol(&rule.protocol)
        .set_from_port(rule.from_port)
        .set_to_port(rule.to_port);
    let desc = rule.description.clone();
    match &rule.source {
        Source::Group(g) => p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(g)
                .set_description(desc)
                .build(),
        ),
        Source::Cidr(c) => p.ip_ranges(IpRange::builder().cidr_ip(c).set_description(desc).build()),
    }
    .build()
}

/// What one delete attempt means for the delete-security-group wait.
fn delete_group_poll(res: Result<(), AwsError>) -> Result<Poll<()>, AwsError> {
    match res {
        Ok(()) => Ok(Poll::Ready(())),
        Err(e) if e.is_not_found() => Ok(Poll::Ready(())),
        Err(e) if e.is_dependency_violation() || e.is_busy() => {
            Ok(Poll::Pending(e.code().unwrap_or("busy").to_owned()))
        }
        Err(e) => Err(e),
    }
}

fn tag_spec(kind: ResourceType, tags: &[(String, String)]) -> Option<Vec<TagSpecification>> {
    if tags.is_empty() {
        return None;
    }
    let tags = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    Some(vec![
        TagSpecification::builder()
            .resource_type(kind)
            .set_tags(Some(tags))
            .build(),
    ])
}

/// Reads `ids` with `read`. EC2 fails a whole read by ids with `*.NotFound`
/// when one of them is missing: the missing ids (those with `prefix` the
/// message names) are left out and the read repeated; only if the message
/// names none of them is each id read on its own. Missing ids are absent
/// from the answer.
async fn without_missing<T, F, Fut>(
    ids: &[String],
    prefix: &str,
    read: F,
) -> Result<Vec<T>, AwsError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, AwsError>>,
{
    let mut wanted = unique(ids);
    while !wanted.is_empty() {
        let message = match read(wanted.clone()).await {
            Ok(found) => return Ok(found),
            Err(AwsError::Api { message, code, .. })
                if classify(&code, &message) == ErrorKind::NotFound =>
            {
                message
            }
            Err(e) => return Err(e),
        };
        let missing = ids_in_message(&message, prefix);
        let before = wanted.len();
        wanted.retain(|id| !missing.contains(id));
        if wanted.len() == before {
            let mut out = Vec::new();
            for id in wanted {
                match read(vec![id]).await {
                    Ok(found) => out.extend(found),
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
            return Ok(out);
        }
    }
    Ok(Vec::new())
}

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

fn unique(ids: &[String]) -> Vec<String> {
    ids.iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn api(code: &str) -> AwsError {
        AwsError::Api {
            operation: "DeleteSecurityGroup",
            code: code.into(),
            message: "m".into(),
        }
    }

    #[test]
    fn delete_group_waits_through_dependency_violation() {
        assert_eq!(
            delete_group_poll(Err(api("DependencyViolation"))),
            Ok(Poll::Pending("DependencyViolation".into()))
        );
        assert_eq!(delete_group_poll(Ok(())), Ok(Poll::Ready(())));
        assert_eq!(
            delete_group_poll(Err(api("InvalidGroup.NotFound"))),
            Ok(Poll::Ready(()))
        );
        assert_eq!(
            delete_group_poll(Err(api("UnauthorizedOperation"))),
            Err(api("UnauthorizedOperation"))
        );
    }

    #[tokio::test]
    async fn delete_group_wait_times_out_while_dependency_lingers() {
        let policy = WaitPolicy {
            timeout: Duration::from_millis(30),
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        };
        let out = wait_for(
            "endpoints.a.security_group",
            "deleting",
            policy,
            &crate::wait::NoProgress,
            || async { delete_group_poll(Err(api("DependencyViolation"))) },
        )
        .await
        .map_err(AwsError::from_wait);
        match out.unwrap_err() {
            AwsError::Timeout { last_state, .. } => assert_eq!(last_state, "DependencyViolation"),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn permission_puts_groups_in_pairs_and_cidrs_in_ranges() {
        let rules = with_description(
            &[
                Source::Group("sg-1".into()),
                Source::Cidr("10.0.0.0/16".into()),
            ],
            "privlink",
        );
        let p = permission(&rules);
        assert_eq!(p.ip_protocol(), Some("-1"));
        assert_eq!(p.from_port(), None);
        assert_eq!(p.user_id_group_pairs()[0].group_id(), Some("sg-1"));
        assert_eq!(p.user_id_group_pairs()[0].description(), Some("privlink"));
        assert_eq!(p.ip_ranges()[0].cidr_ip(), Some("10.0.0.0/16"));
        let bare = permission(&with_description(&[Source::Cidr("10.0.0.1/32".into())], ""));
        assert_eq!(bare.ip_ranges()[0].description(), None);
    }

    #[test]
    fn no_tags_means_no_tag_specification() {
        assert!(tag_spec(ResourceType::VpcEndpoint, &[]).is_none());
        let spec = tag_spec(ResourceType::VpcEndpoint, &[("a".into(), "b".into())]).unwrap();
        assert_eq!(spec[0].resource_type(), Some(&ResourceType::VpcEndpoint));
        assert_eq!(spec[0].tags()[0].key(), Some("a"));
    }
}
