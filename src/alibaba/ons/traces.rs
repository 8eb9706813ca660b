//! Message traces and single-message actions: OnsTraceQueryByMsgId, OnsTraceQueryByMsgKey (start a trace
//! query, answer its `QueryId`), OnsTraceGetResult (the trace of every message the query matched),
//! OnsMessageDetail, OnsMessagePush. Field names are the SDK models' (`alibabacloud_ons20190214.models`).
//!
//! A `QueryId` carries its query (instance, topic, message id or key, time range), Base64url-encoded, so a
//! result is computed from the current state whenever it is asked for and survives restarts; the instance
//! is looked up as the caller's, so another account's `QueryId` finds nothing.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::consumers::{fields, one_message, required, time_range};
use super::resources::instance_id;
use super::{Ctx, OnsError};
use crate::alibaba::kafka::wire::{Input, Params};
use crate::engine::rocketmq::{body_crc, properties, store_size, Message, Outcome, RocketMqError};

#[derive(Deserialize)]
struct TraceInput {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "Topic")]
    topic: Option<String>,
    #[serde(rename = "MsgId")]
    msg_id: Option<String>,
    #[serde(rename = "MsgKey")]
    msg_key: Option<String>,
    #[serde(rename = "BeginTime")]
    begin_time: Option<i64>,
    #[serde(rename = "EndTime")]
    end_time: Option<i64>,
    #[serde(rename = "QueryId")]
    query_id: Option<String>,
    #[serde(rename = "GroupId")]
    group_id: Option<String>,
    #[serde(rename = "ClientId")]
    client_id: Option<String>,
}
impl Input for TraceInput {}

/// What a `QueryId` stands for.
#[derive(Serialize, Deserialize)]
struct TraceQuery {
    #[serde(rename = "i")]
    instance: String,
    #[serde(rename = "t")]
    topic: String,
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    msg_id: Option<String>,
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(rename = "b")]
    begin: i64,
    #[serde(rename = "e")]
    end: i64,
    /// When the query was started (ms), the trace's CreateTime.
    #[serde(rename = "c")]
    created: i64,
}

