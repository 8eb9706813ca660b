//! Alibaba Kafka 2019-09-16 SASL users and ACLs (CreateSaslUser, DescribeSaslUsers, DeleteSaslUser,
//! CreateAcl, DescribeAcls, DeleteAcl) over the Kafka engine's users and rules (`engine::kafka::security`),
//! which the Kafka data plane's SASL and authoriser use; and the two topic changes the data plane needs
//! (ModifyTopicRemark, ModifyPartitionNum), UpdateConsumerOffset, and the instance allow-list
//! (GetAllowedIpList, UpdateAllowedIp). Not in the seed (which documents nine actions);
//! parameter names as aliyun-python-sdk-alikafka's request classes send them. Errors use the seed's
//! generic codes (MissingParameter, InvalidParameter) since no business code is documented for them.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::AlibabaError;
use super::wire::Input;
use super::{check_instance_id, check_region, fields, ApiVersion, Ctx};
use crate::engine::kafka::security::{
    AclFilter, AclOperation, AclPatternType, AclPermission, AclResourceType, AclRule, AllowedIp, SecurityError,
};
use crate::engine::kafka::Millis;

fn map_err(e: SecurityError) -> AlibabaError {
    match e {
        SecurityError::InstanceNotFound(id) => AlibabaError::InstanceNotFound(id),
        SecurityError::UserExists(u) => {
            AlibabaError::InvalidParameter("Username".into(), format!("The user {u} already exists."))
        }
        SecurityError::UserNotFound(u) => {
            AlibabaError::InvalidParameter("Username".into(), format!("The user {u} does not exist."))
        }
        SecurityError::AclNotFound => {
            AlibabaError::InvalidParameter("AclResourceName".into(), "No ACL matches.".into())
        }
        SecurityError::QuotaExceeded(why) => AlibabaError::QuotaExceeded(why),
        SecurityError::WrongPassword(u) => {
            AlibabaError::InvalidParameter("Password".into(), format!("Wrong password for {u}."))
        }
    }
}

/// These actions exist in 2019-09-16 only.
fn check_version(ctx: &Ctx<'_>, action: &str) -> Result<(), AlibabaError> {
    if ctx.version == ApiVersion::V20190916 {
        Ok(())
    } else {
        Err(AlibabaError::ActionNotFound(action.to_string()))
    }
}

fn required<'a>(v: &'a Option<String>, name: &str) -> Result<&'a str, AlibabaError> {
    v.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| AlibabaError::MissingParameter(name.to_string()))
}

/// `Type`: `plain` (default) or `scram`.
fn mechanism(v: Option<&str>) -> Result<&'static str, AlibabaError> {
    match v.unwrap_or("plain") {
        "" | "plain" => Ok("plain"),
        "scram" => Ok("scram"),
        other => Err(AlibabaError::InvalidParameter("Type".into(), format!("{other:?} is not plain or scram."))),
    }
}

#[derive(Deserialize)]
pub struct SaslUserInput {
    #[serde(rename = "InstanceId")]
    instance_id: String,
    #[serde(rename = "RegionId")]
    region_id: Option<String>,
    #[serde(rename = "Username")]
    username: Option<String>,
    #[serde(rename = "Password")]
    password: Option<String>,
    #[serde(rename = "Type")]
    kind: Option<String>,
    /// The SCRAM hash of a `scram` user (`SCRAM-SHA-256` or `SCRAM-SHA-512`); recorded, both verify the
    /// same password.
    #[serde(rename = "Mechanism")]
    mechanism: Option<String>,
}
impl Input for SaslUserInput {}

/// CreateSaslUser: Username (1-64 letters, digits, `_`, `-`), Password (1-64 characters), Type.
pub fn create_sasl_user(ctx: &Ctx<'_>, q: SaslUserInput) -> Result<Map<String, Value>, AlibabaError> {
    check_version(ctx, "CreateSaslUser")?;
    let instance = check_instance_id(&q.instance_id)?;
    let region = check_region(q.region_id.as_deref(), true)?;
    let user = required(&q.username, "Username")?;
    let password = required(&q.password, "Password")?;
    if user.len() > 64 || !user.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(AlibabaError::InvalidParameter("Username".into(), "1-64 letters, digits, '_' or '-'.".into()));
    }
    if password.chars().count() > 64 {
        return Err(AlibabaError::InvalidParameter("Password".into(), "at most 64 characters.".into()));
    }
    let mech = mechanism(q.kind.as_deref())?;
    if let Some(m) = q.mechanism.as_deref().filter(|m| !m.is_empty()) {
        if !["SCRAM-SHA-256", "SCRAM-SHA-512"].contains(&m) {
            return Err(AlibabaError::InvalidParameter(
                "Mechanism".into(),
                format!("{m:?} is not SCRAM-SHA-256 or SCRAM-SHA-512."),
            ));
        }
    }
    ctx.model.create_user(ctx.scope(region), instance, user, password, mech).map_err(map_err)?;
    Ok(Map::new())
}

