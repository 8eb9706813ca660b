//! Tencent CKafka API v2 against the real server: every action's success path and documented error codes,
//! GET and POST, HmacSHA1 and HmacSHA256, signed by an independent signer written here.

use crate::common;

use base64::Engine;
use common::{fresh_nonce, unix_now, TestServer, ACCOUNT, KEY_ID, SECRET};
use hmac::{Hmac, Mac};
use localyun::config::AuthMode;
use localyun::engine::kafka::{InstanceUpdate, OffsetCommit, Scope};
use localyun::engine::Cloud;
use localyun::Config;
use serde_json::Value;

const REGION: &str = "ap-guangzhou";

/// The independent signer: the seed's algorithm, written from the document.
fn signature(secret: &str, method: &str, host: &str, params: &[(String, String)], sig_method: &str) -> String {
    let mut keyed: Vec<(String, &str)> =
        params.iter().filter(|(k, _)| k != "Signature").map(|(k, v)| (k.replace('_', "."), v.as_str())).collect();
    keyed.sort();
    let query: Vec<String> = keyed.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sts = format!("{method}{host}/v2/index.php?{}", query.join("&"));
    let raw = if sig_method == "HmacSHA256" {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        m.update(sts.as_bytes());
        m.finalize().into_bytes().to_vec()
    } else {
        let mut m = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
        m.update(sts.as_bytes());
        m.finalize().into_bytes().to_vec()
    };
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// A v2 client: which method, signature method and key to use.
struct Client<'a> {
    srv: &'a TestServer,
    method: &'static str,
    sig_method: &'static str,
    key_id: String,
    secret: String,
}

impl<'a> Client<'a> {
    fn new(srv: &'a TestServer) -> Self {
        Client { srv, method: "GET", sig_method: "HmacSHA256", key_id: KEY_ID.into(), secret: SECRET.into() }
    }
    fn post(mut self) -> Self {
        self.method = "POST";
        self
    }
    fn sha1(mut self) -> Self {
        self.sig_method = "HmacSHA1";
        self
    }
    fn key(mut self, id: &str, secret: &str) -> Self {
        self.key_id = id.into();
        self.secret = secret.into();
        self
    }

    /// The common parameters the SDK adds, then the action's own.
    fn params(&self, action: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = vec![
            ("Action".into(), action.into()),
            ("Region".into(), REGION.into()),
            ("SecretId".into(), self.key_id.clone()),
            ("Nonce".into(), fresh_nonce().to_string()),
            ("Timestamp".into(), unix_now().to_string()),
            ("SignatureMethod".into(), self.sig_method.into()),
            ("RequestClient".into(), "SDK_PYTHON_2.0.15".into()),
        ];
        for (k, v) in extra {
            if let Some(slot) = p.iter_mut().find(|(pk, _)| pk == k) {
                slot.1 = v.to_string();
            } else {
                p.push((k.to_string(), v.to_string()));
            }
        }
        p
    }

    fn sign(&self, mut params: Vec<(String, String)>) -> Vec<(String, String)> {
        let sig = signature(&self.secret, self.method, &self.srv.host, &params, self.sig_method);
        params.push(("Signature".into(), sig));
        params
    }

    async fn send(&self, params: &[(String, String)]) -> Value {
        let url = format!("{}/v2/index.php", self.srv.base);
        let req = if self.method == "GET" {
            self.srv.client.get(url).query(params)
        } else {
            self.srv.client.post(url).form(params)
        };
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "v2 answers every request with HTTP 200");
        resp.json().await.unwrap()
    }

    async fn call(&self, action: &str, extra: &[(&str, &str)]) -> Value {
        let params = self.sign(self.params(action, extra));
        self.send(&params).await
    }
}

fn assert_ok(v: &Value) {
    assert_eq!(v["code"], 0, "expected success, got {v}");
    assert_eq!(v["codeDesc"], "Success");
}

/// The documented error envelope, exactly: `{"code","message","codeDesc"}` and nothing else, the codeDesc
/// that goes with the code, and for resource errors the module code in front of the message.
fn assert_err(v: &Value, code: i64) {
    assert_eq!(v["code"], code, "expected code {code}, got {v}");
    let keys: Vec<&String> = v.as_object().expect("a JSON object").keys().collect();
    assert_eq!(keys.len(), 3, "an error carries code, message and codeDesc only: {v}");
    let message = v["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "error message missing: {v}");
    let desc = v["codeDesc"].as_str().unwrap_or_default();
    let expected: &[&str] = match code {
        4000 => &["MissingParameter", "InvalidParameter"],
        4100 => &["AuthFailure"],
        4104 => &["SecretIdNotFound"],
        4500 => &["RequestReplay"],
        5000 => &["ResourceNotFound"],
        5100 => &["OperationFailed"],
        6100 => &["InvalidAction"],
        other => panic!("code {other} is not one the facade documents"),
    };
    assert!(expected.contains(&desc), "codeDesc {desc:?} does not go with code {code}: {v}");
    if code == 5000 || code == 5100 {
        assert!(message.starts_with("(1000"), "a resource error starts with its module code: {v}");
    }
}

fn assert_message_mentions(v: &Value, needle: &str) {
    let m = v["message"].as_str().unwrap_or_default();
    assert!(m.contains(needle), "message {m:?} should mention {needle:?}");
}

fn default_instance(srv: &TestServer) -> String {
    let model = srv.state.store.kafka.read();
    let id = model.instances_of(Scope::owner(Cloud::Tencent, ACCOUNT).in_region(Some(REGION)))[0].id();
    id
}

async fn create_topic(c: &Client<'_>, inst: &str, name: &str, partitions: &str) -> Value {
    c.call(
        "CreateTopic",
        &[("instanceId", inst), ("topicName", name), ("partitionNum", partitions), ("replicaNum", "2")],
    )
    .await
}

/// Changes an instance's quotas or size directly in the model (no CKafka action does).
fn set_limits(srv: &TestServer, inst: &str, update: InstanceUpdate) {
    srv.state.store.kafka.read().update_instance(Scope::ANY, inst, update).unwrap();
}

fn topic_count(srv: &TestServer, inst: &str) -> usize {
    srv.state.store.kafka.read().read_instance(Scope::ANY, inst, |i| i.topics().len()).unwrap()
}

// ---------------------------------------------------------------- authentication and common parameters

#[tokio::test]
async fn get_and_post_with_sha1_and_sha256_are_accepted() {
    let srv = common::start().await;
    for c in [Client::new(&srv), Client::new(&srv).sha1(), Client::new(&srv).post(), Client::new(&srv).post().sha1()] {
        let v = c.call("ListInstance", &[]).await;
        assert_ok(&v);
        assert_eq!(v["message"], "ok");
    }
}

#[tokio::test]
async fn a_wrong_secret_is_4100_and_changes_nothing() {
    let srv = common::start().await;
    let inst = default_instance(&srv);
    let c = Client::new(&srv).key(KEY_ID, "not-the-secret");
    let v = create_topic(&c, &inst, "forged", "1").await;
    assert_err(&v, 4100);
    assert_eq!(v["codeDesc"], "AuthFailure");
    assert_eq!(topic_count(&srv, &inst), 0, "a rejected request must not change the store");
    // The request log explains the failure with the server's string to sign, and never the secret.
    let logged = srv.state.requests.last(1);
    let sts = logged[0].string_to_sign.as_deref().unwrap();
    assert!(sts.starts_with(&format!("GET{}/v2/index.php?Action=CreateTopic&", srv.host)), "{sts}");
    assert!(!sts.contains(SECRET));
}

#[tokio::test]
async fn a_tampered_parameter_is_4100() {
    let srv = common::start().await;
    let c = Client::new(&srv).post();
    let mut params = c.sign(c.params("ListTopic", &[("instanceId", "ckafka-x")]));
    params.iter_mut().find(|(k, _)| k == "instanceId").unwrap().1 = "ckafka-y".into();
    assert_err(&c.send(&params).await, 4100);
}

#[tokio::test]
async fn the_signature_covers_the_host_header_the_client_used() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let params = c.sign(c.params("ListInstance", &[]));
    // Same bytes, another Host: the string to sign differs, so the signature does not match.
    let resp = srv
        .client
        .get(format!("{}/v2/index.php", srv.base))
        .query(&params)
        .header("host", "localhost:1")
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_err(&v, 4100);
}

