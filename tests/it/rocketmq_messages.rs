//! RocketMQ `/json` Open API: consumer, message, statistics and dead-letter routes, answered from messages and
//! consumers put into the model through its own API.

use crate::{common, rocketmq_support};

use localyun::engine::rocketmq::{ConsumerClient, Millis, NewMessage};
use rocketmq_support::*;
use serde_json::Value;

/// The default instance with topic `T_m` and group `GID_m`, whose client `c1` subscribes `T_m` with `*`.
async fn setup() -> (Api, String) {
    let api = Api::start().await;
    let id = api.default_instance();
    api.create_topic(&id, "T_m", "0").await;
    api.create_group(&id, "GID_m").await;
    api.srv
        .state
        .store
        .rocketmq
        .write()
        .connect_consumer(&id, "GID_m", ConsumerClient::new("c1", "10.0.0.5", &[("T_m", "*")]))
        .unwrap();
    (api, id)
}

fn send(api: &Api, id: &str, topic: &str, msg: NewMessage) -> String {
    api.srv.state.store.rocketmq.write().send(id, topic, msg).unwrap()
}

fn deliver(api: &Api, id: &str, group: &str, topic: &str, max: usize) -> Vec<String> {
    let got = api.srv.state.store.rocketmq.write().deliver(id, group, topic, max).unwrap();
    got.into_iter().map(|m| m.msg_id).collect()
}

