//! Event schemas (event models) and their versions: each schema keeps every version it was given, numbered
//! from 1 without reuse; the schema's current version is its newest. Also the inference of a JSON Schema
//! (draft-06) from a sample of event data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::Millis;

/// One version of a schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchemaVersion {
    pub id: String,
    /// 1, 2, ... in creation order; a deleted number is never given again.
    pub version: u32,
    pub format: String,
    /// The schema document as the client sent it (JSON text).
    pub definition: String,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

/// A custom event schema with its version history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventSchema {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    /// NONE, FORWARD, BACKWARD or FULL.
    pub compatibility: String,
    pub format: String,
    /// CUSTOM (system schemas are not kept here).
    pub provider_type: String,
    pub versions: Vec<SchemaVersion>,
    /// The number the next version gets.
    pub next_version: u32,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

impl EventSchema {
    /// The newest version (a schema always has one).
    pub fn current(&self) -> Option<&SchemaVersion> {
        self.versions.last()
    }

    pub fn version(&self, version: u32) -> Option<&SchemaVersion> {
        self.versions.iter().find(|v| v.version == version)
    }
}

/// The JSON Schema (draft-06) of a sample value: types, nested objects (every key of the sample
/// required), arrays (their items' schemas merged), strings that are RFC 3339 times as `date-time`.
pub fn infer_schema(sample: &Value) -> Value {
    let mut schema = infer(sample);
    if let Value::Object(map) = &mut schema {
        let mut top = Map::new();
        top.insert("$schema".into(), Value::from("http://json-schema.org/draft-06/schema#"));
        top.extend(std::mem::take(map));
        return Value::Object(top);
    }
    schema
}

fn infer(value: &Value) -> Value {
    match value {
        Value::Null => json!({"type": "null"}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
            json!({"type": "string", "format": "date-time"})
        }
        Value::String(_) => json!({"type": "string"}),
        Value::Array(items) => {
            let mut merged: Option<Value> = None;
            for item in items {
                let schema = infer(item);
                merged = Some(match merged {
                    None => schema,
                    Some(m) => merge(m, schema),
                });
            }
            json!({"type": "array", "items": merged.unwrap_or_else(|| json!({}))})
        }
        Value::Object(map) => {
            let properties: Map<String, Value> = map.iter().map(|(k, v)| (k.clone(), infer(v))).collect();
            let required: Vec<Value> = map.keys().map(|k| Value::from(k.as_str())).collect();
            json!({"type": "object", "properties": properties, "required": required})
        }
    }
}

/// Two schemas of array items as one: equal ones stay, two objects merge their properties (required:
/// keys both have), integer and number give number, anything else becomes `anyOf`.
fn merge(a: Value, b: Value) -> Value {
    if a == b {
        return a;
    }
    let type_of = |v: &Value| v.get("type").and_then(Value::as_str).map(str::to_string);
    match (type_of(&a).as_deref(), type_of(&b).as_deref()) {
        (Some("object"), Some("object")) => {
            let props = |v: &Value| v.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
            let req = |v: &Value| -> Vec<String> {
                v.get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default()
            };
            let (pa, pb) = (props(&a), props(&b));
            let mut properties: BTreeMap<String, Value> = pa.clone().into_iter().collect();
            for (k, v) in pb {
                let merged = match properties.remove(&k) {
                    Some(old) => merge(old, v),
                    None => v,
                };
                properties.insert(k, merged);
            }
            let rb = req(&b);
            let required: Vec<Value> = req(&a).into_iter().filter(|k| rb.contains(k)).map(Value::from).collect();
            json!({"type": "object", "properties": properties, "required": required})
        }
        (Some("array"), Some("array")) => {
            let items = |v: &Value| v.get("items").cloned().unwrap_or_else(|| json!({}));
            json!({"type": "array", "items": merge(items(&a), items(&b))})
        }
        (Some("integer"), Some("number")) | (Some("number"), Some("integer")) => json!({"type": "number"}),
        _ => {
            let mut options: Vec<Value> = Vec::new();
            for v in [a, b] {
                match v.get("anyOf").and_then(Value::as_array) {
                    Some(list) => options.extend(list.iter().cloned()),
                    None => options.push(v),
                }
            }
            let mut unique: Vec<Value> = Vec::new();
            for o in options {
                if !unique.contains(&o) {
                    unique.push(o);
                }
            }
            json!({"anyOf": unique})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_nested_objects_and_arrays_are_inferred() {
        let sample = json!({
            "id": "1", "time": "2021-12-09T09:00:00Z", "size": 5, "ratio": 0.5, "ok": true, "none": null,
            "data": {"fileName": "a.txt", "tags": ["x", "y"], "parts": [{"n": 1, "m": "a"}, {"n": 2}]},
            "mixed": [1, "a"], "numbers": [1, 2.5], "empty": []
        });
        let s = infer_schema(&sample);
        assert_eq!(s["$schema"], "http://json-schema.org/draft-06/schema#");
        assert_eq!(s["type"], "object");
        let p = &s["properties"];
        assert_eq!(p["id"], json!({"type": "string"}));
        assert_eq!(p["time"], json!({"type": "string", "format": "date-time"}));
        assert_eq!(p["size"], json!({"type": "integer"}));
        assert_eq!(p["ratio"], json!({"type": "number"}));
        assert_eq!(p["ok"], json!({"type": "boolean"}));
        assert_eq!(p["none"], json!({"type": "null"}));
        assert_eq!(p["data"]["properties"]["tags"], json!({"type": "array", "items": {"type": "string"}}));
        let parts = &p["data"]["properties"]["parts"]["items"];
        assert_eq!(parts["properties"]["m"], json!({"type": "string"}));
        assert_eq!(parts["required"], json!(["n"]), "only keys every item has are required");
        assert_eq!(p["mixed"]["items"], json!({"anyOf": [{"type": "integer"}, {"type": "string"}]}));
        assert_eq!(p["numbers"]["items"], json!({"type": "number"}));
        assert_eq!(p["empty"]["items"], json!({}));
        let required: Vec<&str> = s["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert!(required.contains(&"data") && required.contains(&"id"));
    }
}