#[tokio::test]
async fn an_unknown_secret_id_is_4104() {
    let srv = common::start().await;
    let v = Client::new(&srv).key("AKIDNOBODY", "x").call("ListInstance", &[]).await;
    assert_err(&v, 4104);
}

#[tokio::test]
async fn a_reused_nonce_is_4500() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let params = c.sign(c.params("ListInstance", &[]));
    assert_ok(&c.send(&params).await);
    let v = c.send(&params).await;
    assert_err(&v, 4500);
    assert_message_mentions(&v, "Nonce");
}

#[tokio::test]
async fn a_stale_timestamp_is_4500() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let old = (unix_now() - 3600).to_string();
    let v = c.call("ListInstance", &[("Timestamp", &old)]).await;
    assert_err(&v, 4500);
    assert_message_mentions(&v, "Timestamp");
}

#[tokio::test]
async fn missing_common_parameters_are_4000_naming_the_parameter() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    for missing in ["Action", "SecretId", "Signature", "Nonce", "Timestamp", "Region"] {
        let mut params = c.params("ListInstance", &[]);
        params.retain(|(k, _)| k != missing);
        let params = if missing == "Signature" { params } else { c.sign(params) };
        let v = c.send(&params).await;
        assert_err(&v, 4000);
        assert_message_mentions(&v, missing);
    }
}

#[tokio::test]
async fn malformed_common_parameters_are_4000() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    for (k, v) in [("Nonce", "abc"), ("Nonce", "0"), ("Timestamp", "yesterday"), ("Region", "mars-north-1")] {
        let r = c.call("ListInstance", &[(k, v)]).await;
        assert_err(&r, 4000);
        assert_message_mentions(&r, k);
    }
}

#[tokio::test]
async fn an_unknown_action_is_6100() {
    let srv = common::start().await;
    let v = Client::new(&srv).call("CreateInstance", &[]).await;
    assert_err(&v, 6100);
    assert_message_mentions(&v, "CreateInstance");
}

#[tokio::test]
async fn post_reads_the_body_only_never_the_query() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let params = c.sign(c.params("ListInstance", &[]));
    // Everything in the query string of a POST with an empty form body: the query is ignored.
    let resp = srv
        .client
        .post(format!("{}/v2/index.php", srv.base))
        .query(&params)
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_err(&v, 4000);
    assert_message_mentions(&v, "Action");
}

