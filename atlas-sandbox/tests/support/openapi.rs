//! Response validation against the Atlas OpenAPI 3.0 subset.
//!
//! The spec file is read in place from the shared directory beside the
//! workspace (its licence does not allow copying it into this repository).
//! OpenAPI 3.0 schema objects are translated into JSON Schema 2020-12 and
//! compiled with the `jsonschema` crate.
//!
//! Translation rules:
//! * `$ref: '#/components/schemas/X'` becomes a reference into `$defs`.
//!   Every component yields up to three definitions:
//!   - `X__open`: the schema itself, without any "no unknown fields" rule;
//!     used where X is applied in place (`allOf`, `anyOf`, discriminator
//!     branches), so that the enclosing schema decides which fields are known.
//!   - `X`: `X__open` plus `unevaluatedProperties: false`; used where X
//!     describes a value (a property, an array item, a response body).
//!     `unevaluatedProperties` sees every property evaluated by in-place
//!     subschemas, so fields contributed by `allOf` members or by the matching
//!     branch of a union are accepted while unknown ones are rejected.
//!   - `X__base`: X without its discriminator dispatch. The spec's
//!     discriminated parents list children whose `allOf` refers back to the
//!     parent (e.g. `CreateEndpointRequest` <-> `CreateAWSEndpointRequest`);
//!     children refer to the base so that validation does not cycle.
//! * `nullable: true` adds `null` to `type` (and to `enum` when present).
//! * `oneOf` with a `discriminator` becomes an `if`/`then` dispatch on the
//!   discriminator value (falling back to the union of the alternatives when
//!   the property is absent).
//! * `oneOf` without a discriminator becomes `anyOf`. The alternatives in this
//!   spec are not mutually exclusive: an AWS serverless tenant endpoint whose
//!   `endpointServiceName` and `cloudProviderEndpointId` are still unset is
//!   also a valid `ServerlessAzureTenantEndpoint`, so `oneOf` ("exactly one")
//!   would reject legitimate bodies. Without a discriminator, OpenAPI tooling
//!   treats such alternatives as a plain union, which is what `anyOf` states;
//!   a body matching none of the alternatives is still rejected.
//! * OpenAPI-only keywords (`discriminator`, `example`, `externalDocs`,
//!   `xml`, `x-*`) are dropped; `readOnly`/`writeOnly` are kept as annotations.
//! * Observed-behaviour relaxation (enabled by default, see `Options`): Atlas
//!   serialises unset read-only fields as explicit `null` (documented in the
//!   shared API reference, e.g. `"endpointServiceName": null` in the seed's
//!   own example output), although the spec does not mark them nullable. A
//!   read-only property that its object does not list as `required` may
//!   therefore be `null`. Required fields and writable fields are unaffected.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

const SCHEMA_PREFIX: &str = "#/components/schemas/";
const RESPONSE_PREFIX: &str = "#/components/responses/";
const V2_PREFIX: &str = "/api/atlas/v2";
const V1_PREFIX: &str = "/api/atlas/v1.0";
/// Media type whose schemas describe the legacy v1.0 bodies (the v1.0 API
/// predates resource versioning; its bodies are the first versioned ones).
const LEGACY_EQUIVALENT_MEDIA_TYPE: &str = "application/vnd.atlas.2023-01-01+json";

/// Real Atlas answers that differ from the declared status code, as recorded
/// in the shared API reference (section 4, "Real [obs]"; section 10).
/// (method, path template, status actually returned, status declared in the spec)
const OBSERVED_STATUS_ALIASES: &[(&str, &str, u16, u16)] = &[
    (
        "POST",
        "/api/atlas/v2/groups/{groupId}/privateEndpoint/endpointService",
        201,
        200,
    ),
    (
        "DELETE",
        "/api/atlas/v2/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}",
        202,
        204,
    ),
];

/// Schema keywords replaced because the spec contradicts documented Atlas
/// behaviour. `AWSPrivateLinkConnection.interfaceEndpoints` lists "the unique
/// identifiers of the interface endpoints in your VPC" (legacy private
/// endpoint service reference), i.e. AWS `vpce-` ids, while the spec's item
/// pattern only admits 24-hex ids. Both forms are accepted.
/// `CloudRegionConfig20240805.regionName` says `type: object` while every alternative of its
/// `oneOf` is a string enum (AWS, Azure, GCP region names): no value satisfies both, and Atlas
/// sends the region name as a string, so the type is taken to be `string`.
const OBSERVED_SCHEMA_OVERRIDES: &[(&str, &str)] = &[
    (
        "/components/schemas/CloudRegionConfig20240805/properties/regionName/type",
        "string",
    ),
    (
        "/components/schemas/AWSPrivateLinkConnection/properties/interfaceEndpoints/items/pattern",
        "^(vpce-[0-9a-f]{17}|[a-f0-9]{24})$",
    ),
];