/// DescribeSaslUsers: `SaslUserList.SaslUserVO[]` with Username, Password and Type, as the service answers.
pub fn describe_sasl_users(ctx: &Ctx<'_>, q: SaslUserInput) -> Result<Map<String, Value>, AlibabaError> {
    check_version(ctx, "DescribeSaslUsers")?;
    let instance = check_instance_id(&q.instance_id)?;
    let region = check_region(q.region_id.as_deref(), true)?;
    let users: Vec<Value> = ctx.model.read_instance(ctx.scope(region), instance, |i| {
        i.users().values().map(|u| json!({"Username": u.name, "Password": u.password, "Type": u.mechanism})).collect()
    })?;
    Ok(fields(json!({"SaslUserList": {"SaslUserVO": users}})))
}

/// DeleteSaslUser: Username.
pub fn delete_sasl_user(ctx: &Ctx<'_>, q: SaslUserInput) -> Result<Map<String, Value>, AlibabaError> {
    check_version(ctx, "DeleteSaslUser")?;
    let instance = check_instance_id(&q.instance_id)?;
    let region = check_region(q.region_id.as_deref(), true)?;
    let user = required(&q.username, "Username")?;
    ctx.model.delete_user(ctx.scope(region), instance, user).map_err(map_err)?;
    Ok(Map::new())
}

#[derive(Deserialize)]
pub struct AclInput {
    #[serde(rename = "InstanceId")]
    instance_id: String,
    #[serde(rename = "RegionId")]
    region_id: Option<String>,
    #[serde(rename = "Username")]
    username: Option<String>,
    #[serde(rename = "AclResourceType")]
    resource_type: Option<String>,
    #[serde(rename = "AclResourceName")]
    resource_name: Option<String>,
    #[serde(rename = "AclResourcePatternType")]
    pattern_type: Option<String>,
    #[serde(rename = "AclOperationType")]
    operation: Option<String>,
    /// Several operations, comma-separated (CreateAcl/DeleteAcl; instead of AclOperationType).
    #[serde(rename = "AclOperationTypes")]
    operations: Option<String>,
    #[serde(rename = "AclPermissionType")]
    permission: Option<String>,
    #[serde(rename = "Host")]
    host: Option<String>,
}
impl Input for AclInput {}

fn resource_type(v: &str) -> Result<AclResourceType, AlibabaError> {
    match v {
        "Topic" => Ok(AclResourceType::Topic),
        "Group" => Ok(AclResourceType::Group),
        "Cluster" => Ok(AclResourceType::Cluster),
        "TransactionalId" => Ok(AclResourceType::TransactionalId),
        _ => Err(AlibabaError::InvalidParameter("AclResourceType".into(), format!("{v:?} is not Topic or Group."))),
    }
}

fn resource_type_name(t: AclResourceType) -> &'static str {
    match t {
        AclResourceType::Topic => "Topic",
        AclResourceType::Group => "Group",
        AclResourceType::Cluster => "Cluster",
        AclResourceType::TransactionalId => "TransactionalId",
    }
}

fn pattern(v: &str) -> Result<AclPatternType, AlibabaError> {
    match v {
        "LITERAL" => Ok(AclPatternType::Literal),
        "PREFIXED" => Ok(AclPatternType::Prefixed),
        _ => Err(AlibabaError::InvalidParameter(
            "AclResourcePatternType".into(),
            format!("{v:?} is not LITERAL or PREFIXED."),
        )),
    }
}

const OPERATION_NAMES: [(&str, AclOperation); 5] = [
    ("Write", AclOperation::Write),
    ("Read", AclOperation::Read),
    ("Describe", AclOperation::Describe),
    ("IdempotentWrite", AclOperation::IdempotentWrite),
    ("All", AclOperation::All),
];

