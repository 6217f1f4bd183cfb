//! Tests of the OpenAPI-derived validator itself: it must accept bodies the
//! spec allows and reject bodies it does not (otherwise the conformance tests
//! could not fail).

mod support;

use serde_json::{Value, json};
use support::openapi::{Options, Spec};
use support::spec;

const SERVERLESS_ONE: &str = "/api/atlas/v2/groups/5f7cac1adf5d6c6306f4b280/privateEndpoint/serverless/instance/inst-1/endpoint/5f7cac1adf5d6c6306f4b283";
const SERVERLESS_LIST: &str = "/api/atlas/v2/groups/5f7cac1adf5d6c6306f4b280/privateEndpoint/serverless/instance/inst-1/endpoint";
const SERVICE_CREATE: &str =
    "/api/atlas/v2/groups/5f7cac1adf5d6c6306f4b280/privateEndpoint/endpointService";
const SERVICE_ONE: &str = "/api/atlas/v2/groups/5f7cac1adf5d6c6306f4b280/privateEndpoint/AWS/endpointService/6a793f68c0eb9e7a17715835";
const INTERFACE_ONE: &str = "/api/atlas/v2/groups/5f7cac1adf5d6c6306f4b280/privateEndpoint/AWS/endpointService/6a793f68c0eb9e7a17715835/endpoint/vpce-0123456789abcdef0";
const MEDIA: &str = "application/vnd.atlas.2023-01-01+json;charset=utf-8";

fn validate(
    method: &str,
    path: &str,
    status: u16,
    media: &str,
    body: &Value,
) -> Result<(), String> {
    spec().validate_response(method, path, status, media, &body.to_string())
}

fn reserved_endpoint() -> Value {
    json!({
        "_id": "5f7cac1adf5d6c6306f4b283",
        "cloudProviderEndpointId": null,
        "comment": "example comment",
        "endpointServiceName": "com.amazonaws.vpce.us-east-1.vpce-svc-0afd34ee97e30d43f",
        "errorMessage": null,
        "providerName": "AWS",
        "status": "RESERVED"
    })
}

#[test]
fn path_templates_are_resolved_from_the_spec() {
    let s = spec();
    let cases = [
        (
            SERVERLESS_ONE,
            "/api/atlas/v2/groups/{groupId}/privateEndpoint/serverless/instance/{instanceName}/endpoint/{endpointId}",
        ),
        (
            SERVICE_CREATE,
            "/api/atlas/v2/groups/{groupId}/privateEndpoint/endpointService",
        ),
        (
            "/api/atlas/v2/groups/5f7cac1adf5d6c6306f4b280/privateEndpoint/AWS/endpointService",
            "/api/atlas/v2/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService",
        ),
        (
            INTERFACE_ONE,
            "/api/atlas/v2/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}/endpoint/{endpointId}",
        ),
    ];
    for (path, template) in cases {
        assert_eq!(
            s.match_path(path),
            Some((template.to_string(), false)),
            "{path}"
        );
    }
    let legacy = "/api/atlas/v1.0/groups/5f7cac1adf5d6c6306f4b280/privateEndpoint/serverless/instance/i/endpoint?pretty=true";
    let (template, is_legacy) = s.match_path(legacy).expect("legacy path matches");
    assert!(is_legacy);
    assert!(template.ends_with("/instance/{instanceName}/endpoint"));
    assert_eq!(s.match_path("/api/atlas/v2/groups/x/unknown"), None);
}

#[test]
fn valid_serverless_endpoint_bodies_pass() {
    // The three bodies printed by the seed document (steps 1, 2 and 7).
    let requested = json!({
        "_id": "5f7cac1adf5d6c6306f4b283",
        "cloudProviderEndpointId": null,
        "comment": "example comment",
        "endpointServiceName": null,
        "errorMessage": null,
        "status": "RESERVATION_REQUESTED"
    });
    validate("POST", SERVERLESS_LIST, 201, MEDIA, &requested).unwrap();
    validate("GET", SERVERLESS_ONE, 200, MEDIA, &reserved_endpoint()).unwrap();
    let available = json!({
        "_id": "5f7cac1adf5d6c6306f4b283",
        "cloudProviderEndpointId": "vpce-0fcac938279cd98dc",
        "comment": "example comment",
        "endpointServiceName": "com.amazonaws.vpce.us-east-1.vpce-svc-0afd34ee97e30d43f",
        "errorMessage": null,
        "status": "AVAILABLE"
    });
    validate("GET", SERVERLESS_ONE, 200, MEDIA, &available).unwrap();
    validate("PATCH", SERVERLESS_ONE, 200, MEDIA, &available).unwrap();
    validate(
        "GET",
        SERVERLESS_LIST,
        200,
        MEDIA,
        &json!([requested, available]),
    )
    .unwrap();
    validate("GET", SERVERLESS_LIST, 200, MEDIA, &json!([])).unwrap();
    // Legacy v1.0 path with plain JSON.
    let legacy = SERVERLESS_ONE.replace("/api/atlas/v2/", "/api/atlas/v1.0/");
    validate("GET", &legacy, 200, "application/json", &available).unwrap();
}

