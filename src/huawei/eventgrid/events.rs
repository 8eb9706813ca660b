//! Events: PutEvents, PutOfficialEvents, CheckPutEvents, ListTracedEvents, ShowDetailOfEventTrace and
//! ShowDetailOfEvent. Publishing validates each CloudEvent on its own (a bad event is reported in
//! `events[]` and `failed_count`, never failing the batch), routes it to every delivering subscription of
//! the channel whose source and filter match, applies each target's transform and hands HTTP targets to the
//! asynchronous delivery; everything is traced.

use crate::engine::eventbus::Millis;
use serde_json::{json, Value};

use super::delivery::{self, DeadLetter, Job, Sink};
use super::error::EgError;
use super::wire::{time, DEFAULT_LIMIT};
use super::{Ctx, Reply};
use crate::engine::eventbus::{
    default_channel_id, AttemptDetail, DeliveryStatus, Destination, EventAttributes, EventRecord, SubscriptionTrace,
    TargetTrace,
};
use crate::state::AppState;

/// Most events in one PutEvents call (not in the seed; localyun's bound).
pub const MAX_EVENTS_PER_CALL: usize = 1000;
/// Largest serialized CloudEvent accepted (not in the seed; localyun's bound).
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
const REQUIRED_ATTRIBUTES: &[&str] = &["id", "source", "specversion", "type"];
const STRING_ATTRIBUTES: &[&str] = &["datacontenttype", "dataschema", "subject", "time"];

/// The attributes `validate_event` looks at: the required ones, then the optional string ones (`time`
/// last).
const CHECKED_ATTRIBUTES: [&str; 8] =
    ["id", "source", "specversion", "type", "datacontenttype", "dataschema", "subject", "time"];

/// A CloudEvent that passed `validate_event`.
struct Checked {
    /// The compact JSON text (written once, to measure it, and kept for the trace and the deliveries,
    /// which carry exactly this text).
    text: String,
    /// `id`, `source` and `type`, strings by then.
    attributes: EventAttributes,
}

/// Checks one CloudEvent: the required attributes, the optional ones' types, `time` as RFC 3339, the size.
fn validate_event(event: &Value) -> Result<Checked, String> {
    let Some(object) = event.as_object() else {
        return Err("an event must be a JSON object".into());
    };
    // One pass over the event's members finds every checked attribute: a map lookup hashes its key with
    // SipHash, a dozen times per event otherwise. A JSON object has each key once, so this finds what
    // `get` finds.
    let mut found: [Option<&Value>; CHECKED_ATTRIBUTES.len()] = [None; CHECKED_ATTRIBUTES.len()];
    for (key, value) in object {
        if let Some(i) = CHECKED_ATTRIBUTES.iter().position(|a| a == key) {
            found[i] = Some(value);
        }
    }
    let (required, optional) = found.split_at(REQUIRED_ATTRIBUTES.len());
    for (name, value) in REQUIRED_ATTRIBUTES.iter().zip(required) {
        match value {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(Value::String(_)) | None | Some(Value::Null) => return Err(format!("{name} is required")),
            Some(_) => return Err(format!("{name} must be a string")),
        }
    }
    for (name, value) in STRING_ATTRIBUTES.iter().zip(optional) {
        if let Some(v) = value {
            if !v.is_string() && !v.is_null() {
                return Err(format!("{name} must be a string"));
            }
        }
    }
    if let Some(t) = optional.last().copied().flatten().and_then(Value::as_str) {
        if chrono::DateTime::parse_from_rfc3339(t).is_err() {
            return Err(format!("time {t:?} is not an RFC 3339 time such as 2018-04-05T17:31:00Z"));
        }
    }
    // Serialising a `Value` cannot fail (its keys are strings); an empty text would only make the size
    // check pass for an event that cannot be written anyway.
    let text = serde_json::to_string(event).unwrap_or_default();
    let size = text.len();
    if size > MAX_EVENT_BYTES {
        return Err(format!("the event is {size} bytes; at most {MAX_EVENT_BYTES} are allowed"));
    }
    let attribute = |i: usize| found[i].and_then(Value::as_str).unwrap_or("");
    Ok(Checked { text, attributes: EventAttributes::new(attribute(0), attribute(1), attribute(3)) })
}

