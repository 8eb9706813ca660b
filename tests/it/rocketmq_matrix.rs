//! RocketMQ `/json` Open API: the route x case matrix. For every route of seed section 2.6 a validation
//! failure and an unknown resource (and a duplicate where the route can conflict) with the exact documented
//! code; every refused request leaves the model unchanged. Also: accounts never reach each other's instances,
//! and malformed input (non-UTF-8, huge numbers and strings, unknown routes and methods) is a client error.

use crate::common;
use crate::rocketmq_support;

use localyun::engine::rocketmq::{ConsumerClient, NewMessage};
use rocketmq_support::*;
use serde_json::Value;

const FIELD: &str = "BIZ_FIELD_CHECK_INVALID";
const TOPIC_NF: &str = "BIZ_TOPIC_NOT_FOUND";
const SUB_NF: &str = "BIZ_SUBSCRIPTION_NOT_FOUND";
const GID_NF: &str = "BIZ_PUBLISH_INFO_NOT_FOUND";
const NO_MSG: &str = "BIZ_NO_MESSAGE";

/// The world every case runs against: account A's default instance `{I}` with topic `T_x`, group `GID_x`
/// (online, subscribed to `T_x`), message `{M}` with key `k1`, and a grant of `T_x` to user `300000000003`;
/// account B's default instance `{B}`.
struct World {
    api: Api,
    instance: String,
    instance_b: String,
    msg_id: String,
}

async fn world() -> World {
    let api = Api::start().await;
    let instance = api.default_instance();
    let instance_b = api.instance_of(ACCOUNT_B);
    api.create_topic(&instance, "T_x", "0").await;
    api.create_group(&instance, "GID_x").await;
    let msg_id = {
        let model = api.srv.state.store.rocketmq.write();
        model.connect_consumer(&instance, "GID_x", ConsumerClient::new("c1", "10.0.0.5", &[("T_x", "*")])).unwrap();
        model.send(&instance, "T_x", NewMessage::new("a", "k1", "body")).unwrap()
    };
    let (_, body) = api
        .get(
            "empower/create",
            &[("instanceId", &instance), ("topic", "T_x"), ("empowerUser", "300000000003"), ("relation", "6")],
        )
        .await;
    assert_ok(&body);
    World { api, instance, instance_b, msg_id }
}

impl World {
    fn fill(&self, v: &str) -> String {
        v.replace("{I}", &self.instance).replace("{B}", &self.instance_b).replace("{M}", &self.msg_id)
    }

    fn snapshot(&self) -> Value {
        serde_json::to_value(&*self.api.srv.state.store.rocketmq.read()).unwrap()
    }

    /// Sends one case as account A and asserts its exact code and that nothing changed.
    async fn refused(&self, route: &str, params: &[(&str, &str)], code: &str) {
        self.refused_via(route, params, code, Call::default()).await
    }

    async fn refused_via(&self, route: &str, params: &[(&str, &str)], code: &str, call: Call<'_>) {
        let filled: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), self.fill(v))).collect();
        let pairs: Vec<(&str, &str)> = filled.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let before = self.snapshot();
        let response = self.api.send(route, &pairs, call).await;
        assert_eq!(response.1["dynamicCode"], code, "{route}: {}", response.1);
        assert_err(&response, code);
        assert_eq!(self.snapshot(), before, "{route} {params:?} changed the model");
    }
}

const NOW_RANGE: [(&str, &str); 2] = [("beginTime", "0"), ("endTime", "9999999999999")];

