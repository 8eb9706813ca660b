//! RocketMQ `/json` Open API: signature, envelope, regions, clusters, instances, topics, groups and
//! authorisations, against the real application with an independent signer.

use crate::common;
use crate::rocketmq_support;

use rocketmq_support::*;
use serde_json::Value;

use localyun::engine::rocketmq::{Group, MessageType, NewInstance, NewMessage, Tunnel};

#[tokio::test]
async fn the_seed_curl_example_works_with_double_slash_and_without_instance_id() {
    let api = Api::start().await;
    // The seed's worked request: `//json/topic/create?..._platform=onsConsole...&topic=...` (plus the
    // documented-required orderType, which the example omits) on the default instance without a namespace.
    let call = Call { path_prefix: "//json/", ..Call::default() };
    let (status, body) = api
        .send("topic/create", &[("_platform", "onsConsole"), ("topic", "TOPIC_XXX"), ("orderType", "0")], call)
        .await;
    assert_eq!(status, 200);
    assert_ok(&body);
    assert_eq!(body["data"], serde_json::json!({}));
    assert_eq!(
        (body["currentPage"].clone(), body["pageSize"].clone(), body["total"].clone()),
        (0.into(), 0.into(), 0.into())
    );
    let (_, body) = api.get("topic/get", &[("topic", "TOPIC_XXX")]).await;
    assert_ok(&body);
    assert_eq!(body["data"]["topic"], "TOPIC_XXX");
    assert_eq!(body["data"]["instanceId"], api.default_instance());
    assert_eq!(body["data"]["owner"], common::ACCOUNT);
}

#[tokio::test]
async fn post_form_bodies_and_mixed_case_parameters_are_accepted() {
    let api = Api::start().await;
    let post = Call { post: true, ..Call::default() };
    let (status, body) = api.send("topic/create", &[("topic", "T_post"), ("orderType", "1")], post.clone()).await;
    assert_eq!(status, 200);
    assert_ok(&body);
    // A value with a space and a plus survives form encoding and signing.
    let (_, body) =
        api.send("topic/create", &[("topic", "T_rem"), ("orderType", "0"), ("remark", "a b+c")], post).await;
    assert_ok(&body);
    let (_, body) = api.get("topic/get", &[("topic", "T_rem")]).await;
    assert_eq!(body["data"]["remark"], "a b+c");
    // The seed spells group ids `groupid` on group/create.
    let (_, body) = api.get("group/create", &[("instanceid", &api.default_instance()), ("groupid", "GID_lower")]).await;
    assert_ok(&body);
}

#[tokio::test]
async fn authentication_failures_are_http_403_on_every_route() {
    let api = Api::start().await;
    for route in ALL_ROUTES {
        let bad = Call { signature: Some("AAAAAAAAAAAAAAAAAAAAAAAAAAA="), ..Call::default() };
        assert_auth_failed(&api.send(route, &[("topic", "T")], bad).await);
        let no_key = Call { omit: &["_accesskey"], ..Call::default() };
        assert_auth_failed(&api.send(route, &[("topic", "T")], no_key).await);
    }
    let no_signature = Call { omit: &["_signature"], ..Call::default() };
    assert_auth_failed(&api.send("instance/list", &[], no_signature).await);
    let unknown_key = Call { key: "AKIDNOBODY", ..Call::default() };
    assert_auth_failed(&api.send("instance/list", &[], unknown_key).await);
    let wrong_secret = Call { secret: "not-the-secret", ..Call::default() };
    assert_auth_failed(&api.send("instance/list", &[], wrong_secret).await);
    // A signature computed over different values (a tampered parameter) fails too.
    let pairs = vec![("topic".to_string(), "other".to_string())];
    let foreign = seed_signature(common::SECRET, &pairs);
    let tampered = Call { signature: Some(&foreign), ..Call::default() };
    assert_auth_failed(&api.send("topic/get", &[("topic", "T")], tampered).await);
}

#[tokio::test]
async fn unencoded_plus_in_the_signature_is_tolerated() {
    let api = Api::start().await;
    // Find a request whose signature contains '+', then send it with the '+' raw in the query string.
    for n in 0..200 {
        let prevent = (1_600_000_000_000i64 + n).to_string();
        let pairs: Vec<(String, String)> = vec![
            ("_accesskey".into(), common::KEY_ID.into()),
            ("__preventCache".into(), prevent.clone()),
            ("_regionId".into(), REGION.into()),
        ];
        let sig = seed_signature(common::SECRET, &pairs);
        if !sig.contains('+') {
            continue;
        }
        let url = format!(
            "{}/json/instance/list?_accesskey={}&__preventCache={prevent}&_regionId={REGION}&_signature={}",
            api.srv.base,
            common::KEY_ID,
            sig.replace('=', "%3D").replace('/', "%2F")
        );
        let body: Value = api.srv.client.get(url).send().await.unwrap().json().await.unwrap();
        assert_ok(&body);
        return;
    }
    panic!("no signature with '+' found");
}

