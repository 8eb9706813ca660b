//! The EventGrid APIs added on the declarative description (issue 12): event schemas and their versions
//! (5.6), service agencies (5.8), function triggers (5.11) and event samples (5.15): success with the
//! documented fields, lifecycle create → list → show → update → delete → 404, validation failures with the
//! documented codes, and that nothing leaks between projects.

use crate::huawei_support;

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

fn kafka_stream(name: &str) -> Value {
    json!({
        "name": name,
        "description": "orders to the archive",
        "source": {"source_kafka": {"instance_id": "i-1", "addr": "127.0.0.1:9092", "group": "g", "topic": "orders",
            "seek_to": "latest", "user_name": "u", "password": "p@ss"}},
        "sink": {"sink_kafka": {"topic": "archive", "connectionId": "c-1"}},
        "rule_config": {"filter": {"source": [{"op": "StringIn", "values": ["orders"]}]}, "transform": {"type": "ORIGINAL"}},
        "option": {"thread_num": 2, "batch_window": {"count": 10, "time": 3, "interval": 1}},
    })
}

#[tokio::test]
async fn event_stream_lifecycle_and_states() {
    let eg = Eg::start().await;
    let created = eg.post("/eventstreamings", &kafka_stream("s1")).await;
    let id = created.ok()["eventStreamingID"].as_str().unwrap().to_string();
    let shown = eg.get(&format!("/eventstreamings/{id}"), &[]).await.ok().clone();
    assert_eq!(shown["id"], id.as_str());
    assert_eq!(shown["name"], "s1");
    assert_eq!(shown["status"], "running", "a new stream runs (the seed's example state)");
    assert_eq!(shown["source"]["source_kafka"]["topic"], "orders");
    assert_eq!(shown["source"]["source_kafka"]["password"], Value::Null, "secrets never come back");
    assert_eq!(shown["sink"]["sink_kafka"]["topic"], "archive");
    assert_eq!(shown["option"]["thread_num"], 2);
    for field in ["description", "rule_config", "created_time", "updated_time"] {
        assert!(shown.get(field).is_some(), "{field}");
    }
    // PAUSE, PAUSE again (conflict), START.
    let op = |operation: &str| json!({"operation": operation});
    let path = format!("/eventstreamings/operate/{id}");
    assert_eq!(eg.post(&path, &op("PAUSE")).await.ok()["eventStreamingID"], id.as_str());
    assert_eq!(eg.get(&format!("/eventstreamings/{id}"), &[]).await.ok()["status"], "paused");
    let (s, c, m) = CONFLICT;
    eg.post(&path, &op("PAUSE")).await.assert_error(s, c, m);
    eg.post(&path, &op("START")).await.ok();
    assert_eq!(eg.get(&format!("/eventstreamings/{id}"), &[]).await.ok()["status"], "running");
    let (s, c, m) = PARAMETER;
    eg.post(&path, &op("STOP")).await.assert_error(s, c, m);
    // List, update (keeps the state), duplicate name.
    let list = eg.get("/eventstreamings", &[]).await.ok().clone();
    assert_eq!((list["total"].as_u64(), list["items"][0]["id"].as_str()), (Some(1), Some(id.as_str())));
    let mut changed = kafka_stream("s1-renamed");
    changed["sink"] = json!({"sink_fg": {"urn": "urn:fss:cn-north-4:p:function:default:f:latest", "invoke_type": "ASYNC", "agency": "EG_AGENCY"}});
    eg.put(&format!("/eventstreamings/{id}"), &changed).await.ok();
    let shown = eg.get(&format!("/eventstreamings/{id}"), &[]).await.ok().clone();
    assert_eq!((shown["name"].as_str(), shown["status"].as_str()), (Some("s1-renamed"), Some("running")));
    assert!(shown["sink"]["sink_fg"].is_object());
    eg.post("/eventstreamings", &kafka_stream("other")).await.ok();
    let (s, c, m) = DUPLICATE;
    eg.put(&format!("/eventstreamings/{id}"), &kafka_stream("other")).await.assert_error(s, c, m);
    eg.post("/eventstreamings", &kafka_stream("other")).await.assert_error(s, c, m);
    // Delete, then 404 everywhere.
    assert_eq!(eg.delete(&format!("/eventstreamings/{id}")).await.status, 204);
    let (s, c, m) = NOT_FOUND;
    eg.get(&format!("/eventstreamings/{id}"), &[]).await.assert_error(s, c, m);
    eg.put(&format!("/eventstreamings/{id}"), &kafka_stream("s1")).await.assert_error(s, c, m);
    eg.post(&path, &op("START")).await.assert_error(s, c, m);
    eg.delete(&format!("/eventstreamings/{id}")).await.assert_error(s, c, m);
}

