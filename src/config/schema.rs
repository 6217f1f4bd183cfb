//! The JSON Schema of the desired-state file, for editors and checks.
//!
//! The loader reads the file with hand-written serde seeds (see `de`), so
//! the schema comes from dedicated types that mirror the file key for key:
//! the same required and optional keys, no unknown key anywhere, the shape
//! of every id and name as a pattern, the bounds of every list, and the
//! choice between `serverless_instance` and `dedicated_clusters: true`.
//! A value holding a `${NAME}` reference is accepted as it stands: it is
//! checked once expanded, when the file is loaded.
//!
//! What the schema cannot say is left to the loader: host bits in a CIDR
//! block, values once `${VAR}` is expanded, duplicate keys (JSON has none
//! once YAML is read), and the limits on the file itself (size, encoding,
//! nesting, aliases, documents). The schema also asks for strings where the
//! loader reads any scalar as its text (`comment: 42`, `comment: ~`,
//! `serverless_instance: 123`): quoting such values satisfies both.

// The types below exist only for the schema they describe.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use schemars::{JsonSchema, Schema};

use super::de::MAX_SUBNETS;
use super::ids::COMMENT_MAX;

/// The pattern of a value: `$re` in full, or any value holding a
/// `${NAME}` reference.
macro_rules! shape {
    ($($re:expr),+ $(,)?) => {
        concat!("^(?:", $($re,)+ ")$|\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}")
    };
}

/// `<prefix>-` and 8 or 17 lowercase hexadecimal digits.
macro_rules! aws_id {
    ($prefix:literal) => {
        concat!($prefix, "-(?:[0-9a-f]{8}|[0-9a-f]{17})")
    };
}

/// An IPv4 CIDR block: four decimal octets without leading zeros and a
/// prefix length of at most 32.
macro_rules! cidr {
    () => {
        concat!(
            "(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}",
            "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
            "/(?:3[0-2]|[12]?[0-9])"
        )
    };
}

/// The JSON Schema (draft 2020-12) of the desired-state file.
pub fn file_schema() -> Schema {
    schemars::schema_for!(File)
}

/// A privlink file: the private endpoints one stack declares.
#[derive(JsonSchema)]
#[schemars(title = "privlink file", deny_unknown_fields)]
struct File {
    /// The file format version; 1 is the only one.
    version: Version,
    /// The stack name: it names the state file and tags every object
    /// privlink creates. Default: the file's stem (lower-cased, other
    /// characters replaced by `-`).
    #[schemars(default)]
    stack: StackName,
    /// Atlas settings shared by every endpoint.
    atlas: Atlas,
    /// AWS settings shared by every endpoint: the default region of the
    /// AWS endpoints. Required unless every endpoint's `aws` block names
    /// its region (or the file has Azure endpoints only).
    #[schemars(default)]
    aws: Option<Aws>,
    /// The endpoints by stable name (the name is part of every address);
    /// `{}` or empty for none.
    endpoints: Endpoints,
    /// Where the state is kept when not in the local file beside this one.
    #[schemars(default)]
    state: Option<StateBlock>,
}

/// Top-level `state`: the state kept in S3, shared by a team.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct StateBlock {
    /// An S3 bucket and key, with the lock object `<key>.lock` beside it.
    s3: S3State,
}

/// `state.s3`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct S3State {
    /// The bucket (versioning on is recommended).
    bucket: Bucket,
    /// The key of the state object.
    key: ObjectKey,
    /// The bucket's region; default: the AWS region chain, then `aws.region`.
    #[schemars(default)]
    region: Option<Region>,
}