#[test]
fn a_body_matching_both_union_branches_passes() {
    // Without endpointServiceName/cloudProviderEndpointId an AWS body also
    // satisfies the Azure alternative; with `oneOf` semantics this would fail.
    let ambiguous = json!({"_id": "5f7cac1adf5d6c6306f4b283", "status": "RESERVATION_REQUESTED"});
    validate("GET", SERVERLESS_ONE, 200, MEDIA, &ambiguous).unwrap();
    let doc = spec().component_document("ServerlessAWSTenantEndpoint");
    support::openapi::check(&doc, &ambiguous).unwrap();
    let doc = spec().component_document("ServerlessAzureTenantEndpoint");
    support::openapi::check(&doc, &ambiguous).unwrap();
}

#[test]
fn unknown_field_fails() {
    let mut body = reserved_endpoint();
    body["surprise"] = json!(true);
    let err = validate("GET", SERVERLESS_ONE, 200, MEDIA, &body).unwrap_err();
    assert!(err.contains("surprise"), "{err}");
    // Unknown fields nested in list items fail too.
    let err = validate("GET", SERVERLESS_LIST, 200, MEDIA, &json!([body])).unwrap_err();
    assert!(err.contains("surprise"), "{err}");
}

#[test]
fn wrong_type_fails() {
    let mut body = reserved_endpoint();
    body["comment"] = json!(42);
    assert!(validate("GET", SERVERLESS_ONE, 200, MEDIA, &body).is_err());
    // A list operation answered with a single object.
    assert!(validate("GET", SERVERLESS_LIST, 200, MEDIA, &reserved_endpoint()).is_err());
}

#[test]
fn bad_enum_value_fails() {
    let mut body = reserved_endpoint();
    body["status"] = json!("PENDING");
    let err = validate("GET", SERVERLESS_ONE, 200, MEDIA, &body).unwrap_err();
    assert!(err.contains("status") || err.contains("PENDING"), "{err}");
}

#[test]
fn pattern_and_length_constraints_apply() {
    let mut body = reserved_endpoint();
    body["_id"] = json!("not-an-object-id");
    assert!(validate("GET", SERVERLESS_ONE, 200, MEDIA, &body).is_err());
    let mut body = reserved_endpoint();
    body["comment"] = json!("x".repeat(81));
    assert!(validate("GET", SERVERLESS_ONE, 200, MEDIA, &body).is_err());
    let mut body = reserved_endpoint();
    body["cloudProviderEndpointId"] = json!("vpce-xyz");
    body["endpointServiceName"] = json!("com.amazonaws.vpce.us-east-1.vpce-svc-0afd34ee97e30d43f");
    assert!(validate("GET", SERVERLESS_ONE, 200, MEDIA, &body).is_err());
}

#[test]
fn nulls_are_accepted_only_through_the_documented_relaxation() {
    let strict = Spec::load_with(Options {
        null_for_unset_read_only: false,
    });
    let body = reserved_endpoint().to_string();
    assert!(
        strict
            .validate_response("GET", SERVERLESS_ONE, 200, MEDIA, &body)
            .is_err(),
        "explicit nulls must fail when the relaxation is off"
    );
    // A required field may not be null even with the relaxation.
    let err = validate(
        "GET",
        SERVERLESS_ONE,
        404,
        "application/json",
        &json!({"error": 404, "errorCode": null}),
    )
    .unwrap_err();
    assert!(err.contains("errorCode") || err.contains("null"), "{err}");
}

