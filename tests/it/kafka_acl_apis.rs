//! The Kafka ACL APIs (src/kafka/acls.rs) over the wire: DescribeAcls, CreateAcls, DeleteAcls with their
//! filters, every error code they answer, the one set of rules they share with Alibaba's CreateAcl /
//! DescribeAcls / DeleteAcl (signed management calls in the same tests), enforcement for SASL users after
//! a Kafka-created DENY, CLUSTER authorization, a malformed frame, and rules surviving a restart with
//! `--data-dir`.

use crate::common;
use crate::kafka_support;

use std::path::Path;

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;
use serde_json::Value;

use common::ACCOUNT;
use kafka_support::{alibaba, batch, now_ms, orders_setup, record, s, Conn};
use localyun::kafka::{KafkaBroker, KafkaOptions, Security};

const REGION: &str = "cn-hangzhou";
const NONE: i16 = 0;
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const INVALID_REQUEST: i16 = 42;

// Kafka's codes: resource types, pattern types, operations, permissions.
const ANY: i8 = 1;
const TOPIC: i8 = 2;
const GROUP: i8 = 3;
const CLUSTER: i8 = 4;
const TRANSACTIONAL_ID: i8 = 5;
const MATCH: i8 = 2;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const ALL: i8 = 2;
const READ: i8 = 3;
const WRITE: i8 = 4;
const DELETE: i8 = 6;
const DESCRIBE: i8 = 8;
const DENY: i8 = 2;
const ALLOW: i8 = 3;

/// One ACL as the wire shows it: (resource type, name, pattern type, principal, host, operation, permission).
type Acl = (i8, String, i8, String, String, i8, i8);

fn acl(kind: i8, name: &str, pattern: i8, principal: &str, host: &str, op: i8, perm: i8) -> Acl {
    (kind, name.into(), pattern, principal.into(), host.into(), op, perm)
}

/// A filter: (resource type, name, pattern type, principal, host, operation, permission); None: any.
type Filter<'a> = (i8, Option<&'a str>, i8, Option<&'a str>, Option<&'a str>, i8, i8);

const EVERYTHING: Filter<'static> = (ANY, None, ANY, None, None, ANY, ANY);

async fn create(c: &mut Conn, version: i16, acls: &[Acl]) -> Vec<(i16, Option<String>)> {
    let creations = acls
        .iter()
        .map(|(kind, name, pattern, principal, host, op, perm)| {
            create_acls_request::AclCreation::default()
                .with_resource_type(*kind)
                .with_resource_name(s(name))
                .with_resource_pattern_type(*pattern)
                .with_principal(s(principal))
                .with_host(s(host))
                .with_operation(*op)
                .with_permission_type(*perm)
        })
        .collect();
    let req = CreateAclsRequest::default().with_creations(creations);
    let ResponseKind::CreateAcls(r) = c.call(ApiKey::CreateAcls, version, RequestKind::CreateAcls(req)).await else {
        panic!("not a CreateAcls response")
    };
    r.results.iter().map(|x| (x.error_code, x.error_message.as_ref().map(|m| m.to_string()))).collect()
}

async fn describe_raw(c: &mut Conn, version: i16, f: Filter<'_>) -> DescribeAclsResponse {
    let req = DescribeAclsRequest::default()
        .with_resource_type_filter(f.0)
        .with_resource_name_filter(f.1.map(s))
        .with_pattern_type_filter(f.2)
        .with_principal_filter(f.3.map(s))
        .with_host_filter(f.4.map(s))
        .with_operation(f.5)
        .with_permission_type(f.6);
    let ResponseKind::DescribeAcls(r) = c.call(ApiKey::DescribeAcls, version, RequestKind::DescribeAcls(req)).await
    else {
        panic!("not a DescribeAcls response")
    };
    r
}

