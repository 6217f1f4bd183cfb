//! Atlas's names of the Azure regions (`eastus2` → `US_EAST_2`), as the
//! Atlas API lists them for AZURE.

/// Azure location → Atlas region name.
const REGIONS: &[(&str, &str)] = &[
    ("australiacentral", "AUSTRALIA_CENTRAL"),
    ("australiacentral2", "AUSTRALIA_CENTRAL_2"),
    ("australiaeast", "AUSTRALIA_EAST"),
    ("australiasoutheast", "AUSTRALIA_SOUTH_EAST"),
    ("brazilsouth", "BRAZIL_SOUTH"),
    ("brazilsoutheast", "BRAZIL_SOUTHEAST"),
    ("canadacentral", "CANADA_CENTRAL"),
    ("canadaeast", "CANADA_EAST"),
    ("centralindia", "INDIA_CENTRAL"),
    ("centralus", "US_CENTRAL"),
    ("eastasia", "ASIA_EAST"),
    ("eastus", "US_EAST"),
    ("eastus2", "US_EAST_2"),
    ("francecentral", "FRANCE_CENTRAL"),
    ("francesouth", "FRANCE_SOUTH"),
    ("germanynorth", "GERMANY_NORTH"),
    ("germanywestcentral", "GERMANY_WEST_CENTRAL"),
    ("israelcentral", "ISRAEL_CENTRAL"),
    ("italynorth", "ITALY_NORTH"),
    ("japaneast", "JAPAN_EAST"),
    ("japanwest", "JAPAN_WEST"),
    ("koreacentral", "KOREA_CENTRAL"),
    ("koreasouth", "KOREA_SOUTH"),
    ("northcentralus", "US_NORTH_CENTRAL"),
    ("northeurope", "EUROPE_NORTH"),
    ("norwayeast", "NORWAY_EAST"),
    ("norwaywest", "NORWAY_WEST"),
    ("polandcentral", "POLAND_CENTRAL"),
    ("qatarcentral", "QATAR_CENTRAL"),
    ("southafricanorth", "SOUTH_AFRICA_NORTH"),
    ("southafricawest", "SOUTH_AFRICA_WEST"),
    ("southcentralus", "US_SOUTH_CENTRAL"),
    ("southeastasia", "ASIA_SOUTH_EAST"),
    ("southindia", "INDIA_SOUTH"),
    ("swedencentral", "SWEDEN_CENTRAL"),
    ("swedensouth", "SWEDEN_SOUTH"),
    ("switzerlandnorth", "SWITZERLAND_NORTH"),
    ("switzerlandwest", "SWITZERLAND_WEST"),
    ("uaecentral", "UAE_CENTRAL"),
    ("uaenorth", "UAE_NORTH"),
    ("uksouth", "UK_SOUTH"),
    ("ukwest", "UK_WEST"),
    ("westcentralus", "US_WEST_CENTRAL"),
    ("westeurope", "EUROPE_WEST"),
    ("westindia", "INDIA_WEST"),
    ("westus", "US_WEST"),
    ("westus2", "US_WEST_2"),
    ("westus3", "US_WEST_3"),
];

/// Atlas's region name for an Azure location; a location Atlas does not
/// list is sent upper-cased, and Atlas's refusal says so.
pub fn atlas_region(location: &str) -> String {
    REGIONS
        .iter()
        .find(|(l, _)| *l == location)
        .map(|(_, a)| (*a).to_owned())
        .unwrap_or_else(|| location.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(atlas_region("eastus2"), "US_EAST_2");
        assert_eq!(atlas_region("westeurope"), "EUROPE_WEST");
        assert_eq!(atlas_region("southeastasia"), "ASIA_SOUTH_EAST");
        assert!(REGIONS.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
    }
}
