//! The Kafka model as journaled resources ([`crate::storage::Resources`]): `i/<instance>` (an instance's
//! attributes), `t/<instance>/<topic>` (a topic with its partitions' offsets), `g/<instance>/<group>` (a
//! consumer group with its committed offsets), `u/<instance>/<user>` and `acl/<instance>/<id>` (SASL users
//! and ACL rules, `security.rs`). Command methods mark the keys they change; reads and
//! rejected commands mark nothing.

use std::sync::Arc;

use serde_json::Value;

use super::security::journal;
use super::{group_key, topic_key, ConsumerGroup, InstanceMeta, KafkaInstance, KafkaModel, Slot, Topic};
use crate::storage::Resources;

/// A parsed resource key.
enum Key<'a> {
    Instance(&'a str),
    Topic(&'a str, &'a str),
    Group(&'a str, &'a str),
    /// `u/<instance>/<user>` (security.rs).
    User(&'a str, &'a str),
    /// `acl/<instance>/<id>` (security.rs).
    Acl(&'a str, &'a str),
}

fn parse(key: &str) -> Option<Key<'_>> {
    let (kind, rest) = key.split_once('/')?;
    match kind {
        "i" if !rest.is_empty() => Some(Key::Instance(rest)),
        "t" | "g" | "u" | "acl" => {
            // Instance ids never hold a `/`; resource names may, so split at the first one.
            let (instance, name) = rest.split_once('/')?;
            if instance.is_empty() || name.is_empty() {
                return None;
            }
            Some(match kind {
                "t" => Key::Topic(instance, name),
                "g" => Key::Group(instance, name),
                "u" => Key::User(instance, name),
                _ => Key::Acl(instance, name),
            })
        }
        _ => None,
    }
}

impl Resources for KafkaModel {
    fn dirty_len(&self) -> usize {
        self.dirty.lock().len()
    }

    fn take_dirty(&self) -> Option<Vec<String>> {
        Some(std::mem::take(&mut *self.dirty.lock()).into_iter().collect())
    }

    fn resource(&self, key: &str) -> Option<Value> {
        let slot = |id: &str| self.instances.read().get(id).cloned();
        match parse(key)? {
            Key::Instance(id) => serde_json::to_value(&slot(id)?.instance.read().meta).ok(),
            Key::Topic(id, name) => serde_json::to_value(slot(id)?.instance.read().topics.get(name)?).ok(),
            Key::Group(id, name) => serde_json::to_value(slot(id)?.instance.read().groups.get(name)?).ok(),
            Key::User(id, name) => journal::user(&slot(id)?.instance.read(), name),
            Key::Acl(id, rule) => journal::acl(&slot(id)?.instance.read(), rule),
        }
    }

    fn apply(&mut self, key: &str, value: Option<Value>) -> Result<(), String> {
        let parsed = parse(key).ok_or_else(|| format!("not a Kafka resource key: {key:?}"))?;
        let map = self.instances.get_mut();
        match parsed {
            Key::Instance(id) => match value {
                None => {
                    map.remove(id);
                }
                Some(v) => {
                    let meta: InstanceMeta = serde_json::from_value(v).map_err(|e| format!("{key}: {e}"))?;
                    if meta.id != id {
                        return Err(format!("{key}: holds instance {:?}", meta.id));
                    }
                    // The owner is fixed per slot, so a changed instance gets a new slot with its old topics.
                    let (topics, groups, users, acls) = match map.remove(id) {
                        Some(old) => {
                            let mut old = old.instance.write();
                            (
                                std::mem::take(&mut old.topics),
                                std::mem::take(&mut old.groups),
                                std::mem::take(&mut old.users),
                                std::mem::take(&mut old.acls),
                            )
                        }
                        None => Default::default(),
                    };
                    let mut instance = KafkaInstance::assemble(meta, topics, groups);
                    instance.users = users;
                    instance.acls = acls;
                    map.insert(id.to_string(), Slot::new(instance));
                }
            },
            Key::Topic(id, name) => {
                let Some(slot) = map.get(id).map(Arc::clone) else {
                    return match value {
                        None => Ok(()),
                        Some(_) => Err(format!("{key}: instance {id} does not exist")),
                    };
                };
                let mut i = slot.instance.write();
                if let Some(old) = i.topics.get(name) {
                    let n = old.partitions.len() as u64;
                    i.partition_total -= n;
                }
                match value {
                    None => {
                        i.topics.shift_remove(name);
                    }
                    Some(v) => {
                        let mut topic: Topic = serde_json::from_value(v).map_err(|e| format!("{key}: {e}"))?;
                        topic.migrate();
                        i.partition_total += topic.partitions.len() as u64;
                        // Replacing keeps the topic's place in creation order; a new topic goes last.
                        i.topics.insert(name.to_string(), topic);
                    }
                }
            }
            Key::User(id, name) | Key::Acl(id, name) => {
                let Some(slot) = map.get(id).map(Arc::clone) else {
                    return match value {
                        None => Ok(()),
                        Some(_) => Err(format!("{key}: instance {id} does not exist")),
                    };
                };
                let mut i = slot.instance.write();
                if key.starts_with("u/") {
                    journal::apply_user(&mut i, key, name, value)?;
                } else {
                    journal::apply_acl(&mut i, key, name, value)?;
                }
            }
            Key::Group(id, name) => {
                let Some(slot) = map.get(id).map(Arc::clone) else {
                    return match value {
                        None => Ok(()),
                        Some(_) => Err(format!("{key}: instance {id} does not exist")),
                    };
                };
                let mut i = slot.instance.write();
                match value {
                    None => {
                        i.groups.shift_remove(name);
                    }
                    Some(v) => {
                        let mut group: ConsumerGroup = serde_json::from_value(v).map_err(|e| format!("{key}: {e}"))?;
                        group.migrate();
                        i.groups.insert(name.to_string(), group);
                    }
                }
            }
        }
        Ok(())
    }
}