#[test]
fn discriminated_endpoint_service_dispatches_on_cloud_provider() {
    let aws = json!({
        "cloudProvider": "AWS",
        "endpointServiceName": null,
        "errorMessage": null,
        "id": "6a793f68c0eb9e7a17715835",
        "interfaceEndpoints": [],
        "regionName": "US_EAST_1",
        "status": "INITIATING",
        "supportedRemoteRegions": null
    });
    validate("POST", SERVICE_CREATE, 201, MEDIA, &aws).unwrap();
    validate("GET", SERVICE_ONE, 200, MEDIA, &aws).unwrap();
    // Field of the AZURE variant on an AWS service.
    let mut wrong = aws.clone();
    wrong["privateLinkServiceName"] = json!("pls_0123456789abcdef01234567");
    assert!(validate("GET", SERVICE_ONE, 200, MEDIA, &wrong).is_err());
    // The AWS variant requires interfaceEndpoints.
    let mut missing = aws.clone();
    missing
        .as_object_mut()
        .unwrap()
        .remove("interfaceEndpoints");
    assert!(validate("GET", SERVICE_ONE, 200, MEDIA, &missing).is_err());
    // interfaceEndpoints holds vpce ids (documented override), nothing else.
    let mut linked = aws.clone();
    linked["interfaceEndpoints"] = json!(["vpce-0123456789abcdef0"]);
    validate("GET", SERVICE_ONE, 200, MEDIA, &linked).unwrap();
    linked["interfaceEndpoints"] = json!(["endpoint-1"]);
    assert!(validate("GET", SERVICE_ONE, 200, MEDIA, &linked).is_err());
    let mut bad = aws.clone();
    bad["status"] = json!("RESERVED");
    assert!(validate("GET", SERVICE_ONE, 200, MEDIA, &bad).is_err());
    // Azure variant with its own fields passes.
    let azure = json!({
        "cloudProvider": "AZURE", "errorMessage": null, "id": "6a793f68c0eb9e7a17715836",
        "privateEndpoints": [], "privateLinkServiceName": null, "privateLinkServiceResourceId": null,
        "regionName": "ASIA_SOUTH_EAST", "status": "INITIATING"
    });
    validate("GET", SERVICE_ONE, 200, MEDIA, &azure).unwrap();
}

#[test]
fn interface_endpoint_bodies() {
    let pending = json!({
        "cloudProvider": "AWS",
        "connectionStatus": "PENDING_ACCEPTANCE",
        "deleteRequested": false,
        "errorMessage": null,
        "interfaceEndpointId": "vpce-0123456789abcdef0"
    });
    validate("GET", INTERFACE_ONE, 200, MEDIA, &pending).unwrap();
    let mut bad = pending.clone();
    bad["connectionStatus"] = json!("RESERVED");
    assert!(validate("GET", INTERFACE_ONE, 200, MEDIA, &bad).is_err());
    let mut unknown = pending.clone();
    unknown["status"] = json!("AVAILABLE");
    assert!(validate("GET", INTERFACE_ONE, 200, MEDIA, &unknown).is_err());
}

#[test]
fn statuses_and_media_types_come_from_the_spec() {
    // 204 declares no body.
    assert!(
        spec()
            .validate_response("DELETE", SERVERLESS_ONE, 204, "", "")
            .is_ok()
    );
    assert!(
        spec()
            .validate_response("DELETE", SERVERLESS_ONE, 204, MEDIA, "{}")
            .is_err()
    );
    // Recorded Atlas answer for a service delete: 202 with {}.
    assert!(
        spec()
            .validate_response("DELETE", SERVICE_ONE, 202, MEDIA, "{}")
            .is_ok()
    );
    assert!(
        spec()
            .validate_response("DELETE", SERVICE_ONE, 202, MEDIA, "{\"x\":1}")
            .is_err()
    );
    // Status not declared for the operation.
    assert!(validate("GET", SERVERLESS_ONE, 201, MEDIA, &reserved_endpoint()).is_err());
    // Success body announced with an undeclared media type.
    assert!(
        validate(
            "GET",
            SERVERLESS_ONE,
            200,
            "text/plain",
            &reserved_endpoint()
        )
        .is_err()
    );
    // Error bodies are application/json.
    let error = json!({"detail": "x", "error": 404, "errorCode": "TENANT_PRIVATE_ENDPOINT_NOT_FOUND", "parameters": [], "reason": "Not Found"});
    validate("GET", SERVERLESS_ONE, 404, "application/json", &error).unwrap();
    assert!(validate("GET", SERVERLESS_ONE, 404, MEDIA, &error).is_err());
    // An error status the operation does not declare uses its error schema.
    validate("GET", SERVERLESS_ONE, 406, "application/json", &error).unwrap();
}

#[test]
fn error_bodies() {
    let ok = json!({"detail": null, "error": 409, "errorCode": "CANNOT_DELETE_PRIVATELINK_WITH_ENDPOINTS", "parameters": [], "reason": "Conflict"});
    validate("DELETE", SERVICE_ONE, 404, "application/json", &ok).unwrap();
    let mut missing = ok.clone();
    missing.as_object_mut().unwrap().remove("errorCode");
    assert!(validate("DELETE", SERVICE_ONE, 404, "application/json", &missing).is_err());
    let mut wrong = ok.clone();
    wrong["error"] = json!("409");
    assert!(validate("DELETE", SERVICE_ONE, 404, "application/json", &wrong).is_err());
    // badRequestDetail.fields[] items require `description`, which the spec
    // does not list under `properties`; it must still be accepted.
    let mut detailed = ok.clone();
    detailed["badRequestDetail"] =
        json!({"fields": [{"field": "comment", "description": "too long"}]});
    validate("DELETE", SERVICE_ONE, 404, "application/json", &detailed).unwrap();
    detailed["badRequestDetail"]["fields"][0]["hint"] = json!("x");
    assert!(validate("DELETE", SERVICE_ONE, 404, "application/json", &detailed).is_err());
    let mut extra = ok.clone();
    extra["message"] = json!("nope");
    assert!(validate("DELETE", SERVICE_ONE, 404, "application/json", &extra).is_err());
}

