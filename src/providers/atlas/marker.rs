//! The marker privlink appends to the comment of the Atlas endpoints it
//! creates, so that an endpoint whose create returned just before a crash
//! is found and adopted by the state that created it, and by no other:
//! `[privlink <owner>:<address>]`, the owner being the first 8 hex digits
//! of the state's lineage and the address 6 hex digits of a hash of stack
//! and address (26 characters in all, Atlas comments holding at most 80).
//! The marker of older builds, `[privlink <10 hex of stack and address>]`,
//! names no owner; it is still recognised (and stripped from comments).

use crate::model::Address;
use crate::providers::typed::stable_hash;

/// What starts every marker.
const OPEN: &str = "[privlink ";
/// How many hex digits of the lineage a marker keeps.
const OWNER_DIGITS: usize = 8;

/// The owner as a marker keeps it: the lineage's first 8 hex digits.
pub fn short_owner(owner: &str) -> String {
    owner
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(OWNER_DIGITS)
        .collect::<String>()
        .to_ascii_lowercase()
}

fn address_hash(stack: &str, address: &Address) -> String {
    format!(
        "{:06x}",
        stable_hash(&format!("{stack}/{address}")) & 0xff_ffff
    )
}

/// The marker of one resource of one stack, created by the state `owner`.
pub fn marker(stack: &str, owner: &str, address: &Address) -> String {
    format!(
        "{OPEN}{}:{}]",
        short_owner(owner),
        address_hash(stack, address)
    )
}

/// The marker older builds appended: stack and address, no owner.
pub fn legacy_marker(stack: &str, address: &Address) -> String {
    format!(
        "{OPEN}{:010x}]",
        stable_hash(&format!("{stack}/{address}")) & 0xff_ffff_ffff
    )
}

/// The comment sent to Atlas: the user's comment and the marker when both
/// fit in Atlas's 80 characters, else the user's comment alone (such an
/// endpoint cannot be recognised after a crash; the state still can be).
pub fn marked_comment(
    comment: Option<&str>,
    stack: &str,
    owner: &str,
    address: &Address,
) -> String {
    let m = marker(stack, owner, address);
    match comment {
        None | Some("") => m,
        Some(c) if c.chars().count() + 1 + m.len() <= 80 => format!("{c} {m}"),
        Some(c) => c.to_owned(),
    }
}

/// The marker at the end of a comment, if any: its text between
/// `[privlink ` and `]`.
fn marker_body(comment: &str) -> Option<&str> {
    let at = comment.rfind(OPEN)?;
    comment[at + OPEN.len()..].strip_suffix(']')
}

/// What the marker of a comment says of `stack`'s `address`: `None` when
/// it carries no marker of that address; `Some(Some(owner))` when the
/// marker names an owner (8 hex digits); `Some(None)` for the marker of an
/// older build, which names none.
pub fn marked_for(comment: &str, stack: &str, address: &Address) -> Option<Option<String>> {
    let body = marker_body(comment)?;
    if let Some((owner, hash)) = body.split_once(':') {
        return (hash == address_hash(stack, address)).then(|| Some(owner.to_owned()));
    }
    (format!("{OPEN}{body}]") == legacy_marker(stack, address)).then_some(None)
}

/// The owner a comment's marker names, whatever its address: `None` for
/// a comment without a marker or with the marker of an older build.
pub fn marked_owner(comment: &str) -> Option<String> {
    let (owner, _) = marker_body(comment)?.split_once(':')?;
    Some(owner.to_owned())
}

/// The user's part of a comment read back from Atlas.
pub fn strip_marker(comment: &str) -> Option<String> {
    let user = match comment.rfind(OPEN) {
        Some(at) if comment.ends_with(']') => comment[..at].trim_end(),
        _ => comment,
    };
    (!user.is_empty()).then(|| user.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINE: &str = "1a2b3c4d-5e6f-4a0b-8c1d-2e3f4a5b6c7d";
    const THEIRS: &str = "99aa88bb-0000-4000-8000-000000000000";

    #[test]
    fn marker_round_trip_and_fit() {
        let a = Address::new("endpoints.orders.atlas_endpoint");
        let c = marked_comment(Some("orders service"), "prod", MINE, &a);
        assert!(c.starts_with("orders service [privlink "), "{c}");
        assert_eq!(strip_marker(&c).as_deref(), Some("orders service"));
        assert_eq!(strip_marker(&marked_comment(None, "prod", MINE, &a)), None);
        let long = "x".repeat(70);
        assert_eq!(marked_comment(Some(&long), "prod", MINE, &a), long);
        assert_ne!(marker("prod", MINE, &a), marker("test", MINE, &a));
        assert_eq!(marker("prod", MINE, &a), marker("prod", MINE, &a));
        assert_eq!(marker("prod", MINE, &a).len(), 26);
        // The marker leaves 53 characters to the user's comment.
        let fits = "y".repeat(53);
        assert_ne!(marked_comment(Some(&fits), "prod", MINE, &a), fits);
    }

    #[test]
    fn the_marker_names_its_owner_and_the_old_marker_none() {
        let a = Address::new("endpoints.orders.atlas_endpoint");
        let b = Address::new("endpoints.billing.atlas_endpoint");
        let mine = marked_comment(Some("orders"), "prod", MINE, &a);
        let theirs = marked_comment(None, "prod", THEIRS, &a);
        assert_eq!(marked_for(&mine, "prod", &a), Some(Some("1a2b3c4d".into())));
        assert_eq!(
            marked_for(&theirs, "prod", &a),
            Some(Some("99aa88bb".into()))
        );
        assert_eq!(marked_for(&mine, "prod", &b), None);
        assert_eq!(marked_for(&mine, "test", &a), None);
        assert_eq!(marked_owner(&theirs).as_deref(), Some("99aa88bb"));
        let old = format!("orders {}", legacy_marker("prod", &a));
        assert_eq!(marked_for(&old, "prod", &a), Some(None));
        assert_eq!(marked_for(&old, "prod", &b), None);
        assert_eq!(marked_owner(&old), None);
        assert_eq!(strip_marker(&old).as_deref(), Some("orders"));
        assert_eq!(marked_for("no marker here", "prod", &a), None);
    }
}
