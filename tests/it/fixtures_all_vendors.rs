//! Declarative fixtures across every vendor, against the real binary: the repository example and a file
//! declaring Kafka (Tencent and Alibaba), RocketMQ and EventGrid resources for two accounts load and are
//! visible through each vendor's signed API; an invalid entry in any vendor's section fails the start with
//! exit code 2 and a message naming the file and the entry.

use crate::cross_support;

use std::path::{Path, PathBuf};

use cross_support::*;
use serde_json::{json, Value};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/example.yaml");
/// Account B of the repository example.
const EXAMPLE_KEY_B: Key = Key { id: "AKIDTEAMB", secret: "team-b-secret" };

fn start_with_fixtures(path: &Path) -> Running {
    Running::spawn(&["--fixtures", &path.display().to_string()])
}

/// The `(name, channel_id)` of an EventGrid list's items.
async fn eventgrid_channel_refs(ep: &Endpoint, key: Key, project: &str, tail: &str) -> Vec<(String, String)> {
    let answer = eventgrid(ep, key, "GET", project, tail, &[("limit", "100")], None).await;
    let body = eventgrid_ok(&answer);
    let mut refs: Vec<(String, String)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap().to_string(), i["channel_id"].as_str().unwrap_or("").to_string()))
        .collect();
    refs.sort();
    refs
}

