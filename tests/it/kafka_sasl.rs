//! SASL on the Kafka data plane, over TCP with a raw protocol client: the SASL_PLAINTEXT and SASL_SSL
//! access points of an Alibaba instance, PLAIN and SCRAM-SHA-256/512 against users made with
//! CreateSaslUser, the errors and closed connections of wrong passwords and skipped handshakes, and the
//! instance's ACLs (CreateAcl) applied to SASL users only.

use crate::common;
use crate::kafka_support;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;
use localyun::kafka::sasl::{client, Mechanism};
use localyun::kafka::{KafkaBroker, KafkaOptions, Security};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{TestServer, ACCOUNT};
use kafka_support::{alibaba, batch, now_ms, record, s, Conn};

const REGION: &str = "cn-hangzhou";
const SASL_AUTHENTICATION_FAILED: i16 = 58;
const ILLEGAL_SASL_STATE: i16 = 34;
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;

/// A server with topics `orders` and `audit` on the cn-hangzhou default instance, users `alice`
/// (plain) and `bob` (scram), and the data plane on ephemeral ports.
async fn setup() -> (TestServer, Arc<KafkaBroker>, String) {
    let srv = common::start().await;
    let id = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    for topic in ["orders", "audit"] {
        let r = alibaba(
            &srv,
            "CreateTopic",
            &[("InstanceId", &id), ("RegionId", REGION), ("Topic", topic), ("Remark", "r"), ("PartitionNum", "1")],
        )
        .await;
        assert_eq!(r["Success"], true, "{r}");
    }
    for (user, password, kind) in [("alice", "alice-pw", "plain"), ("bob", "bob-pw", "scram")] {
        let r = alibaba(
            &srv,
            "CreateSaslUser",
            &[("InstanceId", &id), ("RegionId", REGION), ("Username", user), ("Password", password), ("Type", kind)],
        )
        .await;
        assert_eq!(r["Success"], true, "{r}");
    }
    let broker = localyun::kafka::start_with(srv.state.clone(), KafkaOptions::ephemeral()).await;
    (srv, broker, id)
}

fn sasl_addr(broker: &KafkaBroker, id: &str) -> SocketAddr {
    broker.listener_address(id, Security::SaslPlaintext).expect("a SASL_PLAINTEXT listener")
}

async fn handshake(c: &mut Conn, mechanism: &str) -> SaslHandshakeResponse {
    let req = SaslHandshakeRequest::default().with_mechanism(s(mechanism));
    let ResponseKind::SaslHandshake(r) = c.call(ApiKey::SaslHandshake, 1, RequestKind::SaslHandshake(req)).await else {
        panic!("not a handshake response")
    };
    r
}

async fn authenticate(c: &mut Conn, token: &[u8]) -> SaslAuthenticateResponse {
    let req = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::copy_from_slice(token));
    let ResponseKind::SaslAuthenticate(r) =
        c.call(ApiKey::SaslAuthenticate, 2, RequestKind::SaslAuthenticate(req)).await
    else {
        panic!("not an authenticate response")
    };
    r
}

/// PLAIN with an empty authzid (librdkafka's form).
async fn login_plain(addr: SocketAddr, user: &str, password: &str) -> (Conn, SaslAuthenticateResponse) {
    let mut c = Conn::open(addr).await;
    assert_eq!(handshake(&mut c, "PLAIN").await.error_code, 0);
    let r = authenticate(&mut c, format!("\0{user}\0{password}").as_bytes()).await;
    (c, r)
}

async fn login_scram(addr: SocketAddr, m: Mechanism, user: &str, password: &str) -> (Conn, SaslAuthenticateResponse) {
    let name = if m == Mechanism::ScramSha512 { "SCRAM-SHA-512" } else { "SCRAM-SHA-256" };
    let mut c = Conn::open(addr).await;
    assert_eq!(handshake(&mut c, name).await.error_code, 0);
    let first = client::first(user, "rOprNGfwEbeRWgbNEkqO");
    let r = authenticate(&mut c, first.as_bytes()).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    let server_first = String::from_utf8(r.auth_bytes.to_vec()).unwrap();
    let (last, expected) = client::last(m, password, &first, &server_first).unwrap();
    let r = authenticate(&mut c, last.as_bytes()).await;
    if r.error_code == 0 {
        assert_eq!(String::from_utf8(r.auth_bytes.to_vec()).unwrap(), expected, "the server proves the password");
    }
    (c, r)
}

