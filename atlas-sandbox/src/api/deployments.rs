//! Handlers of the deployments a project holds: serverless instances and clusters. Clusters are
//! served in two resource versions: `2024-08-05` (current) when the `Accept` header asks for
//! that date or a later one, otherwise `2023-01-01`, deprecated, whose v2 answers carry
//! `Deprecation` and `Sunset` headers.

use std::sync::Arc;

use axum::extract::{Path, State};

use super::guards::{Checked, GroupPath, check_name};
use crate::context::ApiContext;
use crate::errors::ApiError;
use crate::reply::{Reply, paginate};
use crate::state::{AppState, lock};
use crate::views;

type Shared = State<Arc<AppState>>;

/// Version date of the current cluster resource.
pub const CLUSTER_CURRENT_VERSION: &str = "2024-08-05";
const CLUSTER_CURRENT_MEDIA: &str = "application/vnd.atlas.2024-08-05+json;charset=utf-8";
/// `Deprecation` of the 2023-01-01 cluster resource: the day its successor was published.
pub const CLUSTER_LEGACY_DEPRECATION: &str = "Mon, 05 Aug 2024 00:00:00 GMT";
/// `Sunset` of the 2023-01-01 cluster resource (the spec's `x-sunset: 2027-07-01`).
pub const CLUSTER_LEGACY_SUNSET: &str = "Thu, 01 Jul 2027 00:00:00 GMT";

/// Whether the request gets the current (2024-08-05) cluster resource.
fn current_clusters(ctx: &ApiContext) -> bool {
    ctx.version_date
        .as_deref()
        .is_some_and(|d| d >= CLUSTER_CURRENT_VERSION)
}

/// Labels a cluster answer with its version: the current media type, or the deprecation
/// headers of the 2023-01-01 version (v2 only; v1.0 is not versioned).
fn versioned(reply: Reply, ctx: &ApiContext) -> Reply {
    if ctx.version_date.is_none() {
        reply
    } else if current_clusters(ctx) {
        reply.in_media(CLUSTER_CURRENT_MEDIA)
    } else {
        reply
            .with_header("Deprecation", CLUSTER_LEGACY_DEPRECATION)
            .with_header("Sunset", CLUSTER_LEGACY_SUNSET)
    }
}

/// `GET /groups/{groupId}/serverless`.
pub async fn list_serverless_instances(
    State(app): Shared,
    ctx: ApiContext,
    Checked(GroupPath { group }): Checked<GroupPath>,
) -> Result<Reply, ApiError> {
    let store = lock(&app.store);
    let project = store.project(&group)?;
    let items = project
        .serverless
        .iter()
        .map(|s| views::serverless_instance(project, s, &ctx.base))
        .collect();
    let url = format!("{}/groups/{group}/serverless", ctx.base);
    paginate(items, &ctx.query, &url)
}

/// `GET /groups/{groupId}/serverless/{name}`.
pub async fn get_serverless_instance(
    State(app): Shared,
    ctx: ApiContext,
    Checked(GroupPath { group }): Checked<GroupPath>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Reply, ApiError> {
    check_name("name", &name)?;
    let store = lock(&app.store);
    let instance = store.serverless_instance(&group, &name)?;
    Ok(Reply::ok(views::serverless_instance(
        store.project(&group)?,
        instance,
        &ctx.base,
    )))
}

/// `GET /groups/{groupId}/clusters`.
pub async fn list_clusters(
    State(app): Shared,
    ctx: ApiContext,
    Checked(GroupPath { group }): Checked<GroupPath>,
) -> Result<Reply, ApiError> {
    let store = lock(&app.store);
    let project = store.project(&group)?;
    let view = if current_clusters(&ctx) {
        views::cluster_20240805
    } else {
        views::cluster
    };
    let items = project
        .clusters
        .iter()
        .map(|c| view(project, c, &ctx.base))
        .collect();
    let url = format!("{}/groups/{group}/clusters", ctx.base);
    Ok(versioned(paginate(items, &ctx.query, &url)?, &ctx))
}

/// `GET /groups/{groupId}/clusters/{clusterName}`.
pub async fn get_cluster(
    State(app): Shared,
    ctx: ApiContext,
    Checked(GroupPath { group }): Checked<GroupPath>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Reply, ApiError> {
    check_name("clusterName", &name)?;
    let store = lock(&app.store);
    let cluster = store.cluster(&group, &name)?;
    let view = if current_clusters(&ctx) {
        views::cluster_20240805
    } else {
        views::cluster
    };
    let body = view(store.project(&group)?, cluster, &ctx.base);
    Ok(versioned(Reply::ok(body), &ctx))
}
