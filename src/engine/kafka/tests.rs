use super::*;

/// A running Tencent instance of account `a` with small quotas (2 topics, 10 partitions).
pub(crate) fn meta(id: &str) -> InstanceMeta {
    let mut m = InstanceMeta::new(id, Cloud::Tencent, "a", "ap-guangzhou");
    m.max_topics = 2;
    m.max_partitions = 10;
    m
}

pub(crate) fn scope() -> Scope<'static> {
    Scope::owner(Cloud::Tencent, "a")
}

pub(crate) fn new_topic(name: &str, partitions: u32) -> NewTopic {
    NewTopic { id: format!("topic-{name}"), name: name.into(), partitions, replica_num: 1, ..NewTopic::default() }
}

fn model() -> KafkaModel {
    let m = KafkaModel::default();
    m.add_instance(meta("ckafka-test0001")).unwrap();
    m
}

const I: &str = "ckafka-test0001";

#[test]
fn topics_are_unique_and_respect_quotas() {
    let m = model();
    m.create_topic(scope(), I, new_topic("a", 4)).unwrap();
    assert_eq!(m.create_topic(scope(), I, new_topic("a", 1)).unwrap_err(), KafkaError::TopicExists("a".into()));
    assert!(matches!(m.create_topic(scope(), I, new_topic("b", 7)), Err(KafkaError::QuotaExceeded(_))));
    m.create_topic(scope(), I, new_topic("b", 6)).unwrap();
    assert!(matches!(m.create_topic(scope(), I, new_topic("c", 1)), Err(KafkaError::QuotaExceeded(_))));
    m.delete_topic(scope(), I, "a").unwrap();
    m.delete_topic(scope(), I, "b").unwrap();
    let mut too_many = new_topic("d", 1);
    too_many.replica_num = 4;
    assert_eq!(
        m.create_topic(scope(), I, too_many).unwrap_err(),
        KafkaError::TooManyReplicas { requested: 4, brokers: 3 }
    );
}

#[test]
fn the_partition_total_is_kept_by_every_command() {
    let m = model();
    let total = || m.read_instance(scope(), I, |i| i.partition_count()).unwrap();
    m.create_topic(scope(), I, new_topic("a", 4)).unwrap();
    assert_eq!(total(), 4);
    m.grow_partitions(scope(), I, "a", 6).unwrap();
    assert_eq!(total(), 6);
    assert!(m.create_topic(scope(), I, new_topic("b", 5)).is_err());
    assert_eq!(total(), 6, "a refused create changes nothing");
    m.delete_topic(scope(), I, "a").unwrap();
    assert_eq!(total(), 0);
    m.create_topic(scope(), I, new_topic("b", 10)).unwrap();
    assert_eq!(total(), 10);
}

#[test]
fn instances_are_scoped_to_their_owner() {
    let m = model();
    assert!(m.read_instance(Scope::owner(Cloud::Alibaba, "a"), I, |_| ()).is_err());
    assert!(m.read_instance(Scope::owner(Cloud::Tencent, "b"), I, |_| ()).is_err());
    assert!(m.read_instance(scope().in_region(Some("ap-beijing")), I, |_| ()).is_err());
    assert!(m.read_instance(scope().in_region(Some("ap-guangzhou")), I, |_| ()).is_ok());
    assert!(m.read_instance(Scope::ANY, I, |_| ()).is_ok());
    assert_eq!(m.add_instance(meta(I)).unwrap_err(), KafkaError::InstanceExists(I.into()));
    assert_eq!(m.instances_of(scope()).len(), 1);
    m.remove_cloud(Cloud::Alibaba);
    assert_eq!(m.instances_of(scope()).len(), 1);
    m.remove_account("a");
    assert!(m.instances_of(Scope::ANY).is_empty());
}

#[test]
fn topics_keep_creation_order_across_deletes() {
    let m = KafkaModel::default();
    let mut big = meta(I);
    big.max_topics = 10;
    m.add_instance(big).unwrap();
    for name in ["c", "a", "b"] {
        m.create_topic(scope(), I, new_topic(name, 1)).unwrap();
    }
    m.delete_topic(scope(), I, "a").unwrap();
    m.create_topic(scope(), I, new_topic("a", 1)).unwrap();
    let names = m.read_instance(scope(), I, |i| i.topics().keys().cloned().collect::<Vec<_>>()).unwrap();
    assert_eq!(names, ["c", "b", "a"]);
}

#[test]
fn partitions_only_grow() {
    let m = model();
    m.create_topic(scope(), I, new_topic("a", 2)).unwrap();
    assert_eq!(
        m.grow_partitions(scope(), I, "a", 1).unwrap_err(),
        KafkaError::PartitionsCannotShrink { current: 2, requested: 1 }
    );
    m.grow_partitions(scope(), I, "a", 5).unwrap();
    assert_eq!(m.topic_partition_count(scope(), I, "a").unwrap(), 5);
    assert!(matches!(m.grow_partitions(scope(), I, "a", 11), Err(KafkaError::QuotaExceeded(_))));
}

