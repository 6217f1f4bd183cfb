//! [`AwsCloud`], the AWS side's handle (EC2 clients per region and the
//! wait policy) that every AWS kind's module adds its calls to, and what
//! those modules share: tags, rule descriptions, the error mapping.

use std::collections::{BTreeMap, HashMap};

use tokio::sync::Mutex;

use super::{AwsError, Ec2, TAG_ADDRESS, TAG_STACK};
use crate::model::{Address, Attrs};
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

/// Tags on every AWS resource privlink creates.
pub fn aws_tags(stack: &str, address: &Address, name: &str) -> Vec<(String, String)> {
    vec![
        ("Name".into(), name.to_owned()),
        (TAG_STACK.into(), stack.to_owned()),
        (TAG_ADDRESS.into(), address.to_string()),
    ]
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

/// The AWS side of every endpoint.
pub struct AwsCloud {
    ec2: Mutex<HashMap<String, Ec2>>,
    pub(super) policy: WaitPolicy,
}

impl AwsCloud {
    /// The AWS side, waiting with `policy`.
    pub fn new(policy: WaitPolicy) -> Self {
        AwsCloud {
            ec2: Mutex::new(HashMap::new()),
            policy,
        }
    }

    /// The EC2 client of a region.
    pub async fn ec2(&self, region: &str) -> Ec2 {
        let mut map = self.ec2.lock().await;
        if let Some(c) = map.get(region) {
            return c.clone();
        }
        let c = Ec2::from_env(region).await;
        map.insert(region.to_owned(), c.clone());
        c
    }
}
