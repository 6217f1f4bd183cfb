//! Region names: Atlas style (`US_EAST_1`) and AWS style (`us-east-1`), and the mapping
//! between them (the two spellings differ only in case and separator); Atlas's Azure region
//! names (`US_EAST_2`, `EUROPE_WEST`) and the Azure locations they stand for (`eastus2`,
//! `westeurope`).

/// Atlas's Azure region names and the Azure locations they stand for.
const AZURE: [(&str, &str); 30] = [
    ("US_EAST", "eastus"),
    ("US_EAST_2", "eastus2"),
    ("US_CENTRAL", "centralus"),
    ("US_NORTH_CENTRAL", "northcentralus"),
    ("US_SOUTH_CENTRAL", "southcentralus"),
    ("US_WEST", "westus"),
    ("US_WEST_2", "westus2"),
    ("US_WEST_3", "westus3"),
    ("US_WEST_CENTRAL", "westcentralus"),
    ("CANADA_CENTRAL", "canadacentral"),
    ("CANADA_EAST", "canadaeast"),
    ("BRAZIL_SOUTH", "brazilsouth"),
    ("EUROPE_NORTH", "northeurope"),
    ("EUROPE_WEST", "westeurope"),
    ("UK_SOUTH", "uksouth"),
    ("UK_WEST", "ukwest"),
    ("FRANCE_CENTRAL", "francecentral"),
    ("GERMANY_WEST_CENTRAL", "germanywestcentral"),
    ("SWITZERLAND_NORTH", "switzerlandnorth"),
    ("NORWAY_EAST", "norwayeast"),
    ("SWEDEN_CENTRAL", "swedencentral"),
    ("ASIA_EAST", "eastasia"),
    ("ASIA_SOUTH_EAST", "southeastasia"),
    ("AUSTRALIA_EAST", "australiaeast"),
    ("AUSTRALIA_SOUTH_EAST", "australiasoutheast"),
    ("INDIA_CENTRAL", "centralindia"),
    ("JAPAN_EAST", "japaneast"),
    ("KOREA_CENTRAL", "koreacentral"),
    ("SOUTH_AFRICA_NORTH", "southafricanorth"),
    ("UAE_NORTH", "uaenorth"),
];

/// The Atlas name of an Azure region given in Atlas style (`US_EAST_2`) or as an Azure
/// location (`eastus2`, `East US 2`), or `None` for neither.
pub fn azure_to_atlas(input: &str) -> Option<String> {
    let location: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    AZURE
        .iter()
        .find(|(atlas, azure)| *atlas == input || *azure == location)
        .map(|(atlas, _)| (*atlas).to_string())
}

/// The Azure location of an Atlas Azure region name: `US_EAST_2` → `eastus2`.
pub fn to_azure(atlas: &str) -> Option<&'static str> {
    AZURE.iter().find(|(a, _)| *a == atlas).map(|(_, l)| *l)
}

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
    fn azure_regions_map_both_ways() {
        assert_eq!(azure_to_atlas("eastus2").as_deref(), Some("US_EAST_2"));
        assert_eq!(
            azure_to_atlas("West Europe").as_deref(),
            Some("EUROPE_WEST")
        );
        assert_eq!(
            azure_to_atlas("ASIA_SOUTH_EAST").as_deref(),
            Some("ASIA_SOUTH_EAST")
        );
        assert_eq!(azure_to_atlas("us-east-1"), None);
        assert_eq!(to_azure("US_EAST_2"), Some("eastus2"));
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
