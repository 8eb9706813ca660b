//! The RocketMQ TCP remoting data plane driven by a small in-test client (frames and headers as RocketMQ 4.x
//! clients send them), next to the `/json` Open API that shows the same messages. Listener on an ephemeral
//! port; retry back-off 300 ms and transaction check-back 500 ms (`RemotingOptions::ephemeral`).

use crate::common::{ACCOUNT, KEY_ID, SECRET};
use crate::rocketmq_support::*;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use localyun::rocketmq::remoting::codec::{Command, RemotingCodec};
use localyun::rocketmq::remoting::wire::{decode_messages, encode_batch, property_string, BatchEntry, Decoded};
use localyun::rocketmq::remoting::{RemotingOptions, RemotingServer};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::{Decoder, Encoder};

/// Base64(HmacSHA1(secret, data)), as the RocketMQ ACL hook signs (no `&` suffix, unlike Alibaba RPC).
fn hmac_sha1_b64(secret: &str, data: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

const TOPIC: &str = "T_tcp";
const GROUP: &str = "GID_tcp";

/// A raw remoting client: one connection, optional ACL keys.
struct Client {
    stream: TcpStream,
    buf: BytesMut,
    opaque: i32,
    keys: Option<(String, String)>,
}

impl Client {
    async fn open(addr: SocketAddr) -> Client {
        Client { stream: TcpStream::connect(addr).await.unwrap(), buf: BytesMut::new(), opaque: 0, keys: None }
    }

    async fn signed(addr: SocketAddr, key: &str, secret: &str) -> Client {
        let mut c = Client::open(addr).await;
        c.keys = Some((key.to_string(), secret.to_string()));
        c
    }

    /// Sends a request (signed as the ACL hook signs: sorted field values, then the body).
    async fn send(&mut self, code: i32, ext: &[(&str, String)], body: &[u8], flag: i32) -> i32 {
        self.opaque += 1;
        let mut cmd = Command { body: Bytes::copy_from_slice(body), flag, ..Command::request(code, self.opaque) };
        cmd.language = "JAVA".into();
        for (k, v) in ext {
            cmd.ext.insert(k.to_string(), v.clone());
        }
        if let Some((key, secret)) = &self.keys {
            cmd.ext.insert("AccessKey".into(), key.clone());
            cmd.ext.insert("OnsChannel".into(), "ALIYUN".into());
            let content: String = cmd.ext.values().cloned().collect::<String>() + std::str::from_utf8(body).unwrap();
            cmd.ext.insert("Signature".into(), hmac_sha1_b64(secret, &content));
        }
        let mut out = BytesMut::new();
        RemotingCodec.encode(cmd, &mut out).unwrap();
        self.stream.write_all(&out).await.unwrap();
        self.opaque
    }

    /// The next frame from the server.
    async fn read(&mut self) -> Option<Command> {
        loop {
            if let Some(c) = RemotingCodec.decode(&mut self.buf).unwrap() {
                return Some(c);
            }
            let n =
                tokio::time::timeout(Duration::from_secs(20), self.stream.read_buf(&mut self.buf)).await.ok()?.ok()?;
            if n == 0 {
                return None;
            }
        }
    }

    async fn call(&mut self, code: i32, ext: &[(&str, String)], body: &[u8]) -> Command {
        let opaque = self.send(code, ext, body, 0).await;
        loop {
            let c = self.read().await.expect("a response");
            if c.is_response() && c.opaque == opaque {
                return c;
            }
        }
    }

    async fn send_message(&mut self, topic: &str, queue: u32, props: &[(&str, &str)], body: &str) -> Command {
        let props: Vec<(String, String)> = props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let ext = [
            ("a", "PID_tcp".to_string()),
            ("b", topic.to_string()),
            ("c", "TBW102".to_string()),
            ("d", "4".to_string()),
            ("e", queue.to_string()),
            ("f", "0".to_string()),
            ("g", now_ms().to_string()),
            ("h", "0".to_string()),
            ("i", property_string(&props)),
            ("j", "0".to_string()),
            ("k", "false".to_string()),
            ("m", "false".to_string()),
        ];
        self.call(310, &ext, body.as_bytes()).await
    }

    async fn pull(
        &mut self,
        topic: &str,
        group: &str,
        queue: u32,
        offset: i64,
        expr: &str,
        suspend_ms: u64,
    ) -> (Command, Vec<Decoded>) {
        let flag = if suspend_ms > 0 { 2 } else { 0 };
        let ext = [
            ("consumerGroup", group.to_string()),
            ("topic", topic.to_string()),
            ("queueId", queue.to_string()),
            ("queueOffset", offset.to_string()),
            ("maxMsgNums", "32".to_string()),
            ("sysFlag", flag.to_string()),
            ("commitOffset", "0".to_string()),
            ("suspendTimeoutMillis", suspend_ms.to_string()),
            ("subscription", expr.to_string()),
            ("subVersion", "0".to_string()),
        ];
        let resp = self.call(11, &ext, b"").await;
        let msgs = decode_messages(resp.body.clone()).expect("well-formed messages");
        (resp, msgs)
    }

    async fn heartbeat(
        &mut self,
        client_id: &str,
        consumer: Option<(&str, &str, &str)>,
        producer: Option<&str>,
    ) -> Command {
        let consumers: Vec<Value> = consumer
            .map(|(g, t, e)| {
                json!({"groupName": g, "consumeType": "CONSUME_PASSIVELY", "messageModel": "CLUSTERING",
                       "consumeFromWhere": "CONSUME_FROM_LAST_OFFSET", "unitMode": false,
                       "subscriptionDataSet": [{"topic": t, "subString": e, "tagsSet": [], "codeSet": [], "subVersion": 1},
                                               {"topic": format!("%RETRY%{g}"), "subString": "*", "subVersion": 1}]})
            })
            .into_iter()
            .collect();
        let producers: Vec<Value> = producer.map(|p| json!({"groupName": p})).into_iter().collect();
        let body = json!({"clientID": client_id, "consumerDataSet": consumers, "producerDataSet": producers});
        self.call(34, &[], body.to_string().as_bytes()).await
    }
}

fn field(c: &Command, name: &str) -> String {
    c.field(name).unwrap_or_else(|| panic!("{name} missing in {c:?}")).to_string()
}

async fn setup() -> (Api, String, Arc<RemotingServer>) {
    let api = Api::start().await;
    let id = api.default_instance();
    api.create_topic(&id, TOPIC, "0").await;
    api.create_group(&id, GROUP).await;
    let server =
        localyun::rocketmq::remoting::start_with(api.srv.state.clone(), RemotingOptions::ephemeral()).await.unwrap();
    (api, id, server)
}

#[tokio::test]
async fn route_send_pull_by_tag_and_the_open_api_sees_it() {
    let (api, _id, server) = setup().await;
    let addr = server.address();
    let mut c = Client::open(addr).await;

    let route = c.call(105, &[("topic", TOPIC.to_string())], b"").await;
    assert_eq!(route.code, 0, "{route:?}");
    let body: Value = serde_json::from_slice(&route.body).unwrap();
    assert_eq!(body["queueDatas"][0]["writeQueueNums"], 8);
    assert_eq!(body["queueDatas"][0]["perm"], 6);
    assert_eq!(body["brokerDatas"][0]["brokerAddrs"]["0"], addr.to_string());
    let missing = c.call(105, &[("topic", "T_none".to_string())], b"").await;
    assert_eq!(missing.code, 17);
    assert!(missing.remark.unwrap().contains("No topic route info"));

    let hb = c.heartbeat("10.0.0.1@c1", Some((GROUP, TOPIC, "TagA || TagC")), None).await;
    assert_eq!(hb.code, 0);
    let list = c.call(38, &[("consumerGroup", GROUP.to_string())], b"").await;
    assert_eq!(serde_json::from_slice::<Value>(&list.body).unwrap()["consumerIdList"], json!(["10.0.0.1@c1"]));

    let mut ids = Vec::new();
    for (n, tag) in ["TagA", "TagB", "TagC"].iter().enumerate() {
        let uniq = format!("0A0000010000UNIQ{n:04}");
        let key = format!("order-{n}");
        let r = c
            .send_message(
                TOPIC,
                1,
                &[("TAGS", tag), ("KEYS", &key), ("UNIQ_KEY", &uniq), ("color", "red"), ("WAIT", "true")],
                &format!("body-{n}"),
            )
            .await;
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!((field(&r, "queueId"), field(&r, "queueOffset")), ("1".to_string(), n.to_string()));
        assert_eq!(field(&r, "msgId").len(), 32);
        ids.push(uniq);
    }

    let (resp, msgs) = c.pull(TOPIC, GROUP, 1, 0, "TagA || TagC", 0).await;
    assert_eq!(resp.code, 0);
    assert_eq!(field(&resp, "nextBeginOffset"), "3");
    assert_eq!(field(&resp, "maxOffset"), "3");
    assert_eq!(msgs.len(), 2, "TagB is filtered out");
    assert_eq!(msgs[0].body, b"body-0");
    assert_eq!(msgs[0].properties["TAGS"], "TagA");
    assert_eq!(msgs[0].properties["KEYS"], "order-0");
    assert_eq!(msgs[0].properties["UNIQ_KEY"], ids[0]);
    assert_eq!(msgs[0].properties["color"], "red");
    assert!(!msgs[0].properties.contains_key("WAIT"));
    assert_eq!((msgs[1].queue_offset, msgs[1].properties["TAGS"].as_str()), (2, "TagC"));
    assert_eq!(msgs[0].topic, TOPIC);

    // The Open API finds the messages by the producer's id and by key.
    let (_, m) = api.get("message/getById", &[("topic", TOPIC), ("msgId", &ids[1])]).await;
    assert_ok(&m);
    assert_eq!(m["data"]["body"], "body-1");
    let (_, m) = api.get("message/getByKey", &[("topic", TOPIC), ("key", "order-2")]).await;
    assert_ok(&m);
    assert_eq!(m["data"][0]["msgId"], ids[2].as_str());

    // Backlog until the consumer commits its offset, then 0.
    let (_, acc) = api.get("consumer/accumulate", &[("groupId", GROUP), ("detail", "true")]).await;
    assert_eq!(acc["data"]["totalDiff"], 3);
    assert_eq!(acc["data"]["onLine"], true);
    let none =
        c.call(14, &[("consumerGroup", "GID_tcp".into()), ("topic", TOPIC.into()), ("queueId", "1".into())], b"").await;
    assert_eq!(
        (none.code, field(&none, "offset")),
        (0, "0".to_string()),
        "the heartbeat subscribed at the end (empty)"
    );
    let up = c
        .call(
            15,
            &[
                ("consumerGroup", GROUP.into()),
                ("topic", TOPIC.into()),
                ("queueId", "1".into()),
                ("commitOffset", "3".into()),
            ],
            b"",
        )
        .await;
    assert_eq!(up.code, 0);
    let q = c.call(14, &[("consumerGroup", GROUP.into()), ("topic", TOPIC.into()), ("queueId", "1".into())], b"").await;
    assert_eq!(field(&q, "offset"), "3");
    let (_, acc) = api.get("consumer/accumulate", &[("groupId", GROUP), ("detail", "true")]).await;
    assert_eq!(acc["data"]["totalDiff"], 0, "{acc}");
    let (_, conn) = api.get("consumer/getConnection", &[("groupId", GROUP)]).await;
    assert_ok(&conn);
    assert!(conn.to_string().contains("10.0.0.1@c1"), "{conn}");

    // Offsets of a queue; search by time; the offset message id looks a message up.
    let max = c.call(30, &[("topic", TOPIC.into()), ("queueId", "1".into())], b"").await;
    assert_eq!(field(&max, "offset"), "3");
    let min = c.call(31, &[("topic", TOPIC.into()), ("queueId", "1".into())], b"").await;
    assert_eq!(field(&min, "offset"), "0");
    let search = c
        .call(
            29,
            &[("topic", TOPIC.into()), ("queueId", "1".into()), ("timestamp", (now_ms() + 60_000).to_string())],
            b"",
        )
        .await;
    assert_eq!(field(&search, "offset"), "3");
    let view = c.call(33, &[("offset", msgs[1].commit_offset.to_string())], b"").await;
    assert_eq!(view.code, 0);
    assert_eq!(decode_messages(view.body).unwrap()[0].body, b"body-2");
    let query = c
        .call(
            12,
            &[
                ("topic", TOPIC.into()),
                ("key", "order-1".into()),
                ("maxNum", "32".into()),
                ("beginTimestamp", "0".into()),
                ("endTimestamp", i64::MAX.to_string()),
            ],
            b"",
        )
        .await;
    assert_eq!(query.code, 0);
    assert_eq!(decode_messages(query.body).unwrap()[0].properties["UNIQ_KEY"], ids[1]);

    // Batch send.
    let entries: Vec<BatchEntry> = (0..3)
        .map(|n| BatchEntry {
            flag: 0,
            body: format!("batch-{n}").into_bytes(),
            properties: [("TAGS".to_string(), "TagA".to_string())].into_iter().collect(),
        })
        .collect();
    let ext = [
        ("a", "PID_tcp".to_string()),
        ("b", TOPIC.to_string()),
        ("e", "2".to_string()),
        ("f", "0".to_string()),
        ("m", "true".to_string()),
    ];
    let batch = c.call(320, &ext, &encode_batch(&entries)).await;
    assert_eq!(batch.code, 0, "{batch:?}");
    // The C++ client sends a batch as SEND_MESSAGE_V2 with the batch flag, zlib-compressed when large.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &encode_batch(&entries[..1])).unwrap();
    let mut ext2 = ext.to_vec();
    ext2[3].1 = "1".to_string();
    let batch = c.call(310, &ext2, &z.finish().unwrap()).await;
    assert_eq!(batch.code, 0, "{batch:?}");
    let (_, got) = c.pull(TOPIC, GROUP, 2, 0, "*", 0).await;
    let bodies: Vec<Vec<u8>> = got.iter().map(|m| m.body.clone()).collect();
    assert_eq!(bodies, [&b"batch-0"[..], b"batch-1", b"batch-2", b"batch-0"].map(|b| b.to_vec()));

    // Unregistering takes the client offline.
    let un = c.call(35, &[("clientID", "10.0.0.1@c1".into()), ("consumerGroup", GROUP.into())], b"").await;
    assert_eq!(un.code, 0);
    let (_, acc) = api.get("consumer/accumulate", &[("groupId", GROUP)]).await;
    assert_eq!(acc["data"]["onLine"], false);
    server.shutdown().await;
}

#[tokio::test]
async fn timed_messages_are_not_delivered_early_and_pulls_wait() {
    let (_api, _id, server) = setup().await;
    let mut c = Client::open(server.address()).await;
    c.heartbeat("c1", Some((GROUP, TOPIC, "*")), None).await;
    let at = now_ms() + 1500;
    let r = c.send_message(TOPIC, 0, &[("TAGS", "T"), ("__STARTDELIVERTIME", &at.to_string())], "later").await;
    assert_eq!(r.code, 0);
    let (resp, msgs) = c.pull(TOPIC, GROUP, 0, 0, "*", 0).await;
    assert_eq!((resp.code, msgs.len()), (19, 0), "PULL_NOT_FOUND before its time");
    let started = Instant::now();
    let (resp, msgs) = c.pull(TOPIC, GROUP, 0, 0, "*", 5000).await;
    assert_eq!((resp.code, msgs.len()), (0, 1), "the long poll returns it once due");
    assert!(now_ms() >= at, "not before its delivery time");
    assert!(started.elapsed() < Duration::from_millis(4000));
    assert_eq!(msgs[0].body, b"later");

    // A long poll wakes up when a message arrives.
    let addr = server.address();
    let waiter = tokio::spawn(async move {
        let mut c2 = Client::open(addr).await;
        let t = Instant::now();
        let (resp, msgs) = c2.pull(TOPIC, GROUP, 3, 0, "*", 10_000).await;
        (resp.code, msgs.len(), t.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.send_message(TOPIC, 3, &[], "now").await;
    let (code, n, waited) = waiter.await.unwrap();
    assert_eq!((code, n), (0, 1));
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    // An empty long poll ends at its suspend time with PULL_NOT_FOUND.
    let t = Instant::now();
    let (resp, _) = c.pull(TOPIC, GROUP, 4, 0, "*", 600).await;
    assert_eq!(resp.code, 19);
    assert!(t.elapsed() >= Duration::from_millis(550));
    server.shutdown().await;
}

#[tokio::test]
async fn ordered_queues_keep_order_and_locks_are_exclusive() {
    let (_api, _id, server) = setup().await;
    let mut c = Client::open(server.address()).await;
    for n in 0..6 {
        let key = format!("order-{}", n % 2);
        let queue = if n % 2 == 0 { 5 } else { 6 };
        let r = c.send_message(TOPIC, queue, &[("KEYS", &key), ("__SHARDINGKEY", &key)], &format!("{key}:{n}")).await;
        assert_eq!(field(&r, "queueId"), queue.to_string());
    }
    let (_, q5) = c.pull(TOPIC, GROUP, 5, 0, "*", 0).await;
    assert_eq!(
        q5.iter().map(|m| String::from_utf8_lossy(&m.body).into_owned()).collect::<Vec<_>>(),
        ["order-0:0", "order-0:2", "order-0:4"]
    );

    let lock = |client: &str| {
        json!({"consumerGroup": GROUP, "clientId": client, "mqSet": [{"topic": TOPIC, "brokerName": "localyun-broker", "queueId": 5}]}).to_string()
    };
    let a = c.call(41, &[], lock("A").as_bytes()).await;
    assert_eq!(serde_json::from_slice::<Value>(&a.body).unwrap()["lockOKMQSet"].as_array().unwrap().len(), 1);
    let b = c.call(41, &[], lock("B").as_bytes()).await;
    assert_eq!(serde_json::from_slice::<Value>(&b.body).unwrap()["lockOKMQSet"], json!([]));
    assert_eq!(c.call(42, &[], lock("A").as_bytes()).await.code, 0);
    let b = c.call(41, &[], lock("B").as_bytes()).await;
    assert_eq!(serde_json::from_slice::<Value>(&b.body).unwrap()["lockOKMQSet"].as_array().unwrap().len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn transactions_commit_roll_back_and_are_checked_back() {
    let (api, _id, server) = setup().await;
    let mut p = Client::open(server.address()).await;
    assert_eq!(p.heartbeat("producer-1", None, Some("GID_tx")).await.code, 0);
    let mut halves = Vec::new();
    for n in 0..3 {
        let uniq = format!("TXUNIQ{n}");
        let props = [("TRAN_MSG", "true"), ("PGROUP", "GID_tx"), ("UNIQ_KEY", uniq.as_str()), ("TAGS", "tx")];
        let ext_props: Vec<(String, String)> = props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let ext = [
            ("producerGroup", "GID_tx".to_string()),
            ("topic", TOPIC.to_string()),
            ("queueId", "7".to_string()),
            ("sysFlag", "4".to_string()),
            ("bornTimestamp", now_ms().to_string()),
            ("flag", "0".to_string()),
            ("properties", property_string(&ext_props)),
        ];
        let r = p.call(10, &ext, format!("tx-{n}").as_bytes()).await;
        assert_eq!(r.code, 0, "{r:?}");
        halves.push((uniq, field(&r, "msgId"), field(&r, "queueOffset")));
    }
    let (resp, msgs) = p.pull(TOPIC, GROUP, 7, 0, "*", 0).await;
    assert_eq!((resp.code, msgs.len()), (19, 0), "half messages are invisible");
    let end = |i: usize, decision: i32| {
        let (uniq, offset_id, table) = &halves[i];
        let commit_log = i64::from_str_radix(&offset_id[16..], 16).unwrap();
        vec![
            ("producerGroup", "GID_tx".to_string()),
            ("tranStateTableOffset", table.clone()),
            ("commitLogOffset", commit_log.to_string()),
            ("commitOrRollback", decision.to_string()),
            ("fromTransactionCheck", "false".to_string()),
            ("msgId", uniq.clone()),
            ("transactionId", uniq.clone()),
        ]
    };
    assert_eq!(p.call(37, &end(0, 8), b"").await.code, 0, "commit");
    assert_eq!(p.call(37, &end(1, 12), b"").await.code, 0, "rollback");
    assert_eq!(p.call(37, &end(1, 12), b"").await.code, 1, "already decided");

    // The third stays undecided: the broker asks the producer (one-way CHECK_TRANSACTION_STATE).
    let check = loop {
        let c = p.read().await.expect("a check-back request");
        if !c.is_response() && c.code == 39 {
            break c;
        }
    };
    assert_eq!(field(&check, "msgId"), "TXUNIQ2");
    let half = decode_messages(check.body.clone()).unwrap();
    assert_eq!((half[0].body.as_slice(), half[0].properties["TRAN_MSG"].as_str()), (&b"tx-2"[..], "true"));
    let mut answer = end(2, 8);
    answer[4].1 = "true".into();
    answer[2].1 = field(&check, "commitLogOffset");
    p.send(37, &answer, b"", 2).await;

    let deadline = Instant::now() + Duration::from_secs(5);
    let bodies = loop {
        let (_, msgs) = p.pull(TOPIC, GROUP, 7, 0, "*", 0).await;
        if msgs.len() >= 2 || Instant::now() > deadline {
            break msgs.into_iter().map(|m| (m.properties["UNIQ_KEY"].clone(), m.body)).collect::<Vec<_>>();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(bodies, vec![("TXUNIQ0".to_string(), b"tx-0".to_vec()), ("TXUNIQ2".to_string(), b"tx-2".to_vec())]);
    let (_, m) = api.get("message/getById", &[("topic", TOPIC), ("msgId", "TXUNIQ2")]).await;
    assert_ok(&m);
    let (status, m) = api.get("message/getById", &[("topic", TOPIC), ("msgId", "TXUNIQ1")]).await;
    assert_err(&(status, m), "BIZ_NO_MESSAGE");
    server.shutdown().await;
}

#[tokio::test]
async fn retries_back_off_then_dead_letter_then_resend() {
    let (api, id, server) = setup().await;
    api.srv.state.store.rocketmq.read().set_max_reconsume_times(ACCOUNT, REGION, &id, GROUP, 2).unwrap();
    let mut c = Client::open(server.address()).await;
    c.heartbeat("c1", Some((GROUP, TOPIC, "*")), None).await;
    c.send_message(TOPIC, 0, &[("UNIQ_KEY", "RETRY1"), ("KEYS", "k-retry")], "fail me").await;
    let (_, first) = c.pull(TOPIC, GROUP, 0, 0, "*", 0).await;
    let commit = |topic: &str, offset: i64| {
        vec![
            ("consumerGroup", GROUP.to_string()),
            ("topic", topic.to_string()),
            ("queueId", "0".to_string()),
            ("commitOffset", offset.to_string()),
        ]
    };
    assert_eq!(c.call(15, &commit(TOPIC, 1), b"").await.code, 0);
    let retry_topic = format!("%RETRY%{GROUP}");
    let route = c.call(105, &[("topic", retry_topic.clone())], b"").await;
    assert_eq!(route.code, 0, "the retry topic has a route");

    let mut offset = first[0].commit_offset;
    let mut retry_offset = 0;
    for attempt in 1..=2 {
        let back = c
            .call(
                36,
                &[
                    ("offset", offset.to_string()),
                    ("group", GROUP.into()),
                    ("delayLevel", "0".into()),
                    ("originMsgId", "RETRY1".into()),
                    ("originTopic", TOPIC.into()),
                    ("maxReconsumeTimes", "16".into()),
                ],
                b"",
            )
            .await;
        assert_eq!(back.code, 0, "{back:?}");
        let sent = Instant::now();
        let (resp, msgs) = c.pull(&retry_topic, GROUP, 0, retry_offset, "*", 5000).await;
        assert_eq!((resp.code, msgs.len()), (0, 1), "attempt {attempt}");
        assert!(sent.elapsed() >= Duration::from_millis(250), "after the back-off");
        let m = &msgs[0];
        assert_eq!(m.reconsume_times, attempt);
        assert_eq!(m.topic, retry_topic);
        assert_eq!(m.properties["RETRY_TOPIC"], TOPIC);
        assert_eq!(m.properties["UNIQ_KEY"], "RETRY1");
        offset = m.commit_offset;
        retry_offset = m.queue_offset + 1;
        let (_, acc) = api.get("consumer/accumulate", &[("groupId", GROUP)]).await;
        assert_eq!(acc["data"]["totalDiff"], 1, "the retry awaits its offset: {acc}");
        assert_eq!(c.call(15, &commit(&retry_topic, retry_offset), b"").await.code, 0);
        let (_, acc) = api.get("consumer/accumulate", &[("groupId", GROUP)]).await;
        assert_eq!(acc["data"]["totalDiff"], 0, "{acc}");
    }
    let back =
        c.call(36, &[("offset", offset.to_string()), ("group", GROUP.into()), ("delayLevel", "0".into())], b"").await;
    assert_eq!(back.code, 0);
    let (_, dlq) = api.get("message/getByIdInDLQ", &[("groupId", GROUP), ("msgId", "RETRY1")]).await;
    assert_ok(&dlq);
    assert_eq!(dlq["data"]["Body"], "fail me");
    assert_eq!(dlq["data"]["ReconsumeTimes"], 2);
    let (resp, _) = c.pull(&retry_topic, GROUP, 0, retry_offset, "*", 800).await;
    assert_eq!(resp.code, 19, "no more retries once dead");

    let (_, r) = api.get("message/resendByIdInDLQ", &[("groupId", GROUP), ("msgId", "RETRY1")]).await;
    assert_ok(&r);
    let (resp, msgs) = c.pull(&retry_topic, GROUP, 0, retry_offset, "*", 2000).await;
    assert_eq!((resp.code, msgs.len()), (0, 1), "the resent dead letter is delivered through the retry topic");
    assert_eq!(msgs[0].body, b"fail me");
    server.shutdown().await;
}

#[tokio::test]
async fn acl_signatures_and_bad_input() {
    let (api, _id, server) = setup().await;
    let addr = server.address();
    let mut good = Client::signed(addr, KEY_ID, SECRET).await;
    let r = good.send_message(TOPIC, 0, &[("TAGS", "a")], "signed").await;
    assert_eq!(r.code, 0, "{r:?}");
    let mut bad = Client::signed(addr, KEY_ID, "wrong-secret").await;
    let r = bad.send_message(TOPIC, 0, &[], "x").await;
    assert_eq!(r.code, 16, "NO_PERMISSION");
    assert_eq!(r.remark.as_deref(), Some("Check signature failed for accessKey=AKIDLOCAL"));
    let r = bad.call(105, &[("topic", TOPIC.into())], b"").await;
    assert_eq!(r.code, 16);
    let mut unknown = Client::signed(addr, "AKIDNOBODY", SECRET).await;
    assert_eq!(unknown.call(105, &[("topic", TOPIC.into())], b"").await.code, 16);

    // A namespaced instance: signed requests of its account only.
    let ns = api.new_instance("tcp-ns").await;
    api.create_topic(&ns, "T_ns", "0").await;
    let named = format!("{ns}%T_ns");
    let mut anon = Client::open(addr).await;
    let r = anon.call(105, &[("topic", named.clone())], b"").await;
    assert_eq!(r.code, 16, "unsigned requests cannot reach a namespaced instance");
    assert_eq!(good.call(105, &[("topic", named.clone())], b"").await.code, 0);
    let mut other = Client::signed(addr, KEY_B, SECRET_B).await;
    assert_eq!(other.call(105, &[("topic", named.clone())], b"").await.code, 16, "another account's instance");
    let r = good.send_message(&named, 0, &[("UNIQ_KEY", "NSMSG1")], "in ns").await;
    assert_eq!(r.code, 0);
    let stored = api
        .srv
        .state
        .store
        .rocketmq
        .read()
        .instance_by_id(&ns)
        .unwrap()
        .read()
        .message_by_id("T_ns", "NSMSG1")
        .unwrap();
    assert_eq!(stored.body, b"in ns");

    // Unknown codes; unknown groups; a malformed frame closes only its connection.
    let r = anon.call(9999, &[], b"").await;
    assert_eq!((r.code, r.remark.as_deref()), (3, Some(" request type 9999 not supported")));
    let r = anon.pull(TOPIC, "GID_nobody", 0, 0, "*", 0).await.0;
    assert_eq!(r.code, 26);
    let mut broken = Client::open(addr).await;
    broken.stream.write_all(&[0, 0, 0, 6, 0, 0, 0, 2, b'x', b'}']).await.unwrap();
    assert!(broken.read().await.is_none(), "closed");
    let mut huge = Client::open(addr).await;
    huge.stream.write_all(&[0x7f, 0xff, 0xff, 0xff]).await.unwrap();
    assert!(huge.read().await.is_none(), "closed");
    assert_eq!(anon.call(105, &[("topic", TOPIC.into())], b"").await.code, 0, "others keep working");
    let _ = BTreeMap::<String, String>::new();
    server.shutdown().await;
}

#[tokio::test]
async fn the_open_api_answers_the_served_address_and_offset_ids_encode_it() {
    let (api, id, server) = setup().await;
    let served = server.address().to_string();
    let (_, info) = api.get("instance/baseInfo", &[("instanceId", &id)]).await;
    assert_ok(&info);
    assert_eq!(info["data"]["Endpoints"]["tcpEndpoint"], served.as_str(), "{info}");
    let ons = crate::alibaba_ons::Ons::new(&api.srv);
    let info = ons.ok("OnsInstanceBaseInfo", &[("InstanceId", &id), ("RegionId", "mq-private")]).await;
    assert_eq!(info["InstanceBaseInfo"]["Endpoints"]["TcpEndpoint"], format!("http://{served}"), "{info}");

    // A message without UNIQ_KEY is known by its offset id: store host (IPv4, port), then commit offset.
    let mut c = Client::open(server.address()).await;
    let sent = c.send_message(TOPIC, 1, &[("TAGS", "a")], "by-offset-id").await;
    assert_eq!(sent.code, 0, "{sent:?}");
    let msg_id = field(&sent, "msgId");
    assert_eq!(msg_id.len(), 32);
    let ip: Vec<String> =
        (0..4).map(|i| u8::from_str_radix(&msg_id[i * 2..i * 2 + 2], 16).unwrap().to_string()).collect();
    let port = u32::from_str_radix(&msg_id[8..16], 16).unwrap();
    assert_eq!(format!("{}:{port}", ip.join(".")), served, "the id names the broker that serves it");
    // That broker finds it by the id's commit-log offset (what clients do for viewMessage).
    let offset = i64::from_str_radix(&msg_id[16..], 16).unwrap();
    let view = c.call(33, &[("offset", offset.to_string())], b"").await;
    assert_eq!(view.code, 0, "{view:?}");
    assert_eq!(decode_messages(view.body.clone()).unwrap()[0].body, b"by-offset-id");
    let (_, m) = api.get("message/getById", &[("topic", TOPIC), ("msgId", &msg_id)]).await;
    assert_ok(&m);
    assert_eq!(m["data"]["storeHost"], served.as_str(), "{m}");
    server.shutdown().await;
}

/// The binary with `--data-dir` and the TCP data plane at `9876 + offset`, killed with SIGKILL on drop.
struct Durable {
    child: Option<std::process::Child>,
    ep: crate::cross_support::Endpoint,
    tcp: SocketAddr,
}

impl Durable {
    fn spawn(dir: &std::path::Path, offset: u16) -> Durable {
        use std::io::BufRead;
        let dir = dir.display().to_string();
        let mut child = crate::cross_support::command(&["--data-dir", &dir])
            .env("LOCALYUN_ROCKETMQ_PORT_OFFSET", offset.to_string())
            .env("LOCALYUN_ROCKETMQ_CHECK_MS", "300")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut http, mut tcp) = (None, None);
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.trim().strip_prefix("http:") {
                http = Some(rest.trim().trim_start_matches("http://").to_string());
            }
            if let Some(rest) = line.trim().strip_prefix("rocketmq:") {
                tcp = rest.split_whitespace().next().and_then(|a| a.parse().ok());
            }
            if (http.is_some() && tcp.is_some()) || line.trim().starts_with("auth:") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let (Some(http), Some(tcp)) = (http, tcp) else { panic!("localyun did not start with RocketMQ TCP") };
        Durable { child: Some(child), ep: crate::cross_support::Endpoint::new(&http), tcp }
    }
}

impl Drop for Durable {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The RocketMQ message log's and the journal's appended bytes, from health.
async fn log_bytes(ep: &crate::cross_support::Endpoint) -> (u64, u64) {
    let (_, health) = ep.admin_get("health").await;
    let p = &health["persistence"];
    let mq = p["rocketmq_message_log"]["bytes"].as_u64().unwrap_or_else(|| panic!("{health}"));
    (mq, p["journal"]["bytes"].as_u64().unwrap())
}

#[tokio::test]
async fn messages_and_undecided_transactions_survive_kill_9() {
    use crate::cross_support::{rocketmq, rocketmq_instance, rocketmq_ok, TempDir, DEFAULT_KEY};
    let dir = TempDir::new("rmq-kill9");
    let offset = 20_000 + (uuid::Uuid::new_v4().as_u128() % 20_000) as u16;
    let first = Durable::spawn(dir.path(), offset);
    assert_eq!(first.tcp.port(), 9876 + offset, "the port offset applies");
    let instance = rocketmq_instance(ACCOUNT);
    let topic = [("instanceId", instance.as_str()), ("topic", TOPIC), ("orderType", "0")];
    rocketmq_ok(&rocketmq(&first.ep, DEFAULT_KEY, "topic/create", &topic).await);
    let group = [("instanceId", instance.as_str()), ("groupId", GROUP)];
    rocketmq_ok(&rocketmq(&first.ep, DEFAULT_KEY, "group/create", &group).await);
    let info = rocketmq(&first.ep, DEFAULT_KEY, "instance/baseInfo", &[("instanceId", &instance)]).await;
    let info = rocketmq_ok(&info);
    assert_eq!(info["data"]["Endpoints"]["tcpEndpoint"], first.tcp.to_string(), "{info}");

    let mut c = Client::open(first.tcp).await;
    // A durable send appends the same bytes to the message log whatever is stored, and none to the journal.
    let mut per_send = Vec::new();
    for n in 0..30 {
        let before = log_bytes(&first.ep).await;
        let uniq = format!("KEEP{n:04}");
        let r = c.send_message(TOPIC, 3, &[("TAGS", "keep"), ("UNIQ_KEY", &uniq)], "kept-body").await;
        assert_eq!(r.code, 0, "{r:?}");
        let after = log_bytes(&first.ep).await;
        per_send.push((after.0 - before.0, after.1 - before.1));
    }
    assert!(per_send.iter().all(|(_, journal)| *journal == 0), "a send wrote to the journal: {per_send:?}");
    let (first_bytes, last_bytes) = (per_send[0].0, per_send[29].0);
    assert!(first_bytes > 0 && last_bytes <= first_bytes + 4, "{per_send:?}");

    // An undecided transaction.
    assert_eq!(c.heartbeat("producer-1", None, Some("GID_tx")).await.code, 0);
    let props: Vec<(String, String)> =
        [("TRAN_MSG", "true"), ("PGROUP", "GID_tx"), ("UNIQ_KEY", "TXKILL"), ("TAGS", "tx")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let ext = [
        ("producerGroup", "GID_tx".to_string()),
        ("topic", TOPIC.to_string()),
        ("queueId", "3".to_string()),
        ("sysFlag", "4".to_string()),
        ("bornTimestamp", now_ms().to_string()),
        ("flag", "0".to_string()),
        ("properties", property_string(&props)),
    ];
    let prepared = c.call(10, &ext, b"tx-after-restart").await;
    assert_eq!(prepared.code, 0, "{prepared:?}");
    drop(c);
    drop(first); // SIGKILL

    let second = Durable::spawn(dir.path(), offset);
    let mut c = Client::open(second.tcp).await;
    let (resp, msgs) = c.pull(TOPIC, GROUP, 3, 0, "*", 0).await;
    assert_eq!(resp.code, 0, "{resp:?}");
    assert_eq!(msgs.len(), 30, "every acknowledged message survived");
    assert_eq!(msgs[29].properties["UNIQ_KEY"], "KEEP0029");
    assert_eq!(msgs[0].body, b"kept-body");
    // The undecided transaction is checked back with a producer of its group after the restart.
    assert_eq!(c.heartbeat("producer-2", None, Some("GID_tx")).await.code, 0);
    let check = loop {
        let cmd = c.read().await.expect("a check-back request after the restart");
        if !cmd.is_response() && cmd.code == 39 {
            break cmd;
        }
    };
    assert_eq!(field(&check, "msgId"), "TXKILL");
    let answer = [
        ("producerGroup", "GID_tx".to_string()),
        ("tranStateTableOffset", field(&check, "tranStateTableOffset")),
        ("commitLogOffset", field(&check, "commitLogOffset")),
        ("commitOrRollback", "8".to_string()),
        ("fromTransactionCheck", "true".to_string()),
        ("msgId", "TXKILL".to_string()),
        ("transactionId", "TXKILL".to_string()),
    ];
    c.send(37, &answer, b"", 2).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, msgs) = c.pull(TOPIC, GROUP, 3, 30, "*", 0).await;
        if let Some(m) = msgs.first() {
            assert_eq!((m.properties["UNIQ_KEY"].as_str(), m.body.as_slice()), ("TXKILL", &b"tx-after-restart"[..]));
            break;
        }
        assert!(Instant::now() < deadline, "the committed transaction never became visible");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(c);
    drop(second);
    // Decided: a third start has nothing to check back and keeps all 31 messages.
    let third = Durable::spawn(dir.path(), offset);
    let mut c = Client::open(third.tcp).await;
    let (_, msgs) = c.pull(TOPIC, GROUP, 3, 0, "*", 0).await;
    assert_eq!(msgs.len(), 31);
}

#[tokio::test]
async fn a_reset_offset_is_announced_to_the_groups_running_consumers() {
    let (api, _id, server) = setup().await;
    let mut c = Client::open(server.address()).await;
    for n in 0..3 {
        assert_eq!(c.send_message(TOPIC, 2, &[("TAGS", "a")], &format!("m{n}")).await.code, 0);
    }
    assert_eq!(c.heartbeat("10.0.0.9@reset", Some((GROUP, TOPIC, "*")), None).await.code, 0);
    let commit = [
        ("consumerGroup", GROUP.to_string()),
        ("topic", TOPIC.to_string()),
        ("queueId", "2".to_string()),
        ("commitOffset", "3".to_string()),
    ];
    assert_eq!(c.call(15, &commit, b"").await.code, 0);
    let (_, r) = api
        .get("consumer/resetOffset", &[("groupId", GROUP), ("topic", TOPIC), ("type", "1"), ("resetTime", "0")])
        .await;
    assert_ok(&r);
    let reset = loop {
        let cmd = c.read().await.expect("RESET_CONSUMER_CLIENT_OFFSET");
        if !cmd.is_response() && cmd.code == 220 {
            break cmd;
        }
    };
    assert_eq!(reset.flag & 2, 2, "one way");
    assert_eq!(
        (field(&reset, "topic"), field(&reset, "group"), field(&reset, "isForce")),
        (TOPIC.into(), GROUP.into(), "true".into())
    );
    let body: Value = serde_json::from_slice(&reset.body).unwrap();
    let table = body["offsetTable"].as_array().unwrap();
    assert_eq!(table.len(), 8, "{body}");
    assert_eq!(table[2], json!({"brokerName": "localyun-broker", "queueId": 2, "topic": TOPIC, "offset": 0}));
    // The stored offset is the reset one until the consumer commits again.
    let query = [("consumerGroup", GROUP.to_string()), ("topic", TOPIC.to_string()), ("queueId", "2".to_string())];
    assert_eq!(field(&c.call(14, &query, b"").await, "offset"), "0");
    server.shutdown().await;
}
