//! The state format: what one state holds ([`StateFile`], [`ResourceState`],
//! [`Status`]) and the checks a stored state must pass ([`validate`]),
//! whatever backend keeps it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Address, Attrs, Kind};

/// The state file format this code reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The whole state of one stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    /// Format version, [`FORMAT_VERSION`].
    pub version: u32,
    /// Bumped by every write; 0 only for a state never written.
    pub serial: u64,
    /// UUID (v4) set when the state is created; never changes afterwards.
    pub lineage: String,
    /// Name of the stack this state belongs to.
    pub stack: String,
    /// Every resource privlink knows about, by address.
    pub resources: BTreeMap<Address, ResourceState>,
}

/// What privlink knows about one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// The resource's kind.
    pub kind: Kind,
    /// The remote id, once the create call has returned one.
    pub id: Option<String>,
    /// Desired attributes last applied, references resolved.
    pub desired: Attrs,
    /// Attributes as last read back from the provider.
    pub attributes: Attrs,
    /// Resources this one depended on when it was applied.
    pub dependencies: Vec<Address>,
    /// How far the resource got.
    pub status: Status,
    /// The create attempt this object comes from ([`new_attempt`]): written
    /// with the intent before the create call and kept afterwards, so that
    /// a retry of the same create after a crash sends the same idempotency
    /// token, while any other create sends a new one. `None` in states
    /// written before it existed and for imported objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<String>,
    /// Attributes whose recorded value wins over the file's, set by
    /// `privlink state mv` for attributes derived from the old address
    /// that cannot change in place (a security group's name): a renamed
    /// endpoint keeps its objects. They stay with the address.
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub pinned: Attrs,
}

/// How far a resource got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The create call returned but the wait did not finish: resume the wait,
    /// do not create again.
    Creating,
    /// Created (or updated) and settled.
    Ready,
    /// Failed partway: the next plan replaces it.
    Tainted,
    /// A delete was started.
    Deleting,
}

impl StateFile {
    /// An empty state for `stack`, serial 0, with a fresh lineage.
    pub fn new(stack: impl Into<String>) -> Self {
        StateFile {
            version: FORMAT_VERSION,
            serial: 0,
            lineage: uuid::Uuid::new_v4().to_string(),
            stack: stack.into(),
            resources: BTreeMap::new(),
        }
    }

    /// The resource at `a`, if any.
    pub fn get(&self, a: &Address) -> Option<&ResourceState> {
        self.resources.get(a)
    }

    /// Inserts or replaces the resource at `a`.
    pub fn upsert(&mut self, a: Address, r: ResourceState) {
        self.resources.insert(a, r);
    }

    /// Removes and returns the resource at `a`.
    pub fn remove(&mut self, a: &Address) -> Option<ResourceState> {
        self.resources.remove(a)
    }

    /// True when no resource is recorded.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }
}

/// A new create attempt id: a UUID (version 7) unique to this attempt,
/// whose timestamp says when the attempt began (see [`attempt_age`]).
pub fn new_attempt() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default();
    let random: [u8; 10] = rand::random();
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string()
}

/// How long ago the create `attempt` (from [`new_attempt`]) began; `None`
/// for an id that carries no time (or one in the future).
pub fn attempt_age(attempt: &str) -> Option<std::time::Duration> {
    let (secs, nanos) = uuid::Uuid::parse_str(attempt)
        .ok()?
        .get_timestamp()?
        .to_unix();
    let began = std::time::UNIX_EPOCH + std::time::Duration::new(secs, nanos);
    std::time::SystemTime::now().duration_since(began).ok()
}

/// Parses a stored state and applies the format checks; the error is the
/// reason it is corrupt, for [`StateError::Corrupt`](super::StateError::Corrupt).
pub fn validate(bytes: &[u8]) -> Result<StateFile, String> {
    // A state of this format decodes in one pass; anything else is looked
    // at closer for the reason.
    let state = match serde_json::from_slice::<StateFile>(bytes) {
        Ok(state) if state.version == FORMAT_VERSION => state,
        _ => return Err(why_not(bytes)),
    };
    if state.serial == 0 {
        return Err("serial is 0, but every written state has serial 1 or more".to_owned());
    }
    if uuid::Uuid::parse_str(&state.lineage).is_err() {
        return Err(format!("lineage {:?} is not a UUID", state.lineage));
    }
    Ok(state)
}

