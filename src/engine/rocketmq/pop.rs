//! Pop consumption and transactional half messages, the model side of the protocols that hand messages out
//! with a receipt handle (the MQ HTTP protocol, `src/rocketmq/http.rs`).
//!
//! A pop hands messages to a group through [`RocketMqModel::deliver`] (offsets advance, so the backlog the
//! Open API reports drops) and remembers each one under a receipt handle until its invisible time ends. An
//! acknowledgement within that time forgets it; a delivery whose time ran out counts as a failed consumption
//! ([`RocketMqModel::consume_failed`]): it is delivered again from the group's retry queue with one more
//! reconsume, and past the group's maximum it lands in the dead-letter queue.
//!
//! Ordered pops skip every queue that still has an unacknowledged delivery of the group, so the messages of
//! one sharding key (one queue) are handed out strictly one batch after another.
//!
//! Half messages of a transaction are kept here, outside the topic, until the producer commits (the message
//! is stored then and only then becomes visible) or rolls back (it is dropped). A producer that has not
//! decided by the check-immunity time sees the message again when it asks for half messages to check.
//!
//! Receipt handles are runtime state: a restart forgets them (the messages they covered were already
//! consumed by offset). Undecided half messages are also kept in the instance's message store (so with
//! `--data-dir` in its message log); after a restart they join the ledger again, due for a check at once.

use std::collections::{BTreeSet, HashMap};

use super::store::{HttpHalf, StoreEvent, TopicLog};
use super::{
    tag_matches, ConsumeEvent, Instance, Message, Millis, NewMessage, Outcome, Result, RocketMqError, RocketMqModel,
    Subscription,
};

/// Most receipt handles and half messages remembered at once (a bound on memory; the oldest go first).
const MAX_ENTRIES: usize = 100_000;

/// One delivery awaiting acknowledgement.
#[derive(Debug, Clone)]
struct Delivery {
    instance: String,
    group: String,
    topic: String,
    msg_id: String,
    queue_id: u32,
    /// When the message becomes visible again if not acknowledged.
    visible_at: Millis,
}

/// A transactional message waiting for its producer's decision.
#[derive(Debug, Clone)]
pub struct HalfMessage {
    pub instance: String,
    pub topic: String,
    /// The transactional producer group that may commit or roll back; None: any group of the instance (a
    /// producer that names its group only when it decides).
    pub group: Option<String>,
    /// The id reported to the producer when it sent the half message; a commit stores the message under it.
    pub msg_id: String,
    pub message: NewMessage,
    pub born_ms: Millis,
    /// When the producer may be asked to check the transaction.
    pub check_at: Millis,
    /// How many times the message was handed out for a check.
    pub checks: u32,
}

impl HalfMessage {
    /// Whether `group` may decide this message.
    fn decided_by(&self, group: &str) -> bool {
        self.group.as_deref().is_none_or(|g| g == group)
    }
}

/// Receipt handles and half messages (see the module docs).
#[derive(Debug, Default)]
pub struct PopLedger {
    deliveries: HashMap<String, Delivery>,
    half: HashMap<String, HalfMessage>,
}

/// Why an acknowledgement (or a transaction decision) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckError {
    /// No such handle for this group and topic (never issued, already acknowledged, or another group's).
    Unknown,
    /// The handle's invisible time is over: the message is redelivered (to a new handle).
    Expired,
}

fn new_handle() -> String {
    uuid::Uuid::new_v4().simple().to_string().to_uppercase()
}

impl PopLedger {
    fn bounded<T>(map: &mut HashMap<String, T>, visible: impl Fn(&T) -> Millis) {
        while map.len() >= MAX_ENTRIES {
            let oldest = map.iter().min_by_key(|(_, v)| visible(v)).map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
    }
}

impl RocketMqModel {
    /// Subscribes a group for a pop consumer: a topic the group does not subscribe yet starts at the head of
    /// each queue (the broker's answer to a group without an offset while the queue still holds its first
    /// message); an existing subscription only takes the new tag expression.
    fn subscribe_for_pop(&self, instance_id: &str, group: &str, topic: &str, expression: &str) -> Result<()> {
        let changed = self.with_id(instance_id, |i| {
            i.topic(topic)?;
            let queues = i.store.topic(topic).map_or(0, |t| t.queues.len());
            let g = i.group_mut(group)?;
            if g.subscriptions.get(topic).is_some_and(|s| s.expression == expression) {
                return Ok(false);
            }
            let version = g.subscriptions.get(topic).map_or(0, |s| s.version + 1).max(Millis::now().as_ms());
            g.subscriptions.insert(topic.to_string(), Subscription { expression: expression.to_string(), version });
            g.offsets.entry(topic.to_string()).or_insert_with(|| vec![0; queues]);
            Ok(true)
        })?;
        if changed {
            self.mark(super::group_key(instance_id, group));
        }
        Ok(())
    }

