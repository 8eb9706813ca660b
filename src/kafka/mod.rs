//! The Kafka data plane: every Kafka instance of either vendor (Tencent CKafka, Alibaba Kafka) is a real
//! Kafka broker at the address its management API answers (`vip:vport`), speaking the wire protocol
//! through the `kafka-protocol` crate.
//!
//! Design:
//! - **Listeners.** Every instance has its own vport, stored with it (assigned at creation, see
//!   [`crate::engine::kafka::vports`]: the default account's ap-guangzhou CKafka instance 9092, every
//!   other instance the next free block of ten from 9102), and listens on `<listen host>:<vport + port
//!   offset>` plus its SASL access points ([`Security`]); the listen host is the HTTP host setting
//!   (127.0.0.1 by default). Instances that share a vport (state files written before vports were
//!   allocated) are separated at start: the first in the listeners' order keeps it (the default
//!   account's first, among them the default Tencent instance of [`cluster::DEFAULT_REGION`], then
//!   Tencent before Alibaba, then the oldest, then by id), the others get free blocks. With
//!   [`KafkaOptions::ephemeral`] (tests) every access point gets its own free port instead, which
//!   [`KafkaBroker::listener_address`] tells. A reconcile loop (every [`RECONCILE_EVERY`]) starts
//!   listeners for instances created later through the APIs and stops those of deleted instances.
//! - **Metadata** advertises one broker (node 0) at the advertised host (setting, else the instance's
//!   vip) and the listener's port; every partition is led by it.
//! - **Logs** live in [`crate::storage::log`] (in memory; with `--data-dir` segment files under
//!   `<data-dir>/logs/`). After each append the partition's offsets are reported to the management
//!   model through [`cluster`], so GetTopicStatus / GetConsumerProgress / ListConsumerGroup show them.
//! - **Topics are managed by the cloud APIs**: both vendors' guides say to create topics and groups
//!   beforehand in the console or API (seed alibaba-kafka-dev-guide.txt, "创建资源": "请提前创建 Topic 和
//!   Consumer Group"), so Metadata never auto-creates and CreateTopics / DeleteTopics / CreatePartitions
//!   are refused with POLICY_VIOLATION. Consumer groups are created on the fly on first use, as Kafka does.
//! - **Transactions** ([`txn`], KIP-98): this broker is the transaction coordinator of the instance's
//!   transactional ids; markers are control batches in the partition logs, and read_committed fetches
//!   stop at the last stable offset ([`logs::PartTxns`]).
//! - **Admin APIs** ([`admin`]): DeleteRecords (a durable log start), DeleteGroups, OffsetDelete,
//!   AlterConfigs / IncrementalAlterConfigs for topics, DescribeCluster, DescribeLogDirs.
//! - **Access points** ([`Security`]): PLAINTEXT on the vport, SASL_SSL on vport + 1 (TLS with the HTTPS
//!   listener's certificate) and SASL_PLAINTEXT on vport + 2. SASL ([`sasl`]: PLAIN, SCRAM-SHA-256/512)
//!   checks the instance's users (Tencent CreateUser, Alibaba CreateSaslUser); a connection that has not
//!   authenticated gets ILLEGAL_SASL_STATE for anything but ApiVersions / SaslHandshake /
//!   SaslAuthenticate and is closed, a wrong password SASL_AUTHENTICATION_FAILED and is closed. The
//!   instance's ACLs (Tencent CreateAcl, Alibaba CreateAcl) apply to SASL users only; the PLAINTEXT access
//!   point is the clouds' unauthenticated VPC one.

pub mod acls;
pub mod admin;
pub mod cluster;
pub mod conn;
pub mod group;
pub mod handlers;
pub mod local;
pub mod logs;
pub mod sasl;
pub mod txn;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::AppState;

/// How often listeners are reconciled with the model and retention / session expiry run.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(1);

/// Largest request frame accepted (Kafka's socket.request.max.bytes default, 100 MiB). A bigger length
/// prefix closes the connection.
pub const MAX_FRAME_BYTES: usize = 100 * 1024 * 1024;

