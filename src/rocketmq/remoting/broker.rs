//! Request handlers of the name server and broker roles.
//!
//! Served (request codes of RocketMQ 4.x `RequestCode`): GET_ROUTEINFO_BY_TOPIC (105), GET_BROKER_CLUSTER_INFO
//! (106), SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320), PULL_MESSAGE (11, long polling
//! up to the client's suspend time, at most 15 s), QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! HEART_BEAT (34), UNREGISTER_CLIENT (35), CONSUMER_SEND_MSG_BACK (36), END_TRANSACTION (37),
//! GET_CONSUMER_LIST_BY_GROUP (38), SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET (30), GET_MIN_OFFSET (31),
//! GET_EARLIEST_MSG_STORETIME (32), VIEW_MESSAGE_BY_ID (33), QUERY_MESSAGE (12), LOCK_BATCH_MQ (41),
//! UNLOCK_BATCH_MQ (42). The broker sends CHECK_TRANSACTION_STATE (39) to a producer of the group whose half
//! message stays undecided. Anything else: REQUEST_CODE_NOT_SUPPORTED (3).
//!
//! Semantics: topics and groups must exist (created through the Open API or ONS, as the cloud requires); a
//! message carries the producer's `UNIQ_KEY` as its id (what `message/getById` finds); `DELAY` levels and
//! `__STARTDELIVERTIME` make timed messages; a transactional (prepared) message stays out of the topic until
//! END_TRANSACTION commits it, or a check-back's answer does; a message sent back goes to
//! `%RETRY%<group>` after a back-off and, past the group's maximum reconsume times, to the group's
//! dead-letter queue.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::codec::{Command, FLAG_ONEWAY};
use super::wire::{self, View};
use super::{Half, Peer, RemotingServer};
use crate::auth::{authenticate, AuthFailure, SignedRequest};
use crate::engine::rocketmq::tcp::{PullStatus, ResetNotice, SentBack, RETRY_PREFIX};
use crate::engine::rocketmq::{
    offset_msg_id_at, ConsumerClient, Message, MessageModel, Millis, NewMessage, PreparedHalf, RocketMqError,
    RocketMqModel,
};

/// Request and response codes (RocketMQ 4.x `RequestCode` / `ResponseCode`).
pub mod code {
    pub const SEND_MESSAGE: i32 = 10;
    pub const PULL_MESSAGE: i32 = 11;
    pub const QUERY_MESSAGE: i32 = 12;
    pub const QUERY_CONSUMER_OFFSET: i32 = 14;
    pub const UPDATE_CONSUMER_OFFSET: i32 = 15;
    pub const SEARCH_OFFSET_BY_TIMESTAMP: i32 = 29;
    pub const GET_MAX_OFFSET: i32 = 30;
    pub const GET_MIN_OFFSET: i32 = 31;
    pub const GET_EARLIEST_MSG_STORETIME: i32 = 32;
    pub const VIEW_MESSAGE_BY_ID: i32 = 33;
    pub const HEART_BEAT: i32 = 34;
    pub const UNREGISTER_CLIENT: i32 = 35;
    pub const CONSUMER_SEND_MSG_BACK: i32 = 36;
    pub const END_TRANSACTION: i32 = 37;
    pub const GET_CONSUMER_LIST_BY_GROUP: i32 = 38;
    pub const CHECK_TRANSACTION_STATE: i32 = 39;
    pub const RESET_CONSUMER_CLIENT_OFFSET: i32 = 220;
    pub const LOCK_BATCH_MQ: i32 = 41;
    pub const UNLOCK_BATCH_MQ: i32 = 42;
    pub const GET_ROUTEINFO_BY_TOPIC: i32 = 105;
    pub const GET_BROKER_CLUSTER_INFO: i32 = 106;
    pub const SEND_MESSAGE_V2: i32 = 310;
    pub const SEND_BATCH_MESSAGE: i32 = 320;

    pub const SUCCESS: i32 = 0;
    pub const SYSTEM_ERROR: i32 = 1;
    pub const REQUEST_CODE_NOT_SUPPORTED: i32 = 3;
    pub const MESSAGE_ILLEGAL: i32 = 13;
    pub const NO_PERMISSION: i32 = 16;
    pub const TOPIC_NOT_EXIST: i32 = 17;
    pub const PULL_NOT_FOUND: i32 = 19;
    pub const PULL_RETRY_IMMEDIATELY: i32 = 20;
    pub const PULL_OFFSET_MOVED: i32 = 21;
    pub const QUERY_NOT_FOUND: i32 = 22;
    pub const SUBSCRIPTION_NOT_EXIST: i32 = 24;
    pub const SUBSCRIPTION_GROUP_NOT_EXIST: i32 = 26;
}

/// The broker name and cluster the routes name.
pub const BROKER_NAME: &str = "localyun-broker";
pub const CLUSTER_NAME: &str = "localyun-cluster";
/// Longest a pull waits for messages (RocketMQ's default broker suspend time is 15 s).
const MAX_SUSPEND_MS: u64 = 15_000;
/// Most messages one pull returns.
const MAX_PULL: usize = 64;
/// How long an ordered-consumption lock lasts without renewal (RocketMQ's rebalance lock, 60 s).
const LOCK_MS: i64 = 60_000;
/// sysFlag bits of a pull request.
const PULL_COMMIT_OFFSET: i32 = 1;
const PULL_SUSPEND: i32 = 2;
/// Transaction decisions of END_TRANSACTION (`MessageSysFlag`).
const TRANSACTION_COMMIT: i32 = 2 << 2;
const TRANSACTION_ROLLBACK: i32 = 3 << 2;
/// System properties a producer sets that are not user properties.
const SYSTEM_PROPERTIES: [&str; 12] = [
    "TAGS",
    "KEYS",
    "UNIQ_KEY",
    "WAIT",
    "DELAY",
    "TRAN_MSG",
    "PGROUP",
    "__STARTDELIVERTIME",
    "__SHARDINGKEY",
    "MAX_OFFSET",
    "MIN_OFFSET",
    "REAL_TOPIC",
];

/// The connection a request came on.
#[derive(Clone)]
pub struct Conn {
    pub id: u64,
    pub peer: SocketAddr,
    pub outbox: mpsc::Sender<Command>,
}

