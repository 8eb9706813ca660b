//! The model side of the RocketMQ 4.x TCP (remoting) protocol, `src/rocketmq/remoting`: pulls by queue and
//! offset, consumer offsets the clients commit, the group's retry topic (`%RETRY%<group>`, one queue) that
//! sent-back messages go through on a back-off schedule, and look-ups by commit-log offset.
//!
//! Queue offsets are the store's own (index in the consume queue), so an offset a client commits is the one
//! the Open API's accumulation and `resetOffset` read and write. A retry copy keeps the message id (the
//! producer's `UNIQ_KEY`) and original topic, takes a fresh commit-log offset (a client sends it back by that
//! offset again) and becomes visible at its `store_ms`, as the broker writes it into the retry topic only
//! when its delay has passed.

use std::sync::Arc;

use parking_lot::RwLock;

use super::messages::event;
use super::store::StoreEvent;
use super::{
    ConsumerClient, Instance, Message, Millis, Outcome, Result, RocketMqError, RocketMqModel,
    DEFAULT_MAX_RECONSUME_TIMES,
};

/// Prefix of a group's retry topic.
pub const RETRY_PREFIX: &str = "%RETRY%";
/// Prefix of a group's dead-letter topic.
pub const DLQ_PREFIX: &str = "%DLQ%";
/// Most messages one pull scans past a tag filter before answering "nothing matched, pull again".
const MAX_SCAN: usize = 2048;

/// The retry topic of a group.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_PREFIX}{group}")
}

/// What a pull found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    /// Messages matched (the list is not empty).
    Found,
    /// The offset is the queue's end.
    NoNewMessage,
    /// Messages were scanned but the tag expression selected none; pull again from `next_offset`.
    NoMatchedMessage,
    /// The offset lies outside the queue; start again from `next_offset`.
    OffsetMoved,
}

/// The answer to a pull: messages in offset order and the offsets a client needs next.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub status: PullStatus,
    pub messages: Vec<Message>,
    pub next_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
}

/// What became of a message a consumer sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentBack {
    /// Queued in the retry topic, visible again at this time, with this many reconsumes.
    Retry { due: Millis, reconsume_times: u32 },
    /// Past the maximum reconsume times (or asked for): in the group's dead-letter queue.
    DeadLetter,
}

impl Instance {
    /// The visible part of a group's retry queue: entries are due at their `store_ms`, in offset order.
    fn retry_end(&self, group: &str, now: Millis) -> i64 {
        let Some(log) = self.store.group(group) else { return 0 };
        log.retry_queue.iter().take_while(|m| m.store_ms <= now).count() as i64
    }

    fn find_by_commit_offset(&self, commit_offset: i64) -> Option<&Message> {
        let in_topics = self.store.topics.values().flat_map(|t| t.all_messages());
        let in_groups = self.store.groups.values().flat_map(|g| g.retry_queue.iter().chain(g.dead_letters.iter()));
        in_topics.chain(in_groups).find(|m| m.commit_offset == commit_offset)
    }

    /// Queue count of a topic, or 1 for a group's retry topic.
    pub fn queue_count_of(&self, topic: &str) -> Result<u32> {
        if let Some(group) = topic.strip_prefix(RETRY_PREFIX) {
            self.group(group)?;
            return Ok(1);
        }
        Ok(self.store.topic(topic).map_or(0, |t| t.queues.len() as u32).max(self.topic(topic)?.queue_count()))
    }

    /// The (min, max) offsets of a queue (max: the next offset to be written).
    pub fn queue_offsets(&self, topic: &str, queue_id: u32) -> Result<(i64, i64)> {
        if let Some(group) = topic.strip_prefix(RETRY_PREFIX) {
            self.group(group)?;
            return Ok((0, self.retry_end(group, Millis::now())));
        }
        self.topic(topic)?;
        let end = self.store.topic(topic).and_then(|t| t.queues.get(queue_id as usize)).map_or(0, |q| {
            use super::store::QueueLog;
            q.end()
        });
        Ok((0, end))
    }