/// A new trace id: a v4 UUID as 32 lower-case hex digits (written into a stack buffer, then copied once,
/// instead of through the formatting machinery).
fn trace_id() -> String {
    let mut buf = uuid::Uuid::encode_buffer();
    uuid::Uuid::new_v4().simple().encode_lower(&mut buf).to_owned()
}

pub fn put_events(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let channel_id = ctx.param(0).to_string();
    ctx.state.store.eventbus.read().channel(&ctx.project, &channel_id)?;
    let events = events_of(ctx)?;
    let (failed, results) = publish(ctx.state, &ctx.account, &ctx.project, &channel_id, events, None, 0)?;
    Ok(Reply::json(&Published { failed_count: failed, events: results }))
}

pub fn put_official_events(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let source_name = ctx.param(0).to_string();
    {
        let model = ctx.state.store.eventbus.read();
        if !model.sources_of(&ctx.project).any(|s| s.name == source_name && s.provider_type == "OFFICIAL") {
            return Err(EgError::NotFound(format!("official event source {source_name} does not exist")));
        }
    }
    let events = events_of(ctx)?;
    let channel_id = default_channel_id(&ctx.project);
    let (failed, results) = publish(ctx.state, &ctx.account, &ctx.project, &channel_id, events, Some(&source_name), 0)?;
    Ok(Reply::json(&Published { failed_count: failed, events: results }))
}

/// PutEvents' answer (serialised as it stands: `json!` would copy every result once more).
#[derive(serde::Serialize)]
struct Published {
    failed_count: usize,
    events: Vec<EventResult>,
}

/// One event's entry in PutEvents' answer, serialised as its fields alone (`untagged`), in this order.
#[derive(serde::Serialize, Debug)]
#[serde(untagged)]
enum EventResult {
    Failed {
        error_code: &'static str,
        error_msg: String,
        /// The event's `id` when it is a string, else `""`.
        event_id: Value,
    },
    Published {
        event_id: String,
    },
}

impl EventResult {
    fn error_msg(&self) -> Option<&str> {
        match self {
            EventResult::Failed { error_msg, .. } => Some(error_msg),
            EventResult::Published { .. } => None,
        }
    }
}

fn events_of(ctx: &Ctx<'_>) -> Result<Vec<Value>, EgError> {
    let mut body = ctx.body()?;
    let events = body.take_array("events")?.unwrap_or_default();
    if events.len() > MAX_EVENTS_PER_CALL {
        return Err(EgError::Parameter(format!("events: at most {MAX_EVENTS_PER_CALL} per call")));
    }
    Ok(events)
}

/// How many EG-channel targets an event may pass through (a loop of channels ends here).
pub const MAX_CHANNEL_HOPS: u8 = 4;

/// An event a target forwards into another channel of this emulator.
struct Forward {
    trace_id: String,
    subscription_id: String,
    target_id: String,
    project: String,
    channel_id: String,
    payload: String,
}

