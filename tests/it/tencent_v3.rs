//! Tencent Cloud API v3 for CKafka (2019-08-19) against the real server, signed by an independent TC3
//! signer written here from Tencent's "签名方法 v3": success paths, a lifecycle, each documented error code,
//! and the cross-check that API v2 sees what v3 created.

use crate::common;

use common::{fresh_nonce, unix_now, TestServer, ACCOUNT, KEY_ID, SECRET};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const REGION: &str = "ap-guangzhou";

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// The independent TC3 signer: the `Authorization` header for a JSON POST to `/`.
fn authorization(id: &str, secret: &str, host: &str, timestamp: i64, body: &str, service: &str) -> String {
    let date = chrono::DateTime::from_timestamp(timestamp, 0).unwrap().format("%Y-%m-%d").to_string();
    let canonical = format!(
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:{host}\n\ncontent-type;host\n{}",
        hex::encode(Sha256::digest(body.as_bytes()))
    );
    let sts = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k = hmac(format!("TC3{secret}").as_bytes(), &date);
    let k = hmac(&k, service);
    let k = hmac(&k, "tc3_request");
    let sig = hex::encode(hmac(&k, &sts));
    format!("TC3-HMAC-SHA256 Credential={id}/{date}/{service}/tc3_request, SignedHeaders=content-type;host, Signature={sig}")
}

struct Call<'a> {
    srv: &'a TestServer,
    id: &'a str,
    secret: &'a str,
    timestamp: i64,
    service: &'a str,
    version: &'a str,
    tamper: bool,
}

impl<'a> Call<'a> {
    fn new(srv: &'a TestServer) -> Self {
        Call {
            srv,
            id: KEY_ID,
            secret: SECRET,
            timestamp: unix_now(),
            service: "ckafka",
            version: "2019-08-19",
            tamper: false,
        }
    }

