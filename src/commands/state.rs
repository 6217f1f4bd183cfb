//! `privlink state …`: the state commands a team needs. `list`, `show` and
//! `pull` read the state without its lock; `rm`, `mv`, `push` and `migrate`
//! take the lock as apply does, and write once.

use std::path::Path;
use std::sync::Arc;

use crate::model::Address;
use crate::output::Output;
use crate::settings::Settings;
use crate::state::{LocalBackend, LockMode, ResourceState, StateBackend, StateFile, StateStore};

use super::common::{load_config, lock_state, read_state, s3_backend};
use super::{CommandError, Outcome};

/// One `privlink state` command with its arguments.
#[derive(Debug, Clone)]
pub enum StateAction {
    /// `state list`.
    List,
    /// `state show ADDRESS`.
    Show(String),
    /// `state pull`.
    Pull,
    /// `state rm ADDRESS`.
    Rm(String),
    /// `state mv FROM TO`.
    Mv(String, String),
    /// `state push FILE [--force]`.
    Push(std::path::PathBuf, bool),
    /// `state migrate`.
    Migrate,
}

/// Runs one `privlink state` command.
pub async fn run(
    action: StateAction,
    settings: &Settings,
    out: &Output,
) -> Result<Outcome, CommandError> {
    match action {
        StateAction::List => list(settings, out).await,
        StateAction::Show(address) => show(settings, out, &address).await,
        StateAction::Pull => pull(settings, out).await,
        StateAction::Rm(address) => rm(settings, out, &address).await,
        StateAction::Mv(from, to) => mv(settings, out, &from, &to).await,
        StateAction::Push(path, force) => push(settings, out, &path, force).await,
        StateAction::Migrate => migrate(settings, out).await,
    }
}

fn refused(message: String) -> CommandError {
    CommandError::StateCommand(message)
}

/// The stored state, or an error saying there is none.
async fn stored(settings: &Settings) -> Result<StateFile, CommandError> {
    read_state(settings)
        .await?
        .ok_or_else(|| refused(format!("no state at {}", settings.state_location())))
}

async fn list(settings: &Settings, out: &Output) -> Result<Outcome, CommandError> {
    let state = stored(settings).await?;
    let text: String = state.resources.keys().map(|a| format!("{a}\n")).collect();
    out.out(&text);
    Ok(Outcome::Done)
}

async fn show(settings: &Settings, out: &Output, address: &str) -> Result<Outcome, CommandError> {
    let state = stored(settings).await?;
    let a = Address::new(address);
    let Some(r) = state.get(&a) else {
        return Err(refused(format!(
            "no resource {address} in the state {}; `privlink state list` shows its addresses",
            settings.state_location()
        )));
    };
    out.json(&serde_json::json!({ "address": a, "resource": r }))?;
    Ok(Outcome::Done)
}

async fn pull(settings: &Settings, out: &Output) -> Result<Outcome, CommandError> {
    out.json(&stored(settings).await?)?;
    Ok(Outcome::Done)
}