/// (route, parameters, expected code): a validation failure per route.
fn validation_cases() -> Vec<(&'static str, Vec<(&'static str, &'static str)>, &'static str)> {
    let trend = |extra: (&'static str, &'static str)| {
        let mut p = vec![("topic", "T_x"), ("groupId", "GID_x"), ("period", "1"), ("type", "0")];
        p.extend(NOW_RANGE);
        p.retain(|(k, _)| *k != extra.0);
        p.push(extra);
        p
    };
    vec![
        // region/list takes only common parameters: a __preventCache that is not a Long.
        ("region/list", vec![("__preventCache", "soon")], FIELD),
        ("cluster/list", vec![("__preventCache", "soon")], FIELD),
        ("vpcTunnel/tunnelSwitch", vec![("instanceId", "{I}"), ("tunnelType", "bogus")], FIELD),
        ("instance/baseInfo", vec![], FIELD),
        (
            "instance/create",
            vec![
                ("cluster", "localyun-cluster"),
                ("instanceName", "ab"),
                ("independentNaming", "true"),
                ("maxSendTps", "10"),
                ("maxReceiveTps", "10"),
            ],
            FIELD,
        ),
        ("instance/delete", vec![], FIELD),
        ("instance/list", vec![("__preventCache", "soon")], FIELD),
        ("instance/update", vec![("instanceId", "{I}"), ("instanceName", "ab")], FIELD),
        ("topic/create", vec![("topic", "GID_topic"), ("orderType", "0")], FIELD),
        ("topic/create", vec![("topic", "T_new"), ("orderType", "3")], FIELD),
        ("topic/delete", vec![], FIELD),
        ("topic/get", vec![], FIELD),
        ("topic/listInPage", vec![("instanceId", "{I}"), ("pageSize", "101")], FIELD),
        ("topic/listInPage", vec![("instanceId", "{I}"), ("currentPage", "0")], FIELD),
        ("topic/listInPage", vec![("instanceId", "{I}"), ("pageSize", "99999999999999999999999")], FIELD),
        ("topic/update", vec![("topic", "T_x"), ("perm", "5")], FIELD),
        ("topic/listNames", vec![("__preventCache", "soon")], FIELD),
        ("topic/subDetail", vec![], FIELD),
        ("group/create", vec![("instanceId", "{I}"), ("groupId", "XID_group")], FIELD),
        ("group/create", vec![("instanceId", "{I}"), ("groupId", "CID_legacy")], FIELD),
        ("group/create", vec![("groupId", "GID_new")], FIELD),
        ("group/delete", vec![], FIELD),
        ("group/list", vec![("__preventCache", "soon")], FIELD),
        ("group/subDetail", vec![], FIELD),
        ("group/consumerUpdate", vec![("groupId", "GID_x"), ("readEnable", "maybe")], FIELD),
        ("consumer/accumulate", vec![("groupId", "GID_x"), ("detail", "maybe")], FIELD),
        ("consumer/status", vec![], FIELD),
        ("consumer/getConnection", vec![], FIELD),
        ("consumer/timespan", vec![("groupId", "GID_x")], FIELD),
        ("consumer/resetOffset", vec![("groupId", "GID_x"), ("topic", "T_x"), ("type", "2")], FIELD),
        ("consumer/resetOffset", vec![("groupId", "GID_x"), ("topic", "T_x"), ("type", "1")], FIELD),
        ("message/trace", vec![("topic", "T_x")], FIELD),
        ("message/getById", vec![("topic", "T_x")], FIELD),
        ("message/getByKey", vec![("topic", "T_x")], FIELD),
        (
            "message/getByPagedTopic",
            vec![("topic", "T_x"), ("beginTime", "2"), ("endTime", "1"), ("currentPage", "1")],
            FIELD,
        ),
        ("trend/topicInputTps", trend(("period", "2")), FIELD),
        // A range whose length does not fit an i64 is refused, not overflowed.
        ("trend/topicInputTps", trend(("beginTime", "-9223372036854775808")), FIELD),
        ("trend/groupOutputTps", trend(("type", "3")), FIELD),
        ("trend/groupOutputTps", trend(("beginTime", "-9223372036854775808")), FIELD),
        (
            "empower/create",
            vec![("instanceId", "{I}"), ("topic", "T_x"), ("empowerUser", "not-digits"), ("relation", "6")],
            FIELD,
        ),
        (
            "empower/create",
            vec![("instanceId", "{I}"), ("topic", "T_x"), ("empowerUser", "400000000004"), ("relation", "3")],
            FIELD,
        ),
        (
            "empower/createBySub",
            vec![("instanceId", "{I}"), ("topic", "T_x"), ("empowerUser", "a b"), ("relation", "6")],
            FIELD,
        ),
        ("empower/delete", vec![("instanceId", "{I}"), ("topic", "T_x")], FIELD),
        ("empower/list", vec![("instanceId", "{I}"), ("empowerUser", "300000000003")], FIELD),
        ("message/getByIdInDLQ", vec![("GroupId", "GID_x")], FIELD),
        ("message/getByPagedDLQ", vec![("GroupId", "GID_x"), ("BeginTime", "0"), ("CurrentPage", "1")], FIELD),
        ("message/resendByIdInDLQ", vec![("GroupId", "GID_x")], FIELD),
    ]
}