#[tokio::test]
async fn garbage_bodies_get_documented_errors() {
    let srv = common::start().await;
    for body in [&b"\xff\xfe\x00garbage"[..], b"{\"json\":true}", b"&&&===", b""] {
        let resp = srv
            .client
            .post(format!("{}/v2/index.php", srv.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.unwrap();
        assert_err(&v, 4000);
    }
    let v: Value = srv.client.delete(format!("{}/v2/index.php", srv.base)).send().await.unwrap().json().await.unwrap();
    assert_err(&v, 4000);
}

#[tokio::test]
async fn lenient_mode_accepts_any_key_but_still_requires_parameters() {
    let srv = common::start_with(Config { auth: AuthMode::Lenient, ..Config::default() }).await;
    let c = Client::new(&srv).key("AKIDRANDOM123", "whatever");
    assert_ok(&c.call("ListInstance", &[]).await);
    let mut params = c.params("ListTopic", &[]);
    params.push(("Signature".into(), "garbage".into()));
    let v = c.send(&params).await;
    assert_err(&v, 4000);
    assert_message_mentions(&v, "instanceId");
}

#[tokio::test]
async fn extra_credentials_map_to_their_accounts_which_are_isolated() {
    let srv = common::start_with(Config {
        credentials: Some("AKIDOTHER:other-secret@200000000002,AKIDSECOND:second-secret".into()),
        ..Config::default()
    })
    .await;
    let mine = default_instance(&srv);
    let other = Client::new(&srv).key("AKIDOTHER", "other-secret");
    let v = other.call("GetInstanceAttributes", &[("instanceId", &mine)]).await;
    assert_err(&v, 5000);
    let listed = other.call("ListInstance", &[]).await;
    assert_eq!(listed["totalCount"], 1);
    assert_ne!(listed["instanceList"][0]["instanceId"], mine.as_str());
    // A key without an account belongs to the default account.
    let second = Client::new(&srv).key("AKIDSECOND", "second-secret");
    assert_ok(&second.call("GetInstanceAttributes", &[("instanceId", &mine)]).await);
}

// ---------------------------------------------------------------- instances

#[tokio::test]
async fn list_instance_returns_the_default_instance_and_filters() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    let v = c.call("ListInstance", &[]).await;
    assert_ok(&v);
    assert_eq!(v["totalCount"], 1);
    assert_eq!(v["instanceList"][0]["instanceId"], inst.as_str());
    assert_eq!(v["instanceList"][0]["status"], 1);
    assert!(v["instanceList"][0]["instanceName"].is_string());
    assert_eq!(c.call("ListInstance", &[("instanceId", "ckafka-none")]).await["totalCount"], 0);
    assert_eq!(c.call("ListInstance", &[("searchWord", "default")]).await["totalCount"], 1);
    assert_eq!(c.call("ListInstance", &[("searchWord", "zzz")]).await["totalCount"], 0);
    assert_eq!(c.call("ListInstance", &[("status.0", "0"), ("status.1", "2")]).await["totalCount"], 0);
    assert_eq!(c.call("ListInstance", &[("status.0", "1")]).await["totalCount"], 1);
    let page = c.call("ListInstance", &[("offset", "1")]).await;
    assert_eq!(page["totalCount"], 1);
    assert_eq!(page["instanceList"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn list_instance_validates_paging_and_status() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    for (k, v) in [("limit", "21"), ("limit", "0"), ("offset", "-1"), ("status.0", "7"), ("limit", "ten")] {
        let r = c.call("ListInstance", &[(k, v)]).await;
        assert_err(&r, 4000);
    }
}

#[tokio::test]
async fn default_instances_are_per_region_and_stable() {
    let a = common::start().await;
    let b = common::start().await;
    assert_eq!(default_instance(&a), default_instance(&b), "ids are stable across restarts");
    let c = Client::new(&a);
    let v = c.call("ListInstance", &[("Region", "ap-beijing")]).await;
    assert_eq!(v["totalCount"], 1);
    assert_ne!(v["instanceList"][0]["instanceId"], default_instance(&a).as_str());
    // An instance of another region is not found in this one.
    let r = c.call("GetInstanceAttributes", &[("Region", "ap-beijing"), ("instanceId", &default_instance(&a))]).await;
    assert_err(&r, 5000);
}

#[tokio::test]
async fn get_instance_attributes_has_every_documented_field() {
    let srv = common::start().await;
    let inst = default_instance(&srv);
    let v = Client::new(&srv).call("GetInstanceAttributes", &[("instanceId", &inst)]).await;
    assert_ok(&v);
    assert_eq!(v["instanceId"], inst.as_str());
    for field in [
        "instanceName",
        "vip",
        "vport",
        "status",
        "bandwidth",
        "diskSize",
        "vpcId",
        "subnetId",
        "zoneId",
        "maxRetentionTime",
        "createTime",
    ] {
        assert!(!v[field].is_null(), "field {field} missing in {v}");
    }
    assert_eq!(v["status"], 1);
}

#[tokio::test]
async fn get_instance_attributes_errors() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let v = c.call("GetInstanceAttributes", &[]).await;
    assert_err(&v, 4000);
    assert_message_mentions(&v, "instanceId");
    let v = c.call("GetInstanceAttributes", &[("instanceId", "ckafka-nothere")]).await;
    assert_err(&v, 5000);
    assert_message_mentions(&v, "(100001)");
}

#[tokio::test]
async fn set_instance_attributes_renames_and_sets_retention() {
    let srv = common::start().await;
    let c = Client::new(&srv).post();
    let inst = default_instance(&srv);
    let v = c
        .call("SetInstanceAttributes", &[("instanceId", &inst), ("instanceName", "orders"), ("msgRetentionTime", "60")])
        .await;
    assert_ok(&v);
    let a = c.call("GetInstanceAttributes", &[("instanceId", &inst)]).await;
    assert_eq!(a["instanceName"], "orders");
    assert_eq!(a["maxRetentionTime"], 60);
    assert_eq!(c.call("ListInstance", &[("searchWord", "ord")]).await["totalCount"], 1);
}

#[tokio::test]
async fn set_instance_attributes_validates() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    let long = "x".repeat(65);
    for (k, v) in [("instanceName", long.as_str()), ("msgRetentionTime", "0"), ("msgRetentionTime", "43201")] {
        let r = c.call("SetInstanceAttributes", &[("instanceId", &inst), (k, v)]).await;
        assert_err(&r, 4000);
        assert_message_mentions(&r, k);
    }
    assert_err(&c.call("SetInstanceAttributes", &[("instanceId", "ckafka-zz")]).await, 5000);
    let a = c.call("GetInstanceAttributes", &[("instanceId", &inst)]).await;
    assert_eq!(a["instanceName"], "localyun-default", "failed calls change nothing");
}

// ---------------------------------------------------------------- topics

#[tokio::test]
async fn topic_lifecycle() {
    let srv = common::start().await;
    let c = Client::new(&srv).sha1();
    let inst = default_instance(&srv);
    let created = c
        .call(
            "CreateTopic",
            &[
                ("instanceId", &inst),
                ("topicName", "orders"),
                ("partitionNum", "3"),
                ("replicaNum", "2"),
                ("note", "order-events"),
                ("enableWhiteList", "1"),
                ("ipWhiteList.0", "10.0.0.1"),
                ("ipWhiteList.1", "10.0.0.2"),
            ],
        )
        .await;
    assert_ok(&created);
    let topic_id = created["topicId"].as_str().unwrap().to_string();
    assert!(topic_id.starts_with("topic-") && topic_id.len() == 14, "{topic_id}");

    let listed = c.call("ListTopic", &[("instanceId", &inst)]).await;
    assert_ok(&listed);
    assert_eq!(listed["totalCount"], 1);
    assert_eq!(listed["topicList"][0]["topicId"], topic_id.as_str());
    assert_eq!(listed["topicList"][0]["topicName"], "orders");
    assert_eq!(listed["topicList"][0]["note"], "order-events");

    let attrs = c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "orders")]).await;
    assert_ok(&attrs);
    assert_eq!(attrs["topicId"], topic_id.as_str());
    assert_eq!(attrs["partitionNum"], 3);
    assert_eq!(attrs["enableWhiteList"], 1);
    assert_eq!(attrs["ipWhiteList"], serde_json::json!(["10.0.0.1", "10.0.0.2"]));
    assert!(attrs["createTime"].as_i64().unwrap() > 1_600_000_000);
    let parts = attrs["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[2]["partition"], 2);
    assert_eq!(parts[0]["replicaNum"], 2);
    assert_eq!(parts[0]["isrNum"], 2);
    assert!(parts[0]["leaderStatus"].is_number());

    assert_ok(
        &c.call(
            "SetTopicAttributes",
            &[
                ("instanceId", &inst),
                ("topicName", "orders"),
                ("note", "renamed"),
                ("enableWhiteList", "0"),
                ("minInsyncReplicas", "2"),
                ("uncleanLeaderElectionEnable", "1"),
                ("retentionMs", "60000"),
                ("segmentMs", "86400000"),
            ],
        )
        .await,
    );
    let attrs = c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "orders")]).await;
    assert_eq!(attrs["note"], "renamed");
    assert_eq!(attrs["enableWhiteList"], 0);
    assert_eq!(attrs["config"]["retentionMs"], 60000);
    assert_eq!(attrs["config"]["segmentMs"], 86400000);
    assert_eq!(attrs["config"]["minInsyncReplicas"], 2);
    assert_eq!(attrs["config"]["uncleanLeaderElectionEnable"], 1);

    assert_ok(&c.call("AddPartition", &[("instanceId", &inst), ("topicName", "orders"), ("partitionNum", "5")]).await);
    let attrs = c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "orders")]).await;
    assert_eq!(attrs["partitionNum"], 5);
    assert!(attrs["partitions"].as_array().unwrap().iter().all(|p| p["replicaNum"] == 2), "same replicas everywhere");

    assert_ok(&c.call("DeleteTopic", &[("instanceId", &inst), ("topicName", "orders")]).await);
    assert_eq!(c.call("ListTopic", &[("instanceId", &inst)]).await["totalCount"], 0);
    assert_err(&c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "orders")]).await, 5000);
}

