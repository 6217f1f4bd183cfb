//! Identifier formats: generation of Atlas object ids and AWS-style names, and the pattern
//! checks the API applies to path and body values.

use rand::Rng;

fn random_hex(len: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| DIGITS[rng.random_range(0..16)] as char)
        .collect()
}

/// A new 24-hex-digit Atlas object id.
pub fn object_id() -> String {
    random_hex(24)
}

/// A new AWS endpoint service name for `aws_region`, e.g.
/// `com.amazonaws.vpce.us-east-1.vpce-svc-0afd34ee97e30d43f`.
pub fn endpoint_service_name(aws_region: &str) -> String {
    format!(
        "com.amazonaws.vpce.{aws_region}.vpce-svc-{}",
        random_hex(17)
    )
}

/// A new random (version 4 layout) lower-case UUID, e.g. an Azure subscription id.
pub fn uuid() -> String {
    let h = random_hex(32);
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// A short random label used in host names of connection strings.
pub fn host_label() -> String {
    random_hex(5)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `^([a-f0-9]{24})$`: group ids, serverless endpoint ids, endpoint service ids.
pub fn is_object_id(s: &str) -> bool {
    s.len() == 24 && is_lower_hex(s)
}

/// `^vpce-[0-9a-f]{17}$`: AWS interface endpoint ids.
pub fn is_vpce_id(s: &str) -> bool {
    s.strip_prefix("vpce-")
        .is_some_and(|rest| rest.len() == 17 && is_lower_hex(rest))
}

fn is_azure_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'))
}

/// `^/subscriptions/<uuid>/resource[gG]roups/[-\w._()]+/providers/Microsoft\.Network/privateEndpoints/[-\w._()]+$`:
/// Azure private endpoint resource ids (the spec's serverless pattern also fixes the resource
/// group to `privateLink`; the dedicated API takes any group, and so does the sandbox).
pub fn is_azure_private_endpoint_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    let [empty, subs, sub, groups, group, providers, ns, kind, name] = parts.as_slice() else {
        return false;
    };
    let uuid_groups: Vec<&str> = sub.split('-').collect();
    let uuid_ok = uuid_groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && uuid_groups.iter().all(|g| is_lower_hex(g));
    empty.is_empty()
        && *subs == "subscriptions"
        && uuid_ok
        && matches!(*groups, "resourceGroups" | "resourcegroups")
        && is_azure_name(group)
        && *providers == "providers"
        && *ns == "Microsoft.Network"
        && *kind == "privateEndpoints"
        && is_azure_name(name)
}

/// `^[a-zA-Z0-9][a-zA-Z0-9-]*$`: cluster and serverless instance names.
pub fn is_deployment_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_private_endpoint_ids() {
        let ok = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-1/providers/Microsoft.Network/privateEndpoints/pe.1";
        assert!(is_azure_private_endpoint_id(ok));
        assert!(!is_azure_private_endpoint_id(
            &ok.replace("privateEndpoints", "networkInterfaces")
        ));
        assert!(!is_azure_private_endpoint_id(
            &ok.replace("00000000-0000", "0000-0000")
        ));
        assert!(!is_azure_private_endpoint_id("vpce-0123456789abcdef0"));
    }

    #[test]
    fn generated_ids_match_their_patterns() {
        assert!(is_object_id(&object_id()));
        let name = endpoint_service_name("us-east-1");
        let suffix = name.strip_prefix("com.amazonaws.vpce.us-east-1.vpce-svc-");
        assert!(suffix.is_some_and(|s| s.len() == 17 && is_lower_hex(s)));
    }

    #[test]
    fn patterns_reject_near_misses() {
        assert!(is_vpce_id("vpce-0123456789abcdef0"));
        assert!(!is_vpce_id("vpce-fcac938279cd98dc894"));
        assert!(!is_vpce_id("vpce-0123456789ABCDEF0"));
        assert!(!is_object_id("5f7cac1adf5d6c6306f4b28"));
        assert!(!is_object_id("5F7CAC1ADF5D6C6306F4B283"));
        assert!(is_deployment_name("my-instance-1"));
        assert!(!is_deployment_name("-leading-dash"));
        assert!(!is_deployment_name("under_score"));
    }
}
