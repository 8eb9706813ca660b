//! Regions, instances, topics and groups: OnsRegionList, OpenOnsService, OnsInstance{Create, InServiceList,
//! BaseInfo, Update, Delete}, OnsTopic{Create, List, Status, Update, Delete, SubDetail},
//! OnsGroup{Create, List, Delete, ConsumerUpdate, SubDetail}. Field names are those of the SDK's response
//! models (`alibabacloud_ons20190214.models.*ResponseBody`).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::tags::{matches, TagsField};
use super::{Ctx, OnsError};
use crate::alibaba::kafka::wire::{Input, Params, Reply};
use crate::engine::rocketmq::{Group, GroupType, Instance, InstanceHandle, MessageType, NewInstance, Topic};

/// Throughput limit of an instance created here (ONS's standard edition: "最大 TPS 5000").
const DEFAULT_MAX_TPS: i64 = 5000;
/// `InstanceStatus` 5: running (服务中).
const STATUS_RUNNING: i64 = 5;
/// `InstanceType` 1: standard edition (the only edition OnsInstanceCreate creates).
const TYPE_STANDARD: i64 = 1;
/// OnsTopicList's `Relation` of the caller's own topics: 6 with `RelationName` "持有者" (owner).
const RELATION_OWNER: i64 = 6;

/// A JSON object's fields (handlers build answers with `json!`).
fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The request's `Tag.N` filter (resources must carry every tag; an empty value matches any value).
fn tag_filter(p: &Params) -> Result<Vec<(String, String)>, OnsError> {
    Ok(p.tags()?)
}

/// The instance a request means: `InstanceId`, or when it is absent the caller's instance without a
/// namespace (ONS: "如果您的实例无命名空间，则无需填写该参数"); MissingParameter when there is none.
pub fn instance_id(ctx: &Ctx<'_>, given: Option<&str>) -> Result<String, OnsError> {
    match given.filter(|s| !s.is_empty()) {
        Some(id) => ctx.instance(id).map(|_| id.to_string()),
        None => ctx.model.resolve_instance(ctx.account, ctx.region, None).map_err(|_| OnsError::missing("InstanceId")),
    }
}

/// The handle of the instance `instance_id` means (the same outcomes), looked up once (the list actions
/// would otherwise look it up again by the id `instance_id` returns).
fn instance_handle(ctx: &Ctx<'_>, given: Option<&str>) -> Result<InstanceHandle, OnsError> {
    match given.filter(|s| !s.is_empty()) {
        Some(id) => ctx.instance(id),
        None => ctx.instance(&instance_id(ctx, None)?),
    }
}

// ----------------------------------------------------------------------------------------- regions, service

pub fn region_list(ctx: &Ctx<'_>, _p: &Params) -> Result<Map<String, Value>, OnsError> {
    // The engine's regions, then the public ONS regions no request has named yet (numbered after them).
    let known = ctx.model.regions();
    let pending = super::REGIONS.iter().filter(|(id, _)| !known.iter().any(|r| r.region_id == *id));
    let all = known
        .iter()
        .map(|r| (r.id, r.region_id.as_str(), r.name.as_str()))
        .chain(pending.zip(known.len() as i64 + 1..).map(|((id, name), n)| (n, *id, *name)));
    let regions: Vec<Value> = all
        .map(|(n, id, name)| {
            json!({
                "Id": n,
                "OnsRegionId": id,
                "RegionName": name,
                "ChannelName": "aliyun",
                "CreateTime": 0,
                "UpdateTime": 0,
            })
        })
        .collect();
    Ok(fields(json!({"Data": {"RegionDo": regions}})))
}

/// OpenOnsService: the service is always open here; the order id is stable per account.
pub fn open_ons_service(ctx: &Ctx<'_>, _p: &Params) -> Result<Map<String, Value>, OnsError> {
    let order = crate::engine::ids::stable_suffix(&format!("ons/{}", ctx.account), 12);
    Ok(fields(json!({"OrderId": order})))
}

// ----------------------------------------------------------------------------------------------- instances

#[derive(Deserialize)]
struct InstanceCreate {
    #[serde(rename = "InstanceName")]
    instance_name: Option<String>,
    #[serde(rename = "Remark")]
    remark: Option<String>,
}
impl Input for InstanceCreate {}