async fn metadata(c: &mut Conn, topics: &[&str]) -> MetadataResponse {
    let req = MetadataRequest::default().with_topics(Some(
        topics
            .iter()
            .map(|t| metadata_request::MetadataRequestTopic::default().with_name(Some(TopicName(s(t)))))
            .collect(),
    ));
    let ResponseKind::Metadata(r) = c.call(ApiKey::Metadata, 12, RequestKind::Metadata(req)).await else {
        panic!("not a metadata response")
    };
    r
}

async fn assert_closed(c: &mut Conn) {
    let mut b = [0u8; 1];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), c.stream.read(&mut b)).await.unwrap();
    assert!(matches!(n, Ok(0) | Err(_)), "the connection stays open: {n:?}");
}

fn one_record() -> Bytes {
    batch(&[record("k", "v", now_ms(), 0)], Compression::None)
}

#[tokio::test]
async fn plain_with_the_right_password_serves_and_the_wrong_one_closes() {
    let (_srv, broker, id) = setup().await;
    let addr = sasl_addr(&broker, &id);

    // The handshake names every mechanism served.
    let mut c = Conn::open(addr).await;
    let h = handshake(&mut c, "PLAIN").await;
    let names: Vec<String> = h.mechanisms.iter().map(|m| m.to_string()).collect();
    assert_eq!(names, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
    // kafka-python's form: authzid = user.
    let r = authenticate(&mut c, b"alice\0alice\0alice-pw").await;
    assert_eq!((r.error_code, r.error_message.as_deref().map(|m| m.to_string())), (0, None));
    let m = metadata(&mut c, &["orders"]).await;
    assert_eq!(m.topics[0].error_code, 0);
    assert_eq!(c.produce("orders", 0, -1, one_record()).await, (0, 0));

    for (user, password) in [("alice", "wrong"), ("nobody", "alice-pw"), ("alice", "")] {
        let (mut c, r) = login_plain(addr, user, password).await;
        assert_eq!(r.error_code, SASL_AUTHENTICATION_FAILED, "{user}/{password}");
        assert_eq!(
            r.error_message.as_deref().map(|m| m.to_string()).as_deref(),
            Some(localyun::kafka::sasl::INVALID_CREDENTIALS)
        );
        assert_closed(&mut c).await;
    }
}

#[tokio::test]
async fn scram_sha_256_and_512_authenticate_and_refuse_wrong_passwords() {
    let (_srv, broker, id) = setup().await;
    let addr = sasl_addr(&broker, &id);
    for m in [Mechanism::ScramSha256, Mechanism::ScramSha512] {
        let (mut c, r) = login_scram(addr, m, "bob", "bob-pw").await;
        assert_eq!(r.error_code, 0, "{m:?}: {:?}", r.error_message);
        assert_eq!(metadata(&mut c, &["orders"]).await.topics[0].error_code, 0);
        let (mut c, r) = login_scram(addr, m, "bob", "not-bobs").await;
        assert_eq!(r.error_code, SASL_AUTHENTICATION_FAILED, "{m:?}");
        assert_closed(&mut c).await;
    }
    // An unknown user fails at the first message.
    let mut c = Conn::open(addr).await;
    assert_eq!(handshake(&mut c, "SCRAM-SHA-256").await.error_code, 0);
    let r = authenticate(&mut c, client::first("mallory", "abc").as_bytes()).await;
    assert_eq!(r.error_code, SASL_AUTHENTICATION_FAILED);
    assert_closed(&mut c).await;
}

#[tokio::test]
async fn requests_before_authentication_and_bad_handshakes_close_the_connection() {
    let (_srv, broker, id) = setup().await;
    let addr = sasl_addr(&broker, &id);

    // ApiVersions is served before authenticating and lists the SASL APIs.
    let mut c = Conn::open(addr).await;
    let v = c.api_versions().await;
    for key in [ApiKey::SaslHandshake, ApiKey::SaslAuthenticate] {
        assert!(v.api_keys.iter().any(|k| k.api_key == key as i16), "{key:?}");
    }
    // Metadata before authenticating: ILLEGAL_SASL_STATE, then the connection closes.
    let corr =
        c.send_raw(ApiKey::Metadata, 12, &RequestKind::Metadata(MetadataRequest::default().with_topics(None))).await;
    let mut frame = c.read_frame().await.expect("an answer");
    assert_eq!(frame.get_i32(), corr);
    assert_eq!(frame.get_i16(), ILLEGAL_SASL_STATE);
    assert_closed(&mut c).await;

    // SaslAuthenticate without a handshake.
    let mut c = Conn::open(addr).await;
    let r = authenticate(&mut c, b"\0alice\0alice-pw").await;
    assert_eq!(r.error_code, ILLEGAL_SASL_STATE);
    assert_closed(&mut c).await;

    // A mechanism not served.
    let mut c = Conn::open(addr).await;
    let h = handshake(&mut c, "GSSAPI").await;
    assert_eq!(h.error_code, UNSUPPORTED_SASL_MECHANISM);
    assert_eq!(h.mechanisms.len(), 3);
    assert_closed(&mut c).await;

    // The PLAINTEXT access point needs no SASL and refuses a handshake without closing.
    let mut c = Conn::open(broker.address_of(&id).unwrap()).await;
    assert_eq!(handshake(&mut c, "PLAIN").await.error_code, ILLEGAL_SASL_STATE);
    assert_eq!(metadata(&mut c, &["orders"]).await.topics[0].error_code, 0);
}

#[tokio::test]
async fn handshake_v0_takes_raw_tokens() {
    let (_srv, broker, id) = setup().await;
    let mut c = Conn::open(sasl_addr(&broker, &id)).await;
    let req = SaslHandshakeRequest::default().with_mechanism(s("PLAIN"));
    let ResponseKind::SaslHandshake(h) = c.call(ApiKey::SaslHandshake, 0, RequestKind::SaslHandshake(req)).await else {
        panic!()
    };
    assert_eq!(h.error_code, 0);
    let token = b"\0alice\0alice-pw";
    let mut raw = BytesMut::new();
    raw.put_u32(token.len() as u32);
    raw.extend_from_slice(token);
    c.stream.write_all(&raw).await.unwrap();
    let answer = c.read_frame().await.expect("an empty raw token");
    assert!(answer.is_empty());
    assert_eq!(metadata(&mut c, &["orders"]).await.topics[0].error_code, 0);

    // A wrong raw token closes without an answer.
    let mut c = Conn::open(sasl_addr(&broker, &id)).await;
    let req = SaslHandshakeRequest::default().with_mechanism(s("PLAIN"));
    c.call(ApiKey::SaslHandshake, 0, RequestKind::SaslHandshake(req)).await;
    let token = b"\0alice\0nope";
    let mut raw = BytesMut::new();
    raw.put_u32(token.len() as u32);
    raw.extend_from_slice(token);
    c.stream.write_all(&raw).await.unwrap();
    assert_closed(&mut c).await;
}

#[tokio::test]
async fn acls_apply_to_sasl_users_only() {
    let (srv, broker, id) = setup().await;
    let acl = |resource_type: &'static str, name: &'static str, op: &'static str| {
        let id = id.clone();
        let srv = &srv;
        async move {
            let r = alibaba(
                srv,
                "CreateAcl",
                &[
                    ("InstanceId", &id),
                    ("RegionId", REGION),
                    ("Username", "alice"),
                    ("AclResourceType", resource_type),
                    ("AclResourceName", name),
                    ("AclResourcePatternType", "LITERAL"),
                    ("AclOperationType", op),
                ],
            )
            .await;
            assert_eq!(r["Success"], true, "{r}");
        }
    };
    // alice may write `orders` and read group `readers`; nothing else.
    acl("Topic", "orders", "Write").await;
    acl("Group", "readers", "Read").await;

    let (mut c, r) = login_plain(sasl_addr(&broker, &id), "alice", "alice-pw").await;
    assert_eq!(r.error_code, 0);
    assert_eq!(c.produce("orders", 0, 1, one_record()).await.0, 0);
    assert_eq!(c.produce("audit", 0, 1, one_record()).await.0, TOPIC_AUTHORIZATION_FAILED);
    assert_eq!(c.fetch("orders", 0, 0, 0).await.error_code, TOPIC_AUTHORIZATION_FAILED, "Write does not give Read");
    // Write implies Describe: Metadata shows `orders`, refuses `audit`, and a full listing leaves it out.
    let m = metadata(&mut c, &["orders", "audit"]).await;
    let codes: Vec<i16> = m.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, [0, TOPIC_AUTHORIZATION_FAILED]);
    let ResponseKind::Metadata(all) =
        c.call(ApiKey::Metadata, 12, RequestKind::Metadata(MetadataRequest::default().with_topics(None))).await
    else {
        panic!()
    };
    let names: Vec<String> = all.topics.iter().map(|t| t.name.as_ref().unwrap().to_string()).collect();
    assert_eq!(names, ["orders"]);
    // Groups: `readers` is allowed (Read implies Describe), `others` is not.
    let find = |group: &'static str| {
        RequestKind::FindCoordinator(FindCoordinatorRequest::default().with_key(s(group)).with_key_type(0))
    };
    let ResponseKind::FindCoordinator(f) = c.call(ApiKey::FindCoordinator, 3, find("readers")).await else { panic!() };
    assert_eq!(f.error_code, 0);
    let ResponseKind::FindCoordinator(f) = c.call(ApiKey::FindCoordinator, 3, find("others")).await else { panic!() };
    assert_eq!(f.error_code, GROUP_AUTHORIZATION_FAILED);
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(s("others")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::from_static(b"\0\0"))]);
    let ResponseKind::JoinGroup(j) = c.call(ApiKey::JoinGroup, 7, RequestKind::JoinGroup(join)).await else { panic!() };
    assert_eq!(j.error_code, GROUP_AUTHORIZATION_FAILED);
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(s("others")))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![offset_commit_request::OffsetCommitRequestTopic::default()
            .with_name(TopicName(s("orders")))
            .with_partitions(vec![offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(1)])]);
    let ResponseKind::OffsetCommit(oc) = c.call(ApiKey::OffsetCommit, 8, RequestKind::OffsetCommit(commit)).await
    else {
        panic!()
    };
    assert_eq!(oc.topics[0].partitions[0].error_code, GROUP_AUTHORIZATION_FAILED);

    // bob has no rule at all: refused everywhere once the instance has ACLs.
    let (mut b, r) = login_scram(sasl_addr(&broker, &id), Mechanism::ScramSha256, "bob", "bob-pw").await;
    assert_eq!(r.error_code, 0);
    assert_eq!(b.produce("orders", 0, 1, one_record()).await.0, TOPIC_AUTHORIZATION_FAILED);

    // The PLAINTEXT access point is not subject to ACLs.
    let mut p = Conn::open(broker.address_of(&id).unwrap()).await;
    let fetched = p.fetch("orders", 0, 0, 0).await;
    assert_eq!(fetched.error_code, 0);
    assert_eq!(kafka_support::decode(&fetched.records).len(), 1);
}