/// Data-plane settings. From the environment with [`KafkaOptions::from_env`]:
/// - `LOCALYUN_KAFKA=off` disables every listener;
/// - `LOCALYUN_KAFKA_PORT_OFFSET=N` listens on `vport + N` (e.g. to run two localyuns side by side), which
///   the management APIs answer too ([`ServedAddress`]);
/// - `LOCALYUN_KAFKA_ADVERTISED_HOST=name` is the host Metadata, FindCoordinator and the management APIs
///   answer (e.g. the service name in a compose file), default: the instance's vip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaOptions {
    pub enabled: bool,
    /// Host the listeners bind (the HTTP listener's host by default).
    pub listen_host: IpAddr,
    pub port_offset: i32,
    /// Bind every instance to its own free port (tests); ignores vport and the offset.
    pub ephemeral: bool,
    pub advertised_host: Option<String>,
}

/// A port offset setting: a whole number, else 0 with a warning (a typo must not silently bind the
/// default ports the setting was meant to avoid).
pub fn port_offset(value: Option<String>, name: &str) -> i32 {
    let Some(text) = value else { return 0 };
    match text.trim().parse::<i32>() {
        Ok(n) if (-65535..=65535).contains(&n) => n,
        _ => {
            tracing::warn!(setting = name, value = %text, "not a port offset (a whole number within ±65535): 0 is used");
            0
        }
    }
}

impl KafkaOptions {
    /// The options the binary uses: the environment variables above, the HTTP host.
    pub fn from_env(state: &AppState) -> KafkaOptions {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        KafkaOptions {
            enabled: !matches!(var("LOCALYUN_KAFKA").as_deref().map(str::trim), Some("off" | "0" | "false" | "no")),
            listen_host: state.config.host,
            port_offset: port_offset(var("LOCALYUN_KAFKA_PORT_OFFSET"), "LOCALYUN_KAFKA_PORT_OFFSET"),
            ephemeral: false,
            advertised_host: var("LOCALYUN_KAFKA_ADVERTISED_HOST"),
        }
    }

    /// The port an instance's access point listens on: `vport + access point offset + port offset`. None
    /// when that is out of range or 0 (nothing listens then). Ephemeral listeners (tests) pick their own
    /// ports and are not described by this.
    pub fn listen_port(&self, vport: u16, security: Security) -> Option<u16> {
        moved_port(vport, security, self.port_offset)
    }

    /// Every instance on its own free loopback port (for tests).
    pub fn ephemeral() -> KafkaOptions {
        KafkaOptions {
            enabled: true,
            listen_host: IpAddr::from([127, 0, 0, 1]),
            port_offset: 0,
            ephemeral: true,
            advertised_host: None,
        }
    }
}

/// The three access points of an instance, each on its own port (`vport + offset`).
///
/// The offsets follow Alibaba's endpoints: `EndPoint` (VPC, PLAINTEXT) on the vport, `SslEndPoint`
/// (Internet, SASL_SSL with SASL/PLAIN, seed alibaba-kafka-dev-guide.txt GetInstanceList: `...:9093`) on
/// the next port, and the VPC SASL access point (SASL_PLAINTEXT, Alibaba's 9094) after it. CKafka's
/// SASL_PLAINTEXT public route is served on the same `vport + 2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Security {
    Plaintext,
    SaslSsl,
    SaslPlaintext,
}

impl Security {
    /// Every access point, in port order.
    pub const ALL: [Security; 3] = [Security::Plaintext, Security::SaslSsl, Security::SaslPlaintext];

    /// The port of this access point relative to the instance's vport.
    pub fn port_offset(self) -> u16 {
        match self {
            Security::Plaintext => 0,
            Security::SaslSsl => 1,
            Security::SaslPlaintext => 2,
        }
    }

    /// Whether clients must authenticate (SaslHandshake / SaslAuthenticate) before anything else.
    pub fn sasl(self) -> bool {
        self != Security::Plaintext
    }

