//! EventGrid delivery end to end: events published with PutEvents reach a webhook receiver started by the
//! test, filtered and transformed as the subscription says, retried after a 500, and traced.

use crate::huawei_support;

use std::time::Duration;

use huawei_support::{settled_trace, Eg, Webhook};
use serde_json::{json, Value};

fn target(url: &str, transform: Value) -> Value {
    json!({"name": "WEBHOOK", "provider_type": "CUSTOM", "detail": {"url": url}, "transform": transform})
}

async fn subscribe(eg: &Eg, name: &str, channel_id: &str, source: &str, filter: Value, targets: Value) -> String {
    let body = json!({"name": name, "channel_id": channel_id,
        "sources": [{"name": source, "provider_type": "CUSTOM", "filter": filter}], "targets": targets});
    eg.post("/subscriptions", &body).await.ok()["id"].as_str().unwrap().to_string()
}

fn source_filter(source: &str) -> Value {
    json!({"source": [{"op": "StringIn", "values": [source]}]})
}

fn event(id: &str, source: &str, data: Value) -> Value {
    json!({"id": id, "source": source, "specversion": "1.0", "type": "order.created", "subject": "orders/1", "data": data})
}

async fn put(eg: &Eg, channel_id: &str, events: Value) -> Value {
    eg.post(&format!("/channels/{channel_id}/events"), &json!({ "events": events })).await.ok().clone()
}

async fn setup(eg: &Eg) -> String {
    let channel_id = eg.create_channel("orders").await;
    eg.create_source(&channel_id, "order-service").await;
    channel_id
}

#[tokio::test]
async fn original_events_reach_the_webhook_and_are_traced() {
    let eg = Eg::start().await;
    let (base, receiver) = Webhook::start().await;
    let channel_id = setup(&eg).await;
    let sub = subscribe(
        &eg,
        "to-hook",
        &channel_id,
        "order-service",
        source_filter("order-service"),
        json!([target(&format!("{base}/hook"), json!({"type": "ORIGINAL"}))]),
    )
    .await;
    let sent = event("e-1", "order-service", json!({"count": 1}));
    let r = put(&eg, &channel_id, json!([sent.clone()])).await;
    assert_eq!(r["failed_count"], 0);
    let trace_id = r["events"][0]["event_id"].as_str().unwrap().to_string();
    let trace = settled_trace(&eg, &channel_id, &trace_id).await;
    let got = receiver.on("/hook");
    assert_eq!(got.len(), 1);
    assert!(got[0].content_type().starts_with("application/json"));
    assert_eq!(serde_json::from_str::<Value>(&got[0].body).unwrap(), sent);
    assert_eq!(trace["eventId"], trace_id.as_str());
    assert_eq!(
        (trace["eventSource"].as_str(), trace["eventType"].as_str(), trace["channelName"].as_str()),
        (Some("order-service"), Some("order.created"), Some("orders"))
    );
    let d = &trace["deliverList"][0];
    assert_eq!((d["subscriptionId"].as_str(), d["subscriptionName"].as_str()), (Some(sub.as_str()), Some("to-hook")));
    assert_eq!(
        (d["successCounts"].as_i64(), d["failCounts"].as_i64(), d["allDeliverTimes"].as_i64()),
        (Some(1), Some(0), Some(1))
    );
    let t = &d["deliverTargetList"][0];
    assert_eq!(t["deliverStatus"], "SUCCESS");
    assert_eq!(t["deliverDetailList"][0]["deliverRspCode"], "200");
    assert_eq!(t["deliverDetailList"][0]["deliverStatus"], "SUCCESS");
    // ListTracedEvents shows it.
    let now = chrono::Utc::now().timestamp_millis();
    let listed = eg
        .get(
            "/traced-events",
            &[
                ("channel_id", &channel_id),
                ("start_time", &(now - 60_000).to_string()),
                ("end_time", &(now + 60_000).to_string()),
            ],
        )
        .await;
    let listed = listed.ok();
    assert_eq!(listed["total"], 1);
    let row = &listed["result"][0];
    assert_eq!(
        (row["event_id"].as_str(), row["subscription_name"].as_str(), row["source_name"].as_str()),
        (Some(trace_id.as_str()), Some("to-hook"), Some("order-service"))
    );
    assert_eq!((row["source_provider"].as_str(), row["event_type"].as_str()), (Some("CUSTOM"), Some("order.created")));
    let by_type = eg
        .get(
            "/traced-events",
            &[
                ("channel_id", &channel_id),
                ("start_time", "0"),
                ("end_time", &(now + 60_000).to_string()),
                ("event_type", "other"),
            ],
        )
        .await;
    assert_eq!(by_type.ok()["total"], 0);
    let by_id = eg
        .get(
            "/traced-events",
            &[
                ("channel_id", &channel_id),
                ("start_time", "0"),
                ("end_time", &(now + 60_000).to_string()),
                ("event_id", "e-1"),
            ],
        )
        .await;
    assert_eq!(by_id.ok()["total"], 1);
}