/// Validates, routes, records and hands over each event; returns the failed count and the per-event results.
fn publish(
    state: &AppState,
    account: &str,
    project: &str,
    channel_id: &str,
    events: Vec<Value>,
    official_source: Option<&str>,
    hops: u8,
) -> Result<(usize, Vec<EventResult>), EgError> {
    let received = Millis::now();
    let mut results = Vec::with_capacity(events.len());
    let mut failed = 0;
    let mut jobs = Vec::new();
    let mut forwards = Vec::new();
    {
        // Routing only reads the model (the index gives the candidates), under a read lock taken per
        // event, and each trace is recorded under the trace store's own short lock: a 1,000-event batch
        // never holds a write lock, and a writer waits for one event at most.
        // The callers checked the channel (404 EG.00514001 before anything is published); if it is gone now
        // it was deleted while the request ran: the seed's "事件发布时资源不存在" (500 EG.00515001).
        let channel_name = match state.store.eventbus.read().channel(project, channel_id) {
            Ok(c) => c.name.clone(),
            Err(e) => return Err(EgError::PublishResourceMissing(e.to_string())),
        };
        for event in events {
            let model = state.store.eventbus.read();
            let mut check = validate_event(&event);
            if let (Ok(checked), Some(name)) = (&check, official_source) {
                if checked.attributes.source() != name {
                    check = Err(format!("source must be {name}, the official source of the request path"));
                }
            }
            let Checked { text, attributes } = match check {
                Ok(checked) => checked,
                Err(why) => {
                    failed += 1;
                    results.push(EventResult::Failed {
                        error_code: "EG.00513000",
                        error_msg: format!("Parameter error: {why}"),
                        event_id: event.get("id").cloned().filter(Value::is_string).unwrap_or(Value::from("")),
                    });
                    continue;
                }
            };
            let trace_id = trace_id();
            let mut deliveries = Vec::new();
            for sub in model.route_from(project, channel_id, attributes.source(), &event) {
                let source_provider = sub.sources.first().map(|s| s.provider_type.clone()).unwrap_or_default();
                let mut targets = Vec::with_capacity(sub.targets.len());
                for target in &sub.targets {
                    let job = |sink: Sink| Job {
                        trace_id: trace_id.clone(),
                        project: project.to_string(),
                        subscription_id: sub.id.clone(),
                        target_id: target.id.clone(),
                        sink,
                        payload: target.transform.apply(&event),
                        retries: target.retry_times.unwrap_or(0),
                        dead_letter: target.dead_letter_queue.as_ref().map(DeadLetter::of),
                        event: text.clone(),
                    };
                    let (status, message) = match target.destination() {
                        Destination::Http { url, headers } => {
                            jobs.push(job(Sink::Http { url, headers }));
                            (DeliveryStatus::Pending, String::new())
                        }
                        Destination::Kafka { connection_id, topic, key_transform } => {
                            let key = super::kafka::key_of(key_transform.as_ref(), &event, None);
                            jobs.push(job(Sink::Kafka { connection_id, topic, key }));
                            (DeliveryStatus::Pending, String::new())
                        }
                        Destination::Channel { project: target_project, channel_id: target_channel } => {
                            forwards.push(Forward {
                                trace_id: trace_id.clone(),
                                subscription_id: sub.id.clone(),
                                target_id: target.id.clone(),
                                project: target_project,
                                channel_id: target_channel,
                                payload: target.transform.apply(&event).body,
                            });
                            (DeliveryStatus::Pending, String::new())
                        }
                        Destination::NotLocal(service) => {
                            (DeliveryStatus::NotDelivered, format!("not delivered: no local target ({service})"))
                        }
                    };
                    targets.push(TargetTrace {
                        target_id: target.id.clone(),
                        target_name: target.name.clone(),
                        status,
                        attempts: 0,
                        details: Default::default(),
                        message,
                    });
                }
                deliveries.push(SubscriptionTrace {
                    subscription_id: sub.id.clone(),
                    subscription_name: sub.name.clone(),
                    source_provider,
                    targets,
                });
            }
            model.traces().record(EventRecord {
                trace_id: trace_id.clone(),
                project_id: project.to_string(),
                channel_id: channel_id.to_string(),
                channel_name: channel_name.clone(),
                attributes,
                event: text,
                received,
                deliveries,
            });
            results.push(EventResult::Published { event_id: trace_id });
        }
    }
    // Delivery starts after the model lock is released.
    for job in jobs {
        let (trace_id, subscription_id, target_id) =
            (job.trace_id.clone(), job.subscription_id.clone(), job.target_id.clone());
        if let Err(why) = delivery::enqueue(state, job) {
            state.store.eventbus.read().traces().attempt(
                &trace_id,
                &subscription_id,
                &target_id,
                DeliveryStatus::Failed,
                None,
                &format!("not delivered: {why}"),
            );
        }
    }
    for forward in forwards {
        forward_into_channel(state, account, forward, hops);
    }
    Ok((failed, results))
}