    /// Kafka's `security.protocol` name.
    pub fn name(self) -> &'static str {
        match self {
            Security::Plaintext => "PLAINTEXT",
            Security::SaslSsl => "SASL_SSL",
            Security::SaslPlaintext => "SASL_PLAINTEXT",
        }
    }
}

/// Where the management APIs tell clients to connect (Tencent `vip:vport` / `Vip:Vport`, Alibaba `EndPoint`,
/// `SslEndPoint`, `DomainEndpoint`, `SslDomainEndpoint`): the host and port the running data plane serves
/// an access point on, so an answer and Kafka's Metadata agree (the spec extract: "The addresses returned by
/// GetInstanceList must be exactly what the Kafka `Metadata` response advertises, because clients reconnect
/// to the advertised brokers"). The stored vip and vport stay the instance's; `LOCALYUN_KAFKA_PORT_OFFSET`
/// and `LOCALYUN_KAFKA_ADVERTISED_HOST` are applied only when answering, so a restart with other settings
/// answers the new address. Taken once per request ([`ServedAddress::of`]), applied per instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServedAddress {
    /// `LOCALYUN_KAFKA_PORT_OFFSET` of the running data plane; 0 when it is off, not started, or ephemeral.
    offset: i32,
    /// `LOCALYUN_KAFKA_ADVERTISED_HOST` of the running data plane, the host Metadata answers.
    host: Option<String>,
}

impl ServedAddress {
    /// The addresses of the data plane serving `state` (without one: the stored vip and vport).
    pub fn of(state: &AppState) -> ServedAddress {
        match state.kafka() {
            Some(b) => ServedAddress {
                offset: if b.options.ephemeral { 0 } else { b.options.port_offset },
                host: b.options.advertised_host.clone(),
            },
            None => ServedAddress::default(),
        }
    }

    /// The port `security` of an instance whose stored vport is `vport` is served on: the listener's port
    /// ([`KafkaOptions::listen_port`]); the unmoved `vport + access point offset` when the offset moves it
    /// out of range (nothing listens for it then).
    pub fn port(&self, vport: u16, security: Security) -> u16 {
        moved_port(vport, security, self.offset).unwrap_or_else(|| vport.saturating_add(security.port_offset()))
    }

    /// The host of an instance whose stored vip is `vip`: the advertised host when one is set, as Metadata.
    pub fn host<'a>(&'a self, vip: &'a str) -> &'a str {
        self.host.as_deref().unwrap_or(vip)
    }
}

/// `vport + access point offset + offset`, the one formula of listeners and answers; None out of range or 0.
fn moved_port(vport: u16, security: Security, offset: i32) -> Option<u16> {
    let port = i32::from(vport) + i32::from(security.port_offset()) + offset;
    u16::try_from(port).ok().filter(|p| *p != 0)
}

