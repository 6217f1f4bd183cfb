//! The per-kind rules the planner, the graph and import apply, as a trait
//! that each provider implements for each kind it manages, and the
//! [`Catalog`] that finds them by [`Kind`].
//!
//! The engine knows no cloud: what an attribute means, which change forces a
//! replacement, what a remote status says, how long a step takes, what an id
//! looks like, all come from here.

use std::collections::BTreeMap;

use crate::model::{Attrs, Kind};
use crate::plan::Change;

/// What the remote object's own status says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteState {
    /// Usable as it is.
    Ready,
    /// Not ready yet: the apply waits for it (the reason is shown).
    Pending(String),
    /// In a terminal failure: the plan replaces it (the cloud's message is shown).
    Failed(String),
}

/// What an id of a kind looks like, for `privlink import`.
#[derive(Debug, Clone, Copy)]
pub struct IdFormat {
    /// Shown when an id does not match, e.g. "a vpce-… id".
    pub expected: &'static str,
    /// True when the id has the right form.
    pub check: fn(&str) -> bool,
}

/// The rules of one resource kind.
pub trait ResourceRules: Send + Sync {
    /// The kind these rules are for.
    fn kind(&self) -> Kind;
    /// Names an older state file may use for this kind.
    fn legacy_names(&self) -> &'static [&'static str] {
        &[]
    }
    /// The cloud that holds objects of this kind, as shown to people ("AWS").
    fn cloud(&self) -> &'static str;
    /// Roughly how long a step on this kind takes in the real cloud, in
    /// seconds. Only the order matters: it ranks ready steps.
    fn weight(&self) -> u64;
    /// True when a change of `attribute` cannot be made in place.
    fn forces_replacement(&self, attribute: &str) -> bool;
    /// What the live attributes say of the object's own state.
    fn remote_state(&self, _live: &Attrs) -> RemoteState {
        RemoteState::Ready
    }
    /// Why this resource must be replaced because of the other changes of
    /// the same plan (`changes` holds them all, `me` among them), if it must.
    fn forced_by(&self, _me: &Change, _changes: &[Change]) -> Option<String> {
        None
    }
    /// What an id of this kind looks like.
    fn id_format(&self) -> IdFormat;
    /// True for a kind whose objects several stacks share instead of one
    /// state owning them (one per region, say): a create that finds one
    /// already there uses it instead of refusing, and the cloud leaves it in
    /// place for its other users when a stack no longer needs it.
    fn shared(&self) -> bool {
        false
    }
}

/// Rules given as data: what most kinds need, one constant per kind.
#[derive(Clone, Copy)]
pub struct KindRules {
    /// See [`ResourceRules::kind`].
    pub kind: Kind,
    /// See [`ResourceRules::legacy_names`].
    pub legacy_names: &'static [&'static str],
    /// See [`ResourceRules::cloud`].
    pub cloud: &'static str,
    /// See [`ResourceRules::weight`].
    pub weight: u64,
    /// See [`ResourceRules::forces_replacement`].
    pub forces_replacement: fn(&str) -> bool,
    /// See [`ResourceRules::remote_state`]; [`always_ready`] for most kinds.
    pub remote_state: fn(&Attrs) -> RemoteState,
    /// See [`ResourceRules::forced_by`]; [`never_forced`] for most kinds.
    pub forced_by: fn(&Change, &[Change]) -> Option<String>,
    /// See [`ResourceRules::id_format`].
    pub id_format: IdFormat,
    /// See [`ResourceRules::shared`]; false for most kinds.
    pub shared: bool,
}

/// A kind whose objects have no status of their own to wait for.
pub fn always_ready(_live: &Attrs) -> RemoteState {
    RemoteState::Ready
}

/// A kind no other change forces to be replaced.
pub fn never_forced(_me: &Change, _changes: &[Change]) -> Option<String> {
    None
}

/// A kind that cannot change anything in place.
pub fn any_change(_attribute: &str) -> bool {
    true
}

impl ResourceRules for KindRules {
    fn kind(&self) -> Kind {
        self.kind
    }
    fn legacy_names(&self) -> &'static [&'static str] {
        self.legacy_names
    }
    fn cloud(&self) -> &'static str {
        self.cloud
    }
    fn weight(&self) -> u64 {
        self.weight
    }
    fn forces_replacement(&self, attribute: &str) -> bool {
        (self.forces_replacement)(attribute)
    }
    fn remote_state(&self, live: &Attrs) -> RemoteState {
        (self.remote_state)(live)
    }
    fn forced_by(&self, me: &Change, changes: &[Change]) -> Option<String> {
        (self.forced_by)(me, changes)
    }
    fn id_format(&self) -> IdFormat {
        self.id_format
    }
    fn shared(&self) -> bool {
        self.shared
    }
}

/// Rules for a kind no provider registered (a state written by a build
/// with other providers): everything forces replacement.
struct UnknownKind;

impl ResourceRules for UnknownKind {
    fn kind(&self) -> Kind {
        Kind::new("unknown")
    }
    fn cloud(&self) -> &'static str {
        "an unknown cloud"
    }
    fn weight(&self) -> u64 {
        1
    }
    fn forces_replacement(&self, _attribute: &str) -> bool {
        true
    }
    fn id_format(&self) -> IdFormat {
        IdFormat {
            expected: "an id of a kind this build knows",
            check: |_| false,
        }
    }
}

/// Every kind's rules, by kind.
pub struct Catalog {
    by_kind: BTreeMap<Kind, &'static dyn ResourceRules>,
    legacy: BTreeMap<&'static str, Kind>,
}

impl Catalog {
    /// A catalog of the given rules.
    pub fn new(rules: impl IntoIterator<Item = &'static dyn ResourceRules>) -> Self {
        let mut by_kind = BTreeMap::new();
        let mut legacy = BTreeMap::new();
        for r in rules {
            by_kind.insert(r.kind(), r);
            for old in r.legacy_names() {
                legacy.insert(*old, r.kind());
            }
        }
        Catalog { by_kind, legacy }
    }

    /// The rules of `kind`; a kind nobody registered gets rules that
    /// replace on any change.
    pub fn rules(&self, kind: Kind) -> &dyn ResourceRules {
        match self.by_kind.get(&kind) {
            Some(r) => *r,
            None => &UnknownKind,
        }
    }

    /// True when some provider registered `kind`.
    pub fn knows(&self, kind: Kind) -> bool {
        self.by_kind.contains_key(&kind)
    }

    /// The current name of a kind an older state file may name otherwise.
    pub fn canonical(&self, kind: Kind) -> Kind {
        self.legacy.get(kind.as_str()).copied().unwrap_or(kind)
    }
}
