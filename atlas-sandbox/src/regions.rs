//! Region names: Atlas style (`US_EAST_1`) and AWS style (`us-east-1`), and the mapping
//! between them. Only AWS regions are emulated; for those the two spellings differ only in
//! case and separator.

/// Normalises an AWS-style or Atlas-style region name to the Atlas style, or `None` when the
/// input is neither (e.g. `us east 1`, `US-EAST_1`, empty).
pub fn to_atlas(input: &str) -> Option<String> {
    let upper = input.contains('_');
    let lower = input.contains('-');
    if upper == lower {
        return None;
    }
    let sep = if upper { '_' } else { '-' };
    let parts: Vec<&str> = input.split(sep).collect();
    if parts.len() < 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let ok = parts.iter().all(|p| {
        p.chars().all(|c| {
            c.is_ascii_digit()
                || (upper && c.is_ascii_uppercase())
                || (!upper && c.is_ascii_lowercase())
        })
    });
    let last_is_number = parts
        .last()
        .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if !ok || !last_is_number {
        return None;
    }
    Some(input.to_ascii_uppercase().replace('-', "_"))
}

/// The AWS spelling of an Atlas-style region name: `US_EAST_1` → `us-east-1`.
pub fn to_aws(atlas: &str) -> String {
    atlas.to_ascii_lowercase().replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_normalise_to_atlas_style() {
        assert_eq!(to_atlas("us-east-1").as_deref(), Some("US_EAST_1"));
        assert_eq!(to_atlas("US_EAST_1").as_deref(), Some("US_EAST_1"));
        assert_eq!(
            to_atlas("ap-southeast-2").as_deref(),
            Some("AP_SOUTHEAST_2")
        );
        assert_eq!(to_aws("EU_WEST_1"), "eu-west-1");
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "us",
            "US-EAST_1",
            "us-east",
            "Us-east-1",
            "us--1",
            "us east 1",
        ] {
            assert_eq!(to_atlas(bad), None, "{bad}");
        }
    }
}
