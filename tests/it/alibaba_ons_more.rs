//! ONS OpenAPI (2019-02-14), the actions beyond the first set: tags (TagResources, UntagResources,
//! ListTagResources and the lists' `Tag.N` filters), `GroupType` round trips, message traces
//! (OnsTraceQueryByMsgId / ByMsgKey, OnsTraceGetResult), OnsMessageDetail and OnsMessagePush over the RocketMQ
//! engine, with each documented error, and cross-checks with the `/json` Open API (one engine).

use crate::alibaba_ons::{assert_error, Ons, REGION};
use crate::common::{self, TestServer, KEY_ID, SECRET};
use crate::rocketmq_support::seed_signature;

use localyun::engine::rocketmq::{ConsumerClient, NewMessage};
use serde_json::Value;

/// `/json/<route>` signed as the seed says, on the ONS region.
async fn json_get(srv: &TestServer, route: &str, params: &[(&str, &str)]) -> Value {
    let mut pairs: Vec<(String, String)> = vec![
        ("_accesskey".into(), KEY_ID.into()),
        ("__preventCache".into(), (common::unix_now() * 1000).to_string()),
        ("_regionId".into(), REGION.into()),
    ];
    pairs.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let signature = seed_signature(SECRET, &pairs);
    pairs.push(("_signature".into(), signature));
    let encoded = serde_urlencoded::to_string(&pairs).unwrap();
    srv.client.get(format!("{}/json/{route}?{encoded}", srv.base)).send().await.unwrap().json().await.unwrap()
}

/// (ResourceType, ResourceId, TagKey, TagValue) rows of a ListTagResources answer, sorted.
fn rows(body: &Value) -> Vec<(String, String, String, String)> {
    let mut out: Vec<(String, String, String, String)> = body["TagResources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("ResourceType"), s("ResourceId"), s("TagKey"), s("TagValue"))
        })
        .collect();
    out.sort();
    out
}

fn row(kind: &str, id: &str, k: &str, v: &str) -> (String, String, String, String) {
    (format!("ALIYUN::MQ::{kind}"), id.to_string(), k.to_string(), v.to_string())
}