/// Publishes a transformed event into the target channel of an `eg_detail` target when that channel lives
/// in this emulator under the same account; traced like any delivery.
fn forward_into_channel(state: &AppState, account: &str, forward: Forward, hops: u8) {
    let started = std::time::Instant::now();
    let time_ms = Millis::now();
    let outcome: Result<(), String> = (|| {
        if hops + 1 >= MAX_CHANNEL_HOPS {
            return Err(format!("not delivered: more than {MAX_CHANNEL_HOPS} EG channel hops"));
        }
        {
            let model = state.store.eventbus.read();
            if model.project_owner(&forward.project) != Some(account) {
                return Err(format!("not delivered: no local target (EG project {})", forward.project));
            }
            model
                .channel(&forward.project, &forward.channel_id)
                .map_err(|_| format!("not delivered: no local target (EG channel {})", forward.channel_id))?;
        }
        let event: Value = serde_json::from_str(&forward.payload)
            .map_err(|_| "the transformed event is not a CloudEvent JSON object".to_string())?;
        let (failed, results) =
            publish(state, account, &forward.project, &forward.channel_id, vec![event], None, hops + 1)
                .map_err(|e| format!("{}: {}", e.message(), e.detail()))?;
        if failed > 0 {
            let why = results.first().and_then(EventResult::error_msg).unwrap_or("");
            return Err(format!("the target channel refused the event: {why}"));
        }
        Ok(())
    })();
    let success = outcome.is_ok();
    let status = if success { DeliveryStatus::Success } else { DeliveryStatus::Failed };
    let detail = AttemptDetail {
        time: time_ms,
        success,
        consuming_ms: started.elapsed().as_millis() as u64,
        rsp_code: String::new(),
    };
    let message = outcome.err().unwrap_or_default();
    state.store.eventbus.read().traces().attempt(
        &forward.trace_id,
        &forward.subscription_id,
        &forward.target_id,
        status,
        Some(detail),
        &message,
    );
}

pub fn check_put_events(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let items = body.opt_array("sources")?.cloned().unwrap_or_default();
    let model = ctx.state.store.eventbus.read();
    let mut failed = 0;
    let mut results = Vec::with_capacity(items.len());
    for item in &items {
        let channel_id = item.get("channel_id").and_then(Value::as_str).unwrap_or("");
        let source_name = item.get("source_name").and_then(Value::as_str).unwrap_or("");
        let detail = if model.channel(&ctx.project, channel_id).is_err() {
            Some(format!("channel {channel_id} does not exist"))
        } else if !model
            .sources_of(&ctx.project)
            .any(|s| s.name == source_name && (s.channel_id == channel_id || s.provider_type == "OFFICIAL"))
        {
            Some(format!("event source {source_name} does not exist in channel {channel_id}"))
        } else if !model
            .subscriptions_of(&ctx.project)
            .any(|s| s.channel_id == channel_id && s.delivers() && s.sources.iter().any(|src| src.name == source_name))
        {
            Some(format!("no enabled subscription subscribes to {source_name} in channel {channel_id}"))
        } else {
            None
        };
        if detail.is_some() {
            failed += 1;
        }
        results.push(json!({
            "channel_id": channel_id,
            "source_name": source_name,
            "check_result": detail.is_none(),
            "check_detail": detail.unwrap_or_else(|| "ok".into()),
        }));
    }
    Ok(Reply::Ok(json!({"failed_count": failed, "sources": results})))
}