#[tokio::test]
async fn get_by_id_and_by_key_return_stored_messages() {
    let (api, id) = setup().await;
    let mut msg = NewMessage::new("TagA", "order-1", "hello");
    msg.user_properties.insert("color".into(), "red".into());
    msg.born_host = Some("10.0.0.9:50000".into());
    msg.born_ms = Some(Millis::from_ms(1_000));
    let msg_id = send(&api, &id, "T_m", msg);
    let other = send(&api, &id, "T_m", NewMessage::new("TagB", "order-1", "again"));
    send(&api, &id, "T_m", NewMessage::new("TagB", "order-2", "x"));

    let (_, body) = api.get("message/getById", &[("topic", "T_m"), ("msgId", &msg_id)]).await;
    assert_ok(&body);
    let m = &body["data"];
    assert_eq!(m["msgId"], msg_id.as_str());
    assert_eq!(m["topic"], "T_m");
    assert_eq!(m["body"], "hello");
    assert_eq!(m["bornHost"], "10.0.0.9:50000");
    assert_eq!(m["bornTimestamp"], 1_000);
    assert_eq!(m["reconsumeTimes"], 0);
    assert_eq!(m["bodyCRC"], i64::from(crc32(b"hello") & 0x7FFF_FFFF));
    assert!(m["storeTimestamp"].as_i64().unwrap() > 1_000);
    assert!(m["storeSize"].as_i64().unwrap() > 5);
    assert!(m["storeHost"].as_str().is_some());
    let props: Vec<(String, String)> = m["propertyList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["value"].as_str().unwrap().to_string()))
        .collect();
    assert!(props.contains(&("TAGS".into(), "TagA".into())));
    assert!(props.contains(&("KEYS".into(), "order-1".into())));
    assert!(props.contains(&("color".into(), "red".into())));

    assert_err(&api.get("message/getById", &[("topic", "T_m"), ("msgId", "0000")]).await, "BIZ_NO_MESSAGE");
    assert_err(&api.get("message/getById", &[("topic", "T_none"), ("msgId", &msg_id)]).await, "BIZ_TOPIC_NOT_FOUND");
    assert_err(&api.get("message/getById", &[("topic", "T_m")]).await, "BIZ_FIELD_CHECK_INVALID");

    let (_, body) = api.get("message/getByKey", &[("topic", "T_m"), ("key", "order-1")]).await;
    assert_ok(&body);
    let ids: Vec<&str> = body["data"].as_array().unwrap().iter().map(|m| m["msgId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&msg_id.as_str()) && ids.contains(&other.as_str()));
    assert_err(&api.get("message/getByKey", &[("topic", "T_m"), ("key", "order-9")]).await, "BIZ_NO_MESSAGE");
    assert_err(&api.get("message/getByKey", &[("topic", "T_none"), ("key", "order-1")]).await, "BIZ_TOPIC_NOT_FOUND");
    assert_err(&api.get("message/getByKey", &[("topic", "T_m")]).await, "BIZ_FIELD_CHECK_INVALID");
    // Another account cannot read them.
    let b_instance = api.instance_of(ACCOUNT_B);
    assert_err(
        &api.get_b("message/getById", &[("instanceId", &b_instance), ("topic", "T_m"), ("msgId", &msg_id)]).await,
        "BIZ_TOPIC_NOT_FOUND",
    );
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[tokio::test]
async fn paged_topic_queries_use_tasks_and_time_ranges() {
    let (api, id) = setup().await;
    for n in 0..12 {
        let msg = NewMessage {
            store_ms: Some(Millis::from_ms(10_000 + n * 1000)),
            ..NewMessage::new("a", &format!("k{n}"), &n.to_string())
        };
        send(&api, &id, "T_m", msg);
    }
    send(
        &api,
        &id,
        "T_m",
        NewMessage { store_ms: Some(Millis::from_ms(50_000)), ..NewMessage::new("a", "late", "late") },
    );
    let first =
        [("topic", "T_m"), ("beginTime", "10000"), ("endTime", "21000"), ("currentPage", "1"), ("pageSize", "5")];
    let (_, body) = api.get("message/getByPagedTopic", &first).await;
    assert_ok(&body);
    assert_eq!(body["data"]["maxPageCount"], 3);
    assert_eq!(body["data"]["currentPage"], 1);
    assert_eq!(body["total"], 12);
    let bodies: Vec<&str> =
        body["data"]["data"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, vec!["0", "1", "2", "3", "4"]);
    let task = body["data"]["taskId"].as_str().unwrap().to_string();
    let page3 = [
        ("topic", "T_m"),
        ("beginTime", "10000"),
        ("endTime", "21000"),
        ("currentPage", "3"),
        ("pageSize", "5"),
        ("taskId", &task),
    ];
    let (_, body) = api.get("message/getByPagedTopic", &page3).await;
    assert_ok(&body);
    let bodies: Vec<&str> =
        body["data"]["data"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, vec!["10", "11"]);

    let mut no_task = page3.to_vec();
    no_task.pop();
    assert_err(&api.get("message/getByPagedTopic", &no_task).await, "BIZ_FIELD_CHECK_INVALID");
    let mut beyond = page3.to_vec();
    beyond[3] = ("currentPage", "4");
    assert_err(&api.get("message/getByPagedTopic", &beyond).await, "BIZ_FIELD_CHECK_INVALID");
    let mut too_far = page3.to_vec();
    too_far[3] = ("currentPage", "51");
    assert_err(&api.get("message/getByPagedTopic", &too_far).await, "BIZ_FIELD_CHECK_INVALID");
    let mut small = first.to_vec();
    small[4] = ("pageSize", "4");
    assert_err(&api.get("message/getByPagedTopic", &small).await, "BIZ_FIELD_CHECK_INVALID");
    let mut bad_task = page3.to_vec();
    bad_task[5] = ("taskId", "nope");
    assert_err(&api.get("message/getByPagedTopic", &bad_task).await, "BIZ_FIELD_CHECK_INVALID");
    let mut reversed = first.to_vec();
    reversed[1] = ("beginTime", "30000");
    assert_err(&api.get("message/getByPagedTopic", &reversed).await, "BIZ_FIELD_CHECK_INVALID");
    let empty = [("topic", "T_m"), ("beginTime", "0"), ("endTime", "9999"), ("currentPage", "1")];
    assert_err(&api.get("message/getByPagedTopic", &empty).await, "BIZ_NO_MESSAGE");
    let unknown = [("topic", "T_none"), ("beginTime", "0"), ("endTime", "9999"), ("currentPage", "1")];
    assert_err(&api.get("message/getByPagedTopic", &unknown).await, "BIZ_TOPIC_NOT_FOUND");
    // Default page size 20: one page.
    let (_, body) = api
        .get(
            "message/getByPagedTopic",
            &[("topic", "T_m"), ("beginTime", "0"), ("endTime", "60000"), ("currentPage", "1")],
        )
        .await;
    assert_eq!((body["data"]["maxPageCount"].clone(), body["pageSize"].clone()), (1.into(), 20.into()));
    assert_eq!(body["data"]["data"].as_array().unwrap().len(), 13);
}

#[tokio::test]
async fn accumulation_counts_the_backlog_and_consumption_reduces_it() {
    let (api, id) = setup().await;
    for n in 0..5 {
        send(&api, &id, "T_m", NewMessage::new("a", "", &n.to_string()));
    }
    let (_, body) = api.get("consumer/accumulate", &[("groupid", "GID_m"), ("detail", "true")]).await;
    assert_ok(&body);
    let d = &body["data"];
    assert_eq!(d["onLine"], true);
    assert_eq!(d["totalDiff"], 5);
    assert_eq!(d["lastTimestamp"], 0);
    assert!(d["delayTime"].as_i64().unwrap() >= 0);
    assert_eq!(d["DetailInTopicList"][0]["topic"], "T_m");
    assert_eq!(d["DetailInTopicList"][0]["totalDiff"], 5);
    assert_eq!(deliver(&api, &id, "GID_m", "T_m", 2).len(), 2);
    let (_, body) = api.get("consumer/accumulate", &[("groupId", "GID_m")]).await;
    assert_eq!(body["data"]["totalDiff"], 3);
    assert!(body["data"]["lastTimestamp"].as_i64().unwrap() > 0);
    assert!(body["data"]["consumeTps"].as_f64().unwrap() > 0.0);
    assert_eq!(body["data"]["DetailInTopicList"], serde_json::json!([]), "no detail unless asked");
    assert_err(&api.get("consumer/accumulate", &[("groupId", "GID_none")]).await, "BIZ_SUBSCRIPTION_NOT_FOUND");
    assert_err(&api.get("consumer/accumulate", &[]).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(
        &api.get("consumer/accumulate", &[("groupId", "GID_m"), ("detail", "maybe")]).await,
        "BIZ_FIELD_CHECK_INVALID",
    );
    // A disabled group receives nothing.
    assert_ok(&api.get("group/consumerUpdate", &[("groupId", "GID_m"), ("readEnable", "false")]).await.1);
    assert!(deliver(&api, &id, "GID_m", "T_m", 10).is_empty());
}

#[tokio::test]
async fn timed_messages_wait_for_their_delivery_time() {
    let (api, id) = setup().await;
    let later = now_ms() + 3_600_000;
    let msg_id = send(
        &api,
        &id,
        "T_m",
        NewMessage { start_deliver_ms: Some(Millis::from_ms(later)), ..NewMessage::new("a", "", "t") },
    );
    let (_, body) = api.get("consumer/accumulate", &[("groupId", "GID_m")]).await;
    assert_eq!(body["data"]["totalDiff"], 0);
    let (_, body) = api.get("message/getById", &[("topic", "T_m"), ("msgId", &msg_id)]).await;
    let props = body["data"]["propertyList"].as_array().unwrap();
    assert!(props
        .iter()
        .any(|p| p["name"] == "__STARTDELIVERTIME"
            && p["value"].as_str().and_then(|v| v.parse::<i64>().ok()) == Some(later)));
    let too_late = NewMessage {
        start_deliver_ms: Some(Millis::from_ms(now_ms() + 41 * 86_400_000)),
        ..NewMessage::new("a", "", "t")
    };
    assert!(api.srv.state.store.rocketmq.write().send(&id, "T_m", too_late).is_err());
}

#[tokio::test]
async fn consumer_status_and_connections_reflect_clients() {
    let (api, id) = setup().await;
    send(&api, &id, "T_m", NewMessage::new("a", "", "1"));
    let (_, body) = api.get("consumer/status", &[("groupId", "GID_m")]).await;
    assert_ok(&body);
    let d = &body["data"];
    assert_eq!((d["online"].clone(), d["totalDiff"].clone()), (true.into(), 1.into()));
    // ConsumerStatusDo types consumeModel as Long (issue 13 item 14): RocketMQ's MessageModel ordinal,
    // 1 CLUSTERING (0 BROADCASTING, checked below); the per-client info keeps the documented string.
    assert_eq!(d["consumeModel"], 1);
    assert!(d["consumeModel"].is_i64());
    assert_eq!((d["subscriptionSame"].clone(), d["rebalanceOK"].clone()), (true.into(), true.into()));
    assert_eq!(d["ConnectionSet"][0]["clientId"], "c1");
    assert_eq!(d["ConnectionSet"][0]["remoteIP"], "10.0.0.5");
    assert_eq!(d["ConsumerConnectionInfoList"], serde_json::json!([]));
    assert_eq!(d["DetailInTopicList"], serde_json::json!([]));
    let (_, body) =
        api.get("consumer/status", &[("groupId", "GID_m"), ("detail", "true"), ("needJstack", "true")]).await;
    let info = &body["data"]["ConsumerConnectionInfoList"][0];
    assert_eq!(info["consumeType"], "PUSH");
    assert_eq!(info["consumeModel"], "CLUSTERING");
    assert_eq!(info["SubscriptionSet"][0]["topic"], "T_m");
    assert_eq!(info["SubscriptionSet"][0]["subString"], "*");
    assert_eq!(info["RunningDataList"][0]["groupId"], "GID_m");
    assert_eq!(info["Jstack"].as_array().unwrap().len(), info["threadCount"].as_u64().unwrap() as usize);
    assert_eq!(body["data"]["DetailInTopicList"][0]["totalDiff"], 1);
    // A second client with another subscription: not the same, rebalance not OK.
    api.srv
        .state
        .store
        .rocketmq
        .write()
        .connect_consumer(&id, "GID_m", ConsumerClient::new("c2", "10.0.0.6", &[("T_m", "tagX")]))
        .unwrap();
    let (_, body) = api.get("consumer/status", &[("groupId", "GID_m")]).await;
    assert_eq!(
        (body["data"]["subscriptionSame"].clone(), body["data"]["rebalanceOK"].clone()),
        (false.into(), false.into())
    );
    let mut broadcasting = ConsumerClient::new("c3", "10.0.0.7", &[("T_m", "*")]);
    broadcasting.message_model = localyun::engine::rocketmq::MessageModel::Broadcasting;
    api.srv.state.store.rocketmq.read().connect_consumer(&id, "GID_m", broadcasting).unwrap();
    let (_, body) = api.get("consumer/status", &[("groupId", "GID_m")]).await;
    assert_eq!(body["data"]["consumeModel"], 0, "{body}");
    api.srv.state.store.rocketmq.read().disconnect_consumer(&id, "GID_m", "c3").unwrap();

    let (_, body) = api.get("consumer/getConnection", &[("groupId", "GID_m")]).await;
    assert_ok(&body);
    let clients: Vec<&str> = body["data"].as_array().unwrap().iter().map(|c| c["clientId"].as_str().unwrap()).collect();
    assert_eq!(clients, vec!["c1", "c2"]);
    assert_eq!(body["data"][0]["clientAddr"], "10.0.0.5:53412");
    {
        let model = api.srv.state.store.rocketmq.write();
        model.disconnect_consumer(&id, "GID_m", "c1").unwrap();
        model.disconnect_consumer(&id, "GID_m", "c2").unwrap();
    }
    assert_err(&api.get("consumer/getConnection", &[("groupId", "GID_m")]).await, "BIZ_CONSUMER_NOT_ONLINE");
    assert_err(
        &api.get("consumer/status", &[("groupId", "GID_m"), ("detail", "true"), ("needJstack", "true")]).await,
        "BIZ_CONSUMER_NOT_ONLINE",
    );
    let (_, body) = api.get("consumer/status", &[("groupId", "GID_m")]).await;
    assert_eq!(body["data"]["online"], false);
    assert_err(&api.get("consumer/getConnection", &[("groupId", "GID_none")]).await, "BIZ_SUBSCRIPTION_NOT_FOUND");
    assert_err(&api.get("consumer/status", &[("groupId", "GID_none")]).await, "BIZ_SUBSCRIPTION_NOT_FOUND");
    assert_err(&api.get("consumer/status", &[]).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(&api.get("consumer/getConnection", &[]).await, "BIZ_FIELD_CHECK_INVALID");
}

#[tokio::test]
async fn timespan_and_offset_reset_move_consumption() {
    let (api, id) = setup().await;
    let ids: Vec<String> = (0..6)
        .map(|n| {
            send(
                &api,
                &id,
                "T_m",
                NewMessage {
                    store_ms: Some(Millis::from_ms(100_000 + n * 1000)),
                    ..NewMessage::new("a", "", &n.to_string())
                },
            )
        })
        .collect();
    let (_, body) = api.get("consumer/timespan", &[("groupId", "GID_m"), ("topic", "T_m")]).await;
    assert_ok(&body);
    assert_eq!(
        body["data"],
        serde_json::json!({"topic": "T_m", "minTimeStamp": 100_000, "maxTimeStamp": 105_000, "consumeTimeStamp": 0})
    );
    deliver(&api, &id, "GID_m", "T_m", 6);
    let (_, body) = api.get("consumer/timespan", &[("groupId", "GID_m"), ("topic", "T_m")]).await;
    assert_eq!(body["data"]["consumeTimeStamp"], 105_000);

    // Back to 103000: three messages to consume again, starting with the fourth.
    let reset = [("groupId", "GID_m"), ("topic", "T_m"), ("type", "1"), ("resetTime", "103000")];
    assert_ok(&api.get("consumer/resetOffset", &reset).await.1);
    let (_, body) = api.get("consumer/accumulate", &[("groupId", "GID_m")]).await;
    assert_eq!(body["data"]["totalDiff"], 3);
    assert_eq!(deliver(&api, &id, "GID_m", "T_m", 1), vec![ids[3].clone()]);
    // Type 0 clears everything.
    assert_ok(&api.get("consumer/resetOffset", &[("groupId", "GID_m"), ("topic", "T_m"), ("type", "0")]).await.1);
    let (_, body) = api.get("consumer/accumulate", &[("groupId", "GID_m")]).await;
    assert_eq!(body["data"]["totalDiff"], 0);

    assert_err(
        &api.get("consumer/resetOffset", &[("groupId", "GID_m"), ("topic", "T_m"), ("type", "1")]).await,
        "BIZ_FIELD_CHECK_INVALID",
    );
    assert_err(
        &api.get("consumer/resetOffset", &[("groupId", "GID_m"), ("topic", "T_m"), ("type", "2")]).await,
        "BIZ_FIELD_CHECK_INVALID",
    );
    assert_err(
        &api.get("consumer/resetOffset", &[("groupId", "GID_none"), ("topic", "T_m"), ("type", "0")]).await,
        "BIZ_SUBSCRIPTION_NOT_FOUND",
    );
    assert_err(
        &api.get("consumer/resetOffset", &[("groupId", "GID_m"), ("topic", "T_none"), ("type", "0")]).await,
        "BIZ_TOPIC_NOT_FOUND",
    );
    // A group that does not subscribe the topic.
    api.create_topic(&id, "T_other", "0").await;
    assert_err(
        &api.get("consumer/timespan", &[("groupId", "GID_m"), ("topic", "T_other")]).await,
        "BIZ_SUBSCRIPTION_NOT_FOUND",
    );
    assert_err(
        &api.get("consumer/resetOffset", &[("groupId", "GID_m"), ("topic", "T_other"), ("type", "0")]).await,
        "BIZ_SUBSCRIPTION_NOT_FOUND",
    );
    assert_err(
        &api.get("consumer/timespan", &[("groupId", "GID_none"), ("topic", "T_m")]).await,
        "BIZ_SUBSCRIPTION_NOT_FOUND",
    );
    assert_err(&api.get("consumer/timespan", &[("groupId", "GID_m")]).await, "BIZ_FIELD_CHECK_INVALID");
}

#[tokio::test]
async fn trace_tells_consumed_filtered_pending_and_offline() {
    let (api, id) = setup().await;
    api.create_group(&id, "GID_tags").await;
    api.create_group(&id, "GID_offline").await;
    {
        let model = api.srv.state.store.rocketmq.write();
        model.connect_consumer(&id, "GID_tags", ConsumerClient::new("c9", "10.0.0.9", &[("T_m", "b")])).unwrap();
        model.subscribe(&id, "GID_offline", "T_m", "*").unwrap();
    }
    let msg_id = send(&api, &id, "T_m", NewMessage::new("a", "", "x"));
    deliver(&api, &id, "GID_tags", "T_m", 10);
    let track = |body: &Value, group: &str| {
        body["data"].as_array().unwrap().iter().find(|t| t["consumerGroup"] == group).unwrap()["trackType"].clone()
    };
    let (_, body) = api.get("message/trace", &[("topic", "T_m"), ("msgId", &msg_id)]).await;
    assert_ok(&body);
    assert_eq!(track(&body, "GID_m"), "NOT_CONSUME_YET");
    assert_eq!(track(&body, "GID_tags"), "CONSUMED_BUT_FILTERED");
    assert_eq!(track(&body, "GID_offline"), "NOT_ONLINE");
    assert_eq!(body["data"][0]["instanceId"], id.as_str());
    deliver(&api, &id, "GID_m", "T_m", 10);
    let (_, body) = api.get("message/trace", &[("topic", "T_m"), ("msgId", &msg_id)]).await;
    assert_eq!(track(&body, "GID_m"), "CONSUMED");
    assert_err(&api.get("message/trace", &[("topic", "T_m"), ("msgId", "0000")]).await, "BIZ_NO_MESSAGE");
    assert_err(&api.get("message/trace", &[("topic", "T_none"), ("msgId", &msg_id)]).await, "BIZ_TOPIC_NOT_FOUND");
    assert_err(&api.get("message/trace", &[("topic", "T_m")]).await, "BIZ_FIELD_CHECK_INVALID");
}

#[tokio::test]
async fn trends_count_input_and_output_per_period() {
    let (api, id) = setup().await;
    // A whole minute (1_700_000_040_000 is a multiple of 60_000).
    let base = 1_700_000_040_000i64;
    assert_eq!(base % 60_000, 0);
    for (n, offset) in [0, 10_000, 70_000].into_iter().enumerate() {
        send(
            &api,
            &id,
            "T_m",
            NewMessage { store_ms: Some(Millis::from_ms(base + offset)), ..NewMessage::new("a", "", &n.to_string()) },
        );
    }
    let begin = base.to_string();
    let end = (base + 179_999).to_string();
    let q = |kind: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("topic", "T_m".into()),
            ("beginTime", begin.clone()),
            ("endTime", end.clone()),
            ("period", "1".into()),
            ("type", kind.into()),
        ]
    };
    let call = |p: &Vec<(&'static str, String)>| p.clone();
    let params = call(&q("0"));
    let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, body) = api.get("trend/topicInputTps", &refs).await;
    assert_ok(&body);
    let ys: Vec<f64> = body["data"]["records"].as_array().unwrap().iter().map(|r| r["y"].as_f64().unwrap()).collect();
    assert_eq!(ys, vec![2.0, 1.0, 0.0]);
    assert_eq!(body["data"]["records"][1]["x"], base + 60_000);
    assert!(body["data"]["title"].as_str().unwrap().contains("T_m"));
    let params = call(&q("1"));
    let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, body) = api.get("trend/topicInputTps", &refs).await;
    assert_eq!(body["data"]["records"][0]["y"].as_f64().unwrap(), 2.0 / 60.0);
    for (k, v) in [("period", "2"), ("type", "3"), ("topic", "T_none")] {
        let mut p = refs.clone();
        if let Some(slot) = p.iter_mut().find(|(key, _)| *key == k) {
            slot.1 = v;
        }
        let code = if k == "topic" { "BIZ_TOPIC_NOT_FOUND" } else { "BIZ_FIELD_CHECK_INVALID" };
        assert_err(&api.get("trend/topicInputTps", &p).await, code);
    }
    assert_err(&api.get("trend/topicInputTps", &[("topic", "T_m")]).await, "BIZ_FIELD_CHECK_INVALID");

    // Output: what the group consumed now.
    deliver(&api, &id, "GID_m", "T_m", 10);
    send(&api, &id, "T_m", NewMessage::new("a", "", "now"));
    deliver(&api, &id, "GID_m", "T_m", 10);
    let now = now_ms();
    let (b, e) = ((now - 600_000).to_string(), (now + 1000).to_string());
    let out = [
        ("topic", "T_m"),
        ("groupId", "GID_m"),
        ("beginTime", b.as_str()),
        ("endTime", e.as_str()),
        ("period", "10"),
        ("type", "0"),
    ];
    let (_, body) = api.get("trend/groupOutputTps", &out).await;
    assert_ok(&body);
    let total: f64 = body["data"]["records"].as_array().unwrap().iter().map(|r| r["y"].as_f64().unwrap()).sum();
    // Consumption is counted when it happens (now), whatever the messages' store times.
    assert_eq!(total, 4.0);
    let mut unknown = out.to_vec();
    unknown[1] = ("groupId", "GID_none");
    assert_err(&api.get("trend/groupOutputTps", &unknown).await, "BIZ_SUBSCRIPTION_NOT_FOUND");
    let mut reversed = out.to_vec();
    reversed[2] = ("beginTime", e.as_str());
    reversed[3] = ("endTime", b.as_str());
    assert_err(&api.get("trend/groupOutputTps", &reversed).await, "BIZ_FIELD_CHECK_INVALID");
}

#[tokio::test]
async fn dead_letters_are_queried_and_resent_back_to_the_group() {
    let (api, id) = setup().await;
    api.srv.state.store.rocketmq.read().set_max_reconsume_times(common::ACCOUNT, REGION, &id, "GID_m", 2).unwrap();
    let msg_id = send(&api, &id, "T_m", NewMessage::new("a", "dlq-key", "poison"));
    // First delivery and two retries fail: the third failure dead-letters the message.
    for attempt in 0..3 {
        let got = deliver(&api, &id, "GID_m", "T_m", 1);
        assert_eq!(got, vec![msg_id.clone()], "attempt {attempt}");
        api.srv.state.store.rocketmq.write().consume_failed(&id, "GID_m", &msg_id).unwrap();
    }
    assert!(deliver(&api, &id, "GID_m", "T_m", 1).is_empty());

    let (_, body) = api.get("message/getByIdInDLQ", &[("GroupId", "GID_m"), ("MsgId", &msg_id)]).await;
    assert_ok(&body);
    let d = &body["data"];
    assert_eq!(d["MsgId"], msg_id.as_str());
    assert_eq!(d["Topic"], "T_m");
    assert_eq!(d["Body"], "poison");
    assert_eq!(d["ReconsumeTimes"], 2);
    for field in ["PropertyList", "StoreSize", "BornTimestamp", "BornHost", "StoreTimestamp", "StoreHost", "BodyCRC"] {
        assert!(!d[field].is_null(), "{field}");
    }
    let (_, body) = api.get("message/trace", &[("topic", "T_m"), ("msgId", &msg_id)]).await;
    assert_eq!(body["data"][0]["trackType"], "UNKNOWN");

    let now = now_ms();
    let (b, e) = ((now - 60_000).to_string(), (now + 60_000).to_string());
    let paged = [("GroupId", "GID_m"), ("BeginTime", b.as_str()), ("EndTime", e.as_str()), ("CurrentPage", "1")];
    let (_, body) = api.get("message/getByPagedDLQ", &paged).await;
    assert_ok(&body);
    assert_eq!(body["data"]["MaxPageCount"], 1);
    assert_eq!(body["data"]["CurrentPage"], 1);
    assert!(body["data"]["TaskId"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(body["data"]["Data"][0]["MsgId"], msg_id.as_str());

    // Resend: the group receives it again; the dead-letter entry stays (as the seed says).
    assert_ok(&api.get("message/resendByIdInDLQ", &[("GroupId", "GID_m"), ("MsgId", &msg_id)]).await.1);
    assert_eq!(deliver(&api, &id, "GID_m", "T_m", 5), vec![msg_id.clone()]);
    assert_ok(&api.get("message/getByIdInDLQ", &[("GroupId", "GID_m"), ("MsgId", &msg_id)]).await.1);

    assert_err(&api.get("message/getByIdInDLQ", &[("GroupId", "GID_m"), ("MsgId", "0000")]).await, "BIZ_NO_MESSAGE");
    assert_err(
        &api.get("message/getByIdInDLQ", &[("GroupId", "GID_none"), ("MsgId", &msg_id)]).await,
        "BIZ_SUBSCRIPTION_NOT_FOUND",
    );
    assert_err(&api.get("message/getByIdInDLQ", &[("GroupId", "GID_m")]).await, "BIZ_FIELD_CHECK_INVALID");
    assert_err(&api.get("message/resendByIdInDLQ", &[("GroupId", "GID_m"), ("MsgId", "0000")]).await, "BIZ_NO_MESSAGE");
    assert_err(
        &api.get("message/resendByIdInDLQ", &[("GroupId", "GID_none"), ("MsgId", &msg_id)]).await,
        "BIZ_SUBSCRIPTION_NOT_FOUND",
    );
    assert_err(&api.get("message/resendByIdInDLQ", &[("MsgId", &msg_id)]).await, "BIZ_FIELD_CHECK_INVALID");
    let old = [("GroupId", "GID_m"), ("BeginTime", "0"), ("EndTime", "1000"), ("CurrentPage", "1")];
    assert_err(&api.get("message/getByPagedDLQ", &old).await, "BIZ_NO_MESSAGE");
    let none = [("GroupId", "GID_none"), ("BeginTime", "0"), ("EndTime", "1000"), ("CurrentPage", "1")];
    assert_err(&api.get("message/getByPagedDLQ", &none).await, "BIZ_SUBSCRIPTION_NOT_FOUND");
    let later = [("GroupId", "GID_m"), ("BeginTime", b.as_str()), ("EndTime", e.as_str()), ("CurrentPage", "2")];
    assert_err(&api.get("message/getByPagedDLQ", &later).await, "BIZ_FIELD_CHECK_INVALID");
}