impl KafkaModel {
    /// Every resource key of the model, instances before what they own (for full snapshots and tests).
    pub fn resource_keys(&self) -> Vec<String> {
        let map = self.instances.read();
        let mut keys = Vec::new();
        for (id, slot) in map.iter() {
            let i = slot.instance.read();
            keys.push(format!("i/{id}"));
            keys.extend(i.topics.keys().map(|t| topic_key(id, t)));
            keys.extend(i.groups.keys().map(|g| group_key(id, g)));
            keys.extend(i.users.keys().map(|u| super::security::user_key(id, u)));
            keys.extend(i.acls.keys().map(|a| super::security::acl_key(id, a)));
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kafka::tests::{meta, new_topic, scope};
    use crate::engine::kafka::{KafkaError, Millis, NewTopic, OffsetCommit};

    fn json(model: &KafkaModel) -> Value {
        serde_json::to_value(model).unwrap()
    }

    fn populated() -> KafkaModel {
        let m = KafkaModel::default();
        let mut big = meta("ckafka-one");
        big.max_topics = 100;
        big.max_partitions = 1000;
        m.add_instance(big).unwrap();
        m.add_instance(meta("ckafka-two")).unwrap();
        m.create_topic(scope(), "ckafka-one", new_topic("b", 3)).unwrap();
        m.create_topic(scope(), "ckafka-one", new_topic("a", 2)).unwrap();
        m.create_topic(scope(), "ckafka-two", new_topic("z/y", 1)).unwrap();
        m.advance_offsets(scope(), "ckafka-one", "b", 2, 5).unwrap();
        let commit =
            OffsetCommit { group: "readers", topic: "b", partition: 2, offset: 3, produced_at: Some(Millis(7)) };
        m.commit_offset(scope(), "ckafka-one", commit).unwrap();
        m.create_group(scope(), "ckafka-two", "idle", "note", Vec::new()).unwrap();
        m
    }

    /// Applying every resource, instances first, rebuilds an equal model (order of topics included).
    #[test]
    fn apply_of_every_resource_reproduces_the_model() {
        let m = populated();
        let mut rebuilt = KafkaModel::default();
        for key in m.resource_keys() {
            rebuilt.apply(&key, m.resource(&key)).unwrap();
        }
        assert_eq!(json(&rebuilt), json(&m));
        rebuilt.read_instance(scope(), "ckafka-one", |i| assert_eq!(i.partition_count(), 5)).unwrap();
        assert!(rebuilt.take_dirty().unwrap().is_empty(), "recovery marks nothing");
    }

    /// Replaying the dirty keys of each step onto a copy keeps the copy equal, deletes included.
    #[test]
    fn journaling_dirty_keys_keeps_a_replica_equal() {
        let m = populated();
        let mut replica = KafkaModel::default();
        let sync = |m: &KafkaModel, replica: &mut KafkaModel| {
            for key in m.take_dirty().unwrap() {
                replica.apply(&key, m.resource(&key)).unwrap();
            }
        };
        sync(&m, &mut replica);
        assert_eq!(json(&replica), json(&m));
        m.delete_topic(scope(), "ckafka-one", "b").unwrap();
        m.grow_partitions(scope(), "ckafka-one", "a", 4).unwrap();
        m.delete_group(scope(), "ckafka-two", "idle").unwrap();
        sync(&m, &mut replica);
        assert_eq!(json(&replica), json(&m));
        m.remove_account("a");
        sync(&m, &mut replica);
        assert_eq!(json(&replica), json(&KafkaModel::default()));
    }

    /// Reads and rejected writes leave no dirty key.
    #[test]
    fn reads_and_rejected_writes_mark_nothing() {
        let m = populated();
        m.take_dirty();
        let before = m.changes();
        assert_eq!(
            m.create_topic(scope(), "ckafka-one", new_topic("a", 1)).unwrap_err(),
            KafkaError::TopicExists("a".into())
        );
        assert!(m.create_topic(scope(), "nope", NewTopic::default()).is_err());
        assert!(m.delete_group(scope(), "ckafka-one", "nope").is_err());
        m.read_instance(scope(), "ckafka-one", |i| i.topic_offsets("b").unwrap()).unwrap();
        let _ = m.instances_of(scope());
        assert!(m.resource("t/ckafka-one/a").is_some());
        assert_eq!(m.take_dirty().unwrap(), Vec::<String>::new());
        assert_eq!(m.changes(), before);
    }

    #[test]
    fn keys_name_what_changed() {
        let m = populated();
        m.take_dirty();
        m.commit_offset(
            scope(),
            "ckafka-one",
            OffsetCommit { group: "g", topic: "a", partition: 0, offset: 1, produced_at: None },
        )
        .unwrap();
        m.delete_topic(scope(), "ckafka-one", "a").unwrap();
        assert_eq!(m.take_dirty().unwrap(), vec!["g/ckafka-one/g", "t/ckafka-one/a"]);
        assert_eq!(m.resource("t/ckafka-one/a"), None);
        assert!(m.resource("x/y").is_none());
        let mut other = KafkaModel::default();
        assert!(other.apply("t/none/x", Some(serde_json::json!({}))).is_err());
        assert!(other.apply("bad", None).is_err());
        other.apply("t/none/x", None).unwrap();
    }
}
