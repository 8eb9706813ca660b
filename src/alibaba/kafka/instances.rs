//! GetInstanceList: the caller's instances in a region (instances come from fixtures; this API creates none).

use serde::{Deserialize, Serialize};

use super::error::AlibabaError;
use super::wire::{Input, Params, Reply};
use super::{check_region, ApiVersion, Ctx, TagList};
use crate::engine::kafka::{Billing, DiskType, InstanceStatus, KafkaInstance, Network};
use crate::kafka::{Security, ServedAddress};

/// GetInstanceList's parameters: RegionId; 2019-09-16 adds the filters InstanceId.N, ResourceGroupId and
/// Tag.N (absent in 2018-10-15, so ignored there).
#[derive(Deserialize)]
pub struct GetInstanceList {
    #[serde(rename = "RegionId")]
    region_id: Option<String>,
    #[serde(rename = "ResourceGroupId")]
    resource_group_id: Option<String>,
    #[serde(skip)]
    instance_ids: Vec<String>,
    #[serde(skip)]
    tags: Vec<(String, String)>,
}

impl Input for GetInstanceList {
    fn lists(&mut self, p: &Params) -> Result<(), AlibabaError> {
        self.instance_ids = p.repeat_list("InstanceId").into_iter().map(str::to_string).collect();
        self.tags = p.tags()?;
        Ok(())
    }
}

/// GetInstanceList: the caller's instances in `RegionId` (2019-09-16: filtered by ids, group, tags).
pub fn get_instance_list(ctx: &Ctx<'_>, input: GetInstanceList) -> Result<Reply, AlibabaError> {
    let region = check_region(input.region_id.as_deref(), true)?;
    let (ids, resource_group, tags) = match ctx.version {
        ApiVersion::V20181015 => (&[][..], None, &[][..]),
        ApiVersion::V20190916 => (&input.instance_ids[..], input.resource_group_id.as_deref(), &input.tags[..]),
    };
    let served = ServedAddress::of(ctx.state);
    let handles = ctx.model.instances_of(ctx.scope(region));
    // Each instance read-locked on its own, for the length of this answer.
    let guards: Vec<_> = handles.iter().map(|h| h.read()).collect();
    let items: Vec<InstanceVo<'_>> = guards
        .iter()
        .map(|g| &**g)
        .filter(|i| ids.is_empty() || ids.contains(&i.id))
        .filter(|i| resource_group.is_none_or(|rg| resource_group_of(i) == rg))
        .filter(|i| tags.iter().all(|(k, v)| has_tag(i, k, v)))
        .map(|i| InstanceVo::of(i, ctx.version, &served))
        .collect();
    let size = items.len() * super::wire::ITEM_BYTES;
    Ok(ctx.reply(&InstancePage { instance_list: InstanceList { instance_vo: items } }, size))
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
    i.attributes.resource_group.as_deref().unwrap_or("rg-default")
}

fn has_tag(i: &KafkaInstance, key: &str, value: &str) -> bool {
    i.attributes.tags.iter().any(|t| t.key == key && (value.is_empty() || t.value == value))
}

/// DeployType: 4 VPC and internet, 5 VPC only.
fn deploy_type(n: Network) -> i64 {
    match n {
        Network::VpcAndInternet => 4,
        Network::Vpc => 5,
    }
}

/// PaidType: 0 subscription (prepaid), 1 pay-as-you-go.
fn paid_type(b: Billing) -> i64 {
    match b {
        Billing::Subscription => 0,
        Billing::PayAsYouGo => 1,
    }
}

/// DiskType: 0 ultra cloud disk, 1 SSD.
fn disk_type(d: DiskType) -> i64 {
    match d {
        DiskType::Ultra => 0,
        DiskType::Ssd => 1,
    }
}

/// An instance as GetInstanceList shows it; 2019-09-16 adds the fields of `InstanceMore`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceVo<'a> {
    instance_id: &'a str,
    name: &'a str,
    region_id: &'a str,
    create_time: i64,
    expired_time: i64,
    deploy_type: i64,
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
    open_source_version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceMore<'a> {
    zone_id: &'a str,
    io_max: u32,
    eip_max: u32,
    disk_size: u32,
    disk_type: i64,
    msg_retain: u64,
    topic_num_limit: u32,
    paid_type: i64,
    spec_type: &'a str,
    service_version: &'static str,
    resource_group_id: &'a str,
    domain_endpoint: String,
    ssl_domain_endpoint: String,
    tags: TagList<'a>,
}

impl<'a> InstanceVo<'a> {
    /// The endpoints name the addresses the data plane serves ([`ServedAddress`]: the advertised host and
    /// `LOCALYUN_KAFKA_PORT_OFFSET` applied): `EndPoint` / `DomainEndpoint` PLAINTEXT, `SslEndPoint` /
    /// `SslDomainEndpoint` SASL_SSL.
    fn of(i: &'a KafkaInstance, version: ApiVersion, served: &ServedAddress) -> Self {
        let endpoint = |security: Security| format!("{}:{}", served.host(&i.vip), served.port(i.vport, security));
        let a = &i.attributes;
        let more = (version == ApiVersion::V20190916).then(|| InstanceMore {
            zone_id: &i.zone_id,
            io_max: i.bandwidth_mbps,
            eip_max: 0,
            disk_size: i.disk_gb,
            disk_type: disk_type(a.disk_type),
            msg_retain: i.msg_retention_minutes / 60,
            topic_num_limit: i.max_topics,
            paid_type: paid_type(a.billing),
            spec_type: a.edition.as_deref().unwrap_or("normal"),
            service_version: "2.2.0",
            resource_group_id: resource_group_of(i),
            domain_endpoint: endpoint(Security::Plaintext),
            ssl_domain_endpoint: endpoint(Security::SaslSsl),
            tags: TagList::of(&a.tags),
        });
        InstanceVo {
            instance_id: &i.id,
            name: &i.name,
            region_id: &i.region,
            create_time: i.created_at_ms.0,
            expired_time: a.expires_at.map_or(0, |t| t.0),
            deploy_type: deploy_type(a.network),
            service_status: service_status(i.status),
            end_point: endpoint(Security::Plaintext),
            ssl_end_point: endpoint(Security::SaslSsl),
            vpc_id: &i.vpc_id,
            v_switch_id: &i.subnet_id,
            upgrade_service_detail_info: UpgradeInfo {
                open_source_version: a.kafka_version.as_deref().unwrap_or("0.10"),
            },
            more,
        }
    }
}