fn operation(v: &str) -> Result<AclOperation, AlibabaError> {
    OPERATION_NAMES.iter().find(|(n, _)| *n == v).map(|(_, o)| *o).ok_or_else(|| {
        AlibabaError::InvalidParameter(
            "AclOperationType".into(),
            format!("{v:?} is not Write, Read, Describe or IdempotentWrite."),
        )
    })
}

fn operation_name(o: AclOperation) -> &'static str {
    // Rules created over the Kafka protocol (src/kafka/acls.rs) may hold operations Alibaba's CreateAcl
    // does not take; they are shown under Kafka's names rather than as another operation.
    match o {
        AclOperation::Create => "Create",
        AclOperation::Delete => "Delete",
        AclOperation::Alter => "Alter",
        AclOperation::ClusterAction => "ClusterAction",
        AclOperation::DescribeConfigs => "DescribeConfigs",
        AclOperation::AlterConfigs => "AlterConfigs",
        _ => OPERATION_NAMES.iter().find(|(_, x)| *x == o).map_or("All", |(n, _)| n),
    }
}

fn permission(v: Option<&str>) -> Result<AclPermission, AlibabaError> {
    match v.unwrap_or("ALLOW") {
        "" | "ALLOW" => Ok(AclPermission::Allow),
        "DENY" => Ok(AclPermission::Deny),
        other => {
            Err(AlibabaError::InvalidParameter("AclPermissionType".into(), format!("{other:?} is not ALLOW or DENY.")))
        }
    }
}

/// CreateAcl: Username, AclResourceType, AclResourceName, AclResourcePatternType, AclOperationType
/// (comma-separated list allowed), AclPermissionType (default ALLOW), Host (default `*`).
pub fn create_acl(ctx: &Ctx<'_>, q: AclInput) -> Result<Map<String, Value>, AlibabaError> {
    check_version(ctx, "CreateAcl")?;
    let instance = check_instance_id(&q.instance_id)?;
    let region = check_region(q.region_id.as_deref(), true)?;
    let user = required(&q.username, "Username")?;
    let kind = resource_type(required(&q.resource_type, "AclResourceType")?)?;
    let name = required(&q.resource_name, "AclResourceName")?;
    let pattern_type = pattern(required(&q.pattern_type, "AclResourcePatternType")?)?;
    let ops_text = match q.operations.as_deref().filter(|o| !o.is_empty()) {
        Some(list) => list,
        None => required(&q.operation, "AclOperationType")?,
    };
    let ops = ops_text.split(',').map(|o| operation(o.trim())).collect::<Result<Vec<_>, _>>()?;
    let perm = permission(q.permission.as_deref())?;
    let host = q.host.clone().filter(|h| !h.is_empty()).unwrap_or_else(|| "*".into());
    let principal = format!("User:{user}");
    let rules = ops
        .into_iter()
        .map(|op| AclRule {
            resource_type: kind,
            resource_name: name.to_string(),
            pattern_type,
            principal: principal.clone(),
            host: host.clone(),
            operation: op,
            permission: perm,
            created_at_ms: Millis(0),
        })
        .collect();
    ctx.model.create_acls(ctx.scope(region), instance, rules).map_err(map_err)?;
    Ok(Map::new())
}

/// DescribeAcls: `KafkaAclList.KafkaAclVO[]` filtered by Username, AclResourceType, AclResourceName.
pub fn describe_acls(ctx: &Ctx<'_>, q: AclInput) -> Result<Map<String, Value>, AlibabaError> {
    check_version(ctx, "DescribeAcls")?;
    let instance = check_instance_id(&q.instance_id)?;
    let region = check_region(q.region_id.as_deref(), true)?;
    let principal = q.username.as_deref().filter(|u| !u.is_empty()).map(|u| format!("User:{u}"));
    let filter = AclFilter {
        resource_type: q.resource_type.as_deref().filter(|t| !t.is_empty()).map(resource_type).transpose()?,
        resource_name: q.resource_name.as_deref().filter(|n| !n.is_empty()),
        principal: principal.as_deref(),
        ..AclFilter::default()
    };
    let acls: Vec<Value> = ctx.model.read_instance(ctx.scope(region), instance, |i| {
        i.acls()
            .values()
            .filter(|r| filter.matches(r))
            .map(|r| {
                json!({
                    "AclResourceType": resource_type_name(r.resource_type), "AclResourceName": r.resource_name,
                    "AclResourcePatternType": if r.pattern_type == AclPatternType::Prefixed { "PREFIXED" } else { "LITERAL" },
                    "AclOperationType": operation_name(r.operation),
                    "Username": r.principal.strip_prefix("User:").unwrap_or(&r.principal), "Host": r.host,
                    "AclPermissionType": if r.permission == AclPermission::Deny { "DENY" } else { "ALLOW" },
                })
            })
            .collect()
    })?;
    Ok(fields(json!({"KafkaAclList": {"KafkaAclVO": acls}})))
}

