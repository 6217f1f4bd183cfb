//! `privlink import ADDRESS ID`: adopts an object that already exists in
//! Atlas or AWS into the state, under the address the configuration gives
//! it, so that the next plan shows only real differences.
//!
//! An object whose tags or marker name another privlink state as owner is
//! refused (exit 1, the owner shown) unless `--force`; imported anyway, it
//! keeps its owner, and this state's deletes leave it in place.
//!
//! One id scheme for every kind: ID is the id the owning cloud gives the
//! object, exactly as its API or console shows it. Everything else (project,
//! instance, region, endpoint service) comes from the configuration.
//!
//! | address | ID |
//! |---|---|
//! | `endpoint_services.aws.<region>` | Atlas endpoint service id (24 hex) |
//! | `endpoints.<name>.atlas_endpoint` | Atlas serverless private endpoint `_id` (24 hex) |
//! | `endpoints.<name>.link` | serverless: the same `_id`; dedicated: the `vpce-…` id |
//! | `endpoints.<name>.vpc_endpoint` | `vpce-…` |
//! | `endpoints.<name>.security_group` | `sg-…` |
//! | `endpoints.<name>.client_egress[sg-…]` | the client group's `sg-…` |

use thiserror::Error;

use crate::model::{Address, DesiredResource, Kind};
use crate::plan::{Holder, Kept, Live, LiveView, ResourceRules, resolve};
use crate::providers::{Provider, ProviderError};
use crate::state::{ResourceState, StateFile, Status};

/// Why an import was refused.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The configuration declares no resource at the address.
    #[error("{address} is not an address of this configuration; it has: {known}")]
    UnknownAddress {
        /// The address asked for.
        address: String,
        /// The configuration's addresses, comma-separated.
        known: String,
    },
    /// The state already holds a resource at the address.
    #[error("{address} is already in the state (id {id}); nothing to import")]
    AlreadyManaged {
        /// The address asked for.
        address: String,
        /// The id the state records for it (empty when it has none).
        id: String,
    },
    /// The id does not have the form the kind's ids have.
    #[error("{id} does not look like the id of a {kind} (expected {expected})")]
    BadId {
        /// The id given.
        id: String,
        /// The kind of the resource at the address.
        kind: Kind,
        /// What an id of that kind looks like, e.g. "a vpce-… id".
        expected: &'static str,
    },
    /// The owning cloud has no such object.
    #[error("no {kind} with id {id} was found in {cloud} for {address}")]
    NotFound {
        /// The address asked for.
        address: String,
        /// The kind of the resource at the address.
        kind: Kind,
        /// The id given.
        id: String,
        /// The cloud that was asked ("Atlas" or "AWS").
        cloud: &'static str,
    },
    /// The object belongs to another privlink state (its tags or marker
    /// name another owner): importing it would let this state change it.
    #[error(
        "{id} belongs to another privlink state (owner {owner}), not to this one; importing it anyway takes --force, and this state then never deletes it"
    )]
    OwnedElsewhere {
        /// The address asked for.
        address: String,
        /// The id given.
        id: String,
        /// The owner the object carries.
        owner: String,
    },
    /// Reading the object from its cloud failed.
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// Reads the object `id` for `address` and records it in `state` as ready.
/// An object another privlink state owns is refused unless `force`. The
/// caller writes the state.
pub async fn import<P: Provider>(
    provider: &P,
    desired: &[DesiredResource],
    state: &mut StateFile,
    address: &Address,
    id: &str,
    force: bool,
) -> Result<(), ImportError> {
    let Some(d) = desired.iter().find(|d| &d.address == address) else {
        let known: Vec<String> = desired.iter().map(|d| d.address.to_string()).collect();
        return Err(ImportError::UnknownAddress {
            address: address.to_string(),
            known: known.join(", "),
        });
    };
    if let Some(r) = state.resources.get(address) {
        return Err(ImportError::AlreadyManaged {
            address: address.to_string(),
            id: r.id.clone().unwrap_or_default(),
        });
    }
    let rules = provider.catalog().rules(d.kind);
    check_id(rules, d, id)?;
    // Desired attributes with what the state already knows filled in.
    let lookup = |r: &crate::model::Reference| {
        state
            .resources
            .get(&r.address)
            .and_then(|s| s.attributes.get(&r.attribute).cloned())
    };
    let resolved: crate::model::Attrs = d
        .attrs
        .iter()
        .filter_map(|(k, v)| resolve(v, &lookup).map(|v| (k.clone(), v)))
        .collect();
    let mut probe = StateFile::new(state.stack.clone());
    // The probe is this state: the clouds say whether another one owns the object.
    probe.lineage = state.lineage.clone();
    probe.resources.insert(
        address.clone(),
        ResourceState {
            kind: d.kind,
            id: Some(id.to_owned()),
            desired: resolved.clone(),
            attributes: crate::model::Attrs::new(),
            dependencies: d.depends_on.clone(),
            status: Status::Ready,
            attempt: None,
            pinned: crate::model::Attrs::new(),
        },
    );
    let live = provider.refresh(&probe, &[]).await?;
    let Some(Live::Present { attributes }) = live.resources.get(address) else {
        return Err(ImportError::NotFound {
            address: address.to_string(),
            kind: d.kind,
            id: id.to_owned(),
            cloud: rules.cloud(),
        });
    };
    refuse_foreign(&live, address, id, force)?;
    state.resources.insert(
        address.clone(),
        ResourceState {
            kind: d.kind,
            id: Some(id.to_owned()),
            desired: resolved,
            attributes: attributes.clone(),
            dependencies: d.depends_on.clone(),
            status: Status::Ready,
            attempt: None,
            pinned: crate::model::Attrs::new(),
        },
    );
    Ok(())
}

/// Refuses an id that does not look like the ids of `d`'s kind.
fn check_id(rules: &dyn ResourceRules, d: &DesiredResource, id: &str) -> Result<(), ImportError> {
    let format = rules.id_format();
    if !(format.check)(id) {
        return Err(ImportError::BadId {
            id: id.to_owned(),
            kind: d.kind,
            expected: format.expected,
        });
    }
    Ok(())
}

/// Refuses an object whose tags or marker name another state as owner,
/// unless `force`.
fn refuse_foreign(
    live: &LiveView,
    address: &Address,
    id: &str,
    force: bool,
) -> Result<(), ImportError> {
    match live.kept.get(address) {
        Some(Kept {
            holder: Holder::Owner(owner),
            ..
        }) if !force => Err(ImportError::OwnedElsewhere {
            address: address.to_string(),
            id: id.to_owned(),
            owner: owner.clone(),
        }),
        _ => Ok(()),
    }
}