/// True when `a` is `prefix` or an address under it.
fn under(a: &str, prefix: &str) -> bool {
    a.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// The addresses of `state` at or under `prefix`; an error naming it when
/// there is none.
fn matching(
    state: &StateFile,
    prefix: &str,
    settings: &Settings,
) -> Result<Vec<Address>, CommandError> {
    let found: Vec<Address> = state
        .resources
        .keys()
        .filter(|a| under(a.as_str(), prefix))
        .cloned()
        .collect();
    if found.is_empty() {
        return Err(refused(format!(
            "no resource at or under {prefix} in the state {}; nothing was changed",
            settings.state_location()
        )));
    }
    Ok(found)
}

async fn rm(settings: &Settings, out: &Output, address: &str) -> Result<Outcome, CommandError> {
    let (config, _) = load_config(settings)?;
    let (mut store, mut state) = lock_state(settings, &config.stack, "state rm", out).await?;
    let gone = matching(&state, address, settings)?;
    for a in &gone {
        state.remove(a);
    }
    store.write(&mut state).await?;
    store.close().await?;
    let names: Vec<String> = gone.iter().map(|a| format!("  {a}\n")).collect();
    out.out(&format!(
        "Removed {} resource(s) from the state (the objects themselves are untouched):\n{}",
        gone.len(),
        names.concat()
    ));
    Ok(Outcome::Done)
}

/// `a` with its prefix `from` replaced by `to`.
fn renamed(a: &Address, from: &str, to: &str) -> Address {
    Address::new(format!("{to}{}", &a.as_str()[from.len()..]))
}

/// Pins (see [`ResourceState::pinned`]) the attributes of `r` that cannot
/// change in place and whose recorded value names a part of the address
/// `from` that `to` changes (a security group named after its endpoint):
/// the renamed resource keeps its object.
fn pin_derived(r: &mut ResourceState, from: &str, to: &str) {
    let kept: Vec<&str> = to.split('.').collect();
    let old: Vec<&str> = from.split('.').filter(|p| !kept.contains(p)).collect();
    let catalog = crate::providers::registry::catalog();
    let rules = catalog.rules(r.kind);
    for (k, v) in &r.desired {
        let derived = v
            .as_str()
            .is_some_and(|text| old.iter().any(|o| text.contains(o)));
        if derived && rules.forces_replacement(k) && !r.pinned.contains_key(k) {
            r.pinned.insert(k.clone(), v.clone());
        }
    }
}

async fn mv(
    settings: &Settings,
    out: &Output,
    from: &str,
    to: &str,
) -> Result<Outcome, CommandError> {
    let (config, _) = load_config(settings)?;
    let (mut store, mut state) = lock_state(settings, &config.stack, "state mv", out).await?;
    let moving = matching(&state, from, settings)?;
    let taken: Vec<Address> = state
        .resources
        .keys()
        .filter(|a| under(a.as_str(), to) && !moving.contains(a))
        .cloned()
        .collect();
    if let Some(a) = taken.first() {
        return Err(refused(format!(
            "the state already holds {a}; nothing was changed (remove it first with `privlink state rm`)"
        )));
    }
    for a in &moving {
        if let Some(mut r) = state.remove(a) {
            pin_derived(&mut r, from, to);
            state.upsert(renamed(a, from, to), r);
        }
    }
    for r in state.resources.values_mut() {
        for d in &mut r.dependencies {
            if under(d.as_str(), from) {
                *d = renamed(d, from, to);
            }
        }
    }
    store.write(&mut state).await?;
    store.close().await?;
    let names: Vec<String> = moving
        .iter()
        .map(|a| format!("  {a} -> {}\n", renamed(a, from, to)))
        .collect();
    out.out(&format!(
        "Moved {} resource(s):\n{}",
        moving.len(),
        names.concat()
    ));
    Ok(Outcome::Done)
}

/// Reads and checks a state file given on the command line.
fn read_file(path: &Path) -> Result<StateFile, CommandError> {
    let bytes = std::fs::read(path)
        .map_err(|e| refused(format!("cannot read state file {}: {e}", path.display())))?;
    crate::state::validate(&bytes)
        .map_err(|why| refused(format!("{} is not a valid state: {why}", path.display())))
}

async fn push(
    settings: &Settings,
    out: &Output,
    path: &Path,
    force: bool,
) -> Result<Outcome, CommandError> {
    let (config, _) = load_config(settings)?;
    let mut pushed = read_file(path)?;
    if pushed.stack != config.stack && !force {
        return Err(refused(format!(
            "{} holds the state of stack {:?}, not {:?}; nothing was changed (--force pushes it anyway)",
            path.display(),
            pushed.stack,
            config.stack
        )));
    }
    let (mut store, current) = lock_state(settings, &pushed.stack, "state push", out).await?;
    if current.serial > 0 && !force {
        check_replaceable(&current, &pushed, &settings.state_location().to_string())?;
    }
    store.adopt_lineage(&pushed.lineage);
    store.write(&mut pushed).await?;
    store.close().await?;
    out.out(&format!(
        "Pushed {} to {} (serial {}, lineage {}).\n",
        path.display(),
        settings.state_location(),
        pushed.serial,
        pushed.lineage
    ));
    Ok(Outcome::Done)
}

/// Refuses to replace `current` (at `location`) by `new` of another lineage
/// or of an older serial.
fn check_replaceable(
    current: &StateFile,
    new: &StateFile,
    location: &str,
) -> Result<(), CommandError> {
    if current.lineage != new.lineage {
        return Err(refused(format!(
            "{location} holds a state of another lineage ({}, this one is {}): it is not a version of the same state; nothing was changed",
            current.lineage, new.lineage
        )));
    }
    if new.serial < current.serial {
        return Err(refused(format!(
            "{location} holds serial {}, newer than this state's {}; nothing was changed (pull it first)",
            current.serial, new.serial
        )));
    }
    Ok(())
}

async fn migrate(settings: &Settings, out: &Output) -> Result<Outcome, CommandError> {
    let Some(address) = &settings.state_s3 else {
        return Err(refused(
            "no S3 state is configured: add `state: { s3: { bucket: …, key: … } }` to the file, \
             or pass --state-s3 s3://BUCKET/KEY (or set PRIVLINK_STATE)"
                .to_owned(),
        ));
    };
    let local = Arc::new(LocalBackend::new(settings.state_path.clone()));
    let lock = LockMode::Exclusive {
        operation: "state migrate",
    };
    let Some(recorded) = local.load().await? else {
        return Err(refused(format!(
            "no local state at {} to migrate",
            settings.state_path.display()
        )));
    };
    let (local_store, mut state) = StateStore::open(local.clone(), &recorded.stack, lock).await?;
    let remote: Arc<dyn StateBackend> = Arc::new(s3_backend(settings, address));
    let (mut store, current) = StateStore::open(remote, &state.stack, lock).await?;
    let location = address.url();
    if current.serial > 0 {
        check_replaceable(&current, &state, &location)?;
    }
    if current.serial >= state.serial && current.serial > 0 {
        out.out(&format!(
            "{location} already holds this state (serial {}).\n",
            current.serial
        ));
    } else {
        store.adopt_lineage(&state.lineage);
        store.write(&mut state).await?;
    }
    store.close().await?;
    let mut kept = settings.state_path.clone().into_os_string();
    kept.push(".migrated");
    let kept = std::path::PathBuf::from(kept);
    std::fs::rename(&settings.state_path, &kept).map_err(|e| {
        refused(format!(
            "the state is in {location}, but the local file {} could not be renamed: {e}; remove it by hand",
            settings.state_path.display()
        ))
    })?;
    local_store.close().await?;
    out.out(&format!(
        "Migrated the state {} to {location} (serial {}, lineage {}); the local file is kept as {}.\n",
        settings.state_path.display(),
        state.serial,
        state.lineage,
        kept.display()
    ));
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Kind;
    use crate::state::Status;

    #[test]
    fn prefixes_take_whole_segments() {
        assert!(under("endpoints.orders", "endpoints.orders"));
        assert!(under("endpoints.orders.vpc_endpoint", "endpoints.orders"));
        assert!(under(
            "endpoints.orders.client_egress[sg-1]",
            "endpoints.orders.client_egress"
        ));
        assert!(!under("endpoints.orders2.vpc_endpoint", "endpoints.orders"));
        let a = Address::new("endpoints.orders.client_egress[sg-1]");
        assert_eq!(
            renamed(&a, "endpoints.orders", "endpoints.sales").as_str(),
            "endpoints.sales.client_egress[sg-1]"
        );
    }

    #[test]
    fn only_attributes_named_after_the_old_address_that_force_replacement_are_pinned() {
        let desired = json!({
            "name": "privlink-team-orders",
            "description": "privlink team: interface endpoint orders",
            "vpc_id": "vpc-0a1b2c3d",
            "region": "us-east-1",
        });
        let mut r = ResourceState {
            kind: Kind::new("aws_security_group"),
            id: Some("sg-1".into()),
            desired: desired.as_object().unwrap().clone(),
            attributes: Default::default(),
            dependencies: vec![],
            status: Status::Ready,
            attempt: None,
            pinned: Default::default(),
        };
        pin_derived(&mut r, "endpoints.orders", "endpoints.sales");
        let mut keys: Vec<&String> = r.pinned.keys().collect();
        keys.sort();
        assert_eq!(keys, ["description", "name"]);
        assert_eq!(r.pinned["name"], "privlink-team-orders");
    }
}