/// DeleteAcl: the rules matching the given fields (Username, AclResourceType, AclResourceName required).
pub fn delete_acl(ctx: &Ctx<'_>, q: AclInput) -> Result<Map<String, Value>, AlibabaError> {
    check_version(ctx, "DeleteAcl")?;
    let instance = check_instance_id(&q.instance_id)?;
    let region = check_region(q.region_id.as_deref(), true)?;
    let principal = format!("User:{}", required(&q.username, "Username")?);
    let filter = AclFilter {
        resource_type: Some(resource_type(required(&q.resource_type, "AclResourceType")?)?),
        resource_name: Some(required(&q.resource_name, "AclResourceName")?),
        pattern_type: q.pattern_type.as_deref().filter(|p| !p.is_empty()).map(pattern).transpose()?,
        principal: Some(&principal),
        host: q.host.as_deref().filter(|h| !h.is_empty()),
        operation: q.operation.as_deref().filter(|o| !o.is_empty()).map(operation).transpose()?,
        permission: q.permission.as_deref().filter(|p| !p.is_empty()).map(|p| permission(Some(p))).transpose()?,
    };
    ctx.model.delete_acls(ctx.scope(region), instance, &filter).map_err(map_err)?;
    Ok(Map::new())
}

#[derive(Deserialize)]
pub struct TopicChangeInput {
    #[serde(rename = "InstanceId")]
    instance_id: String,
    #[serde(rename = "RegionId")]
    region_id: Option<String>,
    #[serde(rename = "Topic")]
    topic: Option<String>,
    #[serde(rename = "Remark")]
    remark: Option<String>,
    #[serde(rename = "AddPartitionNum")]
    add_partition_num: Option<String>,
}
impl Input for TopicChangeInput {}

/// ModifyTopicRemark (2019-09-16): Topic, Remark (at most 64 characters).
pub fn modify_topic_remark(ctx: &Ctx<'_>, q: TopicChangeInput) -> Result<Map<String, Value>, AlibabaError> {
    check_version(ctx, "ModifyTopicRemark")?;
    let instance = check_instance_id(&q.instance_id)?;
    let region = check_region(q.region_id.as_deref(), true)?;
    let topic = required(&q.topic, "Topic")?;
    let remark = q.remark.clone().unwrap_or_default();
    super::wire::remark("Remark", &remark)?;
    let update = crate::engine::kafka::TopicUpdate { remark: Some(remark), ..Default::default() };
    ctx.model.update_topic(ctx.scope(region), instance, topic, update)?;
    Ok(Map::new())
}

/// ModifyPartitionNum (2019-09-16): Topic, AddPartitionNum (how many partitions to add, at least 1).
pub fn modify_partition_num(ctx: &Ctx<'_>, q: TopicChangeInput) -> Result<Map<String, Value>, AlibabaError> {
    check_version(ctx, "ModifyPartitionNum")?;
    let instance = check_instance_id(&q.instance_id)?;
    let region = check_region(q.region_id.as_deref(), true)?;
    let topic = required(&q.topic, "Topic")?;
    let add: u32 =
        required(&q.add_partition_num, "AddPartitionNum")?.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            AlibabaError::InvalidParameter("AddPartitionNum".into(), "must be a positive integer.".into())
        })?;
    let scope = ctx.scope(region);
    let current = ctx.model.topic_partition_count(scope, instance, topic)?;
    let total = current
        .checked_add(add)
        .ok_or_else(|| AlibabaError::InvalidParameter("AddPartitionNum".into(), "too large.".into()))?;
    ctx.model.grow_partitions(scope, instance, topic, total)?;
    Ok(Map::new())
}