/// An S3 bucket name.
#[derive(JsonSchema)]
struct Bucket(#[schemars(pattern(shape!("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")))] String);

/// An S3 object key, without a leading or trailing `/`.
#[derive(JsonSchema)]
struct ObjectKey(
    #[schemars(pattern(shape!("[^/](?:.*[^/])?")), length(min = 1, max = 1000))] String,
);

/// `version`: 1, or text that reads as 1.
#[derive(JsonSchema)]
#[schemars(untagged)]
enum Version {
    /// The number 1.
    Number(#[schemars(range(min = 1, max = 1))] u32),
    /// Text that reads as 1.
    Text(#[schemars(pattern(shape!("\\s*\\+?0*1\\s*")))] String),
}

/// A stack name: 1 to 40 characters from a-z, 0-9 and `-`, starting with a
/// letter or digit.
#[derive(JsonSchema, Default)]
struct StackName(#[schemars(pattern(shape!("[a-z0-9][a-z0-9-]{0,39}")))] String);

/// Top-level `atlas`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Atlas {
    /// The Atlas project (group) id.
    project_id: ProjectId,
}

/// An Atlas project id: 24 lowercase hexadecimal digits.
#[derive(JsonSchema)]
struct ProjectId(#[schemars(pattern(shape!("[0-9a-f]{24}")))] String);

/// Top-level `aws`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Aws {
    /// The AWS region of every endpoint that does not name its own.
    region: Region,
}

/// An AWS region name such as `us-east-1` or `us-gov-west-1`.
#[derive(JsonSchema, Default)]
struct Region(#[schemars(pattern(shape!("[a-z]{2}-(?:gov-)?[a-z]+-[0-9]")))] String);

/// `endpoints`: a mapping of names to endpoints, or nothing.
#[derive(JsonSchema)]
#[schemars(untagged)]
enum Endpoints {
    /// Endpoints by name.
    Named(BTreeMap<EndpointName, Endpoint>),
    /// No endpoint (`endpoints:` left empty).
    Nothing(()),
}

/// An endpoint name: 1 to 40 characters from a-z, 0-9, `_` and `-`,
/// starting with a letter.
#[derive(JsonSchema)]
#[schemars(extend("pattern" = "^[a-z][a-z0-9_-]{0,39}$"))]
struct EndpointName(String);

/// One endpoint: its Atlas side and its network side, on AWS (`aws`) or
/// on Azure (`azure`), exactly one of them.
#[derive(JsonSchema)]
#[schemars(
    deny_unknown_fields,
    extend("oneOf" = [{"required": ["aws"]}, {"required": ["azure"]}])
)]
struct Endpoint {
    /// The Atlas side: which procedure creates the endpoint.
    atlas: EndpointAtlas,
    /// The AWS side: the interface VPC endpoint and its security groups.
    #[schemars(default)]
    aws: Option<EndpointAws>,
    /// The Azure side: the private endpoint in the user's subnet.
    #[schemars(default)]
    azure: Option<EndpointAzure>,
}

/// An endpoint's `azure`: `subnet` is a full subnet resource id, or a
/// subnet name next to `vnet`.
#[derive(JsonSchema)]
#[schemars(
    deny_unknown_fields,
    extend("oneOf" = [
        {"required": ["vnet"], "properties": {"subnet": {"pattern": "^[^/]"}}},
        {"not": {"required": ["vnet"]}, "properties": {"subnet": {"pattern": "^/|\\$\\{"}}}
    ])
)]
struct EndpointAzure {
    /// The subscription; default: `AZURE_SUBSCRIPTION_ID`.
    #[schemars(default)]
    subscription: Option<Subscription>,
    /// The resource group that gets the private endpoint.
    resource_group: ResourceGroup,
    /// The Azure location of the private endpoint, e.g. `eastus2`.
    location: Location,
    /// The virtual network of the subnet, when `subnet` is a name.
    #[schemars(default)]
    vnet: Option<AzureName>,
    /// The subnet: its full resource id, or its name within `vnet`.
    subnet: AzureSubnet,
}

/// An Azure subscription id: a UUID.
#[derive(JsonSchema)]
struct Subscription(
    #[schemars(pattern(shape!("[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")))] String,
);

/// An Azure resource group name.
#[derive(JsonSchema)]
struct ResourceGroup(#[schemars(pattern(shape!("[A-Za-z0-9_.()-]{0,89}[A-Za-z0-9_()-]")))] String);

/// An Azure location such as `eastus2`.
#[derive(JsonSchema)]
struct Location(#[schemars(pattern(shape!("[a-z][a-z0-9]{1,39}")))] String);

/// An Azure network resource name.
#[derive(JsonSchema)]
struct AzureName(
    #[schemars(pattern(shape!("[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?")))] String,
);

/// A subnet resource id, or a subnet name.
#[derive(JsonSchema)]
struct AzureSubnet(
    #[schemars(pattern(shape!(
        "/subscriptions/[0-9A-Fa-f-]{36}/resource[Gg]roups/[A-Za-z0-9_.()-]{1,90}",
        "/providers/Microsoft\\.Network/virtualNetworks/[A-Za-z0-9_.-]{1,64}/subnets/[A-Za-z0-9_.-]{1,80}",
        "|[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?"
    )))]
    String,
);

/// An endpoint's `atlas`: exactly one of `serverless_instance` and
/// `dedicated_clusters: true`.
#[derive(JsonSchema)]
#[schemars(untagged, deny_unknown_fields)]
enum EndpointAtlas {
    /// A private endpoint of one serverless instance.
    Serverless {
        /// The serverless instance's name.
        serverless_instance: InstanceName,
        /// Only `false` next to `serverless_instance`.
        #[schemars(default)]
        dedicated_clusters: DedicatedOff,
        /// Free text stored on the Atlas endpoint.
        #[schemars(default)]
        comment: Comment,
    },
    /// An interface endpoint on the project's endpoint service of the
    /// region, for dedicated clusters.
    Dedicated {
        /// `true`: the dedicated-cluster flow.
        dedicated_clusters: DedicatedOn,
        /// Free text stored on the Atlas endpoint.
        #[schemars(default)]
        comment: Comment,
    },
}

