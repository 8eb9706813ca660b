//! The RocketMQ 4.x TCP remoting protocol (what the ONS / open-source Java, C++, Python and Node clients
//! speak): one listener that plays both the name server and the broker, in front of the RocketMQ model that
//! the `/json` Open API, ONS and the MQ HTTP protocol share.
//!
//! - **Address.** The listener binds `<listen host>:9876` (the TCP endpoint `/json/instance/baseInfo` and
//!   `OnsInstanceBaseInfo` answer, [`crate::engine::rocketmq::NAME_SERVER`]); route answers name the broker
//!   at the same address, so clients need only the name server address. Settings (environment):
//!   `LOCALYUN_ROCKETMQ=off` turns it off, `LOCALYUN_ROCKETMQ_PORT_OFFSET=N` listens on `9876 + N`. Tests
//!   use [`RemotingOptions::ephemeral`] and [`RemotingServer::address`].
//! - **Instances.** One listener serves every instance: a resource name `MQ_INST_xxx%Name` (what clients
//!   configured with a namespace / instance id send) addresses that instance, a bare name the caller's
//!   instance without a namespace (the default account's, for unsigned requests).
//! - **ACL** (Alibaba's `ClientRPCHook` / RocketMQ's `AclClientRPCHook`): `extFields` carry `AccessKey`,
//!   `Signature` = Base64(HmacSHA1(secret, the values of every other field in key order, concatenated, then
//!   the body)) and `OnsChannel`. A signed request is verified against the account's keys; a wrong key or
//!   signature is refused with `NO_PERMISSION` (16), as the broker's ACL plugin does. Unsigned requests (no or
//!   an empty `AccessKey`): refused for namespaced instances (the cloud's ONS instances always require the
//!   signature), accepted for the default account's instance without a namespace, so open-source clients
//!   configured without ACL keep working. With `LOCALYUN_AUTH=lenient` nothing is verified.
//! - Requests served and their semantics are in [`broker`].

pub mod broker;
pub mod codec;
pub mod wire;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::codec::{Encoder, FramedRead};

use crate::engine::rocketmq::{Millis, NewMessage};
use crate::state::AppState;
use codec::{Command, RemotingCodec};

/// The name server port every instance answers (`127.0.0.1:9876`).
pub const NAME_SERVER_PORT: u16 = 9876;
/// How often transaction check-backs and lock expiry run.
const TICK: Duration = Duration::from_millis(500);
/// Responses queued per connection before the connection is considered stuck.
const OUTBOX: usize = 1024;

/// RocketMQ's delay levels (`messageDelayLevel`: 1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h),
/// in milliseconds; level N is entry N-1.
pub const DELAY_LEVELS_MS: [i64; 18] = [
    1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000, 480_000, 540_000,
    600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
];

/// Settings of the TCP data plane. From the environment with [`RemotingOptions::from_env`]:
/// `LOCALYUN_ROCKETMQ=off`, `LOCALYUN_ROCKETMQ_PORT_OFFSET=N`, and for tests of retries and transactions
/// `LOCALYUN_ROCKETMQ_RETRY_DELAY_MS` (one fixed retry back-off instead of the delay levels) and
/// `LOCALYUN_ROCKETMQ_CHECK_MS` (time before an undecided transaction is checked back, default 6000).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingOptions {
    pub enabled: bool,
    pub listen_host: IpAddr,
    pub port_offset: i32,
    /// Bind a free port (tests); ignores the offset.
    pub ephemeral: bool,
    /// Fixed retry back-off in ms; None: RocketMQ's schedule (level 3 + reconsume times: 10 s, 30 s, 1 min ...).
    pub retry_delay_ms: Option<i64>,
    /// Time after which an undecided half message is checked back with its producer, and between checks.
    pub check_ms: i64,
    /// Checks before an undecided half message is rolled back (RocketMQ's transactionCheckMax, 15).
    pub max_checks: u32,
}

