//! Tencent Cloud API v3's older form (signature v1, what `ClientProfile(signMethod="HmacSHA1"|"HmacSHA256")`
//! makes the SDK send): every parameter form-encoded in `POST /` or in a `GET /?` query, signed by an
//! independent signer written here from Tencent's "签名方法" doc. Routing next to Alibaba's RPC endpoint (the
//! same path and body type), both hash functions, each documented error code, replay, the request log and
//! fault injection naming the right API, and one model with the TC3 form.

use crate::common;

use base64::Engine;
use common::{fresh_nonce, unix_now, TestServer, KEY_ID, SECRET};
use hmac::{Hmac, Mac};
use localyun::engine::kafka::Scope;
use serde_json::Value;

const REGION: &str = "ap-guangzhou";

/// Base64(HMAC(secret, METHOD + host + "/?" + sorted k=v&...)), the signer of Tencent's doc.
fn sign(method: &str, host: &str, params: &[(String, String)], secret: &str, hash: &str) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let query: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let text = format!("{method}{host}/?{}", query.join("&"));
    let raw = if hash == "HmacSHA256" {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        m.update(text.as_bytes());
        m.finalize().into_bytes().to_vec()
    } else {
        let mut m = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
        m.update(text.as_bytes());
        m.finalize().into_bytes().to_vec()
    };
    base64::engine::general_purpose::STANDARD.encode(raw)
}

struct Form<'a> {
    srv: &'a TestServer,
    method: &'static str,
    hash: &'static str,
    key: &'a str,
    secret: &'a str,
    timestamp: i64,
    nonce: Option<String>,
}

impl<'a> Form<'a> {
    fn new(srv: &'a TestServer, method: &'static str, hash: &'static str) -> Self {
        Form { srv, method, hash, key: KEY_ID, secret: SECRET, timestamp: unix_now(), nonce: None }
    }

    /// Common parameters plus `params`; an override with value "-" removes a parameter.
    fn params(&self, action: &str, params: &[(&str, &str)], overrides: &[(&str, &str)]) -> Vec<(String, String)> {
        let nonce = self.nonce.clone().unwrap_or_else(|| fresh_nonce().to_string());
        let mut p: Vec<(String, String)> = [
            ("Action", action),
            ("Version", "2019-08-19"),
            ("Region", REGION),
            ("Timestamp", &self.timestamp.to_string()),
            ("Nonce", &nonce),
            ("SecretId", self.key),
            ("SignatureMethod", self.hash),
            ("RequestClient", "SDK_PYTHON_3.1.195"),
        ]
        .iter()
        .chain(params)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in overrides {
            p.retain(|(name, _)| name != k);
            if *v != "-" {
                p.push((k.to_string(), v.to_string()));
            }
        }
        let signature = sign(self.method, &self.srv.host, &p, self.secret, self.hash);
        if !overrides.iter().any(|(k, _)| *k == "Signature") {
            p.push(("Signature".into(), signature));
        }
        p
    }

