//! Read-side helpers on the Kafka model that the Alibaba facade needs (newest-first listings, per-topic
//! offset tables, consumed-message timestamps). Everything is derived from partitions, records and commits.

use super::kafka::{ConsumerGroup, KafkaError, KafkaInstance, Partition, Topic};

/// One partition's offsets, as a topic-status table row reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionOffsets {
    pub partition: u32,
    pub min_offset: i64,
    pub max_offset: i64,
    /// Unix ms of the last append, 0 when nothing was ever written.
    pub last_update_ms: i64,
}

/// A topic's offset table plus its totals.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicOffsets {
    pub partitions: Vec<PartitionOffsets>,
    /// Messages held: the sum over partitions of `max - min`.
    pub total_count: i64,
    /// The latest `last_update_ms` of any partition.
    pub last_update_ms: i64,
}

impl Partition {
    /// When the record at `offset` was written, if the partition still holds it.
    pub fn record_timestamp(&self, offset: i64) -> Option<i64> {
        // Records are appended with consecutive offsets, so a binary search finds one without a scan.
        self.records
            .binary_search_by_key(&offset, |r| r.offset)
            .ok()
            .and_then(|i| self.records.get(i))
            .map(|r| r.timestamp_ms)
    }
}

impl KafkaInstance {
    /// Topics, most recently created first: the creation-ordered map walked backwards, so a page costs
    /// O(page), not a sort of every topic.
    pub fn topics_newest_first(&self) -> impl DoubleEndedIterator<Item = &Topic> + ExactSizeIterator {
        self.topics.values().rev()
    }

    /// Consumer groups, most recently created first.
    pub fn groups_newest_first(&self) -> impl DoubleEndedIterator<Item = &ConsumerGroup> + ExactSizeIterator {
        self.groups.values().rev()
    }

    /// Per-partition log start / end offsets and last write time of a topic.
    pub fn topic_offsets(&self, topic: &str) -> Result<TopicOffsets, KafkaError> {
        let t = self.topic(topic)?;
        let partitions: Vec<PartitionOffsets> = t
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| PartitionOffsets {
                partition: i as u32,
                min_offset: p.log_start_offset,
                max_offset: p.high_watermark,
                last_update_ms: p.last_update_ms,
            })
            .collect();
        let total_count = partitions.iter().map(|p| (p.max_offset - p.min_offset).max(0)).sum();
        let last_update_ms = partitions.iter().map(|p| p.last_update_ms).max().unwrap_or(0);
        Ok(TopicOffsets { partitions, total_count, last_update_ms })
    }

    /// The existing topics a group has committed offsets on, in name order.
    pub fn group_topics(&self, group: &str) -> Result<Vec<&str>, KafkaError> {
        let g = self.group(group)?;
        Ok(g.offsets.keys().filter(|t| self.topics.contains_key(*t)).map(String::as_str).collect())
    }

    /// When the last message a group consumed from a partition was produced: the record just below the
    /// committed offset. Falls back to the commit time when retention dropped that record, 0 before any commit.
    pub fn consumed_timestamp(&self, group: &str, topic: &str, partition: u32) -> i64 {
        let committed =
            self.groups.get(group).and_then(|g| g.offsets.get(topic)).and_then(|m| m.get(&partition)).copied();
        let Some(committed) = committed else { return 0 };
        if committed.offset <= 0 {
            return 0;
        }
        self.topics
            .get(topic)
            .and_then(|t| t.partitions.get(partition as usize))
            .and_then(|p| p.record_timestamp(committed.offset - 1))
            .unwrap_or(committed.timestamp_ms)
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::engine::kafka::NewTopic;
    use crate::engine::Cloud;

    fn instance() -> KafkaInstance {
        KafkaInstance {
            id: "alikafka_pre-cn-test0001".into(),
            cloud: Cloud::Alibaba,
            region: "cn-hangzhou".into(),
            ..crate::engine::kafka::tests::instance()
        }
    }

    #[test]
    fn offsets_and_consumed_timestamps_follow_the_log() {
        let mut i = instance();
        i.create_topic(NewTopic {
            id: "t".into(),
            name: "t".into(),
            partitions: 2,
            replica_num: 3,
            ..NewTopic::default()
        })
        .unwrap();
        let empty = i.topic_offsets("t").unwrap();
        assert_eq!((empty.total_count, empty.last_update_ms, empty.partitions.len()), (0, 0, 2));
        i.append("t", 1, vec![(None, Some(b"x".to_vec())); 5]).unwrap();
        let after = i.topic_offsets("t").unwrap();
        assert_eq!(after.total_count, 5);
        assert_eq!(after.partitions[1].max_offset, 5);
        assert!(after.last_update_ms > 0);
        assert_eq!(i.consumed_timestamp("g", "t", 1), 0);
        i.commit_offset("g", "t", 1, 3).unwrap();
        let produced = i.topic("t").unwrap().partitions[1].records[2].timestamp_ms;
        assert_eq!(i.consumed_timestamp("g", "t", 1), produced);
        assert_eq!(i.group_topics("g").unwrap(), vec!["t"]);
        assert!(matches!(i.group_topics("nope"), Err(KafkaError::GroupNotFound(_))));
    }
}