#[derive(Deserialize)]
pub struct UpdateConsumerOffsetInput {
    #[serde(rename = "InstanceId")]
    instance_id: String,
    #[serde(rename = "RegionId")]
    region_id: Option<String>,
    #[serde(rename = "ConsumerId")]
    consumer_id: Option<String>,
    #[serde(rename = "Topic")]
    topic: Option<String>,
    #[serde(rename = "ResetType")]
    reset_type: Option<String>,
    #[serde(rename = "Time")]
    time: Option<String>,
    /// A JSON array of `{"Partition": n, "Offset": n}`.
    #[serde(rename = "Offsets")]
    offsets: Option<String>,
}
impl Input for UpdateConsumerOffsetInput {}

#[derive(Deserialize)]
struct PartitionOffset {
    #[serde(rename = "Partition")]
    partition: u32,
    #[serde(rename = "Offset")]
    offset: i64,
}

/// UpdateConsumerOffset (2019-09-16): ConsumerId, Topic, ResetType `offset` (Offsets: JSON
/// `[{"Partition","Offset"}]`) or `timestamp` (Time in ms: before a partition's last write its log start,
/// otherwise its end, as localyun keeps no per-message times; `-1` latest, `-2` earliest). Offsets are
/// clamped to each partition's log; the group must exist.
pub fn update_consumer_offset(ctx: &Ctx<'_>, q: UpdateConsumerOffsetInput) -> Result<Map<String, Value>, AlibabaError> {
    check_version(ctx, "UpdateConsumerOffset")?;
    let instance = check_instance_id(&q.instance_id)?;
    let region = check_region(q.region_id.as_deref(), true)?;
    let group = required(&q.consumer_id, "ConsumerId")?;
    let topic = required(&q.topic, "Topic")?;
    let wanted: Option<Vec<PartitionOffset>> = match required(&q.reset_type, "ResetType")? {
        "offset" => Some(serde_json::from_str(required(&q.offsets, "Offsets")?).map_err(|_| {
            AlibabaError::InvalidParameter(
                "Offsets".into(),
                "must be a JSON array of {\"Partition\",\"Offset\"}.".into(),
            )
        })?),
        "timestamp" => None,
        other => {
            return Err(AlibabaError::InvalidParameter(
                "ResetType".into(),
                format!("{other:?} is not offset or timestamp."),
            ))
        }
    };
    let time: i64 = match (&wanted, q.time.as_deref()) {
        (None, Some(t)) => {
            t.parse().map_err(|_| AlibabaError::InvalidParameter("Time".into(), "must be milliseconds.".into()))?
        }
        (None, None) => return Err(AlibabaError::MissingParameter("Time".into())),
        (Some(_), _) => 0,
    };
    let scope = ctx.scope(region);
    let plan = ctx.model.read_instance(scope, instance, |i| -> Result<Vec<(u32, i64)>, AlibabaError> {
        i.group(group)?;
        let offsets = i.topic_offsets(topic)?;
        let clamp =
            |p: &crate::engine::kafka::PartitionOffsets, o: i64| o.clamp(p.min_offset, p.max_offset.max(p.min_offset));
        match &wanted {
            Some(list) => list
                .iter()
                .map(|w| {
                    let p = offsets.partitions.get(w.partition as usize).ok_or_else(|| {
                        AlibabaError::InvalidParameter(
                            "Offsets".into(),
                            format!("partition {} does not exist.", w.partition),
                        )
                    })?;
                    Ok((w.partition, clamp(p, w.offset)))
                })
                .collect(),
            None => Ok(offsets
                .partitions
                .iter()
                .map(|p| {
                    let target = match time {
                        -1 => p.max_offset,
                        -2 => p.min_offset,
                        t if t <= p.last_update.0 => p.min_offset,
                        _ => p.max_offset,
                    };
                    (p.partition, clamp(p, target))
                })
                .collect()),
        }
    })??;
    for (partition, offset) in plan {
        let commit = crate::engine::kafka::OffsetCommit { group, topic, partition, offset, produced_at: None };
        ctx.model.commit_offset(scope, instance, commit)?;
    }
    Ok(Map::new())
}

#[derive(Deserialize)]
pub struct AllowedIpInput {
    #[serde(rename = "InstanceId")]
    instance_id: String,
    #[serde(rename = "RegionId")]
    region_id: Option<String>,
    #[serde(rename = "UpdateType")]
    update_type: Option<String>,
    #[serde(rename = "PortRange")]
    port_range: Option<String>,
    #[serde(rename = "AllowedListType")]
    list_type: Option<String>,
    #[serde(rename = "AllowedListIp")]
    ips: Option<String>,
    #[serde(rename = "Description")]
    description: Option<String>,
}
impl Input for AllowedIpInput {}