#[tokio::test]
async fn tags_on_instances_topics_and_groups() {
    let srv = common::start().await;
    let ons = Ons::new(&srv);
    let id = ons.create_instance("tagged-inst").await;
    let i = id.as_str();
    let other = ons.create_instance("plain-inst").await;
    ons.ok("OnsTopicCreate", &[("InstanceId", i), ("Topic", "t1"), ("MessageType", "0")]).await;
    ons.ok("OnsTopicCreate", &[("InstanceId", i), ("Topic", "t2"), ("MessageType", "0")]).await;
    ons.ok("OnsGroupCreate", &[("InstanceId", i), ("GroupId", "GID_g1")]).await;

    let tag = [("Tag.1.Key", "env"), ("Tag.1.Value", "prod"), ("Tag.2.Key", "team"), ("Tag.2.Value", "pay")];
    let mut p = vec![("ResourceType", "INSTANCE"), ("ResourceId.1", i)];
    p.extend(tag);
    let answer = ons.ok("TagResources", &p).await;
    assert_eq!(answer.as_object().unwrap().len(), 1, "only RequestId: {answer}");
    let mut p = vec![("ResourceType", "TOPIC"), ("InstanceId", i), ("ResourceId.1", "t1"), ("ResourceId.2", "t2")];
    p.extend(&tag[..2]);
    ons.ok("TagResources", &p).await;
    // A key given again takes the new value.
    ons.ok(
        "TagResources",
        &[
            ("ResourceType", "TOPIC"),
            ("InstanceId", i),
            ("ResourceId.1", "t2"),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "dev"),
        ],
    )
    .await;
    ons.ok(
        "TagResources",
        &[("ResourceType", "GROUP"), ("InstanceId", i), ("ResourceId.1", "GID_g1"), ("Tag.1.Key", "team")],
    )
    .await;

    let listed = ons.ok("ListTagResources", &[("ResourceType", "INSTANCE")]).await;
    assert_eq!(rows(&listed), vec![row("INSTANCE", i, "env", "prod"), row("INSTANCE", i, "team", "pay")]);
    assert!(listed.get("NextToken").is_none(), "{listed}");
    assert_eq!(listed["TagResources"][0]["InstanceId"], i);
    let topics = ons.ok("ListTagResources", &[("ResourceType", "TOPIC"), ("InstanceId", i)]).await;
    assert_eq!(rows(&topics), vec![row("TOPIC", "t1", "env", "prod"), row("TOPIC", "t2", "env", "dev")]);
    let filtered = ons
        .ok(
            "ListTagResources",
            &[("ResourceType", "TOPIC"), ("InstanceId", i), ("Tag.1.Key", "env"), ("Tag.1.Value", "dev")],
        )
        .await;
    assert_eq!(rows(&filtered), vec![row("TOPIC", "t2", "env", "dev")]);
    let by_id =
        ons.ok("ListTagResources", &[("ResourceType", "TOPIC"), ("InstanceId", i), ("ResourceId.1", "t1")]).await;
    assert_eq!(rows(&by_id), vec![row("TOPIC", "t1", "env", "prod")]);
    let groups = ons.ok("ListTagResources", &[("ResourceType", "GROUP"), ("InstanceId", i)]).await;
    assert_eq!(rows(&groups), vec![row("GROUP", "GID_g1", "team", "")]);

    // The resource lists carry the tags and filter by them (every filter tag; an empty value: any value).
    let insts = ons.ok("OnsInstanceInServiceList", &[("Tag.1.Key", "team"), ("Tag.1.Value", "pay")]).await;
    let vos = insts["Data"]["InstanceVO"].as_array().unwrap();
    assert_eq!(vos.len(), 1, "{insts}");
    assert_eq!(vos[0]["InstanceId"], i);
    assert_eq!(
        vos[0]["Tags"]["Tag"],
        serde_json::json!([{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "pay"}])
    );
    let all = ons.ok("OnsInstanceInServiceList", &[]).await;
    assert_eq!(all["Data"]["InstanceVO"].as_array().unwrap().len(), 2);
    let plain =
        all["Data"]["InstanceVO"].as_array().unwrap().iter().find(|v| v["InstanceId"] == other.as_str()).cloned();
    assert_eq!(plain.unwrap()["Tags"]["Tag"], serde_json::json!([]));
    let t = ons.ok("OnsTopicList", &[("InstanceId", i), ("Tag.1.Key", "env")]).await;
    assert_eq!(t["Data"]["PublishInfoDo"].as_array().unwrap().len(), 2);
    let t = ons.ok("OnsTopicList", &[("InstanceId", i), ("Tag.1.Key", "env"), ("Tag.1.Value", "prod")]).await;
    let names: Vec<&str> =
        t["Data"]["PublishInfoDo"].as_array().unwrap().iter().map(|x| x["Topic"].as_str().unwrap()).collect();
    assert_eq!(names, ["t1"]);
    let g = ons.ok("OnsGroupList", &[("InstanceId", i), ("Tag.1.Key", "team")]).await;
    assert_eq!(g["Data"]["SubscribeInfoDo"][0]["Tags"]["Tag"][0]["Key"], "team");
    let g = ons.ok("OnsGroupList", &[("InstanceId", i), ("Tag.1.Key", "env")]).await;
    assert_eq!(g["Data"]["SubscribeInfoDo"].as_array().unwrap().len(), 0);

    // Untag: named keys (unknown ones ignored), then All.
    ons.ok(
        "UntagResources",
        &[("ResourceType", "INSTANCE"), ("ResourceId.1", i), ("TagKey.1", "env"), ("TagKey.2", "nope")],
    )
    .await;
    let listed = ons.ok("ListTagResources", &[("ResourceType", "INSTANCE")]).await;
    assert_eq!(rows(&listed), vec![row("INSTANCE", i, "team", "pay")]);
    // Neither keys nor All: nothing is removed.
    ons.ok("UntagResources", &[("ResourceType", "INSTANCE"), ("ResourceId.1", i)]).await;
    assert_eq!(rows(&ons.ok("ListTagResources", &[("ResourceType", "INSTANCE")]).await).len(), 1);
    ons.ok("UntagResources", &[("ResourceType", "INSTANCE"), ("ResourceId.1", i), ("All", "true")]).await;
    assert!(rows(&ons.ok("ListTagResources", &[("ResourceType", "INSTANCE")]).await).is_empty());

    // Deleting a topic deletes its tags.
    ons.ok("OnsTopicDelete", &[("InstanceId", i), ("Topic", "t1")]).await;
    let topics = ons.ok("ListTagResources", &[("ResourceType", "TOPIC"), ("InstanceId", i)]).await;
    assert_eq!(rows(&topics), vec![row("TOPIC", "t2", "env", "dev")]);
}