    /// The first offset of a queue whose message was stored at or after `timestamp` (the end if none).
    pub fn offset_by_time(&self, topic: &str, queue_id: u32, timestamp: Millis) -> Result<i64> {
        use super::store::QueueLog;
        self.topic(topic)?;
        let Some(q) = self.store.topic(topic).and_then(|t| t.queues.get(queue_id as usize)) else { return Ok(0) };
        Ok(q.iter().position(|m| m.store_ms >= timestamp).map_or(q.end(), |p| p as i64))
    }

    /// The store time of a queue's first message (0 when empty).
    pub fn earliest_store_time(&self, topic: &str, queue_id: u32) -> Result<Millis> {
        use super::store::QueueLog;
        self.topic(topic)?;
        Ok(self
            .store
            .topic(topic)
            .and_then(|t| t.queues.get(queue_id as usize))
            .and_then(|q| q.get(0))
            .map_or(Millis::default(), |m| m.store_ms))
    }

    /// A message by its commit-log offset (topic queues, timed messages, retry and dead-letter queues).
    pub fn message_by_commit_offset(&self, commit_offset: i64) -> Result<Message> {
        self.find_by_commit_offset(commit_offset)
            .cloned()
            .ok_or_else(|| RocketMqError::NoMessage(format!("commit-log offset {commit_offset}")))
    }

    /// The messages of a topic carrying `key` stored in `[begin, end]`, at most `max`.
    pub fn messages_by_key_between(
        &self,
        topic: &str,
        key: &str,
        begin: Millis,
        end: Millis,
        max: usize,
    ) -> Vec<Message> {
        let Some(log) = self.store.topic(topic) else { return Vec::new() };
        log.all_messages()
            .filter(|m| m.keys.iter().any(|k| k == key) && (begin..=end).contains(&m.store_ms))
            .take(max)
            .cloned()
            .collect()
    }

    /// A group's stored offset on a queue (None: the group never consumed it).
    pub fn consumer_offset(&self, group: &str, topic: &str, queue_id: u32) -> Result<Option<i64>> {
        let g = self.group(group)?;
        Ok(g.offsets.get(topic).and_then(|o| o.get(queue_id as usize)).copied())
    }

    /// The client ids of a group's online consumers, sorted.
    pub fn consumer_ids(&self, group: &str) -> Result<Vec<String>> {
        let mut ids: Vec<String> = self.group(group)?.clients.iter().map(|c| c.client_id.clone()).collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}

/// Puts a dead letter into the group's retry queue, due now (see `resend_dead_letter`).
pub(super) fn resend_to_retry_queue(
    instance: &mut Instance,
    group: &str,
    msg_id: &str,
    commit_log: &std::sync::atomic::AtomicI64,
) -> Result<()> {
    let glog = instance.group_log(group);
    let mut copy = glog
        .dead_letters
        .iter()
        .rev()
        .find(|m| m.msg_id == msg_id)
        .cloned()
        .ok_or_else(|| RocketMqError::NoMessage(format!("dead letter {msg_id} of group {group}")))?;
    copy.queue_offset = glog.retry_queue.len() as i64;
    copy.commit_offset = commit_log.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    copy.store_ms = Millis::now();
    instance.store.exec(StoreEvent::RetryQueuePush { group: group.to_string(), message: copy });
    Ok(())
}

impl RocketMqModel {
    /// Pulls up to `max` messages of one queue from `offset` for a group: a topic's queue, or the group's
    /// retry topic (`%RETRY%<group>`, queue 0). Messages whose tag `expression` does not select are skipped
    /// (and recorded as filtered); delivered ones are recorded as consumed. Offsets are not moved: the
    /// client commits them.
    #[allow(clippy::too_many_arguments)]
    pub fn pull(
        &self,
        instance_id: &str,
        group: &str,
        topic: &str,
        queue_id: u32,
        offset: i64,
        max: usize,
        expression: &str,
    ) -> Result<Pulled> {
        let now = Millis::now();
        let (events, pulled) = {
            let handle = self.instance_by_id(instance_id)?;
            let instance = handle.read();
            instance.group(group)?;
            let retry = topic.strip_prefix(RETRY_PREFIX);
            if let Some(g) = retry {
                if g != group {
                    return Err(RocketMqError::SubscriptionNotFound(group.to_string(), topic.to_string()));
                }
            } else if !instance.topic(topic)?.readable() {
                return Err(RocketMqError::Forbidden(topic.to_string(), "read"));
            }
            // A slice of the queue, so a pull costs what it returns, not the queue's length.
            let queue: &[Message] = match retry {
                Some(g) => {
                    let end = instance.retry_end(g, now) as usize;
                    instance.store.group(g).map_or(&[][..], |l| &l.retry_queue[..end.min(l.retry_queue.len())])
                }
                None => {
                    if instance.has_due() {
                        // Timed messages come due under the write lock below; the pull sees them next time.
                        drop(instance);
                        self.settle_due(instance_id)?;
                        return self.pull(instance_id, group, topic, queue_id, offset, max, expression);
                    }
                    match instance.store.topic(topic).and_then(|t| t.queues.get(queue_id as usize)) {
                        Some(q) => {
                            use super::store::QueueLog;
                            q.iter().as_slice()
                        }
                        None => &[],
                    }
                }
            };
            let end = queue.len() as i64;
            let mut pulled = Pulled {
                status: PullStatus::NoNewMessage,
                messages: Vec::new(),
                next_offset: offset,
                min_offset: 0,
                max_offset: end,
            };
            if offset < 0 || offset > end {
                pulled.status = PullStatus::OffsetMoved;
                pulled.next_offset = offset.clamp(0, end);
                return Ok(pulled);
            }
            let mut events = Vec::new();
            let mut next = offset;
            for m in queue[offset as usize..].iter().take(MAX_SCAN) {
                next += 1;
                if super::tag_matches(expression, m.tag.as_deref()) {
                    events.push(event(m, now, Outcome::Consumed));
                    pulled.messages.push(m.clone());
                    if pulled.messages.len() >= max {
                        break;
                    }
                } else {
                    events.push(event(m, now, Outcome::Filtered));
                }
            }
            pulled.next_offset = next;
            pulled.status = if !pulled.messages.is_empty() {
                PullStatus::Found
            } else if next > offset {
                PullStatus::NoMatchedMessage
            } else {
                PullStatus::NoNewMessage
            };
            (events, pulled)
        };
        if !events.is_empty() {
            self.with_id(instance_id, |instance| {
                for e in events {
                    instance.store.record(group, e);
                }
                Ok(())
            })?;
            self.touch(instance_id);
        }
        Ok(pulled)
    }

