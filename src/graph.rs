//! The action graph: a petgraph DAG of the non-trivial changes of a plan.
//!
//! Each change becomes one node (create, update, delete) or two (replace:
//! delete, then create). Create edges run from a dependency to its
//! dependents; destroy edges are the reverse of create edges, so dependents
//! are deleted before what they depend on. Cycles are reported by address.
//! Each node also gets a priority: the expected length of the longest chain
//! of steps from it to the end, so that the executor starts the steps that
//! hold up the most work first.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use thiserror::Error;

use crate::model::Address;
use crate::plan::{Action, Catalog, Plan};

/// Which half of a change a node performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Delete the existing object.
    Delete,
    /// Create or update towards the desired attributes.
    Apply,
}

/// One executable step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Index into `Plan::changes`.
    pub change: usize,
    /// The address of the resource the change is about.
    pub address: Address,
    /// Whether this step deletes the old object or applies the desired one.
    pub phase: Phase,
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.phase {
            Phase::Delete => write!(f, "delete {}", self.address),
            Phase::Apply => write!(f, "apply {}", self.address),
        }
    }
}

/// Errors building the graph.
#[derive(Debug, Error)]
pub enum GraphError {
    /// The dependencies loop back on themselves; holds one resource in the loop.
    #[error("dependency cycle involving {0}")]
    Cycle(Address),
}

/// The DAG: an edge `a -> b` means `a` must finish before `b` starts.
#[derive(Debug)]
pub struct ActionGraph {
    /// The steps and their ordering edges.
    pub graph: DiGraph<Node, ()>,
    /// Per node (by index): its kind's weight (see
    /// [`ResourceRules::weight`](crate::plan::ResourceRules::weight)) plus the
    /// largest priority among the nodes that wait for it.
    priority: Vec<u64>,
}

impl ActionGraph {
    /// Builds the graph of a plan's changes; `catalog` weighs each kind.
    pub fn build(plan: &Plan, catalog: &Catalog) -> Result<ActionGraph, GraphError> {
        let mut graph = DiGraph::new();
        let mut apply: BTreeMap<&Address, NodeIndex> = BTreeMap::new();
        let mut delete: BTreeMap<&Address, NodeIndex> = BTreeMap::new();
        for (i, c) in plan.changes.iter().enumerate() {
            let node = |phase| Node {
                change: i,
                address: c.address.clone(),
                phase,
            };
            match c.action {
                Action::NoOp => {}
                Action::Create | Action::Update => {
                    apply.insert(&c.address, graph.add_node(node(Phase::Apply)));
                }
                Action::Delete => {
                    delete.insert(&c.address, graph.add_node(node(Phase::Delete)));
                }
                Action::Replace => {
                    let d = graph.add_node(node(Phase::Delete));
                    let a = graph.add_node(node(Phase::Apply));
                    graph.add_edge(d, a, ());
                    delete.insert(&c.address, d);
                    apply.insert(&c.address, a);
                }
            }
        }
        // Each edge once. (petgraph's update_edge would look for it among
        // the node's edges: quadratic for a service shared by many endpoints.)
        let mut edges: BTreeSet<(NodeIndex, NodeIndex)> = BTreeSet::new();
        for c in &plan.changes {
            for dep in &c.depends_on {
                // Create edge: the dependency first.
                if let (Some(&from), Some(&to)) = (apply.get(dep), apply.get(&c.address)) {
                    edges.insert((from, to));
                }
                // Destroy edge, reversed: the dependent is deleted first.
                if let (Some(&from), Some(&to)) = (delete.get(&c.address), delete.get(dep)) {
                    edges.insert((from, to));
                }
            }
        }
        for (from, to) in edges {
            graph.add_edge(from, to, ());
        }
        let order = toposort(&graph, None)
            .map_err(|cycle| GraphError::Cycle(graph[cycle.node_id()].address.clone()))?;
        // Longest weighted path to a sink, from the sinks backwards.
        let mut priority = vec![0u64; graph.node_count()];
        for &n in order.iter().rev() {
            let after = graph
                .neighbors_directed(n, Direction::Outgoing)
                .map(|m| priority[m.index()])
                .max()
                .unwrap_or(0);
            let kind = plan.changes[graph[n].change].kind;
            priority[n.index()] = catalog.rules(kind).weight() + after;
        }
        Ok(ActionGraph { graph, priority })
    }

    /// How much work waits on `n`: ready steps with a higher priority start
    /// first.
    pub fn priority(&self, n: NodeIndex) -> u64 {
        self.priority[n.index()]
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// True if there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// The graph as sorted text lines `a -> b`, for tests and `--debug-graph`.
    pub fn to_text(&self) -> String {
        let mut lines: Vec<String> = self
            .graph
            .edge_indices()
            .filter_map(|e| self.graph.edge_endpoints(e))
            .map(|(a, b)| format!("{} -> {}", self.graph[a], self.graph[b]))
            .collect();
        for n in self.graph.node_indices() {
            if self.graph.neighbors_undirected(n).next().is_none() {
                lines.push(format!("{}", self.graph[n]));
            }
        }
        lines.sort();
        let mut out = String::new();
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
        out
    }
}
