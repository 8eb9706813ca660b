//! Region, cluster and instance routes: region/list, cluster/list, vpcTunnel/tunnelSwitch, instance/baseInfo,
//! create, delete, list, update.

use serde_json::{json, Value};

use super::error::ApiError;
use super::wire::{format_ms, Params, Reply};
use super::{new_instance_id, Ctx};
use crate::engine::rocketmq::NewInstance;

/// The broker load above which a tunnel switch without `force` is refused (seed: "InTps + OutTps > 10").
const TUNNEL_SWITCH_MAX_TPS: f64 = 10.0;

pub fn region_list(ctx: &Ctx<'_>, _p: &Params) -> Result<Reply, ApiError> {
    let model = ctx.state.store.rocketmq.read();
    let regions: Vec<Value> =
        model.regions.values().map(|r| json!({"id": r.id, "regionId": r.region_id, "regionName": r.name})).collect();
    Ok(Reply::data(Value::from(regions)))
}

pub fn cluster_list(ctx: &Ctx<'_>, _p: &Params) -> Result<Reply, ApiError> {
    let model = ctx.state.store.rocketmq.read();
    let clusters: Vec<Value> = model
        .clusters_in(ctx.region)
        .map(|c| {
            json!({
                "regionId": c.region_id,
                "cluster": c.name,
                "createTime": format_ms(c.created_ms),
                "modifyTime": format_ms(c.modified_ms),
            })
        })
        .collect();
    Ok(Reply::data(Value::from(clusters)))
}

pub fn tunnel_switch(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let tunnel_type = p.required("tunnelType")?;
    if tunnel_type != "anyTunnel" && tunnel_type != "singleTunnel" {
        return Err(ApiError::field("parameter tunnelType: must be anyTunnel or singleTunnel"));
    }
    let instance_id = p.required("instanceId")?;
    let force = p.opt_bool("force")?.unwrap_or(false);
    // vSwitchId only matters for singleTunnel ("tunnelType为singleTunnel时有效").
    let vswitch = if tunnel_type == "singleTunnel" { p.get("vSwitchId").unwrap_or("") } else { "" };
    let mut model = ctx.state.store.rocketmq.write();
    model.instance(ctx.account, ctx.region, instance_id)?;
    let tps = model.instance_tps(instance_id)?;
    if !force && tps > TUNNEL_SWITCH_MAX_TPS {
        return Err(ApiError::new(
            "ONS_INVOKE_ERROR",
            format!("the brokers carry {tps:.1} TPS (> {TUNNEL_SWITCH_MAX_TPS}); pass force=true to switch anyway"),
        ));
    }
    let instance = model.instance_mut(ctx.account, ctx.region, instance_id)?;
    instance.tunnel_type = tunnel_type.to_string();
    instance.vswitch_id = vswitch.to_string();
    // "以JSON格式返回NameServer的VIP地址": the address clients put into NAMESRV_ADDR.
    Ok(Reply::data(Value::from(instance.name_server.clone())))
}

pub fn base_info(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let instance_id = p.required("instanceId")?;
    let model = ctx.state.store.rocketmq.read();
    let i = model.instance(ctx.account, ctx.region, instance_id)?;
    // The seed names this object `InstanceBaseInfo`; like every answer it travels in `data`.
    Ok(Reply::data(json!({
        "instanceId": i.id,
        "instanceName": i.name,
        "independentNaming": i.independent_naming,
        "Endpoints": {"tcpEndpoint": i.name_server},
        "maxSendTps": i.max_send_tps,
        "maxReceiveTps": i.max_receive_tps,
        "topicCapacity": i.topic_capacity,
    })))
}

pub fn create(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let cluster = p.required("cluster")?;
    let name = p.required("instanceName")?;
    let independent_naming = p.required_bool("independentNaming")?;
    let remark = p.get("remark").unwrap_or("");
    let max_send_tps = p.required_i64("maxSendTps")?;
    let max_receive_tps = p.required_i64("maxReceiveTps")?;
    let topic_capacity = match p.opt_i64("topicCapacity")? {
        None => None,
        Some(c) => Some(
            u32::try_from(c)
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| ApiError::field("parameter topicCapacity: must be a positive number"))?,
        ),
    };
    let mut model = ctx.state.store.rocketmq.write();
    let instance = model.create_instance(NewInstance {
        id: new_instance_id(ctx.account),
        account: ctx.account.to_string(),
        region: ctx.region.to_string(),
        cluster: cluster.to_string(),
        name: name.to_string(),
        remark: remark.to_string(),
        independent_naming,
        max_send_tps,
        max_receive_tps,
        topic_capacity,
    })?;
    // The seed documents no answer fields; the new id is what a client needs next.
    Ok(Reply::data(json!({"instanceId": instance.id})))
}

pub fn delete(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let instance_id = p.required("instanceId")?;
    ctx.state.store.rocketmq.write().delete_instance(ctx.account, ctx.region, instance_id)?;
    Ok(Reply::empty())
}

pub fn list(ctx: &Ctx<'_>, _p: &Params) -> Result<Reply, ApiError> {
    let model = ctx.state.store.rocketmq.read();
    let list: Vec<Value> = model
        .instances_of(ctx.account, ctx.region)
        .map(|i| json!({"instanceId": i.id, "instanceName": i.name, "namespaceRulesType": i.independent_naming}))
        .collect();
    Ok(Reply::data(Value::from(list)))
}

pub fn update(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let instance_id = p.required("instanceId")?;
    // Empty values leave a field unchanged ("传空值则不修改"); `get` treats empty as absent.
    let name = p.get("instanceName");
    let remark = p.get("remark");
    ctx.state.store.rocketmq.write().update_instance(ctx.account, ctx.region, instance_id, name, remark)?;
    Ok(Reply::empty())
}