#[tokio::test]
async fn sasl_ssl_serves_tls_with_the_local_certificate() {
    let (srv, broker, id) = setup().await;
    let addr = broker.listener_address(&id, Security::SaslSsl).expect("a SASL_SSL listener");
    let files = localyun::server::tls_files(&srv.state.config).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    {
        use rustls::pki_types::pem::PemObject;
        for cert in rustls::pki_types::CertificateDer::pem_file_iter(&files.trust_pem).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("a TLS handshake with the local CA");

    // SaslHandshake v1 + SaslAuthenticate over TLS, by hand (the Conn helper is plain TCP).
    async fn call<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
        io: &mut S,
        key: ApiKey,
        version: i16,
        body: RequestKind,
    ) -> ResponseKind {
        use kafka_protocol::protocol::{Decodable, Encodable};
        let mut buf = BytesMut::new();
        buf.put_u32(0);
        RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(7)
            .with_client_id(Some(s("tls-test")))
            .encode(&mut buf, key.request_header_version(version))
            .unwrap();
        body.encode(&mut buf, version).unwrap();
        let len = (buf.len() - 4) as u32;
        buf[0..4].copy_from_slice(&len.to_be_bytes());
        io.write_all(&buf).await.unwrap();
        let mut len = [0u8; 4];
        io.read_exact(&mut len).await.unwrap();
        let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
        io.read_exact(&mut frame).await.unwrap();
        let mut frame = Bytes::from(frame);
        let header = ResponseHeader::decode(&mut frame, key.response_header_version(version)).unwrap();
        assert_eq!(header.correlation_id, 7);
        ResponseKind::decode(key, &mut frame, version).unwrap()
    }
    let hs = RequestKind::SaslHandshake(SaslHandshakeRequest::default().with_mechanism(s("PLAIN")));
    let ResponseKind::SaslHandshake(h) = call(&mut tls, ApiKey::SaslHandshake, 1, hs).await else { panic!() };
    assert_eq!(h.error_code, 0);
    let auth = RequestKind::SaslAuthenticate(
        SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from_static(b"\0alice\0alice-pw")),
    );
    let ResponseKind::SaslAuthenticate(a) = call(&mut tls, ApiKey::SaslAuthenticate, 2, auth).await else { panic!() };
    assert_eq!(a.error_code, 0);
    let md = RequestKind::Metadata(MetadataRequest::default().with_topics(None));
    let ResponseKind::Metadata(m) = call(&mut tls, ApiKey::Metadata, 12, md).await else { panic!() };
    assert_eq!(m.brokers[0].port, i32::from(addr.port()), "Metadata advertises the SASL_SSL port itself");
    assert!(m.topics.iter().any(|t| t.name.as_deref().map(|n| n.to_string()).as_deref() == Some("orders")));
}