#[tokio::test]
async fn filters_let_events_in_and_keep_them_out() {
    let eg = Eg::start().await;
    let (base, receiver) = Webhook::start().await;
    let channel_id = setup(&eg).await;
    let filter = json!({
        "source": [{"op": "StringIn", "values": ["order-service"]}],
        "type": [{"op": "StringStartsWith", "values": ["order."]}],
        "data": {"count": [{"op": "NumberGreaterThan", "value": 10}], "region": [{"op": "StringNotIn", "values": ["eu"]}], "customer": {"vip": [{"op": "IsNotNull"}]}}
    });
    subscribe(
        &eg,
        "big-orders",
        &channel_id,
        "order-service",
        filter,
        json!([target(&format!("{base}/big"), json!({"type": "ORIGINAL"}))]),
    )
    .await;
    let events = json!([
        event("in", "order-service", json!({"count": 11, "region": "cn", "customer": {"vip": true}})),
        event("small", "order-service", json!({"count": 5, "region": "cn", "customer": {"vip": true}})),
        event("eu", "order-service", json!({"count": 50, "region": "eu", "customer": {"vip": true}})),
        event("no-vip", "order-service", json!({"count": 50, "region": "cn", "customer": {}})),
        event("other-source", "billing", json!({"count": 50, "region": "cn", "customer": {"vip": true}})),
    ]);
    let r = put(&eg, &channel_id, events).await;
    assert_eq!(r["failed_count"], 0);
    let first = r["events"][0]["event_id"].as_str().unwrap().to_string();
    settled_trace(&eg, &channel_id, &first).await;
    // Unmatched events have an empty deliver list.
    let small = eg
        .get(
            &format!("/events/trace/detail/{}", r["events"][1]["event_id"].as_str().unwrap()),
            &[("channel_id", &channel_id)],
        )
        .await;
    assert_eq!(small.ok()["deliverList"], json!([]));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let got = receiver.on("/big");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(serde_json::from_str::<Value>(&got[0].body).unwrap()["id"], "in");
}

#[tokio::test]
async fn each_transform_type() {
    let eg = Eg::start().await;
    let (base, receiver) = Webhook::start().await;
    let channel_id = setup(&eg).await;
    let targets = json!([
        target(&format!("{base}/constant"), json!({"type": "CONSTANT", "value": "{\"alert\":\"order received\"}"})),
        target(
            &format!("{base}/variable"),
            json!({"type": "VARIABLE",
            "value": "{\"name\":\"$.data.name\",\"count\":\"$.data.count\",\"flag\":true,\"object\":\"$.data.object\"}",
            "template": "{\"who\":\"${name}\",\"n\":${count},\"flag\":${flag},\"obj\":${object!\"null\"},\"missing\":\"${nope!\"default\"}\"}"})
        ),
        target(
            &format!("{base}/text"),
            json!({"type": "VARIABLE", "value": "{\"name\":\"$.data.name\"}", "template": "My name is ${name}"})
        ),
    ]);
    subscribe(&eg, "transforms", &channel_id, "order-service", source_filter("order-service"), targets).await;
    let r = put(
        &eg,
        &channel_id,
        json!([event("t-1", "order-service", json!({"name": "test01", "count": 3, "object": {"a": [1]}}))]),
    )
    .await;
    let trace = settled_trace(&eg, &channel_id, r["events"][0]["event_id"].as_str().unwrap()).await;
    assert_eq!(trace["deliverList"][0]["successCounts"], 3);
    let constant = receiver.on("/constant");
    assert_eq!(constant[0].body, "{\"alert\":\"order received\"}");
    let variable = receiver.on("/variable");
    assert_eq!(
        serde_json::from_str::<Value>(&variable[0].body).unwrap(),
        json!({"who": "test01", "n": 3, "flag": true, "obj": {"a": [1]}, "missing": "default"})
    );
    assert!(variable[0].content_type().starts_with("application/json"));
    let text = receiver.on("/text");
    assert_eq!(text[0].body, "My name is test01");
    assert!(text[0].content_type().starts_with("text/plain"));
}