pub fn instance_create(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: InstanceCreate = p.input()?;
    let name = input.instance_name.filter(|n| !n.is_empty()).ok_or_else(|| OnsError::missing("InstanceName"))?;
    // Instances created here have a namespace (their topic and group names are unique per instance).
    let id = ctx.model.create_instance(NewInstance {
        id: crate::alibaba::rocketmq::new_instance_id(ctx.account),
        account: ctx.account.to_string(),
        region: ctx.region.to_string(),
        cluster: crate::alibaba::rocketmq::DEFAULT_CLUSTER.into(),
        name,
        remark: input.remark.unwrap_or_default(),
        independent_naming: true,
        max_send_tps: DEFAULT_MAX_TPS,
        max_receive_tps: DEFAULT_MAX_TPS,
        topic_capacity: None,
    })?;
    Ok(fields(json!({"Data": {"InstanceId": id, "InstanceType": TYPE_STANDARD}})))
}

/// `{"Data": {<key>: [items]}}`, the shape of the list answers (`InstanceVO`, `PublishInfoDo`,
/// `SubscribeInfoDo`), in the SDK models' field names.
#[derive(Serialize)]
struct DataList<T> {
    #[serde(rename = "Data")]
    data: T,
}

/// A typical serialised size of one list item (its fields and a tag or two), to size the answer's buffer.
const ITEM_BYTES: usize = 320;

/// One instance of OnsInstanceInServiceList (`InstanceVO`), borrowed from the engine.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceVo<'a> {
    instance_id: &'a str,
    instance_name: &'a str,
    instance_status: i64,
    instance_type: i64,
    independent_naming: bool,
    create_time: i64,
    topic_count: usize,
    group_count: usize,
    tags: TagsField<'a>,
}

impl<'a> InstanceVo<'a> {
    fn of(i: &'a Instance) -> Self {
        InstanceVo {
            instance_id: i.id(),
            instance_name: i.name(),
            instance_status: STATUS_RUNNING,
            instance_type: TYPE_STANDARD,
            independent_naming: i.independent_naming(),
            create_time: i.created().as_ms(),
            topic_count: i.topics().len(),
            group_count: i.groups().len(),
            tags: TagsField(i.tags()),
        }
    }
}

#[derive(Serialize)]
struct InstanceVoList<'a> {
    #[serde(rename = "InstanceVO")]
    instance_vo: Vec<InstanceVo<'a>>,
}

pub fn instance_in_service_list(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, OnsError> {
    let filter = tag_filter(p)?;
    let handles = ctx.model.instances_of(ctx.account, ctx.region);
    let instances: Vec<_> = handles.iter().map(|h| h.read()).filter(|i| matches(i.tags(), &filter)).collect();
    let list = InstanceVoList { instance_vo: instances.iter().map(|i| InstanceVo::of(i)).collect() };
    // Serialised while the instances' read locks are held: the views borrow, nothing is cloned.
    Ok(ctx.reply(&DataList { data: list }, instances.len() * ITEM_BYTES))
}

#[derive(Deserialize)]
struct InstanceOnly {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
}
impl Input for InstanceOnly {}

fn required(value: Option<String>, name: &str) -> Result<String, OnsError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| OnsError::missing(name))
}

pub fn instance_base_info(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: InstanceOnly = p.input()?;
    let id = required(input.instance_id, "InstanceId")?;
    let handle = ctx.instance(&id)?;
    let i = handle.read();
    Ok(fields(json!({"InstanceBaseInfo": {
        "InstanceId": i.id(),
        "InstanceName": i.name(),
        "InstanceStatus": STATUS_RUNNING,
        "InstanceType": TYPE_STANDARD,
        "IndependentNaming": i.independent_naming(),
        "Remark": i.remark(),
        "CreateTime": i.created().as_ms(),
        "MaxTps": i.max_send_tps(),
        "TopicCapacity": i.topic_capacity(),
        "SupportClassic": false,
        // The name server the RocketMQ TCP clients use (localyun's one endpoint).
        "Endpoints": {"TcpEndpoint": format!("http://{}", ctx.model.tcp_endpoint(i.name_server()))},
    }})))
}

#[derive(Deserialize)]
struct InstanceUpdate {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "InstanceName")]
    instance_name: Option<String>,
    #[serde(rename = "Remark")]
    remark: Option<String>,
}
impl Input for InstanceUpdate {}

pub fn instance_update(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: InstanceUpdate = p.input()?;
    let id = required(input.instance_id, "InstanceId")?;
    let name = input.instance_name.filter(|n| !n.is_empty());
    ctx.model.update_instance(ctx.account, ctx.region, &id, name.as_deref(), input.remark.as_deref())?;
    Ok(Map::new())
}

