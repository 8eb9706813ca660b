//! Instance actions: ListInstance, GetInstanceAttributes, SetInstanceAttributes. CKafka v2 has no
//! CreateInstance: instances come from fixtures.

use serde_json::{json, Map, Value};

use super::error::TencentError;
use super::topics::{instance, instance_mut};
use super::wire::Params;
use super::{ok, ok_empty, Ctx, Reply};
use crate::engine::Cloud;

pub fn list_instance(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, TencentError> {
    let id_filter = p.get("instanceId").filter(|s| !s.is_empty());
    let search = p.get("searchWord").filter(|s| !s.is_empty());
    let statuses = p
        .list(&["status"])
        .iter()
        .map(|s| match s.trim().parse::<i64>() {
            Ok(v @ 0..=2) => Ok(v),
            _ => Err(TencentError::InvalidParameter("status.n".into(), format!("{s:?} is not 0, 1 or 2"))),
        })
        .collect::<Result<Vec<i64>, _>>()?;
    let (offset, limit) = p.paging(10, 20)?;
    let model = ctx.state.store.kafka.read();
    let matching: Vec<Value> = model
        .instances_of(Cloud::Tencent, ctx.account, Some(ctx.region))
        .filter(|i| id_filter.is_none_or(|id| i.id == id))
        .filter(|i| search.is_none_or(|s| i.name.contains(s)))
        .filter(|i| statuses.is_empty() || statuses.contains(&i.status.code()))
        .map(|i| json!({"instanceId": i.id, "instanceName": i.name, "status": i.status.code()}))
        .collect();
    let total = matching.len();
    let page: Vec<Value> = matching.into_iter().skip(offset).take(limit).collect();
    let mut fields = Map::new();
    fields.insert("totalCount".into(), json!(total));
    fields.insert("instanceList".into(), Value::Array(page));
    ok(&fields)
}

pub fn get_instance_attributes(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, TencentError> {
    let id = p.required("instanceId")?;
    let model = ctx.state.store.kafka.read();
    let i = instance(&model, ctx, id)?;
    let zone: Value = i.zone_id.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(i.zone_id.clone()));
    let body = json!({
        "instanceId": i.id,
        "instanceName": i.name,
        "vip": i.vip,
        "vport": i.vport,
        "status": i.status.code(),
        "bandwidth": i.bandwidth_mbps,
        "diskSize": i.disk_gb,
        // The seed's table says `vpclId`, its example `vpcId`: both are sent.
        "vpcId": i.vpc_id,
        "vpclId": i.vpc_id,
        "subnetId": i.subnet_id,
        "zoneId": zone,
        "maxRetentionTime": i.msg_retention_minutes,
        "createTime": i.created_at,
    });
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

pub fn set_instance_attributes(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, TencentError> {
    let id = p.required("instanceId")?;
    let name = p.get("instanceName");
    if let Some(n) = name {
        check_instance_name(n)?;
    }
    let retention = p.opt_int_in("msgRetentionTime", 1, MAX_RETENTION_MINUTES)?;
    let mut model = ctx.state.store.kafka.write();
    let i = instance_mut(&mut model, ctx, id)?;
    if let Some(n) = name {
        i.name = n.to_string();
    }
    if let Some(r) = retention {
        i.msg_retention_minutes = r as u64;
    }
    ok_empty()
}