/// DescribeAcls flattened (error NONE asserted).
async fn describe(c: &mut Conn, version: i16, f: Filter<'_>) -> Vec<Acl> {
    let r = describe_raw(c, version, f).await;
    assert_eq!(r.error_code, NONE, "{:?}", r.error_message);
    r.resources
        .iter()
        .flat_map(|res| {
            res.acls.iter().map(move |a| {
                (
                    res.resource_type,
                    res.resource_name.to_string(),
                    res.pattern_type,
                    a.principal.to_string(),
                    a.host.to_string(),
                    a.operation,
                    a.permission_type,
                )
            })
        })
        .collect()
}

async fn delete(c: &mut Conn, version: i16, filters: &[Filter<'_>]) -> Vec<(i16, Vec<Acl>)> {
    let req = DeleteAclsRequest::default().with_filters(
        filters
            .iter()
            .map(|f| {
                delete_acls_request::DeleteAclsFilter::default()
                    .with_resource_type_filter(f.0)
                    .with_resource_name_filter(f.1.map(s))
                    .with_pattern_type_filter(f.2)
                    .with_principal_filter(f.3.map(s))
                    .with_host_filter(f.4.map(s))
                    .with_operation(f.5)
                    .with_permission_type(f.6)
            })
            .collect(),
    );
    let ResponseKind::DeleteAcls(r) = c.call(ApiKey::DeleteAcls, version, RequestKind::DeleteAcls(req)).await else {
        panic!("not a DeleteAcls response")
    };
    r.filter_results
        .iter()
        .map(|f| {
            let acls = f
                .matching_acls
                .iter()
                .map(|m| {
                    assert_eq!(m.error_code, NONE);
                    (
                        m.resource_type,
                        m.resource_name.to_string(),
                        m.pattern_type,
                        m.principal.to_string(),
                        m.host.to_string(),
                        m.operation,
                        m.permission_type,
                    )
                })
                .collect();
            (f.error_code, acls)
        })
        .collect()
}

/// A signed Alibaba call on the instance that must succeed.
async fn ali(srv: &common::TestServer, id: &str, action: &str, params: &[(&str, &str)]) -> Value {
    let mut all = vec![("InstanceId", id), ("RegionId", REGION)];
    all.extend_from_slice(params);
    let r = alibaba(srv, action, &all).await;
    assert_eq!(r["Success"], true, "{action}: {r}");
    r
}

/// Alibaba DescribeAcls as (type, name, pattern, user, host, operation, permission) strings.
async fn alibaba_acls(srv: &common::TestServer, id: &str) -> Vec<[String; 7]> {
    let r = ali(srv, id, "DescribeAcls", &[]).await;
    let list = r["KafkaAclList"]["KafkaAclVO"].as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|a| {
            [
                "AclResourceType",
                "AclResourceName",
                "AclResourcePatternType",
                "Username",
                "Host",
                "AclOperationType",
                "AclPermissionType",
            ]
            .map(|k| a[k].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

fn row(v: [&str; 7]) -> [String; 7] {
    v.map(str::to_string)
}

/// A SASL_PLAINTEXT connection logged in as `user` (PLAIN).
async fn login(broker: &KafkaBroker, id: &str, user: &str, password: &str) -> Conn {
    let mut c = Conn::open(broker.listener_address(id, Security::SaslPlaintext).unwrap()).await;
    let hs = SaslHandshakeRequest::default().with_mechanism(s("PLAIN"));
    let ResponseKind::SaslHandshake(h) = c.call(ApiKey::SaslHandshake, 1, RequestKind::SaslHandshake(hs)).await else {
        panic!()
    };
    assert_eq!(h.error_code, NONE);
    let auth = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(format!("\0{user}\0{password}")));
    let ResponseKind::SaslAuthenticate(a) =
        c.call(ApiKey::SaslAuthenticate, 2, RequestKind::SaslAuthenticate(auth)).await
    else {
        panic!()
    };
    assert_eq!(a.error_code, NONE);
    c
}

fn one_record(value: &str) -> Bytes {
    batch(&[record("k", value, now_ms(), 0)], Compression::None)
}

#[tokio::test]
async fn api_versions_advertise_the_acl_apis_and_every_version_answers() {
    let (_srv, broker, _id, addr) = orders_setup().await;
    let mut c = Conn::open(addr).await;
    let v = c.api_versions().await;
    let range =
        |key: ApiKey| v.api_keys.iter().find(|k| k.api_key == key as i16).map(|k| (k.min_version, k.max_version));
    assert_eq!(range(ApiKey::DescribeAcls), Some((1, 3)));
    assert_eq!(range(ApiKey::CreateAcls), Some((1, 3)));
    assert_eq!(range(ApiKey::DeleteAcls), Some((1, 3)));
    for version in 1..=3 {
        let name = format!("t{version}");
        let rule = acl(TOPIC, &name, LITERAL, "User:alice", "*", READ, ALLOW);
        assert_eq!(create(&mut c, version, std::slice::from_ref(&rule)).await, [(NONE, None)], "v{version}");
        assert_eq!(
            describe(&mut c, version, (TOPIC, Some(&name), LITERAL, None, None, ANY, ANY)).await,
            std::slice::from_ref(&rule)
        );
        assert_eq!(
            delete(&mut c, version, &[(TOPIC, Some(&name), ANY, None, None, ANY, ANY)]).await,
            [(NONE, vec![rule])]
        );
    }
    assert!(describe(&mut c, 3, EVERYTHING).await.is_empty());
    broker.shutdown().await;
}

#[tokio::test]
async fn acls_are_created_described_and_deleted_with_kafka_filters() {
    let (_srv, broker, _id, addr) = orders_setup().await;
    let mut c = Conn::open(addr).await;
    let rules = vec![
        acl(TOPIC, "orders", LITERAL, "User:alice", "*", READ, ALLOW),
        acl(TOPIC, "orders", LITERAL, "User:alice", "*", WRITE, ALLOW),
        acl(TOPIC, "ord", PREFIXED, "User:bob", "10.0.0.7", WRITE, DENY),
        acl(TOPIC, "*", LITERAL, "User:*", "*", DESCRIBE, ALLOW),
        acl(GROUP, "readers", LITERAL, "User:alice", "*", READ, ALLOW),
        acl(CLUSTER, "kafka-cluster", LITERAL, "User:alice", "*", ALL, ALLOW),
        acl(TRANSACTIONAL_ID, "tx-", PREFIXED, "User:alice", "*", WRITE, ALLOW),
    ];
    assert_eq!(create(&mut c, 3, &rules).await, vec![(NONE, None); rules.len()]);
    // CreateAcls is idempotent: the same rule again is one rule.
    assert_eq!(create(&mut c, 1, &rules[..1]).await, [(NONE, None)]);
    assert_eq!(describe(&mut c, 3, EVERYTHING).await, rules);

    // Resources group their ACLs (orders/LITERAL holds two).
    let grouped = describe_raw(&mut c, 3, (TOPIC, Some("orders"), LITERAL, None, None, ANY, ANY)).await;
    assert_eq!(grouped.resources.len(), 1);
    assert_eq!(grouped.resources[0].acls.len(), 2);
    // MATCH: every rule that applies to the topic `orders`: the literal name, `*`, and the prefix `ord`.
    let matched = describe(&mut c, 2, (TOPIC, Some("orders"), MATCH, None, None, ANY, ANY)).await;
    assert_eq!(matched, rules[..4].to_vec());
    // ANY pattern: the exact name only; LITERAL/PREFIXED: that pattern only.
    assert_eq!(describe(&mut c, 3, (ANY, Some("ord"), ANY, None, None, ANY, ANY)).await, [rules[2].clone()]);
    assert!(describe(&mut c, 3, (ANY, Some("ord"), LITERAL, None, None, ANY, ANY)).await.is_empty());
    assert_eq!(
        describe(&mut c, 3, (ANY, None, PREFIXED, None, None, ANY, ANY)).await,
        [rules[2].clone(), rules[6].clone()]
    );
    // Principal, host, operation, permission filters.
    assert_eq!(describe(&mut c, 1, (ANY, None, ANY, Some("User:bob"), None, ANY, ANY)).await, [rules[2].clone()]);
    assert_eq!(describe(&mut c, 3, (ANY, None, ANY, None, Some("10.0.0.7"), ANY, ANY)).await, [rules[2].clone()]);
    assert_eq!(
        describe(&mut c, 3, (ANY, None, ANY, None, None, WRITE, ALLOW)).await,
        [rules[1].clone(), rules[6].clone()]
    );
    assert_eq!(describe(&mut c, 3, (ANY, None, ANY, None, None, ANY, DENY)).await, [rules[2].clone()]);
    assert_eq!(describe(&mut c, 3, (CLUSTER, None, ANY, None, None, ANY, ANY)).await, [rules[5].clone()]);
    assert!(describe(&mut c, 3, (GROUP, Some("writers"), MATCH, None, None, ANY, ANY)).await.is_empty());

    // Two filters matching the same rule: it is deleted once, under the first; a filter matching nothing
    // answers NONE with no ACLs.
    let deleted = delete(
        &mut c,
        3,
        &[
            (TOPIC, Some("orders"), LITERAL, Some("User:alice"), None, ANY, ANY),
            (ANY, None, ANY, Some("User:alice"), None, ANY, ALLOW),
            (ANY, None, ANY, Some("User:nobody"), None, ANY, ANY),
        ],
    )
    .await;
    assert_eq!(
        deleted,
        vec![
            (NONE, rules[..2].to_vec()),
            (NONE, vec![rules[4].clone(), rules[5].clone(), rules[6].clone()]),
            (NONE, vec![]),
        ]
    );
    assert_eq!(describe(&mut c, 3, EVERYTHING).await, [rules[2].clone(), rules[3].clone()]);
    // MATCH in a delete filter removes what applies to the name.
    assert_eq!(
        delete(&mut c, 1, &[(TOPIC, Some("order-x"), MATCH, None, None, ANY, ANY)]).await,
        [(NONE, vec![rules[2].clone(), rules[3].clone()])]
    );
    assert!(describe(&mut c, 3, EVERYTHING).await.is_empty());
    broker.shutdown().await;
}

#[tokio::test]
async fn invalid_creations_and_filters_answer_invalid_request_per_entry() {
    let (_srv, broker, _id, addr) = orders_setup().await;
    let mut c = Conn::open(addr).await;
    let good = acl(TOPIC, "orders", LITERAL, "User:alice", "*", READ, ALLOW);
    let bad = [
        (acl(ANY, "orders", LITERAL, "User:alice", "*", READ, ALLOW), "Invalid resourceType ANY"),
        (acl(7, "alice", LITERAL, "User:alice", "*", READ, ALLOW), "resource type USER is not supported"),
        (acl(TOPIC, "orders", MATCH, "User:alice", "*", READ, ALLOW), "Invalid patternType 2"),
        (acl(TOPIC, "orders", LITERAL, "User:alice", "*", ANY, ALLOW), "Invalid operation 1"),
        (acl(TOPIC, "orders", LITERAL, "User:alice", "*", 13, ALLOW), "operation 13"),
        (acl(TOPIC, "orders", LITERAL, "User:alice", "*", READ, ANY), "Invalid permissionType 1"),
        (acl(TOPIC, "", LITERAL, "User:alice", "*", READ, ALLOW), "Resource name should not be empty"),
        (
            acl(CLUSTER, "my-cluster", LITERAL, "User:alice", "*", ALL, ALLOW),
            "The only valid name for the CLUSTER resource is kafka-cluster",
        ),
        (acl(TOPIC, "orders", LITERAL, "alice", "*", READ, ALLOW), "Could not parse principal"),
        (acl(TOPIC, "orders", LITERAL, "Group:ops", "*", READ, ALLOW), "only User:<name>"),
        (acl(TOPIC, "orders", LITERAL, "User:alice", "example.com", READ, ALLOW), "Invalid host"),
    ];
    let mut all: Vec<Acl> = bad.iter().map(|(a, _)| a.clone()).collect();
    all.push(good.clone());
    let results = create(&mut c, 3, &all).await;
    assert_eq!(results.len(), all.len());
    for ((code, message), (_, expected)) in results.iter().zip(bad.iter()) {
        assert_eq!(*code, INVALID_REQUEST, "{expected}");
        let message = message.as_deref().unwrap_or_default();
        assert!(message.contains(expected), "{message:?} should say {expected:?}");
    }
    assert_eq!(results.last().unwrap(), &(NONE, None), "the valid creation of the batch is made");
    assert_eq!(describe(&mut c, 3, EVERYTHING).await, std::slice::from_ref(&good));

    // Filters with UNKNOWN (0) or codes Kafka does not know.
    for f in [
        (0, None, ANY, None, None, ANY, ANY),
        (ANY, None, 0, None, None, ANY, ANY),
        (ANY, None, 9, None, None, ANY, ANY),
        (ANY, None, ANY, None, None, 0, ANY),
        (ANY, None, ANY, None, None, ANY, 4),
    ] {
        let r = describe_raw(&mut c, 3, f).await;
        assert_eq!((r.error_code, r.resources.len()), (INVALID_REQUEST, 0), "{f:?}");
        assert!(r.error_message.is_some());
    }
    // In a delete, only the invalid filter fails; the others still delete.
    let r =
        delete(&mut c, 3, &[(ANY, None, ANY, None, None, 0, ANY), (TOPIC, Some("orders"), ANY, None, None, ANY, ANY)])
            .await;
    assert_eq!(r, [(INVALID_REQUEST, vec![]), (NONE, vec![good])]);
    // Resource types and operations the engine holds no rules of match nothing.
    assert!(describe(&mut c, 3, (7, None, ANY, None, None, ANY, ANY)).await.is_empty());
    broker.shutdown().await;
}

#[tokio::test]
async fn kafka_and_alibaba_manage_one_set_of_rules() {
    let (srv, broker, id, addr) = orders_setup().await;
    let mut c = Conn::open(addr).await;
    // Created over Kafka: Alibaba DescribeAcls shows it (operation names included where Alibaba has none).
    let kafka_rules = [
        acl(TOPIC, "orders", LITERAL, "User:alice", "*", WRITE, ALLOW),
        acl(GROUP, "g-", PREFIXED, "User:alice", "10.1.2.3", DELETE, DENY),
    ];
    assert_eq!(create(&mut c, 3, &kafka_rules).await, vec![(NONE, None); 2]);
    assert_eq!(
        alibaba_acls(&srv, &id).await,
        [
            row(["Topic", "orders", "LITERAL", "alice", "*", "Write", "ALLOW"]),
            row(["Group", "g-", "PREFIXED", "alice", "10.1.2.3", "Delete", "DENY"]),
        ]
    );
    // Created over Alibaba: Kafka DescribeAcls shows it.
    ali(
        &srv,
        &id,
        "CreateAcl",
        &[
            ("Username", "bob"),
            ("AclResourceType", "Topic"),
            ("AclResourceName", "pay"),
            ("AclResourcePatternType", "PREFIXED"),
            ("AclOperationType", "Read"),
        ],
    )
    .await;
    let bob = acl(TOPIC, "pay", PREFIXED, "User:bob", "*", READ, ALLOW);
    assert_eq!(
        describe(&mut c, 3, (ANY, None, ANY, Some("User:bob"), None, ANY, ANY)).await,
        std::slice::from_ref(&bob)
    );
    // Kafka DeleteAcls removes from both views, including a rule Alibaba created.
    assert_eq!(
        delete(&mut c, 3, &[(TOPIC, None, ANY, None, None, ANY, ANY)]).await,
        [(NONE, vec![kafka_rules[0].clone(), bob])]
    );
    assert_eq!(
        alibaba_acls(&srv, &id).await,
        [row(["Group", "g-", "PREFIXED", "alice", "10.1.2.3", "Delete", "DENY"])]
    );
    // Alibaba DeleteAcl removes a Kafka-created rule from Kafka's view.
    ali(&srv, &id, "DeleteAcl", &[("Username", "alice"), ("AclResourceType", "Group"), ("AclResourceName", "g-")])
        .await;
    assert!(describe(&mut c, 3, EVERYTHING).await.is_empty());
    assert!(alibaba_acls(&srv, &id).await.is_empty());
    broker.shutdown().await;
}

#[tokio::test]
async fn sasl_users_need_cluster_rights_and_a_kafka_created_deny_is_enforced() {
    let (srv, broker, id, addr) = orders_setup().await;
    for (user, pw) in [("alice", "alice-pw"), ("bob", "bob-pw")] {
        ali(&srv, &id, "CreateSaslUser", &[("Username", user), ("Password", pw), ("Type", "plain")]).await;
    }
    // With no rule at all everything is allowed: alice (over SASL) creates the first rules herself.
    let mut alice = login(&broker, &id, "alice", "alice-pw").await;
    let admin = acl(CLUSTER, "kafka-cluster", LITERAL, "User:alice", "*", ALL, ALLOW);
    let writes = acl(TOPIC, "orders", LITERAL, "User:*", "*", WRITE, ALLOW);
    let bob_looks = acl(CLUSTER, "kafka-cluster", LITERAL, "User:bob", "*", DESCRIBE, ALLOW);
    assert_eq!(create(&mut alice, 3, &[admin.clone(), writes.clone(), bob_looks.clone()]).await, vec![(NONE, None); 3]);
    assert_eq!(alice.produce("orders", 0, 1, one_record("a")).await, (NONE, 0));

    // bob may describe (Describe on the cluster) but not create or delete (Alter).
    let mut bob = login(&broker, &id, "bob", "bob-pw").await;
    assert_eq!(describe(&mut bob, 3, EVERYTHING).await.len(), 3);
    let r = create(&mut bob, 3, &[acl(TOPIC, "orders", LITERAL, "User:bob", "*", ALL, ALLOW)]).await;
    assert_eq!(r[0].0, CLUSTER_AUTHORIZATION_FAILED);
    assert_eq!(delete(&mut bob, 3, &[EVERYTHING, EVERYTHING]).await, vec![(CLUSTER_AUTHORIZATION_FAILED, vec![]); 2]);
    assert_eq!(describe(&mut alice, 3, EVERYTHING).await.len(), 3, "bob's calls changed nothing");
    assert_eq!(bob.produce("orders", 0, 1, one_record("b")).await, (NONE, 1));

    // A DENY created over Kafka stops bob's writes; deleting it over Kafka lets them through again.
    let deny = acl(TOPIC, "orders", LITERAL, "User:bob", "*", WRITE, DENY);
    assert_eq!(create(&mut alice, 2, std::slice::from_ref(&deny)).await, [(NONE, None)]);
    assert_eq!(bob.produce("orders", 0, 1, one_record("c")).await.0, TOPIC_AUTHORIZATION_FAILED);
    assert_eq!(alice.produce("orders", 0, 1, one_record("d")).await, (NONE, 2));
    assert_eq!(delete(&mut alice, 1, &[(ANY, None, ANY, None, None, ANY, DENY)]).await, [(NONE, vec![deny])]);
    assert_eq!(bob.produce("orders", 0, 1, one_record("e")).await, (NONE, 3));

    // Without Describe on the cluster: the whole DescribeAcls answer fails.
    assert_eq!(
        delete(&mut alice, 3, &[(CLUSTER, None, ANY, Some("User:bob"), None, ANY, ANY)]).await[0].1,
        [bob_looks]
    );
    let r = describe_raw(&mut bob, 3, EVERYTHING).await;
    assert_eq!((r.error_code, r.resources.len()), (CLUSTER_AUTHORIZATION_FAILED, 0));
    // The PLAINTEXT access point has no ACLs.
    let mut plain = Conn::open(addr).await;
    assert_eq!(describe(&mut plain, 3, EVERYTHING).await, [admin, writes]);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_malformed_acl_frame_closes_only_its_connection() {
    let (_srv, broker, _id, addr) = orders_setup().await;
    let mut other = Conn::open(addr).await;
    // A CreateAcls v3 header, then a creations array that claims more bytes than the frame has.
    kafka_support::assert_malformed_request_closes(addr, ApiKey::CreateAcls, 3, &[0x7f, 0x02]).await;
    let rule = acl(TOPIC, "orders", LITERAL, "User:alice", "*", READ, ALLOW);
    assert_eq!(create(&mut other, 3, std::slice::from_ref(&rule)).await, [(NONE, None)]);
    assert_eq!(describe(&mut other, 3, EVERYTHING).await, [rule]);
    broker.shutdown().await;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_name() == "localyun.lock" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[tokio::test]
async fn kafka_created_rules_survive_a_restart_with_a_data_dir() {
    let dir = crate::cross_support::TempDir::new("kafka-acls");
    let srv =
        common::start_with(localyun::Config { data_dir: Some(dir.path().to_path_buf()), ..Default::default() }).await;
    let id = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    let broker = localyun::kafka::start_with(srv.state.clone(), KafkaOptions::ephemeral()).await;
    let mut c = Conn::open(broker.address_of(&id).unwrap()).await;
    let kept = acl(TOPIC, "orders", PREFIXED, "User:alice", "*", WRITE, DENY);
    let gone = acl(GROUP, "g", LITERAL, "User:alice", "*", READ, ALLOW);
    assert_eq!(create(&mut c, 3, &[kept.clone(), gone.clone()]).await, vec![(NONE, None); 2]);
    assert_eq!(delete(&mut c, 3, &[(GROUP, None, ANY, None, None, ANY, ANY)]).await, [(NONE, vec![gone])]);
    // The data dir as it is the moment the answers arrived (a kill -9 now), opened by a new server.
    let copy = crate::cross_support::TempDir::new("kafka-acls-copy");
    copy_dir(dir.path(), copy.path());
    let again =
        common::start_with(localyun::Config { data_dir: Some(copy.path().to_path_buf()), ..Default::default() }).await;
    let broker2 = localyun::kafka::start_with(again.state.clone(), KafkaOptions::ephemeral()).await;
    let mut c2 = Conn::open(broker2.address_of(&id).unwrap()).await;
    assert_eq!(describe(&mut c2, 3, EVERYTHING).await, [kept]);
    assert_eq!(alibaba_acls(&again, &id).await, [row(["Topic", "orders", "PREFIXED", "alice", "*", "Write", "DENY"])]);
    broker.shutdown().await;
    broker2.shutdown().await;
}

#[tokio::test]
async fn the_instance_acl_limit_answers_policy_violation_and_adds_nothing() {
    const POLICY_VIOLATION: i16 = 44;
    let max = localyun::engine::kafka::security::MAX_ACLS;
    let (_srv, broker, _id, addr) = orders_setup().await;
    let mut c = Conn::open(addr).await;
    let rules: Vec<Acl> =
        (0..=max).map(|n| acl(TOPIC, &format!("t{n}"), LITERAL, "User:alice", "*", READ, ALLOW)).collect();
    // One more than the limit in one request: every valid creation fails, the invalid one says why.
    let mut over = rules.clone();
    over.push(acl(TOPIC, "", LITERAL, "User:alice", "*", READ, ALLOW));
    let results = create(&mut c, 3, &over).await;
    assert_eq!(results.len(), max + 2);
    assert!(results[..=max].iter().all(|(code, m)| *code == POLICY_VIOLATION && m.is_some()), "{:?}", results[0]);
    assert_eq!(results[max + 1].0, INVALID_REQUEST);
    assert!(describe(&mut c, 3, EVERYTHING).await.is_empty(), "nothing was added");
    // Up to the limit: made; one more: refused; an existing rule again: still fine (nothing is added).
    assert!(create(&mut c, 3, &rules[..max]).await.iter().all(|(code, _)| *code == NONE));
    assert_eq!(create(&mut c, 3, &rules[max..]).await[0].0, POLICY_VIOLATION);
    assert_eq!(create(&mut c, 3, &rules[..1]).await, [(NONE, None)]);
    assert_eq!(describe(&mut c, 3, EVERYTHING).await.len(), max);
    broker.shutdown().await;
}