#[tokio::test]
async fn event_stream_validation() {
    let eg = Eg::start().await;
    let (s, c, m) = PARAMETER;
    let mut two_sinks = kafka_stream("x");
    two_sinks["sink"]["sink_obs"] = json!({"obs_bucket": "b"});
    let mut no_source = kafka_stream("x");
    no_source["source"] = json!({});
    let mut bad_threads = kafka_stream("x");
    bad_threads["option"]["thread_num"] = json!("many");
    let mut no_name = kafka_stream("x");
    no_name.as_object_mut().unwrap().remove("name");
    let mut no_sink = kafka_stream("x");
    no_sink.as_object_mut().unwrap().remove("sink");
    for body in [two_sinks, no_source, bad_threads, no_name, no_sink] {
        eg.post("/eventstreamings", &body).await.assert_error(s, c, m);
    }
    eg.get("/eventstreamings", &[("limit", "0")]).await.assert_error(s, c, m);
    assert_eq!(eg.get("/eventstreamings", &[]).await.ok()["total"], 0);
}

fn cluster_body(name: &str) -> Value {
    json!({"name": name, "source_type": "KAFKA", "sink_type": "KAFKA", "vpc_id": "vpc-1", "subnet_id": "subnet-1",
        "zone_names": "az0", "public_access_enabled": false})
}

fn kafka_side(side: &str, instance: &str) -> Value {
    json!({format!("{side}_kafka"): {"config_type": "CLOUD", "region": "cn-north-4", "project_id": "p",
        "instance_id": instance, "cluster_alias": side, "address": "127.0.0.1:9092", "password": "secret"}})
}