pub fn instance_delete(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: InstanceOnly = p.input()?;
    let id = required(input.instance_id, "InstanceId")?;
    ctx.model.delete_instance(ctx.account, ctx.region, &id)?;
    Ok(Map::new())
}

// -------------------------------------------------------------------------------------------------- topics

/// ONS `MessageType`: 0 normal, 1 partition order, 2 global order, 4 transaction, 5 scheduled/delay.
fn message_type(code: i64) -> Result<MessageType, OnsError> {
    Ok(match code {
        0 => MessageType::Normal,
        1 => MessageType::PartitionOrder,
        2 => MessageType::GlobalOrder,
        4 => MessageType::Transaction,
        5 => MessageType::Delay,
        other => return Err(OnsError::invalid("MessageType", format!("{other} is not one of 0, 1, 2, 4, 5."))),
    })
}

fn message_type_code(t: MessageType) -> i64 {
    match t {
        MessageType::Normal => 0,
        MessageType::PartitionOrder => 1,
        MessageType::GlobalOrder => 2,
        MessageType::Transaction => 4,
        MessageType::Delay => 5,
    }
}

#[derive(Deserialize)]
struct TopicCreate {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "Topic")]
    topic: Option<String>,
    #[serde(rename = "MessageType")]
    message_type: Option<i64>,
    #[serde(rename = "Remark")]
    remark: Option<String>,
}
impl Input for TopicCreate {}

/// Remarks: at most 128 characters (ONS: "最多 128 个字符").
fn check_remark(remark: &str) -> Result<(), OnsError> {
    if remark.chars().count() > 128 {
        return Err(OnsError::invalid("Remark", "At most 128 characters are allowed."));
    }
    Ok(())
}

pub fn topic_create(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TopicCreate = p.input()?;
    let topic = required(input.topic, "Topic")?;
    let kind = message_type(input.message_type.ok_or_else(|| OnsError::missing("MessageType"))?)?;
    let remark = input.remark.unwrap_or_default();
    check_remark(&remark)?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.model.create_topic(ctx.account, ctx.region, &id, &topic, kind, &remark)?;
    Ok(Map::new())
}

#[derive(Deserialize)]
struct TopicList {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "Topic")]
    topic: Option<String>,
    #[serde(rename = "UserId")]
    user_id: Option<String>,
}
impl Input for TopicList {}

/// One topic of OnsTopicList (`PublishInfoDo`), borrowed from the engine.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PublishInfo<'a> {
    topic: &'a str,
    owner: &'a str,
    relation: i64,
    relation_name: &'static str,
    remark: &'a str,
    message_type: i64,
    instance_id: &'a str,
    independent_naming: bool,
    create_time: i64,
    service_status: i64,
    tags: TagsField<'a>,
}

impl<'a> PublishInfo<'a> {
    fn of(instance: &'a Instance, t: &'a Topic) -> Self {
        PublishInfo {
            topic: t.name(),
            owner: t.owner(),
            relation: RELATION_OWNER,
            relation_name: "持有者",
            remark: t.remark(),
            message_type: message_type_code(t.message_type()),
            instance_id: instance.id(),
            independent_naming: instance.independent_naming(),
            create_time: t.created().as_ms(),
            // 0: in service.
            service_status: 0,
            tags: TagsField(t.tags()),
        }
    }
}

#[derive(Serialize)]
struct PublishInfoList<'a> {
    #[serde(rename = "PublishInfoDo")]
    publish_info_do: Vec<PublishInfo<'a>>,
}

pub fn topic_list(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, OnsError> {
    let input: TopicList = p.input()?;
    let filter = tag_filter(p)?;
    let handle = instance_handle(ctx, input.instance_id.as_deref())?;
    let instance = handle.read();
    let name = input.topic.filter(|t| !t.is_empty());
    let owner = input.user_id.filter(|u| !u.is_empty());
    let list: Vec<PublishInfo<'_>> = instance
        .topics()
        .filter(|t| matches(t.tags(), &filter))
        .filter(|t| name.as_deref().is_none_or(|n| t.name() == n))
        .filter(|t| owner.as_deref().is_none_or(|o| t.owner() == o))
        .map(|t| PublishInfo::of(&instance, t))
        .collect();
    let size = list.len() * ITEM_BYTES;
    // Serialised while the instance's read lock is held: the views borrow, nothing is cloned.
    Ok(ctx.reply(&DataList { data: PublishInfoList { publish_info_do: list } }, size))
}

#[derive(Deserialize)]
struct TopicOnly {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "Topic")]
    topic: Option<String>,
}
impl Input for TopicOnly {}