/// A serverless instance name: 1 to 64 letters, digits and `-`, starting
/// with a letter or digit.
#[derive(JsonSchema)]
struct InstanceName(#[schemars(pattern(shape!("[A-Za-z0-9][A-Za-z0-9-]{0,63}")))] String);

/// `dedicated_clusters: true` (a boolean, or its text).
#[derive(JsonSchema)]
#[schemars(untagged)]
enum DedicatedOn {
    /// The boolean.
    #[schemars(extend("const" = true))]
    Boolean(bool),
    /// The boolean as text.
    Text(#[schemars(pattern(shape!("true")))] String),
}

/// `dedicated_clusters: false` (a boolean, or its text).
#[derive(JsonSchema)]
#[schemars(untagged)]
enum DedicatedOff {
    /// The boolean.
    #[schemars(extend("const" = false))]
    Boolean(bool),
    /// The boolean as text.
    Text(#[schemars(pattern(shape!("false")))] String),
}

impl Default for DedicatedOff {
    fn default() -> Self {
        DedicatedOff::Boolean(false)
    }
}

/// A comment: one line of at most 80 characters.
#[derive(JsonSchema, Default)]
struct Comment(
    #[schemars(length(max = COMMENT_MAX), pattern("^[^\\u0000-\\u001f\\u007f-\\u009f]*$"))] String,
);

/// An endpoint's `aws`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct EndpointAws {
    /// The endpoint's own AWS region; default: the top-level `aws.region`.
    #[schemars(default)]
    region: Region,
    /// The VPC that gets the interface endpoint.
    vpc_id: VpcId,
    /// The subnets of the interface endpoint: 1 to 16, each once.
    #[schemars(length(min = 1, max = MAX_SUBNETS))]
    subnet_ids: BTreeSet<SubnetId>,
    /// The security group privlink creates and owns for the endpoint.
    #[schemars(default)]
    security_group: SecurityGroup,
    /// The clients' security groups, each once: they get egress rules
    /// towards the endpoint.
    #[schemars(default)]
    client_security_groups: BTreeSet<GroupId>,
}

/// A VPC id, `vpc-` and 8 or 17 lowercase hexadecimal digits.
#[derive(JsonSchema)]
struct VpcId(#[schemars(pattern(shape!(aws_id!("vpc"))))] String);

/// A subnet id, `subnet-` and 8 or 17 lowercase hexadecimal digits.
#[derive(JsonSchema)]
struct SubnetId(#[schemars(pattern(shape!(aws_id!("subnet"))))] String);

/// A security group id, `sg-` and 8 or 17 lowercase hexadecimal digits.
#[derive(JsonSchema)]
struct GroupId(#[schemars(pattern(shape!(aws_id!("sg"))))] String);

/// The endpoint's own security group.
#[derive(JsonSchema, Default)]
#[schemars(deny_unknown_fields)]
struct SecurityGroup {
    /// Where inbound traffic is admitted from, each once; default: the
    /// client security groups.
    #[schemars(default)]
    allow_from: BTreeSet<Source>,
}

/// A traffic source: a security group id or an IPv4 CIDR block such as
/// `10.0.0.0/16` (the network address, with no host bits set).
#[derive(JsonSchema)]
struct Source(#[schemars(pattern(shape!(aws_id!("sg"), "|", cidr!())))] String);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::de;

    /// The keys of the object at `pointer` in the schema, sorted.
    fn keys(schema: &serde_json::Value, pointer: &str) -> Vec<String> {
        let mut keys: Vec<String> = schema
            .pointer(pointer)
            .and_then(|v| v.as_object())
            .unwrap_or_else(|| panic!("no object at {pointer}"))
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        keys.sort();
        keys
    }

    #[test]
    fn has_the_keys_the_loader_reads() {
        let schema = file_schema().to_value();
        assert_eq!(keys(&schema, "/properties"), sorted(de::ROOT_KEYS));
        assert_eq!(
            keys(&schema, "/$defs/Atlas/properties"),
            sorted(de::ATLAS_KEYS)
        );
        assert_eq!(keys(&schema, "/$defs/Aws/properties"), sorted(de::AWS_KEYS));
        assert_eq!(
            keys(&schema, "/$defs/StateBlock/properties"),
            sorted(de::STATE_KEYS)
        );
        assert_eq!(
            keys(&schema, "/$defs/S3State/properties"),
            sorted(de::S3_KEYS)
        );
        assert_eq!(
            keys(&schema, "/$defs/Endpoint/properties"),
            sorted(de::ENDPOINT_KEYS)
        );
        assert_eq!(
            keys(&schema, "/$defs/EndpointAws/properties"),
            sorted(de::ENDPOINT_AWS_KEYS)
        );
        assert_eq!(
            keys(&schema, "/$defs/EndpointAzure/properties"),
            sorted(de::ENDPOINT_AZURE_KEYS)
        );
        assert_eq!(
            keys(&schema, "/$defs/SecurityGroup/properties"),
            sorted(de::SECURITY_GROUP_KEYS)
        );
        assert_eq!(
            keys(&schema, "/$defs/EndpointAtlas/anyOf/0/properties"),
            sorted(de::ENDPOINT_ATLAS_KEYS)
        );
    }
}
