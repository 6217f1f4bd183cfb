//! The private-endpoint connection strings Atlas has for the clusters and
//! serverless instances of a project (`privlink output`, and after apply).

use super::AtlasClient;
use crate::providers::ProviderError;
use crate::providers::typed::sorted;

/// The private-endpoint connection strings of one Atlas deployment.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Connection {
    /// "cluster NAME" or "serverless instance NAME".
    pub deployment: String,
    /// The connection strings through private endpoints.
    pub connection_strings: Vec<String>,
    /// The cloud endpoint ids they go through.
    pub endpoint_ids: Vec<String>,
}

/// Reads the private-endpoint connection strings Atlas has for the
/// project's clusters (when `dedicated`) and the given serverless instances.
pub async fn connections(
    atlas: &AtlasClient,
    project: &str,
    instances: &[String],
    dedicated: bool,
) -> Result<Vec<Connection>, ProviderError> {
    let mut out = Vec::new();
    if dedicated {
        for c in atlas.list_clusters(project).await? {
            let mut strings = Vec::new();
            let mut ids = Vec::new();
            for p in &c.private_endpoint_connection_strings {
                strings.extend(
                    p.srv_connection_string
                        .clone()
                        .or_else(|| p.connection_string.clone()),
                );
                ids.extend(p.endpoint_ids.iter().cloned());
            }
            out.push(Connection {
                deployment: format!("cluster {}", c.name),
                connection_strings: strings,
                endpoint_ids: sorted(ids),
            });
        }
    }
    for i in instances {
        if let Some(inst) = atlas.get_serverless_instance(project, i).await? {
            out.push(Connection {
                deployment: format!("serverless instance {}", inst.name),
                connection_strings: inst.private_endpoint_srv.clone(),
                endpoint_ids: Vec::new(),
            });
        }
    }
    Ok(out)
}