#[tokio::test]
async fn lenient_mode_skips_the_hmac_but_keeps_required_parameters() {
    let api =
        Api::with_config(localyun::Config { auth: localyun::config::AuthMode::Lenient, ..Default::default() }).await;
    let any = Call { key: "AKIDANYONE", signature: Some("bogus"), ..Call::default() };
    let (_, body) = api.send("instance/list", &[], any.clone()).await;
    assert_ok(&body);
    assert_eq!(body["data"][0]["instanceId"], api.default_instance());
    let no_signature = Call { omit: &["_signature"], ..any.clone() };
    assert_auth_failed(&api.send("instance/list", &[], no_signature).await);
    let no_prevent = Call { omit: &["__preventCache"], ..any };
    assert_err(&api.send("instance/list", &[], no_prevent).await, "BIZ_FIELD_CHECK_INVALID");
}

#[tokio::test]
async fn common_parameters_are_checked() {
    let api = Api::start().await;
    let no_prevent = Call { omit: &["__preventCache"], ..Call::default() };
    assert_err(&api.send("instance/list", &[], no_prevent).await, "BIZ_FIELD_CHECK_INVALID");
    let replaced = Call { omit: &["__preventCache"], ..Call::default() };
    assert_err(&api.send("instance/list", &[("__preventCache", "soon")], replaced).await, "BIZ_FIELD_CHECK_INVALID");
    let no_region = Call { region: false, ..Call::default() };
    assert_err(&api.send("instance/list", &[], no_region.clone()).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(&api.get("instance/list", &[("_regionId", "cn-nowhere")]).await, "BIZ_REGION_NOT_FOUND");
    assert_err(&api.get("topic/rename", &[]).await, "ONS_SERVICE_UNSUPPORTED");
    // region/list needs no _regionId.
    let (status, body) = api.send("region/list", &[], no_region).await;
    assert_eq!(status, 200);
    assert_ok(&body);
    assert_eq!(body["data"][0]["regionId"], "mq-private");
    assert_eq!(body["data"][0]["id"], 1);
    assert!(body["data"][0]["regionName"].as_str().is_some());
    // Other methods are refused.
    let r = api.srv.client.delete(format!("{}/json/instance/list", api.srv.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
}

#[tokio::test]
async fn cluster_list_shows_the_default_cluster() {
    let api = Api::start().await;
    let (_, body) = api.get("cluster/list", &[]).await;
    assert_ok(&body);
    let clusters = body["data"].as_array().unwrap();
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0]["cluster"], "localyun-cluster");
    assert_eq!(clusters[0]["regionId"], "mq-private");
    assert!(clusters[0]["createTime"].as_str().unwrap().len() == 19);
    assert!(clusters[0]["modifyTime"].as_str().is_some());
}

#[tokio::test]
async fn instances_lifecycle_and_validation() {
    let api = Api::start().await;
    let (_, body) = api.get("instance/list", &[]).await;
    assert_ok(&body);
    assert_eq!(body["data"].as_array().unwrap().len(), 1, "one default instance per account");
    assert_eq!(body["data"][0]["namespaceRulesType"], false);

    let id = api.new_instance("orders").await;
    assert!(id.starts_with(&format!("MQ_INST_{}_", common::ACCOUNT)));
    let (_, body) = api.get("instance/baseInfo", &[("instanceId", &id)]).await;
    assert_ok(&body);
    let info = &body["data"];
    assert_eq!(info["instanceName"], "orders");
    assert_eq!(info["independentNaming"], true);
    assert_eq!(info["maxSendTps"], 1000);
    assert_eq!(info["maxReceiveTps"], 1000);
    assert_eq!(info["topicCapacity"], 1000);
    assert!(info["Endpoints"]["tcpEndpoint"].as_str().is_some_and(|e| !e.is_empty()));

    let create = |name: &'static str, naming: &'static str, send: &'static str| {
        vec![
            ("cluster", "localyun-cluster"),
            ("instanceName", name),
            ("independentNaming", naming),
            ("maxSendTps", send),
            ("maxReceiveTps", "10"),
        ]
    };
    // Duplicate name in the region, name length, booleans, numbers, unknown cluster, second instance
    // without a namespace.
    assert_err(&api.get("instance/create", &create("orders", "true", "10")).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(&api.get("instance/create", &create("ab", "true", "10")).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(&api.get("instance/create", &create("abc", "yes", "10")).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(&api.get("instance/create", &create("abc", "true", "ten")).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(&api.get("instance/create", &create("abc", "false", "10")).await, "BIZ_FIELD_CHECK_INVALID");
    let mut unknown_cluster = create("abc", "true", "10");
    unknown_cluster[0] = ("cluster", "nope");
    assert_err(&api.get("instance/create", &unknown_cluster).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(
        &api.get("instance/create", &[("cluster", "localyun-cluster"), ("instanceName", "x1x")]).await,
        "BIZ_FIELD_CHECK_INVALID",
    );
    let long = "名".repeat(64);
    let mut chinese = create("abc", "true", "10");
    chinese[1] = ("instanceName", &long);
    assert_ok(&api.get("instance/create", &chinese).await.1);

    // Update: rename, duplicate name, unknown instance.
    assert_ok(
        &api.get("instance/update", &[("instanceId", &id), ("instanceName", "orders-2"), ("remark", "r")]).await.1,
    );
    let (_, body) = api.get("instance/list", &[]).await;
    assert!(body["data"].as_array().unwrap().iter().any(|i| i["instanceName"] == "orders-2"));
    assert_err(
        &api.get("instance/update", &[("instanceId", &id), ("instanceName", "localyun-default")]).await,
        "BIZ_FIELD_CHECK_INVALID",
    );
    assert_err(&api.get("instance/update", &[("instanceId", "MQ_INST_nope")]).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(&api.get("instance/baseInfo", &[("instanceId", "MQ_INST_nope")]).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(&api.get("instance/baseInfo", &[]).await, "BIZ_FIELD_CHECK_INVALID");

    // Delete only when empty.
    api.create_topic(&id, "T_keep", "0").await;
    assert_err(&api.get("instance/delete", &[("instanceId", &id)]).await, "BIZ_FIELD_CHECK_INVALID");
    assert_ok(&api.get("topic/delete", &[("instanceId", &id), ("topic", "T_keep")]).await.1);
    api.create_group(&id, "GID_keep").await;
    assert_err(&api.get("instance/delete", &[("instanceId", &id)]).await, "BIZ_FIELD_CHECK_INVALID");
    assert_ok(&api.get("group/delete", &[("instanceId", &id), ("groupId", "GID_keep")]).await.1);
    assert_ok(&api.get("instance/delete", &[("instanceId", &id)]).await.1);
    assert_err(&api.get("instance/delete", &[("instanceId", &id)]).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(&api.get("instance/baseInfo", &[("instanceId", &id)]).await, "BIZ_FIELD_CHECK_INVALID");
}

#[tokio::test]
async fn at_most_500_instances_per_region() {
    let api = Api::start().await;
    {
        let model = api.srv.state.store.rocketmq.write();
        for n in 1..500 {
            model
                .create_instance(NewInstance {
                    id: format!("MQ_INST_FILL_{n}"),
                    account: common::ACCOUNT.into(),
                    region: REGION.into(),
                    cluster: "localyun-cluster".into(),
                    name: format!("fill-{n}"),
                    remark: String::new(),
                    independent_naming: true,
                    max_send_tps: 1,
                    max_receive_tps: 1,
                    topic_capacity: None,
                })
                .unwrap();
        }
    }
    let (_, body) = api
        .get(
            "instance/create",
            &[
                ("cluster", "localyun-cluster"),
                ("instanceName", "one-too-many"),
                ("independentNaming", "true"),
                ("maxSendTps", "1"),
                ("maxReceiveTps", "1"),
            ],
        )
        .await;
    assert_error_body(&body, "BIZ_FIELD_CHECK_INVALID");
    assert!(body["dynamicMessage"].as_str().unwrap().contains("500"));
    // Another account's quota is its own.
    let (_, body) = api.get_b("instance/list", &[]).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn tunnel_switch_returns_the_name_server_and_refuses_busy_brokers_without_force() {
    let api = Api::start().await;
    let id = api.default_instance();
    let (_, body) = api.get("vpcTunnel/tunnelSwitch", &[("instanceId", &id), ("tunnelType", "anyTunnel")]).await;
    assert_ok(&body);
    assert_eq!(body["data"], "127.0.0.1:9876");
    assert_eq!(api.srv.state.store.rocketmq.read().instance_by_id(&id).unwrap().read().tunnel(), Tunnel::Any);
    assert_err(
        &api.get("vpcTunnel/tunnelSwitch", &[("instanceId", &id), ("tunnelType", "someTunnel")]).await,
        "BIZ_FIELD_CHECK_INVALID",
    );
    assert_err(&api.get("vpcTunnel/tunnelSwitch", &[("tunnelType", "anyTunnel")]).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(
        &api.get("vpcTunnel/tunnelSwitch", &[("instanceId", "MQ_INST_x"), ("tunnelType", "anyTunnel")]).await,
        "BIZ_FIELD_CHECK_INVALID",
    );
    // 700 messages in the last minute: InTps > 10.
    api.create_topic(&id, "T_busy", "0").await;
    {
        let model = api.srv.state.store.rocketmq.write();
        for _ in 0..700 {
            model.send(&id, "T_busy", NewMessage::new("a", "", "x")).unwrap();
        }
    }
    let switch = [("instanceId", id.as_str()), ("tunnelType", "singleTunnel"), ("vSwitchId", "vsw-1")];
    assert_err(&api.get("vpcTunnel/tunnelSwitch", &switch).await, "ONS_INVOKE_ERROR");
    let mut forced = switch.to_vec();
    forced.push(("force", "true"));
    assert_ok(&api.get("vpcTunnel/tunnelSwitch", &forced).await.1);
    assert_eq!(api.srv.state.store.rocketmq.read().instance_by_id(&id).unwrap().read().vswitch_id(), "vsw-1");
}

#[tokio::test]
async fn topics_lifecycle_and_validation() {
    let api = Api::start().await;
    let ns = api.new_instance("with-namespace").await;
    api.create_topic(&ns, "T_orders", "2").await;
    let (_, body) = api.get("topic/get", &[("instanceId", &ns), ("topic", "T_orders")]).await;
    assert_eq!(body["data"]["orderType"], 2);
    assert_eq!(body["data"]["perm"], 6);
    assert_eq!(body["data"]["independentNaming"], true);

    for (topic, order_type) in [("CID_x", "0"), ("GIDtopic", "0"), ("a b", "0"), ("T_x", "3"), ("T_x", "zero")] {
        let r = api.get("topic/create", &[("instanceId", &ns), ("topic", topic), ("orderType", order_type)]).await;
        assert_err(&r, "BIZ_FIELD_CHECK_INVALID");
    }
    assert_err(&api.get("topic/create", &[("instanceId", &ns), ("topic", "T_x")]).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(&api.get("topic/create", &[("instanceId", &ns), ("orderType", "0")]).await, "BIZ_FIELD_CHECK_INVALID");
    let long = "T".repeat(256);
    assert_err(
        &api.get("topic/create", &[("instanceId", &ns), ("topic", &long), ("orderType", "0")]).await,
        "BIZ_FIELD_CHECK_INVALID",
    );
    // Duplicate in the instance; the same name is fine in the default instance (another namespace).
    assert_err(
        &api.get("topic/create", &[("instanceId", &ns), ("topic", "T_orders"), ("orderType", "0")]).await,
        "BIZ_TOPIC_EXISTED",
    );
    assert_ok(&api.get("topic/create", &[("topic", "T_orders"), ("orderType", "0")]).await.1);
    // Without a namespace, names are global: account B's default instance cannot reuse it.
    assert_err(&api.get_b("topic/create", &[("topic", "T_orders"), ("orderType", "0")]).await, "BIZ_TOPIC_EXISTED");
    // Unknown topic and unknown instance.
    assert_err(&api.get("topic/get", &[("instanceId", &ns), ("topic", "T_none")]).await, "BIZ_TOPIC_NOT_FOUND");
    assert_err(&api.get("topic/delete", &[("instanceId", &ns), ("topic", "T_none")]).await, "BIZ_TOPIC_NOT_FOUND");
    assert_err(
        &api.get("topic/get", &[("instanceId", "MQ_INST_x"), ("topic", "T_orders")]).await,
        "BIZ_FIELD_CHECK_INVALID",
    );
    // Account B never sees A's namespaced instance.
    assert_err(&api.get_b("topic/get", &[("instanceId", &ns), ("topic", "T_orders")]).await, "BIZ_FIELD_CHECK_INVALID");

    // update: perm values.
    assert_ok(&api.get("topic/update", &[("instanceId", &ns), ("topic", "T_orders"), ("perm", "4")]).await.1);
    let (_, body) = api.get("topic/get", &[("instanceId", &ns), ("topic", "T_orders")]).await;
    assert_eq!(body["data"]["perm"], 4);
    // A write-forbidden topic refuses producers in the model.
    assert!(api.srv.state.store.rocketmq.write().send(&ns, "T_orders", NewMessage::new("a", "", "x")).is_err());
    assert_err(
        &api.get("topic/update", &[("instanceId", &ns), ("topic", "T_orders"), ("perm", "3")]).await,
        "BIZ_FIELD_CHECK_INVALID",
    );
    assert_err(
        &api.get("topic/update", &[("instanceId", &ns), ("topic", "T_none"), ("perm", "6")]).await,
        "BIZ_TOPIC_NOT_FOUND",
    );

    // listNames and listInPage with paging.
    for n in 0..4 {
        api.create_topic(&ns, &format!("T_page{n}"), "0").await;
    }
    let (_, body) = api.get("topic/listNames", &[("instanceId", &ns)]).await;
    assert_eq!(body["data"], serde_json::json!(["T_orders", "T_page0", "T_page1", "T_page2", "T_page3"]));
    let (_, body) = api.get("topic/listInPage", &[("instanceId", &ns), ("pageSize", "2"), ("currentPage", "2")]).await;
    assert_ok(&body);
    assert_eq!(
        (body["currentPage"].clone(), body["pageSize"].clone(), body["total"].clone()),
        (2.into(), 2.into(), 5.into())
    );
    let names: Vec<&str> = body["data"].as_array().unwrap().iter().map(|t| t["topic"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["T_page1", "T_page2"]);
    let (_, body) = api.get("topic/listInPage", &[("instanceId", &ns), ("topic", "page3")]).await;
    assert_eq!(
        (body["total"].clone(), body["pageSize"].clone(), body["currentPage"].clone()),
        (1.into(), 20.into(), 1.into())
    );
    assert_err(
        &api.get("topic/listInPage", &[("instanceId", &ns), ("pageSize", "0")]).await,
        "BIZ_FIELD_CHECK_INVALID",
    );
    assert_err(
        &api.get("topic/listInPage", &[("instanceId", &ns), ("currentPage", "0")]).await,
        "BIZ_FIELD_CHECK_INVALID",
    );
    assert_err(&api.get("topic/listInPage", &[]).await, "BIZ_FIELD_CHECK_INVALID");

    // Delete cascades to subscriptions.
    api.create_group(&ns, "GID_sub").await;
    api.srv.state.store.rocketmq.write().subscribe(&ns, "GID_sub", "T_page0", "*").unwrap();
    assert_ok(&api.get("topic/delete", &[("instanceId", &ns), ("topic", "T_page0")]).await.1);
    assert!(group_of(&api, &ns, "GID_sub", |g| g.subscriptions().is_empty()));
    assert_err(&api.get("topic/get", &[("instanceId", &ns), ("topic", "T_page0")]).await, "BIZ_TOPIC_NOT_FOUND");
}

#[tokio::test]
async fn topic_capacity_is_enforced() {
    let api = Api::start().await;
    let (_, body) = api
        .get(
            "instance/create",
            &[
                ("cluster", "localyun-cluster"),
                ("instanceName", "tiny"),
                ("independentNaming", "true"),
                ("maxSendTps", "1"),
                ("maxReceiveTps", "1"),
                ("topicCapacity", "1"),
            ],
        )
        .await;
    let id = body["data"]["instanceId"].as_str().unwrap().to_string();
    api.create_topic(&id, "T_one", "0").await;
    let (_, body) = api.get("topic/create", &[("instanceId", &id), ("topic", "T_two"), ("orderType", "0")]).await;
    assert_error_body(&body, "BIZ_FIELD_CHECK_INVALID");
    assert!(body["dynamicMessage"].as_str().unwrap().contains("topicCapacity"));
}

#[tokio::test]
async fn topic_sub_detail_lists_online_groups_only() {
    let api = Api::start().await;
    let id = api.default_instance();
    api.create_topic(&id, "T_sd", "0").await;
    api.create_group(&id, "GID_online").await;
    api.create_group(&id, "GID_offline").await;
    {
        let model = api.srv.state.store.rocketmq.write();
        let client = localyun::engine::rocketmq::ConsumerClient::new("c1", "10.0.0.5", &[("T_sd", "a || b")]);
        model.connect_consumer(&id, "GID_online", client).unwrap();
        model.subscribe(&id, "GID_offline", "T_sd", "*").unwrap();
    }
    let (_, body) = api.get("topic/subDetail", &[("topic", "T_sd")]).await;
    assert_ok(&body);
    assert_eq!(body["data"]["topic"], "T_sd");
    assert_eq!(
        body["data"]["SubscriptionDataList"],
        serde_json::json!([{"groupId": "GID_online", "subString": "a || b", "messageModel": "CLUSTERING"}])
    );
    assert_err(&api.get("topic/subDetail", &[("topic", "T_none")]).await, "BIZ_TOPIC_NOT_FOUND");
    assert_err(&api.get("topic/subDetail", &[]).await, "BIZ_FIELD_CHECK_INVALID");
}

#[tokio::test]
async fn groups_lifecycle_validation_and_ownership_codes() {
    let api = Api::start().await;
    let id = api.default_instance();
    let (_, body) =
        api.get("group/create", &[("instanceId", &id), ("groupId", "GID_orders"), ("remark", "billing")]).await;
    assert_ok(&body);
    assert_eq!(body["data"]["remark"], "billing");
    api.create_group(&id, "GID-dash").await;
    // The seed's group/create takes only "GID_"/"GID-" ids (issue 13 item 14): legacy CID ids are refused.
    let too_long = format!("GID_{}", "x".repeat(61));
    for bad in ["CID_legacy", "CID-legacy", "PID_x", "orders", "GID_", "GID_a b", too_long.as_str()] {
        let (_, body) = api.get("group/create", &[("instanceId", &id), ("groupId", bad)]).await;
        assert_error_body(&body, "BIZ_FIELD_CHECK_INVALID");
        assert!(body["dynamicMessage"].as_str().unwrap().contains("groupId"), "{bad}: {body}");
    }
    assert_err(&api.get("group/create", &[("instanceId", &id)]).await, "BIZ_FIELD_CHECK_INVALID");
    // instanceId is required on group/create, without the namespace exception other routes document
    // (seed 2.6.5.1: "instanceId 是 需创建的Group ID所对应的实例ID").
    let (_, body) = api.get("group/create", &[("groupId", "GID_no_instance")]).await;
    assert_error_body(&body, "BIZ_FIELD_CHECK_INVALID");
    assert_eq!(body["dynamicMessage"], "missing required parameter instanceId");
    // Duplicates: a consumer group is BIZ_SUBSCRIPTION_EXISTED; a group only producers used is
    // BIZ_PUBLISHER_EXISTED; another user's group is *_BELONG_TO_OTHER_USER.
    assert_err(
        &api.get("group/create", &[("instanceId", &id), ("groupId", "GID_orders")]).await,
        "BIZ_SUBSCRIPTION_EXISTED",
    );
    api.create_group(&id, "GID_producer").await;
    api.create_topic(&id, "T_g", "0").await;
    {
        let model = api.srv.state.store.rocketmq.write();
        let msg = NewMessage { producer_group: Some("GID_producer".into()), ..NewMessage::new("a", "", "x") };
        model.send(&id, "T_g", msg).unwrap();
    }
    assert_err(
        &api.get("group/create", &[("instanceId", &id), ("groupId", "GID_producer")]).await,
        "BIZ_PUBLISHER_EXISTED",
    );
    let id_b = api.instance_of(ACCOUNT_B);
    assert_err(
        &api.get_b("group/create", &[("instanceId", &id_b), ("groupId", "GID_orders")]).await,
        "BIZ_CONSUMER_ID_BELONG_TO_OTHER_USER",
    );
    assert_err(
        &api.get_b("group/create", &[("instanceId", &id_b), ("groupId", "GID_producer")]).await,
        "BIZ_PRODUCER_ID_BELONG_TO_OTHER_USER",
    );
    // A namespaced instance has its own names.
    let ns = api.new_instance("grp-ns").await;
    api.create_group(&ns, "GID_orders").await;

    let (_, body) = api.get("group/list", &[]).await;
    let ids: Vec<&str> = body["data"].as_array().unwrap().iter().map(|g| g["groupId"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["GID-dash", "GID_orders", "GID_producer"]);
    let (_, body) = api.get("group/list", &[("groupId", "GID_orders")]).await;
    assert_eq!(
        body["data"],
        serde_json::json!([{"owner": common::ACCOUNT, "instanceId": id, "groupId": "GID_orders", "independentNaming": false, "remark": "billing"}])
    );
    let (_, body) = api.get_b("group/list", &[]).await;
    assert_eq!(body["data"], serde_json::json!([]));

    // consumerUpdate switches consumption in the model.
    assert_ok(&api.get("group/consumerUpdate", &[("groupid", "GID_orders"), ("readEnable", "false")]).await.1);
    assert!(!group_of(&api, &id, "GID_orders", |g| g.read_enable()));
    assert_err(
        &api.get("group/consumerUpdate", &[("groupId", "GID_orders"), ("readEnable", "no")]).await,
        "BIZ_FIELD_CHECK_INVALID",
    );
    assert_err(&api.get("group/consumerUpdate", &[("groupId", "GID_orders")]).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(
        &api.get("group/consumerUpdate", &[("groupId", "GID_none"), ("readEnable", "true")]).await,
        "BIZ_PUBLISH_INFO_NOT_FOUND",
    );

    assert_ok(&api.get("group/delete", &[("groupId", "GID-dash")]).await.1);
    assert_err(&api.get("group/delete", &[("groupId", "GID-dash")]).await, "BIZ_PUBLISH_INFO_NOT_FOUND");
    assert_err(&api.get("group/delete", &[]).await, "BIZ_FIELD_CHECK_INVALID");
}

#[tokio::test]
async fn group_sub_detail_shows_subscriptions_of_online_groups() {
    let api = Api::start().await;
    let id = api.default_instance();
    api.create_topic(&id, "T_gs", "0").await;
    api.create_group(&id, "GID_gs").await;
    api.srv.state.store.rocketmq.write().subscribe(&id, "GID_gs", "T_gs", "tagA").unwrap();
    let (_, body) = api.get("group/subDetail", &[("groupId", "GID_gs")]).await;
    assert_ok(&body);
    assert_eq!(body["data"]["online"], false);
    assert_eq!(body["data"]["SubscriptionDataList"], serde_json::json!([]));
    {
        let mut client = localyun::engine::rocketmq::ConsumerClient::new("c1", "10.0.0.7", &[("T_gs", "tagA")]);
        client.message_model = localyun::engine::rocketmq::MessageModel::Broadcasting;
        api.srv.state.store.rocketmq.write().connect_consumer(&id, "GID_gs", client).unwrap();
    }
    let (_, body) = api.get("group/subDetail", &[("groupId", "GID_gs")]).await;
    assert_eq!(body["data"]["online"], true);
    assert_eq!(body["data"]["messageModel"], "BROADCASTING");
    assert_eq!(body["data"]["SubscriptionDataList"], serde_json::json!([{"topic": "T_gs", "subString": "tagA"}]));
    assert_err(&api.get("group/subDetail", &[("groupId", "GID_none")]).await, "BIZ_SUBSCRIPTION_NOT_FOUND");
    assert_err(&api.get("group/subDetail", &[]).await, "BIZ_FIELD_CHECK_INVALID");
}

#[tokio::test]
async fn empower_grants_lifecycle_and_errors() {
    let api = Api::start().await;
    let id = api.default_instance();
    api.create_topic(&id, "T_shared", "0").await;
    let grant = |user: &'static str, relation: &'static str| {
        vec![
            ("instanceId", id.clone()),
            ("topic", "T_shared".to_string()),
            ("empowerUser", user.to_string()),
            ("relation", relation.to_string()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    async fn call(api: &Api, route: &str, params: &[(&'static str, String)]) -> (u16, Value) {
        let p: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        api.get(route, &p).await
    }
    let (_, body) = call(&api, "empower/create", &as_refs(&grant(ACCOUNT_B, "6"))).await;
    assert_ok(&body);
    assert!(body["data"].is_null(), "empower answers data null");
    assert_err(&call(&api, "empower/create", &grant(ACCOUNT_B, "4")).await, "EMPOWER_EXIST_ERROR");
    assert_err(&call(&api, "empower/create", &grant("300000000003", "3")).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(&call(&api, "empower/create", &grant("not-a-number", "2")).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(&call(&api, "empower/create", &grant(common::ACCOUNT, "2")).await, "BIZ_FIELD_CHECK_INVALID");
    let mut unknown_topic = grant("300000000003", "2");
    unknown_topic[1].1 = "T_none".into();
    assert_err(&call(&api, "empower/create", &unknown_topic).await, "BIZ_TOPIC_NOT_FOUND");
    let mut no_instance = grant("300000000003", "2");
    no_instance.remove(0);
    assert_err(&call(&api, "empower/create", &no_instance).await, "BIZ_FIELD_CHECK_INVALID");

    let (_, body) = call(&api, "empower/createBySub", &grant("dev.alice", "2")).await;
    assert_ok(&body);
    assert!(body["data"].is_null());
    assert_err(&call(&api, "empower/createBySub", &grant("dev.alice", "2")).await, "EMPOWER_EXIST_ERROR");
    assert_err(&call(&api, "empower/createBySub", &grant("bad name!", "2")).await, "BIZ_FIELD_CHECK_INVALID");

    let list = |user: &'static str| {
        vec![("instanceId", id.clone()), ("topic", "T_shared".to_string()), ("empowerUser", user.to_string())]
    };
    let (_, body) = call(&api, "empower/list", &list(ACCOUNT_B)).await;
    assert_ok(&body);
    let items = body["data"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!((items[0]["empowerUser"].clone(), items[0]["relation"].clone()), (ACCOUNT_B.into(), 6.into()));
    let (_, body) = call(&api, "empower/list", &list("dev.alice")).await;
    assert_eq!(body["data"][0]["subAccount"], true);
    assert_err(&call(&api, "empower/list", &list("")).await, "BIZ_FIELD_CHECK_INVALID");

    // Account B holds a grant on A's topic but does not own it: EMPOWER_OWNER_CHECK_ERROR.
    let b_instance = api.instance_of(ACCOUNT_B);
    let foreign = [
        ("instanceId", b_instance.as_str()),
        ("topic", "T_shared"),
        ("empowerUser", "300000000003"),
        ("relation", "2"),
    ];
    assert_err(&api.get_b("empower/create", &foreign).await, "EMPOWER_OWNER_CHECK_ERROR");
    assert_err(&api.get_b("empower/delete", &foreign[..3]).await, "EMPOWER_OWNER_CHECK_ERROR");

    let (_, body) = call(&api, "empower/delete", &list(ACCOUNT_B)).await;
    assert_ok(&body);
    assert!(body["data"].is_null());
    assert_err(&call(&api, "empower/delete", &list(ACCOUNT_B)).await, "BIZ_FIELD_CHECK_INVALID");
    let (_, body) = call(&api, "empower/list", &list(ACCOUNT_B)).await;
    assert_eq!(body["data"], serde_json::json!([]));
}

#[tokio::test]
async fn fixtures_declare_regions_instances_topics_and_groups() {
    let dir = std::env::temp_dir().join(format!("localyun-rocketmq-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rocketmq.yaml");
    std::fs::write(
        &file,
        r#"
rocketmq:
  regions:
    - id: cn-example
      name: Example
  instances:
    - id: MQ_INST_100000000001_FIXTURE
      name: fixture-instance
      topics:
        - name: T_fixture
          order_type: 5
          perm: 4
      groups:
        - id: GID_fixture
          remark: from a file
          subscriptions: { T_fixture: "tagA" }
    - topics:
        - name: T_on_default
"#,
    )
    .unwrap();
    let api = Api::with_config(localyun::Config { fixtures: Some(file), ..Default::default() }).await;
    let (_, body) =
        api.get("topic/get", &[("instanceId", "MQ_INST_100000000001_FIXTURE"), ("topic", "T_fixture")]).await;
    assert_ok(&body);
    assert_eq!((body["data"]["orderType"].clone(), body["data"]["perm"].clone()), (5.into(), 4.into()));
    let (_, body) = api.get("group/list", &[("instanceId", "MQ_INST_100000000001_FIXTURE")]).await;
    assert_eq!(body["data"][0]["remark"], "from a file");
    assert_ok(&api.get("topic/get", &[("topic", "T_on_default")]).await.1);
    let (_, body) = api.get("region/list", &[]).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    let (_, body) = api.get("cluster/list", &[("_regionId", "cn-example")]).await;
    assert_eq!(body["data"][0]["cluster"], "localyun-cluster");
    // The new region starts without instances.
    let (_, body) = api.get("instance/list", &[("_regionId", "cn-example")]).await;
    assert_eq!(body["data"], serde_json::json!([]));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn accounts_reset_and_model_round_trips() {
    let api = Api::start().await;
    api.create_topic(&api.default_instance(), "T_reset", "0").await;
    let snapshot = serde_json::to_string(&*api.srv.state.store.rocketmq.read()).unwrap();
    let restored: localyun::engine::rocketmq::RocketMqModel = serde_json::from_str(&snapshot).unwrap();
    assert!(restored.instance_by_id(&api.default_instance()).unwrap().read().has_topic("T_reset"));
    let model = api.srv.state.store.rocketmq.write();
    model.remove_account(common::ACCOUNT);
    assert_eq!(model.instances_of(common::ACCOUNT, REGION).len(), 0);
    assert_eq!(model.instances_of(ACCOUNT_B, REGION).len(), 1);
    let _ = MessageType::Normal;
}

/// A fact about a group, read under its instance's lock.
fn group_of<R>(api: &Api, instance: &str, group: &str, f: impl FnOnce(&Group) -> R) -> R {
    let model = api.srv.state.store.rocketmq.read();
    let handle = model.instance_by_id(instance).unwrap();
    let instance = handle.read();
    f(instance.group(group).unwrap())
}
