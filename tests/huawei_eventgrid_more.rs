//! The EventGrid APIs added on the declarative description (issue 12): event schemas and their versions
//! (5.6), service agencies (5.8), function triggers (5.11) and event samples (5.15): success with the
//! documented fields, lifecycle create → list → show → update → delete → 404, validation failures with the
//! documented codes, and that nothing leaks between projects.

mod common;
mod huawei_support;

use huawei_support::Eg;
use serde_json::{json, Value};

const NOT_FOUND: (u16, &str, &str) = (404, "EG.00514001", "resource not found");
const PARAMETER: (u16, &str, &str) = (400, "EG.00513000", "Parameter error");
const DUPLICATE: (u16, &str, &str) = (400, "EG.00513001", "name duplicated");
const CONFLICT: (u16, &str, &str) = (409, "EG.00514002", "resource conflict");

fn definition(field_type: &str) -> String {
    json!({
        "$schema": "http://json-schema.org/draft-06/schema#",
        "type": "object",
        "properties": {"data": {"type": "object", "properties": {"fileSize": {"type": field_type}}}},
        "required": ["id", "source", "type", "specversion"]
    })
    .to_string()
}

#[tokio::test]
async fn event_schema_lifecycle_with_versions() {
    let eg = Eg::start().await;
    let created = eg
        .post(
            "/schemas",
            &json!({"name": "file.upload", "description": "文件上传事件模型定义", "compatibility": "NONE",
                "format": "OPENAPI_3_0", "definition": definition("integer")}),
        )
        .await;
    let body = created.ok().clone();
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(body["name"], "file.upload");
    assert_eq!(body["compatibility"], "NONE");
    assert_eq!(body["provider_type"], "CUSTOM");
    assert_eq!(body["format"], "OPENAPI_3_0");
    assert_eq!(body["number_of_versions"], 1);
    assert_eq!(body["version"], 1);
    assert_eq!(body["definition"], definition("integer"));
    assert!(body["created_time"].as_str().is_some_and(|t| t.len() == 19), "{body}");

    // List with the documented item fields and filters.
    let list = eg.get("/schemas", &[("name", "file.upload")]).await.ok().clone();
    assert_eq!((list["total"].as_u64(), list["size"].as_u64()), (Some(1), Some(1)));
    let item = &list["items"][0];
    for field in ["id", "name", "description", "compatibility", "provider_type", "format", "number_of_versions"] {
        assert!(item.get(field).is_some(), "{field} in {item}");
    }
    assert_eq!(eg.get("/schemas", &[("fuzzy_name", "UPLOAD")]).await.ok()["total"], 1);
    assert_eq!(eg.get("/schemas", &[("name", "file")]).await.ok()["total"], 0);
    assert_eq!(eg.get("/schemas", &[("provider_type", "OFFICIAL")]).await.ok()["total"], 0);

    // Versions keep their history: 2 and 3 are added, 2 is deleted, 4 is next (never 2 again).
    let v2 = eg.post(&format!("/schemas/{id}/versions"), &json!({"definition": definition("string")})).await;
    let v2 = v2.ok().clone();
    assert_eq!((v2["version"].as_u64(), v2["schema_id"].as_str()), (Some(2), Some(id.as_str())));
    assert_eq!(v2["definition"], definition("string"));
    let v3 = eg.post(&format!("/schemas/{id}/versions"), &json!({})).await.ok().clone();
    assert_eq!(v3["version"], 3);
    assert_eq!(v3["definition"], definition("string"), "without a definition the current one is repeated");
    let shown = eg.get(&format!("/schemas/{id}"), &[]).await.ok().clone();
    assert_eq!((shown["version"].as_u64(), shown["number_of_versions"].as_u64()), (Some(3), Some(3)));
    let versions = eg.get(&format!("/schemas/{id}/versions"), &[("sort", "created_time:asc")]).await.ok().clone();
    assert_eq!(versions["total"], 3);
    assert_eq!(eg.get(&format!("/schemas/{id}/versions"), &[("version", "2")]).await.ok()["total"], 1);
    let one = eg.get(&format!("/schemas/{id}/versions/1"), &[]).await.ok().clone();
    assert_eq!((one["version"].as_u64(), one["definition"].as_str()), (Some(1), Some(definition("integer").as_str())));
    assert_eq!(eg.delete(&format!("/schemas/{id}/versions/2")).await.status, 204);
    let (s, c, m) = NOT_FOUND;
    eg.get(&format!("/schemas/{id}/versions/2"), &[]).await.assert_error(s, c, m);
    eg.delete(&format!("/schemas/{id}/versions/2")).await.assert_error(s, c, m);
    let v4 = eg.post(&format!("/schemas/{id}/versions"), &json!({"definition": definition("number")})).await;
    assert_eq!(v4.ok()["version"], 4);
    let (s, c, m) = PARAMETER;
    eg.get(&format!("/schemas/{id}/versions/x"), &[]).await.assert_error(s, c, m);

    // Update description and compatibility.
    let updated = eg.put(&format!("/schemas/{id}"), &json!({"description": "d2", "compatibility": "BACKWARD"})).await;
    let updated = updated.ok().clone();
    assert_eq!((updated["description"].as_str(), updated["compatibility"].as_str()), (Some("d2"), Some("BACKWARD")));
    assert_eq!(updated["version"], 4);

    // Delete down to the last version: refused; then the schema goes and answers 404.
    for v in [1, 3] {
        assert_eq!(eg.delete(&format!("/schemas/{id}/versions/{v}")).await.status, 204);
    }
    let (s, c, m) = CONFLICT;
    eg.delete(&format!("/schemas/{id}/versions/4")).await.assert_error(s, c, m);
    assert_eq!(eg.delete(&format!("/schemas/{id}")).await.status, 204);
    let (s, c, m) = NOT_FOUND;
    eg.get(&format!("/schemas/{id}"), &[]).await.assert_error(s, c, m);
    eg.put(&format!("/schemas/{id}"), &json!({"description": "x"})).await.assert_error(s, c, m);
    eg.delete(&format!("/schemas/{id}")).await.assert_error(s, c, m);
    eg.post(&format!("/schemas/{id}/versions"), &json!({"definition": definition("string")}))
        .await
        .assert_error(s, c, m);
    eg.get(&format!("/schemas/{id}/versions"), &[]).await.assert_error(s, c, m);
    assert_eq!(eg.get("/schemas", &[]).await.ok()["total"], 0);
}