/// A refused request: response code and remark.
#[derive(Debug)]
pub struct Fail(pub i32, pub String);

type Answer = Result<Command, Fail>;

fn model_fail(e: RocketMqError) -> Fail {
    match e {
        RocketMqError::TopicNotFound(t) => {
            Fail(code::TOPIC_NOT_EXIST, format!("topic[{t}] not exist, apply first please!"))
        }
        RocketMqError::GroupNotFound(g) => {
            Fail(code::SUBSCRIPTION_GROUP_NOT_EXIST, format!("subscription group [{g}] does not exist"))
        }
        RocketMqError::SubscriptionNotFound(g, t) => {
            Fail(code::SUBSCRIPTION_NOT_EXIST, format!("the consumer's subscription not exist: {g} {t}"))
        }
        RocketMqError::Forbidden(t, what) => {
            Fail(code::NO_PERMISSION, format!("the topic[{t}] does not permit {what}"))
        }
        RocketMqError::InstanceNotFound(i) => Fail(code::NO_PERMISSION, format!("instance {i} does not exist")),
        RocketMqError::Invalid { .. } => Fail(code::MESSAGE_ILLEGAL, e.to_string()),
        other => Fail(code::SYSTEM_ERROR, other.to_string()),
    }
}

fn field<'a>(req: &'a Command, name: &str) -> Result<&'a str, Fail> {
    req.field(name).ok_or_else(|| Fail(code::SYSTEM_ERROR, format!("the request header lacks {name}")))
}

fn number<T: std::str::FromStr>(req: &Command, name: &str) -> Result<T, Fail> {
    field(req, name)?.trim().parse().map_err(|_| Fail(code::SYSTEM_ERROR, format!("{name} is not a number")))
}

fn optional<T: std::str::FromStr>(req: &Command, name: &str) -> Option<T> {
    req.field(name).and_then(|v| v.trim().parse().ok())
}

/// Who sent a request: the account, and whether it was signed.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: String,
    pub signed: bool,
}

/// A client's resource name resolved to an instance: the instance, the name in it, and the prefix the client
/// puts before names of that instance (`MQ_INST_xxx%`, or empty).
#[derive(Debug, Clone)]
pub struct Scoped {
    pub instance: String,
    pub name: String,
    pub ns_prefix: String,
}

/// Splits `%RETRY%` / `%DLQ%` and a namespace off a client's name.
fn split_name(name: &str) -> (&'static str, Option<&str>, &str) {
    let (kind, rest) = if let Some(r) = name.strip_prefix(RETRY_PREFIX) {
        (RETRY_PREFIX, r)
    } else if let Some(r) = name.strip_prefix("%DLQ%") {
        ("%DLQ%", r)
    } else {
        ("", name)
    };
    match rest.split_once('%') {
        Some((ns, local)) if !ns.is_empty() => (kind, Some(ns), local),
        _ => (kind, None, rest),
    }
}

/// Signature over a request: the values of every extFields entry but `Signature`, in key order, then the
/// body; HmacSHA1, Base64.
pub fn sign(secret: &str, ext: &BTreeMap<String, String>, body: &[u8]) -> String {
    let mut content: Vec<u8> = Vec::new();
    for (k, v) in ext {
        if k != "Signature" {
            content.extend_from_slice(v.as_bytes());
        }
    }
    content.extend_from_slice(body);
    crate::signing::base64(&crate::signing::hmac_sha1(secret.as_bytes(), &content))
}

