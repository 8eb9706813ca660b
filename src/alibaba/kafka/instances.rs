//! GetInstanceList: the caller's instances in a region (instances come from fixtures; this API creates none).

use crate::http::object;
use serde_json::{json, Map, Value};

use super::error::AlibabaError;
use super::wire::Params;
use super::{fields, region, tags_value, ApiVersion, Ctx};
use crate::engine::kafka::{InstanceStatus, KafkaInstance};
use crate::engine::Cloud;

pub fn get_instance_list(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, AlibabaError> {
    let region = region(p, true)?;
    // 2019-09-16 filters: InstanceId.N, ResourceGroupId, Tag.N (absent in 2018-10-15, so ignored there).
    let (ids, resource_group, tags) = match ctx.version {
        ApiVersion::V20181015 => (Vec::new(), None, Vec::new()),
        ApiVersion::V20190916 => (p.repeat_list("InstanceId"), p.non_empty("ResourceGroupId"), p.tags()?),
    };
    let model = ctx.state.store.kafka.read();
    let items: Vec<Value> = model
        .instances_of(Cloud::Alibaba, ctx.account, region)
        .filter(|i| ids.is_empty() || ids.contains(&i.id.as_str()))
        .filter(|i| resource_group.is_none_or(|rg| resource_group_of(i) == rg))
        .filter(|i| tags.iter().all(|(k, v)| has_tag(i, k, v)))
        .map(|i| instance_vo(i, ctx.version))
        .collect();
    Ok(fields(object([("InstanceList", object([("InstanceVO", Value::Array(items))]))])))
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

fn instance_vo(i: &KafkaInstance, version: ApiVersion) -> Value {
    let extra = |k: &str, default: Value| i.extra.get(k).cloned().unwrap_or(default);
    let endpoints = |port: u16| format!("{}:{port}", i.vip);
    let mut vo = json!({
        "InstanceId": i.id,
        "Name": i.name,
        "RegionId": i.region,
        "CreateTime": i.created_at.saturating_mul(1000),
        "ExpiredTime": extra("ExpiredTime", Value::from(0)),
        "DeployType": extra("DeployType", Value::from(5)),
        "ServiceStatus": service_status(i.status),
        "EndPoint": endpoints(i.vport),
        "SslEndPoint": endpoints(i.vport.saturating_add(1)),
        "VpcId": i.vpc_id,
        "VSwitchId": i.subnet_id,
        "UpgradeServiceDetailInfo": {
            "Current2OpenSourceVersion": extra("OpenSourceVersion", Value::from("0.10")),
        },
    });
    if version == ApiVersion::V20190916 {
        if let Value::Object(m) = &mut vo {
            let more = json!({
                "ZoneId": i.zone_id,
                "IoMax": i.bandwidth_mbps,
                "EipMax": 0,
                "DiskSize": i.disk_gb,
                "DiskType": extra("DiskType", Value::from(0)),
                "MsgRetain": i.msg_retention_minutes / 60,
                "TopicNumLimit": i.max_topics,
                "PaidType": extra("PaidType", Value::from(0)),
                "SpecType": extra("SpecType", Value::from("normal")),
                "ServiceVersion": "2.2.0",
                "ResourceGroupId": resource_group_of(i),
                "DomainEndpoint": endpoints(i.vport),
                "SslDomainEndpoint": endpoints(i.vport.saturating_add(1)),
                "Tags": tags_value(&i.extra),
            });
            m.extend(fields(more));
        }
    }
    vo
}
