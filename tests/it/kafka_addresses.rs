//! Every Kafka instance has its own address (src/engine/kafka/vports.rs): the management APIs answer
//! distinct vports, the default account's ap-guangzhou CKafka instance keeps 127.0.0.1:9092, and with
//! the listeners on those vports (moved by a port offset, as LOCALYUN_KAFKA_PORT_OFFSET does) each
//! instance serves only its own topics.

use crate::common;
use crate::kafka_support;

use std::collections::HashSet;
use std::sync::Arc;

use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;
use localyun::config::{AuthMode, Config};
use localyun::engine::kafka::{vports, Scope};
use localyun::kafka::{KafkaBroker, KafkaOptions, Security};
use localyun::storage::Resources;

use common::ACCOUNT;
use kafka_support::{alibaba, batch, now_ms, record, tencent, Conn};
use serde_json::json;

#[tokio::test]
async fn management_apis_answer_distinct_stable_vports() {
    let srv = common::start().await;
    let tencent_default = localyun::tencent::ckafka::default_instance_id(ACCOUNT, "ap-guangzhou");
    let r = tencent(&srv, "GetInstanceAttributes", &[("instanceId", &tencent_default)]).await;
    assert_eq!(r["code"], 0, "{r}");
    assert_eq!((r["vip"].as_str(), r["vport"].as_i64()), (Some("127.0.0.1"), Some(9092)), "{r}");

    let r = alibaba(&srv, "GetInstanceList", &[("RegionId", "cn-hangzhou")]).await;
    let vo = &r["InstanceList"]["InstanceVO"][0];
    assert_eq!(vo["EndPoint"], "127.0.0.1:9302", "{r}");
    assert_eq!(vo["SslEndPoint"], "127.0.0.1:9303");

    // No two instances share a block of ports; every allocated one is on the grid.
    let ports: Vec<(String, u16)> = srv
        .state
        .store
        .kafka
        .read()
        .instances_of(Scope::ANY)
        .iter()
        .map(|h| {
            let i = h.read();
            (i.id.clone(), i.vport)
        })
        .collect();
    assert!(ports.len() >= 30, "every default instance: {}", ports.len());
    let mut blocks = HashSet::new();
    for (id, port) in &ports {
        if *port == vports::DEFAULT {
            assert_eq!(*id, tencent_default);
        } else {
            assert!(
                *port >= vports::FIRST_ALLOCATED && (port - vports::FIRST_ALLOCATED).is_multiple_of(vports::STEP),
                "{id}: {port}"
            );
        }
        assert!(blocks.insert(*port), "{id} shares vport {port}");
    }

    // The same answers after a second start of the same configuration.
    let again = common::start().await;
    let r = alibaba(&again, "GetInstanceList", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!(r["InstanceList"]["InstanceVO"][0]["EndPoint"], "127.0.0.1:9302");
}

#[tokio::test]
async fn each_instance_serves_its_own_topics_on_its_own_vport() {
    let srv = common::start().await;
    let tencent_id = localyun::tencent::ckafka::default_instance_id(ACCOUNT, "ap-guangzhou");
    let alibaba_id = localyun::alibaba::kafka::default_instance_id(ACCOUNT, "cn-hangzhou");
    let r = tencent(
        &srv,
        "CreateTopic",
        &[("instanceId", &tencent_id), ("topicName", "only-tencent"), ("partitionNum", "1"), ("replicaNum", "1")],
    )
    .await;
    assert_eq!(r["code"], 0, "{r}");
    let r = alibaba(
        &srv,
        "CreateTopic",
        &[("InstanceId", &alibaba_id), ("RegionId", "cn-hangzhou"), ("Topic", "only-alibaba"), ("Remark", "r")],
    )
    .await;
    assert_eq!(r["Success"], true, "{r}");

    // Real vports, moved by an offset so the test does not need 9092 free; another offset if some of
    // the ports are taken by someone else right now.
    let mut served = None;
    for attempt in 0..5u16 {
        let offset = 20_000 + i32::from(attempt) * 1_000 + i32::from(std::process::id() as u16 % 500);
        let options = KafkaOptions { ephemeral: false, port_offset: offset, ..KafkaOptions::ephemeral() };
        let broker = localyun::kafka::start_with(srv.state.clone(), options).await;
        let t = broker.address_of(&tencent_id);
        let a = broker.address_of(&alibaba_id);
        let sasl = broker.listener_address(&alibaba_id, Security::SaslPlaintext);
        match (t, a, sasl) {
            (Some(t), Some(a), Some(sasl)) => {
                served = Some((broker, offset, t, a, sasl));
                break;
            }
            _ => broker.shutdown().await,
        }
    }
    let (broker, offset, t, a, sasl) = served.expect("free ports for the listeners");
    assert_eq!(i32::from(t.port()), 9092 + offset);
    assert_eq!(i32::from(a.port()), 9302 + offset);
    assert_eq!(i32::from(sasl.port()), 9304 + offset, "SASL_PLAINTEXT on vport + 2");

    for (addr, mine, theirs) in [(t, "only-tencent", "only-alibaba"), (a, "only-alibaba", "only-tencent")] {
        let mut c = Conn::open(addr).await;
        let req = MetadataRequest::default().with_topics(None);
        let ResponseKind::Metadata(m) = c.call(ApiKey::Metadata, 12, RequestKind::Metadata(req)).await else {
            panic!()
        };
        let names: Vec<String> = m.topics.iter().filter_map(|t| t.name.as_ref().map(|n| n.to_string())).collect();
        assert_eq!(names, [mine], "{addr}");
        assert_eq!(m.brokers[0].port, i32::from(addr.port()), "Metadata advertises the instance's own port");
        let one = batch(&[record("k", "v", now_ms(), 0)], Compression::None);
        assert_eq!(c.produce(mine, 0, 1, one.clone()).await, (0, 0));
        assert_eq!(c.produce(theirs, 0, 1, one).await.0, 3, "UNKNOWN_TOPIC_OR_PARTITION on the other instance");
    }
    broker.shutdown().await;
}

/// A state folder from before vports were allocated (every instance on 9092): at start the data plane
/// gives every instance but the default one a block of its own, stored like any change.
#[tokio::test]
async fn instances_sharing_9092_from_older_state_are_separated_at_start() {
    let srv = common::start().await;
    let tencent_default = localyun::tencent::ckafka::default_instance_id(ACCOUNT, "ap-guangzhou");
    let alibaba_id = localyun::alibaba::kafka::default_instance_id(ACCOUNT, "cn-hangzhou");
    let beijing = localyun::alibaba::kafka::default_instance_id(ACCOUNT, "cn-beijing");
    {
        let mut model = srv.state.store.kafka.write();
        for id in [&alibaba_id, &beijing] {
            let key = format!("i/{id}");
            let mut value = model.resource(&key).unwrap();
            value["vport"] = serde_json::Value::from(9092);
            model.apply(&key, Some(value)).unwrap();
        }
    }
    let vport = |id: &str| srv.state.store.kafka.read().read_instance(Scope::ANY, id, |i| i.vport).unwrap();
    assert_eq!((vport(&alibaba_id), vport(&beijing)), (9092, 9092));
    let broker = localyun::kafka::start_with(srv.state.clone(), KafkaOptions::ephemeral()).await;
    assert_eq!(vport(&tencent_default), 9092, "the default instance keeps 9092");
    let (a, b) = (vport(&alibaba_id), vport(&beijing));
    assert!(a >= vports::FIRST_ALLOCATED && b >= vports::FIRST_ALLOCATED && a != b, "{a} {b}");
    let all: Vec<u16> = srv.state.store.kafka.read().instances_of(Scope::ANY).iter().map(|h| h.read().vport).collect();
    let distinct: HashSet<u16> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "{all:?}");
    let r = alibaba(&srv, "GetInstanceList", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!(r["InstanceList"]["InstanceVO"][0]["EndPoint"], format!("127.0.0.1:{a}"));
    broker.shutdown().await;
}

/// A Tencent API v3 call (JSON POST at `/`) to a lenient server: an unknown key id is accepted without
/// its HMAC (README "Configuration", `--auth lenient`), so the TC3 header needs only its shape here.
async fn tencent_v3(srv: &common::TestServer, action: &str, params: serde_json::Value) -> serde_json::Value {
    let now = common::unix_now();
    let date = chrono::DateTime::from_timestamp(now, 0).map(|d| d.format("%Y-%m-%d").to_string()).unwrap();
    let auth = format!(
        "TC3-HMAC-SHA256 Credential=AKIDANYONE/{date}/ckafka/tc3_request, SignedHeaders=content-type;host, Signature={}",
        "0".repeat(64)
    );
    let resp = srv
        .client
        .post(format!("{}/", srv.base))
        .header("content-type", "application/json; charset=utf-8")
        .header("x-tc-action", action)
        .header("x-tc-version", "2019-08-19")
        .header("x-tc-timestamp", now.to_string())
        .header("x-tc-region", "ap-guangzhou")
        .header("authorization", auth)
        .body(params.to_string())
        .send()
        .await
        .unwrap();
    resp.json().await.unwrap()
}

/// A lenient server whose data plane listens moved by a port offset (what LOCALYUN_KAFKA_PORT_OFFSET
/// sets), with fresh state per attempt: another offset if some of the ports are taken by someone else
/// right now (a state keeps the first data plane started on it, so a failed attempt needs a new server).
async fn served_with_offset(
    base: i32,
    advertised: Option<&str>,
    probe: &[(&str, Security)],
) -> (common::TestServer, Arc<KafkaBroker>, i32) {
    for attempt in 0..5 {
        let srv = common::start_with(Config { auth: AuthMode::Lenient, ..Config::default() }).await;
        let offset = base + attempt * 1_000 + i32::from(std::process::id() as u16 % 500);
        let options = KafkaOptions {
            ephemeral: false,
            port_offset: offset,
            advertised_host: advertised.map(str::to_string),
            ..KafkaOptions::ephemeral()
        };
        let broker = localyun::kafka::start_with(srv.state.clone(), options).await;
        if probe.iter().all(|(id, security)| broker.listener_address(id, *security).is_some()) {
            return (srv, broker, offset);
        }
        broker.shutdown().await;
    }
    panic!("no free ports for the listeners");
}

/// Under a port offset (and an advertised host) every management answer that tells a client where to
/// connect names the address the data plane serves (Tencent v2 `vip:vport`, v3 `Vip:Vport` / `VipList`,
/// Alibaba `EndPoint`, `SslEndPoint`, `DomainEndpoint`, `SslDomainEndpoint`), Kafka's Metadata agrees, and
/// the stored vip and vport stay the instance's own (a start with other settings answers those).
#[tokio::test]
async fn management_answers_name_the_addresses_served() {
    let tencent_id = localyun::tencent::ckafka::default_instance_id(ACCOUNT, "ap-guangzhou");
    let alibaba_id = localyun::alibaba::kafka::default_instance_id(ACCOUNT, "cn-hangzhou");
    let probe = [
        (tencent_id.as_str(), Security::Plaintext),
        (alibaba_id.as_str(), Security::Plaintext),
        (alibaba_id.as_str(), Security::SaslSsl),
        (alibaba_id.as_str(), Security::SaslPlaintext),
    ];
    let mut offsets = Vec::new();
    for (base, advertised) in [(23_000, None), (29_000, Some("localhost"))] {
        let (srv, broker, offset) = served_with_offset(base, advertised, &probe).await;
        let host = advertised.unwrap_or("127.0.0.1");
        offsets.push(offset);
        let served = |id: &str, security| broker.listener_address(id, security).map(|a| a.port()).unwrap();
        let tencent_port = served(&tencent_id, Security::Plaintext);
        assert_eq!(i32::from(tencent_port), 9092 + offset);
        let (ali_port, ali_ssl) = (served(&alibaba_id, Security::Plaintext), served(&alibaba_id, Security::SaslSsl));
        assert_eq!((i32::from(ali_port), i32::from(ali_ssl)), (9302 + offset, 9303 + offset));

        // Tencent API v2: vip:vport.
        let r = tencent(&srv, "GetInstanceAttributes", &[("instanceId", &tencent_id)]).await;
        assert_eq!(r["code"], 0, "{r}");
        assert_eq!((r["vip"].as_str(), r["vport"].as_u64()), (Some(host), Some(u64::from(tencent_port))), "{r}");

        // Tencent API v3: Vport is a string, in the instance and in its VipList, in both actions.
        let want = tencent_port.to_string();
        let r = tencent_v3(&srv, "DescribeInstanceAttributes", json!({"InstanceId": tencent_id})).await;
        let result = &r["Response"]["Result"];
        assert_eq!((&result["Vip"], &result["Vport"]), (&json!(host), &json!(want)), "{r}");
        assert_eq!(result["VipList"], json!([{"Vip": host, "Vport": want}]), "{r}");
        let r = tencent_v3(&srv, "DescribeInstancesDetail", json!({"InstanceId": tencent_id})).await;
        let listed = &r["Response"]["Result"]["InstanceList"];
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{r}");
        assert_eq!((&listed[0]["Vip"], &listed[0]["Vport"]), (&json!(host), &json!(want)), "{r}");
        assert_eq!(listed[0]["VipList"], json!([{"Vip": host, "Vport": want}]), "{r}");

        // Alibaba GetInstanceList (2019-09-16 adds the domain endpoints).
        let r = alibaba(&srv, "GetInstanceList", &[("RegionId", "cn-hangzhou")]).await;
        let vo = &r["InstanceList"]["InstanceVO"][0];
        assert_eq!(vo["InstanceId"], alibaba_id.as_str(), "{r}");
        let (plain, ssl) = (format!("{host}:{ali_port}"), format!("{host}:{ali_ssl}"));
        assert_eq!((&vo["EndPoint"], &vo["DomainEndpoint"]), (&json!(plain), &json!(plain)), "{r}");
        assert_eq!((&vo["SslEndPoint"], &vo["SslDomainEndpoint"]), (&json!(ssl), &json!(ssl)), "{r}");

        // A client bootstrapping from each answered address (the host is this machine's loopback either
        // way) gets Metadata naming that same address.
        for (answered, port) in [(format!("{host}:{tencent_port}"), tencent_port), (plain, ali_port)] {
            let mut c = Conn::open(([127, 0, 0, 1], port).into()).await;
            let req = MetadataRequest::default().with_topics(None);
            let ResponseKind::Metadata(m) = c.call(ApiKey::Metadata, 12, RequestKind::Metadata(req)).await else {
                panic!("Metadata from {answered}")
            };
            assert_eq!(format!("{}:{}", m.brokers[0].host.as_str(), m.brokers[0].port), answered);
        }
        // The SASL_SSL access point answered is a listening socket (its TLS is kafka_sasl's business).
        assert!(tokio::net::TcpStream::connect(("127.0.0.1", ali_ssl)).await.is_ok(), "{ssl}");

        // Stored state keeps the instance's own vip and vport: the settings apply when answering only.
        for (id, own) in [(&tencent_id, 9092), (&alibaba_id, 9302)] {
            let stored = srv.state.store.kafka.read().resource(&format!("i/{id}")).unwrap();
            assert_eq!((&stored["vip"], &stored["vport"]), (&json!("127.0.0.1"), &json!(own)), "{id}: {stored}");
        }
        broker.shutdown().await;
    }
    assert_ne!(offsets[0], offsets[1], "two starts, two offsets, each answered its own");
}

/// Without a data plane (or with it off) the answers are the stored vports: nothing is moved.
#[tokio::test]
async fn without_a_data_plane_answers_are_the_stored_vports() {
    let srv = common::start_with(Config { auth: AuthMode::Lenient, ..Config::default() }).await;
    let tencent_id = localyun::tencent::ckafka::default_instance_id(ACCOUNT, "ap-guangzhou");
    let r = tencent_v3(&srv, "DescribeInstanceAttributes", json!({"InstanceId": tencent_id})).await;
    assert_eq!(r["Response"]["Result"]["Vport"], "9092", "{r}");
    let r = alibaba(&srv, "GetInstanceList", &[("RegionId", "cn-hangzhou")]).await;
    let vo = &r["InstanceList"]["InstanceVO"][0];
    assert_eq!(
        (&vo["EndPoint"], &vo["SslDomainEndpoint"]),
        (&json!("127.0.0.1:9302"), &json!("127.0.0.1:9303")),
        "{r}"
    );
}
