//! Proof that no secret value slipped into a state: [`check_no_secrets`].

use super::error::StateError;
use super::format::StateFile;

/// Fails if any non-empty secret occurs anywhere in the state. The error
/// names the resource address, never the secret.
pub fn check_no_secrets(state: &StateFile, secrets: &[&str]) -> Result<(), StateError> {
    let secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    if secrets.is_empty() {
        return Ok(());
    }
    let contains = |text: &str| secrets.iter().any(|s| text.contains(s));
    for (address, resource) in &state.resources {
        // Serialized as JSON, a secret with quotes or backslashes is escaped;
        // check the raw strings too by walking the values.
        let json = serde_json::to_string(resource).unwrap_or_default();
        let mut found = contains(&json) || contains(address.as_str());
        visit_strings(
            &serde_json::to_value(resource).unwrap_or_default(),
            &mut |s| {
                found |= contains(s);
            },
        );
        if found {
            return Err(StateError::SecretInState {
                location: address.to_string(),
            });
        }
    }
    if contains(&state.stack) || contains(&state.lineage) {
        return Err(StateError::SecretInState {
            location: "the state header".to_owned(),
        });
    }
    Ok(())
}

fn visit_strings(v: &serde_json::Value, f: &mut impl FnMut(&str)) {
    match v {
        serde_json::Value::String(s) => f(s),
        serde_json::Value::Array(items) => items.iter().for_each(|i| visit_strings(i, f)),
        serde_json::Value::Object(m) => m.iter().for_each(|(k, i)| {
            f(k);
            visit_strings(i, f);
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Address;
    use crate::state::format::tests::sample_resource;

    #[test]
    fn secrets_are_detected_without_being_shown() {
        let mut state = StateFile::new("prod");
        let a = Address::endpoint("orders", "vpc_endpoint");
        let mut r = sample_resource();
        r.attributes
            .insert("note".into(), json!(["x", {"k": "pre-s3cr\"et-post"}]));
        state.upsert(a, r);
        check_no_secrets(&state, &["other", ""]).unwrap();
        let err = check_no_secrets(&state, &["s3cr\"et"]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("endpoints.orders.vpc_endpoint"), "{msg}");
        assert!(!msg.contains("s3cr"), "{msg}");
        assert!(check_no_secrets(&state, &["vpce-0abc"]).is_err());
        assert!(check_no_secrets(&state, &[]).is_ok());
    }
}