#[test]
fn paginated_serverless_instances() {
    let path = "/api/atlas/v2/groups/5f7cac1adf5d6c6306f4b280/serverless";
    let instance = json!({
        "id": "6a793f68c0eb9e7a17715837",
        "groupId": "5f7cac1adf5d6c6306f4b280",
        "name": "inst-1",
        "createDate": "2026-01-01T00:00:00Z",
        "mongoDBVersion": "8.0.4",
        "stateName": "IDLE",
        "providerSettings": {"backingProviderName": "AWS", "providerName": "SERVERLESS", "regionName": "US_EAST_1"},
        "connectionStrings": {"standardSrv": "mongodb+srv://inst-1.abcde.mongodb.net",
            "privateEndpoint": [{"srvConnectionString": "mongodb+srv://inst-1-pe-0.abcde.mongodb.net", "type": "MONGOS",
                "endpoints": [{"endpointId": "vpce-0123456789abcdef0", "providerName": "AWS", "region": "US_EAST_1"}]}]},
        "links": [{"href": "http://x", "rel": "self"}],
        "terminationProtectionEnabled": false
    });
    let page = json!({"links": [], "results": [instance], "totalCount": 1});
    validate("GET", path, 200, MEDIA, &page).unwrap();
    let mut missing = instance.clone();
    missing.as_object_mut().unwrap().remove("providerSettings");
    assert!(validate("GET", path, 200, MEDIA, &json!({"results": [missing]})).is_err());
    let mut bad_date = instance.clone();
    bad_date["createDate"] = json!("yesterday");
    assert!(validate("GET", path, 200, MEDIA, &json!({"results": [bad_date]})).is_err());
    assert!(validate("GET", path, 200, MEDIA, &json!({"totalCount": 0})).is_err());
}

#[test]
fn cyclic_discriminated_request_schemas_compile_and_validate() {
    let path = "/api/atlas/v2/groups/5f7cac1adf5d6c6306f4b280/privateEndpoint/AWS/endpointService/6a793f68c0eb9e7a17715835/endpoint";
    let s = spec();
    s.validate_request("POST", path, &json!({"id": "vpce-0123456789abcdef0"}))
        .unwrap();
    s.validate_request(
        "POST",
        path,
        &json!({"cloudProvider": "AWS", "id": "vpce-0123456789abcdef0"}),
    )
    .unwrap();
    assert!(
        s.validate_request("POST", path, &json!({"cloudProvider": "AWS", "id": "nope"}))
            .is_err()
    );
    assert!(
        s.validate_request("POST", path, &json!({"cloudProvider": "AWS"}))
            .is_err()
    );
    let patch = SERVERLESS_ONE;
    s.validate_request(
        "PATCH",
        patch,
        &json!({"providerName": "AWS", "cloudProviderEndpointId": "vpce-0123456789abcdef0"}),
    )
    .unwrap();
    assert!(
        s.validate_request("PATCH", patch, &json!({"providerName": "GCP"}))
            .is_err()
    );
    assert!(
        s.validate_request("PATCH", patch, &json!({"comment": "x"}))
            .is_err()
    );
}

#[test]
fn cluster_connection_strings_schema() {
    let path = "/api/atlas/v2/groups/5f7cac1adf5d6c6306f4b280/clusters/cluster-1";
    let cluster = json!({
        "id": "6a793f68c0eb9e7a17715838",
        "groupId": "5f7cac1adf5d6c6306f4b280",
        "name": "cluster-1",
        "stateName": "IDLE",
        "connectionStrings": {
            "standardSrv": "mongodb+srv://cluster-1.abcde.mongodb.net",
            "privateEndpoint": [{"connectionString": "mongodb://pl-0-us-east-1.abcde.mongodb.net:1024",
                "srvConnectionString": "mongodb+srv://cluster-1-pl-0.abcde.mongodb.net", "type": "MONGOD",
                "endpoints": [{"endpointId": "vpce-0123456789abcdef0", "providerName": "AWS", "region": "US_EAST_1"}]}]
        }
    });
    validate("GET", path, 200, MEDIA, &cluster).unwrap();
    let mut bad = cluster.clone();
    bad["connectionStrings"]["privateEndpoint"][0]["type"] = json!("MONGOX");
    assert!(validate("GET", path, 200, MEDIA, &bad).is_err());
}
