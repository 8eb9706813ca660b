//! Resource tags (key → value) on instances, topics and groups, and a group's client protocol (TCP or
//! HTTP). Facades own the wire rules (ONS's key and value syntax, its `ResourceType` names); the model keeps
//! the tags with their resources (durable under the resource's own key) and the one rule every tag service
//! shares: at most [`MAX_TAGS_PER_RESOURCE`] tags on one resource.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::resources::{group_key, instance_key, topic_key};
use super::{Group, Instance, Result, RocketMqError, RocketMqModel, Topic};

/// A resource's tags, by key.
pub type Tags = BTreeMap<String, String>;

/// Most tags one resource carries (Alibaba's tag service: "每个资源最多可绑定20个标签").
pub const MAX_TAGS_PER_RESOURCE: usize = 20;

/// The protocol a group's consumers speak (ONS `GroupType`): TCP clients, or the HTTP data plane.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum GroupType {
    #[default]
    Tcp,
    Http,
}

impl GroupType {
    /// The wire name: `tcp` or `http`.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::Tcp => "tcp",
            GroupType::Http => "http",
        }
    }

    /// Whether this is the default (`tcp`): stored documents leave it out.
    pub fn is_tcp(&self) -> bool {
        *self == GroupType::Tcp
    }
}

/// A taggable resource: an instance, or a topic or group of an instance (instance id, name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagTarget {
    Instance(String),
    Topic(String, String),
    Group(String, String),
}

impl TagTarget {
    fn instance_id(&self) -> &str {
        match self {
            TagTarget::Instance(i) | TagTarget::Topic(i, _) | TagTarget::Group(i, _) => i,
        }
    }

    fn key(&self) -> String {
        match self {
            TagTarget::Instance(i) => instance_key(i),
            TagTarget::Topic(i, t) => topic_key(i, t),
            TagTarget::Group(i, g) => group_key(i, g),
        }
    }
}

/// Why tags could not be changed.
#[derive(Debug, Clone, PartialEq)]
pub enum TagError {
    /// The instance, topic or group is missing (or not the caller's).
    Model(RocketMqError),
    /// The change would leave a resource with more than [`MAX_TAGS_PER_RESOURCE`] tags (which resource).
    TooMany(String),
}

impl From<RocketMqError> for TagError {
    fn from(e: RocketMqError) -> Self {
        TagError::Model(e)
    }
}

fn tags_of<'a>(instance: &'a Instance, target: &TagTarget) -> Result<&'a Tags> {
    Ok(match target {
        TagTarget::Instance(_) => &instance.meta.tags,
        TagTarget::Topic(_, t) => &instance.topic(t)?.tags,
        TagTarget::Group(_, g) => &instance.group(g)?.tags,
    })
}

fn tags_mut<'a>(instance: &'a mut Instance, target: &TagTarget) -> Result<&'a mut Tags> {
    Ok(match target {
        TagTarget::Instance(_) => &mut instance.meta.tags,
        TagTarget::Topic(_, t) => &mut instance.topic_mut(t)?.tags,
        TagTarget::Group(_, g) => &mut instance.group_mut(g)?.tags,
    })
}

impl Instance {
    /// The instance's tags.
    pub fn tags(&self) -> &Tags {
        &self.meta.tags
    }
}

impl Topic {
    /// The topic's tags.
    pub fn tags(&self) -> &Tags {
        &self.tags
    }
}

impl Group {
    /// The group's tags.
    pub fn tags(&self) -> &Tags {
        &self.tags
    }

    /// The protocol the group's consumers speak.
    pub fn group_type(&self) -> GroupType {
        self.group_type
    }
}

impl RocketMqModel {
    /// Adds `tags` to every target (a key already there takes the new value). All or nothing: every target
    /// must exist and stay within [`MAX_TAGS_PER_RESOURCE`], checked before any changes.
    pub fn tag_resources(
        &self,
        account: &str,
        region: &str,
        targets: &[TagTarget],
        tags: &[(String, String)],
    ) -> std::result::Result<(), TagError> {
        let merged = |current: &Tags| {
            let mut next = current.clone();
            next.extend(tags.iter().cloned());
            next
        };
        for target in targets {
            let handle = self.instance(account, region, target.instance_id())?;
            let instance = handle.read();
            if merged(tags_of(&instance, target)?).len() > MAX_TAGS_PER_RESOURCE {
                return Err(TagError::TooMany(target.key()));
            }
        }
        for target in targets {
            let next = self.with_owned(account, region, target.instance_id(), |i| {
                let slot = tags_mut(i, target)?;
                let next = merged(slot);
                if next.len() <= MAX_TAGS_PER_RESOURCE {
                    *slot = next;
                    return Ok(true);
                }
                Ok(false)
            })?;
            if !next {
                return Err(TagError::TooMany(target.key()));
            }
            self.mark(target.key());
        }
        Ok(())
    }

