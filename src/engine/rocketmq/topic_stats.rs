//! Topic statistics the ONS OpenAPI reports (OnsTopicStatus): how many messages a topic stores and when the
//! newest was stored, read from the instance's message store.

use super::{Instance, Millis, Result};

/// A topic's stored messages: how many (queued and timed) and the store time of the newest (0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicStats {
    pub total_count: usize,
    pub last_store: Millis,
}

impl Instance {
    /// The statistics of one topic; TopicNotFound when the instance has no such topic.
    pub fn topic_stats(&self, topic: &str) -> Result<TopicStats> {
        self.topic(topic)?;
        let Some(log) = self.store.topic(topic) else {
            return Ok(TopicStats { total_count: 0, last_store: Millis::default() });
        };
        let (total_count, last_store) =
            log.all_messages().fold((0usize, Millis::default()), |(n, last), m| (n + 1, last.max(m.store_ms)));
        Ok(TopicStats { total_count, last_store })
    }
}