/// A CKafka instance's users (the model Tencent's CreateUser writes) authenticate on its own
/// SASL_PLAINTEXT access point; another instance's users do not.
#[tokio::test]
async fn ckafka_users_authenticate_on_their_instance_only() {
    let (srv, broker, alibaba_id) = setup().await;
    let tencent_id = localyun::tencent::ckafka::default_instance_id(ACCOUNT, "ap-guangzhou");
    srv.state
        .store
        .kafka
        .read()
        .create_user(localyun::engine::kafka::Scope::ANY, &tencent_id, "ck-user", "ck-pass", "plain")
        .unwrap();
    let tencent_sasl = sasl_addr(&broker, &tencent_id);
    let (mut c, r) = login_scram(tencent_sasl, Mechanism::ScramSha512, "ck-user", "ck-pass").await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    assert_eq!(metadata(&mut c, &["orders"]).await.topics[0].error_code, 3, "the Alibaba topic is not here");
    // Alibaba's alice is not a CKafka user, and ck-user is not Alibaba's.
    let (mut c, r) = login_plain(tencent_sasl, "alice", "alice-pw").await;
    assert_eq!(r.error_code, SASL_AUTHENTICATION_FAILED);
    assert_closed(&mut c).await;
    let (_, r) = login_plain(sasl_addr(&broker, &alibaba_id), "ck-user", "ck-pass").await;
    assert_eq!(r.error_code, SASL_AUTHENTICATION_FAILED);
}
