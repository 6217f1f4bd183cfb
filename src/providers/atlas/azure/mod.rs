//! Atlas's side of the Azure flow: for dedicated clusters, the project's
//! AZURE endpoint service of each Azure region (Atlas's Private Link
//! Service) and the registration of each Azure private endpoint on it; for
//! serverless instances, the link of an Azure private endpoint to the
//! instance's private endpoint.
//! Kept apart from the AWS kinds: own kinds, own calls, own [`Cloud`].
//!
//! [`Cloud`]: crate::providers::Cloud

mod client;
mod cloud;
pub mod expand;
mod kinds;
mod regions;
mod serverless;

pub use client::{AzureLink, AzureService, Target};
pub(super) use client::{classify_link, classify_service};
pub use cloud::AtlasAzureCloud;
pub use kinds::{LINK, SERVICE};
pub use regions::atlas_region;
pub use serverless::KIND as SERVERLESS_LINK;

/// The rules of the Atlas kinds of the Azure flow.
pub const KINDS: &[&dyn crate::plan::ResourceRules] = &[
    &kinds::SERVICE_RULES,
    &kinds::LINK_RULES,
    &serverless::RULES,
];
