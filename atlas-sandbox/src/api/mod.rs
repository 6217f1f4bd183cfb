//! The resources of the Atlas Administration API this sandbox emulates, served identically
//! under `/api/atlas/v2` and `/api/atlas/v1.0`: one handler per operation, each route guarded by
//! the checks its path parameters need (see [`guards`]).

/// Serverless instances and clusters.
pub mod deployments;
/// Endpoint services and interface endpoints.
pub mod endpoint_services;
/// Checks of path parameters.
pub mod guards;
/// Serverless private endpoints.
pub mod serverless_endpoints;

use std::sync::Arc;

use axum::Router;
use axum::routing::{MethodRouter, get, post};

use crate::state::AppState;
use deployments::{get_cluster, get_serverless_instance, list_clusters, list_serverless_instances};
use endpoint_services::{
    create_endpoint_service, create_interface_endpoint, delete_endpoint_service,
    delete_interface_endpoint, get_endpoint_service, get_interface_endpoint,
    list_endpoint_services,
};
use guards::{
    GroupPath, InstancePath, InterfaceEndpointPath, PathGuard, ProviderPath, ServiceEndpointsPath,
    ServicePath, TenantEndpointPath, method_not_allowed,
};
use serverless_endpoints::{
    create_serverless_endpoint, delete_serverless_endpoint, get_serverless_endpoint,
    list_serverless_endpoints, update_serverless_endpoint,
};

type Methods = MethodRouter<Arc<AppState>>;

/// The methods of one route; every other method, `HEAD` included, is answered
/// `METHOD_NOT_ALLOWED` once the route's guard `G` passed.
fn guarded<G: PathGuard>(methods: Methods) -> Methods {
    methods
        .head(method_not_allowed::<G>)
        .fallback(method_not_allowed::<G>)
}

const SERVERLESS_ENDPOINTS: &str =
    "/groups/{groupId}/privateEndpoint/serverless/instance/{instanceName}/endpoint";
const SERVICES: &str = "/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService";

/// The resource routes, relative to an API prefix.
pub fn router() -> Router<Arc<AppState>> {
    let service = format!("{SERVICES}/{{endpointServiceId}}");
    Router::new()
        .route(
            "/groups/{groupId}/serverless",
            guarded::<GroupPath>(get(list_serverless_instances)),
        )
        .route(
            "/groups/{groupId}/serverless/{name}",
            guarded::<GroupPath>(get(get_serverless_instance)),
        )
        .route(
            "/groups/{groupId}/clusters",
            guarded::<GroupPath>(get(list_clusters)),
        )
        .route(
            "/groups/{groupId}/clusters/{clusterName}",
            guarded::<GroupPath>(get(get_cluster)),
        )
        .route(
            SERVERLESS_ENDPOINTS,
            guarded::<InstancePath>(
                get(list_serverless_endpoints).post(create_serverless_endpoint),
            ),
        )
        .route(
            &format!("{SERVERLESS_ENDPOINTS}/{{endpointId}}"),
            guarded::<TenantEndpointPath>(
                get(get_serverless_endpoint)
                    .patch(update_serverless_endpoint)
                    .delete(delete_serverless_endpoint),
            ),
        )
        .route(
            "/groups/{groupId}/privateEndpoint/endpointService",
            guarded::<GroupPath>(post(create_endpoint_service)),
        )
        .route(
            SERVICES,
            guarded::<ProviderPath>(get(list_endpoint_services)),
        )
        .route(
            &service,
            guarded::<ServicePath>(get(get_endpoint_service).delete(delete_endpoint_service)),
        )
        .route(
            &format!("{service}/endpoint"),
            guarded::<ServiceEndpointsPath>(post(create_interface_endpoint)),
        )
        .route(
            &format!("{service}/endpoint/{{endpointId}}"),
            guarded::<InterfaceEndpointPath>(
                get(get_interface_endpoint).delete(delete_interface_endpoint),
            ),
        )
}