    async fn send_with(&self, action: &str, params: &[(&str, &str)], overrides: &[(&str, &str)]) -> Value {
        let encoded = serde_urlencoded::to_string(self.params(action, params, overrides)).unwrap();
        let resp = if self.method == "GET" {
            self.srv.client.get(format!("{}/?{encoded}", self.srv.base)).send().await.unwrap()
        } else {
            self.srv
                .client
                .post(format!("{}/", self.srv.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encoded)
                .send()
                .await
                .unwrap()
        };
        assert_eq!(resp.status(), 200, "v3 answers with HTTP 200");
        assert_eq!(resp.headers()["content-type"], "application/json");
        let body: Value = resp.json().await.unwrap();
        let request_id = body["Response"]["RequestId"].as_str().unwrap_or("");
        assert_eq!(request_id.len(), 36, "{body}");
        body["Response"].clone()
    }

    async fn send(&self, action: &str, params: &[(&str, &str)]) -> Value {
        self.send_with(action, params, &[]).await
    }

    async fn ok(&self, action: &str, params: &[(&str, &str)]) -> Value {
        let r = self.send(action, params).await;
        assert!(r.get("Error").is_none(), "{action}: {r}");
        r
    }
}

fn code(r: &Value) -> &str {
    r["Error"]["Code"].as_str().unwrap_or("")
}

async fn default_instance(f: &Form<'_>) -> String {
    let r = f.ok("DescribeInstances", &[]).await;
    r["Result"]["InstanceList"][0]["InstanceId"].as_str().unwrap().to_string()
}

const FORMS: [(&str, &str); 4] =
    [("POST", "HmacSHA1"), ("POST", "HmacSHA256"), ("GET", "HmacSHA1"), ("GET", "HmacSHA256")];

#[tokio::test]
async fn every_form_runs_a_topic_lifecycle_in_the_one_model() {
    let srv = common::start().await;
    for (method, hash) in FORMS {
        let f = Form::new(&srv, method, hash);
        let inst = default_instance(&f).await;
        let topic = format!("form-{}-{}", method.to_lowercase(), hash.to_lowercase());
        // Integers, booleans and arrays arrive as strings and flattened keys.
        let created = f
            .ok(
                "CreateTopic",
                &[
                    ("InstanceId", &inst),
                    ("TopicName", &topic),
                    ("PartitionNum", "3"),
                    ("ReplicaNum", "1"),
                    ("EnableWhiteList", "1"),
                    ("IpWhiteList.0", "10.0.0.1"),
                    ("IpWhiteList.1", "10.0.0.2"),
                ],
            )
            .await;
        assert!(created["Result"]["TopicId"].as_str().is_some_and(|t| !t.is_empty()), "{created}");
        let dup = f
            .send(
                "CreateTopic",
                &[("InstanceId", &inst), ("TopicName", &topic), ("PartitionNum", "1"), ("ReplicaNum", "1")],
            )
            .await;
        assert_eq!(code(&dup), "InvalidParameterValue.TopicNameAlreadyExist", "{dup}");
        let attrs = f.ok("DescribeTopicAttributes", &[("InstanceId", &inst), ("TopicName", &topic)]).await;
        assert_eq!(attrs["Result"]["PartitionNum"], 3, "{attrs}");
        // The model is the Kafka engine's: API v2's instance sees it.
        let listed = srv
            .state
            .store
            .kafka
            .read()
            .instance(Scope::ANY, &inst)
            .is_ok_and(|i| i.read().topics().contains_key(&topic));
        assert!(listed, "{topic} is in the Kafka model");
        f.ok("CreateConsumer", &[("InstanceId", &inst), ("GroupName", "form-g"), ("TopicName", &topic)]).await;
        let info = f.ok("DescribeGroupInfo", &[("InstanceId", &inst), ("GroupList.0", "form-g")]).await;
        assert_eq!(info["Result"][0]["Group"], "form-g", "{info}");
        f.ok("DeleteGroup", &[("InstanceId", &inst), ("Group", "form-g")]).await;
        f.ok("DeleteTopic", &[("InstanceId", &inst), ("TopicName", &topic)]).await;
        let gone = f.send("DeleteTopic", &[("InstanceId", &inst), ("TopicName", &topic)]).await;
        assert_eq!(code(&gone), "ResourceNotFound", "{gone}");
    }
}

#[tokio::test]
async fn documented_errors_of_the_older_form() {
    let srv = common::start().await;
    for (method, hash) in FORMS {
        let f = Form::new(&srv, method, hash);
        let inst = default_instance(&f).await;
        let bad = Form { secret: "wrong", ..Form::new(&srv, method, hash) };
        assert_eq!(code(&bad.send("DescribeTopic", &[("InstanceId", &inst)]).await), "AuthFailure.SignatureFailure");
        let unknown = Form { key: "AKIDunknown", ..Form::new(&srv, method, hash) };
        assert_eq!(code(&unknown.send("DescribeTopic", &[]).await), "AuthFailure.SecretIdNotFound");
        let stale = Form { timestamp: unix_now() - 3600, ..Form::new(&srv, method, hash) };
        assert_eq!(code(&stale.send("DescribeTopic", &[]).await), "AuthFailure.SignatureExpire");
        // A parameter changed after signing.
        let tampered = f.send_with("DescribeTopic", &[("InstanceId", &inst)], &[("Signature", "AAAA")]).await;
        assert_eq!(code(&tampered), "AuthFailure.SignatureFailure");
        assert_eq!(code(&f.send("DescribeNothing", &[]).await), "InvalidAction");
        assert_eq!(code(&f.send_with("DescribeTopic", &[], &[("Version", "2017-03-12")]).await), "NoSuchVersion");
        assert_eq!(code(&f.send_with("DescribeTopic", &[], &[("Nonce", "-")]).await), "MissingParameter");
        assert_eq!(code(&f.send_with("DescribeTopic", &[], &[("Region", "-")]).await), "MissingParameter");
        assert_eq!(
            code(&f.send_with("DescribeTopic", &[], &[("SignatureMethod", "HmacMD5")]).await),
            "InvalidParameterValue"
        );
        assert_eq!(
            code(&f.send("DescribeTopic", &[("InstanceId", "ckafka-nothere")]).await),
            "InvalidParameterValue.InstanceNotExist"
        );
        // A flattened key nested deeper than any documented parameter.
        let deep = format!("{}b", "a.".repeat(20));
        assert_eq!(code(&f.send("DescribeTopic", &[("InstanceId", &inst), (&deep, "x")]).await), "InvalidParameter");
        // A string where an integer belongs.
        assert_eq!(
            code(&f.send("DescribeTopic", &[("InstanceId", &inst), ("Limit", "ten")]).await),
            "InvalidParameter"
        );
        assert_eq!(
            code(&f.send("DescribeTopic", &[("InstanceId", &inst), ("Limit", "1000")]).await),
            "InvalidParameterValue"
        );
    }
}

#[tokio::test]
async fn a_nonce_is_accepted_once_within_the_window() {
    let srv = common::start().await;
    for (method, hash) in FORMS {
        let f = Form { nonce: Some(fresh_nonce().to_string()), ..Form::new(&srv, method, hash) };
        assert!(f.send("DescribeRegion", &[]).await.get("Error").is_none());
        let again = f.send("DescribeRegion", &[]).await;
        assert_eq!(code(&again), "AuthFailure.SignatureFailure", "{again}");
        assert!(again["Error"]["Message"].as_str().unwrap().contains("replayed"), "{again}");
    }
}

/// A form POST at `/` is Alibaba's RPC endpoint unless the body names Tencent v3: Alibaba requests keep
/// working there, and the request log and fault injection name the API the body chose.
#[tokio::test]
async fn the_body_decides_between_tencent_and_alibaba() {
    let srv = common::start().await;
    // An Alibaba RPC form POST (AccessKeyId, SignatureNonce) still reaches Alibaba, whose gateway answers.
    let ali = srv
        .client
        .post(format!("{}/", srv.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Action=GetInstanceList&Version=2019-09-16&AccessKeyId=AKIDLOCAL&SignatureNonce=1&Format=JSON")
        .send()
        .await
        .unwrap();
    assert_eq!(ali.status(), 400);
    let body: Value = ali.json().await.unwrap();
    assert_eq!(body["Code"], "IncompleteSignature", "the Alibaba gateway's envelope: {body}");

    let f = Form::new(&srv, "POST", "HmacSHA256");
    f.ok("DescribeRegion", &[]).await;
    let log: Value =
        srv.client.get(format!("{}/_localyun/requests?limit=2", srv.base)).send().await.unwrap().json().await.unwrap();
    let vendors: Vec<&str> =
        log["requests"].as_array().unwrap().iter().map(|r| r["vendor"].as_str().unwrap()).collect();
    assert_eq!(vendors, ["alibaba-kafka", "tencent-ckafka-v3"], "{log}");
    assert_eq!(log["requests"][1]["action"], "DescribeRegion");

    // A fault for the v3 API fires on the form POST, in the v3 envelope.
    let fault = serde_json::json!({"vendor": "tencent-ckafka-v3", "action": "DescribeRegion", "error_code": "LimitExceeded", "count": 1});
    let installed = srv.client.post(format!("{}/_localyun/faults", srv.base)).json(&fault).send().await.unwrap();
    assert!(installed.status().is_success());
    let faulted = f.send("DescribeRegion", &[]).await;
    assert_eq!(code(&faulted), "LimitExceeded", "{faulted}");
    assert!(f.send("DescribeRegion", &[]).await.get("Error").is_none());
}

/// API v2 and API v3 (both of its forms) act on one model: what one creates, changes or deletes, the
/// others see, in every direction.
#[tokio::test]
async fn v2_and_v3_see_the_same_topics() {
    use crate::cross_support::{tencent, tencent_topics, Endpoint, DEFAULT_KEY};
    let srv = common::start().await;
    let ep = Endpoint::new(&srv.host);
    let f = Form::new(&srv, "POST", "HmacSHA1");
    let inst = default_instance(&f).await;

    // v2 creates, v3 lists and reads it.
    let made = tencent(
        &ep,
        DEFAULT_KEY,
        "CreateTopic",
        &[
            ("instanceId", &inst),
            ("topicName", "from-v2"),
            ("partitionNum", "2"),
            ("replicaNum", "1"),
            ("note", "v2note"),
        ],
    )
    .await;
    assert_eq!(made["code"], 0, "{made}");
    let listed = f.ok("DescribeTopic", &[("InstanceId", &inst), ("SearchWord", "from-v2")]).await;
    assert_eq!(listed["Result"]["TopicList"][0]["TopicName"], "from-v2", "{listed}");
    assert_eq!(listed["Result"]["TopicList"][0]["Note"], "v2note");

    // v3 changes it, v2 reads the change.
    f.ok("CreatePartition", &[("InstanceId", &inst), ("TopicName", "from-v2"), ("PartitionNum", "5")]).await;
    f.ok("ModifyTopicAttributes", &[("InstanceId", &inst), ("TopicName", "from-v2"), ("Note", "v3note")]).await;
    let attrs =
        tencent(&ep, DEFAULT_KEY, "GetTopicAttributes", &[("instanceId", &inst), ("topicName", "from-v2")]).await;
    assert_eq!(attrs["partitionNum"], 5, "{attrs}");
    assert_eq!(attrs["note"], "v3note", "{attrs}");

    // v3 creates (older form), v2 lists; v3 deletes, v2 no longer lists.
    f.ok("CreateTopic", &[("InstanceId", &inst), ("TopicName", "from-v3"), ("PartitionNum", "1"), ("ReplicaNum", "1")])
        .await;
    assert_eq!(tencent_topics(&ep, DEFAULT_KEY, &inst).await, ["from-v2", "from-v3"]);
    f.ok("DeleteTopic", &[("InstanceId", &inst), ("TopicName", "from-v2")]).await;
    assert_eq!(tencent_topics(&ep, DEFAULT_KEY, &inst).await, ["from-v3"]);
    // v2 deletes, v3 answers ResourceNotFound.
    let gone = tencent(&ep, DEFAULT_KEY, "DeleteTopic", &[("instanceId", &inst), ("topicName", "from-v3")]).await;
    assert_eq!(gone["code"], 0, "{gone}");
    let missing = f.send("DescribeTopicAttributes", &[("InstanceId", &inst), ("TopicName", "from-v3")]).await;
    assert_eq!(code(&missing), "ResourceNotFound", "{missing}");
}