    /// Pops up to `max` messages of a topic for a group with a tag expression; each comes with a receipt
    /// handle valid for `invisible_ms`. Expired deliveries of the group are first counted as failures (and
    /// so delivered again from the retry queue). `ordered` skips queues with unacknowledged deliveries.
    pub fn pop(
        &self,
        instance_id: &str,
        group: &str,
        topic: &str,
        expression: &str,
        max: usize,
        invisible_ms: i64,
        ordered: bool,
    ) -> Result<Vec<(String, Message)>> {
        let now = Millis::now();
        self.expire_deliveries(instance_id, group, topic, now);
        self.subscribe_for_pop(instance_id, group, topic, expression)?;
        let blocked: BTreeSet<u32> = if ordered {
            self.pop
                .lock()
                .deliveries
                .values()
                .filter(|d| d.instance == instance_id && d.group == group && d.topic == topic)
                .map(|d| d.queue_id)
                .collect()
        } else {
            BTreeSet::new()
        };
        // A long poll asks many times a second; only a pop that may find something takes the write lock
        // (and marks the group changed).
        if !self.has_pending(instance_id, group, topic, now, &blocked)? {
            return Ok(Vec::new());
        }
        let messages = if ordered {
            self.deliver_queues(instance_id, group, topic, max, &blocked)?
        } else {
            self.deliver(instance_id, group, topic, max)?
        };
        let visible_at = Millis::from_ms(now.as_ms().saturating_add(invisible_ms));
        let mut ledger = self.pop.lock();
        PopLedger::bounded(&mut ledger.deliveries, |d| d.visible_at);
        Ok(messages
            .into_iter()
            .map(|m| {
                let handle = new_handle();
                ledger.deliveries.insert(
                    handle.clone(),
                    Delivery {
                        instance: instance_id.to_string(),
                        group: group.to_string(),
                        topic: topic.to_string(),
                        msg_id: m.msg_id.clone(),
                        queue_id: m.queue_id,
                        visible_at,
                    },
                );
                (handle, m)
            })
            .collect())
    }

    /// Whether the group has anything left on the topic outside the `blocked` queues: a retry, a message past
    /// its offset in some queue, or a timed message that came due.
    fn has_pending(
        &self,
        instance_id: &str,
        group: &str,
        topic: &str,
        now: Millis,
        blocked: &BTreeSet<u32>,
    ) -> Result<bool> {
        let handle = self.instance_by_id(instance_id)?;
        let instance = handle.read();
        let Some(log) = instance.store.topic(topic) else { return Ok(false) };
        if log.has_due(now) {
            return Ok(true);
        }
        let open = |q: u32| !blocked.contains(&q);
        if instance.store.group(group).is_some_and(|g| g.retry.iter().any(|m| m.topic == topic && open(m.queue_id))) {
            return Ok(true);
        }
        let offsets = instance.group(group)?.offsets.get(topic);
        Ok(log.ends().iter().enumerate().filter(|(q, _)| open(*q as u32)).any(|(q, end)| {
            let offset = offsets.and_then(|o| o.get(q)).copied().unwrap_or(0);
            offset < *end
        }))
    }

    /// Counts every delivery of the group whose invisible time ended as a failed consumption.
    fn expire_deliveries(&self, instance_id: &str, group: &str, topic: &str, now: Millis) {
        let expired: Vec<Delivery> = {
            let mut ledger = self.pop.lock();
            let keys: Vec<String> = ledger
                .deliveries
                .iter()
                .filter(|(_, d)| {
                    d.instance == instance_id && d.group == group && d.topic == topic && d.visible_at <= now
                })
                .map(|(k, _)| k.clone())
                .collect();
            keys.iter().filter_map(|k| ledger.deliveries.remove(k)).collect()
        };
        for d in expired {
            // The message or group may be gone by now; then there is nothing to redeliver.
            let _ = self.consume_failed(&d.instance, &d.group, &d.msg_id);
        }
    }