/// An unknown resource per route (an unknown instance is a field error: the seed has no instance code).
fn unknown_cases() -> Vec<(&'static str, Vec<(&'static str, &'static str)>, &'static str)> {
    let trend = |topic: &'static str, group: &'static str| {
        vec![
            ("topic", topic),
            ("groupId", group),
            ("period", "10"),
            ("type", "0"),
            ("beginTime", "0"),
            ("endTime", "60000"),
        ]
    };
    vec![
        ("region/list", vec![("_regionId", "cn-nowhere")], "ignored"),
        ("cluster/list", vec![("_regionId", "cn-nowhere")], "BIZ_REGION_NOT_FOUND"),
        ("vpcTunnel/tunnelSwitch", vec![("instanceId", "MQ_INST_none"), ("tunnelType", "anyTunnel")], FIELD),
        ("instance/baseInfo", vec![("instanceId", "MQ_INST_none")], FIELD),
        (
            "instance/create",
            vec![
                ("cluster", "no-such-cluster"),
                ("instanceName", "fresh-one"),
                ("independentNaming", "true"),
                ("maxSendTps", "10"),
                ("maxReceiveTps", "10"),
            ],
            FIELD,
        ),
        ("instance/delete", vec![("instanceId", "MQ_INST_none")], FIELD),
        ("instance/list", vec![("_regionId", "cn-nowhere")], "BIZ_REGION_NOT_FOUND"),
        ("instance/update", vec![("instanceId", "MQ_INST_none"), ("remark", "r")], FIELD),
        ("topic/create", vec![("instanceId", "MQ_INST_none"), ("topic", "T_new"), ("orderType", "0")], FIELD),
        ("topic/delete", vec![("topic", "T_none")], TOPIC_NF),
        ("topic/get", vec![("topic", "T_none")], TOPIC_NF),
        ("topic/listInPage", vec![("instanceId", "MQ_INST_none")], FIELD),
        ("topic/update", vec![("topic", "T_none"), ("perm", "6")], TOPIC_NF),
        ("topic/listNames", vec![("instanceId", "MQ_INST_none")], FIELD),
        ("topic/subDetail", vec![("topic", "T_none")], TOPIC_NF),
        ("group/create", vec![("instanceId", "MQ_INST_none"), ("groupId", "GID_new")], FIELD),
        ("group/delete", vec![("groupId", "GID_none")], GID_NF),
        ("group/list", vec![("instanceId", "MQ_INST_none")], FIELD),
        ("group/subDetail", vec![("groupId", "GID_none")], SUB_NF),
        ("group/consumerUpdate", vec![("groupId", "GID_none"), ("readEnable", "true")], GID_NF),
        ("consumer/accumulate", vec![("groupId", "GID_none")], SUB_NF),
        ("consumer/status", vec![("groupId", "GID_none")], SUB_NF),
        ("consumer/getConnection", vec![("groupId", "GID_none")], SUB_NF),
        ("consumer/timespan", vec![("groupId", "GID_none"), ("topic", "T_x")], SUB_NF),
        ("consumer/resetOffset", vec![("groupId", "GID_none"), ("topic", "T_x"), ("type", "0")], SUB_NF),
        ("message/trace", vec![("topic", "T_x"), ("msgId", "0000")], NO_MSG),
        ("message/trace", vec![("topic", "T_none"), ("msgId", "{M}")], TOPIC_NF),
        ("message/getById", vec![("topic", "T_x"), ("msgId", "0000")], NO_MSG),
        ("message/getById", vec![("topic", "T_none"), ("msgId", "{M}")], TOPIC_NF),
        ("message/getByKey", vec![("topic", "T_x"), ("key", "no-key")], NO_MSG),
        ("message/getByKey", vec![("topic", "T_none"), ("key", "k1")], TOPIC_NF),
        (
            "message/getByPagedTopic",
            vec![("topic", "T_none"), ("currentPage", "1"), NOW_RANGE[0], NOW_RANGE[1]],
            TOPIC_NF,
        ),
        (
            "message/getByPagedTopic",
            vec![("topic", "T_x"), ("currentPage", "1"), ("beginTime", "0"), ("endTime", "1")],
            NO_MSG,
        ),
        ("trend/topicInputTps", trend("T_none", "GID_x"), TOPIC_NF),
        ("trend/groupOutputTps", trend("T_x", "GID_none"), SUB_NF),
        (
            "empower/create",
            vec![("instanceId", "{I}"), ("topic", "T_none"), ("empowerUser", "400000000004"), ("relation", "6")],
            TOPIC_NF,
        ),
        (
            "empower/createBySub",
            vec![("instanceId", "{I}"), ("topic", "T_none"), ("empowerUser", "sub-user"), ("relation", "6")],
            TOPIC_NF,
        ),
        ("empower/delete", vec![("instanceId", "{I}"), ("topic", "T_none"), ("empowerUser", "300000000003")], TOPIC_NF),
        // Revoking a grant that does not exist.
        ("empower/delete", vec![("instanceId", "{I}"), ("topic", "T_x"), ("empowerUser", "400000000004")], FIELD),
        ("empower/list", vec![("instanceId", "{I}"), ("topic", "T_none"), ("empowerUser", "300000000003")], TOPIC_NF),
        ("message/getByIdInDLQ", vec![("GroupId", "GID_none"), ("MsgId", "{M}")], SUB_NF),
        ("message/getByIdInDLQ", vec![("GroupId", "GID_x"), ("MsgId", "{M}")], NO_MSG),
        (
            "message/getByPagedDLQ",
            vec![("GroupId", "GID_none"), ("BeginTime", "0"), ("EndTime", "9999999999999"), ("CurrentPage", "1")],
            SUB_NF,
        ),
        (
            "message/getByPagedDLQ",
            vec![("GroupId", "GID_x"), ("BeginTime", "0"), ("EndTime", "9999999999999"), ("CurrentPage", "1")],
            NO_MSG,
        ),
        ("message/resendByIdInDLQ", vec![("GroupId", "GID_none"), ("MsgId", "{M}")], SUB_NF),
        ("message/resendByIdInDLQ", vec![("GroupId", "GID_x"), ("MsgId", "{M}")], NO_MSG),
    ]
}