#[tokio::test]
async fn create_topic_validation_is_4000_and_changes_nothing() {
    let srv = common::start().await;
    let c = Client::new(&srv).post();
    let inst = default_instance(&srv);
    let long = format!("a{}", "b".repeat(64));
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("topicName", "t"), ("partitionNum", "1"), ("replicaNum", "1")], "instanceId"),
        (vec![("instanceId", &inst), ("partitionNum", "1"), ("replicaNum", "1")], "topicName"),
        (vec![("instanceId", &inst), ("topicName", "t"), ("replicaNum", "1")], "partitionNum"),
        (vec![("instanceId", &inst), ("topicName", "t"), ("partitionNum", "1")], "replicaNum"),
        (vec![("instanceId", &inst), ("topicName", "1abc"), ("partitionNum", "1"), ("replicaNum", "1")], "topicName"),
        (vec![("instanceId", &inst), ("topicName", "a_b"), ("partitionNum", "1"), ("replicaNum", "1")], "topicName"),
        (vec![("instanceId", &inst), ("topicName", &long), ("partitionNum", "1"), ("replicaNum", "1")], "topicName"),
        (vec![("instanceId", &inst), ("topicName", "t"), ("partitionNum", "0"), ("replicaNum", "1")], "partitionNum"),
        (vec![("instanceId", &inst), ("topicName", "t"), ("partitionNum", "-3"), ("replicaNum", "1")], "partitionNum"),
        (vec![("instanceId", &inst), ("topicName", "t"), ("partitionNum", "x"), ("replicaNum", "1")], "partitionNum"),
        (
            vec![
                ("instanceId", &inst),
                ("topicName", "t"),
                ("partitionNum", "99999999999999999999"),
                ("replicaNum", "1"),
            ],
            "partitionNum",
        ),
        (vec![("instanceId", &inst), ("topicName", "t"), ("partitionNum", "1"), ("replicaNum", "4")], "replicaNum"),
        (vec![("instanceId", &inst), ("topicName", "t"), ("partitionNum", "1"), ("replicaNum", "0")], "replicaNum"),
        (
            vec![
                ("instanceId", &inst),
                ("topicName", "t"),
                ("partitionNum", "1"),
                ("replicaNum", "1"),
                ("note", "9bad"),
            ],
            "note",
        ),
        (
            vec![
                ("instanceId", &inst),
                ("topicName", "t"),
                ("partitionNum", "1"),
                ("replicaNum", "1"),
                ("enableWhiteList", "1"),
            ],
            "ipWhiteList",
        ),
        (
            vec![
                ("instanceId", &inst),
                ("topicName", "t"),
                ("partitionNum", "1"),
                ("replicaNum", "1"),
                ("enableWhiteList", "2"),
            ],
            "enableWhiteList",
        ),
        (
            vec![
                ("instanceId", &inst),
                ("topicName", "t"),
                ("partitionNum", "1"),
                ("replicaNum", "1"),
                ("enableWhiteList", "1"),
                ("ipWhiteList.0", "300.1.1.1"),
            ],
            "ipWhiteList",
        ),
    ];
    for (params, param) in cases {
        let v = c.call("CreateTopic", &params).await;
        assert_err(&v, 4000);
        assert_message_mentions(&v, param);
    }
    assert_eq!(topic_count(&srv, &inst), 0);
}

#[tokio::test]
async fn replicas_cannot_exceed_the_brokers() {
    let srv = common::start().await;
    let inst = default_instance(&srv);
    set_limits(&srv, &inst, InstanceUpdate { brokers: Some(2), ..InstanceUpdate::default() });
    let c = Client::new(&srv);
    let v = c
        .call("CreateTopic", &[("instanceId", &inst), ("topicName", "t"), ("partitionNum", "1"), ("replicaNum", "3")])
        .await;
    assert_err(&v, 4000);
    assert_message_mentions(&v, "replicaNum");
}

#[tokio::test]
async fn create_topic_duplicate_is_5100_and_unknown_instance_5000() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    assert_ok(&create_topic(&c, &inst, "dup", "1").await);
    let v = create_topic(&c, &inst, "dup", "2").await;
    assert_err(&v, 5100);
    assert_message_mentions(&v, "(100003)");
    assert_eq!(srv.state.store.kafka.read().topic_partition_count(Scope::ANY, &inst, "dup").unwrap(), 1);
    let v = create_topic(&c, "ckafka-missing1", "t", "1").await;
    assert_err(&v, 5000);
    assert_message_mentions(&v, "(100001)");
}

#[tokio::test]
async fn topic_quota_is_5100() {
    let srv = common::start().await;
    let inst = default_instance(&srv);
    set_limits(&srv, &inst, InstanceUpdate { max_topics: Some(1), ..InstanceUpdate::default() });
    let c = Client::new(&srv);
    assert_ok(&create_topic(&c, &inst, "one", "1").await);
    let v = create_topic(&c, &inst, "two", "1").await;
    assert_err(&v, 5100);
    assert_message_mentions(&v, "(100005)");
}

