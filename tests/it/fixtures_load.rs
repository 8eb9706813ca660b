//! Declarative fixtures: valid files and folders load through the model's validation; an invalid entry
//! fails the start with its file and entry named.

use crate::admin_support;
use crate::common;

use std::path::PathBuf;

use admin_support::*;
use localyun::engine::kafka::Scope;
use localyun::Config;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("localyun-fixtures-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config_with(path: PathBuf) -> Config {
    Config { fixtures: Some(path), ..Config::default() }
}

/// The start error for a fixture file with `text`.
fn start_error(name: &str, text: &str) -> (String, String) {
    let dir = temp_dir("bad");
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let error = match localyun::app_from_config(config_with(path.clone())) {
        Ok(_) => panic!("{name} should have been refused"),
        Err(e) => format!("{e:#}"),
    };
    (error, path.display().to_string())
}

#[tokio::test]
async fn the_repository_example_loads() {
    let example = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/example.yaml"));
    let s = common::start_with(config_with(example)).await;
    {
        let model = s.state.store.kafka.read();
        let handle = model.instance(Scope::ANY, "ckafka-example1").unwrap();
        let instance = handle.read();
        assert_eq!(instance.name, "orders-cluster");
        assert_eq!(instance.topics()["orders"].partitions.len(), 6);
        assert!(instance.groups().contains_key("billing"));
    }
    // The second account's key signs requests, for that account only.
    let theirs = localyun::tencent::ckafka::default_instance_id("200000000002", REGION);
    let answer =
        tencent_as(&s.client, &s.base, &s.host, "AKIDTEAMB", "team-b-secret", "ListTopic", &[("instanceId", &theirs)])
            .await;
    assert_eq!(answer["code"], 0, "{answer}");
    let answer = tencent_as(
        &s.client,
        &s.base,
        &s.host,
        "AKIDTEAMB",
        "team-b-secret",
        "ListTopic",
        &[("instanceId", "ckafka-example1")],
    )
    .await;
    assert_eq!(answer["code"], 5000, "another account's instance is invisible: {answer}");
}

#[tokio::test]
async fn a_folder_of_json_and_yaml_files_loads_in_name_order() {
    let dir = temp_dir("folder");
    std::fs::write(
        dir.join("10-accounts.json"),
        r#"{"accounts": [{"id": "300000000003", "keys": [{"id": "AKIDC", "secret": "sc"}]}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("20-kafka.yaml"),
        "kafka:\n  instances:\n    - cloud: tencent\n      account: \"300000000003\"\n      region: ap-guangzhou\n      topics:\n        - name: audit\n          partitions: 2\n",
    )
    .unwrap();
    std::fs::write(dir.join("README.txt"), "not a fixture").unwrap();
    let s = common::start_with(config_with(dir)).await;
    let instance = localyun::tencent::ckafka::default_instance_id("300000000003", REGION);
    let answer =
        tencent_as(&s.client, &s.base, &s.host, "AKIDC", "sc", "ListTopic", &[("instanceId", &instance)]).await;
    assert_eq!(answer["code"], 0, "{answer}");
    assert_eq!(answer["topicList"][0]["topicName"], "audit");
}

#[test]
fn an_invalid_topic_names_file_instance_and_topic() {
    let (error, path) = start_error(
        "topics.yaml",
        "kafka:\n  instances:\n    - cloud: tencent\n      region: ap-guangzhou\n      id: ckafka-good1\n    - cloud: tencent\n      region: ap-guangzhou\n      id: ckafka-bad1\n      brokers: 1\n      topics:\n        - name: ok\n        - name: wide\n          replicas: 3\n",
    );
    assert!(error.contains(&path), "{error}");
    assert!(error.contains("kafka.instances[1] (ckafka-bad1).topics[1] (wide)"), "{error}");
    assert!(error.contains("replica"), "{error}");
}

#[test]
fn unknown_fields_and_bad_values_name_the_entry() {
    let (error, path) = start_error(
        "fields.json",
        r#"{"kafka": {"instances": [{"cloud": "tencent", "region": "ap-guangzhou", "id": "ckafka-x1", "partitons": 3}]}}"#,
    );
    assert!(error.contains(&path) && error.contains("kafka.instances[0] (ckafka-x1)"), "{error}");
    assert!(error.contains("unknown field `partitons`"), "{error}");

    let (error, _) = start_error(
        "region.yaml",
        "kafka:\n  instances:\n    - cloud: tencent\n      region: mars-1\n      id: ckafka-m1\n",
    );
    assert!(error.contains("kafka.instances[0] (ckafka-m1)") && error.contains("mars-1"), "{error}");

    let (error, _) = start_error(
        "cloud.yaml",
        "kafka:\n  instances:\n    - cloud: huawei\n      region: cn-north-4\n      id: k1\n",
    );
    assert!(error.contains("kafka.instances[0] (k1)") && error.contains("Huawei has no Kafka"), "{error}");
}

