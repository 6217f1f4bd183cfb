//! `privlink validate`: checks the file without calling any API.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::graph::GraphError;
use crate::model::{Address, DesiredResource};
use crate::output::Output;
use crate::settings::Settings;

use super::common::load_config;
use super::{CommandError, Outcome};

/// Loads and expands the file, checks that the resources' dependencies can
/// be ordered, and prints a summary.
pub fn run(settings: &Settings, out: &Output) -> Result<Outcome, CommandError> {
    let (config, desired) = load_config(settings)?;
    check_order(&desired)?;
    out.validated(
        &settings.file,
        &config.stack,
        config.endpoints.len(),
        desired.len(),
    );
    Ok(Outcome::Done)
}

/// Fails with the address of a resource on a dependency cycle, as the apply
/// graph would (dependencies on resources outside `desired` are ignored).
pub fn check_order(desired: &[DesiredResource]) -> Result<(), GraphError> {
    let mut graph: DiGraph<&Address, ()> = DiGraph::new();
    let nodes: BTreeMap<&Address, NodeIndex> = desired
        .iter()
        .map(|d| (&d.address, graph.add_node(&d.address)))
        .collect();
    let edges: BTreeSet<(NodeIndex, NodeIndex)> = desired
        .iter()
        .flat_map(|d| d.depends_on.iter().map(move |dep| (dep, &d.address)))
        .filter_map(|(dep, a)| Some((*nodes.get(dep)?, *nodes.get(a)?)))
        .collect();
    for (from, to) in edges {
        graph.add_edge(from, to, ());
    }
    toposort(&graph, None)
        .map(drop)
        .map_err(|cycle| GraphError::Cycle(graph[cycle.node_id()].clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn resource(address: &str, depends_on: &[&str]) -> DesiredResource {
        DesiredResource {
            address: Address::new(address),
            kind: Kind::new("aws_security_group"),
            attrs: Default::default(),
            depends_on: depends_on.iter().map(|a| Address::new(*a)).collect(),
        }
    }

    #[test]
    fn orders_a_chain_and_ignores_outside_dependencies() {
        let desired = [resource("a", &[]), resource("b", &["a", "elsewhere"])];
        assert!(check_order(&desired).is_ok());
    }

    #[test]
    fn reports_a_cycle() {
        let desired = [resource("a", &["b"]), resource("b", &["a"])];
        let err = check_order(&desired).unwrap_err();
        assert!(
            err.to_string().starts_with("dependency cycle involving "),
            "{err}"
        );
    }
}