/// Every route that can conflict with an existing resource.
fn duplicate_cases() -> Vec<(&'static str, Vec<(&'static str, &'static str)>, &'static str)> {
    vec![
        (
            "instance/create",
            vec![
                ("cluster", "localyun-cluster"),
                ("instanceName", "localyun-default"),
                ("independentNaming", "true"),
                ("maxSendTps", "10"),
                ("maxReceiveTps", "10"),
            ],
            FIELD,
        ),
        // A second instance without a namespace in the region.
        (
            "instance/create",
            vec![
                ("cluster", "localyun-cluster"),
                ("instanceName", "second-plain"),
                ("independentNaming", "false"),
                ("maxSendTps", "10"),
                ("maxReceiveTps", "10"),
            ],
            FIELD,
        ),
        ("instance/update", vec![("instanceId", "{I}"), ("instanceName", "{NS}")], FIELD),
        ("topic/create", vec![("topic", "T_x"), ("orderType", "0")], "BIZ_TOPIC_EXISTED"),
        ("group/create", vec![("instanceId", "{I}"), ("groupId", "GID_x")], "BIZ_SUBSCRIPTION_EXISTED"),
        (
            "empower/create",
            vec![("instanceId", "{I}"), ("topic", "T_x"), ("empowerUser", "300000000003"), ("relation", "4")],
            "EMPOWER_EXIST_ERROR",
        ),
        (
            "empower/createBySub",
            vec![("instanceId", "{I}"), ("topic", "T_x"), ("empowerUser", "300000000003"), ("relation", "2")],
            "EMPOWER_EXIST_ERROR",
        ),
        // An instance holding topics and groups cannot be deleted.
        ("instance/delete", vec![("instanceId", "{I}")], FIELD),
    ]
}

#[tokio::test]
async fn every_route_refuses_invalid_parameters_with_the_documented_code() {
    let w = world().await;
    let cases = validation_cases();
    for route in ALL_ROUTES {
        assert!(cases.iter().any(|(r, _, _)| *r == route), "no validation case for {route}");
    }
    for (route, params, code) in &cases {
        let params = params.clone();
        // The __preventCache cases replace the common parameter the client adds.
        if params.iter().any(|(k, _)| *k == "__preventCache") {
            let before = w.snapshot();
            let call = Call { omit: &["__preventCache"], ..Call::default() };
            assert_err(&w.api.send(route, &params, call).await, code);
            assert_eq!(w.snapshot(), before);
            continue;
        }
        w.refused(route, &params, code).await;
    }
}