    /// Acknowledges one delivery of a group on a topic.
    pub fn ack(&self, instance_id: &str, group: &str, topic: &str, handle: &str) -> std::result::Result<(), AckError> {
        let mut ledger = self.pop.lock();
        let d = ledger.deliveries.get(handle).ok_or(AckError::Unknown)?;
        if d.instance != instance_id || d.group != group || d.topic != topic {
            return Err(AckError::Unknown);
        }
        if d.visible_at <= Millis::now() {
            return Err(AckError::Expired);
        }
        ledger.deliveries.remove(handle);
        Ok(())
    }

    /// Like [`RocketMqModel::deliver`], restricted to the queues not in `blocked` (ordered consumption).
    fn deliver_queues(
        &self,
        instance_id: &str,
        group: &str,
        topic: &str,
        max: usize,
        blocked: &BTreeSet<u32>,
    ) -> Result<Vec<Message>> {
        let now = Millis::now();
        let out = self.with_id(instance_id, |instance| {
            let readable = instance.topic(topic)?.readable();
            let group_ref = instance.group(group)?;
            let expression = group_ref
                .subscriptions
                .get(topic)
                .map(|s| s.expression.clone())
                .ok_or_else(|| RocketMqError::SubscriptionNotFound(group.to_string(), topic.to_string()))?;
            let read_enable = group_ref.read_enable;
            let Instance { groups, store, .. } = instance;
            store.settle_topic(topic, now);
            let group_ref = groups.get_mut(group).ok_or_else(|| RocketMqError::GroupNotFound(group.to_string()))?;
            let mut out: Vec<Message> = Vec::new();
            if !read_enable || !readable {
                return Ok(out);
            }
            let record = |m: &Message, outcome| ConsumeEvent {
                topic: m.topic.clone(),
                msg_id: m.msg_id.clone(),
                store_ms: m.store_ms,
                at_ms: now,
                outcome,
            };
            while out.len() < max {
                let Some((pos, m)) = store
                    .group(group)
                    .and_then(|g| {
                        g.retry.iter().enumerate().find(|(_, m)| m.topic == topic && !blocked.contains(&m.queue_id))
                    })
                    .map(|(p, m)| (p, m.clone()))
                else {
                    break;
                };
                store.exec(StoreEvent::RetryTake { group: group.to_string(), index: pos });
                store.record(group, record(&m, Outcome::Consumed));
                out.push(m);
            }
            let empty = TopicLog::default();
            let log = store.topic(topic).unwrap_or(&empty);
            let mut records = Vec::new();
            let mut offsets = group_ref.offsets.get(topic).cloned().unwrap_or_default();
            offsets.resize(log.queues.len(), 0);
            while out.len() < max {
                let next = offsets
                    .iter()
                    .enumerate()
                    .filter(|(q, _)| !blocked.contains(&(*q as u32)))
                    .filter_map(|(q, off)| log.message_at(q as u32, *off).map(|m| (q, m)))
                    .min_by_key(|(_, m)| m.commit_offset);
                let Some((q, m)) = next else { break };
                if let Some(off) = offsets.get_mut(q) {
                    *off += 1;
                }
                if tag_matches(&expression, m.tag.as_deref()) {
                    records.push(record(m, Outcome::Consumed));
                    out.push(m.clone());
                } else {
                    records.push(record(m, Outcome::Filtered));
                }
            }
            for r in records {
                store.record(group, r);
            }
            group_ref.offsets.insert(topic.to_string(), offsets);
            Ok(out)
        })?;
        self.mark(super::group_key(instance_id, group));
        Ok(out)
    }

    /// Keeps a transactional half message until its producer group decides; returns (message id, receipt
    /// handle). The topic must exist and accept writes now, as a commit later stores it there.
    pub fn prepare_half(
        &self,
        instance_id: &str,
        topic: &str,
        group: Option<&str>,
        message: NewMessage,
        check_after_ms: i64,
    ) -> Result<(String, String)> {
        {
            let handle = self.instance_by_id(instance_id)?;
            let instance = handle.read();
            if !instance.topic(topic)?.writable() {
                return Err(RocketMqError::Forbidden(topic.to_string(), "write"));
            }
            if let Some(group) = group {
                instance.group(group)?;
            }
        }
        if message.body.len() > super::messages::MAX_BODY_BYTES {
            return Err(super::invalid(
                super::Field::Body,
                format!("at most {} bytes", super::messages::MAX_BODY_BYTES),
            ));
        }
        let now = Millis::now();
        let msg_id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        // Kept in the message store too, so with `--data-dir` it survives a restart and is checked again.
        let kept = HttpHalf {
            topic: topic.to_string(),
            group: group.map(str::to_string),
            msg_id: msg_id.clone(),
            message: message.clone(),
            born_ms: now,
        };
        self.with_id(instance_id, |instance| {
            instance.store.exec(StoreEvent::HttpHalfPrepare { half: kept });
            Ok(())
        })?;
        self.touch(instance_id);
        let handle = new_handle();
        let mut ledger = self.pop.lock();
        PopLedger::bounded(&mut ledger.half, |h| h.check_at);
        ledger.half.insert(
            handle.clone(),
            HalfMessage {
                instance: instance_id.to_string(),
                topic: topic.to_string(),
                group: group.map(str::to_string),
                msg_id: msg_id.clone(),
                message,
                born_ms: now,
                check_at: Millis::from_ms(now.as_ms().saturating_add(check_after_ms)),
                checks: 0,
            },
        );
        Ok((msg_id, handle))
    }