#[tokio::test]
async fn event_schema_validation_follows_the_description() {
    let eg = Eg::start().await;
    let (s, c, m) = PARAMETER;
    let good = json!({"name": "s1", "compatibility": "NONE", "definition": definition("integer")});
    for (field, value) in [
        ("name", Value::Null),
        ("name", json!("-bad")),
        ("name", json!(5)),
        ("compatibility", Value::Null),
        ("compatibility", json!("SOMETIMES")),
        ("format", json!("XML")),
        ("definition", Value::Null),
        ("definition", json!("not json")),
    ] {
        let mut body = good.clone();
        if value.is_null() {
            body.as_object_mut().unwrap().remove(field);
        } else {
            body[field] = value;
        }
        eg.post("/schemas", &body).await.assert_error(s, c, m);
    }
    eg.get("/schemas", &[("limit", "0")]).await.assert_error(s, c, m);
    eg.get("/schemas", &[("limit", "1001")]).await.assert_error(s, c, m);
    eg.get("/schemas", &[("offset", "-1")]).await.assert_error(s, c, m);
    assert_eq!(eg.get("/schemas", &[]).await.ok()["total"], 0, "refused creates left nothing");
    eg.post("/schemas", &good).await.ok();
    let (s, c, m) = DUPLICATE;
    eg.post("/schemas", &good).await.assert_error(s, c, m);
    let id = eg.get("/schemas", &[]).await.ok()["items"][0]["id"].as_str().unwrap().to_string();
    let (s, c, m) = PARAMETER;
    eg.put(&format!("/schemas/{id}"), &json!({"compatibility": "ALWAYS"})).await.assert_error(s, c, m);
    eg.post(&format!("/schemas/{id}/versions"), &json!({"definition": "[1"})).await.assert_error(s, c, m);
}

