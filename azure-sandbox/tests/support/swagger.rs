//! The vendored ARM spec extracts (`azure-sandbox/spec/*.json`, Swagger 2.0) turned into one
//! JSON Schema (2020-12) document that a body is checked against:
//! * every definition of every file becomes `#/$defs/<file>.<name>`, and each `$ref` (to the
//!   same file, `#/definitions/X`, or to another, `./other.json#/definitions/X`) is rewritten
//!   to it;
//! * a `$ref` to a file or definition that is not vendored (virtualNetwork.json's `Subnet`,
//!   applicationSecurityGroup.json, ...: resources the answers only reference by id) becomes
//!   network.json's `SubResource` (`{"id": string}`); [`Spec::stand_ins`] lists them;
//! * `x-ms-*` / `x-nullable` keywords are dropped (Swagger extensions, no validation meaning);
//! * a definition with `properties` that is never an `allOf` member is closed
//!   (`unevaluatedProperties: false`), so a field the spec does not know fails.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

/// The spec files, by stem.
const FILES: [&str; 4] = [
    "network",
    "privateEndpoint",
    "networkInterface",
    "privateLinkService",
];

/// The bundled spec.
pub struct Spec {
    defs: Map<String, Value>,
    files: Map<String, Value>,
    /// References to definitions that are not vendored, replaced by `SubResource`.
    pub stand_ins: BTreeSet<String>,
}

pub fn spec_dir() -> PathBuf {
    super::package_dir().join("spec")
}

impl Spec {
    pub fn load() -> Spec {
        let mut files = Map::new();
        for stem in FILES {
            let path = spec_dir().join(format!("{stem}.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let doc: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            files.insert(stem.to_string(), doc);
        }
        let mut spec = Spec {
            defs: Map::new(),
            files,
            stand_ins: BTreeSet::new(),
        };
        let members = spec.all_of_members();
        for stem in FILES {
            let defs = spec.files[stem]["definitions"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (name, schema) in defs {
                let key = format!("{stem}.{name}");
                let mut translated = spec.translate(&schema, stem);
                if schema.get("properties").is_some() && !members.contains(&key) {
                    translated["unevaluatedProperties"] = json!(false);
                }
                spec.defs.insert(key, translated);
            }
        }
        spec
    }

    /// Keys of the definitions some `allOf` names (they must stay open).
    fn all_of_members(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for stem in FILES {
            for schema in self.files[stem]["definitions"]
                .as_object()
                .into_iter()
                .flatten()
            {
                for member in schema.1["allOf"].as_array().into_iter().flatten() {
                    if let Some(r) = member["$ref"].as_str() {
                        out.insert(target(r, stem));
                    }
                }
            }
        }
        out
    }

    fn exists(&self, key: &str) -> bool {
        let (stem, name) = key.split_once('.').unwrap_or_default();
        self.files
            .get(stem)
            .is_some_and(|f| f["definitions"].get(name).is_some())
    }

    fn translate(&mut self, schema: &Value, stem: &str) -> Value {
        match schema {
            Value::Object(obj) => {
                let mut out = Map::new();
                for (k, v) in obj {
                    if k.starts_with("x-") || k == "description" {
                        continue;
                    }
                    if k == "$ref" {
                        let r = v.as_str().unwrap_or_default();
                        let mut key = target(r, stem);
                        if !self.exists(&key) {
                            self.stand_ins.insert(r.to_string());
                            key = "network.SubResource".into();
                        }
                        out.insert(k.clone(), json!(format!("#/$defs/{key}")));
                    } else if k == "properties" && v.is_object() {
                        let props = v
                            .as_object()
                            .unwrap()
                            .iter()
                            .map(|(p, s)| (p.clone(), self.translate(s, stem)))
                            .collect();
                        out.insert(k.clone(), Value::Object(props));
                    } else {
                        out.insert(k.clone(), self.translate(v, stem));
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| self.translate(i, stem)).collect())
            }
            other => other.clone(),
        }
    }

    /// The definition key a response of `operation` (an `operationId` of privateEndpoint.json)
    /// with `status` must satisfy: `None` when the spec declares no body.
    pub fn response_definition(&self, operation: &str, status: u16) -> Option<String> {
        for (_, methods) in self.files["privateEndpoint"]["paths"].as_object()? {
            for (_, op) in methods.as_object()? {
                if op["operationId"] == operation {
                    let response = op["responses"]
                        .get(status.to_string())
                        .unwrap_or_else(|| panic!("{operation} declares no {status} answer"));
                    let r = response["schema"]["$ref"].as_str()?;
                    return Some(target(r, "privateEndpoint"));
                }
            }
        }
        panic!("no operation {operation} in privateEndpoint.json")
    }

    /// Checks `instance` against the definition `key` (`file.Name`).
    pub fn check(&self, key: &str, instance: &Value) -> Result<(), String> {
        assert!(self.defs.contains_key(key), "no definition {key}");
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$defs": self.defs,
            "$ref": format!("#/$defs/{key}"),
        });
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .map_err(|e| format!("schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{key}: {}\nbody: {instance}", errors.join("; ")))
        }
    }
}

/// `./other.json#/definitions/X` (or `#/definitions/X` in `stem`) -> `other.X`.
fn target(r: &str, stem: &str) -> String {
    let (file, pointer) = r.split_once('#').unwrap_or((r, ""));
    let file = file.trim_start_matches("./").trim_end_matches(".json");
    let file = if file.is_empty() { stem } else { file };
    let name = pointer.trim_start_matches("/definitions/");
    format!("{file}.{name}")
}
