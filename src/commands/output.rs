//! `privlink output`: the private-endpoint connection strings Atlas has for
//! the file's deployments.

use crate::config::{AtlasFlow, Config};
use crate::output::Output;
use crate::providers::clouds::Connection;
use crate::providers::{Clouds, ProviderError};
use crate::settings::Settings;

use super::common::{clouds, load_config};
use super::{CommandError, Outcome};

/// Reads and prints the connection strings, as text or JSON.
pub async fn run(settings: &Settings, out: &Output, json: bool) -> Result<Outcome, CommandError> {
    let (config, _) = load_config(settings)?;
    let clouds = clouds(settings)?;
    let conns = connections(&clouds, &config).await?;
    if json {
        out.json(&conns)?;
    } else {
        out.connections(&conns);
    }
    Ok(Outcome::Done)
}

/// The connection strings of the deployments the file's endpoints serve.
pub async fn connections(
    clouds: &Clouds,
    config: &Config,
) -> Result<Vec<Connection>, ProviderError> {
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
    clouds
        .connections(&config.atlas.project_id, &instances, dedicated)
        .await
}
