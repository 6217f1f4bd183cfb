//! The one list of clouds privlink manages resources in: adding a cloud is
//! one entry in [`CLOUDS`] (see docs/adding-a-cloud.md).

use super::Cloud;
use super::atlas::{self, AtlasClient};
use super::{aws, azure};
use crate::plan::{Catalog, ResourceRules};
use crate::wait::WaitPolicy;

/// One registered cloud: its kinds' rules and how to make it.
pub struct Entry {
    /// The rules of every kind the cloud manages.
    pub kinds: &'static [&'static dyn ResourceRules],
    /// Makes the cloud, given the Atlas client and the wait policy.
    pub make: fn(&AtlasClient, WaitPolicy) -> Box<dyn Cloud>,
}

/// Every cloud privlink knows.
pub const CLOUDS: &[Entry] = &[
    Entry {
        kinds: atlas::KINDS,
        make: |client, policy| Box::new(atlas::AtlasCloud::new(client.clone(), policy)),
    },
    Entry {
        kinds: aws::KINDS,
        make: |_, policy| Box::new(aws::AwsCloud::new(policy)),
    },
    Entry {
        kinds: atlas::azure::KINDS,
        make: |client, policy| Box::new(atlas::azure::AtlasAzureCloud::new(client.clone(), policy)),
    },
    Entry {
        kinds: azure::KINDS,
        make: |_, policy| Box::new(azure::AzureCloud::new(policy)),
    },
];

/// The rules of every kind of every cloud.
pub fn kinds() -> Vec<&'static dyn ResourceRules> {
    CLOUDS
        .iter()
        .flat_map(|c| c.kinds.iter().copied())
        .collect()
}

/// The catalog of every kind of every cloud.
pub fn catalog() -> Catalog {
    Catalog::new(kinds())
}

/// Every cloud, ready to call.
pub fn clouds(atlas: &AtlasClient, policy: WaitPolicy) -> Vec<Box<dyn Cloud>> {
    CLOUDS.iter().map(|c| (c.make)(atlas, policy)).collect()
}
