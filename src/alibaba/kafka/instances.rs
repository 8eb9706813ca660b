//! GetInstanceList: the caller's instances in a region (instances come from fixtures; this API creates none).

use serde::Serialize;
use serde_json::Value;

use super::error::AlibabaError;
use super::wire::{Params, Reply};
use super::{region, ApiVersion, Ctx, TagList};
use crate::engine::kafka::{InstanceStatus, KafkaInstance};
use crate::engine::Cloud;

pub fn get_instance_list(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, AlibabaError> {
    let region = region(p, true)?;
    // 2019-09-16 filters: InstanceId.N, ResourceGroupId, Tag.N (absent in 2018-10-15, so ignored there).
    let (ids, resource_group, tags) = match ctx.version {
        ApiVersion::V20181015 => (Vec::new(), None, Vec::new()),
        ApiVersion::V20190916 => (p.repeat_list("InstanceId"), p.non_empty("ResourceGroupId"), p.tags()?),
    };
    let model = ctx.state.store.kafka.read();
    let items: Vec<InstanceVo<'_>> = model
        .instances_of(Cloud::Alibaba, ctx.account, region)
        .filter(|i| ids.is_empty() || ids.contains(&i.id.as_str()))
        .filter(|i| resource_group.is_none_or(|rg| resource_group_of(i) == rg))
        .filter(|i| tags.iter().all(|(k, v)| has_tag(i, k, v)))
        .map(|i| InstanceVo::of(i, ctx.version))
        .collect();
    Ok(ctx.reply(&InstancePage { instance_list: InstanceList { instance_vo: items } }))
}

#[derive(Serialize)]
struct InstancePage<'a> {
    #[serde(rename = "InstanceList")]
    instance_list: InstanceList<'a>,
}

#[derive(Serialize)]
struct InstanceList<'a> {
    #[serde(rename = "InstanceVO")]
    instance_vo: Vec<InstanceVo<'a>>,
}

/// Terraform's ServiceStatus enum: 5 in service, 0 waiting for deployment, 10 released.
fn service_status(s: InstanceStatus) -> i64 {
    match s {
        InstanceStatus::Creating => 0,
        InstanceStatus::Running => 5,
        InstanceStatus::Deleting => 10,
    }
}

fn resource_group_of(i: &KafkaInstance) -> &str {
    i.extra.get("ResourceGroupId").and_then(Value::as_str).unwrap_or("rg-default")
}

fn has_tag(i: &KafkaInstance, key: &str, value: &str) -> bool {
    i.extra
        .get("Tags")
        .and_then(Value::as_array)
        .is_some_and(|tags| tags.iter().any(|t| t["Key"] == key && (value.is_empty() || t["Value"] == value)))
}

/// An attribute kept in the instance's `extra` as stored (any JSON), or its default.
#[derive(Serialize)]
#[serde(untagged)]
enum Attr<'a, D> {
    Stored(&'a Value),
    Default(D),
}

fn attr<'a, D>(i: &'a KafkaInstance, key: &str, default: D) -> Attr<'a, D> {
    i.extra.get(key).map_or(Attr::Default(default), Attr::Stored)
}

/// An instance as GetInstanceList shows it; 2019-09-16 adds the fields of `InstanceMore`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceVo<'a> {
    instance_id: &'a str,
    name: &'a str,
    region_id: &'a str,
    create_time: i64,
    expired_time: Attr<'a, i64>,
    deploy_type: Attr<'a, i64>,
    service_status: i64,
    end_point: String,
    ssl_end_point: String,
    vpc_id: &'a str,
    #[serde(rename = "VSwitchId")]
    v_switch_id: &'a str,
    upgrade_service_detail_info: UpgradeInfo<'a>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    more: Option<InstanceMore<'a>>,
}

#[derive(Serialize)]
struct UpgradeInfo<'a> {
    #[serde(rename = "Current2OpenSourceVersion")]
    open_source_version: Attr<'a, &'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceMore<'a> {
    zone_id: &'a str,
    io_max: u32,
    eip_max: u32,
    disk_size: u32,
    disk_type: Attr<'a, i64>,
    msg_retain: u64,
    topic_num_limit: u32,
    paid_type: Attr<'a, i64>,
    spec_type: Attr<'a, &'static str>,
    service_version: &'static str,
    resource_group_id: &'a str,
    domain_endpoint: String,
    ssl_domain_endpoint: String,
    tags: TagList<'a>,
}

impl<'a> InstanceVo<'a> {
    fn of(i: &'a KafkaInstance, version: ApiVersion) -> Self {
        let endpoint = |port: u16| format!("{}:{port}", i.vip);
        let more = (version == ApiVersion::V20190916).then(|| InstanceMore {
            zone_id: &i.zone_id,
            io_max: i.bandwidth_mbps,
            eip_max: 0,
            disk_size: i.disk_gb,
            disk_type: attr(i, "DiskType", 0),
            msg_retain: i.msg_retention_minutes / 60,
            topic_num_limit: i.max_topics,
            paid_type: attr(i, "PaidType", 0),
            spec_type: attr(i, "SpecType", "normal"),
            service_version: "2.2.0",
            resource_group_id: resource_group_of(i),
            domain_endpoint: endpoint(i.vport),
            ssl_domain_endpoint: endpoint(i.vport.saturating_add(1)),
            tags: TagList::of(&i.extra),
        });
        InstanceVo {
            instance_id: &i.id,
            name: &i.name,
            region_id: &i.region,
            create_time: i.created_at.saturating_mul(1000),
            expired_time: attr(i, "ExpiredTime", 0),
            deploy_type: attr(i, "DeployType", 5),
            service_status: service_status(i.status),
            end_point: endpoint(i.vport),
            ssl_end_point: endpoint(i.vport.saturating_add(1)),
            vpc_id: &i.vpc_id,
            v_switch_id: &i.subnet_id,
            upgrade_service_detail_info: UpgradeInfo { open_source_version: attr(i, "OpenSourceVersion", "0.10") },
            more,
        }
    }
}
