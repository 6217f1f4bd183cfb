//! Handlers of the deployments a project holds: serverless instances and clusters.

use std::sync::Arc;

use axum::extract::{Path, State};

use super::guards::{Checked, GroupPath, check_name};
use crate::context::ApiContext;
use crate::errors::ApiError;
use crate::reply::{Reply, paginate};
use crate::state::{AppState, lock};
use crate::views;

type Shared = State<Arc<AppState>>;

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
    let items = project
        .clusters
        .iter()
        .map(|c| views::cluster(project, c, &ctx.base))
        .collect();
    let url = format!("{}/groups/{group}/clusters", ctx.base);
    paginate(items, &ctx.query, &url)
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
    Ok(Reply::ok(views::cluster(
        store.project(&group)?,
        cluster,
        &ctx.base,
    )))
}