    /// Stores a group's consumer offset on a queue (UPDATE_CONSUMER_OFFSET, or a pull's commit flag).
    pub fn commit_consumer_offset(
        &self,
        instance_id: &str,
        group: &str,
        topic: &str,
        queue_id: u32,
        offset: i64,
    ) -> Result<()> {
        let changed = self.with_id(instance_id, |instance| {
            let queues = instance.queue_count_of(topic)? as usize;
            if queue_id as usize >= queues {
                return Err(super::invalid(super::Field::Topic, format!("queue {queue_id} does not exist")));
            }
            let g = instance.group_mut(group)?;
            let offsets = g.offsets.entry(topic.to_string()).or_default();
            offsets.resize(offsets.len().max(queues), 0);
            let slot = &mut offsets[queue_id as usize];
            let changed = *slot != offset;
            *slot = offset;
            Ok(changed)
        })?;
        if changed {
            self.mark(super::group_key(instance_id, group));
        }
        Ok(())
    }

    /// A TCP consumer's heartbeat: the client comes (or stays) online for the group with the subscriptions
    /// it declares. Retry-topic subscriptions and topics the instance lacks are skipped; the group's retry
    /// topic gets an offset (0) the first time, which marks the group as consuming over TCP.
    pub fn connect_tcp_consumer(&self, instance_id: &str, group: &str, mut client: ConsumerClient) -> Result<()> {
        let changed = self.with_id(instance_id, |i| {
            client.subscriptions.retain(|t, _| !t.starts_with(RETRY_PREFIX) && i.has_topic(t));
            let ends: Vec<(String, Vec<i64>)> =
                client.subscriptions.keys().map(|t| (t.clone(), i.topic_log_ends(t))).collect();
            let g = i.group_mut(group)?;
            let known = g.clients.iter().any(|c| {
                c.client_id == client.client_id
                    && c.subscriptions == client.subscriptions
                    && c.message_model == client.message_model
            });
            if known {
                // A plain heartbeat: only the last-seen time moves (runtime facts, not worth a journal record).
                for c in g.clients.iter_mut().filter(|c| c.client_id == client.client_id) {
                    c.last_seen_ms = client.last_seen_ms;
                }
                return Ok(false);
            }
            for (topic, ends) in ends {
                let expression = client.subscriptions.get(&topic).cloned().unwrap_or_default();
                g.subscribe(&topic, ends, &expression);
            }
            g.offsets.entry(retry_topic(group)).or_insert_with(|| vec![0]);
            g.message_model = client.message_model;
            g.clients.retain(|c| c.client_id != client.client_id);
            g.clients.push(client);
            Ok(true)
        })?;
        if changed {
            self.mark(super::group_key(instance_id, group));
        }
        Ok(())
    }