#[tokio::test]
async fn every_route_reports_unknown_resources_with_the_documented_code() {
    let w = world().await;
    let cases = unknown_cases();
    for route in ALL_ROUTES {
        assert!(cases.iter().any(|(r, _, _)| *r == route), "no unknown-resource case for {route}");
    }
    for (route, params, code) in &cases {
        if *route == "region/list" {
            // region/list ignores _regionId ("获取regionId列表接口除外"): it answers all regions.
            let (_, body) = w.api.get(route, params).await;
            assert_ok(&body);
            assert_eq!(body["data"][0]["regionId"], REGION);
            continue;
        }
        w.refused(route, params, code).await;
    }
}

#[tokio::test]
async fn conflicting_writes_are_refused_with_the_documented_code() {
    let w = world().await;
    let namespaced = w.api.new_instance("namespaced-one").await;
    let name = {
        let model = w.api.srv.state.store.rocketmq.read();
        let name = model.instance_by_id(&namespaced).unwrap().read().name().to_string();
        name
    };
    for (route, params, code) in duplicate_cases() {
        let params: Vec<(&str, &str)> =
            params.into_iter().map(|(k, v)| (k, if v == "{NS}" { name.as_str() } else { v })).collect();
        w.refused(route, &params, code).await;
    }
}

/// Account B names account A's instance on every instance-scoped route: A's instance does not exist for B,
/// and B's lists never show A's resources.
#[tokio::test]
async fn accounts_never_reach_each_others_instances() {
    let w = world().await;
    let a = w.instance.as_str();
    let before = w.snapshot();
    let scoped: [(&str, Vec<(&str, &str)>); 30] = [
        ("vpcTunnel/tunnelSwitch", vec![("tunnelType", "anyTunnel")]),
        ("instance/baseInfo", vec![]),
        ("instance/delete", vec![]),
        ("instance/update", vec![("remark", "mine now")]),
        ("topic/create", vec![("topic", "T_b"), ("orderType", "0")]),
        ("topic/delete", vec![("topic", "T_x")]),
        ("topic/get", vec![("topic", "T_x")]),
        ("topic/listInPage", vec![]),
        ("topic/update", vec![("topic", "T_x"), ("perm", "2")]),
        ("topic/listNames", vec![]),
        ("topic/subDetail", vec![("topic", "T_x")]),
        ("group/create", vec![("groupId", "GID_b")]),
        ("group/delete", vec![("groupId", "GID_x")]),
        ("group/list", vec![]),
        ("group/subDetail", vec![("groupId", "GID_x")]),
        ("group/consumerUpdate", vec![("groupId", "GID_x"), ("readEnable", "false")]),
        ("consumer/accumulate", vec![("groupId", "GID_x")]),
        ("consumer/status", vec![("groupId", "GID_x")]),
        ("consumer/getConnection", vec![("groupId", "GID_x")]),
        ("consumer/timespan", vec![("groupId", "GID_x"), ("topic", "T_x")]),
        ("consumer/resetOffset", vec![("groupId", "GID_x"), ("topic", "T_x"), ("type", "0")]),
        ("message/trace", vec![("topic", "T_x"), ("msgId", &w.msg_id)]),
        ("message/getById", vec![("topic", "T_x"), ("msgId", &w.msg_id)]),
        ("message/getByKey", vec![("topic", "T_x"), ("key", "k1")]),
        ("message/getByPagedTopic", vec![("topic", "T_x"), ("currentPage", "1"), NOW_RANGE[0], NOW_RANGE[1]]),
        ("empower/create", vec![("topic", "T_x"), ("empowerUser", "400000000004"), ("relation", "6")]),
        ("empower/list", vec![("topic", "T_x"), ("empowerUser", "300000000003")]),
        ("message/getByIdInDLQ", vec![("GroupId", "GID_x"), ("MsgId", &w.msg_id)]),
        ("message/resendByIdInDLQ", vec![("GroupId", "GID_x"), ("MsgId", &w.msg_id)]),
        ("empower/delete", vec![("topic", "T_x"), ("empowerUser", "300000000003")]),
    ];
    for (route, params) in scoped {
        let mut params = params;
        params.push(("instanceId", a));
        let response = w.api.get_b(route, &params).await;
        assert_err(&response, FIELD);
        assert!(response.1["dynamicMessage"].as_str().unwrap().contains(a), "{route}: {}", response.1);
    }
    assert_eq!(w.snapshot(), before, "account B changed account A's resources");
    // B's own lists show none of A's resources.
    let (_, body) = w.api.get_b("instance/list", &[]).await;
    assert_ok(&body);
    let ids: Vec<&str> = body["data"].as_array().unwrap().iter().filter_map(|i| i["instanceId"].as_str()).collect();
    assert_eq!(ids, vec![w.instance_b.as_str()]);
    let (_, body) = w.api.get_b("topic/listNames", &[]).await;
    assert_ok(&body);
    assert_eq!(body["data"], serde_json::json!([]));
    let (_, body) = w.api.get_b("group/list", &[]).await;
    assert_ok(&body);
    assert_eq!(body["data"], serde_json::json!([]));
}

