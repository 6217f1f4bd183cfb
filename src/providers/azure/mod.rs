//! Azure side of privlink: the private endpoint in the user's subnet that
//! connects to Atlas's Private Link Service, over Azure Resource Manager.
//!
//! Credentials are a service principal's client secret
//! (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`) exchanged
//! with Microsoft Entra ID for a bearer token (`auth`); calls go to
//! Resource Manager (`arm`), both overridable by environment
//! (`AZURE_AUTHORITY_HOST`, `AZURE_RESOURCE_MANAGER_ENDPOINT`). The calls
//! are plain REST with the workspace's reqwest: one form POST for the
//! token and JSON PUT/GET/DELETE for the resources, with the engine's own
//! waits on their long-running operations.

mod arm;
mod auth;
mod cloud;
mod context;
mod error;
pub mod expand;
mod preflight;
mod private_endpoint;
mod types;

pub use context::AzureCloud;
pub use error::AzureError;
pub use private_endpoint::KIND as PRIVATE_ENDPOINT;

/// The tag naming the stack that created an object.
pub const TAG_STACK: &str = "privlink:stack";
/// The tag naming the state that created an object: its lineage.
pub const TAG_OWNER: &str = "privlink:owner";
/// The tag naming the object's address.
pub const TAG_ADDRESS: &str = "privlink:address";

/// The rules of every Azure kind.
pub const KINDS: &[&dyn crate::plan::ResourceRules] = &[&private_endpoint::RULES];
