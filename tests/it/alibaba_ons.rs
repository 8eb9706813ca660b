//! Alibaba ONS OpenAPI (2019-02-14) against the real app: instance, topic and group lifecycles, consumer and
//! message queries, JSON and XML, each documented error path, routing next to the Kafka RPC facade, and a
//! cross-check that the `/json` Open API sees what ONS created (one RocketMQ engine). Requests are signed by
//! the test-side signer in `alibaba_support` (not localyun's).

use crate::alibaba_support::{hmac_sha1_b64, string_to_sign};
use crate::common::{self, TestServer, ACCOUNT, KEY_ID, SECRET};
use crate::rocketmq_support::seed_signature;

use std::collections::BTreeMap;

use localyun::engine::rocketmq::{ConsumerClient, NewMessage};
use serde_json::Value;

pub(crate) const REGION: &str = "cn-hangzhou";
const VERSION: &str = "2019-02-14";

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) text: String,
    pub(crate) json: Value,
}

impl Reply {
    pub(crate) fn code(&self) -> &str {
        self.json["Code"].as_str().unwrap_or("")
    }
}

pub(crate) struct Ons<'a> {
    srv: &'a TestServer,
    key: &'a str,
    secret: &'a str,
    format: &'a str,
}

impl<'a> Ons<'a> {
    pub(crate) fn new(srv: &'a TestServer) -> Self {
        Ons { srv, key: KEY_ID, secret: SECRET, format: "JSON" }
    }

    /// Common parameters plus `params`; an override with value "-" removes a parameter.
    fn pairs(&self, action: &str, params: &[(&str, &str)], overrides: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut p: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in [
            ("Action", action),
            ("Version", VERSION),
            ("Format", self.format),
            ("RegionId", REGION),
            ("AccessKeyId", self.key),
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
        for (k, v) in overrides {
            if *v == "-" {
                p.remove(*k);
            } else {
                p.insert(k.to_string(), v.to_string());
            }
        }
        let sts = string_to_sign("POST", &p);
        let mut pairs: Vec<(String, String)> = p.into_iter().collect();
        if !overrides.iter().any(|(k, _)| *k == "Signature") {
            pairs.push(("Signature".into(), hmac_sha1_b64(self.secret, &sts)));
        }
        pairs
    }

    pub(crate) async fn call_with(&self, action: &str, params: &[(&str, &str)], overrides: &[(&str, &str)]) -> Reply {
        let encoded = serde_urlencoded::to_string(self.pairs(action, params, overrides)).unwrap();
        let resp = self.srv.client.post(format!("{}/?{encoded}", self.srv.base)).send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, text, json }
    }

    pub(crate) async fn call(&self, action: &str, params: &[(&str, &str)]) -> Reply {
        self.call_with(action, params, &[]).await
    }

    pub(crate) async fn ok(&self, action: &str, params: &[(&str, &str)]) -> Value {
        let r = self.call(action, params).await;
        assert_eq!(r.status, 200, "{action}: {}", r.text);
        assert!(r.json["RequestId"].as_str().is_some_and(|id| id.len() == 36), "{}", r.text);
        r.json
    }

    pub(crate) async fn create_instance(&self, name: &str) -> String {
        let body = self.ok("OnsInstanceCreate", &[("InstanceName", name), ("Remark", "r")]).await;
        body["Data"]["InstanceId"].as_str().unwrap().to_string()
    }
}