    /// Removes the tags with `keys` (None: every tag) from every target; keys a resource lacks are
    /// ignored. Every target must exist, checked before any changes.
    pub fn untag_resources(
        &self,
        account: &str,
        region: &str,
        targets: &[TagTarget],
        keys: Option<&[String]>,
    ) -> std::result::Result<(), TagError> {
        for target in targets {
            let handle = self.instance(account, region, target.instance_id())?;
            tags_of(&handle.read(), target)?;
        }
        for target in targets {
            let changed = self.with_owned(account, region, target.instance_id(), |i| {
                let slot = tags_mut(i, target)?;
                let before = slot.len();
                match keys {
                    Some(keys) => slot.retain(|k, _| !keys.contains(k)),
                    None => slot.clear(),
                }
                Ok(slot.len() != before)
            })?;
            if changed {
                self.mark(target.key());
            }
        }
        Ok(())
    }

    /// Sets the protocol of a group's consumers.
    pub fn set_group_type(
        &self,
        account: &str,
        region: &str,
        instance_id: &str,
        group: &str,
        group_type: GroupType,
    ) -> Result<()> {
        self.with_owned(account, region, instance_id, |i| {
            i.group_mut(group)?.group_type = group_type;
            Ok(())
        })?;
        self.mark(group_key(instance_id, group));
        Ok(())
    }

    /// A target's tags (a copy).
    pub fn tags(&self, account: &str, region: &str, target: &TagTarget) -> Result<Tags> {
        let handle = self.instance(account, region, target.instance_id())?;
        let instance = handle.read();
        tags_of(&instance, target).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rocketmq::{MessageType, NewInstance};

    fn model() -> (RocketMqModel, String) {
        let m = RocketMqModel::default();
        m.add_region("r", "r");
        m.add_cluster("r", "c").unwrap();
        let id = m
            .create_instance(NewInstance {
                id: "MQ_INST_1_abc".into(),
                account: "a".into(),
                region: "r".into(),
                cluster: "c".into(),
                name: "inst".into(),
                remark: String::new(),
                independent_naming: true,
                max_send_tps: 5000,
                max_receive_tps: 5000,
                topic_capacity: None,
            })
            .unwrap();
        m.create_topic("a", "r", &id, "t", MessageType::Normal, "").unwrap();
        m.create_group("a", "r", &id, "GID_g", "").unwrap();
        (m, id)
    }

    fn tag(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn tags_are_added_overwritten_and_removed() {
        let (m, id) = model();
        let targets = [
            TagTarget::Instance(id.clone()),
            TagTarget::Topic(id.clone(), "t".into()),
            TagTarget::Group(id.clone(), "GID_g".into()),
        ];
        m.tag_resources("a", "r", &targets, &[tag("env", "dev"), tag("team", "x")]).unwrap();
        m.tag_resources("a", "r", &targets[1..2], &[tag("env", "prod")]).unwrap();
        assert_eq!(m.tags("a", "r", &targets[1]).unwrap(), Tags::from([tag("env", "prod"), tag("team", "x")]));
        assert_eq!(m.tags("a", "r", &targets[0]).unwrap().get("env").map(String::as_str), Some("dev"));
        m.untag_resources("a", "r", &targets, Some(&["env".to_string(), "nope".to_string()])).unwrap();
        assert_eq!(m.tags("a", "r", &targets[2]).unwrap(), Tags::from([tag("team", "x")]));
        m.untag_resources("a", "r", &targets, None).unwrap();
        assert!(m.tags("a", "r", &targets[0]).unwrap().is_empty());
    }

    #[test]
    fn the_quota_and_missing_resources_change_nothing() {
        let (m, id) = model();
        let topic = [TagTarget::Topic(id.clone(), "t".into())];
        let twenty: Vec<(String, String)> = (0..20).map(|n| tag(&format!("k{n}"), "v")).collect();
        m.tag_resources("a", "r", &topic, &twenty).unwrap();
        // Overwriting keeps the count; one more key is refused.
        m.tag_resources("a", "r", &topic, &[tag("k0", "w")]).unwrap();
        assert!(matches!(m.tag_resources("a", "r", &topic, &[tag("k20", "v")]), Err(TagError::TooMany(_))));
        let both = [TagTarget::Instance(id.clone()), TagTarget::Topic(id.clone(), "missing".into())];
        assert!(matches!(
            m.tag_resources("a", "r", &both, &[tag("x", "y")]),
            Err(TagError::Model(RocketMqError::TopicNotFound(_)))
        ));
        assert!(m.tags("a", "r", &both[0]).unwrap().is_empty(), "all or nothing");
        assert!(matches!(m.tags("b", "r", &TagTarget::Instance(id.clone())), Err(RocketMqError::InstanceNotFound(_))));
    }

    #[test]
    fn a_group_type_round_trips() {
        let (m, id) = model();
        assert_eq!(m.instance("a", "r", &id).unwrap().read().group("GID_g").unwrap().group_type(), GroupType::Tcp);
        m.set_group_type("a", "r", &id, "GID_g", GroupType::Http).unwrap();
        assert_eq!(m.instance("a", "r", &id).unwrap().read().group("GID_g").unwrap().group_type(), GroupType::Http);
        assert!(m.set_group_type("a", "r", &id, "GID_none", GroupType::Http).is_err());
    }
}
