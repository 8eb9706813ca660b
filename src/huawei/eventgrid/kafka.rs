//! EventGrid's way into localyun's own Kafka data plane: the Kafka instance an EventGrid object names (a
//! subscription target's connection, a dead-letter queue, an event stream's source or sink) resolved to a
//! local instance, and records written there. Everything goes through `crate::kafka::local` (the data
//! plane's in-process contract), never the broker's internals.
//!
//! An object names its instance by id (`instance_id`, as the Tencent or Alibaba management API shows it)
//! or by bootstrap address (`addr`, `127.0.0.1:<port>`); the first name that a local listener answers wins.
//! Nothing local matches → the delivery fails with a message that says so (a DMS instance in the cloud is
//! out of localyun's reach).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use crate::engine::eventbus::transform::{Transform, TransformKind};
use crate::kafka::local::{LocalError, NewRecord};
use crate::kafka::KafkaBroker;
use crate::state::AppState;

/// A topic of a local Kafka instance.
#[derive(Clone)]
pub struct LocalTopic {
    pub broker: Arc<KafkaBroker>,
    pub instance: String,
    pub topic: String,
}

impl std::fmt::Debug for LocalTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kafka topic {} of instance {}", self.topic, self.instance)
    }
}

/// The `instance_id` and `addr` of a connection's `kafka_detail` (seed 表 5-333), in that order.
pub fn connection_names(state: &AppState, project: &str, connection_id: &str) -> Result<Vec<String>, String> {
    let model = state.store.eventbus.read();
    let connection =
        model.connection(project, connection_id).map_err(|_| format!("connection {connection_id} does not exist"))?;
    let detail = connection
        .kafka_detail
        .as_ref()
        .ok_or_else(|| format!("connection {} is of type {}, not KAFKA", connection.name, connection.kind))?;
    Ok(["instance_id", "addr"]
        .iter()
        .filter_map(|k| detail.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// The local instance among `names` (instance ids or bootstrap addresses), and the topic.
pub fn resolve(state: &AppState, names: &[String], topic: &str) -> Result<LocalTopic, String> {
    let broker = state.kafka().ok_or("the Kafka data plane is off (LOCALYUN_KAFKA=off)")?;
    if topic.is_empty() {
        return Err("no Kafka topic is named".into());
    }
    let instance = names
        .iter()
        .find_map(|n| broker.resolve_instance(n))
        .ok_or_else(|| format!("no local Kafka instance is named {}", names.join(" or ")))?;
    Ok(LocalTopic { broker, instance, topic: topic.to_string() })
}

/// The instance a connection names, then `topic` on it.
pub fn resolve_connection(
    state: &AppState,
    project: &str,
    connection_id: Option<&str>,
    extra_names: &[String],
    topic: &str,
) -> Result<LocalTopic, String> {
    let mut names = extra_names.to_vec();
    if let Some(id) = connection_id.filter(|c| !c.is_empty()) {
        match connection_names(state, project, id) {
            Ok(more) => names.extend(more),
            Err(why) if names.is_empty() => return Err(why),
            Err(_) => {}
        }
    }
    if names.is_empty() {
        return Err("no connection_id names the Kafka instance".into());
    }
    resolve(state, &names, topic)
}

/// Writes one record; answers (partition, offset).
pub async fn produce(to: &LocalTopic, key: Option<Vec<u8>>, value: Vec<u8>) -> Result<(u32, i64), LocalError> {
    let record = NewRecord { key: key.map(Bytes::from), value: Some(Bytes::from(value)), headers: Vec::new() };
    to.broker.produce_local(&to.instance, &to.topic, None, &[record]).await
}

/// The record key a key rule (`keyTransform`, seed 表 5-8) gives for `event`: NONE (or no rule) → no key,
/// CONSTANT → `value`, VARIABLE → `template` filled from the `value` variables; `original` is what a
/// pass-through rule (NONE, ORIGINAL) keeps (an event stream's source record key).
pub fn key_of(rule: Option<&Value>, event: &Value, original: Option<&[u8]>) -> Option<Vec<u8>> {
    let Some(rule) = rule.filter(|r| r.is_object()) else { return original.map(<[u8]>::to_vec) };
    let field = |k: &str| rule.get(k).and_then(Value::as_str).map(str::to_string);
    match field("type").as_deref().unwrap_or("NONE") {
        "CONSTANT" => field("value").map(String::into_bytes),
        "VARIABLE" => Transform::new(TransformKind::Variable, field("value"), field("template"))
            .ok()
            .map(|t| t.apply(event).body.into_bytes()),
        _ => original.map(<[u8]>::to_vec),
    }
}

/// A Kafka error as the trace shows it.
pub fn describe(e: &LocalError) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_rules() {
        let event = json!({"id": "1", "data": {"order": "o-7"}});
        assert_eq!(key_of(None, &event, Some(b"k")), Some(b"k".to_vec()));
        assert_eq!(key_of(Some(&json!({"type": "NONE"})), &event, None), None);
        assert_eq!(key_of(Some(&json!({"type": "CONSTANT", "value": "c"})), &event, None), Some(b"c".to_vec()));
        let variable = json!({"type": "VARIABLE", "value": "{\"o\":\"$.data.order\"}", "template": "order-${o}"});
        assert_eq!(key_of(Some(&variable), &event, None), Some(b"order-o-7".to_vec()));
    }
}