#[tokio::test]
async fn set_topic_attributes_validates_and_reports_unknowns() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    assert_ok(&create_topic(&c, &inst, "t", "1").await);
    for (k, v) in [
        ("retentionMs", "59999"),
        ("segmentMs", "86399999"),
        ("enableWhiteList", "3"),
        ("uncleanLeaderElectionEnable", "2"),
        ("minInsyncReplicas", "0"),
        ("minInsyncReplicas", "3"), // more than the topic's two replicas
        ("note", "-x"),
    ] {
        let r = c.call("SetTopicAttributes", &[("instanceId", &inst), ("topicName", "t"), (k, v)]).await;
        assert_err(&r, 4000);
        assert_message_mentions(&r, k);
    }
    assert_err(&c.call("SetTopicAttributes", &[("instanceId", &inst)]).await, 4000);
    let v = c.call("SetTopicAttributes", &[("instanceId", &inst), ("topicName", "nope")]).await;
    assert_err(&v, 5000);
    assert_message_mentions(&v, "(100002)");
    assert_err(&c.call("SetTopicAttributes", &[("instanceId", "ckafka-none"), ("topicName", "t")]).await, 5000);
}

#[tokio::test]
async fn delete_topic_errors() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    assert_err(&c.call("DeleteTopic", &[("instanceId", &inst)]).await, 4000);
    assert_err(&c.call("DeleteTopic", &[("instanceId", &inst), ("topicName", "ghost")]).await, 5000);
    assert_err(&c.call("DeleteTopic", &[("instanceId", "ckafka-ghost"), ("topicName", "ghost")]).await, 5000);
}

#[tokio::test]
async fn add_partition_only_grows() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    assert_ok(&create_topic(&c, &inst, "t", "4").await);
    for n in ["4", "2", "0", "abc"] {
        let v = c.call("AddPartition", &[("instanceId", &inst), ("topicName", "t"), ("partitionNum", n)]).await;
        assert_err(&v, 4000);
        assert_message_mentions(&v, "partitionNum");
    }
    assert_err(&c.call("AddPartition", &[("instanceId", &inst), ("topicName", "t")]).await, 4000);
    assert_err(
        &c.call("AddPartition", &[("instanceId", &inst), ("topicName", "x"), ("partitionNum", "9")]).await,
        5000,
    );
    // A huge count is refused by the partition quota, not by allocating it.
    let v = c.call("AddPartition", &[("instanceId", &inst), ("topicName", "t"), ("partitionNum", "4000000000")]).await;
    assert_err(&v, 5100);
    assert_eq!(srv.state.store.kafka.read().topic_partition_count(Scope::ANY, &inst, "t").unwrap(), 4);
}

#[tokio::test]
async fn list_topic_pages_and_searches() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    for i in 0..25 {
        assert_ok(&create_topic(&c, &inst, &format!("topic-{i:02}"), "1").await);
    }
    assert_ok(&create_topic(&c, &inst, "other", "1").await);
    let first = c.call("ListTopic", &[("instanceId", &inst)]).await;
    assert_eq!(first["totalCount"], 26);
    assert_eq!(first["topicList"].as_array().unwrap().len(), 10, "default limit is 10");
    let page = c.call("ListTopic", &[("instanceId", &inst), ("offset", "20"), ("limit", "20")]).await;
    assert_eq!(page["topicList"].as_array().unwrap().len(), 6);
    let found = c.call("ListTopic", &[("instanceId", &inst), ("searchWord", "c-1"), ("limit", "5")]).await;
    assert_eq!(found["totalCount"], 10, "fuzzy match on the name");
    assert_eq!(found["topicList"].as_array().unwrap().len(), 5);
    assert_eq!(found["topicList"][0]["topicName"], "topic-10");
    let found = c.call("ListTopic", &[("instanceId", &inst), ("searchWord", "c-1"), ("offset", "8")]).await;
    assert_eq!(found["topicList"].as_array().unwrap().len(), 2);
    assert_err(&c.call("ListTopic", &[("instanceId", &inst), ("limit", "21")]).await, 4000);
    assert_err(&c.call("ListTopic", &[]).await, 4000);
    assert_err(&c.call("ListTopic", &[("instanceId", "ckafka-none")]).await, 5000);
}

#[tokio::test]
async fn get_topic_attributes_errors() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    // The seed marks topicName optional (issue 13 item 14): without it, an instance with no topic has
    // nothing to describe.
    let v = c.call("GetTopicAttributes", &[("instanceId", &inst)]).await;
    assert_err(&v, 5000);
    assert_message_mentions(&v, "no topic");
    let v = c.call("GetTopicAttributes", &[("topicName", "x")]).await;
    assert_err(&v, 4000);
    assert_message_mentions(&v, "instanceId");
    assert_err(&c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "x")]).await, 5000);
    assert_err(&c.call("GetTopicAttributes", &[("instanceId", "ckafka-nope"), ("topicName", "x")]).await, 5000);
}

/// Without topicName (the seed's own example request), GetTopicAttributes describes the instance's first
/// topic in creation order; with it, the named one.
#[tokio::test]
async fn get_topic_attributes_without_topic_name_describes_the_first_topic() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    assert_ok(&create_topic(&c, &inst, "second", "2").await);
    assert_ok(&create_topic(&c, &inst, "first", "5").await);
    let named = c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "second")]).await;
    assert_ok(&named);
    let unnamed = c.call("GetTopicAttributes", &[("instanceId", &inst)]).await;
    assert_ok(&unnamed);
    assert_eq!(unnamed["topicId"], named["topicId"]);
    assert_eq!(unnamed["partitionNum"], 2);
    let other = c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "first")]).await;
    assert_eq!(other["partitionNum"], 5);
}

