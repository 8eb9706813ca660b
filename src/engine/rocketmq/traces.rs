//! Per-message consumption records for message traces (ONS `OnsTraceGetResult`), and pushing one stored
//! message to one connected consumer client (ONS `OnsMessagePush`, which checks a consumer's logic).

use super::messages::{ConsumeEvent, Outcome};
use super::{ConsumerClient, Instance, Message, Millis, Result, RocketMqError, RocketMqModel};

impl Instance {
    /// A group's recorded consumption events of one message, oldest first (consumed, filtered, failed; the
    /// history is bounded, so very old events may be gone).
    pub fn consume_events(&self, group: &str, msg_id: &str) -> Result<Vec<ConsumeEvent>> {
        self.group(group)?;
        Ok(self
            .store
            .group(group)
            .map_or_else(Vec::new, |g| g.events.iter().filter(|e| e.msg_id == msg_id).cloned().collect()))
    }
}

impl RocketMqModel {
    /// Pushes a stored message of `topic` to the consumer client `client_id` of `group`, as a consumption
    /// check: the group must exist, the client must be connected to it, and the message must be stored. The
    /// push is recorded in the group's consumption history (it does not move the group's offsets). Returns
    /// the message and the client it went to.
    pub fn push_message(
        &self,
        instance_id: &str,
        group: &str,
        client_id: &str,
        topic: &str,
        msg_id: &str,
    ) -> Result<(Message, ConsumerClient)> {
        let now = Millis::now();
        let pushed =
            self.with_id(instance_id, |instance| {
                instance.topic(topic)?;
                let client =
                    instance.group(group)?.clients().iter().find(|c| c.client_id == client_id).cloned().ok_or_else(
                        || RocketMqError::ConsumerNotOnline(format!("client {client_id} of group {group}")),
                    )?;
                let message = instance
                    .store
                    .topic(topic)
                    .and_then(|log| log.find(msg_id))
                    .cloned()
                    .ok_or_else(|| RocketMqError::NoMessage(format!("message {msg_id} in topic {topic}")))?;
                instance.store.record(
                    group,
                    ConsumeEvent {
                        topic: topic.to_string(),
                        msg_id: msg_id.to_string(),
                        store_ms: message.store_ms,
                        at_ms: now,
                        outcome: Outcome::Consumed,
                    },
                );
                Ok((message, client))
            })?;
        self.touch(instance_id);
        Ok(pushed)
    }
}