    /// A consumer sent a message back (CONSUMER_SEND_MSG_BACK): with one more reconsume it goes to the
    /// group's retry topic, due after `delay_ms(reconsume_times)`; past the group's maximum reconsume times
    /// (or with `to_dead_letter`) it goes to the group's dead-letter queue.
    pub fn send_back(
        &self,
        instance_id: &str,
        group: &str,
        commit_offset: i64,
        to_dead_letter: bool,
        delay_ms: impl Fn(u32) -> i64,
    ) -> Result<SentBack> {
        let now = Millis::now();
        let out = self.with_id(instance_id, |instance| {
            let max = instance.group(group)?.max_reconsume_times();
            let max = if max == 0 && to_dead_letter { DEFAULT_MAX_RECONSUME_TIMES } else { max };
            let original = instance.message_by_commit_offset(commit_offset)?;
            let attempts = original.reconsume_times + 1;
            let fresh = self.commit_log.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            instance.store.record(group, event(&original, now, Outcome::Failed));
            let (dead_len, retry_len, last_due) = {
                let glog = instance.group_log(group);
                (glog.dead_letters.len(), glog.retry_queue.len(), glog.retry_queue.last().map(|m| m.store_ms))
            };
            let store = &mut instance.store;
            let mut copy = original;
            copy.commit_offset = fresh;
            let (group, msg_id) = (group.to_string(), copy.msg_id.clone());
            if to_dead_letter || attempts > max {
                store.exec(StoreEvent::Failures { group: group.clone(), msg_id, attempts: None });
                copy.reconsume_times = attempts.min(max.max(1));
                copy.store_ms = now;
                copy.queue_offset = dead_len as i64;
                store.exec(StoreEvent::DeadLetter { group, message: copy });
                return Ok(SentBack::DeadLetter);
            }
            store.exec(StoreEvent::Failures { group: group.clone(), msg_id, attempts: Some(attempts) });
            let due = Millis::from_ms(now.as_ms().saturating_add(delay_ms(attempts).max(0)));
            // The retry queue stays ordered by due time, so a later, shorter delay waits for earlier entries.
            let due = last_due.map_or(due, |last| due.max(last));
            copy.reconsume_times = attempts;
            copy.store_ms = due;
            copy.queue_offset = retry_len as i64;
            store.exec(StoreEvent::RetryQueuePush { group, message: copy });
            Ok(SentBack::Retry { due, reconsume_times: attempts })
        })?;
        self.touch(instance_id);
        Ok(out)
    }
}

/// Resets remembered for the TCP data plane at most (without one listening, nobody drains them).
const MAX_RESET_NOTICES: usize = 1000;

/// A group's offsets on a topic were reset (Open API `consumer/resetOffset`, ONS `OnsConsumerResetOffset`):
/// what the broker tells the group's connected consumers, as RocketMQ's broker does with
/// RESET_CONSUMER_CLIENT_OFFSET.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetNotice {
    pub instance: String,
    pub group: String,
    pub topic: String,
    /// The new offset of each queue, by queue id.
    pub offsets: Vec<i64>,
}

impl RocketMqModel {
    pub(super) fn notify_reset(&self, notice: ResetNotice) {
        let mut notices = self.reset_notices.lock();
        if notices.len() >= MAX_RESET_NOTICES {
            notices.pop_front();
        }
        notices.push_back(notice);
    }

    /// Drains the offset resets not yet announced to running consumers, oldest first.
    pub fn take_reset_notices(&self) -> Vec<ResetNotice> {
        self.reset_notices.lock().drain(..).collect()
    }