/// Issue 13 item 11: the seed's rule "a key with an underscore becomes a dot" holds for the parameters as
/// well as the signature: `status_0` filters ListInstance, `ipWhiteList_0` fills CreateTopic's whitelist,
/// `ip_0` removes an address. Both spellings of one key in one request are refused as a repeat.
#[tokio::test]
async fn underscore_keys_are_the_dotted_parameters() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    for client in [Client::new(&srv), Client::new(&srv).post().sha1()] {
        let deleting = client.call("ListInstance", &[("status_0", "2")]).await;
        assert_ok(&deleting);
        assert_eq!(deleting["totalCount"], 0, "status_0=2 filters: no instance is being deleted: {deleting}");
        let running = client.call("ListInstance", &[("status_0", "2"), ("status_1", "1")]).await;
        assert_eq!(running["totalCount"], 1, "{running}");
        let bad = client.call("ListInstance", &[("status_0", "7")]).await;
        assert_err(&bad, 4000);
        assert_message_mentions(&bad, "status.n");
    }
    let created = c
        .call(
            "CreateTopic",
            &[
                ("instanceId", &inst),
                ("topicName", "guarded"),
                ("partitionNum", "1"),
                ("replicaNum", "1"),
                ("enableWhiteList", "1"),
                ("ipWhiteList_0", "10.8.0.1"),
                ("ipWhiteList_1", "10.8.0.2"),
            ],
        )
        .await;
    assert_ok(&created);
    let attrs = c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "guarded")]).await;
    assert_eq!(attrs["ipWhiteList"], serde_json::json!(["10.8.0.1", "10.8.0.2"]), "{attrs}");
    assert_eq!(attrs["enableWhiteList"], 1);
    let removed = c
        .call("DeleteTopicIpwhitelist", &[("instanceId", &inst), ("topicName", "guarded"), ("ip_0", "10.8.0.1")])
        .await;
    assert_ok(&removed);
    let attrs = c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "guarded")]).await;
    assert_eq!(attrs["ipWhiteList"], serde_json::json!(["10.8.0.2"]));
    let twice = c
        .call(
            "AddTopicIpwhitelist",
            &[
                ("instanceId", &inst),
                ("topicName", "guarded"),
                ("ipWhiteList_0", "1.1.1.1"),
                ("ipWhiteList.0", "2.2.2.2"),
            ],
        )
        .await;
    assert_err(&twice, 4000);
    assert_message_mentions(&twice, "ipWhiteList.0");
}

#[tokio::test]
async fn set_forward_adds_and_stops() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    assert_ok(&create_topic(&c, &inst, "t", "1").await);
    let bucket = "mybucket-125125125.cos.ap-guangzhou.myqcloud.com";
    assert_ok(
        &c.call(
            "SetForward",
            &[("instanceId", &inst), ("topicName", "t"), ("status", "0"), ("cosBucket", bucket), ("interval", "600")],
        )
        .await,
    );
    let attrs = c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "t")]).await;
    assert_eq!(attrs["forward"]["cosBucket"], bucket);
    assert_eq!(attrs["forward"]["interval"], 600);
    assert_eq!(attrs["forward"]["status"], 0);
    assert_ok(&c.call("SetForward", &[("instanceId", &inst), ("topicName", "t"), ("status", "1")]).await);
    let attrs = c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "t")]).await;
    assert_eq!(attrs["forward"]["status"], 1);
}

#[tokio::test]
async fn set_forward_validates() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    assert_ok(&create_topic(&c, &inst, "t", "1").await);
    let base = [("instanceId", inst.as_str()), ("topicName", "t")];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "status"),
        (vec![("status", "2")], "status"),
        (vec![("status", "0")], "cosBucket"),
        (vec![("status", "0"), ("cosBucket", "b"), ("interval", "299")], "interval"),
        (vec![("status", "0"), ("cosBucket", "b"), ("interval", "3601")], "interval"),
    ];
    for (extra, param) in cases {
        let mut params = base.to_vec();
        params.extend(extra);
        let v = c.call("SetForward", &params).await;
        assert_err(&v, 4000);
        assert_message_mentions(&v, param);
    }
    let v = c.call("SetForward", &[("instanceId", &inst), ("topicName", "nope"), ("status", "1")]).await;
    assert_err(&v, 5000);
}

// ---------------------------------------------------------------- whitelists

#[tokio::test]
async fn whitelist_add_and_delete() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    assert_ok(&create_topic(&c, &inst, "t", "1").await);
    assert_ok(
        &c.call(
            "AddTopicIpwhitelist",
            &[("instanceId", &inst), ("topicName", "t"), ("ipWhiteList.0", "1.1.1.1"), ("ipWhiteList.1", "2.2.2.2")],
        )
        .await,
    );
    // Adding an address already listed is not an error and does not duplicate it.
    assert_ok(
        &c.call("AddTopicIpwhitelist", &[("instanceId", &inst), ("topicName", "t"), ("ipWhiteList.0", "2.2.2.2")])
            .await,
    );
    let attrs = c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "t")]).await;
    assert_eq!(attrs["ipWhiteList"], serde_json::json!(["1.1.1.1", "2.2.2.2"]));
    // The seed writes the array `Ip.n` in its table and `ip.n` in its example.
    assert_ok(
        &c.call("DeleteTopicIpwhitelist", &[("instanceId", &inst), ("topicName", "t"), ("ip.0", "1.1.1.1")]).await,
    );
    assert_ok(
        &c.call("DeleteTopicIpwhitelist", &[("instanceId", &inst), ("topicName", "t"), ("Ip.0", "2.2.2.2")]).await,
    );
    let attrs = c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "t")]).await;
    assert_eq!(attrs["ipWhiteList"], serde_json::json!([]));
}

#[tokio::test]
async fn whitelist_errors() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    assert_ok(&create_topic(&c, &inst, "t", "1").await);
    let v = c.call("AddTopicIpwhitelist", &[("instanceId", &inst), ("topicName", "t")]).await;
    assert_err(&v, 4000);
    assert_message_mentions(&v, "ipWhiteList");
    let v = c
        .call("AddTopicIpwhitelist", &[("instanceId", &inst), ("topicName", "t"), ("ipWhiteList.0", "not-an-ip")])
        .await;
    assert_err(&v, 4000);
    let v = c.call("DeleteTopicIpwhitelist", &[("instanceId", &inst), ("topicName", "t")]).await;
    assert_err(&v, 4000);
    assert_message_mentions(&v, "ip.n");
    assert_err(
        &c.call("DeleteTopicIpwhitelist", &[("instanceId", &inst), ("topicName", "t"), ("ip.0", "1.2.3")]).await,
        4000,
    );
    assert_err(
        &c.call("AddTopicIpwhitelist", &[("instanceId", &inst), ("topicName", "z"), ("ipWhiteList.0", "1.1.1.1")])
            .await,
        5000,
    );
    assert_err(
        &c.call("DeleteTopicIpwhitelist", &[("instanceId", "ckafka-q"), ("topicName", "t"), ("ip.0", "1.1.1.1")]).await,
        5000,
    );
}