pub(crate) fn assert_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.code(), code, "{}", r.text);
    assert!(r.json["Message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.text);
    assert!(r.json["HostId"].as_str().is_some(), "{}", r.text);
    assert!(r.json["Recommend"].as_str().is_some_and(|m| m.contains(code)), "{}", r.text);
}

#[tokio::test]
async fn instance_lifecycle() {
    let srv = common::start().await;
    let ons = Ons::new(&srv);
    let id = ons.create_instance("orders-prod").await;
    assert!(id.starts_with(&format!("MQ_INST_{ACCOUNT}_")), "{id}");

    let list = ons.ok("OnsInstanceInServiceList", &[]).await;
    let vos = list["Data"]["InstanceVO"].as_array().unwrap();
    let vo = vos.iter().find(|v| v["InstanceId"] == id.as_str()).expect("listed");
    assert_eq!(vo["InstanceName"], "orders-prod");
    assert_eq!(vo["InstanceStatus"], 5);
    assert_eq!(vo["IndependentNaming"], true);
    assert_eq!(vo["TopicCount"], 0);
    // A tag filter matches nothing: no resource carries tags.
    let tagged = ons.ok("OnsInstanceInServiceList", &[("Tag.1.Key", "env"), ("Tag.1.Value", "prod")]).await;
    assert_eq!(tagged["Data"]["InstanceVO"].as_array().unwrap().len(), 0);

    let info = ons.ok("OnsInstanceBaseInfo", &[("InstanceId", &id)]).await;
    assert_eq!(info["InstanceBaseInfo"]["InstanceName"], "orders-prod");
    assert_eq!(info["InstanceBaseInfo"]["Remark"], "r");
    assert!(info["InstanceBaseInfo"]["Endpoints"]["TcpEndpoint"].as_str().unwrap().starts_with("http://"));

    ons.ok("OnsInstanceUpdate", &[("InstanceId", &id), ("InstanceName", "orders-new"), ("Remark", "r2")]).await;
    let info = ons.ok("OnsInstanceBaseInfo", &[("InstanceId", &id)]).await;
    assert_eq!(info["InstanceBaseInfo"]["InstanceName"], "orders-new");
    assert_eq!(info["InstanceBaseInfo"]["Remark"], "r2");

    ons.ok("OnsInstanceDelete", &[("InstanceId", &id)]).await;
    assert_error(&ons.call("OnsInstanceBaseInfo", &[("InstanceId", &id)]).await, 404, "AUTH_RESOURCE_OWNER_ERROR");
    assert_error(&ons.call("OnsInstanceDelete", &[("InstanceId", &id)]).await, 404, "AUTH_RESOURCE_OWNER_ERROR");
}

#[tokio::test]
async fn topic_and_group_lifecycle_with_duplicates_and_unknowns() {
    let srv = common::start().await;
    let ons = Ons::new(&srv);
    let id = ons.create_instance("inst-a").await;
    let i = id.as_str();
    ons.ok("OnsTopicCreate", &[("InstanceId", i), ("Topic", "orders"), ("MessageType", "0"), ("Remark", "o")]).await;
    assert_error(
        &ons.call("OnsTopicCreate", &[("InstanceId", i), ("Topic", "orders"), ("MessageType", "0")]).await,
        400,
        "BIZ_TOPIC_EXISTED",
    );
    assert_error(
        &ons.call("OnsTopicCreate", &[("InstanceId", i), ("Topic", "x2"), ("MessageType", "3")]).await,
        400,
        "InvalidParameter",
    );
    assert_error(&ons.call("OnsTopicCreate", &[("InstanceId", i), ("Topic", "x2")]).await, 400, "MissingParameter");

    let list = ons.ok("OnsTopicList", &[("InstanceId", i)]).await;
    let topics = list["Data"]["PublishInfoDo"].as_array().unwrap();
    assert_eq!(topics.len(), 1);
    assert_eq!(topics[0]["Topic"], "orders");
    assert_eq!(topics[0]["MessageType"], 0);
    assert_eq!(topics[0]["Remark"], "o");
    assert_eq!(topics[0]["InstanceId"], i);

    let status = ons.ok("OnsTopicStatus", &[("InstanceId", i), ("Topic", "orders")]).await;
    assert_eq!(status["Data"]["TotalCount"], 0);
    assert_eq!(status["Data"]["Perm"], 6);
    ons.ok("OnsTopicUpdate", &[("InstanceId", i), ("Topic", "orders"), ("Perm", "4")]).await;
    let status = ons.ok("OnsTopicStatus", &[("InstanceId", i), ("Topic", "orders")]).await;
    assert_eq!(status["Data"]["Perm"], 4);
    assert_error(
        &ons.call("OnsTopicUpdate", &[("InstanceId", i), ("Topic", "orders"), ("Perm", "5")]).await,
        400,
        "InvalidParameter",
    );
    assert_error(
        &ons.call("OnsTopicStatus", &[("InstanceId", i), ("Topic", "nope")]).await,
        404,
        "BIZ_TOPIC_NOT_FOUND",
    );

    ons.ok("OnsGroupCreate", &[("InstanceId", i), ("GroupId", "GID_orders"), ("Remark", "g")]).await;
    let dup = ons.call("OnsGroupCreate", &[("InstanceId", i), ("GroupId", "GID_orders")]).await;
    assert_eq!(dup.status, 400, "{}", dup.text);
    assert!(dup.code().ends_with("_EXISTED"), "{}", dup.text);
    assert_error(
        &ons.call("OnsGroupCreate", &[("InstanceId", i), ("GroupId", "orders")]).await,
        400,
        "InvalidParameter",
    );
    assert_error(
        &ons.call("OnsGroupCreate", &[("InstanceId", i), ("GroupId", "GID_x"), ("GroupType", "udp")]).await,
        400,
        "InvalidParameter",
    );
    let groups = ons.ok("OnsGroupList", &[("InstanceId", i), ("GroupId", "orders")]).await;
    let groups = groups["Data"]["SubscribeInfoDo"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["GroupId"], "GID_orders");
    assert_eq!(groups[0]["Remark"], "g");
    assert_eq!(groups[0]["Owner"], ACCOUNT);

    ons.ok("OnsGroupConsumerUpdate", &[("InstanceId", i), ("GroupId", "GID_orders"), ("ReadEnable", "false")]).await;
    assert!(!srv
        .state
        .store
        .rocketmq
        .read()
        .instance_by_id(i)
        .unwrap()
        .read()
        .group("GID_orders")
        .unwrap()
        .read_enable());
    assert_error(
        &ons.call("OnsGroupConsumerUpdate", &[("InstanceId", i), ("GroupId", "GID_orders")]).await,
        400,
        "MissingParameter",
    );
    assert_error(
        &ons.call("OnsGroupDelete", &[("InstanceId", i), ("GroupId", "GID_none")]).await,
        404,
        "BIZ_SUBSCRIPTION_NOT_FOUND",
    );

    // An instance holding topics is not deleted.
    assert_error(&ons.call("OnsInstanceDelete", &[("InstanceId", i)]).await, 400, "BIZ_FIELD_CHECK_INVALID");
    ons.ok("OnsGroupDelete", &[("InstanceId", i), ("GroupId", "GID_orders")]).await;
    ons.ok("OnsTopicDelete", &[("InstanceId", i), ("Topic", "orders")]).await;
    assert_error(
        &ons.call("OnsTopicDelete", &[("InstanceId", i), ("Topic", "orders")]).await,
        404,
        "BIZ_TOPIC_NOT_FOUND",
    );
    ons.ok("OnsInstanceDelete", &[("InstanceId", i)]).await;
    assert_error(
        &ons.call("OnsTopicList", &[("InstanceId", "MQ_INST_1_NOPE")]).await,
        404,
        "AUTH_RESOURCE_OWNER_ERROR",
    );
}

#[tokio::test]
async fn consumers_messages_and_dead_letters() {
    let srv = common::start().await;
    let ons = Ons::new(&srv);
    let id = ons.create_instance("inst-m").await;
    let i = id.as_str();
    ons.ok("OnsTopicCreate", &[("InstanceId", i), ("Topic", "pay"), ("MessageType", "0")]).await;
    ons.ok("OnsGroupCreate", &[("InstanceId", i), ("GroupId", "GID_pay")]).await;

    // Not online yet.
    assert_error(
        &ons.call("OnsConsumerGetConnection", &[("InstanceId", i), ("GroupId", "GID_pay")]).await,
        400,
        "BIZ_CONSUMER_NOT_ONLINE",
    );
    let msg_id = {
        let model = srv.state.store.rocketmq.read();
        model.subscribe(i, "GID_pay", "pay", "*").unwrap();
        model.connect_consumer(i, "GID_pay", ConsumerClient::new("c1@1", "10.0.0.1", &[("pay", "*")])).unwrap();
        let id1 = model.send(i, "pay", NewMessage::new("t", "k1", "hello")).unwrap();
        model.send(i, "pay", NewMessage::new("t", "k2", "world")).unwrap();
        id1
    };

    let acc = ons.ok("OnsConsumerAccumulate", &[("InstanceId", i), ("GroupId", "GID_pay"), ("Detail", "true")]).await;
    assert_eq!(acc["Data"]["Online"], true);
    assert_eq!(acc["Data"]["TotalDiff"], 2);
    assert_eq!(acc["Data"]["DetailInTopicList"]["DetailInTopicDo"][0]["Topic"], "pay");
    assert_error(
        &ons.call("OnsConsumerAccumulate", &[("InstanceId", i), ("GroupId", "GID_none")]).await,
        404,
        "BIZ_SUBSCRIPTION_NOT_FOUND",
    );

    let st = ons.ok("OnsConsumerStatus", &[("InstanceId", i), ("GroupId", "GID_pay"), ("Detail", "true")]).await;
    assert_eq!(st["Data"]["ConsumeModel"], "CLUSTERING");
    assert_eq!(st["Data"]["ConnectionSet"]["ConnectionDo"][0]["ClientId"], "c1@1");
    let info = &st["Data"]["ConsumerConnectionInfoList"]["ConsumerConnectionInfoDo"][0];
    assert_eq!(info["SubscriptionSet"]["SubscriptionData"][0]["Topic"], "pay");

    let conn = ons.ok("OnsConsumerGetConnection", &[("InstanceId", i), ("GroupId", "GID_pay")]).await;
    assert_eq!(conn["Data"]["ConnectionList"]["ConnectionDo"][0]["ClientAddr"], "10.0.0.1:53412");

    let topic = ons.ok("OnsTopicStatus", &[("InstanceId", i), ("Topic", "pay")]).await;
    assert_eq!(topic["Data"]["TotalCount"], 2);
    assert!(topic["Data"]["LastTimeStamp"].as_i64().unwrap() > 0);

    let sub = ons.ok("OnsTopicSubDetail", &[("InstanceId", i), ("Topic", "pay")]).await;
    assert_eq!(sub["Data"]["SubscriptionDataList"]["SubscriptionDataList"][0]["GroupId"], "GID_pay");

    let m = ons.ok("OnsMessageGetByMsgId", &[("InstanceId", i), ("Topic", "pay"), ("MsgId", &msg_id)]).await;
    assert_eq!(m["Data"]["MsgId"], msg_id.as_str());
    let props = m["Data"]["PropertyList"]["MessageProperty"].as_array().unwrap();
    assert!(props.iter().any(|p| p["Name"] == "KEYS" && p["Value"] == "k1"), "{props:?}");
    assert_error(
        &ons.call("OnsMessageGetByMsgId", &[("InstanceId", i), ("Topic", "pay"), ("MsgId", "0A00")]).await,
        400,
        "BIZ_NO_MESSAGE",
    );
    let by_key = ons.ok("OnsMessageGetByKey", &[("InstanceId", i), ("Topic", "pay"), ("Key", "k2")]).await;
    assert_eq!(by_key["Data"]["OnsRestMessageDo"].as_array().unwrap().len(), 1);

    let now = common::unix_now() * 1000;
    let (begin, end) = ((now - 60_000).to_string(), (now + 60_000).to_string());
    let page = ons
        .ok(
            "OnsMessagePageQueryByTopic",
            &[("InstanceId", i), ("Topic", "pay"), ("BeginTime", &begin), ("EndTime", &end), ("PageSize", "5")],
        )
        .await;
    assert_eq!(page["MsgFoundDo"]["CurrentPage"], 1);
    assert_eq!(page["MsgFoundDo"]["MsgFoundList"]["OnsRestMessageDo"].as_array().unwrap().len(), 2);
    assert!(page["MsgFoundDo"]["TaskId"].as_str().is_some_and(|t| !t.is_empty()));
    assert_error(
        &ons.call("OnsMessagePageQueryByTopic", &[("InstanceId", i), ("Topic", "pay"), ("BeginTime", &begin)]).await,
        400,
        "MissingParameter",
    );

    let trace = ons.ok("OnsMessageTrace", &[("InstanceId", i), ("Topic", "pay"), ("MsgId", &msg_id)]).await;
    assert_eq!(trace["Data"]["MessageTrack"][0]["ConsumerGroup"], "GID_pay");
    let q = ons
        .ok(
            "OnsTraceQueryByMsgId",
            &[("InstanceId", i), ("Topic", "pay"), ("MsgId", &msg_id), ("BeginTime", &begin), ("EndTime", &end)],
        )
        .await;
    assert!(q["QueryId"].as_str().is_some_and(|s| !s.is_empty()));

    let span = ons.ok("OnsConsumerTimeSpan", &[("InstanceId", i), ("GroupId", "GID_pay"), ("Topic", "pay")]).await;
    assert!(span["Data"]["MaxTimeStamp"].as_i64().unwrap() >= span["Data"]["MinTimeStamp"].as_i64().unwrap());
    assert!(span["Data"]["MinTimeStamp"].as_i64().unwrap() > 0);
    let trend = ons
        .ok(
            "OnsTrendTopicInputTps",
            &[
                ("InstanceId", i),
                ("Topic", "pay"),
                ("BeginTime", &begin),
                ("EndTime", &end),
                ("Period", "1"),
                ("Type", "0"),
            ],
        )
        .await;
    let points = trend["Data"]["Records"]["StatsDataDo"].as_array().unwrap();
    assert_eq!(points.iter().map(|p| p["Y"].as_f64().unwrap()).sum::<f64>(), 2.0, "{trend}");
    assert_error(
        &ons.call(
            "OnsTrendTopicInputTps",
            &[
                ("InstanceId", i),
                ("Topic", "pay"),
                ("BeginTime", &begin),
                ("EndTime", &end),
                ("Period", "2"),
                ("Type", "0"),
            ],
        )
        .await,
        400,
        "InvalidParameter",
    );
    let out = ons
        .ok(
            "OnsTrendGroupOutputTps",
            &[
                ("InstanceId", i),
                ("GroupId", "GID_pay"),
                ("Topic", "pay"),
                ("BeginTime", &begin),
                ("EndTime", &end),
                ("Type", "1"),
            ],
        )
        .await;
    assert!(out["Data"]["Records"]["StatsDataDo"].is_array(), "{out}");

    // Reset to the latest: no backlog left.
    ons.ok("OnsConsumerResetOffset", &[("InstanceId", i), ("GroupId", "GID_pay"), ("Topic", "pay"), ("Type", "0")])
        .await;
    let acc = ons.ok("OnsConsumerAccumulate", &[("InstanceId", i), ("GroupId", "GID_pay")]).await;
    assert_eq!(acc["Data"]["TotalDiff"], 0);
    assert_error(
        &ons.call(
            "OnsConsumerResetOffset",
            &[("InstanceId", i), ("GroupId", "GID_pay"), ("Topic", "pay"), ("Type", "1")],
        )
        .await,
        400,
        "MissingParameter",
    );

    // A dead letter: fail one message past its retries.
    let dead_id = {
        let model = srv.state.store.rocketmq.read();
        let id3 = model.send(i, "pay", NewMessage::new("t", "k3", "dead")).unwrap();
        model.set_max_reconsume_times(ACCOUNT, REGION, i, "GID_pay", 0).unwrap();
        let delivered = model.deliver(i, "GID_pay", "pay", 10).unwrap();
        assert!(delivered.iter().any(|m| m.msg_id == id3));
        model.consume_failed(i, "GID_pay", &id3).unwrap();
        id3
    };
    let dlq = ons.ok("OnsDLQMessageGetById", &[("InstanceId", i), ("GroupId", "GID_pay"), ("MsgId", &dead_id)]).await;
    assert_eq!(dlq["Data"]["MsgId"], dead_id.as_str());
    let dpage = ons
        .ok(
            "OnsDLQMessagePageQueryByGroupId",
            &[("InstanceId", i), ("GroupId", "GID_pay"), ("BeginTime", &begin), ("EndTime", &end)],
        )
        .await;
    assert_eq!(dpage["MsgFoundDo"]["MsgFoundList"]["OnsRestMessageDo"].as_array().unwrap().len(), 1);
    let resent =
        ons.ok("OnsDLQMessageResendById", &[("InstanceId", i), ("GroupId", "GID_pay"), ("MsgId", &dead_id)]).await;
    assert_eq!(resent["Data"]["MsgId"][0], dead_id.as_str());
    assert_error(
        &ons.call("OnsDLQMessageResendById", &[("InstanceId", i), ("GroupId", "GID_pay"), ("MsgId", "0A0B")]).await,
        400,
        "BIZ_NO_MESSAGE",
    );
}

#[tokio::test]
async fn gateway_errors() {
    let srv = common::start().await;
    let ons = Ons::new(&srv);
    let bad = ons.call_with("OnsInstanceInServiceList", &[], &[("Signature", "AAAA")]).await;
    assert_error(&bad, 400, "SignatureDoesNotMatch");
    let unknown = Ons { key: "AKIDUNKNOWN", ..Ons::new(&srv) };
    assert_error(&unknown.call("OnsInstanceInServiceList", &[]).await, 404, "InvalidAccessKeyId.NotFound");
    let stale = ons.call_with("OnsRegionList", &[], &[("Timestamp", "2020-01-01T00:00:00Z")]).await;
    assert_error(&stale, 400, "InvalidTimeStamp.Expired");
    assert_error(&ons.call_with("OnsRegionList", &[], &[("AccessKeyId", "-")]).await, 400, "MissingParameter");
    assert_error(&ons.call("OnsNoSuchAction", &[]).await, 404, "InvalidAction.NotFound");
    assert_error(&ons.call("OnsInstanceBaseInfo", &[]).await, 400, "MissingParameter");
    assert_error(&ons.call_with("OnsRegionList", &[], &[("RegionId", "mars-1")]).await, 404, "BIZ_REGION_NOT_FOUND");
    // Nonce replay: the same signed request twice.
    let pairs = ons.pairs("OnsRegionList", &[], &[]);
    let encoded = serde_urlencoded::to_string(&pairs).unwrap();
    let first = srv.client.post(format!("{}/?{encoded}", srv.base)).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let again = srv.client.post(format!("{}/?{encoded}", srv.base)).send().await.unwrap();
    assert_eq!(again.status(), 400);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["Code"], "SignatureNonceUsed");
}