pub fn topic_status(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TopicOnly = p.input()?;
    let topic = required(input.topic, "Topic")?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.model.settle_due(&id)?;
    let handle = ctx.instance(&id)?;
    let instance = handle.read();
    let perm = instance.topic(&topic)?.perm();
    let stats = instance.topic_stats(&topic)?;
    Ok(fields(json!({"Data": {
        "TotalCount": stats.total_count,
        "LastTimeStamp": stats.last_store.as_ms(),
        "Perm": perm,
    }})))
}

#[derive(Deserialize)]
struct TopicUpdate {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "Topic")]
    topic: Option<String>,
    #[serde(rename = "Perm")]
    perm: Option<i64>,
}
impl Input for TopicUpdate {}

pub fn topic_update(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TopicUpdate = p.input()?;
    let topic = required(input.topic, "Topic")?;
    let perm = input.perm.ok_or_else(|| OnsError::missing("Perm"))?;
    let perm = u8::try_from(perm).map_err(|_| OnsError::invalid("Perm", "It must be 2, 4 or 6."))?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.model.set_topic_perm(ctx.account, ctx.region, &id, &topic, perm)?;
    Ok(Map::new())
}

pub fn topic_delete(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TopicOnly = p.input()?;
    let topic = required(input.topic, "Topic")?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.model.delete_topic(ctx.account, ctx.region, &id, &topic)?;
    Ok(Map::new())
}

fn model_name(g: &Group) -> &'static str {
    match g.message_model() {
        crate::engine::rocketmq::MessageModel::Clustering => "CLUSTERING",
        crate::engine::rocketmq::MessageModel::Broadcasting => "BROADCASTING",
    }
}

pub fn topic_sub_detail(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TopicOnly = p.input()?;
    let topic = required(input.topic, "Topic")?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    let handle = ctx.instance(&id)?;
    let instance = handle.read();
    instance.topic(&topic)?;
    let subs: Vec<Value> = instance
        .groups()
        .filter_map(|g| {
            g.subscriptions().get(&topic).map(|s| {
                json!({
                    "GroupId": g.id(),
                    "MessageModel": model_name(g),
                    "SubString": s.expression,
                    "Online": g.online(),
                })
            })
        })
        .collect();
    Ok(fields(json!({"Data": {"Topic": topic, "SubscriptionDataList": {"SubscriptionDataList": subs}}})))
}

// -------------------------------------------------------------------------------------------------- groups

#[derive(Deserialize)]
struct GroupCreate {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "GroupId")]
    group_id: Option<String>,
    #[serde(rename = "Remark")]
    remark: Option<String>,
    #[serde(rename = "GroupType")]
    group_type: Option<String>,
}
impl Input for GroupCreate {}

/// `GroupType`: `tcp` or `http`, the protocol the group's clients use; None when not given (creation
/// defaults to `tcp`, a list then shows every type).
fn group_type(t: Option<&str>) -> Result<Option<GroupType>, OnsError> {
    match t {
        None | Some("") => Ok(None),
        Some("tcp") => Ok(Some(GroupType::Tcp)),
        Some("http") => Ok(Some(GroupType::Http)),
        Some(other) => Err(OnsError::invalid("GroupType", format!("{other:?} is not tcp or http."))),
    }
}

pub fn group_create(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: GroupCreate = p.input()?;
    let group = required(input.group_id, "GroupId")?;
    let kind = group_type(input.group_type.as_deref())?.unwrap_or_default();
    let remark = input.remark.unwrap_or_default();
    check_remark(&remark)?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.model.create_group(ctx.account, ctx.region, &id, &group, &remark)?;
    if kind != GroupType::Tcp {
        ctx.model.set_group_type(ctx.account, ctx.region, &id, &group, kind)?;
    }
    Ok(Map::new())
}

#[derive(Deserialize)]
struct GroupList {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "GroupId")]
    group_id: Option<String>,
    #[serde(rename = "GroupType")]
    group_type: Option<String>,
}
impl Input for GroupList {}

/// One group of OnsGroupList (`SubscribeInfoDo`), borrowed from the engine.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SubscribeInfo<'a> {
    group_id: &'a str,
    owner: &'a str,
    remark: &'a str,
    instance_id: &'a str,
    independent_naming: bool,
    create_time: i64,
    update_time: i64,
    group_type: &'static str,
    tags: TagsField<'a>,
}