    /// After a restart (or an import) the ledger is empty but the message store kept the undecided half
    /// messages: once per model they join the ledger, due for a check now.
    fn load_kept_halves(&self, now: Millis) {
        if self.http_halves_loaded.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return;
        }
        let cells: Vec<(String, std::sync::Arc<parking_lot::RwLock<Instance>>)> =
            self.instances.read().iter().map(|(id, e)| (id.clone(), e.cell.clone())).collect();
        let mut kept = Vec::new();
        for (id, cell) in cells {
            kept.extend(cell.read().store.http_halves.values().map(|h| (id.clone(), h.clone())));
        }
        let mut ledger = self.pop.lock();
        for (instance, h) in kept {
            if ledger.half.values().any(|l| l.msg_id == h.msg_id) {
                continue;
            }
            ledger.half.insert(
                new_handle(),
                HalfMessage {
                    instance,
                    topic: h.topic,
                    group: h.group,
                    msg_id: h.msg_id,
                    message: h.message,
                    born_ms: h.born_ms,
                    check_at: now,
                    checks: 0,
                },
            );
        }
    }

    /// Hands out up to `max` half messages of a producer group whose check time has come, each under a new
    /// receipt handle (the old one stops working); the next check comes `recheck_ms` later.
    pub fn pop_half(
        &self,
        instance_id: &str,
        topic: &str,
        group: &str,
        max: usize,
        recheck_ms: i64,
    ) -> Vec<(String, HalfMessage)> {
        let now = Millis::now();
        self.load_kept_halves(now);
        let mut ledger = self.pop.lock();
        let mut due: Vec<String> = ledger
            .half
            .iter()
            .filter(|(_, h)| h.instance == instance_id && h.topic == topic && h.decided_by(group) && h.check_at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        due.sort_by_key(|k| ledger.half.get(k).map(|h| h.born_ms));
        due.truncate(max);
        let mut out = Vec::with_capacity(due.len());
        for old in due {
            if let Some(mut h) = ledger.half.remove(&old) {
                h.checks += 1;
                h.check_at = Millis::from_ms(now.as_ms().saturating_add(recheck_ms));
                let handle = new_handle();
                ledger.half.insert(handle.clone(), h.clone());
                out.push((handle, h));
            }
        }
        out
    }

    /// Commits (stores the message under the id its half message had) or rolls back (drops it) a half
    /// message.
    pub fn end_half(
        &self,
        instance_id: &str,
        topic: &str,
        group: &str,
        handle: &str,
        commit: bool,
    ) -> std::result::Result<Option<Result<String>>, AckError> {
        let half = {
            let mut ledger = self.pop.lock();
            let h = ledger.half.get(handle).ok_or(AckError::Unknown)?;
            if h.instance != instance_id || h.topic != topic || !h.decided_by(group) {
                return Err(AckError::Unknown);
            }
            ledger.half.remove(handle).ok_or(AckError::Unknown)?
        };
        let end = StoreEvent::HttpHalfEnd { msg_id: half.msg_id.clone() };
        let ended = self.with_id(instance_id, |instance| {
            instance.store.exec(end);
            Ok(())
        });
        if ended.is_ok() {
            self.touch(instance_id);
        }
        if !commit {
            return Ok(None);
        }
        Ok(Some(self.send_as(instance_id, topic, half.message, Some(half.msg_id))))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::model_with_topic_and_group as setup;
    use super::*;

    #[test]
    fn a_new_pop_subscription_starts_at_the_head_and_acks_once() {
        let m = setup();
        m.send("I1", "t", NewMessage::new("a", "k", "1")).unwrap();
        let got = m.pop("I1", "GID_g", "t", "*", 16, 60_000, false).unwrap();
        assert_eq!(got.len(), 1);
        let handle = got[0].0.clone();
        assert_eq!(m.ack("I1", "GID_g", "other", &handle), Err(AckError::Unknown));
        assert_eq!(m.ack("I1", "GID_g", "t", &handle), Ok(()));
        assert_eq!(m.ack("I1", "GID_g", "t", &handle), Err(AckError::Unknown));
    }

    #[test]
    fn an_empty_pop_changes_nothing() {
        let m = setup();
        assert!(m.pop("I1", "GID_g", "t", "*", 16, 60_000, false).unwrap().is_empty());
        let before = m.change_count();
        assert!(m.pop("I1", "GID_g", "t", "*", 16, 60_000, false).unwrap().is_empty());
        assert!(m.pop("I1", "GID_g", "t", "*", 16, 60_000, true).unwrap().is_empty());
        assert_eq!(m.change_count(), before, "a long poll's empty rounds write nothing");
        for body in ["1", "2"] {
            let msg = NewMessage { sharding_key: Some("k".into()), ..NewMessage::new("a", "", body) };
            m.send("I1", "t", msg).unwrap();
        }
        assert_eq!(m.pop("I1", "GID_g", "t", "*", 1, 60_000, true).unwrap().len(), 1);
        let before = m.change_count();
        assert!(m.pop("I1", "GID_g", "t", "*", 1, 60_000, true).unwrap().is_empty(), "the key's queue is blocked");
        assert_eq!(m.change_count(), before, "nor do rounds that find only blocked queues");
    }

    #[test]
    fn an_expired_delivery_comes_back_with_one_more_reconsume() {
        let m = setup();
        let id = m.send("I1", "t", NewMessage::new("a", "k", "1")).unwrap();
        let first = m.pop("I1", "GID_g", "t", "*", 16, 0, false).unwrap();
        assert_eq!(m.ack("I1", "GID_g", "t", &first[0].0), Err(AckError::Expired));
        let again = m.pop("I1", "GID_g", "t", "*", 16, 60_000, false).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].1.msg_id, id);
        assert_eq!(again[0].1.reconsume_times, 1);
    }

