//! The private-endpoint connection strings Atlas has for the clusters and
//! serverless instances of a project (`privlink output`, and after apply),
//! and which of them go through one privlink endpoint's VPC endpoint.

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
    /// The serverless instance's name; `None` for a dedicated cluster.
    #[serde(skip)]
    pub instance: Option<String>,
    /// Each connection string of a dedicated cluster with the cloud
    /// endpoint ids Atlas lists for it (empty for serverless instances).
    #[serde(skip)]
    pub routes: Vec<(String, Vec<String>)>,
}

/// The connection strings of one deployment that one privlink endpoint of
/// the file gives its clients.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EndpointConnection {
    /// The endpoint's name in the file.
    pub endpoint: String,
    /// Its VPC endpoint id, as recorded in the state (`None` before it is
    /// created).
    pub vpc_endpoint_id: Option<String>,
    /// "cluster NAME" or "serverless instance NAME"; `None` when the
    /// project has no cluster yet for a dedicated endpoint.
    pub deployment: Option<String>,
    /// The connection strings that go through this endpoint.
    pub connection_strings: Vec<String>,
}

/// The rows of the endpoint `endpoint` (VPC endpoint `vpce`): for a
/// serverless endpoint (`instance` is its instance), the instance's private
/// strings; for a dedicated one, every cluster with the strings Atlas lists
/// for `vpce`.
pub fn through_endpoint(
    conns: &[Connection],
    endpoint: &str,
    vpce: Option<&str>,
    instance: Option<&str>,
) -> Vec<EndpointConnection> {
    let row = |deployment: Option<String>, connection_strings: Vec<String>| EndpointConnection {
        endpoint: endpoint.to_owned(),
        vpc_endpoint_id: vpce.map(str::to_owned),
        deployment,
        connection_strings,
    };
    if let Some(name) = instance {
        let found = conns.iter().find(|c| c.instance.as_deref() == Some(name));
        let deployment = found.map_or_else(
            || format!("serverless instance {name}"),
            |c| c.deployment.clone(),
        );
        let strings = found.map(|c| c.connection_strings.clone());
        return vec![row(Some(deployment), strings.unwrap_or_default())];
    }
    let rows: Vec<EndpointConnection> = conns
        .iter()
        .filter(|c| c.instance.is_none())
        .map(|c| {
            let strings = c
                .routes
                .iter()
                .filter(|(_, ids)| vpce.is_some_and(|v| ids.iter().any(|i| i == v)))
                .map(|(s, _)| s.clone())
                .collect();
            row(Some(c.deployment.clone()), strings)
        })
        .collect();
    if rows.is_empty() {
        vec![row(None, Vec::new())]
    } else {
        rows
    }
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
            let mut routes = Vec::new();
            for p in &c.private_endpoint_connection_strings {
                let s = p
                    .srv_connection_string
                    .clone()
                    .or_else(|| p.connection_string.clone());
                if let Some(s) = &s {
                    routes.push((s.clone(), p.endpoint_ids.clone()));
                }
                strings.extend(s);
                ids.extend(p.endpoint_ids.iter().cloned());
            }
            out.push(Connection {
                deployment: format!("cluster {}", c.name),
                connection_strings: strings,
                endpoint_ids: sorted(ids),
                instance: None,
                routes,
            });
        }
    }
    for i in instances {
        if let Some(inst) = atlas.get_serverless_instance(project, i).await? {
            out.push(Connection {
                deployment: format!("serverless instance {}", inst.name),
                connection_strings: inst.private_endpoint_srv.clone(),
                endpoint_ids: Vec::new(),
                instance: Some(i.clone()),
                routes: Vec::new(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(name: &str, routes: &[(&str, &str)]) -> Connection {
        Connection {
            deployment: format!("cluster {name}"),
            connection_strings: routes.iter().map(|(s, _)| (*s).to_owned()).collect(),
            endpoint_ids: Vec::new(),
            instance: None,
            routes: routes
                .iter()
                .map(|(s, id)| ((*s).to_owned(), vec![(*id).to_owned()]))
                .collect(),
        }
    }

    #[test]
    fn dedicated_rows_keep_only_the_endpoints_own_strings() {
        let conns = [cluster("main", &[("s-a", "vpce-a"), ("s-b", "vpce-b")])];
        let rows = through_endpoint(&conns, "east-b", Some("vpce-b"), None);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].deployment.as_deref(), Some("cluster main"));
        assert_eq!(rows[0].connection_strings, vec!["s-b".to_owned()]);
        let none = through_endpoint(&conns, "new", None, None);
        assert!(none[0].connection_strings.is_empty());
        let empty = through_endpoint(&[], "east-a", Some("vpce-a"), None);
        assert_eq!(empty[0].deployment, None);
    }

    #[test]
    fn serverless_rows_name_the_instance_even_when_missing() {
        let rows = through_endpoint(&[], "orders", Some("vpce-a"), Some("orders-prod"));
        assert_eq!(
            rows[0].deployment.as_deref(),
            Some("serverless instance orders-prod")
        );
    }
}