impl RemotingOptions {
    /// The binary's options.
    pub fn from_env(state: &AppState) -> RemotingOptions {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        RemotingOptions {
            enabled: !matches!(var("LOCALYUN_ROCKETMQ").as_deref().map(str::trim), Some("off" | "0" | "false" | "no")),
            listen_host: state.config.host,
            port_offset: crate::kafka::port_offset(
                var("LOCALYUN_ROCKETMQ_PORT_OFFSET"),
                "LOCALYUN_ROCKETMQ_PORT_OFFSET",
            ),
            ephemeral: false,
            retry_delay_ms: var("LOCALYUN_ROCKETMQ_RETRY_DELAY_MS").and_then(|v| v.trim().parse().ok()),
            check_ms: var("LOCALYUN_ROCKETMQ_CHECK_MS").and_then(|v| v.trim().parse().ok()).unwrap_or(6_000),
            max_checks: 15,
        }
    }

    /// A free loopback port, short retry and check delays (tests).
    pub fn ephemeral() -> RemotingOptions {
        RemotingOptions {
            enabled: true,
            listen_host: IpAddr::from([127, 0, 0, 1]),
            port_offset: 0,
            ephemeral: true,
            retry_delay_ms: Some(300),
            check_ms: 500,
            max_checks: 15,
        }
    }

    /// The back-off before a message's `reconsume_times`-th redelivery.
    pub fn retry_delay(&self, reconsume_times: u32) -> i64 {
        if let Some(ms) = self.retry_delay_ms {
            return ms;
        }
        let level = (2 + reconsume_times as usize).min(DELAY_LEVELS_MS.len()); // level 3 + (times - 1)
        DELAY_LEVELS_MS[level - 1]
    }
}

/// A transactional half message waiting for its producer's decision, with its check-back schedule (runtime).
/// The message itself is also kept in the instance's message store (`RocketMqModel::store_half`), so with
/// `--data-dir` it survives a restart and is checked back after it, as RocketMQ's half topic is.
#[derive(Debug, Clone)]
pub(crate) struct Half {
    pub instance: String,
    /// The topic as stored (without the namespace) and as the producer named it.
    pub topic: String,
    pub client_topic: String,
    pub producer_group: String,
    pub uniq_id: Option<String>,
    pub message: NewMessage,
    pub check_at: Millis,
    pub checks: u32,
}

/// A connection that announced producer groups (for check-backs).
#[derive(Clone)]
pub(crate) struct Peer {
    pub conn: u64,
    pub outbox: mpsc::Sender<Command>,
}

/// The running TCP data plane. Call [`RemotingServer::shutdown`] to stop it.
pub struct RemotingServer {
    pub(crate) state: AppState,
    pub(crate) options: RemotingOptions,
    addr: SocketAddr,
    /// Bumped after every stored message; long-polling pulls wait on it.
    pub(crate) appended: watch::Sender<u64>,
    /// Half messages by their id (the commit-log offset reported to the producer).
    pub(crate) halves: Mutex<HashMap<i64, Half>>,
    pub(crate) next_half: AtomicI64,
    /// (instance, producer group) -> connections of that group.
    pub(crate) producers: Mutex<HashMap<(String, String), Vec<Peer>>>,
    /// Ordered-consumption locks: (instance, group, topic, queue) -> (client id, expiry).
    pub(crate) locks: Mutex<HashMap<(String, String, String, u32), (String, Millis)>>,
    /// (instance, group) -> connections with a consumer of that group, and the namespace prefix its names
    /// carry (offset resets are announced to them).
    pub(crate) consumer_peers: Mutex<HashMap<(String, String), Vec<(Peer, String)>>>,
    /// conn id -> consumers it registered: (instance, group, client id).
    pub(crate) consumers: Mutex<HashMap<u64, Vec<(String, String, String)>>>,
    next_conn: AtomicU64,
    pub(crate) next_opaque: AtomicI32,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Starts the TCP data plane with the binary's options; None when disabled or the port cannot be bound
/// (logged).
pub async fn start(state: &AppState) -> Option<Arc<RemotingServer>> {
    let options = RemotingOptions::from_env(state);
    if !options.enabled {
        tracing::info!("RocketMQ TCP data plane disabled (LOCALYUN_ROCKETMQ=off)");
        return None;
    }
    match start_with(state.clone(), options).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for RocketMQ clients");
            None
        }
    }
}