/// Schemas replaced (pointer, replacement as JSON text) because real Atlas answers contradict
/// them. `ApiError.parameters` declares its items as objects, while every recorded Atlas error
/// fills it with bare strings and numbers (the shared API reference, section 5: a 404's
/// `["cluster-83","b0123456789abcdef012345b"]`, a 429's `["api/atlas/v2/orgs",55,10,5,60]`;
/// section 11: the duplicate endpoint service's `["AWS","US_EAST_1"]`).
const OBSERVED_SCHEMA_REPLACEMENTS: &[(&str, &str)] = &[(
    "/components/schemas/ApiError/properties/parameters/items",
    r#"{"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "object"}]}"#,
)];

#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Accept `null` for optional read-only properties (observed Atlas behaviour).
    pub null_for_unset_read_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            null_for_unset_read_only: true,
        }
    }
}

pub struct Spec {
    doc: Value,
    defs: Map<String, Value>,
    options: Options,
}

/// Path of the spec, relative to the workspace root (the parent of this crate).
pub fn spec_path() -> PathBuf {
    super::workspace_root().join("../shared/atlas/openapi-private-endpoints.yaml")
}

/// Where a schema is applied: as the description of a value, or in place as
/// part of another schema (allOf member, union branch).
#[derive(Clone, Copy, PartialEq)]
enum Position {
    Value,
    InPlace,
    AllOfMember,
}

impl Spec {
    pub fn load() -> Spec {
        Self::load_with(Options::default())
    }