#[test]
fn offsets_follow_appends_and_commits() {
    let m = model();
    m.create_topic(scope(), I, new_topic("a", 2)).unwrap();
    assert_eq!(m.advance_offsets(scope(), I, "a", 1, 3).unwrap().0, 0);
    assert_eq!(m.advance_offsets(scope(), I, "a", 1, 1).unwrap().0, 3);
    assert!(matches!(m.advance_offsets(scope(), I, "a", 2, 1), Err(KafkaError::PartitionNotFound { .. })));
    m.commit_offset(scope(), I, OffsetCommit { group: "g", topic: "a", partition: 1, offset: 2, produced_at: None })
        .unwrap();
    assert_eq!(m.committed_offset(scope(), I, "g", "a", 1).unwrap().map(|c| c.offset), Some(2));
    let progress = m.read_instance(scope(), I, |i| i.group_progress("g", "a").unwrap()).unwrap();
    assert_eq!(progress.len(), 2);
    assert_eq!((progress[1].broker_offset, progress[1].consumer_offset, progress[1].lag()), (4, 2, 2));
    assert_eq!(progress[0].lag(), 0);
    assert_eq!(m.trim_log(scope(), I, "a", 1, 10).unwrap(), 4, "never past the high watermark");
    m.delete_topic(scope(), I, "a").unwrap();
    assert!(m.read_instance(scope(), I, |i| i.group("g").unwrap().offsets.is_empty()).unwrap());
}

#[test]
fn offsets_and_consumed_timestamps_follow_the_log() {
    let m = model();
    m.create_topic(scope(), I, new_topic("t", 2)).unwrap();
    let offsets = |m: &KafkaModel| m.read_instance(scope(), I, |i| i.topic_offsets("t").unwrap()).unwrap();
    let empty = offsets(&m);
    assert_eq!((empty.total_count, empty.last_update, empty.partitions.len()), (0, Millis(0), 2));
    let (_, appended) = m.advance_offsets(scope(), I, "t", 1, 5).unwrap();
    let after = offsets(&m);
    assert_eq!(after.total_count, 5);
    assert_eq!(after.partitions[1].max_offset, 5);
    assert_eq!(after.last_update, appended);
    let consumed = |m: &KafkaModel| m.read_instance(scope(), I, |i| i.consumed_timestamp("g", "t", 1)).unwrap();
    assert_eq!(consumed(&m), Millis(0));
    m.commit_offset(
        scope(),
        I,
        OffsetCommit { group: "g", topic: "t", partition: 1, offset: 3, produced_at: Some(appended) },
    )
    .unwrap();
    assert_eq!(consumed(&m), appended);
    m.commit_offset(scope(), I, OffsetCommit { group: "g", topic: "t", partition: 1, offset: 4, produced_at: None })
        .unwrap();
    let commit_time = m.committed_offset(scope(), I, "g", "t", 1).unwrap().unwrap().committed_at;
    assert_eq!(consumed(&m), commit_time, "without a produce time, the commit time");
    assert_eq!(m.read_instance(scope(), I, |i| i.group_topics("g").unwrap().len()).unwrap(), 1);
    let missing = m.read_instance(scope(), I, |i| i.group_topics("nope").map(|t| t.len())).unwrap();
    assert!(matches!(missing, Err(KafkaError::GroupNotFound(_))));
    assert!(m.ensure_group(scope(), I, "fresh").unwrap());
    assert!(!m.ensure_group(scope(), I, "fresh").unwrap());
}

#[test]
fn older_state_files_are_migrated() {
    let old = serde_json::json!({"instances": {"alikafka_pre-cn-x": {
        "id": "alikafka_pre-cn-x", "cloud": "alibaba", "account": "a", "region": "cn-hangzhou", "name": "n",
        "status": "running", "created_at": 1_700_000_000, "brokers": 3, "bandwidth_mbps": 20, "disk_gb": 500,
        "vip": "127.0.0.1", "vport": 9092, "msg_retention_minutes": 60, "max_topics": 5, "max_partitions": 50,
        "extra": {"ExpiredTime": 5, "DeployType": 4, "PaidType": 1, "SpecType": "professional", "DiskType": 1,
                  "OpenSourceVersion": "2.2.0", "ResourceGroupId": "rg-1", "Tags": [{"Key": "k", "Value": "v"}]},
        "topics": {"t": {"id": "t", "name": "t", "remark": "r", "replica_num": 3, "created_at_ms": 9,
            "partitions": [{"log_start_offset": 0, "high_watermark": 2, "last_update_ms": 4,
                            "records": [{"offset": 0, "timestamp_ms": 1, "key": null, "value": [1]}]}],
            "extra": {"LocalTopic": true, "CompactTopic": true, "MinInsyncReplicas": 2,
                      "Config": {"retention.ms": "3600000", "max.message.bytes": 10}, "Tags": []}}},
        "groups": {"g": {"name": "g", "remark": "", "created_at_ms": 1, "extra": {"Tags": [{"Key": "x"}]}}}
    }}});
    let m: KafkaModel = serde_json::from_value(old).unwrap();
    let s = Scope::ANY;
    m.read_instance(s, "alikafka_pre-cn-x", |i| {
        assert_eq!(i.created_at_ms, Millis(1_700_000_000_000));
        let a = &i.attributes;
        assert_eq!(a.expires_at, Some(Millis(5)));
        assert_eq!((a.network, a.billing, a.disk_type), (Network::VpcAndInternet, Billing::PayAsYouGo, DiskType::Ssd));
        assert_eq!(a.edition.as_deref(), Some("professional"));
        assert_eq!(a.resource_group.as_deref(), Some("rg-1"));
        assert_eq!(a.tags, vec![Tag { key: "k".into(), value: "v".into() }]);
        let t = i.topic("t").unwrap();
        assert!(t.config.local_storage && t.config.compacted);
        assert_eq!((t.config.min_insync_replicas, t.config.retention_ms), (2, Some(3_600_000)));
        assert_eq!(t.config.other.get("max.message.bytes").map(String::as_str), Some("10"));
        assert_eq!(t.partitions[0].high_watermark, 2);
        assert_eq!(i.group("g").unwrap().tags, vec![Tag { key: "x".into(), value: String::new() }]);
        assert_eq!(i.partition_count(), 1);
    })
    .unwrap();
    let again = serde_json::to_value(&m).unwrap();
    assert!(again.to_string().find("records").is_none() && again.to_string().find("extra").is_none());
    let reread: KafkaModel = serde_json::from_value(again.clone()).unwrap();
    assert_eq!(serde_json::to_value(&reread).unwrap(), again);
}