#[tokio::test]
async fn a_500_is_retried_with_back_off_and_exhausted_retries_fail() {
    let eg = Eg::start().await;
    let (base, receiver) = Webhook::start().await;
    let channel_id = setup(&eg).await;
    let mut flaky = target(&format!("{base}/flaky"), json!({"type": "ORIGINAL"}));
    flaky["retry_times"] = json!(2);
    let mut failing = target(&format!("{base}/fail"), json!({"type": "ORIGINAL"}));
    failing["retry_times"] = json!(1);
    let connection =
        eg.post("/connections", &json!({"name": "dlq", "vpc_id": "v", "subnet_id": "s"})).await.ok()["id"].clone();
    failing["dead_letter_queue"] =
        json!({"type": "KAFKA", "instance_id": "kafka-1", "connection_id": connection, "topic": "dead"});
    subscribe(&eg, "retries", &channel_id, "order-service", source_filter("order-service"), json!([flaky, failing]))
        .await;
    let r = put(&eg, &channel_id, json!([event("r-1", "order-service", json!({}))])).await;
    let trace = settled_trace(&eg, &channel_id, r["events"][0]["event_id"].as_str().unwrap()).await;
    assert_eq!(receiver.on("/flaky").len(), 2);
    assert_eq!(receiver.on("/fail").len(), 2);
    let d = &trace["deliverList"][0];
    assert_eq!(
        (d["successCounts"].as_i64(), d["failCounts"].as_i64(), d["allDeliverTimes"].as_i64()),
        (Some(1), Some(1), Some(4))
    );
    let targets = d["deliverTargetList"].as_array().unwrap();
    let flaky = targets.iter().find(|t| t["deliverStatus"] == "SUCCESS").unwrap();
    let codes: Vec<&str> =
        flaky["deliverDetailList"].as_array().unwrap().iter().map(|a| a["deliverRspCode"].as_str().unwrap()).collect();
    assert_eq!(codes, ["500", "200"]);
    let failed = targets.iter().find(|t| t["deliverStatus"] == "FAILED").unwrap();
    assert_eq!(failed["deliverDetailList"].as_array().unwrap().len(), 2);
    let message = failed["deliverMessage"].as_str().unwrap();
    assert!(
        message.contains("500") && message.contains("dead letter not written to Kafka topic dead of instance kafka-1"),
        "{message}"
    );
}

#[tokio::test]
async fn unreachable_and_non_local_targets_are_traced_never_dropped() {
    let eg = Eg::start().await;
    let channel_id = setup(&eg).await;
    let targets = json!([
        {"name": "HC.SMN", "provider_type": "OFFICIAL", "smn_detail": {"urn": "urn:smn:cn-north-4:p:t", "agency_name": "EG_TARGET_AGENCY"}, "transform": {"type": "ORIGINAL"}},
        {"name": "HC.FunctionGraph", "provider_type": "OFFICIAL", "detail": {"urn": "urn:fss:x", "invoke_type": "ASYNC", "agency_name": "EG_TARGET_AGENCY"}, "transform": {"type": "ORIGINAL"}},
        target("http://127.0.0.1:1/closed", json!({"type": "ORIGINAL"})),
    ]);
    subscribe(&eg, "remote", &channel_id, "order-service", source_filter("order-service"), targets).await;
    let r = put(&eg, &channel_id, json!([event("n-1", "order-service", json!({}))])).await;
    let trace = settled_trace(&eg, &channel_id, r["events"][0]["event_id"].as_str().unwrap()).await;
    let targets = trace["deliverList"][0]["deliverTargetList"].as_array().unwrap().clone();
    let smn = targets.iter().find(|t| t["deliverTargetName"] == "HC.SMN").unwrap();
    assert_eq!(smn["deliverStatus"], "NOT_DELIVERED");
    assert_eq!(smn["deliverMessage"], "not delivered: no local target (SMN)");
    let fg = targets.iter().find(|t| t["deliverTargetName"] == "HC.FunctionGraph").unwrap();
    assert_eq!(fg["deliverMessage"], "not delivered: no local target (FunctionGraph)");
    let closed = targets.iter().find(|t| t["deliverTargetName"] == "WEBHOOK").unwrap();
    assert_eq!(closed["deliverStatus"], "FAILED");
    assert_eq!(closed["deliverDetailList"][0]["deliverRspCode"], "");
}