// ---------------------------------------------------------------- consumer groups

#[tokio::test]
async fn list_consumer_group_reads_groups_and_offsets_from_the_model() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    assert_ok(&create_topic(&c, &inst, "tes", "3").await);
    assert_ok(&create_topic(&c, &inst, "other", "1").await);
    let topic_id =
        c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "tes")]).await["topicId"].clone();
    {
        // 12 messages produced on partition 1 (the broker advances the offsets), then commits.
        let model = srv.state.store.kafka.read();
        let s = Scope::ANY;
        model.advance_offsets(s, &inst, "tes", 1, 12).unwrap();
        model
            .commit_offset(
                s,
                &inst,
                OffsetCommit { group: "console-consumer-1", topic: "tes", partition: 1, offset: 10, produced_at: None },
            )
            .unwrap();
        model
            .commit_offset(
                s,
                &inst,
                OffsetCommit {
                    group: "console-consumer-1",
                    topic: "other",
                    partition: 0,
                    offset: 0,
                    produced_at: None,
                },
            )
            .unwrap();
        model.create_group(s, &inst, "idle", "", Vec::new()).unwrap();
    }
    let v = c.call("ListConsumerGroup", &[("instanceId", &inst)]).await;
    assert_ok(&v);
    assert_eq!(v["message"], "");
    let d = &v["data"];
    assert_eq!(d["totalCount"], 2);
    assert_eq!(d["groupList"]["console-consumer-1"]["tes"], serde_json::json!([0, 10, 0]));
    assert_eq!(d["groupList"]["idle"], serde_json::json!({}));
    assert_eq!(d["topicList"]["tes"], topic_id);
    assert_eq!(d["totalTopic"], 2);
    assert_eq!(d["totalPartition"], 3);
    assert_eq!(d["partitionListForMonitor"].as_array().unwrap().len(), 3);
    assert_eq!(d["groupListForMonitor"].as_array().unwrap().len(), 2);

    let one = c.call("ListConsumerGroup", &[("groupName", "console-consumer-1"), ("topicName", "tes")]).await;
    assert_eq!(one["data"]["totalCount"], 1);
    assert_eq!(one["data"]["totalTopic"], 1);
    assert!(one["data"]["groupList"]["console-consumer-1"]["other"].is_null());
    // topicName without groupName is ignored.
    let ignored = c.call("ListConsumerGroup", &[("topicName", "tes")]).await;
    assert_eq!(ignored["data"]["totalCount"], 2);
    let exact = c.call("ListConsumerGroup", &[("groupName", "console")]).await;
    assert_eq!(exact["data"]["totalCount"], 0, "groupName is an exact match");
    let paged = c.call("ListConsumerGroup", &[("limit", "1"), ("offset", "1")]).await;
    assert_eq!(paged["data"]["totalCount"], 2);
    assert_eq!(paged["data"]["groupListForMonitor"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn list_consumer_group_errors() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    assert_err(&c.call("ListConsumerGroup", &[("instanceId", "ckafka-none")]).await, 5000);
    assert_err(&c.call("ListConsumerGroup", &[("limit", "51")]).await, 4000);
    assert_err(&c.call("ListConsumerGroup", &[("offset", "x")]).await, 4000);
}

// ---------------------------------------------------------------- hostile values

#[tokio::test]
async fn huge_counts_and_timestamps_get_documented_errors_not_crashes() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    set_limits(&srv, &inst, InstanceUpdate { max_partitions: Some(u32::MAX), ..InstanceUpdate::default() });
    assert_ok(&create_topic(&c, &inst, "t", "8").await);
    // partitions held + requested overflows a u32: the quota refuses it, nothing is allocated.
    let v = create_topic(&c, &inst, "huge", &u32::MAX.to_string()).await;
    assert_err(&v, 5100);
    assert_message_mentions(&v, "(100005)");
    let v = c
        .call("AddPartition", &[("instanceId", &inst), ("topicName", "t"), ("partitionNum", &u32::MAX.to_string())])
        .await;
    assert_err(&v, 5100);
    assert_message_mentions(&v, "(100005)");
    for n in ["4294967296", "9223372036854775807", "-9223372036854775808", "99999999999999999999999"] {
        let v = c.call("AddPartition", &[("instanceId", &inst), ("topicName", "t"), ("partitionNum", n)]).await;
        assert_err(&v, 4000);
        assert_message_mentions(&v, "partitionNum");
        let v = create_topic(&c, &inst, "big", n).await;
        assert_err(&v, 4000);
        assert_message_mentions(&v, "partitionNum");
    }
    assert_eq!(srv.state.store.kafka.read().read_instance(Scope::ANY, &inst, |i| i.partition_count()).unwrap(), 8);
    // A correctly signed timestamp at the ends of i64 is a replay error, not an arithmetic overflow.
    for ts in [i64::MIN, i64::MAX, -1] {
        let v = c.call("ListInstance", &[("Timestamp", &ts.to_string())]).await;
        assert_err(&v, 4500);
        assert_message_mentions(&v, "Timestamp");
    }
    for nonce in ["18446744073709551616", "-1"] {
        let v = c.call("ListInstance", &[("Nonce", nonce)]).await;
        assert_err(&v, 4000);
        assert_message_mentions(&v, "Nonce");
    }
    for (k, v) in [("offset", "99999999999999999999"), ("offset", "-1"), ("limit", "9223372036854775807")] {
        let r = c.call("ListTopic", &[("instanceId", &inst), (k, v)]).await;
        assert_err(&r, 4000);
        assert_message_mentions(&r, k);
    }
    let r = c.call("ListTopic", &[("instanceId", &inst), ("offset", "4294967295")]).await;
    assert_ok(&r);
    assert_eq!(r["topicList"], serde_json::json!([]));
    let r = c
        .call(
            "SetTopicAttributes",
            &[("instanceId", &inst), ("topicName", "t"), ("retentionMs", "9223372036854775807")],
        )
        .await;
    assert_ok(&r);
}

#[tokio::test]
async fn a_repeated_parameter_is_4000_naming_it_even_when_signed() {
    let srv = common::start().await;
    let inst = default_instance(&srv);
    for c in [Client::new(&srv), Client::new(&srv).post()] {
        let mut params = c.params("CreateTopic", &[("instanceId", &inst), ("partitionNum", "1"), ("replicaNum", "1")]);
        params.push(("topicName".into(), "first".into()));
        params.push(("topicName".into(), "second".into()));
        let v = c.send(&c.sign(params)).await;
        assert_err(&v, 4000);
        assert_message_mentions(&v, "topicName");
        assert_message_mentions(&v, "more than once");
    }
    assert_eq!(topic_count(&srv, &inst), 0);
}