#[tokio::test]
async fn versions_route_between_ons_and_kafka() {
    let srv = common::start().await;
    let ons = Ons::new(&srv);
    // ONS's version answers ONS actions (it used to answer InvalidVersion).
    let regions = ons.ok("OnsRegionList", &[]).await;
    let list = regions["Data"]["RegionDo"].as_array().unwrap();
    assert!(list.iter().any(|r| r["OnsRegionId"] == REGION), "{list:?}");
    // A Kafka action in ONS's version is not an ONS action.
    assert_error(&ons.call("GetInstanceList", &[]).await, 404, "InvalidAction.NotFound");
    // Kafka's versions stay with Kafka: an ONS action there is Kafka's unknown action.
    let kafka = ons.call_with("OnsRegionList", &[], &[("Version", "2019-09-16")]).await;
    assert_error(&kafka, 404, "InvalidAction.NotFound");
    let kafka = ons.call_with("GetInstanceList", &[], &[("Version", "2019-09-16")]).await;
    assert_eq!(kafka.status, 200, "{}", kafka.text);
    assert_eq!(kafka.json["Success"], true);
    // An unknown version with an ONS action goes to Kafka's gateway check: InvalidVersion.
    let other = ons.call_with("OnsRegionList", &[], &[("Version", "2017-01-01")]).await;
    assert_error(&other, 404, "InvalidVersion");
    // A form body (pop-core) carrying an ONS Version reaches ONS too.
    let pairs = ons.pairs("OnsRegionList", &[], &[]);
    let resp = srv
        .client
        .post(format!("{}/", srv.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&pairs).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body["Data"]["RegionDo"].is_array(), "{body}");
}