#[tokio::test]
async fn a_bad_event_in_a_batch_is_reported_alone() {
    let eg = Eg::start().await;
    let (base, receiver) = Webhook::start().await;
    let channel_id = setup(&eg).await;
    subscribe(
        &eg,
        "batch",
        &channel_id,
        "order-service",
        source_filter("order-service"),
        json!([target(&format!("{base}/batch"), json!({"type": "ORIGINAL"}))]),
    )
    .await;
    let events = json!([
        event("ok-1", "order-service", json!({})),
        {"id": "no-type", "source": "order-service", "specversion": "1.0"},
        {"id": "bad-time", "source": "order-service", "specversion": "1.0", "type": "t", "time": "yesterday"},
        event("ok-2", "order-service", json!({})),
    ]);
    let r = put(&eg, &channel_id, events).await;
    assert_eq!(r["failed_count"], 2);
    let results = r["events"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert!(results[0].get("error_code").is_none());
    assert_eq!(
        (results[1]["error_code"].as_str(), results[1]["event_id"].as_str()),
        (Some("EG.00513000"), Some("no-type"))
    );
    assert!(results[1]["error_msg"].as_str().unwrap().contains("type is required"));
    assert_eq!(results[2]["error_code"], "EG.00513000");
    settled_trace(&eg, &channel_id, results[3]["event_id"].as_str().unwrap()).await;
    settled_trace(&eg, &channel_id, results[0]["event_id"].as_str().unwrap()).await;
    let ids: Vec<String> = receiver
        .on("/batch")
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"ok-1".to_string()) && ids.contains(&"ok-2".to_string()));
}

#[tokio::test]
async fn disabled_subscriptions_do_not_deliver_and_official_events_use_the_default_channel() {
    let eg = Eg::start().await;
    let (base, receiver) = Webhook::start().await;
    let channel_id = setup(&eg).await;
    let sub = subscribe(
        &eg,
        "off",
        &channel_id,
        "order-service",
        source_filter("order-service"),
        json!([target(&format!("{base}/off"), json!({"type": "ORIGINAL"}))]),
    )
    .await;
    eg.post("/subscriptions/operation", &json!({"subscription_ids": [sub], "operation": "DISABLE"})).await.ok();
    let r = put(&eg, &channel_id, json!([event("d-1", "order-service", json!({}))])).await;
    let trace = settled_trace(&eg, &channel_id, r["events"][0]["event_id"].as_str().unwrap()).await;
    assert_eq!(trace["deliverList"], json!([]));

    let default = eg.default_channel_id();
    let body = json!({"name": "obs-events", "channel_id": default,
        "sources": [{"name": "HC.OBS", "provider_type": "OFFICIAL", "filter": {"source": [{"op": "StringIn", "values": ["HC.OBS"]}], "type": [{"op": "StringIn", "values": ["OBS:CloudTrace:ApiCall"]}]}}],
        "targets": [target(&format!("{base}/obs"), json!({"type": "ORIGINAL"}))]});
    eg.post("/subscriptions", &body).await.ok();
    let r = eg.post("/official/sources/HC.OBS/events", &json!({"events": [{"id": "o-1", "source": "HC.OBS", "specversion": "1.0", "type": "OBS:CloudTrace:ApiCall"}]})).await;
    let trace = settled_trace(&eg, &default, r.ok()["events"][0]["event_id"].as_str().unwrap()).await;
    assert_eq!(trace["deliverList"][0]["successCounts"], 1);
    assert_eq!(receiver.on("/obs").len(), 1);
    assert_eq!(receiver.on("/off").len(), 0);
}

