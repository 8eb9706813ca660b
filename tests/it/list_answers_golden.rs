//! Pins the exact bytes of the Alibaba Kafka list answers (GetTopicList, GetConsumerList, GetInstanceList in
//! both versions, JSON and XML) and of RocketMQ topic/listInPage and group/list, so that changes in how these
//! answers are built cannot change what the SDKs read. The golden files under `tests/golden/` were written by
//! the tree-building implementation; `UPDATE_GOLDEN=1 cargo test --test it list_answers_golden` rewrites them.
//! The request id (random per request) is replaced by `<RID>` before comparing; times are fixed in the model.

use crate::alibaba_support;
use crate::common;
use crate::rocketmq_support;

use std::collections::BTreeMap;

use localyun::engine::kafka::Scope;
use localyun::engine::Cloud;
use localyun::storage::Resources;
use serde_json::Value;

use alibaba_support::{hmac_sha1_b64, string_to_sign};
use common::{TestServer, ACCOUNT, KEY_ID, SECRET};

const REGION: &str = "cn-hangzhou";

// ---- Alibaba RPC signer (seed §2.6.5), independent of src/ ----

fn rpc_signed(version: &str, format: &str, action: &str, params: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut p: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in [
        ("Action", action),
        ("Version", version),
        ("Format", format),
        ("AccessKeyId", KEY_ID),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
    ] {
        p.insert(k.into(), v.into());
    }
    p.insert("SignatureNonce".into(), uuid::Uuid::new_v4().to_string());
    p.insert("Timestamp".into(), chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
    for (k, v) in params {
        p.insert(k.to_string(), v.to_string());
    }
    let signature = hmac_sha1_b64(SECRET, &string_to_sign("POST", &p));
    let mut pairs: Vec<(String, String)> = p.into_iter().collect();
    pairs.push(("Signature".into(), signature));
    pairs
}

/// The raw answer (status, content type, body) with the request id replaced by `<RID>`.
async fn rpc(srv: &TestServer, version: &str, format: &str, action: &str, params: &[(&str, &str)]) -> String {
    let body = serde_urlencoded::to_string(rpc_signed(version, format, action, params)).unwrap();
    let resp = srv
        .client
        .post(format!("{}/", srv.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    let text = resp.text().await.unwrap();
    format!("{status} {content_type}\n{}\n", mask_request_id(&text))
}

/// Replaces the 36-character request id after `RequestId":"`, `<RequestId>` or `requestId":"`.
fn mask_request_id(text: &str) -> String {
    let mut out = text.to_string();
    for marker in ["\"RequestId\":\"", "<RequestId>", "\"requestId\":\""] {
        if let Some(at) = out.find(marker) {
            let start = at + marker.len();
            out.replace_range(start..start + 36, "<RID>");
        }
    }
    out
}

fn golden(name: &str, actual: &str) {
    let path = format!("{}/tests/golden/{name}.txt", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(format!("{}/tests/golden", env!("CARGO_MANIFEST_DIR"))).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(actual, expected, "answer bytes of {name} changed");
}

#[tokio::test]
async fn alibaba_kafka_list_answers_keep_their_bytes() {
    let srv = common::start().await;
    let instance = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    let inst = instance.as_str();
    let ok = |text: &str| assert!(text.starts_with("200 "), "{text}");

    // Topics of both versions, with tags, storage flags and text that needs escaping in JSON and XML.
    ok(&rpc(
        &srv,
        "2018-10-15",
        "JSON",
        "CreateTopic",
        &[("InstanceId", inst), ("RegionId", REGION), ("Topic", "old_topic"), ("Remark", "plain")],
    )
    .await);
    ok(&rpc(
        &srv,
        "2019-09-16",
        "JSON",
        "CreateTopic",
        &[
            ("InstanceId", inst),
            ("RegionId", REGION),
            ("Topic", "tagged-topic"),
            ("Remark", "a<b & \"c\" '中文' \\ /"),
            ("PartitionNum", "3"),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "prod"),
            ("Tag.2.Key", "team"),
        ],
    )
    .await);
    ok(&rpc(
        &srv,
        "2019-09-16",
        "JSON",
        "CreateTopic",
        &[
            ("InstanceId", inst),
            ("RegionId", REGION),
            ("Topic", "local_compact"),
            ("Remark", "lc"),
            ("LocalTopic", "true"),
            ("CompactTopic", "true"),
            ("ReplicationFactor", "2"),
        ],
    )
    .await);
    for i in 0..3 {
        let name = format!("bulk_{i}");
        ok(&rpc(
            &srv,
            "2019-09-16",
            "JSON",
            "CreateTopic",
            &[("InstanceId", inst), ("RegionId", REGION), ("Topic", &name), ("Remark", "bulk")],
        )
        .await);
    }
    // Groups of both versions, with remarks and tags.
    ok(&rpc(
        &srv,
        "2018-10-15",
        "JSON",
        "CreateConsumerGroup",
        &[("InstanceId", inst), ("RegionId", REGION), ("ConsumerId", "old-group")],
    )
    .await);
    ok(&rpc(
        &srv,
        "2019-09-16",
        "JSON",
        "CreateConsumerGroup",
        &[
            ("InstanceId", inst),
            ("RegionId", REGION),
            ("ConsumerId", "new_group"),
            ("Remark", "<g&'\"中>"),
            ("Tag.1.Key", "k"),
            ("Tag.1.Value", "v"),
        ],
    )
    .await);
    ok(&rpc(
        &srv,
        "2019-09-16",
        "JSON",
        "CreateConsumerGroup",
        &[("InstanceId", inst), ("RegionId", REGION), ("ConsumerId", "third_group")],
    )
    .await);

    // Fixed times, and instance attributes the fixtures may set: written as stored resources, the way
    // recovery applies them (no API changes these).
    {
        let mut model = srv.state.store.kafka.write();
        let topics: Vec<String> = model
            .read_instance(Scope::owner(Cloud::Alibaba, ACCOUNT), inst, |i| i.topics().keys().cloned().collect())
            .unwrap();
        let mut set = |key: String, change: &dyn Fn(&mut Value)| {
            let mut value = model.resource(&key).unwrap();
            change(&mut value);
            model.apply(&key, Some(value)).unwrap();
        };
        set(format!("i/{inst}"), &|i| {
            i["created_at_ms"] = Value::from(1_700_000_000_000i64);
            i["attributes"]["expires_at"] = Value::from(1_731_536_000_000i64);
            i["attributes"]["resource_group"] = Value::from("rg-golden");
            i["attributes"]["tags"] = serde_json::json!([{"key": "owner", "value": "me & you"}]);
        });
        let beijing = localyun::alibaba::kafka::default_instance_id(ACCOUNT, "cn-beijing");
        set(format!("i/{beijing}"), &|b| {
            b["created_at_ms"] = Value::from(1_600_000_000_000i64);
            b["attributes"]["expires_at"] = Value::from(1_631_536_000_000i64);
        });
        for (n, t) in topics.iter().enumerate() {
            set(format!("t/{inst}/{t}"), &|topic| topic["created_at_ms"] = Value::from(1_700_000_000_000 + n as i64));
        }
    }

    let page_all: &[(&str, &str)] = &[("InstanceId", inst), ("RegionId", REGION)];
    let page_two: &[(&str, &str)] =
        &[("InstanceId", inst), ("RegionId", REGION), ("CurrentPage", "2"), ("PageSize", "2")];
    let filtered: &[(&str, &str)] = &[("InstanceId", inst), ("RegionId", REGION), ("Topic", "_"), ("PageSize", "2")];
    let beyond: &[(&str, &str)] =
        &[("InstanceId", inst), ("RegionId", REGION), ("CurrentPage", "9"), ("PageSize", "5")];
    let group_filter: &[(&str, &str)] =
        &[("InstanceId", inst), ("RegionId", REGION), ("ConsumerId", "group"), ("CurrentPage", "1"), ("PageSize", "1")];
    let no_group: &[(&str, &str)] = &[("InstanceId", inst), ("RegionId", REGION), ("ConsumerId", "nothing")];
    let region_only: &[(&str, &str)] = &[("RegionId", REGION)];
    let other_region: &[(&str, &str)] = &[("RegionId", "cn-beijing")];
    let by_tag: &[(&str, &str)] = &[("RegionId", REGION), ("Tag.1.Key", "missing")];

    let cases: &[(&str, &str, &[(&str, &str)])] = &[
        ("GetTopicList", "all", page_all),
        ("GetTopicList", "page_two", page_two),
        ("GetTopicList", "filtered", filtered),
        ("GetTopicList", "beyond", beyond),
        ("GetConsumerList", "all", page_all),
        ("GetConsumerList", "filtered", group_filter),
        ("GetConsumerList", "none", no_group),
        ("GetInstanceList", "region", region_only),
        ("GetInstanceList", "other_region", other_region),
        ("GetInstanceList", "by_tag", by_tag),
    ];
    for (action, label, params) in cases {
        for version in ["2018-10-15", "2019-09-16"] {
            for format in ["JSON", "XML"] {
                let text = rpc(&srv, version, format, action, params).await;
                ok(&text);
                golden(&format!("alibaba_{action}_{label}_{version}_{format}"), &text);
            }
        }
    }
}

// ---- RocketMQ /json ----

async fn rocketmq(srv: &TestServer, route: &str, params: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = vec![
        ("_accesskey".into(), KEY_ID.into()),
        ("__preventCache".into(), rocketmq_support::now_ms().to_string()),
        ("_regionId".into(), rocketmq_support::REGION.into()),
    ];
    pairs.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let signature = rocketmq_support::seed_signature(SECRET, &pairs);
    pairs.push(("_signature".into(), signature));
    let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
    let resp = srv
        .client
        .post(format!("{}/json/{route}", srv.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encoded)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    let text = resp.text().await.unwrap();
    format!("{status} {content_type}\n{}\n", mask_request_id(&text))
}

#[tokio::test]
async fn rocketmq_list_answers_keep_their_bytes() {
    let api = rocketmq_support::Api::start().await;
    let srv = &api.srv;
    let default = api.default_instance();
    let namespaced = api.new_instance("golden-ns").await;
    for (instance, topic, order_type) in [
        (default.as_str(), "T_normal", "0"),
        (default.as_str(), "T_partition_order", "1"),
        (default.as_str(), "T_global_order", "2"),
        (default.as_str(), "T_tx", "4"),
        (default.as_str(), "T_delay", "5"),
        (namespaced.as_str(), "T_ns", "0"),
    ] {
        api.create_topic(instance, topic, order_type).await;
    }
    let remarked = rocketmq(
        srv,
        "topic/create",
        &[("instanceId", &default), ("topic", "T_remark"), ("orderType", "0"), ("remark", "r<&>\"'中 \\ /")],
    )
    .await;
    assert!(remarked.contains("\"success\":true"), "{remarked}");
    api.create_group(&default, "GID_one").await;
    api.create_group(&namespaced, "GID_ns").await;
    let g =
        rocketmq(srv, "group/create", &[("instanceId", &default), ("groupId", "GID_two"), ("remark", "\"quoted\" 中")])
            .await;
    assert!(g.contains("\"success\":true"), "{g}");
    {
        use localyun::engine::rocketmq::Millis;
        let model = srv.state.store.rocketmq.read();
        let region = rocketmq_support::REGION;
        for id in [&default, &namespaced] {
            let names: Vec<String> = {
                let handle = model.instance(ACCOUNT, region, id).unwrap();
                let names = handle.read().topics().map(|t| t.name().to_string()).collect();
                names
            };
            if names.iter().any(|t| t == "T_tx") {
                model.set_topic_perm(ACCOUNT, region, id, "T_tx", 4).unwrap();
            }
            for (n, t) in names.iter().enumerate() {
                let (created, modified) = (1_700_000_000_000 + n as i64, 1_700_000_500_000 + n as i64);
                model
                    .set_topic_times(ACCOUNT, region, id, t, Millis::from_ms(created), Millis::from_ms(modified))
                    .unwrap();
            }
        }
    }
    let cases: &[(&str, &str, Vec<(&str, &str)>)] = &[
        ("topic/listInPage", "default", vec![("instanceId", default.as_str())]),
        (
            "topic/listInPage",
            "page_two",
            vec![("instanceId", default.as_str()), ("currentPage", "2"), ("pageSize", "3")],
        ),
        ("topic/listInPage", "filtered", vec![("instanceId", default.as_str()), ("topic", "order"), ("pageSize", "1")]),
        ("topic/listInPage", "beyond", vec![("instanceId", default.as_str()), ("currentPage", "5"), ("pageSize", "4")]),
        ("topic/listInPage", "namespaced", vec![("instanceId", namespaced.as_str())]),
        ("group/list", "default", vec![("instanceId", default.as_str())]),
        ("group/list", "filtered", vec![("instanceId", default.as_str()), ("groupId", "GID_two")]),
        ("group/list", "none", vec![("instanceId", default.as_str()), ("groupId", "GID_nothing")]),
        ("group/list", "namespaced", vec![("instanceId", namespaced.as_str())]),
    ];
    // Failures share the envelope: an unknown instance, a missing parameter, a write.
    let failures: &[(&str, &str, Vec<(&str, &str)>)] = &[
        ("topic/listInPage", "unknown_instance", vec![("instanceId", "MQ_INST_100000000001_NOPE")]),
        ("topic/listInPage", "missing_instance", vec![]),
        (
            "topic/create",
            "bad_order_type",
            vec![("instanceId", default.as_str()), ("topic", "T_x"), ("orderType", "3")],
        ),
    ];
    for (route, label, params) in failures {
        let text = rocketmq(srv, route, params).await;
        assert!(text.contains("\"success\":false"), "{text}");
        golden(&format!("rocketmq_{}_{label}", route.replace('/', "_")), &text);
    }
    for (route, label, params) in cases {
        let text = rocketmq(srv, route, params).await;
        assert!(text.contains("\"success\":true"), "{text}");
        // A created instance's id is random: masked.
        let text = text.replace(namespaced.as_str(), "<NAMESPACED>");
        golden(&format!("rocketmq_{}_{label}", route.replace('/', "_")), &text);
    }
    let created =
        rocketmq(srv, "topic/create", &[("instanceId", &default), ("topic", "T_last"), ("orderType", "0")]).await;
    golden("rocketmq_topic_create_ok", &created);
}