/// An IPv4/IPv6 address or CIDR block.
fn valid_ip(ip: &str) -> bool {
    let (addr, prefix) = match ip.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (ip, None),
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(a) => {
            let max = if a.is_ipv4() { 32 } else { 128 };
            prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|p| p <= max))
        }
        Err(_) => false,
    }
}

/// GetAllowedIpList (2019-09-16): `AllowedList` with `VpcList` and `InternetList`, one row per port range
/// (`PortRange`, `AllowedIpList`); the default VPC port range `9092/9092` is always listed.
pub fn get_allowed_ip_list(ctx: &Ctx<'_>, q: AllowedIpInput) -> Result<Map<String, Value>, AlibabaError> {
    check_version(ctx, "GetAllowedIpList")?;
    let instance = check_instance_id(&q.instance_id)?;
    let region = check_region(q.region_id.as_deref(), true)?;
    let entries = ctx.model.read_instance(ctx.scope(region), instance, |i| i.attributes.allowed_ips.clone())?;
    let rows = |list_type: &str, default: Option<&str>| -> Vec<Value> {
        let mut ranges: Vec<&str> =
            entries.iter().filter(|e| e.list_type == list_type).map(|e| e.port_range.as_str()).collect();
        ranges.extend(default);
        ranges.sort_unstable();
        ranges.dedup();
        ranges
            .into_iter()
            .map(|range| {
                let ips: Vec<&str> = entries
                    .iter()
                    .filter(|e| e.list_type == list_type && e.port_range == range)
                    .map(|e| e.ip.as_str())
                    .collect();
                json!({"PortRange": range, "AllowedIpList": ips})
            })
            .collect()
    };
    Ok(fields(json!({"AllowedList": {
        "DeployType": 5,
        "VpcList": rows("vpc", Some("9092/9092")),
        "InternetList": rows("internet", None),
    }})))
}

/// UpdateAllowedIp (2019-09-16): UpdateType `add` or `delete`, AllowedListType `vpc` or `internet`,
/// PortRange (e.g. `9092/9092`), AllowedListIp (comma-separated IPs or CIDR blocks), Description.
pub fn update_allowed_ip(ctx: &Ctx<'_>, q: AllowedIpInput) -> Result<Map<String, Value>, AlibabaError> {
    check_version(ctx, "UpdateAllowedIp")?;
    let instance = check_instance_id(&q.instance_id)?;
    let region = check_region(q.region_id.as_deref(), true)?;
    let add = match required(&q.update_type, "UpdateType")? {
        "add" => true,
        "delete" => false,
        other => {
            return Err(AlibabaError::InvalidParameter("UpdateType".into(), format!("{other:?} is not add or delete.")))
        }
    };
    let list_type = required(&q.list_type, "AllowedListType")?;
    if list_type != "vpc" && list_type != "internet" {
        return Err(AlibabaError::InvalidParameter(
            "AllowedListType".into(),
            format!("{list_type:?} is not vpc or internet."),
        ));
    }
    let port_range = required(&q.port_range, "PortRange")?;
    let valid_range = port_range
        .split_once('/')
        .is_some_and(|(a, b)| a.parse::<u16>().is_ok_and(|a| b.parse::<u16>().is_ok_and(|b| a <= b)));
    if !valid_range {
        return Err(AlibabaError::InvalidParameter(
            "PortRange".into(),
            format!("{port_range:?} is not like 9092/9092."),
        ));
    }
    let ips: Vec<&str> =
        required(&q.ips, "AllowedListIp")?.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if let Some(bad) = ips.iter().find(|ip| !valid_ip(ip)) {
        return Err(AlibabaError::InvalidParameter(
            "AllowedListIp".into(),
            format!("{bad:?} is not an IP or CIDR block."),
        ));
    }
    let description = q.description.clone().unwrap_or_default();
    super::wire::remark("Description", &description)?;
    let entries = ips
        .into_iter()
        .map(|ip| AllowedIp {
            list_type: list_type.to_string(),
            port_range: port_range.to_string(),
            ip: ip.to_string(),
            description: description.clone(),
        })
        .collect();
    ctx.model.update_allowed_ips(ctx.scope(region), instance, add, entries).map_err(map_err)?;
    Ok(Map::new())
}
