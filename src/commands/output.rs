//! `privlink output`: for each endpoint of the file, the private-endpoint
//! connection strings that go through its own VPC endpoint, read from
//! Atlas and matched with the VPC endpoint ids of the state.

use crate::config::{AtlasFlow, Config};
use crate::model::Address;
use crate::output::Output;
use crate::providers::clouds::{EndpointConnection, through_endpoint};
use crate::providers::{Clouds, ProviderError};
use crate::settings::Settings;
use crate::state::StateFile;

use super::common::{clouds, load_config, read_state};
use super::{CommandError, Outcome};

/// Reads and prints the connection strings by endpoint, as text or JSON;
/// says so when nothing was applied for the file's stack yet.
pub async fn run(settings: &Settings, out: &Output, json: bool) -> Result<Outcome, CommandError> {
    let (config, _) = load_config(settings)?;
    let Some(state) = read_state(settings)
        .await?
        .filter(|s| s.stack == config.stack)
    else {
        out.nothing_applied(&config.stack, &settings.state_location());
        return Ok(Outcome::Done);
    };
    let clouds = clouds(settings)?;
    let rows = connections(&clouds, &config, &state).await?;
    if json {
        out.json(&rows)?;
    } else {
        out.connections(&rows);
    }
    Ok(Outcome::Done)
}

/// The connection strings of the file's endpoints, endpoint by endpoint in
/// the file's order: one row per deployment an endpoint serves.
pub async fn connections(
    clouds: &Clouds,
    config: &Config,
    state: &StateFile,
) -> Result<Vec<EndpointConnection>, ProviderError> {
    let mut instances: Vec<String> = Vec::new();
    let mut dedicated = false;
    for e in config.endpoints.values() {
        match &e.atlas.flow {
            AtlasFlow::Serverless { instance } => {
                if !instances.contains(instance) {
                    instances.push(instance.clone());
                }
            }
            AtlasFlow::Dedicated => dedicated = true,
        }
    }
    let conns = clouds
        .connections(&config.atlas.project_id, &instances, dedicated)
        .await?;
    let mut rows = Vec::new();
    for (name, e) in &config.endpoints {
        // The cloud endpoint: a VPC endpoint on AWS, a private endpoint on Azure.
        let vpce = ["vpc_endpoint", "private_endpoint"]
            .iter()
            .find_map(|part| state.get(&Address::endpoint(name, part)))
            .and_then(|r| r.id.as_deref());
        let instance = match &e.atlas.flow {
            AtlasFlow::Serverless { instance } => Some(instance.as_str()),
            AtlasFlow::Dedicated => None,
        };
        rows.extend(through_endpoint(&conns, name, vpce, instance));
    }
    Ok(rows)
}
