//! The engine's vocabulary: resource addresses, kinds, attributes and
//! references between resources. Pure data: no I/O, no network.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Attributes of a resource, as an ordered JSON object.
pub type Attrs = Map<String, Value>;

/// A stable resource address such as `endpoints.orders.vpc_endpoint` or
/// `endpoint_services.<cloud>.<region>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Address(String);

impl Address {
    /// Wraps an address string as is.
    pub fn new(s: impl Into<String>) -> Self {
        Address(s.into())
    }
    /// `endpoints.<name>.<part>`.
    pub fn endpoint(name: &str, part: &str) -> Self {
        Address(format!("endpoints.{name}.{part}"))
    }
    /// `endpoints.<name>.client_egress[<group>]`.
    pub fn client_egress(name: &str, group: &str) -> Self {
        Address(format!("endpoints.{name}.client_egress[{group}]"))
    }
    /// The address as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The endpoint name for `endpoints.<name>.…` addresses.
    pub fn endpoint_name(&self) -> Option<&str> {
        self.0.strip_prefix("endpoints.")?.split('.').next()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kind of a resource, such as `aws_vpc_endpoint`: a name registered
/// by the provider that manages it (see `crate::providers`). The engine only
/// compares and prints kinds; what a kind means is the provider's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kind(&'static str);

impl Kind {
    /// A kind with this name (for constants in provider modules).
    pub const fn new(name: &'static str) -> Self {
        Kind(name)
    }
    /// The kind of this name, read from a file: each distinct name is kept
    /// once for the life of the process.
    pub fn named(name: &str) -> Self {
        use std::collections::BTreeSet;
        use std::sync::{Mutex, OnceLock};
        static NAMES: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
        let mut names = NAMES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = names.get(name) {
            return Kind(n);
        }
        let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
        names.insert(leaked);
        Kind(leaked)
    }
    /// The name used in state, plans and output.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Kind::named(&name))
    }
}

/// Key of the JSON object that marks a reference in desired attributes.
pub const REF_KEY: &str = "$ref";

/// A reference to another resource's attribute; resolved at apply time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The resource referred to.
    pub address: Address,
    /// The name of its attribute whose value is wanted.
    pub attribute: String,
}

impl Reference {
    /// Encodes the reference as `{"$ref": "<address>#<attribute>"}`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            REF_KEY.into(),
            Value::String(format!("{}#{}", self.address, self.attribute)),
        );
        Value::Object(m)
    }
    /// Decodes a value written by [`Reference::to_value`].
    pub fn from_value(v: &Value) -> Option<Reference> {
        let s = v.as_object()?.get(REF_KEY)?.as_str()?;
        let (addr, attr) = s.rsplit_once('#')?;
        Some(Reference {
            address: Address::new(addr),
            attribute: attr.to_owned(),
        })
    }
}

/// Shorthand for a reference value.
pub fn reference(address: &Address, attribute: &str) -> Value {
    Reference {
        address: address.clone(),
        attribute: attribute.to_owned(),
    }
    .to_value()
}

/// Calls `f` on every reference inside `v` (nested arrays and objects too).
pub fn visit_refs(v: &Value, f: &mut impl FnMut(Reference)) {
    if let Some(r) = Reference::from_value(v) {
        f(r);
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| visit_refs(i, f)),
        Value::Object(m) => m.values().for_each(|i| visit_refs(i, f)),
        _ => {}
    }
}

/// One resource as the configuration wants it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredResource {
    /// The resource's address, e.g. `endpoint_services.aws.us-east-1`.
    pub address: Address,
    /// The resource's kind.
    pub kind: Kind,
    /// Desired attributes; values may be references (see [`Reference`]).
    pub attrs: Attrs,
    /// Resources that must exist before this one (includes every referenced one).
    pub depends_on: Vec<Address>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_round_trip_and_visit() {
        let a = Address::endpoint("orders", "vpc_endpoint");
        let v = serde_json::json!({"x": [reference(&a, "id")], "y": 1});
        let mut seen = Vec::new();
        visit_refs(&v, &mut |r| seen.push(r));
        assert_eq!(
            seen,
            vec![Reference {
                address: a.clone(),
                attribute: "id".into()
            }]
        );
        assert_eq!(a.endpoint_name(), Some("orders"));
    }
}