#[tokio::test]
async fn malformed_requests_are_client_errors_and_change_nothing() {
    let w = world().await;
    let before = w.snapshot();
    // Non-UTF-8 in a value: decoded with U+FFFD (and signed so by a client that decodes the same way), which
    // no topic name allows.
    let pairs: Vec<(String, String)> = vec![
        ("_accesskey".into(), common::KEY_ID.into()),
        ("__preventCache".into(), now_ms().to_string()),
        ("_regionId".into(), REGION.into()),
        ("topic".into(), "T\u{FFFD}".into()),
        ("orderType".into(), "0".into()),
    ];
    let signature = seed_signature(common::SECRET, &pairs);
    let url = format!(
        "{}/json/topic/create?_accesskey={}&__preventCache={}&_regionId={REGION}&topic=T%FF&orderType=0&_signature={}",
        w.api.srv.base,
        common::KEY_ID,
        pairs[1].1,
        form_urlencoded::byte_serialize(signature.as_bytes()).collect::<String>()
    );
    let r = w.api.srv.client.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_err(&(status, body), FIELD);
    // Huge numbers and huge strings.
    w.refused("topic/create", &[("topic", "T_big"), ("orderType", "18446744073709551616")], FIELD).await;
    w.refused(
        "consumer/resetOffset",
        &[("groupId", "GID_x"), ("topic", "T_x"), ("type", "1"), ("resetTime", "1e99")],
        FIELD,
    )
    .await;
    // Huge strings travel in a form body (a URL that long is refused by the client already).
    let post = Call { post: true, ..Call::default() };
    let long_topic = "T".repeat(1_000_000);
    w.refused_via("topic/create", &[("topic", &long_topic), ("orderType", "0")], FIELD, post.clone()).await;
    let long_group = format!("GID_{}", "g".repeat(1_000_000));
    w.refused_via("group/create", &[("instanceId", "{I}"), ("groupId", &long_group)], FIELD, post.clone()).await;
    w.refused_via("instance/update", &[("instanceId", "{I}"), ("instanceName", &long_topic)], FIELD, post).await;
    // Unknown routes and methods.
    w.refused("topic/rename", &[("topic", "T_x")], "ONS_SERVICE_UNSUPPORTED").await;
    w.refused("json/json/topic", &[], "ONS_SERVICE_UNSUPPORTED").await;
    for method in [reqwest::Method::PUT, reqwest::Method::DELETE, reqwest::Method::PATCH] {
        let r = w
            .api
            .srv
            .client
            .request(method, format!("{}/json/topic/delete?topic=T_x", w.api.srv.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405);
        let body: Value = r.json().await.unwrap();
        assert_error_body(&body, "METHOD_NOT_ALLOWED");
    }
    // A POST whose body is not a form (JSON, binary) contributes no parameters: the signature then fails.
    let r = w
        .api
        .srv
        .client
        .post(format!("{}/json/topic/create", w.api.srv.base))
        .header("content-type", "application/json")
        .body(r#"{"topic": {"nested": [[[[[[]]]]]]}}"#)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_auth_failed(&(status, r.json().await.unwrap()));
    let r = w
        .api
        .srv
        .client
        .post(format!("{}/json/topic/create", w.api.srv.base))
        .body(vec![0xffu8, 0xfe, 0x00, 0x3d])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_auth_failed(&(status, r.json().await.unwrap()));
    assert_eq!(w.snapshot(), before);
}

/// Every parameter the seed's tables mark required (是否必需: 是) is required: leaving out any one of them is
/// BIZ_FIELD_CHECK_INVALID naming that parameter. `instanceId` appears where the seed gives no exception for
/// instances without a namespace (the other routes resolve the caller's such instance; tested above).
#[tokio::test]
async fn every_parameter_the_seed_marks_required_is_required() {
    let w = world().await;
    let i = w.instance.as_str();
    let m = w.msg_id.as_str();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("vpcTunnel/tunnelSwitch", vec![("tunnelType", "anyTunnel"), ("instanceId", i)]),
        ("instance/baseInfo", vec![("instanceId", i)]),
        (
            "instance/create",
            vec![
                ("cluster", "localyun-cluster"),
                ("instanceName", "required-check"),
                ("independentNaming", "true"),
                ("maxSendTps", "1"),
                ("maxReceiveTps", "1"),
            ],
        ),
        ("instance/delete", vec![("instanceId", i)]),
        ("instance/update", vec![("instanceId", i)]),
        ("topic/create", vec![("topic", "T_req"), ("orderType", "0")]),
        ("topic/delete", vec![("topic", "T_x")]),
        ("topic/get", vec![("topic", "T_x")]),
        ("topic/listInPage", vec![("instanceId", i)]),
        ("topic/update", vec![("topic", "T_x"), ("perm", "6")]),
        ("topic/subDetail", vec![("topic", "T_x")]),
        ("group/create", vec![("instanceId", i), ("groupId", "GID_req")]),
        ("group/delete", vec![("groupId", "GID_x")]),
        ("group/subDetail", vec![("groupId", "GID_x")]),
        ("group/consumerUpdate", vec![("groupId", "GID_x"), ("readEnable", "true")]),
        ("consumer/accumulate", vec![("groupId", "GID_x")]),
        ("consumer/status", vec![("groupId", "GID_x")]),
        ("consumer/getConnection", vec![("groupId", "GID_x")]),
        ("consumer/timespan", vec![("groupId", "GID_x"), ("topic", "T_x")]),
        ("consumer/resetOffset", vec![("groupId", "GID_x"), ("topic", "T_x"), ("type", "0")]),
        ("message/trace", vec![("topic", "T_x"), ("msgId", m)]),
        ("message/getById", vec![("msgId", m), ("topic", "T_x")]),
        ("message/getByKey", vec![("topic", "T_x"), ("key", "k1")]),
        ("message/getByPagedTopic", vec![("topic", "T_x"), ("beginTime", "0"), ("endTime", "1"), ("currentPage", "1")]),
        (
            "trend/topicInputTps",
            vec![("topic", "T_x"), ("beginTime", "0"), ("endTime", "1"), ("period", "1"), ("type", "0")],
        ),
        (
            "trend/groupOutputTps",
            vec![
                ("topic", "T_x"),
                ("groupId", "GID_x"),
                ("beginTime", "0"),
                ("endTime", "1"),
                ("period", "1"),
                ("type", "0"),
            ],
        ),
        (
            "empower/create",
            vec![("instanceId", i), ("empowerUser", "300000000009"), ("topic", "T_x"), ("relation", "6")],
        ),
        ("empower/createBySub", vec![("instanceId", i), ("empowerUser", "sub9"), ("topic", "T_x"), ("relation", "6")]),
        ("empower/delete", vec![("instanceId", i), ("empowerUser", "300000000003"), ("topic", "T_x")]),
        ("empower/list", vec![("instanceId", i), ("empowerUser", "300000000003"), ("topic", "T_x")]),
        ("message/getByIdInDLQ", vec![("GroupId", "GID_x"), ("MsgId", m)]),
        (
            "message/getByPagedDLQ",
            vec![("GroupId", "GID_x"), ("BeginTime", "0"), ("EndTime", "1"), ("CurrentPage", "1")],
        ),
        ("message/resendByIdInDLQ", vec![("MsgId", m), ("GroupId", "GID_x")]),
    ];
    for (route, params) in cases {
        for left_out in 0..params.len() {
            let name = params[left_out].0;
            let partial: Vec<(&str, &str)> =
                params.iter().enumerate().filter(|(n, _)| *n != left_out).map(|(_, p)| *p).collect();
            let (status, body) = w.api.get(route, &partial).await;
            assert_eq!(status, 200, "{route} without {name}: {body}");
            assert_eq!(body["dynamicCode"], FIELD, "{route} without {name}: {body}");
            let message = body["dynamicMessage"].as_str().unwrap().to_ascii_lowercase();
            assert_eq!(message, format!("missing required parameter {}", name.to_ascii_lowercase()), "{route}");
        }
    }
}
