//! Instance actions: ListInstance, GetInstanceAttributes, SetInstanceAttributes. CKafka v2 has no
//! CreateInstance: instances come from fixtures.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::TencentError;
use super::wire::{check_range, Input, Paging, Params};
use super::{ok, ok_empty, status_code, Ctx, Reply};
use crate::engine::kafka::InstanceUpdate;
use crate::tencent::params_de::present;

/// ListInstance's parameters (all optional filters; `status.n` is an array).
#[derive(Deserialize)]
pub struct ListInstance {
    #[serde(rename = "instanceId")]
    instance_id: Option<String>,
    #[serde(rename = "searchWord")]
    search_word: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
    #[serde(skip)]
    statuses: Vec<i64>,
}

impl Input for ListInstance {
    fn lists(&mut self, p: &Params<'_>) -> Result<(), TencentError> {
        self.statuses = p
            .list(&["status"])
            .iter()
            .map(|s| match s.trim().parse::<i64>() {
                Ok(v @ 0..=2) => Ok(v),
                _ => Err(TencentError::InvalidParameter("status.n".into(), format!("{s:?} is not 0, 1 or 2"))),
            })
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(())
    }
}

/// ListInstance: the caller's instances in the region, filtered by id, name and `status.n`, paged.
pub fn list_instance(ctx: &Ctx<'_>, input: ListInstance) -> Result<Reply, TencentError> {
    let (offset, limit) = Paging { offset: input.offset, limit: input.limit }.get(10, 20)?;
    let (id_filter, search, statuses) = (input.instance_id.as_deref(), input.search_word.as_deref(), &input.statuses);
    let matching: Vec<Value> = ctx
        .model
        .instances_of(ctx.scope())
        .iter()
        .map(|h| h.read())
        .filter(|i| id_filter.is_none_or(|id| i.id == id))
        .filter(|i| search.is_none_or(|s| i.name.contains(s)))
        .filter(|i| statuses.is_empty() || statuses.contains(&status_code(i.status)))
        .map(|i| json!({"instanceId": i.id, "instanceName": i.name, "status": status_code(i.status)}))
        .collect();
    let total = matching.len();
    let page: Vec<Value> = matching.into_iter().skip(offset).take(limit).collect();
    let mut fields = Map::new();
    fields.insert("totalCount".into(), json!(total));
    fields.insert("instanceList".into(), Value::Array(page));
    ok(&fields)
}

/// The parameters of actions that name one instance (GetInstanceAttributes).
#[derive(Deserialize)]
pub struct InstanceRef {
    #[serde(rename = "instanceId")]
    instance_id: String,
}

impl Input for InstanceRef {}

/// GetInstanceAttributes: one instance's attributes (seed section GetInstanceAttributes). `vip:vport` is
/// where the data plane serves the instance's PLAINTEXT access point (`LOCALYUN_KAFKA_PORT_OFFSET` and
/// `LOCALYUN_KAFKA_ADVERTISED_HOST` applied, see [`crate::kafka::ServedAddress`]).
pub fn get_instance_attributes(ctx: &Ctx<'_>, input: InstanceRef) -> Result<Reply, TencentError> {
    let served = crate::kafka::ServedAddress::of(ctx.state);
    let body = ctx.model.read_instance(ctx.scope(), &input.instance_id, |i| {
        let zone: Value = i.zone_id.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(i.zone_id.clone()));
        json!({
            "instanceId": i.id,
            "instanceName": i.name,
            "vip": served.host(&i.vip),
            "vport": served.port(i.vport, crate::kafka::Security::Plaintext),
            "status": status_code(i.status),
            "bandwidth": i.bandwidth_mbps,
            "diskSize": i.disk_gb,
            // The seed's table says `vpclId`, its example `vpcId`: both are sent.
            "vpcId": i.vpc_id,
            "vpclId": i.vpc_id,
            "subnetId": i.subnet_id,
            "zoneId": zone,
            "maxRetentionTime": i.msg_retention_minutes,
            "createTime": i.created_at_ms.as_secs(),
        })
    })?;
    ok(&body)
}

/// At most 30 days, in minutes.
const MAX_RETENTION_MINUTES: i64 = 30 * 24 * 60;

/// SetInstanceAttributes' rule for instance names (fixtures use it too): 1 to 64 bytes.
pub fn check_instance_name(name: &str) -> Result<(), TencentError> {
    if name.is_empty() || name.len() > 64 {
        return Err(TencentError::InvalidParameter("instanceName".into(), "1 to 64 bytes".into()));
    }
    Ok(())
}

/// SetInstanceAttributes' parameters; an empty `instanceName` is refused, not ignored.
#[derive(Deserialize)]
pub struct SetInstanceAttributes {
    #[serde(rename = "instanceId")]
    instance_id: String,
    #[serde(rename = "instanceName", default, deserialize_with = "present")]
    instance_name: Option<String>,
    #[serde(rename = "msgRetentionTime")]
    msg_retention_time: Option<i64>,
}

impl Input for SetInstanceAttributes {}

/// SetInstanceAttributes: renames an instance and/or changes its retention (minutes).
pub fn set_instance_attributes(ctx: &Ctx<'_>, input: SetInstanceAttributes) -> Result<Reply, TencentError> {
    if let Some(n) = &input.instance_name {
        check_instance_name(n)?;
    }
    let retention = check_range("msgRetentionTime", input.msg_retention_time, 1, MAX_RETENTION_MINUTES)?;
    let update = InstanceUpdate {
        name: input.instance_name,
        msg_retention_minutes: retention.map(|r| r as u64),
        ..InstanceUpdate::default()
    };
    ctx.model.update_instance(ctx.scope(), &input.instance_id, update)?;
    ok_empty()
}