#[derive(Serialize)]
struct SubscribeInfoList<'a> {
    #[serde(rename = "SubscribeInfoDo")]
    subscribe_info_do: Vec<SubscribeInfo<'a>>,
}

pub fn group_list(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, OnsError> {
    let input: GroupList = p.input()?;
    let kind = group_type(input.group_type.as_deref())?;
    let filter = tag_filter(p)?;
    let handle = instance_handle(ctx, input.instance_id.as_deref())?;
    let instance = handle.read();
    // GroupId filters by substring ("支持模糊查询"), GroupType by the protocol, Tag.N by tags.
    let needle = input.group_id.unwrap_or_default();
    let list: Vec<SubscribeInfo<'_>> = instance
        .groups()
        .filter(|g| kind.is_none_or(|k| g.group_type() == k))
        .filter(|g| matches(g.tags(), &filter))
        .filter(|g| g.id().contains(needle.as_str()))
        .map(|g| SubscribeInfo {
            group_id: g.id(),
            owner: ctx.account,
            remark: g.remark(),
            instance_id: instance.id(),
            independent_naming: instance.independent_naming(),
            create_time: g.created().as_ms(),
            update_time: g.created().as_ms(),
            group_type: g.group_type().as_str(),
            tags: TagsField(g.tags()),
        })
        .collect();
    let size = list.len() * ITEM_BYTES;
    // Serialised while the instance's read lock is held: the views borrow, nothing is cloned.
    Ok(ctx.reply(&DataList { data: SubscribeInfoList { subscribe_info_do: list } }, size))
}

#[derive(Deserialize)]
struct GroupOnly {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "GroupId")]
    group_id: Option<String>,
}
impl Input for GroupOnly {}

pub fn group_delete(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: GroupOnly = p.input()?;
    let group = required(input.group_id, "GroupId")?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.model.delete_group(ctx.account, ctx.region, &id, &group)?;
    Ok(Map::new())
}

#[derive(Deserialize)]
struct GroupConsumerUpdate {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "GroupId")]
    group_id: Option<String>,
    #[serde(rename = "ReadEnable")]
    read_enable: Option<bool>,
}
impl Input for GroupConsumerUpdate {}

pub fn group_consumer_update(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: GroupConsumerUpdate = p.input()?;
    let group = required(input.group_id, "GroupId")?;
    let enable = input.read_enable.ok_or_else(|| OnsError::missing("ReadEnable"))?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.model.set_read_enable(ctx.account, ctx.region, &id, &group, enable)?;
    Ok(Map::new())
}