struct Listener {
    instance: String,
    security: Security,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

/// The running data plane. Dropping it does not stop it: call [`KafkaBroker::shutdown`].
pub struct KafkaBroker {
    pub(crate) state: AppState,
    pub(crate) options: KafkaOptions,
    pub(crate) logs: logs::Logs,
    pub(crate) groups: group::Coordinator,
    /// The transaction coordinator (KIP-98) of every instance's transactional ids.
    pub(crate) txns: txn::Transactions,
    /// Bumped after every append; long-polling fetches wait on it.
    pub(crate) appended: watch::Sender<u64>,
    pub(crate) next_producer_id: std::sync::atomic::AtomicI64,
    /// Listen key (instance id when ephemeral, else port) -> listener.
    listeners: Mutex<HashMap<String, Listener>>,
    /// Addresses that failed to bind (logged once).
    failed: Mutex<std::collections::HashSet<String>>,
    stop: watch::Sender<bool>,
    reconciler: Mutex<Option<JoinHandle<()>>>,
    /// The SASL_SSL listeners' TLS acceptor (the HTTPS listener's certificate), made on first use; None
    /// when TLS is off (`--no-tls`) or the certificate cannot be loaded.
    tls: std::sync::OnceLock<Option<tokio_rustls::TlsAcceptor>>,
}

/// Starts the data plane with the binary's options (see [`KafkaOptions::from_env`]). Returns None when
/// disabled. The binary calls this after building the state, and [`KafkaBroker::shutdown`] on exit.
pub async fn start(state: &AppState) -> Option<Arc<KafkaBroker>> {
    let options = KafkaOptions::from_env(state);
    if !options.enabled {
        tracing::info!("Kafka data plane disabled (LOCALYUN_KAFKA=off)");
        return None;
    }
    Some(start_with(state.clone(), options).await)
}

/// Starts the data plane with explicit options: recovers logs (with `--data-dir`), binds the listeners,
/// and runs the reconcile loop.
pub async fn start_with(state: AppState, options: KafkaOptions) -> Arc<KafkaBroker> {
    let root = state.config.data_dir.as_ref().map(|d| d.join("logs"));
    let broker = Arc::new(KafkaBroker {
        logs: logs::Logs::new(root),
        groups: group::Coordinator::default(),
        txns: txn::Transactions::default(),
        appended: watch::channel(0).0,
        next_producer_id: std::sync::atomic::AtomicI64::new(initial_producer_id()),
        listeners: Mutex::new(HashMap::new()),
        failed: Mutex::new(Default::default()),
        stop: watch::channel(false).0,
        reconciler: Mutex::new(None),
        tls: std::sync::OnceLock::new(),
        state,
        options,
    });
    broker.state.kafka_plane.set(&broker);
    broker.separate_vports().await;
    broker.recover();
    broker.reconcile().await;
    let b = broker.clone();
    let mut stop = broker.stop.subscribe();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(RECONCILE_EVERY) => {}
                _ = stop.changed() => return,
            }
            b.reconcile().await;
            b.housekeeping();
        }
    });
    *broker.reconciler.lock() = Some(task);
    broker
}

/// The TLS acceptor of the SASL_SSL listeners: the certificate the HTTPS listener serves (generated for
/// localhost / 127.0.0.1 under the TLS folder, or the user's `--tls-cert` / `--tls-key`), so clients trust
/// the same `ca.pem`.
fn load_tls(config: &crate::config::Config) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Brokers started together in one process (tests) would otherwise generate the certificate into the
    // same folder at once and could pair one's certificate with the other's key.
    static GENERATING: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
    let files = {
        let _one_at_a_time = GENERATING.lock();
        crate::server::tls_files(config)?
    };
    let certs = CertificateDer::pem_file_iter(&files.cert_chain_pem)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(&files.key_pem)?;
    let config = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(certs, key)?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Producer ids start from the clock so ids handed out before a restart are not reused after it.
fn initial_producer_id() -> i64 {
    crate::engine::now_ms().max(1) * 1000
}

impl KafkaBroker {
    /// The address an instance's PLAINTEXT listener is bound to, once it is.
    pub fn address_of(&self, instance: &str) -> Option<SocketAddr> {
        self.listener_address(instance, Security::Plaintext)
    }

    /// The address one of an instance's access points is bound to, once it is.
    pub fn listener_address(&self, instance: &str, security: Security) -> Option<SocketAddr> {
        self.listeners.lock().values().find(|l| l.instance == instance && l.security == security).map(|l| l.addr)
    }

    /// Every PLAINTEXT listener: (instance id, address), by port (the binary's start-up banner).
    pub fn plaintext_listeners(&self) -> Vec<(String, SocketAddr)> {
        let mut out: Vec<(String, SocketAddr)> = self
            .listeners
            .lock()
            .values()
            .filter(|l| l.security == Security::Plaintext)
            .map(|l| (l.instance.clone(), l.addr))
            .collect();
        out.sort_by_key(|(_, a)| a.port());
        out
    }

