//! The provider surface the engine drives, and its implementation over the
//! two clouds.
//!
//! [`Provider`] is what [`crate::plan`] and [`crate::apply`] call: a batched
//! `refresh` (one list call per serverless instance or Atlas project, one EC2
//! describe per region and kind, never one call per resource), and per-kind
//! `create` (which reports the remote id the moment the create call returns,
//! before any wait), `update` and `delete`. [`clouds::Clouds`] implements it
//! with [`atlas`] (Atlas Administration API over reqwest) and [`aws`] (EC2
//! over aws-sdk-ec2).

pub mod atlas;
pub mod aws;
pub mod clouds;

use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use thiserror::Error;

use crate::model::{Address, Attrs, DesiredResource, Kind};
use crate::plan::LiveView;
use crate::state::StateFile;
use crate::wait::Progress;

pub use clouds::Clouds;

/// The context of one operation on one resource.
#[derive(Clone)]
pub struct Op {
    pub address: Address,
    pub kind: Kind,
    /// Stack name, used to tag and mark what privlink creates.
    pub stack: String,
    pub progress: Arc<dyn Progress>,
}

/// A provider failure, one line, never carrying a secret.
#[derive(Debug, Error)]
pub enum ProviderError {
    /// The remote side reached a terminal failure (Atlas FAILED or REJECTED,
    /// EC2 failed): the object is unusable and must be replaced.
    #[error("{0}")]
    Terminal(String),
    /// Anything else: the object may still become usable (timeouts, API errors).
    #[error("{0}")]
    Other(String),
    /// Writing the state file failed.
    #[error("writing state: {0}")]
    State(String),
}

impl ProviderError {
    pub fn is_terminal(&self) -> bool {
        matches!(self, ProviderError::Terminal(_))
    }
}

/// How a create starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start<'a> {
    /// Nothing was attempted before: create.
    Fresh,
    /// An earlier run's create call returned this id: wait for it.
    Resume(&'a str),
    /// An earlier run meant to create it and may have, but stopped before
    /// recording an id: look for the object by its tags or marker, adopt it
    /// if found, create it otherwise.
    Adopt,
}

/// Called by `create` with the remote id as soon as the create call returns;
/// the returned future resolves once the id is stored.
pub type RecordCreated<'a> =
    &'a (dyn Fn(String) -> BoxFuture<'a, Result<(), ProviderError>> + Send + Sync);

/// What the engine needs from the clouds.
pub trait Provider: Send + Sync + 'static {
    /// Reads everything in `state` (and what `desired` might collide with) in batches.
    fn refresh(
        &self,
        state: &StateFile,
        desired: &[DesiredResource],
    ) -> impl Future<Output = Result<LiveView, ProviderError>> + Send;

    /// Creates the object (or resumes or adopts one, see [`Start`]), calling
    /// `record` right after the create call returns. Returns the remote id
    /// and the attributes read back.
    fn create(
        &self,
        op: &Op,
        desired: &Attrs,
        start: Start<'_>,
        record: RecordCreated<'_>,
    ) -> impl Future<Output = Result<(String, Attrs), ProviderError>> + Send;

    /// Changes the object in place; returns the attributes read back.
    fn update(
        &self,
        op: &Op,
        id: &str,
        before: &Attrs,
        desired: &Attrs,
    ) -> impl Future<Output = Result<Attrs, ProviderError>> + Send;

    /// Deletes the object and waits until it is gone. Already gone is
    /// success. Without an id (a create that never recorded one), the object
    /// is looked up by its tags or marker first.
    fn delete(
        &self,
        op: &Op,
        id: Option<&str>,
        attrs: &Attrs,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send;
}