async fn tencent_groups(ep: &Endpoint, key: Key, instance: &str) -> Vec<String> {
    let answer = tencent(ep, key, "ListConsumerGroup", &[("instanceId", instance)]).await;
    assert_eq!(answer["code"], 0, "{answer}");
    let mut names: Vec<String> = answer["data"]["groupListForMonitor"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["groupName"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_repository_example_shows_every_vendor_through_its_api() {
    let running = start_with_fixtures(Path::new(EXAMPLE));
    let ep = &running.ep;
    let key = DEFAULT_KEY;

    // Tencent: the declared instance with its topic and group.
    assert_eq!(tencent_topics(ep, key, "ckafka-example1").await, vec!["orders"]);
    assert_eq!(tencent_groups(ep, key, "ckafka-example1").await, vec!["billing"]);
    let shown = tencent(ep, key, "GetInstanceAttributes", &[("instanceId", "ckafka-example1")]).await;
    assert_eq!(shown["code"], 0, "{shown}");
    assert_eq!(shown["instanceName"], "orders-cluster", "{shown}");

    // Alibaba Kafka: topic and group on the default instance of cn-hangzhou.
    let ali = alibaba_instance(ACCOUNT);
    assert_eq!(alibaba_topics(ep, key, &ali).await, vec!["payments"]);
    assert_eq!(alibaba_groups(ep, key, &ali).await, vec!["CID-payments"]);

    // RocketMQ: the namespaced instance with its topic and subscribed group.
    let inst = "MQ_INST_100000000001_ORDERS";
    let topic = rocketmq(ep, key, "topic/get", &[("instanceId", inst), ("topic", "T_orders")]).await;
    assert_eq!(rocketmq_ok(&topic)["data"]["remark"], "order events");
    assert_eq!(rocketmq_groups(ep, key, Some(inst)).await, vec!["GID_billing"]);
    let listed = rocketmq(ep, key, "instance/list", &[]).await;
    let names: Vec<&str> =
        rocketmq_ok(&listed)["data"].as_array().unwrap().iter().filter_map(|i| i["instanceName"].as_str()).collect();
    assert!(names.contains(&"orders"), "{names:?}");

    // EventGrid: channel, source on it, subscription from it, in the default project.
    let channels = eventgrid_items(ep, key, DEFAULT_PROJECT, "/channels").await;
    let orders = channels.iter().find(|(name, _)| name == "orders").map(|(_, id)| id.clone());
    let orders = orders.unwrap_or_else(|| panic!("channel orders: {channels:?}"));
    let sources = eventgrid_channel_refs(ep, key, DEFAULT_PROJECT, "/sources").await;
    assert!(sources.contains(&("order-service".to_string(), orders.clone())), "{sources:?}");
    let subscriptions = eventgrid_channel_refs(ep, key, DEFAULT_PROJECT, "/subscriptions").await;
    assert_eq!(subscriptions, vec![("orders-to-hook".to_string(), orders)]);
    let (_, id) = &eventgrid_items(ep, key, DEFAULT_PROJECT, "/subscriptions").await[0];
    let shown = eventgrid(ep, key, "GET", DEFAULT_PROJECT, &format!("/subscriptions/{id}"), &[], None).await;
    let shown = eventgrid_ok(&shown);
    assert_eq!(shown["targets"][0]["detail"]["url"], "http://127.0.0.1:8080/hook", "{shown}");
    assert_eq!(shown["sources"][0]["name"], "order-service", "{shown}");

    // The example's second account signs requests and sees none of it.
    let theirs = tencent(ep, EXAMPLE_KEY_B, "ListTopic", &[("instanceId", "ckafka-example1")]).await;
    assert_eq!(theirs["code"], 5000, "{theirs}");
    assert!(alibaba_topics(ep, EXAMPLE_KEY_B, &alibaba_instance("200000000002")).await.is_empty());
    let (status, body) = eventgrid(ep, EXAMPLE_KEY_B, "GET", DEFAULT_PROJECT, "/channels", &[], None).await;
    assert_eq!((status, body["error_code"].as_str()), (403, Some("EG.00512000")), "{body}");
}

/// A fixture declaring resources of every vendor for the default account and a second one.
fn every_vendor_fixture() -> Value {
    let sub = |name: &str, channel: &str, source: &str| {
        json!({
            "name": name,
            "channel": channel,
            "sources": [{"name": source, "provider_type": "CUSTOM",
                         "filter": {"source": [{"op": "StringIn", "values": [source]}]}}],
            "targets": [{"name": "WEBHOOK", "provider_type": "CUSTOM", "detail": {"url": "http://127.0.0.1:9/hook"},
                         "transform": {"type": "ORIGINAL"}}],
        })
    };
    json!({
        "accounts": [{
            "id": ACCOUNT_B,
            "keys": [{"id": KEY_B, "secret": SECRET_B}],
            "huawei_project_ids": ["b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1"],
        }],
        "kafka": {"instances": [
            {"cloud": "tencent", "region": TENCENT_REGION, "id": "ckafka-fixture1", "name": "fx", "brokers": 3,
             "topics": [{"name": "fx-topic", "partitions": 4, "replicas": 3, "note": "from-a-file"}],
             "groups": [{"name": "fx-group"}]},
            {"cloud": "tencent", "account": ACCOUNT_B, "region": TENCENT_REGION,
             "topics": [{"name": "b-topic"}]},
            {"cloud": "alibaba", "region": ALIBABA_REGION, "id": "alikafka_pre-cn-fixture00001",
             "topics": [{"name": "fx-ali-topic", "partitions": 6, "note": "fixture topic"}], "groups": [{"name": "CID-fx", "remark": "r"}]},
            {"cloud": "alibaba", "account": ACCOUNT_B, "region": ALIBABA_REGION, "groups": [{"name": "CID-b"}]},
        ]},
        "rocketmq": {"instances": [
            {"id": "MQ_INST_100000000001_FIXTURE", "name": "fixture-inst", "independent_naming": true,
             "topics": [{"name": "T_fx", "order_type": 1, "remark": "partition order"}],
             "groups": [{"id": "GID_fx", "subscriptions": {"T_fx": "tagA"}}]},
            {"topics": [{"name": "T_default"}]},
            {"account": ACCOUNT_B, "groups": [{"id": "GID_b"}]},
        ]},
        "eventgrid": {"projects": [
            {"id": DEFAULT_PROJECT,
             "channels": [{"name": "fx-channel", "description": "from a file", "sources": [{"name": "fx-source"}]},
                          {"name": "fx-other", "sources": [{"name": "fx-other-source"}]}],
             "subscriptions": [sub("fx-sub", "fx-channel", "fx-source"), sub("fx-other-sub", "fx-other", "fx-other-source")]},
            {"id": "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1", "account": ACCOUNT_B,
             "channels": [{"name": "b-channel"}]},
        ]},
    })
}

#[tokio::test]
async fn a_json_file_declaring_every_vendor_for_two_accounts_loads() {
    let dir = TempDir::new("every");
    let path = dir.path().join("every.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&every_vendor_fixture()).unwrap()).unwrap();
    let running = start_with_fixtures(&path);
    let ep = &running.ep;
    let (a, b) = (DEFAULT_KEY, KEY_OF_B);

    let answer = tencent(ep, a, "ListTopic", &[("instanceId", "ckafka-fixture1")]).await;
    assert_eq!(answer["topicList"][0]["topicName"], "fx-topic", "{answer}");
    assert_eq!(answer["topicList"][0]["note"], "from-a-file", "{answer}");
    let topic =
        tencent(ep, a, "GetTopicAttributes", &[("instanceId", "ckafka-fixture1"), ("topicName", "fx-topic")]).await;
    assert_eq!(topic["partitionNum"], 4, "{topic}");
    assert_eq!(topic["partitions"][0]["replicaNum"], 3, "{topic}");
    assert_eq!(tencent_groups(ep, a, "ckafka-fixture1").await, vec!["fx-group"]);
    assert_eq!(tencent_topics(ep, b, &tencent_instance(ACCOUNT_B)).await, vec!["b-topic"]);
    assert!(tencent_topics(ep, a, &tencent_instance(ACCOUNT)).await.is_empty());

    let listed = alikafka(ep, a, "GetInstanceList", &[("RegionId", ALIBABA_REGION)]).await;
    let ids: Vec<&str> = alibaba_ok(&listed)["InstanceList"]["InstanceVO"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["InstanceId"].as_str())
        .collect();
    assert!(ids.contains(&"alikafka_pre-cn-fixture00001"), "{ids:?}");
    assert_eq!(alibaba_topics(ep, a, "alikafka_pre-cn-fixture00001").await, vec!["fx-ali-topic"]);
    assert_eq!(alibaba_groups(ep, a, "alikafka_pre-cn-fixture00001").await, vec!["CID-fx"]);
    assert_eq!(alibaba_groups(ep, b, &alibaba_instance(ACCOUNT_B)).await, vec!["CID-b"]);
    let (status, body) = alikafka(
        ep,
        b,
        "GetTopicList",
        &[("InstanceId", "alikafka_pre-cn-fixture00001"), ("RegionId", ALIBABA_REGION)],
    )
    .await;
    assert!(status >= 400 && body["Success"] == false, "B cannot see A's instance: {status} {body}");

    let fixture_inst = "MQ_INST_100000000001_FIXTURE";
    let topic = rocketmq(ep, a, "topic/get", &[("instanceId", fixture_inst), ("topic", "T_fx")]).await;
    assert_eq!(rocketmq_ok(&topic)["data"]["remark"], "partition order");
    assert_eq!(rocketmq_groups(ep, a, Some(fixture_inst)).await, vec!["GID_fx"]);
    // group/subDetail lists online subscribers only; the declared subscription shows in the exported state.
    let (_, state) = ep.admin_get("state").await;
    let group = &state["models"]["rocketmq"]["instances"][fixture_inst]["groups"]["GID_fx"];
    assert!(group["subscriptions"]["T_fx"].to_string().contains("tagA"), "{group}");
    assert_eq!(
        rocketmq_topics(ep, a, None).await,
        vec!["T_default"],
        "the entry without id fills the default instance"
    );
    assert_eq!(rocketmq_groups(ep, b, None).await, vec!["GID_b"]);
    assert!(rocketmq_groups(ep, a, None).await.is_empty());

    let channels = eventgrid_items(ep, a, DEFAULT_PROJECT, "/channels").await;
    let fx = channels.iter().find(|(n, _)| n == "fx-channel").map(|(_, id)| id.clone()).expect("fx-channel");
    let other = channels.iter().find(|(n, _)| n == "fx-other").map(|(_, id)| id.clone()).expect("fx-other");
    assert!(channels.iter().any(|(n, _)| n == "default"), "{channels:?}");
    assert_eq!(
        eventgrid_channel_refs(ep, a, DEFAULT_PROJECT, "/subscriptions").await,
        vec![("fx-other-sub".to_string(), other), ("fx-sub".to_string(), fx.clone())]
    );
    assert!(eventgrid_channel_refs(ep, a, DEFAULT_PROJECT, "/sources").await.contains(&("fx-source".to_string(), fx)));
    let project_b = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1";
    assert_eq!(eventgrid_names(ep, b, project_b, "/channels").await, vec!["b-channel", "default"]);
    let (status, body) = eventgrid(ep, a, "GET", project_b, "/channels", &[], None).await;
    assert_eq!((status, body["error_code"].as_str()), (403, Some("EG.00512000")), "{body}");
}

// ---- invalid entries: the binary refuses to start, naming the file and the entry ----

/// Writes `text` to `name` in a fresh folder, runs the binary with it, expects a refused start; returns
/// stderr and the file's path.
fn refused(name: &str, text: &str) -> (String, String) {
    let dir = TempDir::new("refused");
    let path: PathBuf = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let shown = path.display().to_string();
    let output = run_to_exit(&["--fixtures", &shown], dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(2), "{name} must stop the start: {stderr}");
    assert!(stderr.contains(&shown), "the message names the file: {stderr}");
    (stderr, shown)
}

#[test]
fn an_invalid_tencent_kafka_entry_names_file_and_entry() {
    let (stderr, _) = refused(
        "tencent.yaml",
        "kafka:\n  instances:\n    - cloud: tencent\n      region: ap-guangzhou\n      id: ckafka-ok1\n    - cloud: tencent\n      region: ap-guangzhou\n      id: ckafka-bad1\n      brokers: 1\n      topics:\n        - name: wide\n          replicas: 2\n",
    );
    assert!(stderr.contains("kafka.instances[1] (ckafka-bad1).topics[0] (wide)"), "{stderr}");
    assert!(stderr.contains("replica"), "{stderr}");
}

#[test]
fn an_invalid_alibaba_kafka_entry_names_file_and_entry() {
    let (stderr, _) = refused(
        "alibaba.yaml",
        "kafka:\n  instances:\n    - cloud: alibaba\n      region: cn-hangzhou\n      id: alikafka-not-an-id\n",
    );
    assert!(stderr.contains("kafka.instances[0] (alikafka-not-an-id)"), "{stderr}");
    assert!(stderr.contains("alikafka_pre-cn-"), "the message says what an id looks like: {stderr}");

    let (stderr, _) = refused(
        "alibaba-region.yaml",
        "kafka:\n  instances:\n    - cloud: alibaba\n      region: ap-guangzhou\n      topics: [{name: orders}]\n",
    );
    assert!(stderr.contains("kafka.instances[0]") && stderr.contains("ap-guangzhou"), "{stderr}");
}

#[test]
fn an_invalid_rocketmq_entry_names_file_and_entry() {
    let (stderr, _) = refused(
        "rocketmq.yaml",
        "rocketmq:\n  instances:\n    - topics: [{name: T_fine}]\n      groups:\n        - id: GID_fine\n        - id: billing\n",
    );
    assert!(stderr.contains("rocketmq: instances[0].groups[1]"), "{stderr}");
    assert!(stderr.contains("GID_"), "the message says what a group id looks like: {stderr}");

    let (stderr, _) =
        refused("rocketmq-order.yaml", "rocketmq:\n  instances:\n    - topics: [{name: T_x, order_type: 3}]\n");
    assert!(stderr.contains("rocketmq: instances[0].topics[0]") && stderr.contains("order_type"), "{stderr}");

    let (stderr, _) =
        refused("rocketmq-field.json", r#"{"rocketmq": {"instances": [{"id": "MQ_INST_1_X", "nmae": "typo"}]}}"#);
    assert!(stderr.contains("rocketmq:") && stderr.contains("unknown field `nmae`"), "{stderr}");
}

#[test]
fn an_invalid_eventgrid_entry_names_file_and_entry() {
    let (stderr, _) = refused(
        "eventgrid.yaml",
        "eventgrid:\n  projects:\n    - id: p0000000000000000000000000000001\n      channels:\n        - name: good\n          sources:\n            - name: fine\n            - name: \"not fine!\"\n",
    );
    assert!(stderr.contains("eventgrid: projects[0].channels[0].sources[1]"), "{stderr}");
    assert!(stderr.contains("not fine!"), "{stderr}");

    let (stderr, _) = refused(
        "eventgrid-sub.yaml",
        "eventgrid:\n  projects:\n    - id: p0000000000000000000000000000001\n      subscriptions:\n        - name: lost\n          channel: nowhere\n          sources: [{name: s, provider_type: CUSTOM}]\n          targets: [{name: WEBHOOK, provider_type: CUSTOM, detail: {url: \"http://127.0.0.1:9/\"}, transform: {type: ORIGINAL}}]\n",
    );
    assert!(stderr.contains("eventgrid: projects[0].subscriptions[0]"), "{stderr}");
    assert!(stderr.contains("nowhere"), "{stderr}");

    // The default account's project cannot be declared for another account.
    let (stderr, _) = refused(
        "eventgrid-owner.yaml",
        &format!(
            "accounts:\n  - id: \"{ACCOUNT_B}\"\n    keys: [{{id: {KEY_B}, secret: {SECRET_B}}}]\neventgrid:\n  projects:\n    - id: {DEFAULT_PROJECT}\n      account: \"{ACCOUNT_B}\"\n"
        ),
    );
    assert!(stderr.contains("eventgrid: projects[0]") && stderr.contains(DEFAULT_PROJECT), "{stderr}");

    let (stderr, _) =
        refused("projects.yaml", "accounts:\n  - id: \"300000000003\"\n    huawei_project_ids: [\"no/slashes\"]\n");
    assert!(stderr.contains("accounts[0] (account 300000000003): huawei_project_ids"), "{stderr}");
}

/// The README: "Resources go through the same models and validation as the API calls, so a fixture cannot
/// hold what the API would refuse."
#[test]
fn kafka_fixtures_refuse_what_the_apis_refuse() {
    // CreateTopic refuses a topic name that starts with a digit (Tencent) and 0 partitions.
    let (stderr, _) = refused(
        "tencent-name.yaml",
        "kafka:\n  instances:\n    - cloud: tencent\n      region: ap-guangzhou\n      topics:\n        - name: 9-lives\n",
    );
    assert!(stderr.contains("kafka.instances[0].topics[0] (9-lives)"), "{stderr}");
    let (stderr, _) = refused(
        "tencent-zero.yaml",
        "kafka:\n  instances:\n    - cloud: tencent\n      region: ap-guangzhou\n      topics:\n        - name: empty\n          partitions: 0\n",
    );
    assert!(stderr.contains("kafka.instances[0].topics[0] (empty)"), "{stderr}");
    // Alibaba's CreateTopic refuses names shorter than 3 characters.
    let (stderr, _) = refused(
        "alibaba-name.yaml",
        "kafka:\n  instances:\n    - cloud: alibaba\n      region: cn-hangzhou\n      topics:\n        - name: ab\n",
    );
    assert!(stderr.contains("kafka.instances[0].topics[0] (ab)"), "{stderr}");
    let (stderr, _) = refused(
        "alibaba-group.yaml",
        "kafka:\n  instances:\n    - cloud: alibaba\n      region: cn-hangzhou\n      groups:\n        - name: x\n",
    );
    assert!(stderr.contains("kafka.instances[0].groups[0] (x)"), "{stderr}");
}

#[tokio::test]
async fn a_vendor_reset_applies_that_vendors_fixture_section_again() {
    let running = start_with_fixtures(Path::new(EXAMPLE));
    let ep = &running.ep;
    let key = DEFAULT_KEY;
    let ali = alibaba_instance(ACCOUNT);
    // Delete one declared resource of each vendor through its API.
    let answer = tencent(ep, key, "DeleteTopic", &[("instanceId", "ckafka-example1"), ("topicName", "orders")]).await;
    assert_eq!(answer["code"], 0, "{answer}");
    let params = [("InstanceId", ali.as_str()), ("RegionId", ALIBABA_REGION), ("Topic", "payments")];
    alibaba_ok(&alikafka(ep, key, "DeleteTopic", &params).await);
    let inst = "MQ_INST_100000000001_ORDERS";
    rocketmq_ok(&rocketmq(ep, key, "group/delete", &[("instanceId", inst), ("groupId", "GID_billing")]).await);
    let (_, id) = eventgrid_items(ep, key, DEFAULT_PROJECT, "/subscriptions").await.remove(0);
    let deleted = eventgrid(ep, key, "DELETE", DEFAULT_PROJECT, &format!("/subscriptions/{id}"), &[], None).await;
    assert_eq!(deleted.0, 204, "{}", deleted.1);

    // Tencent's reset re-applies the Tencent Kafka fixtures only, not Alibaba's of the same section.
    assert_eq!(ep.admin_post("reset", &json!({"vendor": "tencent-ckafka"})).await.0, 200);
    assert_eq!(tencent_topics(ep, key, "ckafka-example1").await, vec!["orders"]);
    assert!(alibaba_topics(ep, key, &ali).await.is_empty());
    assert!(rocketmq_groups(ep, key, Some(inst)).await.is_empty());
    assert!(eventgrid_items(ep, key, DEFAULT_PROJECT, "/subscriptions").await.is_empty());

    assert_eq!(ep.admin_post("reset", &json!({"vendor": "alibaba-kafka"})).await.0, 200);
    assert_eq!(alibaba_topics(ep, key, &ali).await, vec!["payments"]);
    assert_eq!(ep.admin_post("reset", &json!({"vendor": "alibaba-rocketmq"})).await.0, 200);
    assert_eq!(rocketmq_groups(ep, key, Some(inst)).await, vec!["GID_billing"]);
    assert!(eventgrid_items(ep, key, DEFAULT_PROJECT, "/subscriptions").await.is_empty());
    assert_eq!(ep.admin_post("reset", &json!({"vendor": "huawei-eventgrid"})).await.0, 200);
    assert_eq!(eventgrid_names(ep, key, DEFAULT_PROJECT, "/subscriptions").await, vec!["orders-to-hook"]);
    assert!(eventgrid_names(ep, key, DEFAULT_PROJECT, "/channels").await.contains(&"orders".to_string()));
}