/// Waits until a cluster leaves CREATING.
async fn running_cluster(eg: &Eg, name: &str) -> String {
    let created = eg.post("/eventrouter/clusters", &cluster_body(name)).await.ok().clone();
    assert_eq!(created["status"], "CREATING");
    let id = created["cluster_id"].as_str().unwrap().to_string();
    for _ in 0..50 {
        if eg.get(&format!("/eventrouter/clusters/{id}"), &[]).await.ok()["status"] == "RUNNING" {
            return id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("cluster {id} never became RUNNING");
}

#[tokio::test]
async fn router_cluster_lifecycle() {
    let eg = Eg::start().await;
    let zones = eg.get("/eventrouter/clusters/availability-zone", &[]).await.ok().clone();
    assert!(zones["zone_names"].as_array().unwrap().contains(&json!("az0")));
    let id = running_cluster(&eg, "c1").await;
    let shown = eg.get(&format!("/eventrouter/clusters/{id}"), &[]).await.ok().clone();
    for (field, value) in [
        ("name", json!("c1")),
        ("source_type", json!("KAFKA")),
        ("sink_type", json!("KAFKA")),
        ("vpc_id", json!("vpc-1")),
        ("subnet_id", json!("subnet-1")),
        ("zone_names", json!("az0")),
        ("job_count", json!(0)),
        ("charging_mode", json!("postPaid")),
    ] {
        assert_eq!(shown[field], value, "{field} of {shown}");
    }
    assert!(shown["created_time"].as_str().unwrap().ends_with('Z'));
    let list = eg.get("/eventrouter/clusters", &[("fuzzy_name", "C")]).await.ok().clone();
    assert_eq!(list["total"], 1);
    assert_eq!(eg.get("/eventrouter/clusters", &[("fuzzy_name", "zz")]).await.ok()["total"], 0);
    let updated = eg.put(&format!("/eventrouter/clusters/{id}"), &json!({"name": "c1b", "description": "d"})).await;
    let updated = updated.ok().clone();
    assert_eq!((updated["name"].as_str(), updated["description"].as_str()), (Some("c1b"), Some("d")));
    // A cluster with a job cannot go.
    let job =
        eg.post("/eventrouter/jobs", &json!({"cluster_id": id, "name": "j", "scene_type": "DISASTER_BACKUP"})).await;
    let job_id = job.ok()["job_id"].as_str().unwrap().to_string();
    assert_eq!(eg.get(&format!("/eventrouter/clusters/{id}"), &[]).await.ok()["job_count"], 1);
    let (s, c, m) = CONFLICT;
    eg.delete(&format!("/eventrouter/clusters/{id}")).await.assert_error(s, c, m);
    eg.delete(&format!("/eventrouter/jobs/{job_id}")).await.ok();
    eg.delete(&format!("/eventrouter/clusters/{id}")).await.ok();
    let (s, c, m) = NOT_FOUND;
    eg.get(&format!("/eventrouter/clusters/{id}"), &[]).await.assert_error(s, c, m);
    eg.put(&format!("/eventrouter/clusters/{id}"), &json!({"name": "x"})).await.assert_error(s, c, m);
    eg.delete(&format!("/eventrouter/clusters/{id}")).await.assert_error(s, c, m);
    // Validation.
    let (s, c, m) = PARAMETER;
    let mut mixed = cluster_body("m");
    mixed["sink_type"] = json!("ROCKETMQ");
    let mut bad_type = cluster_body("m");
    bad_type["source_type"] = json!("MQTT");
    let mut bad_zone = cluster_body("m");
    bad_zone["zone_names"] = json!("az9");
    let mut public = cluster_body("m");
    public["public_access_enabled"] = json!(true);
    let mut long = cluster_body("m");
    long["name"] = json!("n".repeat(129));
    let mut no_vpc = cluster_body("m");
    no_vpc.as_object_mut().unwrap().remove("vpc_id");
    for body in [mixed, bad_type, bad_zone, public, long, no_vpc] {
        eg.post("/eventrouter/clusters", &body).await.assert_error(s, c, m);
    }
    eg.post("/eventrouter/clusters", &cluster_body("dup")).await.ok();
    let (s, c, m) = DUPLICATE;
    eg.post("/eventrouter/clusters", &cluster_body("dup")).await.assert_error(s, c, m);
}

#[tokio::test]
async fn router_job_lifecycle_states_and_validation() {
    let eg = Eg::start().await;
    // A job cannot be created in a cluster that is still CREATING.
    let creating = eg.post("/eventrouter/clusters", &cluster_body("early")).await.ok()["cluster_id"].clone();
    let (s, c, m) = CONFLICT;
    eg.post("/eventrouter/jobs", &json!({"cluster_id": creating, "name": "j0", "scene_type": "DISASTER_BACKUP"}))
        .await
        .assert_error(s, c, m);
    let cluster = running_cluster(&eg, "c").await;
    // Without configuration: NO_CONFIGURATION, and START is refused.
    let job = eg
        .post("/eventrouter/jobs", &json!({"cluster_id": cluster, "name": "j1", "scene_type": "DISASTER_BACKUP"}))
        .await;
    let job = job.ok().clone();
    assert_eq!(job["status"], "NO_CONFIGURATION");
    assert_eq!((job["source_type"].as_str(), job["vpc_id"].as_str()), (Some("KAFKA"), Some("vpc-1")));
    let id = job["job_id"].as_str().unwrap().to_string();
    let action = format!("/eventrouter/jobs/{id}/action");
    let (s, c, m) = CONFLICT;
    eg.post(&action, &json!({"operation": "START"})).await.assert_error(s, c, m);
    // Configured: WAIT_START → RUNNING → STOPPED → RUNNING.
    let configured = json!({"cluster_id": cluster, "name": "j1", "scene_type": "DISASTER_BACKUP",
        "source_config": kafka_side("source", "i-src"), "sink_config": kafka_side("sink", "i-dst"),
        "advance_config": {"kafka2kafka": {"topics": "orders", "replica_cnt": 3, "seek_to": "latest",
            "compress_alg": "NONE", "is_sync_progress": true, "is_add_header": false}}});
    let updated = eg.put(&format!("/eventrouter/jobs/{id}"), &configured).await.ok().clone();
    assert_eq!(updated["status"], "WAIT_START");
    assert_eq!(updated["source_config"]["source_kafka"]["password"], Value::Null, "secrets never come back");
    assert_eq!(updated["sink_config"]["sink_kafka"]["instance_id"], "i-dst");
    eg.post(&action, &json!({"operation": "STOP"})).await.assert_error(s, c, m);
    assert_eq!(eg.post(&action, &json!({"operation": "START"})).await.ok()["job_id"], id.as_str());
    let shown = eg.get(&format!("/eventrouter/jobs/{id}"), &[]).await.ok().clone();
    assert_eq!((shown["status"].as_str(), shown["source_status"].as_str()), (Some("RUNNING"), Some("NORMAL")));
    eg.post(&action, &json!({"operation": "START"})).await.assert_error(s, c, m);
    eg.post(&action, &json!({"operation": "STOP"})).await.ok();
    assert_eq!(eg.get(&format!("/eventrouter/jobs/{id}"), &[]).await.ok()["status"], "STOPPED");
    eg.post(&action, &json!({"operation": "RESTART"})).await.ok();
    assert_eq!(eg.get(&format!("/eventrouter/jobs/{id}"), &[]).await.ok()["status"], "RUNNING");
    // List filters.
    assert_eq!(eg.get("/eventrouter/jobs", &[("cluster_id", &cluster)]).await.ok()["total"], 1);
    assert_eq!(eg.get("/eventrouter/jobs", &[("status", "RUNNING")]).await.ok()["total"], 1);
    assert_eq!(eg.get("/eventrouter/jobs", &[("status", "STOPPED")]).await.ok()["total"], 0);
    assert_eq!(eg.get("/eventrouter/jobs", &[("sink_instance_id", "i-dst")]).await.ok()["total"], 1);
    assert_eq!(eg.get("/eventrouter/jobs", &[("sink_region", "cn-east-3")]).await.ok()["total"], 0);
    assert_eq!(eg.get("/eventrouter/jobs", &[("fuzzy_name", "J1")]).await.ok()["total"], 1);
    // Sync detail: nothing moved, limits checked.
    let detail = eg.post(&format!("/eventrouter/jobs/{id}/syncDetail"), &json!({"offset": 0, "limit": 10})).await;
    let detail = detail.ok().clone();
    assert_eq!((detail["total"].as_u64(), detail["type"].as_str()), (Some(0), Some("KAFKA")));
    assert_eq!(detail["items_kafka"], json!([]));
    let (s, c, m) = PARAMETER;
    eg.post(&format!("/eventrouter/jobs/{id}/syncDetail"), &json!({"offset": 0, "limit": 5}))
        .await
        .assert_error(s, c, m);
    eg.post(&format!("/eventrouter/jobs/{id}/syncDetail"), &json!({"offset": 10001, "limit": 10}))
        .await
        .assert_error(s, c, m);
    // Validation of configurations: wrong side type, missing required nested fields, unknown operation.
    let mut wrong = configured.clone();
    wrong["sink_config"] = json!({"sink_rocketmq": {"config_type": "CLOUD", "region": "r", "project_id": "p", "cluster_alias": "b", "address": "a"}});
    let mut missing = configured.clone();
    missing["source_config"]["source_kafka"].as_object_mut().unwrap().remove("region");
    let mut bad_scene = configured.clone();
    bad_scene["scene_type"] = json!("MIGRATION");
    for body in [wrong, missing, bad_scene] {
        eg.put(&format!("/eventrouter/jobs/{id}"), &body).await.assert_error(s, c, m);
    }
    eg.post(&action, &json!({"operation": "EXPLODE"})).await.assert_error(s, c, m);
    eg.post(&action, &json!({})).await.assert_error(s, c, m);
    // ValidateEventRouterJob: both checks, or the one asked for.
    let v = eg
        .post(
            "/eventrouter/jobs/validation",
            &json!({"cluster_id": cluster, "source_config": kafka_side("source", "i")}),
        )
        .await;
    let results = v.ok()["results"].clone();
    assert_eq!(results[0]["check_item_name"], "SOURCE_NETWORK");
    assert_eq!(results[0]["status"], "SUCCESS");
    assert_eq!(results[1]["check_item_name"], "SINK_NETWORK");
    assert_eq!(results[1]["status"], "FAILED");
    assert!(results[1]["reason"].as_str().is_some_and(|r| !r.is_empty()));
    let one = eg
        .call(
            "POST",
            "/eventrouter/jobs/validation",
            &[("validate_type", "SINK_NETWORK")],
            Some(&json!({"cluster_id": cluster, "sink_config": kafka_side("sink", "i")})),
        )
        .await;
    let one = one.ok()["results"].clone();
    assert_eq!((one.as_array().unwrap().len(), one[0]["status"].as_str()), (1, Some("SUCCESS")));
    eg.call(
        "POST",
        "/eventrouter/jobs/validation",
        &[("validate_type", "EVERYTHING")],
        Some(&json!({"cluster_id": cluster})),
    )
    .await
    .assert_error(s, c, m);
    let (s, c, m) = NOT_FOUND;
    eg.post("/eventrouter/jobs/validation", &json!({"cluster_id": "nope"})).await.assert_error(s, c, m);
    // Delete, then 404.
    assert_eq!(eg.delete(&format!("/eventrouter/jobs/{id}")).await.ok()["job_id"], id.as_str());
    eg.get(&format!("/eventrouter/jobs/{id}"), &[]).await.assert_error(s, c, m);
    eg.post(&action, &json!({"operation": "START"})).await.assert_error(s, c, m);
    eg.delete(&format!("/eventrouter/jobs/{id}")).await.assert_error(s, c, m);
    eg.post("/eventrouter/jobs", &json!({"cluster_id": "nope", "name": "j", "scene_type": "DISASTER_BACKUP"}))
        .await
        .assert_error(s, c, m);
}
