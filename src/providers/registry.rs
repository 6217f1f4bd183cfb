//! The one list of clouds privlink manages resources in. Adding a cloud is
//! one line in each function here (see docs/adding-a-cloud.md).

use super::Cloud;
use super::atlas::{self, AtlasClient};
use super::aws;
use crate::plan::{Catalog, ResourceRules};
use crate::wait::WaitPolicy;

/// The rules of every kind of every cloud.
pub fn kinds() -> Vec<&'static dyn ResourceRules> {
    [atlas::KINDS, aws::KINDS].concat()
}

/// The catalog of every kind of every cloud.
pub fn catalog() -> Catalog {
    Catalog::new(kinds())
}

/// Every cloud, ready to call.
pub fn clouds(atlas: &AtlasClient, policy: WaitPolicy) -> Vec<Box<dyn Cloud>> {
    vec![
        Box::new(atlas::AtlasCloud::new(atlas.clone(), policy)),
        Box::new(aws::AwsCloud::new(policy)),
    ]
}