/// Starts the TCP data plane with explicit options.
pub async fn start_with(state: AppState, options: RemotingOptions) -> std::io::Result<Arc<RemotingServer>> {
    let port = if options.ephemeral {
        0
    } else {
        u16::try_from(i32::from(NAME_SERVER_PORT) + options.port_offset)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "port offset out of range"))?
    };
    let listener = TcpListener::bind(SocketAddr::new(options.listen_host, port)).await?;
    let addr = listener.local_addr()?;
    let server = Arc::new(RemotingServer {
        state,
        options,
        addr,
        appended: watch::channel(0).0,
        halves: Mutex::new(HashMap::new()),
        next_half: AtomicI64::new(1 << 40),
        producers: Mutex::new(HashMap::new()),
        locks: Mutex::new(HashMap::new()),
        consumers: Mutex::new(HashMap::new()),
        consumer_peers: Mutex::new(HashMap::new()),
        next_conn: AtomicU64::new(1),
        next_opaque: AtomicI32::new(1),
        tasks: Mutex::new(Vec::new()),
    });
    tracing::info!(%addr, "RocketMQ name server and broker listening");
    server.state.store.rocketmq.read().set_served_address(&server.address_text());
    server.restore_halves();
    let accept = tokio::spawn(accept_loop(server.clone(), listener));
    let s = server.clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(TICK).await;
            s.tick().await;
        }
    });
    server.tasks.lock().extend([accept, ticker]);
    Ok(server)
}

async fn accept_loop(server: Arc<RemotingServer>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_connection(server.clone(), stream, peer));
            }
            Err(e) => {
                tracing::debug!(error = %e, "RocketMQ accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One client connection: requests are answered in order, except pulls, which may wait (long polling)
/// and so run on their own; responses and server requests go out through one writer.
async fn serve_connection(server: Arc<RemotingServer>, stream: TcpStream, peer: SocketAddr) {
    let conn = server.next_conn.fetch_add(1, Ordering::Relaxed);
    let (read, write) = stream.into_split();
    let mut reader = FramedRead::new(read, RemotingCodec);
    let mut write = write;
    let (tx, mut rx) = mpsc::channel::<Command>(OUTBOX);
    let writer_task = tokio::spawn(async move {
        let mut buf = bytes::BytesMut::new();
        let mut codec = RemotingCodec;
        while let Some(cmd) = rx.recv().await {
            // Everything already queued goes out in one write.
            let mut next = Some(cmd);
            while let Some(c) = next {
                if codec.encode(c, &mut buf).is_err() {
                    return;
                }
                next = rx.try_recv().ok();
            }
            if write.write_all(&buf).await.is_err() {
                return;
            }
            buf.clear();
        }
    });
    let ctx = broker::Conn { id: conn, peer, outbox: tx.clone() };
    while let Some(frame) = reader.next().await {
        let cmd = match frame {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "malformed RocketMQ frame; closing the connection");
                break;
            }
        };
        if cmd.is_response() {
            // Answers to our one-way check-backs carry nothing to act on.
            continue;
        }
        if cmd.code == broker::code::PULL_MESSAGE {
            let (s, c) = (server.clone(), ctx.clone());
            tokio::spawn(async move {
                if let Some(resp) = s.handle(&c, cmd).await {
                    let _ = c.outbox.send(resp).await;
                }
            });
            continue;
        }
        if let Some(resp) = server.handle(&ctx, cmd).await {
            if tx.send(resp).await.is_err() {
                break;
            }
        }
    }
    drop(tx);
    drop(ctx);
    server.connection_closed(conn);
    let _ = writer_task.await;
}

impl RemotingServer {
    /// The bound address (name server and broker).
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening and the background work (open connections end when their clients close them).
    pub async fn shutdown(&self) {
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
    }