/// Every one of the 13 actions verifies the signature before it reads or changes anything: signed with a
/// wrong secret each is 4100 and the model is untouched; the same calls signed correctly then succeed, so
/// the 4100 is the signature's doing and not a parameter problem.
#[tokio::test]
async fn every_action_refuses_a_bad_signature_and_changes_nothing() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    assert_ok(&create_topic(&c, &inst, "t", "1").await);
    let i = inst.as_str();
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("CreateTopic", vec![("instanceId", i), ("topicName", "new"), ("partitionNum", "1"), ("replicaNum", "1")]),
        ("SetTopicAttributes", vec![("instanceId", i), ("topicName", "t"), ("note", "changed")]),
        ("AddPartition", vec![("instanceId", i), ("topicName", "t"), ("partitionNum", "5")]),
        ("ListTopic", vec![("instanceId", i)]),
        ("GetTopicAttributes", vec![("instanceId", i), ("topicName", "t")]),
        ("SetForward", vec![("instanceId", i), ("topicName", "t"), ("status", "0"), ("cosBucket", "b")]),
        ("ListInstance", vec![]),
        ("GetInstanceAttributes", vec![("instanceId", i)]),
        ("SetInstanceAttributes", vec![("instanceId", i), ("instanceName", "renamed")]),
        ("ListConsumerGroup", vec![("instanceId", i)]),
        ("AddTopicIpwhitelist", vec![("instanceId", i), ("topicName", "t"), ("ipWhiteList.0", "1.1.1.1")]),
        ("DeleteTopicIpwhitelist", vec![("instanceId", i), ("topicName", "t"), ("ip.0", "1.1.1.1")]),
        ("DeleteTopic", vec![("instanceId", i), ("topicName", "t")]),
    ];
    let snapshot = || serde_json::to_string(&*srv.state.store.kafka.read()).unwrap();
    let before = snapshot();
    for forged in [Client::new(&srv).key(KEY_ID, "not-the-secret"), Client::new(&srv).post().sha1().key(KEY_ID, "x")] {
        for (action, params) in &calls {
            let v = forged.call(action, params).await;
            assert_err(&v, 4100);
            assert_eq!(v["codeDesc"], "AuthFailure", "{action}: {v}");
        }
    }
    assert_eq!(snapshot(), before, "a request with a bad signature changed the model");
    for (action, params) in &calls {
        let v = c.call(action, params).await;
        assert_ok(&v);
    }
    assert_ne!(snapshot(), before);
}

/// Every parameter the seed marks required (是) is required: omitting it is 4000 naming it (issue 13 item
/// 14). Optional ones (GetTopicAttributes' topicName, ListInstance's and ListConsumerGroup's filters) are not.
#[tokio::test]
async fn every_parameter_the_seed_marks_required_is_required() {
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    let i = inst.as_str();
    assert_ok(&create_topic(&c, i, "seeded", "1").await);
    let actions: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("CreateTopic", vec![("instanceId", i), ("topicName", "fresh"), ("partitionNum", "1"), ("replicaNum", "1")]),
        ("SetTopicAttributes", vec![("instanceId", i), ("topicName", "seeded")]),
        ("AddPartition", vec![("instanceId", i), ("topicName", "seeded"), ("partitionNum", "2")]),
        ("ListTopic", vec![("instanceId", i)]),
        ("GetTopicAttributes", vec![("instanceId", i)]),
        ("SetForward", vec![("instanceId", i), ("topicName", "seeded"), ("status", "1")]),
        ("GetInstanceAttributes", vec![("instanceId", i)]),
        ("SetInstanceAttributes", vec![("instanceId", i)]),
        ("AddTopicIpwhitelist", vec![("instanceId", i), ("topicName", "seeded"), ("ipWhiteList.0", "10.0.0.1")]),
        ("DeleteTopicIpwhitelist", vec![("instanceId", i), ("topicName", "seeded"), ("Ip.0", "10.0.0.1")]),
        ("DeleteTopic", vec![("instanceId", i), ("topicName", "seeded")]),
    ];
    for (action, params) in &actions {
        for (n, (missing, _)) in params.iter().enumerate() {
            let without: Vec<(&str, &str)> =
                params.iter().enumerate().filter(|(m, _)| *m != n).map(|(_, p)| *p).collect();
            let v = c.call(action, &without).await;
            assert_err(&v, 4000);
            let named = missing.replace(".0", ".n");
            let message = v["message"].as_str().unwrap_or_default();
            // The seed spells the removal array `Ip.n` in its table and `ip.n` in its example.
            assert!(message.to_lowercase().contains(&named.to_lowercase()), "{action} without {missing}: {v}");
        }
    }
    for action in ["ListInstance", "ListConsumerGroup"] {
        assert_ok(&c.call(action, &[]).await);
    }
    for (action, params) in &actions {
        assert_ok(&c.call(action, params).await);
    }
}

/// Reads and rejected writes change nothing the storage layer sees: no dirty resource key and no new
/// generation; an accepted write marks exactly its topic.
#[tokio::test]
async fn reads_and_rejected_writes_leave_nothing_to_store() {
    use localyun::storage::Resources;
    let srv = common::start().await;
    let c = Client::new(&srv);
    let inst = default_instance(&srv);
    assert_ok(&create_topic(&c, &inst, "dup", "1").await);
    srv.state.store.kafka.read().take_dirty();
    let generation = srv.state.store.kafka.generation();
    assert_err(&create_topic(&c, &inst, "dup", "1").await, 5100);
    assert_ok(&c.call("ListTopic", &[("instanceId", &inst)]).await);
    assert_ok(&c.call("GetTopicAttributes", &[("instanceId", &inst), ("topicName", "dup")]).await);
    assert_ok(&c.call("ListInstance", &[]).await);
    assert_eq!(srv.state.store.kafka.read().take_dirty(), Some(Vec::new()));
    assert_eq!(srv.state.store.kafka.generation(), generation);
    assert_ok(&create_topic(&c, &inst, "fresh", "1").await);
    assert_eq!(srv.state.store.kafka.read().take_dirty(), Some(vec![format!("t/{inst}/fresh")]));
    assert_ne!(srv.state.store.kafka.generation(), generation);
}
