//! Region, cluster and instance routes: region/list, cluster/list, vpcTunnel/tunnelSwitch, instance/baseInfo,
//! create, delete, list, update.

use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::input::parse;
use super::wire::{format_ms, Params, Reply};
use super::{new_instance_id, Ctx};
use crate::engine::rocketmq::{NewInstance, Tunnel};

/// The broker load above which a tunnel switch without `force` is refused (seed: "InTps + OutTps > 10").
const TUNNEL_SWITCH_MAX_TPS: f64 = 10.0;

pub fn region_list(ctx: &Ctx<'_>, _p: &Params) -> Result<Reply, ApiError> {
    let regions: Vec<Value> = ctx
        .model
        .regions()
        .iter()
        .map(|r| json!({"id": r.id, "regionId": r.region_id, "regionName": r.name}))
        .collect();
    Ok(Reply::data(Value::from(regions)))
}

pub fn cluster_list(ctx: &Ctx<'_>, _p: &Params) -> Result<Reply, ApiError> {
    let clusters: Vec<Value> = ctx
        .model
        .clusters_in(ctx.region)
        .iter()
        .map(|c| {
            json!({
                "regionId": c.region_id,
                "cluster": c.name,
                "createTime": format_ms(c.created_ms.as_ms()),
                "modifyTime": format_ms(c.modified_ms.as_ms()),
            })
        })
        .collect();
    Ok(Reply::data(Value::from(clusters)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TunnelSwitch {
    tunnel_type: String,
    instance_id: String,
    force: Option<bool>,
    #[serde(rename = "vSwitchId")]
    vswitch_id: Option<String>,
}

pub fn tunnel_switch(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: TunnelSwitch = parse(p)?;
    let tunnel = match input.tunnel_type.as_str() {
        "anyTunnel" => Tunnel::Any,
        "singleTunnel" => Tunnel::Single,
        _ => return Err(ApiError::field("parameter tunnelType: must be anyTunnel or singleTunnel")),
    };
    // vSwitchId only matters for singleTunnel ("tunnelType为singleTunnel时有效").
    let vswitch = if tunnel == Tunnel::Single { input.vswitch_id.as_deref().unwrap_or("") } else { "" };
    let tps = ctx.instance(&input.instance_id)?.read().tps();
    if !input.force.unwrap_or(false) && tps > TUNNEL_SWITCH_MAX_TPS {
        return Err(ApiError::new(
            "ONS_INVOKE_ERROR",
            format!("the brokers carry {tps:.1} TPS (> {TUNNEL_SWITCH_MAX_TPS}); pass force=true to switch anyway"),
        ));
    }
    let name_server = ctx.model.switch_tunnel(ctx.account, ctx.region, &input.instance_id, tunnel, vswitch)?;
    // "以JSON格式返回NameServer的VIP地址": the address clients put into NAMESRV_ADDR.
    Ok(Reply::data(Value::from(ctx.model.tcp_endpoint(&name_server))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstanceOnly {
    instance_id: String,
}

pub fn base_info(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: InstanceOnly = parse(p)?;
    let handle = ctx.instance(&input.instance_id)?;
    let i = handle.read();
    // The seed names this object `InstanceBaseInfo`; like every answer it travels in `data`.
    Ok(Reply::data(json!({
        "instanceId": i.id(),
        "instanceName": i.name(),
        "independentNaming": i.independent_naming(),
        "Endpoints": {"tcpEndpoint": ctx.model.tcp_endpoint(i.name_server())},
        "maxSendTps": i.max_send_tps(),
        "maxReceiveTps": i.max_receive_tps(),
        "topicCapacity": i.topic_capacity(),
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateInstance {
    cluster: String,
    instance_name: String,
    independent_naming: bool,
    remark: Option<String>,
    max_send_tps: i64,
    max_receive_tps: i64,
    topic_capacity: Option<i64>,
}

pub fn create(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: CreateInstance = parse(p)?;
    let topic_capacity = match input.topic_capacity {
        None => None,
        Some(c) => Some(
            u32::try_from(c)
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| ApiError::field("parameter topicCapacity: must be a positive number"))?,
        ),
    };
    let id = ctx.model.create_instance(NewInstance {
        id: new_instance_id(ctx.account),
        account: ctx.account.to_string(),
        region: ctx.region.to_string(),
        cluster: input.cluster,
        name: input.instance_name,
        remark: input.remark.unwrap_or_default(),
        independent_naming: input.independent_naming,
        max_send_tps: input.max_send_tps,
        max_receive_tps: input.max_receive_tps,
        topic_capacity,
    })?;
    // The seed documents no answer fields; the new id is what a client needs next.
    Ok(Reply::data(json!({"instanceId": id})))
}

pub fn delete(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: InstanceOnly = parse(p)?;
    ctx.model.delete_instance(ctx.account, ctx.region, &input.instance_id)?;
    Ok(Reply::empty())
}

pub fn list(ctx: &Ctx<'_>, _p: &Params) -> Result<Reply, ApiError> {
    let list: Vec<Value> = ctx
        .model
        .instances_of(ctx.account, ctx.region)
        .iter()
        .map(|h| {
            let i = h.read();
            json!({"instanceId": i.id(), "instanceName": i.name(), "namespaceRulesType": i.independent_naming()})
        })
        .collect();
    Ok(Reply::data(Value::from(list)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateInstance {
    instance_id: String,
    instance_name: Option<String>,
    remark: Option<String>,
}

pub fn update(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    // Empty values leave a field unchanged ("传空值则不修改"): an empty parameter counts as absent.
    let input: UpdateInstance = parse(p)?;
    ctx.model.update_instance(
        ctx.account,
        ctx.region,
        &input.instance_id,
        input.instance_name.as_deref(),
        input.remark.as_deref(),
    )?;
    Ok(Reply::empty())
}