    /// Keeps a TCP transactional half message until its producer decides (in the instance's message store,
    /// so it survives a restart with `--data-dir` and is checked back after it).
    pub fn store_half(&self, instance_id: &str, half: super::PreparedHalf) -> Result<()> {
        self.with_id(instance_id, |instance| {
            instance.topic(&half.topic)?;
            instance.store.exec(StoreEvent::HalfPrepare { half });
            Ok(())
        })?;
        self.touch(instance_id);
        Ok(())
    }

    /// Forgets a half message (committed, rolled back or given up); false when it was not kept.
    pub fn forget_half(&self, instance_id: &str, id: i64) -> bool {
        let forgot = self
            .with_id(instance_id, |instance| {
                let kept = instance.store.halves.contains_key(&id);
                if kept {
                    instance.store.exec(StoreEvent::HalfEnd { id });
                }
                Ok(kept)
            })
            .unwrap_or(false);
        if forgot {
            self.touch(instance_id);
        }
        forgot
    }

    /// Every kept half message: (instance id, half), for the broker to check back after a restart.
    pub fn stored_halves(&self) -> Vec<(String, super::PreparedHalf)> {
        let cells: Vec<(String, Arc<RwLock<Instance>>)> =
            self.instances.read().iter().map(|(id, e)| (id.clone(), e.cell.clone())).collect();
        let mut out = Vec::new();
        for (id, cell) in cells {
            out.extend(cell.read().store.halves.values().map(|h| (id.clone(), h.clone())));
        }
        out
    }
}

impl Instance {
    fn topic_log_ends(&self, topic: &str) -> Vec<i64> {
        self.store.topic(topic).map(|t| t.ends()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::model_with_topic_and_group as setup;
    use super::*;
    use crate::engine::rocketmq::NewMessage;

    #[test]
    fn pulls_filter_by_tag_and_report_offsets() {
        let m = setup();
        for tag in ["a", "b", "a"] {
            let msg = NewMessage { queue_id: Some(2), ..NewMessage::new(tag, "", tag) };
            m.send("I1", "t", msg).unwrap();
        }
        let p = m.pull("I1", "GID_g", "t", 2, 0, 32, "a").unwrap();
        assert_eq!(p.status, PullStatus::Found);
        assert_eq!(p.messages.iter().map(|m| m.queue_offset).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!((p.next_offset, p.max_offset), (3, 3));
        assert_eq!(m.pull("I1", "GID_g", "t", 2, 3, 32, "*").unwrap().status, PullStatus::NoNewMessage);
        assert_eq!(m.pull("I1", "GID_g", "t", 2, 9, 32, "*").unwrap().status, PullStatus::OffsetMoved);
        assert_eq!(m.pull("I1", "GID_g", "t", 2, 1, 1, "a").unwrap().messages[0].queue_offset, 2);
        assert_eq!(m.pull("I1", "GID_g", "t", 2, 1, 32, "c").unwrap().status, PullStatus::NoMatchedMessage);
    }

    #[test]
    fn sent_back_messages_retry_then_die() {
        let m = setup();
        m.set_max_reconsume_times("a", "mq-private", "I1", "GID_g", 1).unwrap();
        let stored = m.send_stored("I1", "t", NewMessage::new("a", "k", "x"), Some("UNIQ1".into())).unwrap();
        let r = m.send_back("I1", "GID_g", stored.commit_offset, false, |_| 0).unwrap();
        assert!(matches!(r, SentBack::Retry { reconsume_times: 1, .. }));
        let p = m.pull("I1", "GID_g", "%RETRY%GID_g", 0, 0, 32, "*").unwrap();
        assert_eq!(p.messages.len(), 1);
        assert_eq!((p.messages[0].msg_id.as_str(), p.messages[0].topic.as_str()), ("UNIQ1", "t"));
        let again = p.messages[0].commit_offset;
        assert_eq!(m.send_back("I1", "GID_g", again, false, |_| 0).unwrap(), SentBack::DeadLetter);
        let i = m.instance_by_id("I1").unwrap();
        assert_eq!(i.read().dead_letter_by_id("GID_g", "UNIQ1").unwrap().body, b"x");
    }
}