#[tokio::test]
async fn discover_event_schema_from_data_infers_a_json_schema() {
    let eg = Eg::start().await;
    let event = json!({
        "specversion": "1.0", "id": "1", "source": "order-service", "type": "order.created",
        "time": "2021-12-09T09:00:00Z",
        "data": {"orderId": "o-1", "amount": 12.5, "count": 2, "paid": true,
                 "items": [{"sku": "a", "qty": 1}, {"sku": "b"}], "tags": ["x"]}
    });
    // The SDK's shape: the event as JSON text.
    let r = eg.post("/schema-discover", &json!({"format": "JSON_SCHEMA_DRAFT_6", "event": event.to_string()})).await;
    let body = r.ok().clone();
    let schema: Value = serde_json::from_str(body["definition"].as_str().unwrap()).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-06/schema#");
    assert_eq!(schema["type"], "object");
    let data = &schema["properties"]["data"];
    assert_eq!(data["type"], "object");
    assert_eq!(data["properties"]["amount"]["type"], "number");
    assert_eq!(data["properties"]["count"]["type"], "integer");
    assert_eq!(data["properties"]["paid"]["type"], "boolean");
    assert_eq!(data["properties"]["tags"], json!({"type": "array", "items": {"type": "string"}}));
    assert_eq!(data["properties"]["items"]["items"]["required"], json!(["sku"]));
    assert_eq!(schema["properties"]["time"]["format"], "date-time");
    // The seed's shape: the list envelope with the inferred model.
    assert_eq!((body["total"].as_u64(), body["size"].as_u64()), (Some(1), Some(1)));
    assert_eq!(body["items"][0]["event_type_name"], "order.created");
    assert_eq!(body["items"][0]["definition"], schema);
    // The seed's body form: the event object itself.
    let r = eg.post("/schema-discover", &event).await;
    assert_eq!(r.ok()["items"][0]["definition"], schema);
    // Nothing to infer from, or text that is not JSON.
    let (s, c, m) = PARAMETER;
    eg.post("/schema-discover", &json!({})).await.assert_error(s, c, m);
    eg.post("/schema-discover", &json!({"event": "{not json"})).await.assert_error(s, c, m);
    eg.post("/schema-discover", &json!({"event": "{}", "format": "XML"})).await.assert_error(s, c, m);
}

#[tokio::test]
async fn agencies_are_created_once_per_scene() {
    let eg = Eg::start().await;
    let r = eg.get("/service-agencies", &[("type", "TARGET_CONNECTION")]).await;
    assert_eq!(r.ok()["agencies"], json!([]));
    let created = eg.post("/service-agencies", &json!({"type": "TARGET_CONNECTION"})).await;
    let name = created.ok()["agencies"][0].as_str().unwrap().to_string();
    eg.post("/service-agencies", &json!({"type": "TARGET_CONNECTION"})).await.ok();
    assert_eq!(eg.get("/service-agencies", &[("type", "TARGET_CONNECTION")]).await.ok()["agencies"], json!([name]));
    assert_eq!(eg.get("/service-agencies", &[("type", "CUSTOM_SOURCE_RABBITMQ")]).await.ok()["agencies"], json!([]));
    let (s, c, m) = PARAMETER;
    eg.get("/service-agencies", &[]).await.assert_error(s, c, m);
    eg.get("/service-agencies", &[("type", "OTHER")]).await.assert_error(s, c, m);
    eg.post("/service-agencies", &json!({})).await.assert_error(s, c, m);
    eg.post("/service-agencies", &json!({"type": "OTHER"})).await.assert_error(s, c, m);
}

