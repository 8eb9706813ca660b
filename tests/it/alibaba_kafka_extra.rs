//! Alibaba Kafka 2019-09-16 beyond the seed's nine actions: SASL users and ACLs, over the Kafka engine's
//! users and rules (the ones the data plane's SASL and authoriser use). Signed by the independent RPC v1
//! signer of `alibaba_support`.

use crate::alibaba_support::{hmac_sha1_b64, string_to_sign};
use crate::common;

use std::collections::BTreeMap;

use common::{TestServer, ACCOUNT, KEY_ID, SECRET};
use localyun::engine::kafka::security::{AclOperation, AclResourceType};
use localyun::engine::kafka::with_model;
use serde_json::Value;

const REGION: &str = "cn-hangzhou";

async fn call(srv: &TestServer, version: &str, action: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let mut p: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in [
        ("Action", action),
        ("Version", version),
        ("Format", "JSON"),
        ("AccessKeyId", KEY_ID),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("RegionId", REGION),
    ] {
        p.insert(k.into(), v.into());
    }
    p.insert("SignatureNonce".into(), uuid::Uuid::new_v4().to_string());
    p.insert("Timestamp".into(), chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
    for (k, v) in params {
        p.insert(k.to_string(), v.to_string());
    }
    let sts = string_to_sign("POST", &p);
    let mut pairs: Vec<(String, String)> = p.into_iter().collect();
    pairs.push(("Signature".into(), hmac_sha1_b64(SECRET, &sts)));
    let encoded = serde_urlencoded::to_string(&pairs).unwrap();
    let resp = srv.client.post(format!("{}/?{encoded}", srv.base)).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn ok(srv: &TestServer, action: &str, params: &[(&str, &str)]) -> Value {
    let (status, v) = call(srv, "2019-09-16", action, params).await;
    assert_eq!(status, 200, "{action}: {v}");
    assert_eq!(v["Success"], true, "{action}: {v}");
    v
}

async fn err(srv: &TestServer, action: &str, params: &[(&str, &str)], status: u16, code: &str) -> Value {
    let (got, v) = call(srv, "2019-09-16", action, params).await;
    assert_eq!((got, v["Code"].as_str().unwrap_or("")), (status, code), "{action}: {v}");
    v
}

#[tokio::test]
async fn sasl_users_lifecycle_reaches_the_engine() {
    let srv = common::start().await;
    let inst = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    let i = inst.as_str();
    ok(&srv, "CreateSaslUser", &[("InstanceId", i), ("Username", "alice"), ("Password", "pw-1"), ("Type", "scram")])
        .await;
    err(
        &srv,
        "CreateSaslUser",
        &[("InstanceId", i), ("Username", "alice"), ("Password", "pw-1")],
        400,
        "InvalidParameter",
    )
    .await;
    err(&srv, "CreateSaslUser", &[("InstanceId", i), ("Username", "bob")], 400, "MissingParameter").await;
    err(&srv, "CreateSaslUser", &[("InstanceId", i), ("Username", "b c"), ("Password", "x")], 400, "InvalidParameter")
        .await;
    let v = ok(&srv, "DescribeSaslUsers", &[("InstanceId", i)]).await;
    let users = v["SaslUserList"]["SaslUserVO"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!((users[0]["Username"].as_str(), users[0]["Type"].as_str()), (Some("alice"), Some("scram")));
    assert!(with_model(&srv.state.store.kafka, |m| m.verify_sasl(&inst, "alice", "pw-1")));
    ok(&srv, "DeleteSaslUser", &[("InstanceId", i), ("Username", "alice")]).await;
    err(&srv, "DeleteSaslUser", &[("InstanceId", i), ("Username", "alice")], 400, "InvalidParameter").await;
    assert!(!with_model(&srv.state.store.kafka, |m| m.verify_sasl(&inst, "alice", "pw-1")));
    // 2018-10-15 has no such action.
    let (status, v) = call(&srv, "2018-10-15", "DescribeSaslUsers", &[("InstanceId", i)]).await;
    assert_eq!((status, v["Code"].as_str()), (404, Some("InvalidAction.NotFound")), "{v}");
    // Another account's (or a missing) instance.
    err(
        &srv,
        "DescribeSaslUsers",
        &[("InstanceId", "alikafka_pre-cn-000000000000")],
        404,
        "InvalidInstanceId.NotFound",
    )
    .await;
}

#[tokio::test]
async fn acls_lifecycle_and_enforcement_decision() {
    let srv = common::start().await;
    let inst = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    let i = inst.as_str();
    let rule = [
        ("InstanceId", i),
        ("Username", "alice"),
        ("AclResourceType", "Topic"),
        ("AclResourceName", "orders"),
        ("AclResourcePatternType", "LITERAL"),
        ("AclOperationType", "Write,Read"),
    ];
    ok(&srv, "CreateAcl", &rule).await;
    let v = ok(&srv, "DescribeAcls", &[("InstanceId", i), ("AclResourceType", "Topic"), ("AclResourceName", "orders")])
        .await;
    let acls = v["KafkaAclList"]["KafkaAclVO"].as_array().unwrap();
    let mut ops: Vec<&str> = acls.iter().map(|a| a["AclOperationType"].as_str().unwrap()).collect();
    ops.sort_unstable();
    assert_eq!(ops, ["Read", "Write"]);
    assert_eq!(acls[0]["Username"], "alice");
    assert_eq!(acls[0]["AclPermissionType"], "ALLOW");
    let allows = |user: &str| {
        with_model(&srv.state.store.kafka, |m| {
            m.acl_allows(&inst, user, "10.0.0.1", AclResourceType::Topic, "orders", AclOperation::Write)
        })
    };
    assert!(allows("alice") && !allows("eve"));
    let mut bad = rule;
    bad[5] = ("AclOperationType", "Fly");
    err(&srv, "CreateAcl", &bad, 400, "InvalidParameter").await;
    err(&srv, "CreateAcl", &rule[..4], 400, "MissingParameter").await;
    ok(&srv, "DeleteAcl", &rule[..4]).await;
    err(&srv, "DeleteAcl", &rule[..4], 400, "InvalidParameter").await;
    let v = ok(&srv, "DescribeAcls", &[("InstanceId", i)]).await;
    assert_eq!(v["KafkaAclList"]["KafkaAclVO"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn topic_remark_and_partition_growth() {
    let srv = common::start().await;
    let inst = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    let i = inst.as_str();
    ok(&srv, "CreateTopic", &[("InstanceId", i), ("Topic", "grow"), ("Remark", "r1"), ("PartitionNum", "2")]).await;
    ok(&srv, "ModifyTopicRemark", &[("InstanceId", i), ("Topic", "grow"), ("Remark", "r2")]).await;
    ok(&srv, "ModifyPartitionNum", &[("InstanceId", i), ("Topic", "grow"), ("AddPartitionNum", "3")]).await;
    let (remark, partitions) = with_model(&srv.state.store.kafka, |m| {
        m.read_instance(localyun::engine::kafka::Scope::ANY, &inst, |x| {
            let t = x.topic("grow").unwrap();
            (t.remark.clone(), t.partitions.len())
        })
        .unwrap()
    });
    assert_eq!((remark.as_str(), partitions), ("r2", 5));
    err(
        &srv,
        "ModifyPartitionNum",
        &[("InstanceId", i), ("Topic", "grow"), ("AddPartitionNum", "0")],
        400,
        "InvalidParameter",
    )
    .await;
    err(&srv, "ModifyPartitionNum", &[("InstanceId", i), ("Topic", "grow")], 400, "MissingParameter").await;
    err(
        &srv,
        "ModifyTopicRemark",
        &[("InstanceId", i), ("Topic", "nope"), ("Remark", "x")],
        404,
        "BIZ_TOPIC_NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn update_consumer_offset_by_offset_and_time() {
    let srv = common::start().await;
    let inst = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    let i = inst.as_str();
    ok(&srv, "CreateTopic", &[("InstanceId", i), ("Topic", "off"), ("Remark", "r"), ("PartitionNum", "2")]).await;
    ok(&srv, "CreateConsumerGroup", &[("InstanceId", i), ("ConsumerId", "cg-off")]).await;
    with_model(&srv.state.store.kafka, |m| {
        m.advance_offsets(localyun::engine::kafka::Scope::ANY, &inst, "off", 0, 10).unwrap()
    });
    let committed = |p: u32| {
        with_model(&srv.state.store.kafka, |m| {
            m.read_instance(localyun::engine::kafka::Scope::ANY, &inst, |x| x.group_progress("cg-off", "off").unwrap())
                .unwrap()[p as usize]
                .consumer_offset
        })
    };
    let base = [("InstanceId", i), ("ConsumerId", "cg-off"), ("Topic", "off")];
    let mut p = base.to_vec();
    p.extend([("ResetType", "offset"), ("Offsets", r#"[{"Partition":0,"Offset":4},{"Partition":1,"Offset":9}]"#)]);
    ok(&srv, "UpdateConsumerOffset", &p).await;
    assert_eq!((committed(0), committed(1)), (4, 0), "clamped to each partition's log");
    let mut p = base.to_vec();
    p.extend([("ResetType", "timestamp"), ("Time", "-1")]);
    ok(&srv, "UpdateConsumerOffset", &p).await;
    assert_eq!(committed(0), 10);
    let mut p = base.to_vec();
    p.extend([("ResetType", "timestamp"), ("Time", "0")]);
    ok(&srv, "UpdateConsumerOffset", &p).await;
    assert_eq!(committed(0), 0);
    let mut p = base.to_vec();
    p.push(("ResetType", "offset"));
    err(&srv, "UpdateConsumerOffset", &p, 400, "MissingParameter").await;
    let mut p = base.to_vec();
    p.extend([("ResetType", "offset"), ("Offsets", r#"[{"Partition":7,"Offset":1}]"#)]);
    err(&srv, "UpdateConsumerOffset", &p, 400, "InvalidParameter").await;
    let mut p = vec![("InstanceId", i), ("ConsumerId", "ghost"), ("Topic", "off")];
    p.extend([("ResetType", "timestamp"), ("Time", "-1")]);
    err(&srv, "UpdateConsumerOffset", &p, 404, "BIZ_SUBSCRIPTION_NOT_FOUND").await;
}

#[tokio::test]
async fn allowed_ip_list() {
    let srv = common::start().await;
    let inst = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    let i = inst.as_str();
    let v = ok(&srv, "GetAllowedIpList", &[("InstanceId", i)]).await;
    assert_eq!(v["AllowedList"]["VpcList"], serde_json::json!([{"PortRange": "9092/9092", "AllowedIpList": []}]));
    let update = |kind: &'static str, ips: &'static str| {
        vec![
            ("InstanceId", i),
            ("UpdateType", kind),
            ("AllowedListType", "vpc"),
            ("PortRange", "9092/9092"),
            ("AllowedListIp", ips),
        ]
    };
    ok(&srv, "UpdateAllowedIp", &update("add", "10.0.0.0/8,192.168.1.1")).await;
    let v = ok(&srv, "GetAllowedIpList", &[("InstanceId", i)]).await;
    assert_eq!(v["AllowedList"]["VpcList"][0]["AllowedIpList"], serde_json::json!(["10.0.0.0/8", "192.168.1.1"]));
    ok(&srv, "UpdateAllowedIp", &update("delete", "10.0.0.0/8")).await;
    let v = ok(&srv, "GetAllowedIpList", &[("InstanceId", i)]).await;
    assert_eq!(v["AllowedList"]["VpcList"][0]["AllowedIpList"], serde_json::json!(["192.168.1.1"]));
    err(&srv, "UpdateAllowedIp", &update("add", "10.0.0.300"), 400, "InvalidParameter").await;
    err(&srv, "UpdateAllowedIp", &update("flip", "10.0.0.1"), 400, "InvalidParameter").await;
    err(&srv, "UpdateAllowedIp", &update("add", "10.0.0.1")[..4], 400, "MissingParameter").await;
}