    pub fn load_with(options: Options) -> Spec {
        let path = spec_path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read the OpenAPI spec at {}: {e}", path.display()));
        let mut doc: Value = serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()));
        for (pointer, replacement) in OBSERVED_SCHEMA_OVERRIDES {
            let slot = doc
                .pointer_mut(pointer)
                .unwrap_or_else(|| panic!("override target {pointer} is not in the spec"));
            *slot = json!(replacement);
        }
        for (pointer, replacement) in OBSERVED_SCHEMA_REPLACEMENTS {
            let slot = doc
                .pointer_mut(pointer)
                .unwrap_or_else(|| panic!("replacement target {pointer} is not in the spec"));
            *slot = serde_json::from_str(replacement).expect("replacement is JSON");
        }
        let mut spec = Spec {
            doc,
            defs: Map::new(),
            options,
        };
        spec.build_defs();
        spec
    }

    fn components(&self) -> &Map<String, Value> {
        self.doc["components"]["schemas"]
            .as_object()
            .expect("components.schemas is an object")
    }

    fn has_discriminator(&self, name: &str) -> bool {
        self.components()
            .get(name)
            .is_some_and(|s| s.get("discriminator").is_some())
    }

    fn build_defs(&mut self) {
        let components = self.components().clone();
        let mut defs = Map::new();
        for (name, schema) in &components {
            let open = self.convert(schema, Position::InPlace);
            let closed = if closeable(schema) {
                json!({"$ref": format!("#/$defs/{name}__open"), "unevaluatedProperties": false})
            } else {
                json!({"$ref": format!("#/$defs/{name}__open")})
            };
            defs.insert(format!("{name}__open"), open);
            defs.insert(name.clone(), closed);
            if schema.get("discriminator").is_some() {
                let mut base = schema.as_object().cloned().unwrap_or_default();
                base.remove("discriminator");
                base.remove("oneOf");
                base.remove("anyOf");
                defs.insert(
                    format!("{name}__base"),
                    self.convert(&Value::Object(base), Position::InPlace),
                );
            }
        }
        self.defs = defs;
    }

    fn ref_target(&self, reference: &str, position: Position) -> Value {
        let name = reference
            .strip_prefix(SCHEMA_PREFIX)
            .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
        assert!(
            self.components().contains_key(name),
            "dangling $ref {reference}"
        );
        let target = match position {
            Position::Value => name.to_string(),
            Position::AllOfMember if self.has_discriminator(name) => format!("{name}__base"),
            Position::AllOfMember | Position::InPlace => format!("{name}__open"),
        };
        json!({"$ref": format!("#/$defs/{target}")})
    }

    fn is_read_only(&self, schema: &Value) -> bool {
        if schema.get("readOnly") == Some(&Value::Bool(true)) {
            return true;
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str)
            && let Some(name) = reference.strip_prefix(SCHEMA_PREFIX)
        {
            return self.components().get(name).and_then(|s| s.get("readOnly"))
                == Some(&Value::Bool(true));
        }
        false
    }

    /// Translate one OpenAPI schema object.
    fn convert(&self, schema: &Value, position: Position) -> Value {
        let Some(obj) = schema.as_object() else {
            return schema.clone();
        };
        if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
            // In OpenAPI 3.0 the siblings of $ref are ignored.
            return self.ref_target(reference, position);
        }
        let mut out = Map::new();
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let nullable = obj.get("nullable") == Some(&Value::Bool(true));
        let mut all_of: Vec<Value> = Vec::new();

        for (key, value) in obj {
            match key.as_str() {
                "type" => {
                    if nullable {
                        out.insert(key.clone(), json!([value, "null"]));
                    } else {
                        out.insert(key.clone(), value.clone());
                    }
                }
                "enum" => {
                    let mut values = value.as_array().cloned().unwrap_or_default();
                    if nullable && !values.contains(&Value::Null) {
                        values.push(Value::Null);
                    }
                    out.insert(key.clone(), Value::Array(values));
                }
                "properties" => {
                    let mut props = Map::new();
                    for (prop, prop_schema) in value.as_object().into_iter().flatten() {
                        let mut converted = self.convert(prop_schema, Position::Value);
                        if self.options.null_for_unset_read_only
                            && self.is_read_only(prop_schema)
                            && !required.contains(&prop.as_str())
                        {
                            converted = json!({"anyOf": [{"type": "null"}, converted]});
                        }
                        props.insert(prop.clone(), converted);
                    }
                    // A field the schema requires is a known field even when
                    // `properties` does not describe it (e.g. FieldViolation
                    // requires `description` without declaring it).
                    for name in &required {
                        if !props.contains_key(*name) {
                            props.insert((*name).to_string(), json!({}));
                        }
                    }
                    out.insert(key.clone(), Value::Object(props));
                }
                "items" => {
                    out.insert(key.clone(), self.convert(value, Position::Value));
                }
                "additionalProperties" => {
                    if value.is_object() {
                        out.insert(key.clone(), self.convert(value, Position::Value));
                    } else {
                        out.insert(key.clone(), value.clone());
                    }
                }
                "allOf" => {
                    for member in value.as_array().into_iter().flatten() {
                        all_of.push(self.convert(member, Position::AllOfMember));
                    }
                }
                // With a discriminator, the dispatch below replaces the union.
                "oneOf" | "anyOf" if obj.get("discriminator").is_none() => {
                    let members: Vec<Value> = value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|m| self.convert(m, Position::InPlace))
                        .collect();
                    all_of.push(json!({"anyOf": members}));
                }
                "not" => {
                    out.insert(key.clone(), self.convert(value, Position::InPlace));
                }
                // OpenAPI 3.0 uses booleans modifying maximum/minimum.
                "exclusiveMaximum" | "exclusiveMinimum" if value == &Value::Bool(true) => {
                    let bound = if key == "exclusiveMaximum" {
                        "maximum"
                    } else {
                        "minimum"
                    };
                    if let Some(b) = obj.get(bound) {
                        out.insert(key.clone(), b.clone());
                    }
                }
                "maximum" | "minimum" => {
                    let exclusive = if key == "maximum" {
                        "exclusiveMaximum"
                    } else {
                        "exclusiveMinimum"
                    };
                    if obj.get(exclusive) != Some(&Value::Bool(true)) {
                        out.insert(key.clone(), value.clone());
                    }
                }
                "required" | "pattern" | "format" | "maxLength" | "minLength" | "maxItems"
                | "minItems" | "uniqueItems" | "maxProperties" | "minProperties" | "multipleOf"
                | "readOnly" | "writeOnly" | "default" | "deprecated" | "title" | "description" => {
                    out.insert(key.clone(), value.clone());
                }
                // nullable handled above; discriminator below; the rest
                // (example, externalDocs, xml, x-*) is OpenAPI-only.
                _ => {}
            }
        }

        if let Some(discriminator) = obj.get("discriminator") {
            all_of.extend(self.discriminator_dispatch(obj, discriminator));
        }
        if !all_of.is_empty() {
            out.insert("allOf".into(), Value::Array(all_of));
        }
        if position == Position::Value && closeable(schema) {
            out.insert("unevaluatedProperties".into(), Value::Bool(false));
        }
        Value::Object(out)
    }

    fn discriminator_dispatch(
        &self,
        obj: &Map<String, Value>,
        discriminator: &Value,
    ) -> Vec<Value> {
        let property = discriminator["propertyName"]
            .as_str()
            .expect("discriminator.propertyName");
        let mut mapping: BTreeMap<String, String> = discriminator
            .get("mapping")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let alternatives: Vec<String> = obj
            .get("oneOf")
            .or_else(|| obj.get("anyOf"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.get("$ref").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        // Implicit mapping: the schema name is the discriminator value.
        for alt in &alternatives {
            let name = alt.trim_start_matches(SCHEMA_PREFIX).to_string();
            if !mapping.values().any(|v| v == alt) {
                mapping.insert(name, alt.clone());
            }
        }
        let mut rules = Vec::new();
        for (value, target) in &mapping {
            rules.push(json!({
                "if": {"properties": {property: {"const": value}}, "required": [property]},
                "then": self.ref_target(target, Position::InPlace),
            }));
        }
        if !alternatives.is_empty() {
            let keys: Vec<&String> = mapping.keys().collect();
            let union: Vec<Value> = alternatives
                .iter()
                .map(|a| self.ref_target(a, Position::InPlace))
                .collect();
            rules.push(json!({
                "if": {"required": [property]},
                "then": {"properties": {property: {"enum": keys}}},
                "else": {"anyOf": union},
            }));
        }
        rules
    }

    fn resolve_response<'a>(&'a self, response: &'a Value) -> &'a Value {
        match response.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r
                    .strip_prefix(RESPONSE_PREFIX)
                    .unwrap_or_else(|| panic!("unsupported response $ref {r}"));
                &self.doc["components"]["responses"][name]
            }
            None => response,
        }
    }

    /// Find the path template (and whether it was reached via the legacy
    /// prefix) for a concrete request path.
    pub fn match_path(&self, path: &str) -> Option<(String, bool)> {
        let path = path.split('?').next().unwrap_or(path);
        let (v2_path, legacy) = if let Some(rest) = path.strip_prefix(V1_PREFIX) {
            (format!("{V2_PREFIX}{rest}"), true)
        } else {
            (path.to_string(), false)
        };
        let actual: Vec<&str> = v2_path.trim_end_matches('/').split('/').collect();
        let mut best: Option<(usize, String)> = None;
        for template in self.doc["paths"].as_object()?.keys() {
            let segments: Vec<&str> = template.split('/').collect();
            if segments.len() != actual.len() {
                continue;
            }
            let mut literal = 0;
            let mut ok = true;
            for (t, a) in segments.iter().zip(&actual) {
                if t.starts_with('{') && t.ends_with('}') {
                    if a.is_empty() {
                        ok = false;
                        break;
                    }
                } else if t == a {
                    literal += 1;
                } else {
                    ok = false;
                    break;
                }
            }
            if ok && best.as_ref().is_none_or(|(n, _)| literal > *n) {
                best = Some((literal, template.clone()));
            }
        }
        best.map(|(_, t)| (t, legacy))
    }

    /// The schema (already translated, as a standalone JSON Schema document)
    /// that a response body must satisfy. `Ok(None)` means the spec declares
    /// no body for this response.
    pub fn response_schema(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
    ) -> Result<Option<Value>, String> {
        let (template, legacy) = self
            .match_path(path)
            .ok_or_else(|| format!("no path in the spec matches {path}"))?;
        let operation = &self.doc["paths"][&template][method.to_ascii_lowercase()];
        if operation.is_null() {
            return Err(format!("the spec has no {method} {template}"));
        }
        let responses = operation["responses"]
            .as_object()
            .ok_or("operation without responses")?;
        let media = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();

        let aliased = OBSERVED_STATUS_ALIASES
            .iter()
            .find(|(m, t, actual, _)| {
                m.eq_ignore_ascii_case(method) && *t == template && *actual == status
            })
            .map(|(_, _, _, declared)| *declared);
        let declared_status = aliased.unwrap_or(status);

        let response = match responses.get(&declared_status.to_string()) {
            Some(r) => self.resolve_response(r),
            None if status >= 400 => {
                // Undeclared error status: the spec gives every error of an
                // operation the same body schema; use it if it is unique.
                let mut schemas: Vec<&Value> = Vec::new();
                for (code, r) in responses {
                    if code.starts_with('4') || code.starts_with('5') {
                        let r = self.resolve_response(r);
                        for c in r["content"]
                            .as_object()
                            .into_iter()
                            .flatten()
                            .map(|(_, c)| &c["schema"])
                        {
                            if !schemas.contains(&c) {
                                schemas.push(c);
                            }
                        }
                    }
                }
                if schemas.len() != 1 {
                    return Err(format!(
                        "{method} {template}: status {status} not declared and error schemas are not uniform"
                    ));
                }
                return Ok(Some(self.document_for(schemas[0])));
            }
            None => {
                return Err(format!(
                    "{method} {template}: status {status} is not declared in the spec (declared: {:?})",
                    responses.keys().collect::<Vec<_>>()
                ));
            }
        };

        let content = response.get("content").and_then(Value::as_object);
        if aliased == Some(204) {
            // Recorded Atlas behaviour: 202 with an empty JSON object.
            return Ok(Some(json!({"type": "object", "maxProperties": 0})));
        }
        let Some(content) = content else {
            return Ok(None);
        };
        if content.values().all(|c| c.get("schema").is_none()) {
            // e.g. 204 No Content: a media type is listed, but no body.
            return Ok(None);
        }
        let entry = if legacy && status < 400 {
            content
                .get(LEGACY_EQUIVALENT_MEDIA_TYPE)
                .or_else(|| {
                    if content.len() == 1 {
                        content.values().next()
                    } else {
                        None
                    }
                })
                .ok_or_else(|| format!("{method} {template}: no media type usable for v1.0"))?
        } else {
            content.get(&media).ok_or_else(|| {
                format!(
                    "{method} {template} {status}: Content-Type {media:?} is not declared (declared: {:?})",
                    content.keys().collect::<Vec<_>>()
                )
            })?
        };
        if legacy && media != "application/json" {
            return Err(format!(
                "legacy v1.0 response has Content-Type {media:?}, expected application/json"
            ));
        }
        match entry.get("schema") {
            Some(schema) => Ok(Some(self.document_for(schema))),
            None => Ok(None),
        }
    }

    /// The schema of the request body of an operation.
    pub fn request_schema(&self, method: &str, path: &str) -> Result<Value, String> {
        let (template, _) = self
            .match_path(path)
            .ok_or_else(|| format!("no path in the spec matches {path}"))?;
        let content =
            &self.doc["paths"][&template][method.to_ascii_lowercase()]["requestBody"]["content"];
        let schema = content
            .as_object()
            .and_then(|c| c.values().next())
            .map(|c| &c["schema"])
            .ok_or_else(|| format!("{method} {template} has no request body"))?;
        Ok(self.document_for(schema))
    }

    /// A standalone 2020-12 document for an (untranslated) OpenAPI schema.
    pub fn document_for(&self, schema: &Value) -> Value {
        let converted = self.convert(schema, Position::Value);
        let mut root = match converted {
            Value::Object(m) => m,
            other => {
                let mut m = Map::new();
                m.insert("allOf".into(), json!([other]));
                m
            }
        };
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        root.insert("$defs".into(), Value::Object(self.defs.clone()));
        Value::Object(root)
    }

    /// The translated document for a named component schema.
    pub fn component_document(&self, name: &str) -> Value {
        self.document_for(&json!({"$ref": format!("{SCHEMA_PREFIX}{name}")}))
    }

    /// Validate a response body. `body` is the raw text (empty for no body).
    pub fn validate_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: &str,
    ) -> Result<(), String> {
        let schema = self.response_schema(method, path, status, content_type)?;
        match schema {
            None => {
                if body.trim().is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "{method} {path} {status}: the spec declares no body but got {body:?}"
                    ))
                }
            }
            Some(schema) => {
                let instance: Value = serde_json::from_str(body).map_err(|e| {
                    format!("{method} {path} {status}: body is not JSON ({e}): {body:?}")
                })?;
                check(&schema, &instance)
                    .map_err(|e| format!("{method} {path} {status}: {e}\nbody: {body}"))
            }
        }
    }

    /// Validate a request body against the operation's request schema.
    pub fn validate_request(&self, method: &str, path: &str, body: &Value) -> Result<(), String> {
        let schema = self.request_schema(method, path)?;
        check(&schema, body)
    }
}

/// Whether "no unknown properties" applies to this schema: it declares
/// properties or is composed of other schemas (a free-form `type: object`
/// stays free-form, and explicit `additionalProperties` keeps its meaning).
fn closeable(schema: &Value) -> bool {
    let Some(obj) = schema.as_object() else {
        return false;
    };
    if obj.contains_key("additionalProperties") {
        return false;
    }
    [
        "properties",
        "allOf",
        "oneOf",
        "anyOf",
        "discriminator",
        "$ref",
    ]
    .iter()
    .any(|k| obj.contains_key(*k))
}

/// Validate an instance against a translated document; all errors are reported.
pub fn check(schema: &Value, instance: &Value) -> Result<(), String> {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| format!("schema does not compile: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("at {:?}: {}", e.instance_path().as_str(), e))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}