#[tokio::test]
async fn xml_answers() {
    let srv = common::start().await;
    let ons = Ons { format: "XML", ..Ons::new(&srv) };
    let r = ons.call("OnsRegionList", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.starts_with("<?xml"), "{}", r.text);
    assert!(r.text.contains("<OnsRegionListResponse><RequestId>"), "{}", r.text);
    assert!(r.text.contains("<RegionDo><Id>"), "{}", r.text);
    let e = ons.call("OnsInstanceBaseInfo", &[("InstanceId", "MQ_INST_1_NOPE")]).await;
    assert_eq!(e.status, 404);
    assert!(e.text.contains("<Code>AUTH_RESOURCE_OWNER_ERROR</Code>"), "{}", e.text);
}

/// `/json` and ONS share one RocketMQ engine: what ONS creates, `/json` lists, and the other way round.
#[tokio::test]
async fn json_api_and_ons_see_the_same_state() {
    let srv = common::start().await;
    let ons = Ons::new(&srv);
    let id = ons.create_instance("shared-inst").await;
    ons.ok("OnsTopicCreate", &[("InstanceId", &id), ("Topic", "shared"), ("MessageType", "0")]).await;

    let json_get = |route: &'static str, params: Vec<(&'static str, String)>| {
        let srv = &srv;
        async move {
            let mut pairs: Vec<(String, String)> = vec![
                ("_accesskey".into(), KEY_ID.into()),
                ("__preventCache".into(), (common::unix_now() * 1000).to_string()),
                ("_regionId".into(), REGION.into()),
            ];
            pairs.extend(params.into_iter().map(|(k, v)| (k.to_string(), v)));
            let signature = seed_signature(SECRET, &pairs);
            pairs.push(("_signature".into(), signature));
            let encoded = serde_urlencoded::to_string(&pairs).unwrap();
            let resp = srv.client.get(format!("{}/json/{route}?{encoded}", srv.base)).send().await.unwrap();
            resp.json::<Value>().await.unwrap()
        }
    };
    let instances = json_get("instance/list", vec![]).await;
    let listed = instances["data"].as_array().unwrap();
    assert!(listed.iter().any(|i| i["instanceId"] == id.as_str()), "{instances}");
    let topic = json_get("topic/get", vec![("instanceId", id.clone()), ("topic", "shared".into())]).await;
    assert_eq!(topic["code"], 200, "{topic}");

    // A group created on `/json` is listed by ONS.
    let created = json_get("group/create", vec![("instanceId", id.clone()), ("groupId", "GID_from_json".into())]).await;
    assert_eq!(created["code"], 200, "{created}");
    let groups = ons.ok("OnsGroupList", &[("InstanceId", &id)]).await;
    assert_eq!(groups["Data"]["SubscribeInfoDo"][0]["GroupId"], "GID_from_json");
}