#[tokio::test]
async fn eg_channel_targets_forward_into_local_channels() {
    let eg = Eg::start().await;
    let (base, receiver) = Webhook::start().await;
    let channel_a = setup(&eg).await;
    let channel_b = eg.create_channel("downstream").await;
    eg.create_source(&channel_b, "forwarded").await;
    let eg_target = |project: &str, channel: &str| {
        json!({"name": "HC.EG", "provider_type": "OFFICIAL", "transform": {"type": "VARIABLE",
            "value": "{\"id\":\"$.id\",\"n\":\"$.data.n\"}",
            "template": "{\"id\":\"${id}\",\"source\":\"forwarded\",\"specversion\":\"1.0\",\"type\":\"fwd\",\"data\":{\"n\":${n}}}"},
            "eg_detail": {"target_project_id": project, "target_channel_id": channel, "target_region": "local", "agency_name": "EG_TARGET_AGENCY"}})
    };
    let targets = json!([eg_target(&eg.project, &channel_b), eg_target("ffffffffffffffffffffffffffffffff", "nope")]);
    subscribe(&eg, "forward", &channel_a, "order-service", source_filter("order-service"), targets).await;
    subscribe(
        &eg,
        "downstream-hook",
        &channel_b,
        "forwarded",
        source_filter("forwarded"),
        json!([target(&format!("{base}/downstream"), json!({"type": "ORIGINAL"}))]),
    )
    .await;
    let r = put(&eg, &channel_a, json!([event("f-1", "order-service", json!({"n": 7}))])).await;
    let trace = settled_trace(&eg, &channel_a, r["events"][0]["event_id"].as_str().unwrap()).await;
    let targets = trace["deliverList"][0]["deliverTargetList"].as_array().unwrap().clone();
    assert_eq!(targets.iter().filter(|t| t["deliverStatus"] == "SUCCESS").count(), 1, "{targets:?}");
    let unknown = targets.iter().find(|t| t["deliverStatus"] == "FAILED").unwrap();
    assert!(unknown["deliverMessage"].as_str().unwrap().contains("no local target"));
    for _ in 0..200 {
        if !receiver.on("/downstream").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let got = receiver.on("/downstream");
    assert_eq!(got.len(), 1);
    let forwarded: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(
        (forwarded["source"].as_str(), forwarded["type"].as_str(), forwarded["data"]["n"].as_i64()),
        (Some("forwarded"), Some("fwd"), Some(7))
    );
}

/// A webhook that accepts the connection and never answers neither delays other targets nor holds the
/// delivery forever: the attempt times out and is traced as failed.
#[tokio::test]
async fn a_webhook_that_never_answers_times_out_without_blocking_other_targets() {
    let eg = Eg::start().await;
    let (base, receiver) = Webhook::start().await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/hang", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let channel_id = setup(&eg).await;
    let targets = json!([
        target(&silent_url, json!({"type": "ORIGINAL"})),
        target(&format!("{base}/fast"), json!({"type": "ORIGINAL"}))
    ]);
    subscribe(&eg, "slow-and-fast", &channel_id, "order-service", source_filter("order-service"), targets).await;
    let r = put(&eg, &channel_id, json!([event("h-1", "order-service", json!({}))])).await;
    let trace_id = r["events"][0]["event_id"].as_str().unwrap().to_string();
    let status_of = |trace: &Value, url_part: &str| -> String {
        let targets = trace["deliverList"][0]["deliverTargetList"].as_array().unwrap().clone();
        let names: Vec<Value> = targets.iter().map(|t| t["deliverStatus"].clone()).collect();
        // Targets are listed in subscription order: the silent one first.
        let i = if url_part == "hang" { 0 } else { 1 };
        names[i].as_str().unwrap().to_string()
    };
    // The fast target is delivered while the silent one is still waiting.
    let started = std::time::Instant::now();
    loop {
        let trace = eg.get(&format!("/events/trace/detail/{trace_id}"), &[("channel_id", &channel_id)]).await;
        let trace = trace.ok().clone();
        if status_of(&trace, "fast") == "SUCCESS" {
            assert_eq!(status_of(&trace, "hang"), "PENDING");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "the fast target waited for the silent one");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(receiver.on("/fast").len(), 1);
    // The silent one fails once the attempt times out.
    loop {
        let trace = eg.get(&format!("/events/trace/detail/{trace_id}"), &[("channel_id", &channel_id)]).await;
        let trace = trace.ok().clone();
        if status_of(&trace, "hang") == "FAILED" {
            let hang = &trace["deliverList"][0]["deliverTargetList"][0];
            let message = hang["deliverMessage"].as_str().unwrap();
            assert!(message.contains("could not be reached"), "{message}");
            assert!(started.elapsed() >= Duration::from_secs(4), "failed before the attempt timeout");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "the silent webhook held the delivery");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    held.abort();
}