    fn tls_acceptor(&self) -> Option<tokio_rustls::TlsAcceptor> {
        self.tls
            .get_or_init(|| {
                if self.state.config.no_tls {
                    return None;
                }
                match load_tls(&self.state.config) {
                    Ok(a) => Some(a),
                    Err(e) => {
                        tracing::warn!(error = %e, "no TLS for the Kafka SASL_SSL listeners");
                        None
                    }
                }
            })
            .clone()
    }

    /// Stops every listener and the reconcile loop (open connections end with their listener task).
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.reconciler.lock().take() {
            t.abort();
        }
        let listeners: Vec<Listener> = self.listeners.lock().drain().map(|(_, l)| l).collect();
        for l in listeners {
            l.task.abort();
        }
    }

    /// Opens every partition log found on disk for existing topics and reports its offsets to the model
    /// (the log is the truth for offsets after a restart).
    fn recover(&self) {
        if self.state.config.data_dir.is_none() {
            return;
        }
        self.logs.drop_deleted(|i, t, c| cluster::topic(&self.state, i, t).is_some_and(|ti| ti.created_at_ms == c));
        for inst in cluster::instances(&self.state) {
            for t in cluster::topics(&self.state, &inst.id).unwrap_or_default() {
                for p in 0..t.partitions {
                    let key = logs::PartKey {
                        instance: inst.id.clone(),
                        topic: t.name.clone(),
                        topic_created_ms: t.created_at_ms,
                        partition: p,
                    };
                    match self.logs.get(&key) {
                        Ok(part) => {
                            let part = part.lock();
                            cluster::record_log_offsets(
                                &self.state,
                                &inst.id,
                                &t.name,
                                p,
                                part.log.log_start_offset(),
                                part.log.end_offset(),
                                part.log.last_append_ms(),
                            );
                        }
                        Err(e) => {
                            tracing::error!(topic = %t.name, partition = p, error = %e, "cannot open partition log")
                        }
                    }
                }
            }
        }
    }

    /// Retention, deleted topics' logs, group session expiry, transaction timeouts.
    fn housekeeping(&self) {
        let state = &self.state;
        self.logs.drop_deleted(|i, t, c| cluster::topic(state, i, t).is_some_and(|ti| ti.created_at_ms == c));
        self.txns.expire(self);
        self.groups.retain_instances(|i| cluster::instance_exists(state, i));
        self.groups.tick();
        let now = crate::engine::now_ms();
        for key in self.logs.keys() {
            let Some(t) = cluster::topic(state, &key.instance, &key.topic) else { continue };
            let Ok(part) = self.logs.get(&key) else { continue };
            let mut part = part.lock();
            let before = part.log.log_start_offset();
            part.log.set_segment_ms(t.segment_ms);
            if let Err(e) = part.log.enforce_retention(t.effective_retention_ms(), now) {
                tracing::warn!(error = %e, "log retention failed");
            }
            if part.log.log_start_offset() != before {
                let start = part.log.log_start_offset();
                part.txns.forget_before(start);
                let (s, e, l) = (part.log.log_start_offset(), part.log.end_offset(), part.log.last_append_ms());
                drop(part);
                cluster::record_log_offsets(state, &key.instance, &key.topic, key.partition, s, e, l);
            }
        }
    }

    /// Every instance, the deterministic owner of a shared address first: the default account's, among
    /// them its default Tencent instance of [`cluster::DEFAULT_REGION`], then Tencent before Alibaba, then
    /// the oldest, then by id.
    fn instances_owners_first(&self) -> Vec<cluster::InstanceInfo> {
        let default_account = cluster::default_account(&self.state);
        let mut instances = cluster::instances(&self.state);
        instances.sort_by_key(|i| (i.account != default_account, !i.is_default, i.cloud, i.created_at, i.id.clone()));
        instances
    }

    /// Instances sharing a vport (a state folder from before vports were allocated) get their own, once,
    /// stored like any change.
    async fn separate_vports(&self) {
        let moved = cluster::separate_vports(&self.state, &self.instances_owners_first());
        for (id, port) in &moved {
            tracing::info!(instance = %id, vport = port, "Kafka instance moved to a vport of its own");
        }
        if !moved.is_empty() {
            cluster::persist(&self.state).await;
        }
    }

    /// Binds listeners for instances that have none and stops those of deleted instances.
    async fn reconcile(self: &Arc<Self>) {
        let instances = self.instances_owners_first();
        let tls = self.tls_acceptor();
        let mut wanted: Vec<(String, String, u16, Security)> = Vec::new(); // (listen key, instance, port, kind)
        let mut taken = std::collections::HashSet::new();
        for i in &instances {
            for security in Security::ALL {
                if security == Security::SaslSsl && tls.is_none() {
                    continue;
                }
                if self.options.ephemeral {
                    wanted.push((format!("{}#{}", i.id, security.name()), i.id.clone(), 0, security));
                    continue;
                }
                let Some(port) = self.options.listen_port(i.vport, security) else {
                    if self.failed.lock().insert(format!("range/{}/{}", i.id, security.name())) {
                        tracing::warn!(
                            instance = %i.id,
                            vport = i.vport,
                            protocol = security.name(),
                            offset = self.options.port_offset,
                            "the port offset moves this listener beyond 1-65535: it is not started"
                        );
                    }
                    continue;
                };
                if taken.insert(port) {
                    wanted.push((port.to_string(), i.id.clone(), port, security));
                } else if self.failed.lock().insert(format!("shared/{}/{}", i.id, security.name())) {
                    tracing::warn!(instance = %i.id, port, "another instance already serves Kafka on this port");
                }
            }
        }
        {
            let mut listeners = self.listeners.lock();
            let stale: Vec<String> = listeners
                .iter()
                .filter(|(k, l)| {
                    !wanted.iter().any(|(wk, wi, _, ws)| wk == *k && *wi == l.instance && *ws == l.security)
                })
                .map(|(k, _)| k.clone())
                .collect();
            for k in stale {
                if let Some(l) = listeners.remove(&k) {
                    l.task.abort();
                }
            }
        }
        for (key, instance, port, security) in wanted {
            if self.listeners.lock().contains_key(&key) {
                continue;
            }
            let addr = SocketAddr::new(self.options.listen_host, port);
            match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => {
                    let bound = listener.local_addr().unwrap_or(addr);
                    let acceptor = if security == Security::SaslSsl { tls.clone() } else { None };
                    let task =
                        tokio::spawn(conn::accept_loop(self.clone(), instance.clone(), listener, security, acceptor));
                    tracing::debug!(instance = %instance, addr = %bound, protocol = security.name(), "Kafka listener up");
                    self.listeners.lock().insert(key, Listener { instance, security, addr: bound, task });
                }
                Err(e) => {
                    if self.failed.lock().insert(key.clone()) {
                        tracing::warn!(instance = %instance, %addr, error = %e, "cannot listen for Kafka clients");
                    }
                }
            }
        }
    }

    /// The host Metadata advertises for an instance.
    pub(crate) fn advertised_host(&self, instance: &str) -> String {
        if let Some(h) = &self.options.advertised_host {
            return h.clone();
        }
        if self.options.ephemeral {
            return self.options.listen_host.to_string();
        }
        cluster::instances(&self.state)
            .into_iter()
            .find(|i| i.id == instance)
            .map(|i| i.vip)
            .unwrap_or_else(|| self.options.listen_host.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::port_offset;

    #[test]
    fn a_port_offset_is_a_whole_number_else_zero() {
        assert_eq!(port_offset(None, "X"), 0);
        assert_eq!(port_offset(Some(" 30000 ".into()), "X"), 30000);
        assert_eq!(port_offset(Some("-100".into()), "X"), -100);
        assert_eq!(port_offset(Some("abc".into()), "X"), 0, "a typo falls back to 0 (with a warning)");
        assert_eq!(port_offset(Some("70000".into()), "X"), 0, "beyond any port");
    }
}
