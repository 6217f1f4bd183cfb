//! How every cloud starts a create and finds what to delete: resume the
//! recorded id, or adopt what an earlier run of the same state created
//! without recording it; and what every cloud leaves alone: an object
//! another state owns, or a shared one that others still use.
//!
//! Ownership: every object privlink creates carries its stack, its address
//! and its owner, the lineage of the state that created it (AWS tags; the
//! Atlas marker keeps the lineage's first 8 hex digits). Adoption takes only
//! an object whose owner is this state; an object without an owner (made
//! before owners were recorded) is never adopted, it is known by the id the
//! state records. A delete leaves an object whose owner is another state in
//! place and only removes it from the state.

use std::future::Future;
use std::time::Duration;

use super::{Op, ProviderError, RecordCreated, Start};
use crate::plan::{Holder, Kept};
use crate::wait::WaitEvent;

/// The id a create starts from: the recorded one when resuming; when
/// adopting, the one `find` turns up (recorded at once), if any; else none.
/// `find` must turn up only an object this state owns ([`owned_by`]).
pub async fn starting_id(
    start: Start<'_>,
    find: impl Future<Output = Result<Option<String>, ProviderError>>,
    record: RecordCreated<'_>,
) -> Result<Option<String>, ProviderError> {
    match start {
        Start::Resume(id) => Ok(Some(id.to_owned())),
        Start::Fresh => Ok(None),
        Start::Adopt => {
            let found = find.await?;
            if let Some(id) = &found {
                record(id.clone()).await?;
            }
            Ok(found)
        }
    }
}

/// The id to delete: the recorded one, else the one `find` turns up (a
/// create that never recorded its id; only an object this state owns);
/// none when there is nothing.
pub async fn id_to_delete(
    id: Option<&str>,
    find: impl Future<Output = Result<Option<String>, ProviderError>>,
) -> Result<Option<String>, ProviderError> {
    match id {
        Some(id) => Ok(Some(id.to_owned())),
        None => find.await,
    }
}

/// The shortest owner an object may carry: the Atlas marker's 8 hex digits.
const SHORT_OWNER: usize = 8;

/// True when `live`, the owner an object carries (a whole lineage, or its
/// first 8 hex digits), is `owner`, this state's lineage.
pub fn owned_by(live: &str, owner: &str) -> bool {
    live.len() >= SHORT_OWNER && owner.starts_with(live)
}

/// Whose an object carrying `live` as owner is, when it is not this
/// state's: `None` for this state's own objects and for objects without an
/// owner found by their recorded id (the state owns those).
pub fn other_owner(live: Option<&str>, owner: &str) -> Option<Holder> {
    match live {
        Some(o) if !owned_by(o, owner) => Some(Holder::Owner(o.to_owned())),
        _ => None,
    }
}

/// Says that the delete of `op`'s object leaves it in place and why; the
/// step then succeeds and the object leaves the state.
pub fn leave(op: &Op, kept: &Kept) {
    let reason = kept.delete_reason();
    op.progress.waiting(&WaitEvent {
        address: op.address.as_str(),
        step: &reason,
        state: "left in place",
        elapsed: Duration::ZERO,
    });
    tracing::info!(address = %op.address, "{reason}");
}

/// Deletes through `delete` unless `kept` says the object is another
/// state's or still used by others: then says so and deletes nothing.
pub async fn delete_unless_kept(
    op: &Op,
    kept: Option<Kept>,
    delete: impl Future<Output = Result<(), ProviderError>>,
) -> Result<(), ProviderError> {
    match kept {
        Some(k) => {
            leave(op, &k);
            Ok(())
        }
        None => delete.await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINEAGE: &str = "1a2b3c4d-0000-4000-8000-000000000000";

    #[test]
    fn an_owner_matches_in_full_or_by_its_first_eight_hex_digits() {
        assert!(owned_by(LINEAGE, LINEAGE));
        assert!(owned_by("1a2b3c4d", LINEAGE));
        assert!(!owned_by("1a2b3c4e", LINEAGE));
        assert!(!owned_by("1a2b", LINEAGE), "too short to tell");
        assert!(!owned_by("", LINEAGE));
        assert_eq!(other_owner(None, LINEAGE), None);
        assert_eq!(other_owner(Some("1a2b3c4d"), LINEAGE), None);
        assert_eq!(
            other_owner(Some("ffffffff"), LINEAGE),
            Some(Holder::Owner("ffffffff".into()))
        );
    }
}
