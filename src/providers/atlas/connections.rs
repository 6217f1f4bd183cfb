//! The private-endpoint connection strings Atlas has for the clusters and
//! serverless instances of a project (`privlink output`, and after apply),
//! and which of them go through one privlink endpoint's VPC endpoint.
//!
//! Atlas reconfigures a cluster after a new private endpoint (`UPDATING`)
//! and adds the endpoint's connection string only once it is `IDLE` again:
//! the read waits (bounded, with progress lines and a backoff with jitter)
//! for the deployments to be IDLE, and marks those still busy as not ready.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

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
    /// The deployment's `stateName` (`IDLE`, `UPDATING`, ...), when Atlas
    /// gives one.
    #[serde(skip)]
    pub state: Option<String>,
}

impl Connection {
    /// True while Atlas is changing the deployment (`UPDATING`, `CREATING`,
    /// `REPAIRING`, ...): its connection strings may not be complete yet.
    /// A deployment being deleted is not waited for.
    pub fn busy(&self) -> bool {
        self.state
            .as_deref()
            .is_some_and(|s| !matches!(s, "" | "IDLE" | "DELETING" | "DELETED"))
    }
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
    /// The deployment's state when Atlas is still changing it (`UPDATING`,
    /// ...) and no string goes through this endpoint yet: they appear once
    /// it is IDLE. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_state: Option<String>,
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
    let row = |found: Option<&Connection>, deployment: Option<String>, strings: Vec<String>| {
        let deployment_state = found
            .filter(|c| c.busy() && strings.is_empty())
            .and_then(|c| c.state.clone());
        EndpointConnection {
            endpoint: endpoint.to_owned(),
            vpc_endpoint_id: vpce.map(str::to_owned),
            deployment,
            connection_strings: strings,
            deployment_state,
        }
    };
    if let Some(name) = instance {
        let found = conns.iter().find(|c| c.instance.as_deref() == Some(name));
        let deployment = found.map_or_else(
            || format!("serverless instance {name}"),
            |c| c.deployment.clone(),
        );
        let strings = found.map(|c| c.connection_strings.clone());
        return vec![row(found, Some(deployment), strings.unwrap_or_default())];
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
            row(Some(c), Some(c.deployment.clone()), strings)
        })
        .collect();
    if rows.is_empty() {
        vec![row(None, None, Vec::new())]
    } else {
        rows
    }
}

/// Reads the private-endpoint connection strings Atlas has for the
/// project's clusters (when `dedicated`) and the given serverless instances,
/// once none of them is busy (see [`Connection::busy`]), or once
/// `idle_wait` has passed: those still busy then keep their state, and the
/// output says their strings are not ready yet.
pub async fn connections(
    atlas: &AtlasClient,
    project: &str,
    instances: &[String],
    dedicated: bool,
    idle_wait: Duration,
) -> Result<Vec<Connection>, ProviderError> {
    let started = tokio::time::Instant::now();
    let deadline = started + idle_wait;
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(crate::limits::DEPLOYMENT_IDLE_MIN_DELAY)
        .with_max_delay(crate::limits::POLL_MAX_DELAY)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build();
    loop {
        let conns = read_connections(atlas, project, instances, dedicated).await?;
        let busy: Vec<String> = conns
            .iter()
            .filter(|c| c.busy())
            .map(|c| format!("{} ({})", c.deployment, c.state.as_deref().unwrap_or("?")))
            .collect();
        let now = tokio::time::Instant::now();
        if busy.is_empty() || now >= deadline {
            return Ok(conns);
        }
        let delay = delays
            .next()
            .unwrap_or(crate::limits::POLL_MAX_DELAY)
            .min(deadline - now);
        tracing::info!(busy = %busy.join(", "), "waiting for the deployments to be IDLE");
        crate::logging::progress(&format!(
            "waiting for {} to be IDLE before reading connection strings ({} s so far)",
            busy.join(", "),
            now.duration_since(started).as_secs()
        ));
        crate::wait::idle(delay).await;
    }
}

/// One read of the connection strings and states of the deployments.
async fn read_connections(
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
                state: c.state_name.clone(),
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
                state: inst.state_name.clone(),
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
            state: Some("IDLE".into()),
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
    fn a_busy_deployment_without_strings_is_not_ready() {
        let mut busy = cluster("main", &[("s-a", "vpce-a")]);
        busy.state = Some("UPDATING".into());
        assert!(busy.busy());
        let rows = through_endpoint(&[busy.clone()], "east-b", Some("vpce-b"), None);
        assert_eq!(rows[0].deployment_state.as_deref(), Some("UPDATING"));
        // Its strings through this endpoint are there already: ready.
        let rows = through_endpoint(&[busy], "east-a", Some("vpce-a"), None);
        assert_eq!(rows[0].deployment_state, None);
        let idle = cluster("main", &[]);
        assert!(!idle.busy());
        let rows = through_endpoint(&[idle], "east-b", Some("vpce-b"), None);
        assert_eq!(rows[0].deployment_state, None);
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
