//! EventGrid over localyun's own Kafka data plane: Kafka subscription targets and Kafka dead-letter queues
//! write into local topics, and event streams consume a local topic and deliver to another topic and to a
//! webhook, with filter, pause/resume and counters. Topics are created through the Alibaba Kafka API and
//! read back with the in-process reader (`read_local`); the data plane runs on ephemeral ports.

use crate::alibaba_support;
use crate::common;
use crate::huawei_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes as KBytes;
use huawei_support::{settled_trace, Eg, Webhook};
use localyun::kafka::local::{LocalRecord, NewRecord};
use localyun::kafka::{KafkaBroker, KafkaOptions};
use serde_json::{json, Value};

use alibaba_support::{hmac_sha1_b64, string_to_sign};
use common::{ACCOUNT, KEY_ID, SECRET};

const REGION: &str = "cn-hangzhou";

async fn create_topic(eg: &Eg, instance: &str, topic: &str, partitions: u32) {
    create_topic_in(eg, instance, REGION, topic, partitions).await
}

async fn create_topic_in(eg: &Eg, instance: &str, region: &str, topic: &str, partitions: u32) {
    let mut p: BTreeMap<String, String> = BTreeMap::new();
    let partitions = partitions.to_string();
    for (k, v) in [
        ("Action", "CreateTopic"),
        ("Version", "2019-09-16"),
        ("Format", "JSON"),
        ("AccessKeyId", KEY_ID),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("InstanceId", instance),
        ("RegionId", region),
        ("Topic", topic),
        ("Remark", topic),
        ("PartitionNum", &partitions),
    ] {
        p.insert(k.into(), v.into());
    }
    p.insert("SignatureNonce".into(), uuid::Uuid::new_v4().to_string());
    p.insert("Timestamp".into(), chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
    let sts = string_to_sign("POST", &p);
    let mut pairs: Vec<(String, String)> = p.into_iter().collect();
    pairs.push(("Signature".into(), hmac_sha1_b64(SECRET, &sts)));
    let url = format!("{}/?{}", eg.srv.base, serde_urlencoded::to_string(&pairs).unwrap());
    let r: Value = eg.srv.client.post(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["Success"], true, "{r}");
}

struct Setup {
    eg: Eg,
    broker: Arc<KafkaBroker>,
    instance: String,
    addr: String,
}

/// A server, the given topics on the Alibaba default instance of cn-hangzhou, the data plane, and a KAFKA
/// connection named `local-kafka` that names the instance by its bootstrap address only.
async fn setup(topics: &[(&str, u32)]) -> (Setup, String) {
    let eg = Eg::wrap(common::start().await);
    let instance = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    for (t, n) in topics {
        create_topic(&eg, &instance, t, *n).await;
    }
    let broker = localyun::kafka::start_with(eg.srv.state.clone(), KafkaOptions::ephemeral()).await;
    let addr = broker.address_of(&instance).expect("the instance has a listener").to_string();
    let connection = eg
        .post(
            "/connections",
            &json!({"name": "local-kafka", "vpc_id": "v", "subnet_id": "s", "type": "KAFKA",
                "kafka_detail": {"instance_id": "dms-in-the-cloud", "addr": addr, "enable_sasl_ssl": false}}),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    (Setup { eg, broker, instance, addr }, connection)
}

impl Setup {
    fn all(&self, topic: &str) -> Vec<LocalRecord> {
        let offsets = self.broker.partition_offsets(&self.instance, topic).unwrap();
        let mut out = Vec::new();
        for p in offsets {
            out.extend(self.broker.read_local(&self.instance, topic, p.partition, p.log_start_offset, 1000).unwrap());
        }
        out
    }

    async fn wait_for(&self, topic: &str, n: usize) -> Vec<LocalRecord> {
        for _ in 0..200 {
            let records = self.all(topic);
            if records.len() >= n {
                return records;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{topic} did not reach {n} records: {:?}", self.all(topic));
    }

    async fn produce(&self, topic: &str, key: &str, value: &str) {
        let record = NewRecord {
            key: Some(KBytes::from(key.to_string())),
            value: Some(KBytes::from(value.to_string())),
            headers: vec![],
        };
        self.broker.produce_local(&self.instance, topic, None, &[record]).await.unwrap();
    }
}

fn value_json(r: &LocalRecord) -> Value {
    serde_json::from_slice(r.value.as_deref().unwrap()).unwrap()
}

fn event(id: &str, kind: &str) -> Value {
    json!({"id": id, "source": "order-service", "specversion": "1.0", "type": kind, "data": {"order": id}})
}

#[tokio::test]
async fn a_kafka_target_receives_published_events_and_failures_reach_the_dead_letter_topic() {
    let (s, connection) = setup(&[("events", 3), ("dead", 1)]).await;
    let eg = &s.eg;
    let channel_id = eg.create_channel("orders").await;
    eg.create_source(&channel_id, "order-service").await;
    let kafka_target = json!({"name": "HC.Kafka", "provider_type": "OFFICIAL", "connection_id": connection,
        "kafka_detail": {"topic": "events", "keyTransform": {"type": "VARIABLE", "value": "{\"o\":\"$.data.order\"}",
            "template": "order-${o}"}},
        "transform": {"type": "ORIGINAL"}});
    // A topic the instance does not have: every attempt fails, then the dead-letter queue (named by
    // instance id this time) receives the original event.
    let missing = json!({"name": "HC.Kafka", "provider_type": "OFFICIAL", "connection_id": connection,
        "kafka_detail": {"topic": "no-such-topic"}, "transform": {"type": "ORIGINAL"}, "retry_times": 1,
        "dead_letter_queue": {"type": "KAFKA", "instance_id": s.instance, "connection_id": connection, "topic": "dead"}});
    let body = json!({"name": "to-kafka", "channel_id": channel_id,
        "sources": [{"name": "order-service", "provider_type": "CUSTOM", "filter": {"source": [{"op": "StringIn", "values": ["order-service"]}]}}],
        "targets": [kafka_target, missing]});
    eg.post("/subscriptions", &body).await.ok();

    let sent = event("o-1", "order.created");
    let r = eg.post(&format!("/channels/{channel_id}/events"), &json!({"events": [sent.clone()]})).await;
    assert_eq!(r.ok()["failed_count"], 0);
    let trace_id = r.body["events"][0]["event_id"].as_str().unwrap().to_string();
    let trace = settled_trace(eg, &channel_id, &trace_id).await;

    let records = s.wait_for("events", 1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(value_json(&records[0]), sent, "the record value is the CloudEvent as the transform gives it");
    assert_eq!(records[0].key.as_deref(), Some(&b"order-o-1"[..]), "keyTransform VARIABLE");
    assert_eq!(
        records[0].partition,
        localyun::kafka::local::partition_for(Some(b"order-o-1"), 3),
        "keyed records land where Kafka's partitioner puts them"
    );

    let targets = trace["deliverList"][0]["deliverTargetList"].as_array().unwrap();
    let ok = targets.iter().find(|t| t["deliverStatus"] == "SUCCESS").expect("the Kafka target succeeded");
    let message = ok["deliverMessage"].as_str().unwrap();
    assert!(message.contains("topic events") && message.contains("offset 0"), "{message}");
    assert_eq!(ok["deliverDetailList"][0]["deliverRspCode"], "0");
    let failed = targets.iter().find(|t| t["deliverStatus"] == "FAILED").expect("the missing topic failed");
    assert_eq!(failed["deliverDetailList"].as_array().unwrap().len(), 2, "retry_times 1: two attempts");
    let message = failed["deliverMessage"].as_str().unwrap();
    assert!(
        message.contains("no-such-topic") && message.contains("dead letter written to Kafka topic dead"),
        "{message}"
    );

    let dead = s.wait_for("dead", 1).await;
    assert_eq!(value_json(&dead[0]), sent);
    assert_eq!(dead[0].key.as_deref(), Some(trace_id.as_bytes()), "keyed by the event's trace id");
}

#[tokio::test]
async fn a_kafka_target_on_an_instance_that_is_not_local_fails_with_the_reason() {
    let (s, _) = setup(&[("events", 1)]).await;
    let eg = &s.eg;
    let remote = eg
        .post(
            "/connections",
            &json!({"name": "remote", "vpc_id": "v", "subnet_id": "s", "type": "KAFKA",
            "kafka_detail": {"instance_id": "dms-1", "addr": "10.0.0.1:9092", "enable_sasl_ssl": false}}),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let channel_id = eg.create_channel("orders").await;
    eg.create_source(&channel_id, "order-service").await;
    let body = json!({"name": "remote", "channel_id": channel_id,
        "sources": [{"name": "order-service", "provider_type": "CUSTOM", "filter": {}}],
        "targets": [{"name": "HC.Kafka", "provider_type": "OFFICIAL", "connection_id": remote,
            "kafka_detail": {"topic": "events"}, "transform": {"type": "ORIGINAL"}}]});
    eg.post("/subscriptions", &body).await.ok();
    let r = eg.post(&format!("/channels/{channel_id}/events"), &json!({"events": [event("x", "t")]})).await;
    let trace = settled_trace(eg, &channel_id, r.ok()["events"][0]["event_id"].as_str().unwrap()).await;
    let t = &trace["deliverList"][0]["deliverTargetList"][0];
    assert_eq!(t["deliverStatus"], "FAILED");
    assert!(t["deliverMessage"].as_str().unwrap().contains("no local Kafka instance is named dms-1 or 10.0.0.1:9092"));
    assert!(s.all("events").is_empty());
}

fn stream(name: &str, source: Value, sink: Value, filter: Value) -> Value {
    json!({"name": name, "source": {"source_kafka": source}, "sink": sink,
        "rule_config": {"filter": filter, "transform": {"type": "ORIGINAL"}},
        "option": {"thread_num": 1, "batch_window": {"count": 10, "time": 1, "interval": 0}}})
}

async fn show(eg: &Eg, id: &str) -> Value {
    eg.get(&format!("/eventstreamings/{id}"), &[]).await.ok().clone()
}

async fn wait_stats(eg: &Eg, id: &str, received: u64) -> Value {
    for _ in 0..200 {
        let shown = show(eg, id).await;
        if shown["statistics"]["received"].as_u64() >= Some(received) {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("stream {id} did not receive {received} records: {}", show(eg, id).await);
}

#[tokio::test]
async fn a_stream_moves_records_from_one_topic_to_another_and_to_a_webhook() {
    let (s, connection) = setup(&[("src", 2), ("dst", 1)]).await;
    let eg = &s.eg;
    let (hook_base, hook) = Webhook::start().await;
    let hook_url = format!("{hook_base}/hook");
    // Written before the streams exist: the `earliest` stream sees them, the `latest` one does not.
    s.produce("src", "k1", &event("a", "order.created").to_string()).await;
    s.produce("src", "k2", &event("b", "order.deleted").to_string()).await;
    s.produce("src", "k3", "plain text").await;

    let only_created = json!({"type": [{"op": "StringIn", "values": ["order.created"]}]});
    let to_topic = stream(
        "to-topic",
        json!({"instance_id": s.instance, "group": "g1", "topic": "src", "seek_to": "earliest"}),
        json!({"sink_kafka": {"topic": "dst", "connectionId": connection}}),
        only_created,
    );
    let id = eg.post("/eventstreamings", &to_topic).await.ok()["eventStreamingID"].as_str().unwrap().to_string();
    let to_hook = stream(
        "to-hook",
        json!({"addr": s.addr, "group": "g2", "topic": "src", "seek_to": "latest"}),
        json!({"sink_fg": {"urn": hook_url, "invoke_type": "ASYNC"}}),
        json!({}),
    );
    let hook_id = eg.post("/eventstreamings", &to_hook).await.ok()["eventStreamingID"].as_str().unwrap().to_string();

    let dst = s.wait_for("dst", 1).await;
    assert_eq!(value_json(&dst[0]), event("a", "order.created"), "a CloudEvent record passes as itself");
    assert_eq!(dst[0].key.as_deref(), Some(&b"k1"[..]), "no keyTransform: the source key is kept");
    let shown = wait_stats(eg, &id, 3).await;
    assert_eq!(shown["status"], "running");
    let st = &shown["statistics"];
    assert_eq!(
        (st["received"].as_u64(), st["delivered"].as_u64(), st["filtered"].as_u64()),
        (Some(3), Some(1), Some(2))
    );
    assert_eq!(st["failed"], 0);
    assert_eq!(st["last_error"], Value::Null);

    // The webhook stream started at the latest offset: only what comes now reaches it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(hook.all().is_empty());
    s.produce("src", "k4", "{\"n\": 4}").await;
    wait_stats(eg, &hook_id, 1).await;
    let got = hook.on("/hook");
    assert_eq!(got.len(), 1);
    let wrapped: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(wrapped["type"], "kafka:record");
    assert_eq!(wrapped["source"], "src");
    assert_eq!(wrapped["data"]["value"], json!({"n": 4}));
    assert_eq!(wrapped["data"]["key"], "k4");

    // PAUSE stops moving; START resumes from where the stream stopped.
    let pause = eg.post(&format!("/eventstreamings/operate/{id}"), &json!({"operation": "PAUSE"})).await;
    assert_eq!(pause.ok()["eventStreamingID"], id.as_str());
    assert_eq!(show(eg, &id).await["status"], "paused");
    s.produce("src", "k5", &event("c", "order.created").to_string()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.all("dst").len(), 1, "a paused stream moves nothing");
    assert_eq!(show(eg, &id).await["statistics"]["running"], false);
    eg.post(&format!("/eventstreamings/operate/{id}"), &json!({"operation": "START"})).await.ok();
    let dst = s.wait_for("dst", 2).await;
    assert_eq!(value_json(&dst[1]), event("c", "order.created"));
    let st = wait_stats(eg, &id, 5).await["statistics"].clone();
    assert_eq!((st["received"].as_u64(), st["delivered"].as_u64()), (Some(5), Some(2)), "nothing is read twice");

    // Deleting stops it for good.
    assert_eq!(eg.delete(&format!("/eventstreamings/{id}")).await.status.as_u16(), 204);
    s.produce("src", "k6", &event("d", "order.created").to_string()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.all("dst").len(), 2);
    let gone = eg.get(&format!("/eventstreamings/{id}"), &[]).await;
    assert_eq!(gone.status.as_u16(), 404);
}

#[tokio::test]
async fn a_stream_whose_ends_are_not_local_reports_why() {
    let (s, connection) = setup(&[("src", 1)]).await;
    let eg = &s.eg;
    let body = stream(
        "missing-topic",
        json!({"instance_id": s.instance, "group": "g", "topic": "src", "seek_to": "earliest"}),
        json!({"sink_kafka": {"topic": "nowhere", "connectionId": connection}}),
        json!({}),
    );
    let id = eg.post("/eventstreamings", &body).await.ok()["eventStreamingID"].as_str().unwrap().to_string();
    s.produce("src", "k", "v").await;
    let mut last = Value::Null;
    for _ in 0..100 {
        last = show(eg, &id).await["statistics"].clone();
        if last["failed"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last["failed"], 1, "{last}");
    assert!(last["last_error"].as_str().unwrap().contains("nowhere"), "{last}");

    let body = json!({"name": "rocket", "source": {"source_dms_rocketmq": {"instance_id": "r", "group": "g", "topic": "t"}},
        "sink": {"sink_kafka": {"topic": "src", "connectionId": connection}}});
    let id = eg.post("/eventstreamings", &body).await.ok()["eventStreamingID"].as_str().unwrap().to_string();
    let mut why = Value::Null;
    for _ in 0..100 {
        why = show(eg, &id).await["statistics"]["last_error"].clone();
        if why.is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(why, "source source_dms_rocketmq is not local: only source_kafka is consumed here");

    // A stream into its own source topic would loop: it does not run, and says why.
    let looping = stream(
        "loop",
        json!({"instance_id": s.instance, "group": "g", "topic": "src"}),
        json!({"sink_kafka": {"topic": "src", "connectionId": connection}}),
        json!({}),
    );
    let id = eg.post("/eventstreamings", &looping).await.ok()["eventStreamingID"].as_str().unwrap().to_string();
    let mut why = Value::Null;
    for _ in 0..100 {
        why = show(eg, &id).await["statistics"]["last_error"].clone();
        if why.is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(why, "the sink is the source topic src: every record would come back forever");
    assert_eq!(s.all("src").len(), 1, "nothing was written back");

    // The seed's batch_window ranges (count 1..=10000, interval 0..=15 s).
    for window in [json!({"count": 0}), json!({"count": 10_001}), json!({"interval": 16}), json!({"count": "many"})] {
        let mut bad = stream(
            "window",
            json!({"instance_id": s.instance, "group": "g", "topic": "src"}),
            json!({"sink_kafka": {"topic": "src", "connectionId": connection}}),
            json!({}),
        );
        bad["option"]["batch_window"] = window;
        eg.post("/eventstreamings", &bad).await.assert_error(400, "EG.00513000", "Parameter error");
    }
}

async fn running_cluster(eg: &Eg) -> String {
    let body = json!({"name": "mirror", "source_type": "KAFKA", "sink_type": "KAFKA", "vpc_id": "vpc-1",
        "subnet_id": "subnet-1", "zone_names": "az0", "public_access_enabled": false});
    let id = eg.post("/eventrouter/clusters", &body).await.ok()["cluster_id"].as_str().unwrap().to_string();
    for _ in 0..100 {
        if eg.get(&format!("/eventrouter/clusters/{id}"), &[]).await.ok()["status"] == "RUNNING" {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("cluster {id} never became RUNNING");
}

fn side(side: &str, instance: &str, alias: &str) -> Value {
    json!({format!("{side}_kafka"): {"config_type": "CLOUD", "region": REGION, "project_id": huawei_support::PROJECT,
        "instance_id": instance, "cluster_alias": alias}})
}

async fn sync_detail(eg: &Eg, job: &str, conditions: Value) -> Value {
    let body = json!({"offset": 0, "limit": 10, "conditions": conditions});
    eg.post(&format!("/eventrouter/jobs/{job}/syncDetail"), &body).await.ok().clone()
}

#[tokio::test]
async fn a_router_job_replicates_topics_between_local_instances_while_running() {
    let (s, _) = setup(&[("orders", 2), ("audit", 1), ("other", 1)]).await;
    let eg = &s.eg;
    let sink = localyun::alibaba::kafka::default_instance_id(ACCOUNT, "cn-shanghai");
    for (topic, n) in [("orders", 2), ("audit-copy", 1)] {
        create_topic_in(eg, &sink, "cn-shanghai", topic, n).await;
    }
    s.produce("orders", "k1", "o1").await;
    s.produce("orders", "k2", "o2").await;
    s.produce("audit", "a", "a1").await;
    s.produce("other", "x", "not selected").await;
    let cluster = running_cluster(eg).await;
    let body = json!({"cluster_id": cluster, "name": "mirror-job", "scene_type": "DISASTER_BACKUP",
        "source_config": side("source", &s.instance, "primary"), "sink_config": side("sink", &sink, "backup"),
        "advance_config": {"kafka2kafka": {"topic_regex": "orders|aud.*", "replica_cnt": 1, "seek_to": "earliest",
            "compress_alg": "none", "is_sync_progress": false, "is_add_header": true, "rename_topic": true,
            "topic_mappings": [{"source_topic": "audit", "sink_topic": "audit-copy"}]}}});
    // ValidateEventRouterJob checks that both instances are served here.
    let check = json!({"cluster_id": cluster, "source_config": side("source", &s.instance, "primary"),
        "sink_config": side("sink", "dms-elsewhere", "backup")});
    let results = eg.post("/eventrouter/jobs/validation", &check).await.ok()["results"].clone();
    assert_eq!(
        (results[0]["check_item_name"].as_str(), results[0]["status"].as_str()),
        (Some("SOURCE_NETWORK"), Some("SUCCESS"))
    );
    assert_eq!(
        (results[1]["check_item_name"].as_str(), results[1]["status"].as_str()),
        (Some("SINK_NETWORK"), Some("FAILED"))
    );
    assert_eq!(results[1]["reason"], "no local Kafka instance is named dms-elsewhere");
    assert_eq!(results[1]["error_code"], "EG.00513000");
    let job = eg.post("/eventrouter/jobs", &body).await.ok()["job_id"].as_str().unwrap().to_string();
    let action = format!("/eventrouter/jobs/{job}/action");
    assert!(s.broker.read_local(&sink, "orders", 0, 0, 10).unwrap().is_empty(), "WAIT_START moves nothing");
    eg.post(&action, &json!({"operation": "START"})).await.ok();

    let sink_all = |topic: &str| -> Vec<LocalRecord> {
        let mut out = Vec::new();
        for p in s.broker.partition_offsets(&sink, topic).unwrap() {
            out.extend(s.broker.read_local(&sink, topic, p.partition, 0, 100).unwrap());
        }
        out
    };
    for _ in 0..200 {
        if sink_all("orders").len() == 2 && sink_all("audit-copy").len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let source_orders = s.all("orders");
    let copied = sink_all("orders");
    assert_eq!(copied.len(), 2);
    for r in &copied {
        let original = source_orders.iter().find(|o| o.key == r.key).unwrap();
        assert_eq!((r.partition, &r.value), (original.partition, &original.value), "partition and value kept");
        let origin = r.headers.iter().find(|(k, _)| k == "x-eg-source").and_then(|(_, v)| v.clone()).unwrap();
        assert_eq!(origin, format!("primary/orders/{}/{}", original.partition, original.offset).into_bytes());
    }
    let audit = sink_all("audit-copy");
    assert_eq!((audit.len(), audit[0].value.as_deref()), (1, Some(&b"a1"[..])), "rename_topic + topic_mappings");

    let detail = sync_detail(eg, &job, json!([])).await;
    assert_eq!((detail["total"].as_u64(), detail["type"].as_str()), (Some(2), Some("KAFKA")));
    assert_eq!(detail["metadata"]["sync_remain_total"], 0);
    let orders = detail["items_kafka"].as_array().unwrap().iter().find(|i| i["topic"] == "orders").unwrap().clone();
    assert_eq!((orders["number"].as_u64(), orders["sync_remain_num"].as_u64()), (Some(2), Some(0)));
    assert_eq!(orders["offset_details"].as_array().unwrap().len(), 2);
    assert_eq!(orders["offset_details"][0]["partition"]["cluter"], "primary");
    let liked = sync_detail(eg, &job, json!([{"key": "topic", "operate": "LIKE", "value": "aud"}])).await;
    assert_eq!((liked["total"].as_u64(), liked["items_kafka"][0]["topic"].as_str()), (Some(1), Some("audit")));
    let equal = sync_detail(eg, &job, json!([{"key": "topic", "operate": "EQUAL", "value": "aud"}])).await;
    assert_eq!(equal["total"], 0);

    // STOP: nothing moves, and the backlog shows in syncDetail; START again catches up.
    eg.post(&action, &json!({"operation": "STOP"})).await.ok();
    s.produce("audit", "b", "a2").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink_all("audit-copy").len(), 1);
    eg.post(&action, &json!({"operation": "START"})).await.ok();
    for _ in 0..200 {
        if sink_all("audit-copy").len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(sink_all("audit-copy").len(), 2);
    let shown = eg.get(&format!("/eventrouter/jobs/{job}"), &[]).await.ok().clone();
    assert_eq!((shown["status"].as_str(), shown["err_message"].clone()), (Some("RUNNING"), Value::Null));

    // A sink topic that does not exist: the job says so.
    s.broker.produce_local(&s.instance, "other", None, &[NewRecord::default()]).await.unwrap();
    let mut broken = body.clone();
    broken["name"] = json!("broken");
    broken["advance_config"]["kafka2kafka"] = json!({"topics": "other", "replica_cnt": 1, "seek_to": "earliest",
        "compress_alg": "none", "is_sync_progress": false, "is_add_header": false});
    let id = eg.post("/eventrouter/jobs", &broken).await.ok()["job_id"].as_str().unwrap().to_string();
    eg.post(&format!("/eventrouter/jobs/{id}/action"), &json!({"operation": "START"})).await.ok();
    let mut shown = Value::Null;
    for _ in 0..100 {
        shown = eg.get(&format!("/eventrouter/jobs/{id}"), &[]).await.ok().clone();
        if shown["err_message"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(shown["sink_status"], "ABNORMAL", "{shown}");
    assert!(shown["err_message"].as_str().unwrap().contains("topic other does not exist"), "{shown}");
}

/// A stream stored as running (what a start from `--data-dir` finds) starts moving at the first EventGrid
/// request, from its `seek_to`.
#[tokio::test]
async fn a_stored_running_stream_starts_at_the_first_request() {
    use localyun::engine::eventbus::{EventStream, Millis, StreamStatus};
    let srv = common::start().await;
    let instance = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    let eg = Eg::wrap(srv);
    for topic in ["inbox", "outbox"] {
        create_topic(&eg, &instance, topic, 1).await;
    }
    let broker = localyun::kafka::start_with(eg.srv.state.clone(), KafkaOptions::ephemeral()).await;
    let record = |v: &str| NewRecord { key: None, value: Some(KBytes::from(v.to_string())), headers: vec![] };
    broker.produce_local(&instance, "inbox", None, &[record("before")]).await.unwrap();
    let project = huawei_support::PROJECT;
    let connection = localyun::engine::eventbus::Connection {
        id: "conn-1".into(),
        project_id: project.into(),
        name: "k".into(),
        description: String::new(),
        vpc_id: "v".into(),
        subnet_id: "s".into(),
        kind: "KAFKA".into(),
        kafka_detail: Some(json!({"instance_id": instance, "addr": "", "enable_sasl_ssl": false})),
        rocketmq_detail: None,
        status: "CREATED".into(),
        created_ms: Millis::now(),
        updated_ms: Millis::now(),
    };
    let stream = EventStream {
        id: "stored-stream".into(),
        project_id: project.into(),
        name: "stored".into(),
        description: String::new(),
        source: json!({"source_kafka": {"instance_id": instance, "group": "g", "topic": "inbox", "seek_to": "earliest"}}),
        sink: json!({"sink_kafka": {"topic": "outbox", "connectionId": "conn-1"}}),
        rule_config: None,
        option: None,
        status: StreamStatus::Running,
        created_ms: Millis::now(),
        updated_ms: Millis::now(),
    };
    {
        let mut model = eg.srv.state.store.eventbus.write();
        model.bind_project(project, ACCOUNT, Millis::now()).unwrap();
        model.create_connection(connection).unwrap();
        model.put_stream(stream, false).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(broker.read_local(&instance, "outbox", 0, 0, 10).unwrap().is_empty(), "nothing runs before a request");
    let shown = eg.get("/eventstreamings/stored-stream", &[]).await.ok().clone();
    assert_eq!(shown["status"], "running");
    let mut out = Vec::new();
    for _ in 0..200 {
        out = broker.read_local(&instance, "outbox", 0, 0, 10).unwrap();
        if !out.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(out.len(), 1);
    assert_eq!(value_json(&out[0])["data"]["value"], "before");
}
