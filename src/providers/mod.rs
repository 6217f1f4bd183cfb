//! The seam between the engine and the clouds.
//!
//! The engine (config → expand → plan → graph → apply) reaches the clouds
//! only through [`Provider`]: a batched `refresh`, and per-resource `create`
//! (which reports the remote id the moment the create call returns, before
//! any wait), `update` and `delete`, plus the [`Catalog`] of per-kind rules.
//!
//! Each cloud is a folder below this one that implements [`Cloud`] for the
//! kinds it manages; [`Clouds`] routes each call to the cloud that registered
//! the resource's kind. The clouds are listed in one place, [`registry`].
//! [`expand()`] turns the configuration into the resources each cloud wants.

pub mod adopt;
pub mod atlas;
pub mod aws;
pub mod azure;
pub mod clouds;
pub mod error;
pub mod expand;
pub mod parts;
pub mod preflight;
pub mod registry;
pub mod typed;

use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::model::{Address, Attrs, DesiredResource, Kind};
use crate::plan::{Catalog, LiveView, ResourceRules};
use crate::state::StateFile;
use crate::wait::Progress;

pub use clouds::Clouds;
pub use error::ProviderError;
pub use expand::expand;

/// The context of one operation on one resource.
#[derive(Clone)]
pub struct Op {
    /// The resource's address.
    pub address: Address,
    /// The resource's kind.
    pub kind: Kind,
    /// Stack name, used to tag and mark what privlink creates.
    pub stack: String,
    /// The owner of the state the operation is for (its lineage, a UUID):
    /// tags and marks what privlink creates; adoption and deletion take
    /// only what it owns.
    pub owner: String,
    /// Where waits report their progress.
    pub progress: Arc<dyn Progress>,
    /// For a create: the attempt it belongs to, recorded with the intent
    /// before the call and the same when an interrupted create is retried
    /// ([`Start::Adopt`]); a cloud derives its idempotency token from it.
    /// For a delete: the attempt that created the object (it tells how
    /// young the object is). `None` when unknown.
    pub attempt: Option<String>,
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
    /// if found and owned by this state ([`Op::owner`]), create it otherwise.
    Adopt,
}

/// Called by `create` with the remote id as soon as the create call returns;
/// the returned future resolves once the id is stored.
pub type RecordCreated<'a> =
    &'a (dyn Fn(String) -> BoxFuture<'a, Result<(), ProviderError>> + Send + Sync);

/// What the engine needs from the clouds.
pub trait Provider: Send + Sync + 'static {
    /// The rules of every kind this provider manages.
    fn catalog(&self) -> &Catalog;

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
    /// is looked up by its tags or marker first, and only one this state
    /// owns is taken. An object another state owns, or a shared one that
    /// others still use, is left in place (and said so): success too.
    fn delete(
        &self,
        op: &Op,
        id: Option<&str>,
        attrs: &Attrs,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send;
}

/// One cloud: the kinds it manages and the calls on them. Object-safe, so
/// that [`Clouds`] can hold any number of them.
pub trait Cloud: Send + Sync {
    /// The cloud's name, as shown to people ("Atlas", "AWS").
    fn name(&self) -> &'static str;

    /// The rules of each kind this cloud manages.
    fn kinds(&self) -> Vec<&'static dyn ResourceRules>;

    /// Starts, in the background, what this cloud's first calls for
    /// `desired` need before they can be sent (a loaded configuration, its
    /// clients), so that it is ready when they are. By default nothing.
    fn prepare(&self, desired: &[DesiredResource]) {
        let _ = desired;
    }

    /// Reads, in batches, every resource of this cloud's kinds in `state`
    /// (and what the `desired` ones would collide with).
    fn refresh<'a>(
        &'a self,
        state: &'a StateFile,
        desired: &'a [DesiredResource],
    ) -> BoxFuture<'a, Result<LiveView, ProviderError>>;

    /// See [`Provider::create`].
    fn create<'a, 'r: 'a>(
        &'a self,
        op: &'a Op,
        desired: &'a Attrs,
        start: Start<'a>,
        record: RecordCreated<'r>,
    ) -> BoxFuture<'a, Result<(String, Attrs), ProviderError>>;

    /// See [`Provider::update`].
    fn update<'a>(
        &'a self,
        op: &'a Op,
        id: &'a str,
        before: &'a Attrs,
        desired: &'a Attrs,
    ) -> BoxFuture<'a, Result<Attrs, ProviderError>>;

    /// See [`Provider::delete`].
    fn delete<'a>(
        &'a self,
        op: &'a Op,
        id: Option<&'a str>,
        attrs: &'a Attrs,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;

    /// Checks, in batches, what the request's subjects need (see
    /// [`preflight`]); returns every problem found. By default nothing is
    /// checked.
    fn preflight<'a>(
        &'a self,
        request: &'a preflight::Request<'a>,
    ) -> BoxFuture<'a, Result<Vec<preflight::Problem>, ProviderError>> {
        let _ = request;
        Box::pin(async { Ok(Vec::new()) })
    }
}
