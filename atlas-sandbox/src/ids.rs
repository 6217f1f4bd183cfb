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