pub fn group_sub_detail(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: GroupOnly = p.input()?;
    let group = required(input.group_id, "GroupId")?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    let handle = ctx.instance(&id)?;
    let instance = handle.read();
    let g = instance.group(&group)?;
    let subs: Vec<Value> =
        g.subscriptions().iter().map(|(t, s)| json!({"Topic": t, "SubString": s.expression})).collect();
    Ok(fields(json!({"Data": {
        "GroupId": g.id(),
        "MessageModel": model_name(g),
        "Online": g.online(),
        "SubscriptionDataList": {"SubscriptionDataList": subs},
    }})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alibaba::kafka::wire::Format;
    use crate::engine::rocketmq::{NewInstance, RocketMqModel, TagTarget};

    /// The answers as the handlers built them before they were typed (`json!` trees, serde_json's
    /// `preserve_order`): the typed answers must stay byte-identical to these.
    fn tags_tree(tags: &crate::engine::rocketmq::Tags) -> Value {
        let list: Vec<Value> = tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
        json!({ "Tag": list })
    }

    fn model() -> RocketMqModel {
        let m = RocketMqModel::default();
        m.add_region("cn-hangzhou", "hz");
        m.add_cluster("cn-hangzhou", "c1").unwrap();
        m.create_instance(NewInstance {
            id: "MQ_INST_1_AB".into(),
            account: "1".into(),
            region: "cn-hangzhou".into(),
            cluster: "c1".into(),
            name: "first \"one\"".into(),
            remark: String::new(),
            independent_naming: true,
            max_send_tps: 100,
            max_receive_tps: 100,
            topic_capacity: None,
        })
        .unwrap();
        m.create_topic("1", "cn-hangzhou", "MQ_INST_1_AB", "T_a", MessageType::Normal, "备注 \"q\"\n").unwrap();
        m.create_topic("1", "cn-hangzhou", "MQ_INST_1_AB", "T_b", MessageType::Delay, "").unwrap();
        m.create_group("1", "cn-hangzhou", "MQ_INST_1_AB", "GID_a", "r\\").unwrap();
        let tags = [("k1".to_string(), "v<1>".to_string()), ("env".to_string(), String::new())];
        let targets = [
            TagTarget::Instance("MQ_INST_1_AB".into()),
            TagTarget::Topic("MQ_INST_1_AB".into(), "T_a".into()),
            TagTarget::Group("MQ_INST_1_AB".into(), "GID_a".into()),
        ];
        m.tag_resources("1", "cn-hangzhou", &targets, &tags).unwrap();
        m
    }

    fn answer(m: &RocketMqModel, run: fn(&Ctx<'_>, &Params) -> Result<Reply, OnsError>, format: Format) -> Reply {
        let ctx = Ctx { model: m, account: "1", region: "cn-hangzhou", format, request_id: "RID" };
        let p = Params::from_pairs(&[("InstanceId", "MQ_INST_1_AB")]);
        run(&ctx, &p).unwrap()
    }

    /// The JSON body and the XML fields of a typed answer equal the former tree's, byte for byte.
    fn assert_same(m: &RocketMqModel, run: fn(&Ctx<'_>, &Params) -> Result<Reply, OnsError>, fields: Value) {
        let Value::Object(fields) = fields else { unreachable!() };
        let mut body = Map::new();
        body.insert("RequestId".into(), Value::from("RID"));
        body.extend(fields.clone());
        let Reply::Body(json) = answer(m, run, Format::Json) else { panic!("JSON answers are bodies") };
        assert_eq!(String::from_utf8(json).unwrap(), serde_json::to_string(&body).unwrap());
        let Reply::Fields(xml) = answer(m, run, Format::Xml) else { panic!("XML answers are trees") };
        assert_eq!(serde_json::to_string(&xml).unwrap(), serde_json::to_string(&fields).unwrap());
    }

    #[test]
    fn typed_topic_list_matches_the_former_tree() {
        let m = model();
        let handle = m.instance("1", "cn-hangzhou", "MQ_INST_1_AB").unwrap();
        let i = handle.read();
        let list: Vec<Value> = i
            .topics()
            .map(|t| {
                json!({
                    "Topic": t.name(),
                    "Owner": t.owner(),
                    "Relation": RELATION_OWNER,
                    "RelationName": "持有者",
                    "Remark": t.remark(),
                    "MessageType": message_type_code(t.message_type()),
                    "InstanceId": i.id(),
                    "IndependentNaming": i.independent_naming(),
                    "CreateTime": t.created().as_ms(),
                    "ServiceStatus": 0,
                    "Tags": tags_tree(t.tags()),
                })
            })
            .collect();
        assert_eq!(list.len(), 2);
        assert_same(&m, topic_list, json!({"Data": {"PublishInfoDo": list}}));
    }

    #[test]
    fn typed_group_list_matches_the_former_tree() {
        let m = model();
        let handle = m.instance("1", "cn-hangzhou", "MQ_INST_1_AB").unwrap();
        let i = handle.read();
        let list: Vec<Value> = i
            .groups()
            .map(|g| {
                json!({
                    "GroupId": g.id(),
                    "Owner": "1",
                    "Remark": g.remark(),
                    "InstanceId": i.id(),
                    "IndependentNaming": i.independent_naming(),
                    "CreateTime": g.created().as_ms(),
                    "UpdateTime": g.created().as_ms(),
                    "GroupType": g.group_type().as_str(),
                    "Tags": tags_tree(g.tags()),
                })
            })
            .collect();
        assert_eq!(list.len(), 1);
        assert_same(&m, group_list, json!({"Data": {"SubscribeInfoDo": list}}));
    }

    #[test]
    fn typed_instance_list_matches_the_former_tree() {
        let m = model();
        let handle = m.instance("1", "cn-hangzhou", "MQ_INST_1_AB").unwrap();
        let i = handle.read();
        let list = vec![json!({
            "InstanceId": i.id(),
            "InstanceName": i.name(),
            "InstanceStatus": STATUS_RUNNING,
            "InstanceType": TYPE_STANDARD,
            "IndependentNaming": i.independent_naming(),
            "CreateTime": i.created().as_ms(),
            "TopicCount": i.topics().len(),
            "GroupCount": i.groups().len(),
            "Tags": tags_tree(i.tags()),
        })];
        assert_same(&m, instance_in_service_list, json!({"Data": {"InstanceVO": list}}));
    }
}