impl TraceQuery {
    fn id(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn parse(id: &str) -> Option<TraceQuery> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The messages the query matches in the caller's instance (BIZ_NO_MESSAGE when none).
    fn run(&self, ctx: &Ctx<'_>) -> Result<Vec<Message>, OnsError> {
        let handle = ctx.instance(&self.instance)?;
        let instance = handle.read();
        let found = match (&self.msg_id, &self.key) {
            (Some(id), _) => vec![instance.message_by_id(&self.topic, id)?],
            (None, Some(key)) => instance.messages_by_key(&self.topic, key)?,
            (None, None) => Vec::new(),
        };
        let found: Vec<Message> =
            found.into_iter().filter(|m| (self.begin..=self.end).contains(&m.store_ms.as_ms())).collect();
        if found.is_empty() {
            let what = self.msg_id.as_deref().or(self.key.as_deref()).unwrap_or_default();
            return Err(RocketMqError::NoMessage(format!("{what} between {} and {}", self.begin, self.end)).into());
        }
        Ok(found)
    }
}

/// Starts a trace query: checks the range and that a message matches, answers the `QueryId`.
fn start_query(ctx: &Ctx<'_>, input: TraceInput, by_key: bool) -> Result<Map<String, Value>, OnsError> {
    let topic = required(input.topic, "Topic")?;
    let (msg_id, key) = if by_key {
        (None, Some(required(input.msg_key, "MsgKey")?))
    } else {
        (Some(required(input.msg_id, "MsgId")?), None)
    };
    let (begin, end) = time_range(input.begin_time, input.end_time)?;
    let instance = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.model.settle_due(&instance)?;
    let query = TraceQuery { instance, topic, msg_id, key, begin, end, created: chrono::Utc::now().timestamp_millis() };
    query.run(ctx)?;
    Ok(fields(json!({"QueryId": query.id()})))
}

pub fn trace_query_by_msg_id(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    start_query(ctx, p.input()?, false)
}

pub fn trace_query_by_msg_key(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    start_query(ctx, p.input()?, true)
}

/// One message's trace: its publication and, per subscribing group, the recorded consumptions.
fn trace_of(ctx: &Ctx<'_>, instance_id: &str, m: &Message) -> Result<Value, OnsError> {
    let handle = ctx.instance(instance_id)?;
    let instance = handle.read();
    let mut subs = Vec::new();
    for group in instance.groups().filter(|g| g.subscriptions().contains_key(&m.topic)) {
        let events = instance.consume_events(group.id(), &m.msg_id)?;
        let host = group.clients().first().map(|c| c.client_addr.clone()).unwrap_or_default();
        let clients: Vec<Value> = events
            .iter()
            .filter(|e| e.outcome != Outcome::Filtered)
            .map(|e| {
                json!({
                    "SubGroupName": group.id(),
                    "SubTime": e.at_ms.as_ms(),
                    "ClientHost": host,
                    "Status": if e.outcome == Outcome::Consumed { "CONSUME_SUCCESS" } else { "CONSUME_FAILED" },
                    "ReconsumeTimes": m.reconsume_times,
                    "CostTime": 0,
                })
            })
            .collect();
        let success = events.iter().filter(|e| e.outcome == Outcome::Consumed).count();
        let failed = events.iter().filter(|e| e.outcome == Outcome::Failed).count();
        subs.push(json!({
            "SubGroupName": group.id(),
            "SuccessCount": success,
            "FailCount": failed,
            "ClientList": {"SubClientInfoDo": clients},
        }));
    }
    Ok(json!({
        "MsgId": m.msg_id,
        "MsgKey": m.keys.join(" "),
        "Tag": m.tag.clone().unwrap_or_default(),
        "Topic": m.topic,
        "PubTime": m.store_ms.as_ms(),
        "BornHost": m.born_host,
        "PubGroupName": m.producer_group.clone().unwrap_or_default(),
        "Status": "SEND_SUCCESS",
        "CostTime": 0,
        "SubList": {"SubMapDo": subs},
    }))
}

pub fn trace_get_result(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TraceInput = p.input()?;
    let query_id = required(input.query_id, "QueryId")?;
    let query = TraceQuery::parse(&query_id)
        .ok_or_else(|| OnsError::invalid("QueryId", "It is not a query id this API issued."))?;
    ctx.model.settle_due(&query.instance)?;
    let messages = query.run(ctx)?;
    let traces = messages.iter().map(|m| trace_of(ctx, &query.instance, m)).collect::<Result<Vec<_>, _>>()?;
    Ok(fields(json!({"TraceData": {
        "QueryId": query_id,
        "InstanceId": query.instance,
        "Topic": query.topic,
        "MsgId": query.msg_id.unwrap_or_default(),
        "MsgKey": query.key.unwrap_or_default(),
        "Status": "finish",
        "UserId": ctx.account,
        "CreateTime": query.created,
        "UpdateTime": chrono::Utc::now().timestamp_millis(),
        "TraceList": {"TraceMapDo": traces},
    }})))
}

/// A message as OnsMessageDetail answers it: the body as Base64 (`Body`) and as text (`BodyStr`), and
/// `PropertyList` as a plain list.
fn detail(m: &Message, instance_id: &str) -> Value {
    let props: Vec<Value> = properties(m).into_iter().map(|(k, v)| json!({"Name": k, "Value": v})).collect();
    json!({
        "Topic": m.topic,
        "MsgId": m.msg_id,
        "InstanceId": instance_id,
        "Body": base64::engine::general_purpose::STANDARD.encode(&m.body),
        "BodyStr": String::from_utf8_lossy(&m.body),
        "BodyCRC": body_crc(m),
        "StoreSize": store_size(m),
        "BornTimestamp": m.born_ms.as_ms(),
        "BornHost": m.born_host,
        "StoreTimestamp": m.store_ms.as_ms(),
        "StoreHost": m.store_host,
        "ReconsumeTimes": m.reconsume_times,
        "PropertyList": props,
    })
}

pub fn message_detail(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TraceInput = p.input()?;
    let topic = required(input.topic, "Topic")?;
    let msg_id = required(input.msg_id, "MsgId")?;
    one_message(ctx, input.instance_id.as_deref(), &topic, &msg_id, detail)
}

/// OnsMessagePush: the message goes to one connected client of the group (BIZ_CONSUMER_NOT_ONLINE when
/// the client is not connected), recorded as a consumption in the group's history.
pub fn message_push(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TraceInput = p.input()?;
    let group = required(input.group_id, "GroupId")?;
    let client = required(input.client_id, "ClientId")?;
    let msg_id = required(input.msg_id, "MsgId")?;
    let topic = required(input.topic, "Topic")?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.instance(&id)?;
    ctx.model.push_message(&id, &group, &client, &topic, &msg_id)?;
    Ok(Map::new())
}