/// Why `bytes` is not a state of this format. The version is looked at
/// first, so a newer format is reported as such and not as a shape
/// mismatch.
fn why_not(bytes: &[u8]) -> String {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return "the file is empty".to_owned();
    }
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(e) => return format!("not valid JSON ({e})"),
    };
    match value.get("version").map(|v| v.as_u64()) {
        None => return "no \"version\" field".to_owned(),
        Some(Some(v)) if v == u64::from(FORMAT_VERSION) => {}
        Some(Some(v)) => {
            return format!(
                "format version {v} is not supported (this privlink reads version {FORMAT_VERSION})"
            );
        }
        Some(None) => return "\"version\" is not a number".to_owned(),
    }
    match serde_json::from_value::<StateFile>(value) {
        Err(e) => format!("unexpected content ({e})"),
        Ok(_) => "unexpected content".to_owned(),
    }
}

/// The format version of a stored state written by a newer privlink (above
/// [`FORMAT_VERSION`]); `None` for any other content.
pub fn newer_version(bytes: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Versioned {
        version: u64,
    }
    let v: Versioned = serde_json::from_slice(bytes).ok()?;
    (v.version > u64::from(FORMAT_VERSION)).then_some(v.version)
}

/// Encodes a state as stored: pretty JSON and a final newline.
pub fn encode(state: &StateFile) -> Result<Vec<u8>, serde_json::Error> {
    let mut body = serde_json::to_vec_pretty(state)?;
    body.push(b'\n');
    Ok(body)
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;

    pub(crate) fn sample_resource() -> ResourceState {
        let mut desired = Attrs::new();
        desired.insert("vpc_id".into(), json!("vpc-123"));
        let mut attributes = desired.clone();
        attributes.insert("state".into(), json!("available"));
        ResourceState {
            kind: Kind::new("aws_vpc_endpoint"),
            id: Some("vpce-0abc".into()),
            desired,
            attributes,
            dependencies: vec![Address::endpoint("orders", "security_group")],
            status: Status::Creating,
            attempt: None,
            pinned: Attrs::new(),
        }
    }

    #[test]
    fn the_attempt_is_optional_and_kept_when_set() {
        let a = Address::endpoint("orders", "vpc_endpoint");
        let mut s = StateFile::new("prod");
        s.upsert(a.clone(), sample_resource());
        // Written without it: no key at all, as an older privlink wrote.
        let v = serde_json::to_value(&s).unwrap();
        assert!(v["resources"][a.as_str()].get("attempt").is_none(), "{v}");
        let back: StateFile = serde_json::from_value(v).unwrap();
        assert_eq!(back.get(&a).unwrap().attempt, None);
        // Set: written and read back.
        let attempt = new_attempt();
        s.resources.get_mut(&a).unwrap().attempt = Some(attempt.clone());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["resources"][a.as_str()]["attempt"], json!(attempt));
        let back: StateFile = serde_json::from_value(v).unwrap();
        assert_eq!(back.get(&a).unwrap().attempt.as_deref(), Some(&*attempt));
    }

    #[test]
    fn an_older_state_without_attempts_still_loads() {
        let old =
            br#"{"version": 1, "serial": 3, "lineage": "0f8e3c1a-3f1e-4c9e-9d5b-2f7f0b7a1c11",
            "stack": "prod", "resources": {"endpoints.orders.vpc_endpoint": {
            "kind": "aws_vpc_endpoint", "id": "vpce-0abc", "desired": {}, "attributes": {},
            "dependencies": [], "status": "ready"}}}"#;
        let s = validate(old).unwrap();
        let r = s.get(&Address::endpoint("orders", "vpc_endpoint")).unwrap();
        assert_eq!((r.status, r.attempt.as_deref()), (Status::Ready, None));
    }

    #[test]
    fn attempts_are_unique_and_know_their_age() {
        let (a, b) = (new_attempt(), new_attempt());
        assert_ne!(a, b);
        assert!(a.len() <= 36, "short enough for an idempotency token: {a}");
        let age = attempt_age(&a).expect("a fresh attempt has an age");
        assert!(age < std::time::Duration::from_secs(60), "{age:?}");
        assert_eq!(attempt_age(&uuid::Uuid::new_v4().to_string()), None);
        assert_eq!(attempt_age("not a uuid"), None);
    }

    #[test]
    fn json_shape_uses_snake_case_names() {
        let mut s = StateFile::new("prod");
        s.upsert(
            Address::endpoint("orders", "vpc_endpoint"),
            sample_resource(),
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["version"], json!(1));
        assert_eq!(v["serial"], json!(0));
        assert_eq!(v["stack"], json!("prod"));
        let r = &v["resources"]["endpoints.orders.vpc_endpoint"];
        assert_eq!(r["kind"], json!("aws_vpc_endpoint"));
        assert_eq!(r["status"], json!("creating"));
        assert_eq!(r["id"], json!("vpce-0abc"));
        assert_eq!(
            r["dependencies"],
            json!(["endpoints.orders.security_group"])
        );
        let back: StateFile = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
        for (st, name) in [
            (Status::Creating, "creating"),
            (Status::Ready, "ready"),
            (Status::Tainted, "tainted"),
            (Status::Deleting, "deleting"),
        ] {
            assert_eq!(serde_json::to_value(st).unwrap(), json!(name));
        }
    }

    #[test]
    fn validate_names_the_first_thing_wrong() {
        let mut good = StateFile::new("prod");
        good.serial = 3;
        good.upsert(
            Address::endpoint("orders", "vpc_endpoint"),
            sample_resource(),
        );
        let bytes = encode(&good).unwrap();
        assert_eq!(validate(&bytes).unwrap(), good);
        let text = String::from_utf8(bytes).unwrap();
        let reason = |t: &str| validate(t.as_bytes()).unwrap_err();
        assert_eq!(reason(" \n"), "the file is empty");
        assert!(reason("{").starts_with("not valid JSON ("));
        assert_eq!(reason(r#"{"serial": 3}"#), "no \"version\" field");
        assert_eq!(reason(r#"{"version": "1"}"#), "\"version\" is not a number");
        // A newer format is named as such, not as a shape it does not have.
        assert_eq!(
            reason(r#"{"version": 2, "other": true}"#),
            "format version 2 is not supported (this privlink reads version 1)"
        );
        let shapeless = text.replace("\"stack\"", "\"stacks\"");
        assert!(
            reason(&shapeless).starts_with("unexpected content ("),
            "{}",
            reason(&shapeless)
        );
        assert!(reason(&text.replace("\"serial\": 3", "\"serial\": 0")).starts_with("serial is 0"));
        let lineage = format!("\"lineage\": \"{}\"", good.lineage);
        assert!(reason(&text.replace(&lineage, "\"lineage\": \"x\"")).starts_with("lineage"));
    }

    #[test]
    fn only_a_higher_version_is_newer() {
        assert_eq!(newer_version(br#"{"version": 99, "serial": 1}"#), Some(99));
        assert_eq!(newer_version(br#"{"version": 1}"#), None);
        assert_eq!(newer_version(br#"{"version": 0}"#), None);
        assert_eq!(newer_version(b"not json"), None);
    }

    #[test]
    fn new_state_and_accessors() {
        let mut s = StateFile::new("prod");
        assert!(s.is_empty());
        assert_eq!(s.serial, 0);
        assert_eq!(s.version, FORMAT_VERSION);
        assert!(uuid::Uuid::parse_str(&s.lineage).is_ok());
        assert_ne!(s.lineage, StateFile::new("prod").lineage);

        let a = Address::endpoint("orders", "vpc_endpoint");
        s.upsert(a.clone(), sample_resource());
        assert!(!s.is_empty());
        assert_eq!(s.get(&a).unwrap().status, Status::Creating);
        let mut r = sample_resource();
        r.status = Status::Ready;
        s.upsert(a.clone(), r);
        assert_eq!(s.get(&a).unwrap().status, Status::Ready);
        assert_eq!(s.remove(&a).unwrap().status, Status::Ready);
        assert!(s.get(&a).is_none());
        assert!(s.remove(&a).is_none());
        assert!(s.is_empty());
    }
}