    /// A connection ended: its consumers go offline, its producer registrations go away.
    fn connection_closed(&self, conn: u64) {
        let gone = self.consumers.lock().remove(&conn).unwrap_or_default();
        if !gone.is_empty() {
            let model = self.state.store.rocketmq.read();
            for (instance, group, client) in &gone {
                let _ = model.disconnect_consumer(instance, group, client);
            }
            drop(model);
            self.state.store.rocketmq.mark_changed();
            let state = self.state.clone();
            tokio::spawn(async move {
                let _ = state.persist().await;
            });
        }
        for peers in self.producers.lock().values_mut() {
            peers.retain(|p| p.conn != conn);
        }
        self.consumer_peers.lock().retain(|_, peers| {
            peers.retain(|(p, _)| p.conn != conn);
            !peers.is_empty()
        });
    }

    /// Undecided half messages the model kept (a restart with `--data-dir`): checked back from now on.
    fn restore_halves(&self) {
        let kept = self.state.store.rocketmq.read().stored_halves();
        let check_at = Millis::from_ms(Millis::now().as_ms() + self.options.check_ms);
        let mut halves = self.halves.lock();
        for (instance, h) in kept {
            self.next_half.fetch_max(h.id + 1, Ordering::Relaxed);
            halves.entry(h.id).or_insert(Half {
                instance,
                topic: h.topic,
                client_topic: h.client_topic,
                producer_group: h.producer_group,
                uniq_id: h.uniq_id,
                message: h.message,
                check_at,
                checks: 0,
            });
        }
    }

    /// Check-backs of undecided transactions; expired ordered-consumption locks.
    async fn tick(&self) {
        let now = Millis::now();
        // A state import or reset replaces the model: it learns the served address again.
        self.state.store.rocketmq.read().set_served_address(&self.address_text());
        let resets = self.state.store.rocketmq.read().take_reset_notices();
        for notice in resets {
            let peers = self
                .consumer_peers
                .lock()
                .get(&(notice.instance.clone(), notice.group.clone()))
                .cloned()
                .unwrap_or_default();
            for (peer, ns_prefix) in peers {
                let opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
                let _ = peer.outbox.try_send(broker::reset_request(&notice, &ns_prefix, opaque));
            }
        }
        self.locks.lock().retain(|_, (_, until)| *until > now);
        let mut given_up = Vec::new();
        let due: Vec<(i64, Half)> = {
            let mut halves = self.halves.lock();
            let expired: Vec<i64> =
                halves.iter().filter(|(_, h)| h.checks >= self.options.max_checks).map(|(k, _)| *k).collect();
            for k in expired {
                if let Some(h) = halves.remove(&k) {
                    tracing::info!(topic = %h.topic, group = %h.producer_group, "undecided transaction rolled back after its last check");
                    given_up.push((h.instance, k));
                }
            }
            halves
                .iter_mut()
                .filter(|(_, h)| h.check_at <= now)
                .map(|(k, h)| {
                    h.checks += 1;
                    h.check_at = Millis::from_ms(now.as_ms() + self.options.check_ms);
                    (*k, h.clone())
                })
                .collect()
        };
        if !given_up.is_empty() {
            {
                let model = self.state.store.rocketmq.read();
                for (instance, id) in &given_up {
                    model.forget_half(instance, *id);
                }
            }
            self.state.store.rocketmq.mark_changed();
            if let Err(e) = self.state.persist().await {
                tracing::error!(error = %e, "could not store the given-up transactions");
            }
        }
        let host = self.address_text();
        for (id, half) in due {
            let peers = self
                .producers
                .lock()
                .get(&(half.instance.clone(), half.producer_group.clone()))
                .cloned()
                .unwrap_or_default();
            if let Some(peer) = peers.last() {
                let opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
                let _ = peer.outbox.try_send(broker::check_request(&half, id, opaque, &host));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_rocketmqs_delay_levels_unless_fixed() {
        let mut o = RemotingOptions::ephemeral();
        o.retry_delay_ms = None;
        // Level 3 + (reconsume times - 1): 10 s, 30 s, 1 min, ... capped at the last level (2 h).
        assert_eq!([o.retry_delay(1), o.retry_delay(2), o.retry_delay(3)], [10_000, 30_000, 60_000]);
        assert_eq!(o.retry_delay(40), 7_200_000);
        o.retry_delay_ms = Some(250);
        assert_eq!(o.retry_delay(5), 250);
    }
}