/// Builds a JSON body.
fn json_body(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

fn ok(req: &Command) -> Command {
    Command::response_to(req, code::SUCCESS, None)
}

/// The RESET_CONSUMER_CLIENT_OFFSET request (220, one way) telling a consumer of the group to continue from
/// `notice`'s offsets: `topic`, `group`, `timestamp`, `isForce` fields and a ResetOffsetBody whose
/// `offsetTable` lists `{brokerName, queueId, topic, offset}` per queue, the form the C++ client
/// (`ResetOffsetBody::Decode`, rocketmq-client-cpp) reads; names carry the client's namespace prefix.
pub(crate) fn reset_request(notice: &ResetNotice, ns_prefix: &str, opaque: i32) -> Command {
    let topic = format!("{ns_prefix}{}", notice.topic);
    let table: Vec<Value> = notice
        .offsets
        .iter()
        .enumerate()
        .map(|(q, offset)| json!({"brokerName": BROKER_NAME, "queueId": q, "topic": topic, "offset": offset}))
        .collect();
    let mut cmd = Command::request(code::RESET_CONSUMER_CLIENT_OFFSET, opaque)
        .with("topic", &topic)
        .with("group", format!("{ns_prefix}{}", notice.group))
        .with("timestamp", Millis::now().as_ms())
        .with("isForce", "true");
    cmd.flag = FLAG_ONEWAY;
    cmd.body = json_body(&json!({ "offsetTable": table }));
    cmd
}

/// The CHECK_TRANSACTION_STATE request for a half message (one way, as the broker sends it).
pub(crate) fn check_request(half: &Half, id: i64, opaque: i32, store_host: &str) -> Command {
    let m = half_view(half, id, store_host);
    let mut body = BytesMut::new();
    let extra = vec![
        ("TRAN_MSG".to_string(), "true".to_string()),
        ("PGROUP".to_string(), half.producer_group.clone()),
        ("REAL_TOPIC".to_string(), half.client_topic.clone()),
    ];
    wire::encode_message(
        &View {
            message: &m,
            topic: &half.client_topic,
            extra,
            sys_flag: wire::TRANSACTION_PREPARED,
            queue_offset: None,
            store_host: None,
        },
        &mut body,
    );
    let mut cmd = Command::request(code::CHECK_TRANSACTION_STATE, opaque)
        .with("tranStateTableOffset", id)
        .with("commitLogOffset", id)
        .with("msgId", &m.msg_id)
        .with("transactionId", &m.msg_id)
        .with("offsetMsgId", offset_msg_id_at(store_host, id));
    cmd.flag = FLAG_ONEWAY;
    cmd.body = body.freeze();
    cmd
}

fn half_view(half: &Half, id: i64, store_host: &str) -> Message {
    let n = &half.message;
    Message {
        msg_id: half.uniq_id.clone().unwrap_or_else(|| offset_msg_id_at(store_host, id)),
        topic: half.topic.clone(),
        queue_id: n.queue_id.unwrap_or(0),
        queue_offset: id,
        commit_offset: id,
        tag: n.tag.clone(),
        keys: n.keys.clone(),
        body: n.body.clone(),
        user_properties: n.user_properties.clone(),
        born_ms: n.born_ms.unwrap_or_default(),
        born_host: n.born_host.clone().unwrap_or_default(),
        store_ms: n.born_ms.unwrap_or_default(),
        store_host: store_host.to_string(),
        reconsume_times: 0,
        start_deliver_ms: n.start_deliver_ms,
        sharding_key: n.sharding_key.clone(),
        producer_group: None,
    }
}

impl RemotingServer {
    /// Answers one request (None for one-way requests).
    pub(crate) async fn handle(self: &Arc<Self>, conn: &Conn, req: Command) -> Option<Command> {
        let oneway = req.is_oneway();
        let answer = match self.caller(&req) {
            Ok(caller) => self.dispatch(conn, &caller, &req).await,
            Err(f) => Err(f),
        };
        match &answer {
            Ok(r) => tracing::debug!(code = req.code, answer = r.code, "RocketMQ request"),
            Err(Fail(c, m)) => tracing::debug!(code = req.code, answer = c, remark = %m, "RocketMQ request refused"),
        }
        if oneway {
            if let Err(Fail(c, m)) = &answer {
                tracing::debug!(code = req.code, error = c, remark = %m, "one-way RocketMQ request refused");
            }
            return None;
        }
        Some(match answer {
            Ok(resp) => resp,
            Err(Fail(c, remark)) => Command::response_to(&req, c, Some(remark)),
        })
    }

    /// Verifies the ACL signature (see the module docs of `remoting`).
    fn caller(&self, req: &Command) -> Result<Caller, Fail> {
        let key = req.field("AccessKey").unwrap_or("");
        if key.is_empty() {
            let account = self.state.credentials.read().default_account().to_string();
            return Ok(Caller { account, signed: false });
        }
        let given = req.field("Signature").unwrap_or("");
        let signed = SignedRequest {
            scope: "rocketmq-tcp",
            key_id: key,
            signature: given,
            timestamp: None,
            nonce: None,
            window: self.state.nonces.window(),
        };
        let account = authenticate(&self.state, &signed, |secret| (sign(secret, &req.ext, &req.body), String::new()))
            .map_err(|f| match f {
            AuthFailure::UnknownKey => Fail(code::NO_PERMISSION, format!("No acl config for {key}")),
            _ => Fail(code::NO_PERMISSION, format!("Check signature failed for accessKey={key}")),
        })?;
        Ok(Caller { account, signed: true })
    }

    /// Resolves a client's topic or group name to an instance (see the module docs of `remoting`).
    fn scope(&self, caller: &Caller, name: &str) -> Result<Scoped, Fail> {
        let (kind, ns, local) = split_name(name);
        let model = self.state.store.rocketmq.read();
        let lenient = !self.state.credentials.read().verifies_signatures();
        let instance = match ns {
            Some(ns) => {
                let handle = model.instance_by_id(ns).map_err(model_fail)?;
                let owner = handle.read().account().to_string();
                if !caller.signed && !lenient {
                    return Err(Fail(
                        code::NO_PERMISSION,
                        format!("instance {ns} requires requests signed with an AccessKey (ACL)"),
                    ));
                }
                if owner != caller.account && !lenient {
                    return Err(Fail(code::NO_PERMISSION, format!("instance {ns} belongs to another account")));
                }
                ns.to_string()
            }
            None => default_instance(&model, &caller.account).ok_or_else(|| {
                Fail(
                    code::NO_PERMISSION,
                    "the caller has no instance without a namespace; prefix names with the instance id".to_string(),
                )
            })?,
        };
        let ns_prefix = ns.map(|n| format!("{n}%")).unwrap_or_default();
        Ok(Scoped { instance, name: format!("{kind}{local}"), ns_prefix })
    }

    async fn dispatch(self: &Arc<Self>, conn: &Conn, caller: &Caller, req: &Command) -> Answer {
        match req.code {
            code::GET_ROUTEINFO_BY_TOPIC => self.route(caller, req),
            code::GET_BROKER_CLUSTER_INFO => self.cluster_info(req),
            code::SEND_MESSAGE | code::SEND_MESSAGE_V2 => self.send(conn, caller, req).await,
            code::SEND_BATCH_MESSAGE => self.send_batch(conn, caller, req).await,
            code::PULL_MESSAGE => self.pull(caller, req).await,
            code::QUERY_CONSUMER_OFFSET => self.query_offset(caller, req),
            code::UPDATE_CONSUMER_OFFSET => self.update_offset(caller, req).await,
            code::HEART_BEAT => self.heartbeat(conn, caller, req).await,
            code::UNREGISTER_CLIENT => self.unregister(conn, caller, req).await,
            code::GET_CONSUMER_LIST_BY_GROUP => self.consumer_list(caller, req),
            code::CONSUMER_SEND_MSG_BACK => self.send_back(caller, req).await,
            code::END_TRANSACTION => self.end_transaction(caller, req).await,
            code::GET_MAX_OFFSET | code::GET_MIN_OFFSET => self.queue_offset(caller, req),
            code::SEARCH_OFFSET_BY_TIMESTAMP => self.search_offset(caller, req),
            code::GET_EARLIEST_MSG_STORETIME => self.earliest_time(caller, req),
            code::VIEW_MESSAGE_BY_ID => self.view_message(caller, req),
            code::QUERY_MESSAGE => self.query_message(caller, req),
            code::LOCK_BATCH_MQ => self.lock(caller, req, true),
            code::UNLOCK_BATCH_MQ => self.lock(caller, req, false),
            other => Err(Fail(code::REQUEST_CODE_NOT_SUPPORTED, format!(" request type {other} not supported"))),
        }
    }

    fn store_host(&self) -> Option<std::net::SocketAddrV4> {
        match self.address() {
            SocketAddr::V4(a) if !a.ip().is_unspecified() => Some(a),
            SocketAddr::V4(a) => Some(std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, a.port())),
            SocketAddr::V6(_) => None,
        }
    }

    /// The address routes advertise: the listener's, with loopback for an any-address bind.
    pub(crate) fn address_text(&self) -> String {
        self.store_host().map_or_else(|| self.address().to_string(), |a| a.to_string())
    }

    fn route(&self, caller: &Caller, req: &Command) -> Answer {
        let topic = field(req, "topic")?;
        let s = self.scope(caller, topic)?;
        let (queues, perm) = {
            let model = self.state.store.rocketmq.read();
            let handle = model.instance_by_id(&s.instance).map_err(model_fail)?;
            let i = handle.read();
            let queues = i.queue_count_of(&s.name).map_err(|_| {
                Fail(code::TOPIC_NOT_EXIST, format!("No topic route info in name server for the topic: {topic}"))
            })?;
            let perm = if s.name.starts_with(RETRY_PREFIX) { 6 } else { i.topic(&s.name).map_or(6, |t| t.perm()) };
            (queues, perm)
        };
        let body = json!({
            "orderTopicConf": null,
            "queueDatas": [{"brokerName": BROKER_NAME, "readQueueNums": queues, "writeQueueNums": queues,
                            "perm": perm, "topicSynFlag": 0}],
            "brokerDatas": [{"cluster": CLUSTER_NAME, "brokerName": BROKER_NAME,
                             "brokerAddrs": {"0": self.address_text()}}],
            "filterServerTable": {}
        });
        let mut resp = ok(req);
        resp.body = json_body(&body);
        Ok(resp)
    }

    fn cluster_info(&self, req: &Command) -> Answer {
        let body = json!({
            "brokerAddrTable": {BROKER_NAME: {"cluster": CLUSTER_NAME, "brokerName": BROKER_NAME,
                                             "brokerAddrs": {"0": self.address_text()}}},
            "clusterAddrTable": {CLUSTER_NAME: [BROKER_NAME]}
        });
        let mut resp = ok(req);
        resp.body = json_body(&body);
        Ok(resp)
    }

    /// Persists what changed (with `--data-dir`) before the answer goes out.
    async fn commit(&self) -> Result<(), Fail> {
        self.state.store.rocketmq.mark_changed();
        self.state.persist().await.map_err(|e| Fail(code::SYSTEM_ERROR, format!("the broker could not store: {e}")))
    }

    fn notify(&self) {
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Builds the model's message from a producer's body and properties.
    fn new_message(
        &self,
        conn: &Conn,
        body: Vec<u8>,
        mut props: BTreeMap<String, String>,
        born_ms: Option<i64>,
        queue_id: Option<u32>,
    ) -> Result<(NewMessage, Option<String>), Fail> {
        let now = Millis::now().as_ms();
        let start = match (props.get("__STARTDELIVERTIME"), props.get("DELAY")) {
            (Some(t), _) => Some(t.parse::<i64>().map_err(|_| {
                Fail(code::MESSAGE_ILLEGAL, "__STARTDELIVERTIME must be a time in milliseconds".into())
            })?),
            (None, Some(level)) => match level.parse::<usize>() {
                Ok(0) => None,
                Ok(l) => Some(now + super::DELAY_LEVELS_MS[l.min(super::DELAY_LEVELS_MS.len()) - 1]),
                Err(_) => return Err(Fail(code::MESSAGE_ILLEGAL, "DELAY must be a delay level".into())),
            },
            _ => None,
        };
        let uniq = props.get("UNIQ_KEY").filter(|u| !u.is_empty()).cloned();
        let tag = props.get("TAGS").filter(|t| !t.is_empty()).cloned();
        let keys = props
            .get("KEYS")
            .map(|k| k.split(' ').filter(|k| !k.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        let sharding_key = props.get("__SHARDINGKEY").filter(|k| !k.is_empty()).cloned();
        for p in SYSTEM_PROPERTIES {
            props.remove(p);
        }
        let msg = NewMessage {
            tag,
            keys,
            body,
            user_properties: props,
            born_ms: born_ms.map(Millis::from_ms),
            born_host: Some(conn.peer.to_string()),
            store_ms: None,
            start_deliver_ms: start.map(Millis::from_ms),
            sharding_key,
            producer_group: None,
            queue_id,
        };
        Ok((msg, uniq))
    }

    async fn send(&self, conn: &Conn, caller: &Caller, req: &Command) -> Answer {
        let v2 = req.code == code::SEND_MESSAGE_V2;
        let name = |v1: &'static str, short: &'static str| if v2 { short } else { v1 };
        // The C++ client sends batches as SEND_MESSAGE with the batch flag.
        if matches!(req.field(name("batch", "m")), Some("true" | "1")) {
            return self.send_batch(conn, caller, req).await;
        }
        let topic = field(req, name("topic", "b"))?.to_string();
        let group = req.field(name("producerGroup", "a")).unwrap_or("").to_string();
        let sys_flag: i32 = optional(req, name("sysFlag", "f")).unwrap_or(0);
        let queue_id: Option<u32> = optional(req, name("queueId", "e"));
        let born: Option<i64> = optional(req, name("bornTimestamp", "g"));
        let props = wire::parse_properties(req.field(name("properties", "i")).unwrap_or(""));
        let s = self.scope(caller, &topic)?;
        let mut body = req.body.to_vec();
        if sys_flag & wire::FLAG_COMPRESSED != 0 {
            body = wire::inflate(&body)
                .ok_or_else(|| Fail(code::MESSAGE_ILLEGAL, "the compressed body is not valid zlib".into()))?;
        }
        let prepared = sys_flag & (3 << 2) == wire::TRANSACTION_PREPARED
            || props.get("TRAN_MSG").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let (msg, uniq) = self.new_message(conn, body, props, born, queue_id)?;
        if prepared {
            return self.prepare(req, &s, &topic, &group, msg, uniq).await;
        }
        let stored = {
            let model = self.state.store.rocketmq.read();
            model.send_stored(&s.instance, &s.name, msg, uniq).map_err(model_fail)?
        };
        self.commit().await?;
        self.notify();
        Ok(ok(req)
            .with("msgId", offset_msg_id_at(&stored.store_host, stored.commit_offset))
            .with("queueId", stored.queue_id)
            .with("queueOffset", stored.queue_offset.max(0)))
    }

    async fn prepare(
        &self,
        req: &Command,
        s: &Scoped,
        topic: &str,
        group: &str,
        msg: NewMessage,
        uniq: Option<String>,
    ) -> Answer {
        {
            let model = self.state.store.rocketmq.read();
            let handle = model.instance_by_id(&s.instance).map_err(model_fail)?;
            let i = handle.read();
            if !i.topic(&s.name).map_err(model_fail)?.writable() {
                return Err(Fail(code::NO_PERMISSION, format!("the topic[{topic}] does not permit write")));
            }
        }
        let id = self.next_half.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let queue_id = msg.queue_id.unwrap_or(0);
        let (_, _, group_local) = split_name(group);
        let half = Half {
            instance: s.instance.clone(),
            topic: s.name.clone(),
            client_topic: topic.to_string(),
            producer_group: group_local.to_string(),
            uniq_id: uniq,
            message: msg,
            check_at: Millis::from_ms(Millis::now().as_ms() + self.options.check_ms),
            checks: 0,
        };
        let kept = PreparedHalf {
            id,
            topic: half.topic.clone(),
            client_topic: half.client_topic.clone(),
            producer_group: half.producer_group.clone(),
            uniq_id: half.uniq_id.clone(),
            message: half.message.clone(),
        };
        // Kept in the message store too: a restart keeps it and checks it back (RocketMQ's half topic).
        self.state.store.rocketmq.read().store_half(&s.instance, kept).map_err(model_fail)?;
        self.halves.lock().insert(id, half);
        self.commit().await?;
        let offset_id = offset_msg_id_at(&self.address_text(), id);
        Ok(ok(req)
            .with("msgId", &offset_id)
            .with("queueId", queue_id)
            .with("queueOffset", id)
            .with("transactionId", &offset_id))
    }

    async fn send_batch(&self, conn: &Conn, caller: &Caller, req: &Command) -> Answer {
        let v2 = req.field("b").is_some();
        let topic = field(req, if v2 { "b" } else { "topic" })?.to_string();
        let queue_id: Option<u32> = optional(req, if v2 { "e" } else { "queueId" });
        let born: Option<i64> = optional(req, if v2 { "g" } else { "bornTimestamp" });
        let s = self.scope(caller, &topic)?;
        let sys_flag: i32 = optional(req, if v2 { "f" } else { "sysFlag" }).unwrap_or(0);
        let body = if sys_flag & wire::FLAG_COMPRESSED != 0 {
            Bytes::from(
                wire::inflate(&req.body)
                    .ok_or_else(|| Fail(code::MESSAGE_ILLEGAL, "the compressed body is not valid zlib".into()))?,
            )
        } else {
            req.body.clone()
        };
        let entries = wire::decode_batch(body)
            .ok_or_else(|| Fail(code::MESSAGE_ILLEGAL, "the batch body is malformed".into()))?;
        if entries.is_empty() {
            return Err(Fail(code::MESSAGE_ILLEGAL, "the batch is empty".into()));
        }
        let mut ids = Vec::new();
        let mut first: Option<Message> = None;
        {
            let model = self.state.store.rocketmq.read();
            for e in entries {
                let (msg, uniq) = self.new_message(conn, e.body, e.properties, born, queue_id)?;
                let stored = model.send_stored(&s.instance, &s.name, msg, uniq).map_err(model_fail)?;
                ids.push(offset_msg_id_at(&stored.store_host, stored.commit_offset));
                first.get_or_insert(stored);
            }
        }
        self.commit().await?;
        self.notify();
        let first = first.ok_or_else(|| Fail(code::MESSAGE_ILLEGAL, "the batch is empty".into()))?;
        Ok(ok(req)
            .with("msgId", ids.join(","))
            .with("queueId", first.queue_id)
            .with("queueOffset", first.queue_offset.max(0)))
    }

    async fn pull(&self, caller: &Caller, req: &Command) -> Answer {
        let topic = field(req, "topic")?.to_string();
        let group = field(req, "consumerGroup")?.to_string();
        let queue_id: u32 = number(req, "queueId")?;
        let offset: i64 = number(req, "queueOffset")?;
        let max = optional::<usize>(req, "maxMsgNums").unwrap_or(32).clamp(1, MAX_PULL);
        let sys_flag: i32 = optional(req, "sysFlag").unwrap_or(0);
        let commit_offset: i64 = optional(req, "commitOffset").unwrap_or(-1);
        let suspend = optional::<u64>(req, "suspendTimeoutMillis").unwrap_or(0).min(MAX_SUSPEND_MS);
        let s = self.scope(caller, &topic)?;
        let g = self.scope(caller, &group)?;
        // The expression the request carries, else the group's subscription.
        let expression = match req.field("subscription").filter(|e| !e.is_empty()) {
            Some(e) => e.to_string(),
            None => {
                let model = self.state.store.rocketmq.read();
                let handle = model.instance_by_id(&g.instance).map_err(model_fail)?;
                let i = handle.read();
                let grp = i.group(&g.name).map_err(model_fail)?;
                grp.subscriptions().get(&s.name).map(|sub| sub.expression.clone()).unwrap_or_default()
            }
        };
        if sys_flag & PULL_COMMIT_OFFSET != 0 && commit_offset >= 0 {
            let model = self.state.store.rocketmq.read();
            model.commit_consumer_offset(&s.instance, &g.name, &s.name, queue_id, commit_offset).map_err(model_fail)?;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_millis(suspend);
        let mut seen = self.appended.subscribe();
        loop {
            let pulled = {
                let model = self.state.store.rocketmq.read();
                model.pull(&s.instance, &g.name, &s.name, queue_id, offset, max, &expression).map_err(model_fail)?
            };
            let waiting = pulled.status == PullStatus::NoNewMessage && sys_flag & PULL_SUSPEND != 0;
            if !waiting || tokio::time::Instant::now() >= deadline {
                if pulled.status == PullStatus::Found {
                    self.commit().await?;
                }
                return Ok(self.pull_answer(req, &s, &g.name, pulled));
            }
            // New messages wake the pull; timed messages come due without a wake-up, so look every second.
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                tokio::select! {
                    _ = seen.changed() => {}
                    _ = tokio::time::sleep_until(deadline) => {}
                }
            })
            .await;
        }
    }

    fn pull_answer(
        &self,
        req: &Command,
        s: &Scoped,
        group: &str,
        pulled: crate::engine::rocketmq::tcp::Pulled,
    ) -> Command {
        let status = match pulled.status {
            PullStatus::Found => code::SUCCESS,
            PullStatus::NoNewMessage => code::PULL_NOT_FOUND,
            PullStatus::NoMatchedMessage => code::PULL_RETRY_IMMEDIATELY,
            PullStatus::OffsetMoved => code::PULL_OFFSET_MOVED,
        };
        let mut resp = Command::response_to(req, status, None)
            .with("nextBeginOffset", pulled.next_offset)
            .with("minOffset", pulled.min_offset)
            .with("maxOffset", pulled.max_offset)
            .with("suggestWhichBrokerId", 0);
        let retry = s.name.starts_with(RETRY_PREFIX);
        let client_topic = req.field("topic").unwrap_or("");
        let mut body = BytesMut::new();
        for m in &pulled.messages {
            let mut extra = Vec::new();
            if retry {
                extra.push(("RETRY_TOPIC".to_string(), format!("{}{}", s.ns_prefix, m.topic)));
            }
            let _ = group;
            wire::encode_message(
                &View { message: m, topic: client_topic, extra, sys_flag: 0, queue_offset: None, store_host: None },
                &mut body,
            );
        }
        resp.body = body.freeze();
        resp
    }

    fn query_offset(&self, caller: &Caller, req: &Command) -> Answer {
        let s = self.scope(caller, field(req, "topic")?)?;
        let g = self.scope(caller, field(req, "consumerGroup")?)?;
        let queue_id: u32 = number(req, "queueId")?;
        let model = self.state.store.rocketmq.read();
        let handle = model.instance_by_id(&s.instance).map_err(model_fail)?;
        let i = handle.read();
        match i.consumer_offset(&g.name, &s.name, queue_id).map_err(model_fail)? {
            Some(o) => Ok(ok(req).with("offset", o)),
            None => Err(Fail(
                code::QUERY_NOT_FOUND,
                "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first".into(),
            )),
        }
    }

    async fn update_offset(&self, caller: &Caller, req: &Command) -> Answer {
        let s = self.scope(caller, field(req, "topic")?)?;
        let g = self.scope(caller, field(req, "consumerGroup")?)?;
        let queue_id: u32 = number(req, "queueId")?;
        let offset: i64 = number(req, "commitOffset")?;
        {
            let model = self.state.store.rocketmq.read();
            model.commit_consumer_offset(&s.instance, &g.name, &s.name, queue_id, offset).map_err(model_fail)?;
        }
        self.commit().await?;
        Ok(ok(req))
    }

    async fn heartbeat(&self, conn: &Conn, caller: &Caller, req: &Command) -> Answer {
        let hb: Value = serde_json::from_slice(&req.body)
            .map_err(|_| Fail(code::SYSTEM_ERROR, "the heartbeat body is not JSON".into()))?;
        let client_id = hb.get("clientID").and_then(Value::as_str).unwrap_or("").to_string();
        for p in hb.get("producerDataSet").and_then(Value::as_array).into_iter().flatten() {
            let Some(name) = p.get("groupName").and_then(Value::as_str) else { continue };
            if name == "CLIENT_INNER_PRODUCER" {
                continue;
            }
            let Ok(g) = self.scope(caller, name) else { continue };
            let mut producers = self.producers.lock();
            let peers = producers.entry((g.instance, g.name)).or_default();
            if !peers.iter().any(|p| p.conn == conn.id) {
                peers.push(Peer { conn: conn.id, outbox: conn.outbox.clone() });
            }
        }
        let now = Millis::now();
        let mut changed = false;
        for c in hb.get("consumerDataSet").and_then(Value::as_array).into_iter().flatten() {
            let Some(name) = c.get("groupName").and_then(Value::as_str) else { continue };
            let g = self.scope(caller, name)?;
            let model_of = |v: Option<&Value>| match v {
                Some(Value::String(s)) if s == "BROADCASTING" => MessageModel::Broadcasting,
                Some(Value::Number(n)) if n.as_i64() == Some(0) => MessageModel::Broadcasting,
                _ => MessageModel::Clustering,
            };
            let consume_type = match c.get("consumeType") {
                Some(Value::String(s)) if s == "CONSUME_ACTIVELY" => "PULL",
                Some(Value::Number(n)) if n.as_i64() == Some(0) => "PULL",
                _ => "PUSH",
            };
            let mut subscriptions = BTreeMap::new();
            for sub in c.get("subscriptionDataSet").and_then(Value::as_array).into_iter().flatten() {
                let Some(topic) = sub.get("topic").and_then(Value::as_str) else { continue };
                let expression = sub.get("subString").and_then(Value::as_str).unwrap_or("*");
                let Ok(t) = self.scope(caller, topic) else { continue };
                if t.instance == g.instance {
                    subscriptions.insert(t.name, expression.to_string());
                }
            }
            let client = ConsumerClient {
                client_id: client_id.clone(),
                client_addr: conn.peer.to_string(),
                language: if req.language.is_empty() { "JAVA".into() } else { req.language.clone() },
                version: req.version.to_string(),
                remote_ip: conn.peer.ip().to_string(),
                consume_type: consume_type.into(),
                message_model: model_of(c.get("messageModel")),
                thread_count: 20,
                started_ms: now,
                last_seen_ms: now,
                subscriptions,
            };
            {
                let model = self.state.store.rocketmq.read();
                model.connect_tcp_consumer(&g.instance, &g.name, client).map_err(model_fail)?;
            }
            {
                let mut peers = self.consumer_peers.lock();
                let list = peers.entry((g.instance.clone(), g.name.clone())).or_default();
                if !list.iter().any(|(p, _)| p.conn == conn.id) {
                    list.push((Peer { conn: conn.id, outbox: conn.outbox.clone() }, g.ns_prefix.clone()));
                }
            }
            let mut consumers = self.consumers.lock();
            let list = consumers.entry(conn.id).or_default();
            let key = (g.instance.clone(), g.name.clone(), client_id.clone());
            if !list.contains(&key) {
                list.push(key);
            }
            changed = true;
        }
        if changed {
            self.commit().await?;
        }
        Ok(ok(req))
    }

    async fn unregister(&self, conn: &Conn, caller: &Caller, req: &Command) -> Answer {
        let client_id = req.field("clientID").unwrap_or("").to_string();
        if let Some(group) = req.field("consumerGroup").filter(|g| !g.is_empty()) {
            let g = self.scope(caller, group)?;
            {
                let model = self.state.store.rocketmq.read();
                let _ = model.disconnect_consumer(&g.instance, &g.name, &client_id);
            }
            if let Some(list) = self.consumers.lock().get_mut(&conn.id) {
                list.retain(|(i, gr, c)| !(i == &g.instance && gr == &g.name && c == &client_id));
            }
            if let Some(peers) = self.consumer_peers.lock().get_mut(&(g.instance.clone(), g.name.clone())) {
                peers.retain(|(p, _)| p.conn != conn.id);
            }
            self.commit().await?;
        }
        if let Some(group) = req.field("producerGroup").filter(|g| !g.is_empty()) {
            if let Ok(g) = self.scope(caller, group) {
                if let Some(peers) = self.producers.lock().get_mut(&(g.instance, g.name)) {
                    peers.retain(|p| p.conn != conn.id);
                }
            }
        }
        Ok(ok(req))
    }

    fn consumer_list(&self, caller: &Caller, req: &Command) -> Answer {
        let g = self.scope(caller, field(req, "consumerGroup")?)?;
        let model = self.state.store.rocketmq.read();
        let handle = model.instance_by_id(&g.instance).map_err(model_fail)?;
        let ids = handle.read().consumer_ids(&g.name).map_err(model_fail)?;
        let mut resp = ok(req);
        resp.body = json_body(&json!({ "consumerIdList": ids }));
        Ok(resp)
    }

    async fn send_back(&self, caller: &Caller, req: &Command) -> Answer {
        let g = self.scope(caller, field(req, "group")?)?;
        let offset: i64 = number(req, "offset")?;
        let delay_level: i32 = optional(req, "delayLevel").unwrap_or(0);
        let options = self.options.clone();
        let result = {
            let model = self.state.store.rocketmq.read();
            model
                .send_back(&g.instance, &g.name, offset, delay_level < 0, |times| options.retry_delay(times))
                .map_err(model_fail)?
        };
        self.commit().await?;
        if let SentBack::Retry { due, .. } = result {
            // Wake pulls of the retry topic once the message is due.
            let s = self.appended.clone();
            let wait = (due.as_ms() - Millis::now().as_ms()).max(0) as u64;
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(wait)).await;
                s.send_modify(|n| *n = n.wrapping_add(1));
            });
        }
        Ok(ok(req))
    }

    async fn end_transaction(&self, caller: &Caller, req: &Command) -> Answer {
        let decision: i32 = optional(req, "commitOrRollback").unwrap_or(0);
        let by_offset: Option<i64> = optional(req, "commitLogOffset");
        let msg_id = req.field("msgId").unwrap_or("");
        let half = {
            let mut halves = self.halves.lock();
            let key = by_offset.filter(|k| halves.contains_key(k)).or_else(|| {
                halves.iter().find(|(_, h)| !msg_id.is_empty() && h.uniq_id.as_deref() == Some(msg_id)).map(|(k, _)| *k)
            });
            match (key, decision) {
                (None, _) => None,
                (Some(_), d) if d != TRANSACTION_COMMIT && d != TRANSACTION_ROLLBACK => {
                    return Ok(ok(req)); // unknown: keep it for the next check
                }
                (Some(k), _) => halves.remove(&k).map(|h| (k, h)),
            }
        };
        let Some((key_of_half, half)) = half else {
            return Err(Fail(code::SYSTEM_ERROR, "no such prepared message (already decided, or never sent)".into()));
        };
        // The decision must come from the account that owns the instance.
        let _ = self.scope(caller, &half.client_topic)?;
        let instance = half.instance.clone();
        if decision == TRANSACTION_COMMIT {
            {
                let model = self.state.store.rocketmq.read();
                model.send_stored(&half.instance, &half.topic, half.message, half.uniq_id).map_err(model_fail)?;
                model.forget_half(&instance, key_of_half);
            }
            self.commit().await?;
            self.notify();
        } else {
            self.state.store.rocketmq.read().forget_half(&instance, key_of_half);
            self.commit().await?;
        }
        Ok(ok(req))
    }

    fn queue_offset(&self, caller: &Caller, req: &Command) -> Answer {
        let s = self.scope(caller, field(req, "topic")?)?;
        let queue_id: u32 = number(req, "queueId")?;
        let model = self.state.store.rocketmq.read();
        let handle = model.instance_by_id(&s.instance).map_err(model_fail)?;
        let (min, max) = handle.read().queue_offsets(&s.name, queue_id).map_err(model_fail)?;
        Ok(ok(req).with("offset", if req.code == code::GET_MAX_OFFSET { max } else { min }))
    }

    fn search_offset(&self, caller: &Caller, req: &Command) -> Answer {
        let s = self.scope(caller, field(req, "topic")?)?;
        let queue_id: u32 = number(req, "queueId")?;
        let ts: i64 = number(req, "timestamp")?;
        let model = self.state.store.rocketmq.read();
        let handle = model.instance_by_id(&s.instance).map_err(model_fail)?;
        let offset = handle.read().offset_by_time(&s.name, queue_id, Millis::from_ms(ts)).map_err(model_fail)?;
        Ok(ok(req).with("offset", offset))
    }

    fn earliest_time(&self, caller: &Caller, req: &Command) -> Answer {
        let s = self.scope(caller, field(req, "topic")?)?;
        let queue_id: u32 = number(req, "queueId")?;
        let model = self.state.store.rocketmq.read();
        let handle = model.instance_by_id(&s.instance).map_err(model_fail)?;
        let t = handle.read().earliest_store_time(&s.name, queue_id).map_err(model_fail)?;
        Ok(ok(req).with("timestamp", t.as_ms()))
    }

    /// VIEW_MESSAGE_BY_ID: `offset` is the commit-log offset of an offset message id. Only the caller's
    /// instance without a namespace is searched unless a `topic` field names another.
    fn view_message(&self, caller: &Caller, req: &Command) -> Answer {
        let offset: i64 = number(req, "offset")?;
        let s = self.scope(caller, req.field("topic").unwrap_or("TBW102"))?;
        let model = self.state.store.rocketmq.read();
        let handle = model.instance_by_id(&s.instance).map_err(model_fail)?;
        let m = handle
            .read()
            .message_by_commit_offset(offset)
            .map_err(|_| Fail(code::SYSTEM_ERROR, format!("can not find message by the offset, {offset}")))?;
        let topic = format!("{}{}", s.ns_prefix, m.topic);
        let mut body = BytesMut::new();
        wire::encode_message(
            &View { message: &m, topic: &topic, extra: Vec::new(), sys_flag: 0, queue_offset: None, store_host: None },
            &mut body,
        );
        let mut resp = ok(req);
        resp.body = body.freeze();
        Ok(resp)
    }

    fn query_message(&self, caller: &Caller, req: &Command) -> Answer {
        let topic = field(req, "topic")?;
        let key = field(req, "key")?;
        let max = optional::<usize>(req, "maxNum").unwrap_or(32).clamp(1, 64);
        let begin: i64 = optional(req, "beginTimestamp").unwrap_or(0);
        let end: i64 = optional(req, "endTimestamp").unwrap_or(i64::MAX);
        let s = self.scope(caller, topic)?;
        let model = self.state.store.rocketmq.read();
        let handle = model.instance_by_id(&s.instance).map_err(model_fail)?;
        let i = handle.read();
        i.topic(&s.name).map_err(model_fail)?;
        // A unique-key query (`_UNIQUE_KEY_QUERY`) looks for the message id; else the message keys.
        let found: Vec<Message> = if req.field("_UNIQUE_KEY_QUERY") == Some("true") {
            i.message_by_id(&s.name, key).map(|m| vec![m]).unwrap_or_default()
        } else {
            i.messages_by_key_between(&s.name, key, Millis::from_ms(begin), Millis::from_ms(end), max)
        };
        if found.is_empty() {
            return Err(Fail(code::QUERY_NOT_FOUND, "can not find message, maybe time range not correct".into()));
        }
        let mut body = BytesMut::new();
        for m in &found {
            wire::encode_message(
                &View { message: m, topic, extra: Vec::new(), sys_flag: 0, queue_offset: None, store_host: None },
                &mut body,
            );
        }
        let mut resp =
            ok(req).with("indexLastUpdateTimestamp", Millis::now().as_ms()).with("indexLastUpdatePhyoffset", 0);
        resp.body = body.freeze();
        Ok(resp)
    }

    /// LOCK_BATCH_MQ / UNLOCK_BATCH_MQ: a queue is locked by one client of a group at a time (ordered
    /// consumption); the lock lasts 60 s unless renewed.
    fn lock(&self, caller: &Caller, req: &Command, lock: bool) -> Answer {
        let body: Value = serde_json::from_slice(&req.body)
            .map_err(|_| Fail(code::SYSTEM_ERROR, "the lock body is not JSON".into()))?;
        let group = body.get("consumerGroup").and_then(Value::as_str).unwrap_or("");
        let client = body.get("clientId").and_then(Value::as_str).unwrap_or("").to_string();
        let g = self.scope(caller, group)?;
        let now = Millis::now();
        let mut granted = Vec::new();
        let mut locks = self.locks.lock();
        for mq in body.get("mqSet").and_then(Value::as_array).into_iter().flatten() {
            let Some(topic) = mq.get("topic").and_then(Value::as_str) else { continue };
            let queue = mq.get("queueId").and_then(Value::as_u64).unwrap_or(0) as u32;
            let Ok(t) = self.scope(caller, topic) else { continue };
            let key = (g.instance.clone(), g.name.clone(), t.name, queue);
            let holder = locks.get(&key).filter(|(_, until)| *until > now).map(|(c, _)| c.clone());
            if lock {
                if holder.as_deref().is_none_or(|h| h == client) {
                    locks.insert(key, (client.clone(), Millis::from_ms(now.as_ms() + LOCK_MS)));
                    granted.push(mq.clone());
                }
            } else if holder.as_deref() == Some(client.as_str()) {
                locks.remove(&key);
            }
        }
        let mut resp = ok(req);
        if lock {
            resp.body = json_body(&json!({ "lockOKMQSet": granted }));
        }
        Ok(resp)
    }
}