/// Each instance has its own lock: while one instance is locked (here by a reader holding it), commands on
/// another instance — another account's — complete at once, and a command on the locked one waits.
#[test]
fn instances_do_not_wait_on_each_other() {
    use std::sync::mpsc;
    use std::time::Duration;
    let m = std::sync::Arc::new(model());
    let mut theirs = InstanceMeta::new("ckafka-other", Cloud::Tencent, "b", "ap-guangzhou");
    theirs.max_topics = 5;
    theirs.max_partitions = 5;
    m.add_instance(theirs).unwrap();
    let held = m.instance(scope(), I).unwrap();
    let guard = held.read();
    let (tx, rx) = mpsc::channel();
    let (m2, tx2) = (m.clone(), tx.clone());
    std::thread::spawn(move || {
        let r = m2.create_topic(Scope::owner(Cloud::Tencent, "b"), "ckafka-other", new_topic("x", 1));
        let _ = tx2.send(("other", r.is_ok()));
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), ("other", true), "another instance went ahead");
    let m3 = m.clone();
    std::thread::spawn(move || {
        let r = m3.create_topic(scope(), I, new_topic("y", 1));
        let _ = tx.send(("held", r.is_ok()));
    });
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "the locked instance's command waits");
    drop(guard);
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), ("held", true));
}

#[test]
fn topic_configs_are_replaced_whole_and_refused_above_the_replicas() {
    let m = model();
    m.create_topic(scope(), I, new_topic("a", 1)).unwrap();
    let before = m.changes();
    let mut config = TopicConfig { retention_ms: Some(60_000), min_insync_replicas: 1, ..TopicConfig::default() };
    config.other.insert("retention.bytes".into(), "1024".into());
    m.set_topic_config(scope(), I, "a", config.clone()).unwrap();
    assert!(m.changes() > before, "a change is reported to persistence");
    assert_eq!(m.read_instance(scope(), I, |i| i.topic("a").unwrap().config.clone()).unwrap(), config);
    let too_many = TopicConfig { min_insync_replicas: 2, ..config.clone() };
    assert_eq!(
        m.set_topic_config(scope(), I, "a", too_many).unwrap_err(),
        KafkaError::MinInsyncAboveReplicas { requested: 2, replicas: 1 }
    );
    assert_eq!(m.read_instance(scope(), I, |i| i.topic("a").unwrap().config.clone()).unwrap(), config);
    assert_eq!(m.set_topic_config(scope(), I, "b", config).unwrap_err(), KafkaError::TopicNotFound("b".into()));
}

#[test]
fn offsets_are_deleted_per_partition_and_a_topic_without_any_is_forgotten() {
    let m = model();
    m.create_topic(scope(), I, new_topic("a", 2)).unwrap();
    for p in [0, 1] {
        let commit = OffsetCommit { group: "g", topic: "a", partition: p, offset: 5, produced_at: None };
        m.commit_offset(scope(), I, commit).unwrap();
    }
    assert_eq!(m.delete_offsets(scope(), I, "g", "a", &[0, 7]).unwrap(), 1);
    let topics = |m: &KafkaModel| m.read_instance(scope(), I, |i| i.group_topics("g").unwrap().len()).unwrap();
    assert_eq!(topics(&m), 1);
    assert_eq!(m.delete_offsets(scope(), I, "g", "a", &[1]).unwrap(), 1);
    assert_eq!(topics(&m), 0, "a topic without offsets is forgotten by the group");
    assert_eq!(m.delete_offsets(scope(), I, "g", "other", &[0]).unwrap(), 0);
    assert_eq!(
        m.delete_offsets(scope(), I, "nobody", "a", &[0]).unwrap_err(),
        KafkaError::GroupNotFound("nobody".into())
    );
}