#[tokio::test]
async fn tag_limits_and_errors() {
    let srv = common::start().await;
    let ons = Ons::new(&srv);
    let id = ons.create_instance("limits-inst").await;
    let i = id.as_str();
    for t in ["a1", "a2", "a3"] {
        ons.ok("OnsTopicCreate", &[("InstanceId", i), ("Topic", t), ("MessageType", "0")]).await;
    }
    let kv: Vec<(String, String)> = (1..=20)
        .flat_map(|n| [(format!("Tag.{n}.Key"), format!("k{n:02}")), (format!("Tag.{n}.Value"), "v".to_string())])
        .collect();
    let mut p: Vec<(&str, &str)> = vec![
        ("ResourceType", "TOPIC"),
        ("InstanceId", i),
        ("ResourceId.1", "a1"),
        ("ResourceId.2", "a2"),
        ("ResourceId.3", "a3"),
    ];
    p.extend(kv.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    ons.ok("TagResources", &p).await;

    // 60 rows: a page of 50 and a NextToken, then the last 10.
    let first = ons.ok("ListTagResources", &[("ResourceType", "TOPIC"), ("InstanceId", i)]).await;
    assert_eq!(first["TagResources"].as_array().unwrap().len(), 50);
    let token = first["NextToken"].as_str().expect("a next page").to_string();
    let second =
        ons.ok("ListTagResources", &[("ResourceType", "TOPIC"), ("InstanceId", i), ("NextToken", &token)]).await;
    assert_eq!(second["TagResources"].as_array().unwrap().len(), 10);
    assert!(second.get("NextToken").is_none());
    assert_error(
        &ons.call("ListTagResources", &[("ResourceType", "TOPIC"), ("InstanceId", i), ("NextToken", "x")]).await,
        400,
        "InvalidParameter",
    );

    // A 21st tag on a resource is refused, and nothing changes on any target (all or nothing).
    let over = [
        ("ResourceType", "TOPIC"),
        ("InstanceId", i),
        ("ResourceId.1", "a1"),
        ("Tag.1.Key", "k21"),
        ("Tag.1.Value", "v"),
    ];
    assert_error(&ons.call("TagResources", &over).await, 400, "QuotaExceed.TagsPerResource");
    // More than 20 tags in one request.
    let mut too_many = p.clone();
    too_many.extend([("Tag.21.Key", "k21"), ("Tag.21.Value", "v")]);
    assert_error(&ons.call("TagResources", &too_many).await, 400, "InvalidParameter");
    let one = |kind: &'static str, rid: &'static str, k: &'static str, v: &'static str| -> Vec<(&str, &str)> {
        vec![("ResourceType", kind), ("InstanceId", i), ("ResourceId.1", rid), ("Tag.1.Key", k), ("Tag.1.Value", v)]
    };
    for (params, status, code) in [
        (one("QUEUE", "a1", "k", "v"), 400, "InvalidParameter"),
        (one("TOPIC", "a1", "aliyun:k", "v"), 400, "InvalidParameter"),
        (one("TOPIC", "a1", "acs:k", "v"), 400, "InvalidParameter"),
        (one("TOPIC", "a1", "k", "see http://x"), 400, "InvalidParameter"),
        (one("TOPIC", "missing", "k", "v"), 404, "BIZ_TOPIC_NOT_FOUND"),
        (one("GROUP", "GID_missing", "k", "v"), 404, "BIZ_SUBSCRIPTION_NOT_FOUND"),
        (one("INSTANCE", "MQ_INST_1_missing", "k", "v"), 404, "AUTH_RESOURCE_OWNER_ERROR"),
    ] {
        assert_error(&ons.call("TagResources", &params).await, status, code);
    }
    let long = "x".repeat(129);
    for (k, v) in [(long.as_str(), "v"), ("k", long.as_str())] {
        let p = [
            ("ResourceType", "TOPIC"),
            ("InstanceId", i),
            ("ResourceId.1", "a1"),
            ("Tag.1.Key", k),
            ("Tag.1.Value", v),
        ];
        assert_error(&ons.call("TagResources", &p).await, 400, "InvalidParameter");
    }
    assert_error(
        &ons.call("TagResources", &[("ResourceType", "TOPIC"), ("ResourceId.1", "a1"), ("Tag.1.Key", "k")]).await,
        400,
        "MissingParameter",
    );
    assert_error(
        &ons.call("TagResources", &[("ResourceType", "INSTANCE"), ("ResourceId.1", i)]).await,
        400,
        "MissingParameter",
    );
    assert_error(
        &ons.call("TagResources", &[("ResourceType", "INSTANCE"), ("Tag.1.Key", "k")]).await,
        400,
        "MissingParameter",
    );
    assert_error(&ons.call("ListTagResources", &[]).await, 400, "MissingParameter");
    assert_error(
        &ons.call("UntagResources", &[("ResourceType", "TOPIC"), ("InstanceId", i), ("ResourceId.1", "nope")]).await,
        404,
        "BIZ_TOPIC_NOT_FOUND",
    );
}

#[tokio::test]
async fn group_type_round_trips_and_filters() {
    let srv = common::start().await;
    let ons = Ons::new(&srv);
    let id = ons.create_instance("types-inst").await;
    let i = id.as_str();
    ons.ok("OnsGroupCreate", &[("InstanceId", i), ("GroupId", "GID_http"), ("GroupType", "http")]).await;
    ons.ok("OnsGroupCreate", &[("InstanceId", i), ("GroupId", "GID_tcp"), ("GroupType", "tcp")]).await;
    ons.ok("OnsGroupCreate", &[("InstanceId", i), ("GroupId", "GID_default")]).await;
    let types = |v: &Value| -> Vec<(String, String)> {
        v["Data"]["SubscribeInfoDo"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["GroupId"].as_str().unwrap().to_string(), g["GroupType"].as_str().unwrap().to_string()))
            .collect()
    };
    let all = ons.ok("OnsGroupList", &[("InstanceId", i)]).await;
    assert_eq!(
        types(&all),
        vec![
            ("GID_default".into(), "tcp".into()),
            ("GID_http".into(), "http".into()),
            ("GID_tcp".into(), "tcp".into())
        ]
    );
    let http = ons.ok("OnsGroupList", &[("InstanceId", i), ("GroupType", "http")]).await;
    assert_eq!(types(&http), vec![("GID_http".to_string(), "http".to_string())]);
    let tcp = ons.ok("OnsGroupList", &[("InstanceId", i), ("GroupType", "tcp")]).await;
    assert_eq!(types(&tcp).len(), 2);
    assert_error(&ons.call("OnsGroupList", &[("InstanceId", i), ("GroupType", "udp")]).await, 400, "InvalidParameter");

    // The `/json` Open API sees the HTTP group too (one engine), and its deletion there reaches ONS.
    let groups = json_get(&srv, "group/list", &[("instanceId", i)]).await;
    let listed = groups["data"].as_array().unwrap_or_else(|| panic!("{groups}"));
    assert!(listed.iter().any(|g| g["groupId"] == "GID_http"), "{groups}");
    let deleted = json_get(&srv, "group/delete", &[("instanceId", i), ("groupId", "GID_http")]).await;
    assert_eq!(deleted["code"], 200, "{deleted}");
    let http = ons.ok("OnsGroupList", &[("InstanceId", i), ("GroupType", "http")]).await;
    assert!(types(&http).is_empty());
}