fn status_text(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Pending => "PENDING",
        DeliveryStatus::Success => "SUCCESS",
        DeliveryStatus::Failed => "FAILED",
        DeliveryStatus::NotDelivered => "NOT_DELIVERED",
    }
}

fn render_trace(record: &EventRecord) -> Value {
    let deliver_list: Vec<Value> = record
        .deliveries
        .iter()
        .map(|d| {
            let success = d.targets.iter().filter(|t| t.status == DeliveryStatus::Success).count();
            let failed = d.targets.iter().filter(|t| t.status == DeliveryStatus::Failed).count();
            let attempts: u32 = d.targets.iter().map(|t| t.attempts).sum();
            json!({
                "subscriptionId": d.subscription_id,
                "subscriptionName": d.subscription_name,
                "successCounts": success,
                "failCounts": failed,
                "allDeliverTimes": attempts,
                "deliverTargetList": d.targets.iter().map(|t| json!({
                    "deliverTargetId": t.target_id,
                    "deliverTargetName": t.target_name,
                    "deliverStatus": status_text(t.status),
                    "deliverMessage": t.message,
                    "deliverDetailList": t.details.iter().map(|a| json!({
                        "deliverTime": time(a.time),
                        "deliverStatus": if a.success { "SUCCESS" } else { "FAILED" },
                        "deliverConsuming": a.consuming_ms.to_string(),
                        "deliverRspCode": a.rsp_code,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "eventId": record.trace_id,
        "eventSource": record.source(),
        "eventType": record.event_type(),
        "receiveTime": record.received.0.to_string(),
        "channelId": record.channel_id,
        "channelName": record.channel_name,
        "deliverList": deliver_list,
    })
}

pub fn show_trace(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let channel_id = ctx.query.req("channel_id")?;
    let model = ctx.state.store.eventbus.read();
    model.channel(&ctx.project, channel_id)?;
    let id = ctx.param(0);
    let trace = model
        .traces()
        .with_event(&ctx.project, id, |record| (record.channel_id == channel_id).then(|| render_trace(record)))
        .ok_or_else(|| EgError::NotFound(format!("event {id} does not exist")))?;
    let trace =
        trace.ok_or_else(|| EgError::NotFound(format!("event {id} was not published on channel {channel_id}")))?;
    Ok(Reply::Ok(trace))
}

/// The event's content; the seed types the body as a bare String, so it is the CloudEvent's JSON text.
pub fn show_event(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let model = ctx.state.store.eventbus.read();
    let id = ctx.param(0);
    let text = model
        .traces()
        .with_event(&ctx.project, id, |record| record.event.clone())
        .ok_or_else(|| EgError::NotFound(format!("event {id} does not exist")))?;
    Ok(Reply::Ok(Value::from(text)))
}

pub fn list_traced(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let q = &ctx.query;
    let start =
        q.opt_i64("start_time")?.ok_or_else(|| EgError::Parameter("query parameter start_time is required".into()))?;
    let end =
        q.opt_i64("end_time")?.ok_or_else(|| EgError::Parameter("query parameter end_time is required".into()))?;
    if end < start {
        return Err(EgError::Parameter("end_time must not be before start_time".into()));
    }
    let channel_id = q.req("channel_id")?;
    let offset = q.opt_i64("offset")?.unwrap_or(0);
    // `limit` is a String "不能小于0" here; 0 or absent means the default page size.
    let limit = q.opt_i64("limit")?.unwrap_or(0);
    if offset < 0 || limit < 0 {
        return Err(EgError::Parameter("offset and limit must not be less than 0".into()));
    }
    let limit = if limit == 0 { DEFAULT_LIMIT } else { (limit as usize).min(1000) };
    let (event_id, source_name, event_type, subscription_name) =
        (q.get("event_id"), q.get("source_name"), q.get("event_type"), q.get("subscription_name"));
    let model = ctx.state.store.eventbus.read();
    model.channel(&ctx.project, channel_id)?;
    let mut rows = Vec::new();
    model.traces().newest_first(|record| {
        if record.project_id != ctx.project
            || record.channel_id != channel_id
            || record.received.0 < start
            || record.received.0 > end
            || event_id.is_some_and(|id| id != record.trace_id && id != record.event_id())
            || source_name.is_some_and(|s| s != record.source())
            || event_type.is_some_and(|t| t != record.event_type())
        {
            return true;
        }
        let row = |subscription: &str, provider: &str| {
            json!({
                "subscription_name": subscription,
                "source_name": record.source(),
                "source_provider": provider,
                "event_type": record.event_type(),
                "event_id": record.trace_id,
                "event_received_time": record.received.0,
            })
        };
        if record.deliveries.is_empty() {
            if subscription_name.is_none() {
                rows.push(row("", ""));
            }
        } else {
            for d in &record.deliveries {
                if subscription_name.is_none_or(|n| n == d.subscription_name) {
                    rows.push(row(&d.subscription_name, &d.source_provider));
                }
            }
        }
        true
    });
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(offset as usize).take(limit).collect();
    Ok(Reply::Ok(json!({"total": total, "size": page.len(), "result": page})))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed entries write the bytes the former maps wrote, field order included.
    #[test]
    fn event_results_are_the_former_bytes() {
        let failed = EventResult::Failed {
            error_code: "EG.00513000",
            error_msg: "Parameter error: \"x\"".into(),
            event_id: Value::from("e-1"),
        };
        let mut former = serde_json::Map::new();
        former.insert("error_code".into(), Value::from("EG.00513000"));
        former.insert("error_msg".into(), Value::from("Parameter error: \"x\""));
        former.insert("event_id".into(), Value::from("e-1"));
        let ok = EventResult::Published { event_id: "abc".into() };
        let body = Published { failed_count: 1, events: vec![failed, ok] };
        let former = json!({"failed_count": 1, "events": [Value::Object(former), json!({"event_id": "abc"})]});
        assert_eq!(serde_json::to_string(&body).unwrap(), former.to_string());
    }

    #[test]
    fn trace_ids_are_simple_lower_case_uuids() {
        let id = trace_id();
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)), "{id}");
        assert_eq!(uuid::Uuid::parse_str(&id).map(|u| u.simple().to_string()).ok(), Some(id));
    }

    #[test]
    fn a_channel_gone_while_publishing_is_the_publish_error() {
        let state = AppState::from_config(crate::config::Config::default()).expect("state");
        let err = publish(&state, "100000000001", "p", "no-such-channel", vec![json!({})], None, 0).unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.code(), err.message()),
            (500, "EG.00515001", "resource not found".into())
        );
    }

    #[test]
    fn cloud_events_are_checked_one_by_one() {
        assert!(validate_event(&json!({"id": "1", "source": "s", "specversion": "1.0", "type": "t"})).is_ok());
        assert!(validate_event(&json!({"id": "1", "source": "s", "specversion": "1.0"})).is_err());
        assert!(validate_event(&json!({"id": "", "source": "s", "specversion": "1.0", "type": "t"})).is_err());
        assert!(validate_event(&json!({"id": 1, "source": "s", "specversion": "1.0", "type": "t"})).is_err());
        assert!(validate_event(
            &json!({"id": "1", "source": "s", "specversion": "1.0", "type": "t", "time": "yesterday"})
        )
        .is_err());
        assert!(validate_event(
            &json!({"id": "1", "source": "s", "specversion": "1.0", "type": "t", "time": "2018-04-05T17:31:00Z"})
        )
        .is_ok());
        assert!(validate_event(&json!("x")).is_err());
        let big = "x".repeat(MAX_EVENT_BYTES);
        assert!(
            validate_event(&json!({"id": "1", "source": "s", "specversion": "1.0", "type": "t", "data": big})).is_err()
        );
    }
}