#[tokio::test]
async fn triggers_are_the_subscriptions_targeting_a_function() {
    let eg = Eg::start().await;
    let urn = "urn:fss:cn-north-4:0a1b2c3d4e5f60718293a4b5c6d7e8f9:function:default:hello:latest";
    let channel_id = eg.create_channel("c").await;
    eg.create_source(&channel_id, "src").await;
    let sub = |name: &str, detail: Value| {
        json!({
            "name": name, "channel_id": channel_id,
            "sources": [{"name": "src", "provider_type": "CUSTOM", "filter": {"source": [{"op": "StringIn", "values": ["src"]}]}}],
            "targets": [{"name": "HC.FunctionGraph", "provider_type": "OFFICIAL", "detail": detail, "transform": {"type": "ORIGINAL"}}],
        })
    };
    eg.post("/subscriptions", &sub("to-fn", json!({"urn": urn, "agency_name": "EG_AGENCY", "invoke_type": "ASYNC"})))
        .await
        .ok();
    eg.post("/subscriptions", &sub("to-flow", json!({"workflow_id": "wf-1", "agency_name": "EG_AGENCY"}))).await.ok();
    let r = eg.get(&format!("/subscription-triggers/{urn}"), &[]).await.ok().clone();
    assert_eq!(r["total"], 1);
    assert_eq!(r["items"][0]["name"], "to-fn");
    assert_eq!(r["items"][0]["targets"][0]["detail"]["urn"], urn);
    let r = eg.get("/subscription-triggers/workflow/wf-1", &[]).await.ok().clone();
    assert_eq!((r["total"].as_u64(), r["items"][0]["name"].as_str()), (Some(1), Some("to-flow")));
    assert_eq!(eg.get("/subscription-triggers/other-urn", &[]).await.ok()["total"], 0);
    assert_eq!(eg.get("/subscription-triggers/workflow/wf-2", &[]).await.ok()["total"], 0);
    let (s, c, m) = PARAMETER;
    eg.get(&format!("/subscription-triggers/{urn}"), &[("limit", "0")]).await.assert_error(s, c, m);
}

#[tokio::test]
async fn event_samples_cover_the_official_event_types() {
    let eg = Eg::start().await;
    let all = eg.get("/samples", &[("limit", "1000")]).await.ok().clone();
    assert!(all["total"].as_u64().unwrap() >= 5, "{all}");
    let item = &all["items"][0];
    for field in ["id", "name", "content", "event_type_id", "event_type_name", "event_source_id", "event_source_name"] {
        assert!(item.get(field).is_some(), "{field} in {item}");
    }
    let content: Value = serde_json::from_str(item["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["type"], item["event_type_name"]);
    assert_eq!(content["source"], item["event_source_name"]);
    let type_name = item["event_type_name"].as_str().unwrap().to_string();
    let only = eg.get("/samples", &[("event_type_name", &type_name)]).await.ok().clone();
    assert_eq!(only["total"], 1);
    let source_id = item["event_source_id"].as_str().unwrap().to_string();
    let by_source = eg.get("/samples", &[("event_source_id", &source_id), ("limit", "1000")]).await.ok().clone();
    assert!(by_source["items"].as_array().unwrap().iter().all(|i| i["event_source_id"] == source_id.as_str()));
    assert_eq!(eg.get("/samples", &[("name", "no-such-sample")]).await.ok()["total"], 0);
}

#[tokio::test]
async fn new_resources_are_journaled_and_reads_leave_no_dirty_key() {
    use localyun::storage::Resources;
    let eg = Eg::start().await;
    let _ = eg.srv.state.store.eventbus.read().take_dirty();
    eg.post("/schemas", &json!({"name": "s", "compatibility": "NONE", "definition": definition("integer")})).await.ok();
    let id = eg.get("/schemas", &[]).await.ok()["items"][0]["id"].as_str().unwrap().to_string();
    let dirty = eg.srv.state.store.eventbus.read().take_dirty().unwrap();
    assert_eq!(dirty, vec![format!("schema/{}/{id}", eg.project)]);
    eg.get(&format!("/schemas/{id}"), &[]).await.ok();
    eg.get("/samples", &[]).await.ok();
    eg.post("/schemas", &json!({"name": "s", "compatibility": "NONE", "definition": definition("integer")})).await;
    assert_eq!(eg.srv.state.store.eventbus.read().take_dirty().unwrap(), Vec::<String>::new());
}
