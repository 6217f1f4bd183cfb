//! What every Resource Manager request (a path under `/subscriptions/`) goes through before
//! routing: its fixed path segments made canonical (ARM matches them case-insensitively), then
//! the bearer-token check and the `api-version` check.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::entra;
use crate::errors::ArmError;
use crate::state::AppState;

/// The fixed segments of the served paths, in their canonical spelling.
const FIXED: [&str; 12] = [
    "subscriptions",
    "resourceGroups",
    "providers",
    "Microsoft.Network",
    "Microsoft.Resources",
    "virtualNetworks",
    "subnets",
    "privateEndpoints",
    "networkInterfaces",
    "locations",
    "operations",
    "operationResults",
];

/// `api-version`s served for `Microsoft.Network` resources.
pub const NETWORK_VERSIONS: [&str; 12] = [
    "2024-05-01",
    "2024-03-01",
    "2024-01-01",
    "2023-11-01",
    "2023-09-01",
    "2023-06-01",
    "2023-05-01",
    "2023-04-01",
    "2023-02-01",
    "2022-11-01",
    "2022-09-01",
    "2022-07-01",
];

/// `api-version`s served for resource groups.
pub const RESOURCE_VERSIONS: [&str; 8] = [
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2023-07-01",
    "2022-09-01",
    "2021-04-01",
    "2021-01-01",
    "2020-10-01",
];

/// Whether `path` is a Resource Manager path.
pub fn is_arm(path: &str) -> bool {
    path.get(..15)
        .is_some_and(|p| p.eq_ignore_ascii_case("/subscriptions/"))
}

/// `path` with the fixed segments (the keys of the key/value pairs an ARM path is made of, and
/// the namespace after `providers`) in their canonical spelling.
pub fn canonical_path(path: &str) -> String {
    #[derive(PartialEq)]
    enum Slot {
        Key,
        Value,
        Namespace,
    }
    let mut slot = Slot::Key;
    let mut out = Vec::new();
    for segment in path.trim_start_matches('/').split('/') {
        let fixed = FIXED.iter().find(|f| f.eq_ignore_ascii_case(segment));
        match slot {
            Slot::Value => {
                out.push(segment.to_string());
                slot = Slot::Key;
            }
            Slot::Key | Slot::Namespace => {
                out.push(fixed.map_or(segment, |f| *f).to_string());
                slot = if slot == Slot::Key && fixed == Some(&"providers") {
                    Slot::Namespace
                } else if slot == Slot::Namespace {
                    Slot::Key
                } else {
                    Slot::Value
                };
            }
        }
    }
    format!("/{}", out.join("/"))
}

/// Rewrites the path of an ARM request to its canonical form.
pub async fn canonicalize(mut req: Request) -> Request {
    if !is_arm(req.uri().path()) {
        return req;
    }
    let path = canonical_path(req.uri().path());
    let target = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    if let Ok(uri) = target.parse::<Uri>() {
        *req.uri_mut() = uri;
    }
    req
}

/// Refuses an ARM request without a valid bearer token or a served `api-version`.
pub async fn guard(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if !is_arm(&path) {
        return next.run(req).await;
    }
    if let Err(e) = entra::check_bearer(&app, req.headers()) {
        return e.into_response();
    }
    let version = req.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "api-version")
            .map(|(_, v)| v.into_owned())
    });
    if let Err(e) = check_version(&path, version.as_deref()) {
        return e.into_response();
    }
    next.run(req).await
}

fn check_version(path: &str, version: Option<&str>) -> Result<(), ArmError> {
    let Some(version) = version else {
        return Err(ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    if path.contains("/providers/Microsoft.Network/") {
        if NETWORK_VERSIONS.contains(&version) {
            return Ok(());
        }
        return Err(ArmError::bad_request(
            "NoRegisteredProviderFound",
            format!(
                "No registered resource provider found for API version '{version}' of \
                 namespace 'Microsoft.Network'. The supported api-versions are '{}'.",
                NETWORK_VERSIONS.join(", ")
            ),
        ));
    }
    if RESOURCE_VERSIONS.contains(&version) {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "InvalidApiVersionParameter",
        format!(
            "The api-version '{version}' is invalid. The supported versions are '{}'.",
            RESOURCE_VERSIONS.join(",")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_segments_are_canonical_and_names_kept() {
        assert_eq!(
            canonical_path(
                "/SUBSCRIPTIONS/s/resourcegroups/Subnets/PROVIDERS/microsoft.network/privateendpoints/Providers"
            ),
            "/subscriptions/s/resourceGroups/Subnets/providers/Microsoft.Network/privateEndpoints/Providers"
        );
        assert_eq!(
            canonical_path(
                "/subscriptions/s/providers/microsoft.network/locations/eastus/operations/x"
            ),
            "/subscriptions/s/providers/Microsoft.Network/locations/eastus/operations/x"
        );
    }

    #[test]
    fn missing_and_unknown_versions_are_refused() {
        let pe = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/privateEndpoints/p";
        assert_eq!(
            check_version(pe, None).unwrap_err().code,
            "MissingApiVersionParameter"
        );
        assert_eq!(
            check_version(pe, Some("2021-04-01")).unwrap_err().code,
            "NoRegisteredProviderFound"
        );
        assert!(check_version(pe, Some("2024-05-01")).is_ok());
        assert!(check_version("/subscriptions/s/resourcegroups/g", Some("2021-04-01")).is_ok());
    }
}