#[test]
fn bad_accounts_and_syntax_name_the_file() {
    let (error, path) =
        start_error("keys.yaml", "accounts:\n  - id: \"42\"\n    keys:\n      - id: AK42\n        secret: \"\"\n");
    assert!(error.contains(&path) && error.contains("accounts[0] (account 42): keys[0]"), "{error}");

    let (error, path) = start_error("typo.yaml", "acounts: []\n");
    assert!(error.contains(&path) && error.contains("unknown field `acounts`"), "{error}");

    let (error, path) = start_error("broken.json", "{\"accounts\": [");
    assert!(error.contains(&path), "{error}");

    let missing = temp_dir("missing").join("nope.yaml");
    let error = match localyun::app_from_config(config_with(missing.clone())) {
        Ok(_) => panic!("a missing file must fail the start"),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains(&missing.display().to_string()), "{error}");
}

/// Fixture topics, groups and instance names go through the facades' own rules (Tencent CreateTopic's
/// name rule, Alibaba's topic and ConsumerId rules), and the error names the file and the entry.
#[test]
fn fixture_resources_follow_the_apis_validation() {
    let tencent = |topic: &str| {
        format!(
            "kafka:\n  instances:\n    - cloud: tencent\n      region: ap-guangzhou\n      id: ckafka-fx1\n      topics:\n        - {{name: fine, partitions: 1}}\n        - {topic}\n"
        )
    };
    for (topic, needle) in [
        ("{name: 1starts-with-a-digit}", "topicName"),
        ("{name: under_score}", "topicName"),
        ("{name: ok, note: \"has space\"}", "note"),
        ("{name: ok, partitions: 0}", "partitionNum"),
        ("{name: ok, replicas: 0}", "replicaNum"),
        ("{name: ok, replicas: 4}", "replicaNum"),
    ] {
        let (error, path) = start_error("tencent.yaml", &tencent(topic));
        assert!(error.contains(&path), "{error}");
        assert!(error.contains("kafka.instances[0] (ckafka-fx1).topics[1]"), "{topic}: {error}");
        assert!(error.contains(needle), "{topic}: {error}");
    }
    let long_name = format!("a{}", "b".repeat(64));
    let (error, _) = start_error(
        "tencent-name.yaml",
        &format!("kafka:\n  instances:\n    - cloud: tencent\n      region: ap-guangzhou\n      id: ckafka-fx2\n      name: {long_name}\n"),
    );
    assert!(error.contains("kafka.instances[0] (ckafka-fx2): name") && error.contains("instanceName"), "{error}");

    let alibaba = |topic: &str, group: &str| {
        format!(
            "kafka:\n  instances:\n    - cloud: alibaba\n      region: cn-hangzhou\n      topics:\n        - {topic}\n      groups:\n        - {group}\n"
        )
    };
    for (topic, group, entry, needle) in [
        ("{name: a.b, note: n}", "{name: g-1}", "kafka.instances[0].topics[0] (a.b)", "Topic"),
        ("{name: ab, note: n}", "{name: g-1}", "kafka.instances[0].topics[0] (ab)", "Topic"),
        ("{name: orders}", "{name: g-1}", "kafka.instances[0].topics[0] (orders)", "Remark"),
        ("{name: orders, note: n, partitions: 801}", "{name: g-1}", "kafka.instances[0].topics[0]", "PartitionNum"),
        ("{name: orders, note: n}", "{name: g}", "kafka.instances[0].groups[0] (g)", "ConsumerId"),
        ("{name: orders, note: n}", "{name: \"g/1\"}", "kafka.instances[0].groups[0] (g/1)", "ConsumerId"),
    ] {
        let (error, path) = start_error("alibaba.yaml", &alibaba(topic, group));
        assert!(error.contains(&path), "{error}");
        assert!(error.contains(entry), "{topic} {group}: {error}");
        assert!(error.contains(needle), "{topic} {group}: {error}");
    }
}

/// Like CreateTopic, an Alibaba fixture topic name longer than 64 characters is cut, not refused.
#[tokio::test]
async fn alibaba_fixture_names_are_cut_like_the_apis() {
    let dir = temp_dir("alibaba-cut");
    let long = "t".repeat(70);
    let path = dir.join("alibaba.yaml");
    std::fs::write(
        &path,
        format!("kafka:\n  instances:\n    - cloud: alibaba\n      region: cn-hangzhou\n      topics:\n        - {{name: {long}, note: n, partitions: 3}}\n      groups:\n        - {{name: {long}}}\n"),
    )
    .unwrap();
    let s = common::start_with(config_with(path)).await;
    let id = localyun::alibaba::kafka::default_instance_id(common::ACCOUNT, "cn-hangzhou");
    let model = s.state.store.kafka.read();
    let handle = model.instance(Scope::ANY, &id).unwrap();
    let instance = handle.read();
    assert_eq!(instance.topics().keys().collect::<Vec<_>>(), vec![&"t".repeat(64)]);
    assert_eq!(instance.topics()[&"t".repeat(64)].partitions.len(), 3);
    assert!(instance.groups().contains_key(&"t".repeat(64)));
}