    #[test]
    fn ordered_pops_block_a_queue_until_its_delivery_is_acked() {
        let m = setup();
        for body in ["1", "2"] {
            let msg = NewMessage { sharding_key: Some("order-1".into()), ..NewMessage::new("a", "", body) };
            m.send("I1", "t", msg).unwrap();
        }
        let first = m.pop("I1", "GID_g", "t", "*", 1, 60_000, true).unwrap();
        assert_eq!(first[0].1.body, b"1");
        assert!(m.pop("I1", "GID_g", "t", "*", 1, 60_000, true).unwrap().is_empty());
        m.ack("I1", "GID_g", "t", &first[0].0).unwrap();
        assert_eq!(m.pop("I1", "GID_g", "t", "*", 1, 60_000, true).unwrap()[0].1.body, b"2");
    }

    #[test]
    fn half_messages_stay_invisible_until_committed() {
        let m = setup();
        let (_, h1) = m.prepare_half("I1", "t", None, NewMessage::new("a", "", "yes"), 0).unwrap();
        let (_, h2) = m.prepare_half("I1", "t", Some("GID_g"), NewMessage::new("a", "", "no"), 60_000).unwrap();
        assert_eq!(m.instance_by_id("I1").unwrap().read().message_counts("t").unwrap(), (0, 0));
        let checks = m.pop_half("I1", "t", "GID_g", 16, 60_000);
        assert_eq!(checks.len(), 1, "only the message past its check time");
        assert_eq!(m.end_half("I1", "t", "GID_g", &h1, true), Err(AckError::Unknown), "replaced by the check");
        let committed = m.end_half("I1", "t", "GID_g", &checks[0].0, true).unwrap().unwrap().unwrap();
        assert_eq!(committed, checks[0].1.msg_id, "the committed message keeps the half message's id");
        m.instance_by_id("I1").unwrap().read().message_by_id("t", &committed).unwrap();
        assert_eq!(m.end_half("I1", "t", "GID_g", &h2, false), Ok(None));
        assert_eq!(m.instance_by_id("I1").unwrap().read().message_counts("t").unwrap(), (0, 1));
    }
}
