//! Tags on instances, topics and groups: TagResources, UntagResources, ListTagResources (ONS 2019-02-14,
//! the SDK's `aliyunsdkons.request.v20190214.{Tag,Untag,ListTag}ResourcesRequest`), and the `Tag.N` filters
//! and `Tags` fields of the instance, topic and group lists. The tags live with their resources in the
//! RocketMQ engine (`engine::rocketmq::tags`).
//!
//! The documented rules: `ResourceType` INSTANCE, TOPIC or GROUP (topics and groups also need
//! `InstanceId`); `ResourceId.N` 1 to 50 ids; `Tag.N` 1 to 20 tags, a key of 1 to 128 characters and a value
//! of at most 128, neither starting with `aliyun` or `acs:` nor containing `http://` or `https://`; at most
//! 20 tags on one resource; `TagKey.N` 1 to 20 keys, or `All=true` to remove every tag. ListTagResources
//! answers one row per (resource, tag), `ResourceType` as `ALIYUN::MQ::INSTANCE` / `TOPIC` / `GROUP`,
//! pages of [`PAGE_SIZE`] rows continued with `NextToken`.

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Map, Value};

use super::{Ctx, OnsError};
use crate::alibaba::kafka::wire::{Input, Params};
use crate::engine::rocketmq::{TagError, TagTarget, Tags, MAX_TAGS_PER_RESOURCE};

/// Most `ResourceId.N` in one request.
const MAX_RESOURCE_IDS: usize = 50;
/// Most `Tag.N` / `TagKey.N` in one request.
const MAX_TAGS_PER_REQUEST: usize = 20;
/// Longest tag key or value, in characters.
const MAX_TAG_CHARS: usize = 128;
/// Rows per ListTagResources page.
pub const PAGE_SIZE: usize = 50;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Instance,
    Topic,
    Group,
}

impl Kind {
    fn parse(value: Option<&str>) -> Result<Kind, OnsError> {
        match value.filter(|v| !v.is_empty()) {
            None => Err(OnsError::missing("ResourceType")),
            Some("INSTANCE") => Ok(Kind::Instance),
            Some("TOPIC") => Ok(Kind::Topic),
            Some("GROUP") => Ok(Kind::Group),
            Some(other) => {
                Err(OnsError::invalid("ResourceType", format!("{other:?} is not INSTANCE, TOPIC or GROUP.")))
            }
        }
    }

    fn wire(self) -> &'static str {
        match self {
            Kind::Instance => "ALIYUN::MQ::INSTANCE",
            Kind::Topic => "ALIYUN::MQ::TOPIC",
            Kind::Group => "ALIYUN::MQ::GROUP",
        }
    }

    fn target(self, instance: &str, id: &str) -> TagTarget {
        match self {
            Kind::Instance => TagTarget::Instance(id.to_string()),
            Kind::Topic => TagTarget::Topic(instance.to_string(), id.to_string()),
            Kind::Group => TagTarget::Group(instance.to_string(), id.to_string()),
        }
    }
}

#[derive(Deserialize)]
struct TagInput {
    #[serde(rename = "ResourceType")]
    resource_type: Option<String>,
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "All")]
    all: Option<bool>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}
impl Input for TagInput {}

/// The instance a topic or group request names (required for those types).
fn instance_for(kind: Kind, given: Option<&str>) -> Result<String, OnsError> {
    match (kind, given.filter(|s| !s.is_empty())) {
        (Kind::Instance, _) => Ok(String::new()),
        (_, Some(id)) => Ok(id.to_string()),
        (_, None) => Err(OnsError::missing("InstanceId")),
    }
}

fn resource_ids(p: &Params, required: bool) -> Result<Vec<String>, OnsError> {
    let ids: Vec<String> = p.repeat_list("ResourceId").into_iter().map(str::to_string).collect();
    if required && ids.is_empty() {
        return Err(OnsError::missing("ResourceId.N"));
    }
    if ids.len() > MAX_RESOURCE_IDS {
        return Err(OnsError::invalid("ResourceId.N", format!("At most {MAX_RESOURCE_IDS} resource ids are allowed.")));
    }
    if ids.iter().any(String::is_empty) {
        return Err(OnsError::invalid("ResourceId.N", "A resource id must not be empty."));
    }
    Ok(ids)
}

/// The documented syntax of a tag key or value.
fn check_tag_text(name: &str, text: &str) -> Result<(), OnsError> {
    if text.chars().count() > MAX_TAG_CHARS {
        return Err(OnsError::invalid(name, format!("At most {MAX_TAG_CHARS} characters are allowed.")));
    }
    if text.starts_with("aliyun") || text.starts_with("acs:") {
        return Err(OnsError::invalid(name, "It must not start with \"aliyun\" or \"acs:\"."));
    }
    if text.contains("http://") || text.contains("https://") {
        return Err(OnsError::invalid(name, "It must not contain \"http://\" or \"https://\"."));
    }
    Ok(())
}

/// `Tag.N` of a request, checked (1 to 20 when `required`).
fn request_tags(p: &Params, required: bool) -> Result<Vec<(String, String)>, OnsError> {
    let tags = p.tags()?;
    if required && tags.is_empty() {
        return Err(OnsError::missing("Tag.N.Key"));
    }
    if tags.len() > MAX_TAGS_PER_REQUEST {
        return Err(OnsError::invalid("Tag.N", format!("At most {MAX_TAGS_PER_REQUEST} tags are allowed.")));
    }
    for (key, value) in &tags {
        check_tag_text("Tag.N.Key", key)?;
        check_tag_text("Tag.N.Value", value)?;
    }
    Ok(tags)
}

