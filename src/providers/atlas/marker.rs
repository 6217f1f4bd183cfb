//! The marker privlink appends to the comment of the Atlas endpoints it
//! creates, so that an endpoint whose create returned just before a crash
//! is found and adopted: `[privlink <10 hex of stack and address>]`.

use crate::model::Address;
use crate::providers::typed::stable_hash;

/// The marker of one resource of one stack.
pub fn marker(stack: &str, address: &Address) -> String {
    format!(
        "[privlink {:010x}]",
        stable_hash(&format!("{stack}/{address}")) & 0xff_ffff_ffff
    )
}

/// The comment sent to Atlas: the user's comment and the marker when both
/// fit in Atlas's 80 characters, else the user's comment alone (such an
/// endpoint cannot be recognised after a crash; the state still can be).
pub fn marked_comment(comment: Option<&str>, stack: &str, address: &Address) -> String {
    let m = marker(stack, address);
    match comment {
        None | Some("") => m,
        Some(c) if c.chars().count() + 1 + m.len() <= 80 => format!("{c} {m}"),
        Some(c) => c.to_owned(),
    }
}

/// The user's part of a comment read back from Atlas.
pub fn strip_marker(comment: &str) -> Option<String> {
    let user = match comment.rfind("[privlink ") {
        Some(at) if comment.ends_with(']') => comment[..at].trim_end(),
        _ => comment,
    };
    (!user.is_empty()).then(|| user.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trip_and_fit() {
        let a = Address::new("endpoints.orders.atlas_endpoint");
        let c = marked_comment(Some("orders service"), "prod", &a);
        assert!(c.starts_with("orders service [privlink "), "{c}");
        assert_eq!(strip_marker(&c).as_deref(), Some("orders service"));
        assert_eq!(strip_marker(&marked_comment(None, "prod", &a)), None);
        let long = "x".repeat(70);
        assert_eq!(marked_comment(Some(&long), "prod", &a), long);
        assert_ne!(marker("prod", &a), marker("test", &a));
        assert_eq!(marker("prod", &a), marker("prod", &a));
    }
}