/// The caller's instance without a namespace.
fn default_instance(model: &RocketMqModel, account: &str) -> Option<String> {
    model.instance_ids().into_iter().find(|id| {
        model.instance_by_id(id).is_ok_and(|h| {
            let i = h.read();
            i.account() == account && !i.independent_naming()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_kind_namespace_and_local_name() {
        assert_eq!(split_name("T"), ("", None, "T"));
        assert_eq!(split_name("MQ_INST_1_x%T"), ("", Some("MQ_INST_1_x"), "T"));
        assert_eq!(split_name("%RETRY%MQ_INST_1_x%GID_a"), (RETRY_PREFIX, Some("MQ_INST_1_x"), "GID_a"));
        assert_eq!(split_name("%RETRY%GID_a"), (RETRY_PREFIX, None, "GID_a"));
        assert_eq!(split_name("%DLQ%GID_a"), ("%DLQ%", None, "GID_a"));
    }

    #[test]
    fn the_signature_covers_sorted_fields_and_the_body() {
        let ext: BTreeMap<String, String> = [("b", "2"), ("a", "1"), ("Signature", "x"), ("AccessKey", "AK")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let expected = crate::signing::base64(&crate::signing::hmac_sha1(b"s", b"AK12body"));
        assert_eq!(sign("s", &ext, b"body"), expected);
    }
}