    async fn send(&self, action: &str, params: Value) -> (reqwest::header::HeaderMap, Value) {
        let body = params.to_string();
        let auth = authorization(self.id, self.secret, &self.srv.host, self.timestamp, &body, self.service);
        let sent = if self.tamper { body.replace('}', ", \"X\": 1}") } else { body };
        let resp = self
            .srv
            .client
            .post(format!("{}/", self.srv.base))
            .header("content-type", "application/json; charset=utf-8")
            .header("x-tc-action", action)
            .header("x-tc-version", self.version)
            .header("x-tc-timestamp", self.timestamp.to_string())
            .header("x-tc-region", REGION)
            .header("authorization", auth)
            .body(sent)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "v3 answers with HTTP 200");
        let headers = resp.headers().clone();
        (headers, resp.json().await.unwrap())
    }

    async fn ok(&self, action: &str, params: Value) -> Value {
        let (headers, v) = self.send(action, params).await;
        assert_eq!(headers["content-type"], "application/json");
        let r = &v["Response"];
        assert!(r.get("Error").is_none(), "{action}: expected success, got {v}");
        assert!(r["RequestId"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
        r.clone()
    }

    async fn err(&self, action: &str, params: Value, code: &str) -> Value {
        let (headers, v) = self.send(action, params).await;
        assert_eq!(headers["content-type"], "application/json", "errors must be application/json");
        let r = &v["Response"];
        assert_eq!(r["Error"]["Code"], code, "{action}: {v}");
        assert!(r["Error"]["Message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        assert!(r["RequestId"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
        assert_eq!(r.as_object().unwrap().len(), 2, "an error carries Error and RequestId only: {v}");
        r.clone()
    }
}

fn instance() -> String {
    localyun::tencent::ckafka::default_instance_id(ACCOUNT, REGION)
}

#[tokio::test]
async fn instances_regions_and_zones() {
    let srv = common::start().await;
    let c = Call::new(&srv);
    let r = c.ok("DescribeInstances", json!({})).await;
    let list = r["Result"]["InstanceList"].as_array().unwrap();
    assert!(list.iter().any(|i| i["InstanceId"] == instance().as_str()), "{r}");
    assert_eq!(r["Result"]["TotalCount"], list.len());
    let r = c.ok("DescribeInstancesDetail", json!({"InstanceId": instance()})).await;
    assert_eq!(r["Result"]["TotalCount"], 1);
    assert_eq!(r["Result"]["InstanceList"][0]["Status"], 1);
    let r = c.ok("DescribeInstanceAttributes", json!({"InstanceId": instance()})).await;
    assert_eq!(r["Result"]["InstanceId"], instance().as_str());
    c.err(
        "DescribeInstanceAttributes",
        json!({"InstanceId": "ckafka-nothere"}),
        "InvalidParameterValue.InstanceNotExist",
    )
    .await;
    c.err("DescribeInstanceAttributes", json!({}), "MissingParameter").await;
    let r = c.ok("DescribeRegion", json!({})).await;
    assert!(r["Result"].as_array().unwrap().iter().any(|x| x["RegionName"] == REGION));
    let r = c.ok("DescribeCkafkaZone", json!({})).await;
    assert_eq!(r["Result"]["ZoneList"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn topic_lifecycle_and_v2_sees_it() {
    let srv = common::start().await;
    let c = Call::new(&srv);
    let inst = instance();
    let r = c
        .ok(
            "CreateTopic",
            json!({"InstanceId": inst, "TopicName": "orders", "PartitionNum": 3, "ReplicaNum": 2, "Note": "n1"}),
        )
        .await;
    let topic_id = r["Result"]["TopicId"].as_str().unwrap().to_string();
    c.err(
        "CreateTopic",
        json!({"InstanceId": inst, "TopicName": "orders", "PartitionNum": 1, "ReplicaNum": 1}),
        "InvalidParameterValue.TopicNameAlreadyExist",
    )
    .await;
    c.err("CreateTopic", json!({"InstanceId": inst, "TopicName": "x", "ReplicaNum": 1}), "MissingParameter").await;
    c.err(
        "CreateTopic",
        json!({"InstanceId": inst, "TopicName": "x", "PartitionNum": "three", "ReplicaNum": 1}),
        "InvalidParameter",
    )
    .await;
    c.err(
        "CreateTopic",
        json!({"InstanceId": inst, "TopicName": "x", "PartitionNum": 0, "ReplicaNum": 1}),
        "InvalidParameterValue",
    )
    .await;

    let r = c.ok("DescribeTopic", json!({"InstanceId": inst, "SearchWord": "ord"})).await;
    assert_eq!(r["Result"]["TotalCount"], 1);
    assert_eq!(r["Result"]["TopicList"][0]["TopicId"], topic_id.as_str());
    assert_eq!(r["Result"]["TopicList"][0]["Note"], "n1");

    // API v2 lists the topic v3 created: one model.
    let v2 = localyun::engine::kafka::with_model(&srv.state.store.kafka, |m| {
        m.read_instance(localyun::engine::kafka::Scope::ANY, &inst, |i| i.topics().contains_key("orders")).unwrap()
    });
    assert!(v2);

    c.ok(
        "ModifyTopicAttributes",
        json!({"InstanceId": inst, "TopicName": "orders", "Note": "n2", "RetentionMs": 60000}),
    )
    .await;
    let r = c.ok("DescribeTopicAttributes", json!({"InstanceId": inst, "TopicName": "orders"})).await;
    assert_eq!(r["Result"]["Note"], "n2");
    assert_eq!(r["Result"]["PartitionNum"], 3);
    assert_eq!(r["Result"]["Config"]["Retention"], 60000);
    c.ok("CreatePartition", json!({"InstanceId": inst, "TopicName": "orders", "PartitionNum": 5})).await;
    let r = c.ok("DescribeTopicDetail", json!({"InstanceId": inst})).await;
    let t = r["Result"]["TopicList"].as_array().unwrap().iter().find(|t| t["TopicName"] == "orders").unwrap().clone();
    assert_eq!(t["PartitionNum"], 5);
    c.err(
        "CreatePartition",
        json!({"InstanceId": inst, "TopicName": "orders", "PartitionNum": 2}),
        "InvalidParameterValue",
    )
    .await;
    c.err("DescribeTopicAttributes", json!({"InstanceId": inst, "TopicName": "nope"}), "ResourceNotFound").await;
    c.ok("DeleteTopic", json!({"InstanceId": inst, "TopicName": "orders"})).await;
    c.err("DeleteTopic", json!({"InstanceId": inst, "TopicName": "orders"}), "ResourceNotFound").await;
}

#[tokio::test]
async fn groups_and_offsets() {
    let srv = common::start().await;
    let c = Call::new(&srv);
    let inst = instance();
    c.ok("CreateTopic", json!({"InstanceId": inst, "TopicName": "t1", "PartitionNum": 2, "ReplicaNum": 1})).await;
    c.ok("CreateConsumer", json!({"InstanceId": inst, "GroupName": "g1", "TopicName": "t1"})).await;
    c.err("CreateConsumer", json!({"InstanceId": inst, "GroupName": "g1"}), "InvalidParameterValue.RepetitionValue")
        .await;
    c.err("CreateConsumer", json!({"InstanceId": inst, "GroupName": "g2", "TopicName": "nope"}), "ResourceNotFound")
        .await;
    let r = c.ok("DescribeGroup", json!({"InstanceId": inst})).await;
    assert_eq!(r["Result"]["GroupList"], json!([{"Group": "g1", "Protocol": "consumer"}]));
    let r = c.ok("DescribeGroupInfo", json!({"InstanceId": inst, "GroupList": ["g1", "ghost"]})).await;
    assert_eq!(r["Result"][0]["State"], "Empty");
    assert_eq!(r["Result"][1]["State"], "Dead");
    let r = c.ok("DescribeTopicSubscribeGroup", json!({"InstanceId": inst, "TopicName": "t1"})).await;
    assert_eq!(r["Result"]["TotalCount"], 1);
    assert_eq!(r["Result"]["GroupsInfo"][0]["Group"], "g1");

    localyun::engine::kafka::with_model(&srv.state.store.kafka, |m| {
        m.advance_offsets(localyun::engine::kafka::Scope::ANY, &inst, "t1", 0, 10).unwrap();
    });
    c.ok(
        "ModifyGroupOffsets",
        json!({"InstanceId": inst, "Group": "g1", "Strategy": 2, "Topics": ["t1"], "Offset": 7}),
    )
    .await;
    let r = c.ok("DescribeConsumerGroup", json!({"InstanceId": inst, "GroupName": "g1"})).await;
    let info = &r["Result"]["GroupList"][0]["SubscribedInfo"][0];
    assert_eq!(info["TopicName"], "t1");
    assert_eq!(info["PartitionOffset"][0], json!({"Partition": "0", "Offset": "7"}));
    assert_eq!(info["PartitionOffset"][1], json!({"Partition": "1", "Offset": "0"}), "clamped to the empty log");
    c.ok(
        "ModifyGroupOffsets",
        json!({"InstanceId": inst, "Group": "g1", "Strategy": 0, "Shift": -3, "Partitions": [0]}),
    )
    .await;
    let r = c.ok("DescribeConsumerGroup", json!({"InstanceId": inst, "GroupName": "g1", "TopicName": "t1"})).await;
    assert_eq!(r["Result"]["GroupList"][0]["SubscribedInfo"][0]["PartitionOffset"][0]["Offset"], "4");
    c.err("ModifyGroupOffsets", json!({"InstanceId": inst, "Group": "g1", "Strategy": 2}), "MissingParameter").await;
    c.err("ModifyGroupOffsets", json!({"InstanceId": inst, "Group": "zz", "Strategy": 3}), "ResourceNotFound").await;
    c.ok("DeleteGroup", json!({"InstanceId": inst, "Group": "g1"})).await;
    c.err("DeleteGroup", json!({"InstanceId": inst, "Group": "g1"}), "ResourceNotFound").await;
}

#[tokio::test]
async fn users_and_acls_are_the_engines() {
    let srv = common::start().await;
    let c = Call::new(&srv);
    let inst = instance();
    c.ok("CreateUser", json!({"InstanceId": inst, "Name": "alice", "Password": "secret-1"})).await;
    c.err(
        "CreateUser",
        json!({"InstanceId": inst, "Name": "alice", "Password": "secret-1"}),
        "InvalidParameterValue.RepetitionValue",
    )
    .await;
    c.err("CreateUser", json!({"InstanceId": inst, "Name": "bob", "Password": "x"}), "InvalidParameterValue").await;
    c.err("CreateUser", json!({"InstanceId": inst, "Name": "bob"}), "MissingParameter").await;
    let r = c.ok("DescribeUser", json!({"InstanceId": inst})).await;
    assert_eq!(r["Result"]["TotalCount"], 1);
    assert_eq!(r["Result"]["Users"][0]["Name"], "alice");
    assert!(!r.to_string().contains("secret-1"), "passwords are never answered");
    let verify =
        |pw: &str| localyun::engine::kafka::with_model(&srv.state.store.kafka, |m| m.verify_sasl(&inst, "alice", pw));
    assert!(verify("secret-1"), "the Kafka data plane's SASL sees the user");
    c.err(
        "ModifyPassword",
        json!({"InstanceId": inst, "Name": "alice", "Password": "wrong-1", "PasswordNew": "secret-2"}),
        "InvalidParameterValue",
    )
    .await;
    c.ok(
        "ModifyPassword",
        json!({"InstanceId": inst, "Name": "alice", "Password": "secret-1", "PasswordNew": "secret-2"}),
    )
    .await;
    assert!(verify("secret-2") && !verify("secret-1"));

    c.ok(
        "CreateAcl",
        json!({"InstanceId": inst, "ResourceType": 2, "ResourceName": "t1", "Operation": 4, "PermissionType": 3, "Principal": "User:alice"}),
    )
    .await;
    c.err(
        "CreateAcl",
        json!({"InstanceId": inst, "ResourceType": 9, "ResourceName": "t1", "Operation": 4, "PermissionType": 3}),
        "InvalidParameterValue",
    )
    .await;
    let r = c.ok("DescribeACL", json!({"InstanceId": inst, "ResourceType": 2, "ResourceName": "t1"})).await;
    assert_eq!(
        r["Result"]["AclList"],
        json!([{"ResourceType": 2, "ResourceName": "t1", "Principal": "User:alice", "Host": "*", "Operation": 4, "PermissionType": 3}])
    );
    let allowed = |user: &str| {
        localyun::engine::kafka::with_model(&srv.state.store.kafka, |m| {
            use localyun::engine::kafka::security::{AclOperation, AclResourceType};
            m.acl_allows(&inst, user, "127.0.0.1", AclResourceType::Topic, "t1", AclOperation::Write)
        })
    };
    assert!(allowed("alice") && !allowed("mallory"));
    c.ok("DeleteAcl", json!({"InstanceId": inst, "ResourceType": 2, "ResourceName": "t1"})).await;
    c.err("DeleteAcl", json!({"InstanceId": inst, "ResourceType": 2, "ResourceName": "t1"}), "ResourceNotFound").await;
    c.ok("DeleteUser", json!({"InstanceId": inst, "Name": "alice"})).await;
    c.err("DeleteUser", json!({"InstanceId": inst, "Name": "alice"}), "ResourceNotFound").await;
    assert!(!verify("secret-2"));
}

#[tokio::test]
async fn documented_auth_and_request_errors() {
    let srv = common::start().await;
    let mut c = Call::new(&srv);
    c.ok("DescribeTopic", json!({"InstanceId": instance()})).await;
    c.tamper = true;
    c.err("DescribeTopic", json!({"InstanceId": instance()}), "AuthFailure.SignatureFailure").await;
    c.tamper = false;
    c.secret = "not-the-secret";
    c.err("DescribeTopic", json!({"InstanceId": instance()}), "AuthFailure.SignatureFailure").await;
    c.secret = SECRET;
    c.id = "AKIDunknown";
    c.err("DescribeTopic", json!({"InstanceId": instance()}), "AuthFailure.SecretIdNotFound").await;
    c.id = KEY_ID;
    c.timestamp = unix_now() - 3600;
    c.err("DescribeTopic", json!({"InstanceId": instance()}), "AuthFailure.SignatureExpire").await;
    c.timestamp = unix_now();
    c.service = "cvm";
    c.err("DescribeTopic", json!({"InstanceId": instance()}), "AuthFailure.SignatureFailure").await;
    c.service = "ckafka";
    c.err("DescribeNothing", json!({}), "InvalidAction").await;
    c.version = "2017-03-12";
    c.err("DescribeTopic", json!({"InstanceId": instance()}), "NoSuchVersion").await;
    c.version = "2019-08-19";
    c.err("DescribeTopic", json!({"InstanceId": "ckafka-zzzzzzzz"}), "InvalidParameterValue.InstanceNotExist").await;
    let _ = fresh_nonce();

    // No Authorization header at all, and a body that is not JSON.
    let resp = srv
        .client
        .post(format!("{}/", srv.base))
        .header("x-tc-action", "DescribeTopic")
        .header("x-tc-version", "2019-08-19")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["Response"]["Error"]["Code"], "AuthFailure.SignatureFailure");
}

/// Another account's instance is not found, and Alibaba's RPC at `/` still answers (the claim is the header).
#[tokio::test]
async fn scoping_and_routing() {
    let srv = common::start().await;
    let c = Call::new(&srv);
    let other = localyun::tencent::ckafka::default_instance_id("999", REGION);
    c.err("DescribeTopic", json!({"InstanceId": other}), "InvalidParameterValue.InstanceNotExist").await;
    let resp = srv.client.get(format!("{}/?Action=GetInstanceList&Format=JSON", srv.base)).send().await.unwrap();
    let v: Value = resp.json().await.unwrap();
    assert!(v.get("Response").is_none(), "Alibaba RPC answers in its own envelope: {v}");
}