#[tokio::test]
async fn traces_details_and_pushes() {
    let srv = common::start().await;
    let ons = Ons::new(&srv);
    let id = ons.create_instance("trace-inst").await;
    let i = id.as_str();
    ons.ok("OnsTopicCreate", &[("InstanceId", i), ("Topic", "orders"), ("MessageType", "0")]).await;
    ons.ok("OnsGroupCreate", &[("InstanceId", i), ("GroupId", "GID_ok")]).await;
    ons.ok("OnsGroupCreate", &[("InstanceId", i), ("GroupId", "GID_fail")]).await;
    let (first, second) = {
        let model = srv.state.store.rocketmq.read();
        model.subscribe(i, "GID_ok", "orders", "*").unwrap();
        model.subscribe(i, "GID_fail", "orders", "*").unwrap();
        model.connect_consumer(i, "GID_ok", ConsumerClient::new("c1@1", "10.0.0.1", &[("orders", "*")])).unwrap();
        let first = model.send(i, "orders", NewMessage::new("TagA", "order-7", "first")).unwrap();
        let second = model.send(i, "orders", NewMessage::new("TagB", "order-7", "second")).unwrap();
        assert_eq!(model.deliver(i, "GID_ok", "orders", 10).unwrap().len(), 2);
        assert_eq!(model.deliver(i, "GID_fail", "orders", 1).unwrap().len(), 1);
        model.consume_failed(i, "GID_fail", &first).unwrap();
        (first, second)
    };

    // OnsMessageDetail: the body as Base64 and text, the properties as a list.
    let d = ons.ok("OnsMessageDetail", &[("InstanceId", i), ("Topic", "orders"), ("MsgId", &first)]).await;
    assert_eq!(d["Data"]["MsgId"], first.as_str());
    assert_eq!(d["Data"]["BodyStr"], "first");
    assert_eq!(d["Data"]["Body"], "Zmlyc3Q=");
    assert_eq!(d["Data"]["InstanceId"], i);
    let props = d["Data"]["PropertyList"].as_array().unwrap();
    assert!(props.iter().any(|p| p["Name"] == "TAGS" && p["Value"] == "TagA"), "{d}");
    assert_error(
        &ons.call("OnsMessageDetail", &[("InstanceId", i), ("Topic", "orders"), ("MsgId", "0A00")]).await,
        400,
        "BIZ_NO_MESSAGE",
    );
    assert_error(
        &ons.call("OnsMessageDetail", &[("InstanceId", i), ("Topic", "nope"), ("MsgId", &first)]).await,
        404,
        "BIZ_TOPIC_NOT_FOUND",
    );
    assert_error(
        &ons.call("OnsMessageDetail", &[("InstanceId", i), ("Topic", "orders")]).await,
        400,
        "MissingParameter",
    );

    let now = common::unix_now() * 1000;
    let (begin, end) = ((now - 60_000).to_string(), (now + 60_000).to_string());
    let range = [("BeginTime", begin.as_str()), ("EndTime", end.as_str())];
    let mut p = vec![("InstanceId", i), ("Topic", "orders"), ("MsgKey", "order-7")];
    p.extend(range);
    let q = ons.ok("OnsTraceQueryByMsgKey", &p).await;
    let query = q["QueryId"].as_str().unwrap().to_string();
    let r = ons.ok("OnsTraceGetResult", &[("QueryId", &query)]).await;
    let data = &r["TraceData"];
    assert_eq!(data["QueryId"], query.as_str());
    assert_eq!(data["Status"], "finish");
    assert_eq!(data["InstanceId"], i);
    assert_eq!(data["MsgKey"], "order-7");
    let traces = data["TraceList"]["TraceMapDo"].as_array().unwrap();
    let ids: Vec<&str> = traces.iter().map(|t| t["MsgId"].as_str().unwrap()).collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    assert_eq!(traces[0]["Tag"], "TagA");
    assert_eq!(traces[0]["Status"], "SEND_SUCCESS");
    let subs = |t: &Value| -> Vec<(String, u64, u64)> {
        t["SubList"]["SubMapDo"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["SubGroupName"].as_str().unwrap().into(),
                    s["SuccessCount"].as_u64().unwrap(),
                    s["FailCount"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(subs(&traces[0]), vec![("GID_fail".into(), 1, 1), ("GID_ok".into(), 1, 0)]);
    assert_eq!(subs(&traces[1]), vec![("GID_fail".into(), 0, 0), ("GID_ok".into(), 1, 0)]);
    let client = &traces[0]["SubList"]["SubMapDo"][1]["ClientList"]["SubClientInfoDo"][0];
    assert_eq!(client["Status"], "CONSUME_SUCCESS", "{client}");

    // By id: one message; out of range or unknown: BIZ_NO_MESSAGE; a foreign or broken QueryId: refused.
    let mut p = vec![("InstanceId", i), ("Topic", "orders"), ("MsgId", second.as_str())];
    p.extend(range);
    let q = ons.ok("OnsTraceQueryByMsgId", &p).await;
    let r = ons.ok("OnsTraceGetResult", &[("QueryId", q["QueryId"].as_str().unwrap())]).await;
    assert_eq!(r["TraceData"]["MsgId"], second.as_str());
    assert_eq!(r["TraceData"]["TraceList"]["TraceMapDo"].as_array().unwrap().len(), 1);
    let old = [("BeginTime", "1000"), ("EndTime", "2000")];
    let mut p = vec![("InstanceId", i), ("Topic", "orders"), ("MsgKey", "order-7")];
    p.extend(old);
    assert_error(&ons.call("OnsTraceQueryByMsgKey", &p).await, 400, "BIZ_NO_MESSAGE");
    let mut p =
        vec![("InstanceId", i), ("Topic", "orders"), ("MsgKey", "order-7"), ("BeginTime", "3000"), ("EndTime", "2000")];
    assert_error(&ons.call("OnsTraceQueryByMsgKey", &p).await, 400, "InvalidParameter");
    p.truncate(3);
    assert_error(&ons.call("OnsTraceQueryByMsgKey", &p).await, 400, "MissingParameter");
    assert_error(&ons.call("OnsTraceGetResult", &[("QueryId", "garbage!")]).await, 400, "InvalidParameter");
    assert_error(&ons.call("OnsTraceGetResult", &[]).await, 400, "MissingParameter");

    // OnsMessagePush: to a connected client; it shows in the trace as one more consumption.
    let ons_ref = &ons;
    let push = |group: &'static str, client: &'static str, msg: String| async move {
        let p =
            [("InstanceId", i), ("Topic", "orders"), ("GroupId", group), ("ClientId", client), ("MsgId", msg.as_str())];
        ons_ref.call("OnsMessagePush", &p).await
    };
    let ok = push("GID_ok", "c1@1", second.clone()).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let r = ons.ok("OnsTraceGetResult", &[("QueryId", q["QueryId"].as_str().unwrap())]).await;
    assert_eq!(
        subs(&r["TraceData"]["TraceList"]["TraceMapDo"][0]),
        vec![("GID_fail".into(), 0, 0), ("GID_ok".into(), 2, 0)]
    );
    assert_error(&push("GID_ok", "c9@9", second.clone()).await, 400, "BIZ_CONSUMER_NOT_ONLINE");
    assert_error(&push("GID_fail", "c1@1", second.clone()).await, 400, "BIZ_CONSUMER_NOT_ONLINE");
    assert_error(&push("GID_none", "c1@1", second.clone()).await, 404, "BIZ_SUBSCRIPTION_NOT_FOUND");
    assert_error(&push("GID_ok", "c1@1", "0A00".into()).await, 400, "BIZ_NO_MESSAGE");
    assert_error(&ons.call("OnsMessagePush", &[("InstanceId", i), ("Topic", "orders")]).await, 400, "MissingParameter");
}

/// `/json` and ONS see the same instances, topics and groups, in both directions.
#[tokio::test]
async fn json_api_and_ons_share_topics_groups_and_deletions() {
    let srv = common::start().await;
    let ons = Ons::new(&srv);
    let id = ons.create_instance("cross-inst").await;
    let i = id.as_str();
    let created = json_get(
        &srv,
        "topic/create",
        &[("instanceId", i), ("topic", "from_json"), ("orderType", "0"), ("remark", "r")],
    )
    .await;
    assert_eq!(created["code"], 200, "{created}");
    let listed = ons.ok("OnsTopicList", &[("InstanceId", i)]).await;
    assert_eq!(listed["Data"]["PublishInfoDo"][0]["Topic"], "from_json");
    // ONS tags the `/json` topic; ONS deletes it, and `/json` no longer finds it.
    ons.ok(
        "TagResources",
        &[("ResourceType", "TOPIC"), ("InstanceId", i), ("ResourceId.1", "from_json"), ("Tag.1.Key", "k")],
    )
    .await;
    ons.ok("OnsTopicDelete", &[("InstanceId", i), ("Topic", "from_json")]).await;
    let gone = json_get(&srv, "topic/get", &[("instanceId", i), ("topic", "from_json")]).await;
    assert_eq!(gone["success"], false, "{gone}");
    // A topic of that name starts without tags.
    let again = json_get(
        &srv,
        "topic/create",
        &[("instanceId", i), ("topic", "from_json"), ("orderType", "0"), ("remark", "r")],
    )
    .await;
    assert_eq!(again["code"], 200, "{again}");
    assert!(rows(&ons.ok("ListTagResources", &[("ResourceType", "TOPIC"), ("InstanceId", i)]).await).is_empty());
    // An instance deleted on `/json` is gone for ONS.
    ons.ok("OnsTopicDelete", &[("InstanceId", i), ("Topic", "from_json")]).await;
    let deleted = json_get(&srv, "instance/delete", &[("instanceId", i)]).await;
    assert_eq!(deleted["code"], 200, "{deleted}");
    assert_error(&ons.call("OnsInstanceBaseInfo", &[("InstanceId", i)]).await, 404, "AUTH_RESOURCE_OWNER_ERROR");
    assert_error(
        &ons.call("ListTagResources", &[("ResourceType", "TOPIC"), ("InstanceId", i)]).await,
        404,
        "AUTH_RESOURCE_OWNER_ERROR",
    );
}

/// Tags and group types belong to the stored resources: a state export carries them, and a server that
/// imports it answers the same lists (the journal stores the same resource documents).
#[tokio::test]
async fn tags_and_group_types_travel_with_the_state() {
    let srv = common::start().await;
    let ons = Ons::new(&srv);
    let id = ons.create_instance("stored-inst").await;
    let i = id.as_str();
    ons.ok("OnsTopicCreate", &[("InstanceId", i), ("Topic", "kept"), ("MessageType", "0")]).await;
    ons.ok("OnsGroupCreate", &[("InstanceId", i), ("GroupId", "GID_kept"), ("GroupType", "http")]).await;
    for (kind, rid) in [("INSTANCE", i), ("TOPIC", "kept"), ("GROUP", "GID_kept")] {
        let p = [
            ("ResourceType", kind),
            ("InstanceId", i),
            ("ResourceId.1", rid),
            ("Tag.1.Key", "k"),
            ("Tag.1.Value", kind),
        ];
        ons.ok("TagResources", &p).await;
    }
    let before = [
        rows(&ons.ok("ListTagResources", &[("ResourceType", "INSTANCE")]).await),
        rows(&ons.ok("ListTagResources", &[("ResourceType", "TOPIC"), ("InstanceId", i)]).await),
        rows(&ons.ok("ListTagResources", &[("ResourceType", "GROUP"), ("InstanceId", i)]).await),
    ];
    assert_eq!(before.iter().map(Vec::len).sum::<usize>(), 3);
    let state: Value =
        srv.client.get(format!("{}/_localyun/state", srv.base)).send().await.unwrap().json().await.unwrap();

    let other = common::start().await;
    let imported = other.client.post(format!("{}/_localyun/state", other.base)).json(&state).send().await.unwrap();
    assert_eq!(imported.status(), 200);
    let ons = Ons::new(&other);
    let after = [
        rows(&ons.ok("ListTagResources", &[("ResourceType", "INSTANCE")]).await),
        rows(&ons.ok("ListTagResources", &[("ResourceType", "TOPIC"), ("InstanceId", i)]).await),
        rows(&ons.ok("ListTagResources", &[("ResourceType", "GROUP"), ("InstanceId", i)]).await),
    ];
    assert_eq!(after, before);
    let groups = ons.ok("OnsGroupList", &[("InstanceId", i), ("GroupType", "http")]).await;
    assert_eq!(groups["Data"]["SubscribeInfoDo"][0]["GroupId"], "GID_kept");
}
