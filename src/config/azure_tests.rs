//! Tests of the `azure` block: both subnet forms, the subscription's
//! default, and bad input placed on its line and column.

use std::path::Path;

use super::*;

const SUB: &str = "6c1f0a2e-0000-4000-8000-00000000a2e1";

fn env(name: &str) -> Option<String> {
    (name == "AZURE_SUBSCRIPTION_ID").then(|| SUB.to_string())
}

fn load(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    load_str(text, Path::new("az.yaml"), env)
}

fn file(endpoint: &str) -> String {
    format!(
        "version: 1\natlas:\n  project_id: 5f7cac1adf5d6c6306f4b280\naws:\n  region: us-east-1\nendpoints:\n  web:\n    atlas: {{dedicated_clusters: true}}\n{endpoint}"
    )
}

#[test]
fn a_subnet_by_vnet_and_name_with_the_default_subscription() {
    let c = load(
        &file("    azure:\n      resource_group: rg-app\n      location: eastus2\n      vnet: vnet-app\n      subnet: default\n"),
        &env,
    )
    .unwrap();
    let az = c.endpoints["web"].azure().unwrap();
    assert_eq!(az.subscription, SUB);
    assert_eq!(
        az.subnet_id,
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Network/virtualNetworks/vnet-app/subnets/default"
        )
    );
    assert!(c.endpoints["web"].aws().is_none());
}

#[test]
fn a_subnet_by_its_full_id_and_env_references() {
    let id = format!(
        "/subscriptions/{SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
    );
    let vars = |name: &str| match name {
        "SUBNET" => Some(id.clone()),
        _ => None,
    };
    let c = load(
        &file(&format!("    azure:\n      subscription: {SUB}\n      resource_group: rg-app\n      location: westeurope\n      subnet: \"${{SUBNET}}\"\n")),
        &vars,
    )
    .unwrap();
    assert_eq!(c.endpoints["web"].azure().unwrap().subnet_id, id);
}

#[test]
fn bad_azure_input_is_placed() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        (
            "    azure:\n      resource_group: rg-app\n      location: East US\n      vnet: v\n      subnet: s\n",
            (11, 17),
            "not an Azure location",
        ),
        (
            "    azure:\n      resource_group: rg-app\n      location: eastus2\n      subnet: s\n",
            (10, 7),
            "`vnet`",
        ),
        (
            "    aws:\n      vpc_id: vpc-0a1b2c3d\n      subnet_ids: [subnet-0a1b2c3d]\n    azure:\n      resource_group: rg\n",
            (13, 7),
            "both `aws` and `azure`",
        ),
        (
            "    azure:\n      resource_group: rg-app\n      location: eastus2\n      subnet: /subscriptions/x/resourceGroups/rg\n",
            (12, 15),
            "not an Azure subnet",
        ),
    ];
    for (block, at, words) in cases {
        let err = load(&file(block), &env).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains(words), "{shown}");
        assert!(shown.contains("expected"), "{shown}");
        assert_eq!(err.location(), Some(*at), "{shown}");
    }
}

#[test]
fn without_a_subscription_anywhere_the_block_is_refused() {
    let err = load(
        &file("    azure:\n      resource_group: rg-app\n      location: eastus2\n      vnet: v\n      subnet: s\n"),
        &|_| None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("AZURE_SUBSCRIPTION_ID"), "{err}");
    assert!(err.location().is_some(), "{err}");
}

#[test]
fn a_serverless_instance_on_azure_is_accepted() {
    let text = "version: 1\natlas:\n  project_id: 5f7cac1adf5d6c6306f4b280\naws:\n  region: us-east-1\nendpoints:\n  web:\n    atlas: {serverless_instance: s1, comment: web tier}\n    azure: {resource_group: rg, location: eastus2, vnet: v, subnet: s}\n";
    let c = load(text, &env).unwrap();
    let web = &c.endpoints["web"];
    assert!(
        matches!(&web.atlas.flow, AtlasFlow::Serverless { instance } if instance == "s1"),
        "{:?}",
        web.atlas.flow
    );
    assert_eq!(web.atlas.comment.as_deref(), Some("web tier"));
    assert_eq!(web.azure().unwrap().location, "eastus2");
}

#[test]
fn a_serverless_instance_on_azure_keeps_the_atlas_block_checks() {
    let text = "version: 1\natlas:\n  project_id: 5f7cac1adf5d6c6306f4b280\naws:\n  region: us-east-1\nendpoints:\n  web:\n    atlas: {serverless_instance: s1, dedicated_clusters: true}\n    azure: {resource_group: rg, location: eastus2, vnet: v, subnet: s}\n";
    let err = load(text, &env).unwrap_err();
    assert!(err.to_string().contains("exactly one"), "{err}");
    assert_eq!(err.location().map(|(line, _)| line), Some(8), "{err}");
}

#[test]
fn an_azure_only_file_needs_no_aws_block() {
    let text = "version: 1\natlas:\n  project_id: 5f7cac1adf5d6c6306f4b280\nendpoints:\n  web:\n    atlas: {dedicated_clusters: true}\n    azure: {resource_group: rg, location: eastus2, vnet: v, subnet: s}\n";
    let c = load(text, &env).unwrap();
    assert!(c.aws.is_none());
    assert_eq!(c.endpoints["web"].azure().unwrap().location, "eastus2");
}

#[test]
fn an_aws_endpoint_without_a_region_needs_the_aws_block() {
    let with_region = "version: 1\natlas:\n  project_id: 5f7cac1adf5d6c6306f4b280\nendpoints:\n  db:\n    atlas: {dedicated_clusters: true}\n    aws: {region: eu-west-1, vpc_id: vpc-0a1b2c3d, subnet_ids: [subnet-0a1b2c3d]}\n";
    let c = load(with_region, &env).unwrap();
    assert_eq!(c.endpoints["db"].aws().unwrap().region, "eu-west-1");
    let without = with_region.replace("region: eu-west-1, ", "");
    let err = load(&without, &env).unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("missing key `aws`"), "{shown}");
    assert!(shown.contains("endpoint `db`"), "{shown}");
    assert!(err.location().is_some(), "{shown}");
}
