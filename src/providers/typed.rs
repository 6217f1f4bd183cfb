//! Conversions between the engine's attribute maps and each kind's typed
//! attribute structs: the engine diffs JSON maps, the kinds work on serde
//! structs with named fields.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ProviderError;
use crate::model::{Attrs, Kind};

/// Reads `attrs` as the typed attributes `T` of `kind`.
pub fn from_attrs<T: DeserializeOwned>(kind: Kind, attrs: &Attrs) -> Result<T, ProviderError> {
    serde_json::from_value(Value::Object(attrs.clone()))
        .map_err(|source| ProviderError::Attributes { kind, source })
}

/// The attribute map of a typed attribute struct.
pub fn to_attrs<T: Serialize>(t: &T) -> Attrs {
    match serde_json::to_value(t) {
        Ok(Value::Object(m)) => m,
        _ => Attrs::new(),
    }
}

/// Sorted, without duplicates: lists in attributes compare as sets.
pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// One string of a state resource's recorded desired attributes (else of
/// its attributes read back).
pub fn recorded<'a>(
    state: &'a crate::state::StateFile,
    a: &crate::model::Address,
    key: &str,
) -> Option<&'a str> {
    let r = state.resources.get(a)?;
    r.desired
        .get(key)
        .or_else(|| r.attributes.get(key))
        .and_then(Value::as_str)
}

/// True for a 24-hex Atlas id.
pub fn hex24(s: &str) -> bool {
    s.len() == 24
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// True for `<prefix><hex digits>`, e.g. `vpce-0a1b…`.
pub fn prefixed_hex(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// FNV-1a: a hash that stays the same across builds, platforms and Rust
/// releases, for names and tokens derived from text.
pub fn stable_hash(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