fn tag_error(e: TagError) -> OnsError {
    match e {
        TagError::Model(e) => e.into(),
        TagError::TooMany(_) => OnsError::business(
            "QuotaExceed.TagsPerResource",
            format!("A resource may carry at most {MAX_TAGS_PER_RESOURCE} tags."),
        ),
    }
}

pub fn tag_resources(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TagInput = p.input()?;
    let kind = Kind::parse(input.resource_type.as_deref())?;
    let ids = resource_ids(p, true)?;
    let tags = request_tags(p, true)?;
    let instance = instance_for(kind, input.instance_id.as_deref())?;
    let targets: Vec<TagTarget> = ids.iter().map(|id| kind.target(&instance, id)).collect();
    ctx.model.tag_resources(ctx.account, ctx.region, &targets, &tags).map_err(tag_error)?;
    Ok(Map::new())
}

pub fn untag_resources(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TagInput = p.input()?;
    let kind = Kind::parse(input.resource_type.as_deref())?;
    let ids = resource_ids(p, true)?;
    let keys: Vec<String> = p.repeat_list("TagKey").into_iter().map(str::to_string).collect();
    if keys.len() > MAX_TAGS_PER_REQUEST {
        return Err(OnsError::invalid("TagKey.N", format!("At most {MAX_TAGS_PER_REQUEST} keys are allowed.")));
    }
    let instance = instance_for(kind, input.instance_id.as_deref())?;
    let targets: Vec<TagTarget> = ids.iter().map(|id| kind.target(&instance, id)).collect();
    // `All` counts only without keys ("仅当 TagKey.N 为空时生效"); neither removes nothing.
    let keys = match (keys.is_empty(), input.all.unwrap_or(false)) {
        (true, true) => None,
        (true, false) => Some(Vec::new()),
        (false, _) => Some(keys),
    };
    ctx.model.untag_resources(ctx.account, ctx.region, &targets, keys.as_deref()).map_err(tag_error)?;
    Ok(Map::new())
}

/// Whether `tags` carry every filter tag (a filter with an empty value matches any value of its key).
pub fn matches(tags: &Tags, filter: &[(String, String)]) -> bool {
    filter.iter().all(|(k, v)| tags.get(k).is_some_and(|have| v.is_empty() || have == v))
}

/// `{"Tag": [{"Key", "Value"}...]}`, the `Tags` field of the list answers, serialised straight from the
/// resource's tags (borrowed: the list answers are written under the instance's read lock).
pub struct TagsField<'a>(pub &'a Tags);

impl Serialize for TagsField<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_struct("Tags", 1)?;
        fields.serialize_field("Tag", &TagItems(self.0))?;
        fields.end()
    }
}

/// The `Tag` array: one `{"Key", "Value"}` per tag, in key order.
struct TagItems<'a>(&'a Tags);

impl Serialize for TagItems<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(key, value)| TagItem { key, value }))
    }
}

#[derive(Serialize)]
struct TagItem<'a> {
    #[serde(rename = "Key")]
    key: &'a str,
    #[serde(rename = "Value")]
    value: &'a str,
}

pub fn list_tag_resources(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TagInput = p.input()?;
    let kind = Kind::parse(input.resource_type.as_deref())?;
    let ids = resource_ids(p, false)?;
    let filter = request_tags(p, false)?;
    let instance = instance_for(kind, input.instance_id.as_deref())?;
    let start = match input.next_token.as_deref().filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => {
            t.parse::<usize>().map_err(|_| OnsError::invalid("NextToken", "It is not a token this API issued."))?
        }
    };
    // (instance id, resource id, tags) of every candidate resource, in id order.
    let mut resources: Vec<(String, String, Tags)> = Vec::new();
    match kind {
        Kind::Instance => {
            for handle in ctx.model.instances_of(ctx.account, ctx.region) {
                let i = handle.read();
                resources.push((i.id().to_string(), i.id().to_string(), i.tags().clone()));
            }
        }
        Kind::Topic | Kind::Group => {
            let handle = ctx.instance(&instance)?;
            let i = handle.read();
            if kind == Kind::Topic {
                resources.extend(i.topics().map(|t| (instance.clone(), t.name().to_string(), t.tags().clone())));
            } else {
                resources.extend(i.groups().map(|g| (instance.clone(), g.id().to_string(), g.tags().clone())));
            }
        }
    }
    resources.sort_by(|a, b| a.1.cmp(&b.1));
    let rows: Vec<Value> = resources
        .into_iter()
        .filter(|(_, id, _)| ids.is_empty() || ids.contains(id))
        .filter(|(_, _, tags)| matches(tags, &filter))
        .flat_map(|(instance_id, resource_id, tags)| {
            tags.into_iter().map(move |(k, v)| {
                json!({
                    "ResourceType": kind.wire(),
                    "InstanceId": instance_id,
                    "ResourceId": resource_id,
                    "TagKey": k,
                    "TagValue": v,
                })
            })
        })
        .collect();
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(start).take(PAGE_SIZE).collect();
    let mut out = Map::new();
    if start + PAGE_SIZE < total {
        out.insert("NextToken".into(), Value::from((start + PAGE_SIZE).to_string()));
    }
    out.insert("TagResources".into(), Value::Array(page));
    Ok(out)
}
