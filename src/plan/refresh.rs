//! Refresh-only plans (`-refresh-only`): the differences between what the
//! state records and what the clouds hold now, and nothing else.
//!
//! [`refresh_only`] lists every object that was changed or deleted outside
//! privlink; [`RefreshPlan::record`] writes the live attributes into the
//! state and forgets the objects that are gone, without any change to a
//! remote object.
//!
//! As in a normal plan, an object has drifted when one of the attributes
//! privlink sets differs from what the state records, or when it fell into
//! a failed state; read-only attributes that privlink's own steps move along
//! (an endpoint turning available once linked) are not drift.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Catalog, Live, LiveView, PLAN_FORMAT, RemoteState, ResourceRules};
use crate::model::{Address, Attrs, Kind};
use crate::state::StateFile;

/// One object whose live view differs from the state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// The resource's address.
    pub address: Address,
    /// The resource's kind.
    pub kind: Kind,
    /// The remote id recorded in state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The cloud that holds the object ("AWS").
    pub cloud: String,
    /// The attributes as the state records them.
    pub before: Attrs,
    /// The attributes the cloud reports now; `None` when the object is gone.
    pub after: Option<Attrs>,
    /// Attribute names whose values differ (empty when the object is gone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

impl Drift {
    /// True when the object no longer exists remotely.
    pub fn deleted(&self) -> bool {
        self.after.is_none()
    }
}

/// A refresh-only plan, as shown and as printed with `plan --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshPlan {
    /// The format version, [`PLAN_FORMAT`].
    pub format: u32,
    /// The stack of the state.
    pub stack: String,
    /// Lineage of the state the plan was made against.
    pub lineage: String,
    /// Serial of the state the plan was made against.
    pub serial: u64,
    /// Marks the plan as refresh-only in its JSON form.
    pub refresh_only: bool,
    /// Every object changed or deleted outside privlink, by address.
    pub drifts: Vec<Drift>,
}

impl RefreshPlan {
    /// True when the clouds hold what the state records.
    pub fn is_empty(&self) -> bool {
        self.drifts.is_empty()
    }

    /// How many objects are changed and how many are gone.
    pub fn counts(&self) -> (usize, usize) {
        let gone = self.drifts.iter().filter(|d| d.deleted()).count();
        (self.drifts.len() - gone, gone)
    }

    /// Records the plan into `state`: live attributes replace the recorded
    /// ones, objects that are gone are removed. The serial is left to the
    /// state store's write.
    pub fn record(&self, state: &mut StateFile) {
        for d in &self.drifts {
            match &d.after {
                None => {
                    state.remove(&d.address);
                }
                Some(live) => {
                    if let Some(r) = state.resources.get_mut(&d.address) {
                        r.attributes = live.clone();
                    }
                }
            }
        }
    }
}

/// Compares every object in `state` with what `live` reports for it; an
/// object the live view says nothing about is left out.
pub fn refresh_only(state: &StateFile, live: &LiveView, catalog: &Catalog) -> RefreshPlan {
    let drifts = state
        .resources
        .iter()
        .filter_map(|(a, r)| {
            let rules = catalog.rules(r.kind);
            let (after, changed) = match live.resources.get(a)? {
                Live::Gone => (None, Vec::new()),
                Live::Present { attributes } => {
                    let changed = changed_keys(&r.attributes, attributes);
                    if !drifted(&changed, r, attributes, rules) {
                        return None;
                    }
                    (Some(attributes.clone()), changed)
                }
            };
            Some(Drift {
                address: a.clone(),
                kind: r.kind,
                id: r.id.clone(),
                cloud: rules.cloud().to_owned(),
                before: r.attributes.clone(),
                after,
                changed,
            })
        })
        .collect();
    RefreshPlan {
        format: PLAN_FORMAT,
        stack: state.stack.clone(),
        lineage: state.lineage.clone(),
        serial: state.serial,
        refresh_only: true,
        drifts,
    }
}

/// True when one of the `changed` attributes is one privlink sets, or when
/// the object newly reports a failure.
fn drifted(
    changed: &[String],
    recorded: &crate::state::ResourceState,
    live: &Attrs,
    rules: &dyn ResourceRules,
) -> bool {
    let failed = |attrs: &Attrs| matches!(rules.remote_state(attrs), RemoteState::Failed(_));
    changed.iter().any(|k| recorded.desired.contains_key(k))
        || (failed(live) && !failed(&recorded.attributes))
}

/// The attribute names whose values differ between `before` and `after`.
fn changed_keys(before: &Attrs, after: &Attrs) -> Vec<String> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .cloned()
        .collect()
}
