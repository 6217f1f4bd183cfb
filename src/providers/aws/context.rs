//! [`AwsCloud`], the AWS side's handle (EC2 clients per region and the
//! wait policy) that every AWS kind's module adds its calls to, and what
//! those modules share: tags (stack, owner, address) and what they say of
//! ownership, rule descriptions, the error mapping.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

use super::{AwsError, Ec2, TAG_ADDRESS, TAG_STACK};
use crate::model::{Address, Attrs};
use crate::plan::Holder;
use crate::providers::adopt::{other_owner, owned_by};
use crate::providers::{Op, ProviderError};
use crate::wait::WaitPolicy;

impl From<AwsError> for ProviderError {
    fn from(e: AwsError) -> Self {
        match e {
            AwsError::Failed { .. } => ProviderError::Terminal(Box::new(e)),
            _ => ProviderError::Cloud(Box::new(e)),
        }
    }
}

/// The tag naming the state that created an object: its lineage.
pub const TAG_OWNER: &str = "privlink:owner";

/// Tags on every AWS resource privlink creates: its name, and the stack,
/// the owner (the lineage of the state creating it) and the address.
pub fn aws_tags(stack: &str, owner: &str, address: &Address, name: &str) -> Vec<(String, String)> {
    vec![
        ("Name".into(), name.to_owned()),
        (TAG_STACK.into(), stack.to_owned()),
        (TAG_OWNER.into(), owner.to_owned()),
        (TAG_ADDRESS.into(), address.to_string()),
    ]
}

/// The owner the tags name, if any.
pub fn owner_tag(tags: &BTreeMap<String, String>) -> Option<&str> {
    tags.get(TAG_OWNER).map(String::as_str)
}

/// True when the tags name `stack` and this state, `owner`, as owner: an
/// object adoption may take.
pub fn owned(tags: &BTreeMap<String, String>, stack: &str, owner: &str) -> bool {
    stack_matches(tags, stack) && owner_tag(tags).is_some_and(|o| owned_by(o, owner))
}

/// Whose an object carrying `tags` is, found by the tags of `stack`'s
/// address for a create that recorded no id, when this state must leave
/// it: another owner, or none (made before owners were recorded).
pub fn holder_of_found(
    tags: &BTreeMap<String, String>,
    stack: &str,
    owner: &str,
) -> Option<Holder> {
    if !stack_matches(tags, stack) {
        return None;
    }
    match owner_tag(tags) {
        None => Some(Holder::NoOwner),
        Some(o) => other_owner(Some(o), owner),
    }
}

/// The description of every rule privlink adds.
pub fn rule_description(stack: &str, address: &Address) -> String {
    format!("privlink {stack} {address}")
}

/// True when the tags name `stack`.
pub fn stack_matches(tags: &BTreeMap<String, String>, stack: &str) -> bool {
    tags.get(TAG_STACK).map(String::as_str) == Some(stack)
}

/// The region in a resource's attributes.
pub fn region_of(op: &Op, a: &Attrs) -> Result<String, ProviderError> {
    #[derive(serde::Deserialize)]
    struct Region {
        region: String,
    }
    Ok(crate::providers::typed::from_attrs::<Region>(op.kind, a)?.region)
}

/// The EC2 client of each region, built once by whoever needs it first.
type Clients = Arc<std::sync::Mutex<HashMap<String, Arc<OnceCell<Ec2>>>>>;

/// `region`'s client in `clients`, built from `sdk` by the first caller.
async fn client(clients: &Clients, sdk: &SdkConfig, region: &str) -> Ec2 {
    let cell = {
        let mut map = clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(region.to_owned()).or_default().clone()
    };
    let build = || async { Ec2::for_region(sdk, region) };
    cell.get_or_init(build).await.clone()
}

/// The AWS side of every endpoint.
pub struct AwsCloud {
    sdk: Arc<OnceCell<SdkConfig>>,
    ec2: Clients,
    pub(super) policy: WaitPolicy,
}

impl AwsCloud {
    /// The AWS side, waiting with `policy`.
    pub fn new(policy: WaitPolicy) -> Self {
        AwsCloud {
            sdk: Arc::new(OnceCell::new()),
            ec2: Clients::default(),
            policy,
        }
    }

    /// Loads the AWS configuration for the first of `regions` and then
    /// builds the EC2 client of each, all on a task of their own, so that
    /// the first reads find them ready. Does nothing without regions or
    /// outside a runtime.
    pub fn prepare_in_background(&self, regions: Vec<String>) {
        let Some(first) = regions.first().cloned() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let (sdk, clients) = (self.sdk.clone(), self.ec2.clone());
        tokio::spawn(async move {
            let sdk = sdk.get_or_init(|| super::load_sdk_config(first)).await;
            // One at a time, in the file's order: the first region's reads
            // need not wait for the other clients.
            for region in regions {
                client(&clients, sdk, &region).await;
            }
        });
    }

    /// The EC2 client of a region; every region's client shares one
    /// loaded configuration.
    pub async fn ec2(&self, region: &str) -> Ec2 {
        // On its own task, the load runs beside the caller's other work.
        if !self.sdk.initialized() {
            self.prepare_in_background(vec![region.to_owned()]);
        }
        let sdk = self
            .sdk
            .get_or_init(|| super::load_sdk_config(region.to_owned()))
            .await;
        client(&self.ec2, sdk, region).await
    }
}
