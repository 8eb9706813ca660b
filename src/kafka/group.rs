//! The classic consumer-group protocol (KIP-62 era JoinGroup / SyncGroup / Heartbeat / LeaveGroup), one
//! coordinator per instance. Assignor metadata and assignments are opaque bytes relayed untouched: the
//! group leader (a client) computes the assignment, as in Kafka.
//!
//! States follow Kafka's GroupCoordinator: Empty -> PreparingRebalance (members (re)join until all known
//! members did or the rebalance timeout passes) -> CompletingRebalance (the leader's SyncGroup brings the
//! assignment) -> Stable. A member that stops heartbeating for its session timeout is removed and the
//! others rebalance.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use indexmap::IndexMap;
use parking_lot::Mutex;
use tokio::sync::watch;

/// Kafka error codes the coordinator answers.
pub mod code {
    pub const NONE: i16 = 0;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const INVALID_SESSION_TIMEOUT: i16 = 26;
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    pub const INVALID_GROUP_ID: i16 = 24;
}

/// Bounds on the session timeout a member may ask for (Kafka's group.min/max.session.timeout.ms).
pub const MIN_SESSION_TIMEOUT_MS: i32 = 1_000;
pub const MAX_SESSION_TIMEOUT_MS: i32 = 1_800_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl GroupState {
    /// The name DescribeGroups / ListGroups report.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// One member of a group.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    /// Protocols in the member's preference order: (name, assignor metadata).
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    last_seen: Instant,
    /// Joined in the current rebalance round.
    joined: bool,
}

impl Member {
    pub fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols.iter().find(|(n, _)| n == protocol).map(|(_, m)| m.clone()).unwrap_or_default()
    }
}

/// One group's state.
#[derive(Debug)]
pub struct Group {
    pub state: GroupState,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub members: IndexMap<String, Member>,
    deadline: Option<Instant>,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: IndexMap::new(),
            deadline: None,
        }
    }
}

impl Group {
    fn start_rebalance(&mut self, now: Instant) {
        if self.state == GroupState::PreparingRebalance {
            return;
        }
        self.state = GroupState::PreparingRebalance;
        for m in self.members.values_mut() {
            m.joined = false;
        }
        let timeout = self.members.values().map(|m| m.rebalance_timeout).max().unwrap_or(Duration::from_secs(1));
        self.deadline = Some(now + timeout);
    }

    /// Ends the join phase when every member joined or the deadline passed. Returns whether it did.
    fn try_complete(&mut self, now: Instant) -> bool {
        if self.state != GroupState::PreparingRebalance {
            return false;
        }
        let all_joined = self.members.values().all(|m| m.joined);
        if !all_joined && self.deadline.is_some_and(|d| now < d) {
            return false;
        }
        self.members.retain(|_, m| m.joined);
        self.generation += 1;
        self.deadline = None;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            return true;
        }
        let first = self.members.values().next().map(|m| m.protocols.clone()).unwrap_or_default();
        self.protocol = first
            .iter()
            .map(|(n, _)| n.clone())
            .find(|n| self.members.values().all(|m| m.protocols.iter().any(|(p, _)| p == n)));
        if !self.leader.as_ref().is_some_and(|l| self.members.contains_key(l)) {
            self.leader = self.members.keys().next().cloned();
        }
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
            m.last_seen = now;
        }
        self.state = GroupState::CompletingRebalance;
        true
    }

    /// Removes members silent for longer than their session timeout (members waiting in a join are
    /// alive). Returns whether any was removed.
    fn expire(&mut self, now: Instant) -> bool {
        let preparing = self.state == GroupState::PreparingRebalance;
        let before = self.members.len();
        self.members.retain(|_, m| (preparing && m.joined) || now.duration_since(m.last_seen) <= m.session_timeout);
        let removed = self.members.len() != before;
        if removed {
            self.after_departure(now);
        }
        removed
    }

    fn after_departure(&mut self, now: Instant) {
        if self.members.is_empty() && self.state != GroupState::PreparingRebalance {
            self.state = GroupState::Empty;
            self.generation += 1;
            self.protocol = None;
            self.leader = None;
        } else {
            self.start_rebalance(now);
            self.try_complete(now);
        }
    }
}

/// A group and the channel that wakes the requests waiting on it.
pub struct GroupCell {
    pub group: Mutex<Group>,
    changed: watch::Sender<u64>,
}

impl GroupCell {
    fn notify(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }
}

/// A group as DescribeGroups shows it: state, protocol type, chosen protocol, members.
pub type GroupSnapshot = (GroupState, Option<String>, Option<String>, Vec<Member>);

/// What JoinGroup answers.
#[derive(Debug, Clone, Default)]
pub struct JoinResult {
    pub error: i16,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: String,
    pub member_id: String,
    /// The members and their metadata for the chosen protocol (for the leader only).
    pub members: Vec<(String, Option<String>, Bytes)>,
}

/// A JoinGroup request in the coordinator's terms.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
}

/// Every group of every instance.
#[derive(Default)]
pub struct Coordinator {
    groups: Mutex<HashMap<(String, String), Arc<GroupCell>>>,
}

impl Coordinator {
    fn cell(&self, instance: &str, group: &str, create: bool) -> Option<Arc<GroupCell>> {
        let mut groups = self.groups.lock();
        let key = (instance.to_string(), group.to_string());
        if let Some(c) = groups.get(&key) {
            return Some(c.clone());
        }
        if !create {
            return None;
        }
        let cell = Arc::new(GroupCell { group: Mutex::new(Group::default()), changed: watch::channel(0).0 });
        groups.insert(key, cell.clone());
        Some(cell)
    }

    /// A snapshot of a group for DescribeGroups (None when the coordinator never saw it).
    pub fn describe(&self, instance: &str, group: &str) -> Option<GroupSnapshot> {
        let cell = self.cell(instance, group, false)?;
        let g = cell.group.lock();
        Some((g.state, g.protocol_type.clone(), g.protocol.clone(), g.members.values().cloned().collect()))
    }

    /// Groups of an instance with their state and protocol type.
    pub fn list(&self, instance: &str) -> Vec<(String, GroupState, Option<String>)> {
        let cells: Vec<(String, Arc<GroupCell>)> = self
            .groups
            .lock()
            .iter()
            .filter(|((i, _), _)| i == instance)
            .map(|((_, g), c)| (g.clone(), c.clone()))
            .collect();
        cells
            .into_iter()
            .map(|(name, c)| {
                let g = c.group.lock();
                (name, g.state, g.protocol_type.clone())
            })
            .collect()
    }

    /// The generation and member check OffsetCommit makes: Ok when the commit may proceed.
    pub fn check_commit(&self, instance: &str, group: &str, member: &str, generation: i32) -> i16 {
        if generation < 0 {
            return code::NONE;
        }
        let Some(cell) = self.cell(instance, group, false) else {
            return if generation > 0 { code::ILLEGAL_GENERATION } else { code::NONE };
        };
        let g = cell.group.lock();
        if g.members.is_empty() && generation <= 0 {
            return code::NONE;
        }
        if !g.members.contains_key(member) {
            return code::UNKNOWN_MEMBER_ID;
        }
        if generation != g.generation {
            return code::ILLEGAL_GENERATION;
        }
        if g.state == GroupState::PreparingRebalance {
            return code::REBALANCE_IN_PROGRESS;
        }
        code::NONE
    }

    /// JoinGroup: adds or refreshes the member, starts a rebalance when needed, and waits for the join
    /// phase to end (every known member rejoined, or the rebalance timeout).
    pub async fn join(&self, instance: &str, group: &str, req: JoinRequest) -> JoinResult {
        let fail =
            |error: i16, member_id: &str| JoinResult { error, member_id: member_id.to_string(), ..Default::default() };
        if group.is_empty() {
            return fail(code::INVALID_GROUP_ID, &req.member_id);
        }
        if !(MIN_SESSION_TIMEOUT_MS..=MAX_SESSION_TIMEOUT_MS).contains(&req.session_timeout_ms) {
            return fail(code::INVALID_SESSION_TIMEOUT, &req.member_id);
        }
        if req.protocols.is_empty() || req.protocol_type.is_empty() {
            return fail(code::INCONSISTENT_GROUP_PROTOCOL, &req.member_id);
        }
        let Some(cell) = self.cell(instance, group, true) else { return fail(code::INVALID_GROUP_ID, "") };
        let mut rx = cell.changed.subscribe();
        let now = Instant::now();
        let (member_id, start_generation) = {
            let mut g = cell.group.lock();
            g.expire(now);
            if !g.members.is_empty() && g.protocol_type.as_deref() != Some(req.protocol_type.as_str()) {
                return fail(code::INCONSISTENT_GROUP_PROTOCOL, &req.member_id);
            }
            if !g.members.is_empty()
                && !req
                    .protocols
                    .iter()
                    .any(|(p, _)| g.members.values().all(|m| m.protocols.iter().any(|(q, _)| q == p)))
            {
                return fail(code::INCONSISTENT_GROUP_PROTOCOL, &req.member_id);
            }
            let member_id = if req.member_id.is_empty() {
                let client = if req.client_id.is_empty() { "member" } else { req.client_id.as_str() };
                format!("{client}-{}", uuid::Uuid::new_v4())
            } else if g.members.contains_key(&req.member_id) {
                req.member_id.clone()
            } else {
                return fail(code::UNKNOWN_MEMBER_ID, &req.member_id);
            };
            let member = Member {
                id: member_id.clone(),
                group_instance_id: req.group_instance_id.clone(),
                client_id: req.client_id.clone(),
                client_host: req.client_host.clone(),
                session_timeout: Duration::from_millis(req.session_timeout_ms as u64),
                rebalance_timeout: Duration::from_millis(req.rebalance_timeout_ms.max(0) as u64),
                protocols: req.protocols.clone(),
                assignment: Bytes::new(),
                last_seen: now,
                joined: true,
            };
            g.protocol_type = Some(req.protocol_type.clone());
            // Any join while Stable or Completing starts a rebalance: that is how a client asks for one.
            g.start_rebalance(now);
            g.members.insert(member_id.clone(), member);
            if let Some(m) = g.members.get_mut(&member_id) {
                m.joined = true;
            }
            g.try_complete(now);
            (member_id, if g.state == GroupState::PreparingRebalance { g.generation } else { g.generation - 1 })
        };
        cell.notify();
        loop {
            {
                let mut g = cell.group.lock();
                let now = Instant::now();
                if g.try_complete(now) {
                    drop(g);
                    cell.notify();
                    continue;
                }
                if g.generation > start_generation && g.state != GroupState::PreparingRebalance {
                    let Some(_) = g.members.get(&member_id) else { return fail(code::UNKNOWN_MEMBER_ID, &member_id) };
                    let protocol = g.protocol.clone();
                    let leader = g.leader.clone().unwrap_or_default();
                    let members = if leader == member_id {
                        let p = protocol.clone().unwrap_or_default();
                        g.members
                            .values()
                            .map(|m| (m.id.clone(), m.group_instance_id.clone(), m.metadata_for(&p)))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    return JoinResult {
                        error: code::NONE,
                        generation: g.generation,
                        protocol_type: g.protocol_type.clone(),
                        protocol,
                        leader,
                        member_id,
                        members,
                    };
                }
                if !g.members.contains_key(&member_id) {
                    return fail(code::UNKNOWN_MEMBER_ID, &member_id);
                }
            }
            let wait = cell.group.lock().deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let wait = wait.unwrap_or(Duration::from_millis(500)).max(Duration::from_millis(10));
            let _ = tokio::time::timeout(wait, rx.changed()).await;
        }
    }

    /// SyncGroup: the leader hands in the assignment; every member waits for it and gets its own part.
    pub async fn sync(
        &self,
        instance: &str,
        group: &str,
        member_id: &str,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
    ) -> (i16, Option<String>, Option<String>, Bytes) {
        let Some(cell) = self.cell(instance, group, false) else {
            return (code::UNKNOWN_MEMBER_ID, None, None, Bytes::new());
        };
        let mut rx = cell.changed.subscribe();
        let deadline = {
            let mut g = cell.group.lock();
            let Some(m) = g.members.get(member_id) else { return (code::UNKNOWN_MEMBER_ID, None, None, Bytes::new()) };
            let wait = m.rebalance_timeout.max(Duration::from_secs(1));
            if generation != g.generation {
                return (code::ILLEGAL_GENERATION, None, None, Bytes::new());
            }
            if g.state == GroupState::PreparingRebalance {
                return (code::REBALANCE_IN_PROGRESS, None, None, Bytes::new());
            }
            if g.state == GroupState::CompletingRebalance && g.leader.as_deref() == Some(member_id) {
                for (id, a) in assignments {
                    if let Some(m) = g.members.get_mut(&id) {
                        m.assignment = a;
                    }
                }
                g.state = GroupState::Stable;
                drop(g);
                cell.notify();
            }
            Instant::now() + wait
        };
        loop {
            {
                let mut g = cell.group.lock();
                if g.generation != generation {
                    return (code::REBALANCE_IN_PROGRESS, None, None, Bytes::new());
                }
                let (state, pt, p) = (g.state, g.protocol_type.clone(), g.protocol.clone());
                let Some(m) = g.members.get_mut(member_id) else {
                    return (code::UNKNOWN_MEMBER_ID, None, None, Bytes::new());
                };
                m.last_seen = Instant::now();
                match state {
                    GroupState::Stable => return (code::NONE, pt, p, m.assignment.clone()),
                    GroupState::PreparingRebalance | GroupState::Empty => {
                        return (code::REBALANCE_IN_PROGRESS, None, None, Bytes::new())
                    }
                    GroupState::CompletingRebalance => {}
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let mut g = cell.group.lock();
                let now = Instant::now();
                g.start_rebalance(now);
                drop(g);
                cell.notify();
                return (code::REBALANCE_IN_PROGRESS, None, None, Bytes::new());
            }
            let _ = tokio::time::timeout(left, rx.changed()).await;
        }
    }

    /// Heartbeat: keeps the member alive; tells it when a rebalance started.
    pub fn heartbeat(&self, instance: &str, group: &str, member_id: &str, generation: i32) -> i16 {
        let Some(cell) = self.cell(instance, group, false) else { return code::UNKNOWN_MEMBER_ID };
        let mut g = cell.group.lock();
        let now = Instant::now();
        if g.expire(now) {
            drop(g);
            cell.notify();
            g = cell.group.lock();
        }
        let state = g.state;
        let current = g.generation;
        let Some(m) = g.members.get_mut(member_id) else { return code::UNKNOWN_MEMBER_ID };
        m.last_seen = now;
        if state == GroupState::PreparingRebalance {
            return code::REBALANCE_IN_PROGRESS;
        }
        if generation != current {
            return code::ILLEGAL_GENERATION;
        }
        code::NONE
    }

    /// LeaveGroup: removes members; the rest rebalance. Returns an error code per member.
    pub fn leave(&self, instance: &str, group: &str, members: &[String]) -> Vec<i16> {
        let Some(cell) = self.cell(instance, group, false) else {
            return members.iter().map(|_| code::UNKNOWN_MEMBER_ID).collect();
        };
        let mut g = cell.group.lock();
        let now = Instant::now();
        let codes: Vec<i16> = members
            .iter()
            .map(|m| if g.members.shift_remove(m).is_some() { code::NONE } else { code::UNKNOWN_MEMBER_ID })
            .collect();
        if codes.contains(&code::NONE) {
            g.after_departure(now);
        }
        drop(g);
        cell.notify();
        codes
    }

    /// Periodic upkeep: expires silent members and ends overdue join phases.
    pub fn tick(&self) {
        let cells: Vec<Arc<GroupCell>> = self.groups.lock().values().cloned().collect();
        let now = Instant::now();
        for cell in cells {
            let mut g = cell.group.lock();
            let a = g.expire(now);
            let b = g.try_complete(now);
            drop(g);
            if a || b {
                cell.notify();
            }
        }
    }

    /// DeleteGroups' check and removal in one step (the map's lock is held, so no member can join in
    /// between): a group with members answers NON_EMPTY_GROUP and stays; an empty one is forgotten.
    /// Ok(true) when the coordinator knew the group.
    pub fn remove_if_empty(&self, instance: &str, group: &str) -> Result<bool, i16> {
        let mut groups = self.groups.lock();
        let key = (instance.to_string(), group.to_string());
        let Some(cell) = groups.get(&key).cloned() else { return Ok(false) };
        if !cell.group.lock().members.is_empty() {
            return Err(super::admin::admin_code::NON_EMPTY_GROUP);
        }
        groups.remove(&key);
        drop(groups);
        cell.notify();
        Ok(true)
    }

    /// The topics a group's members are subscribed to (the consumer protocol's subscription in each
    /// member's metadata for the chosen protocol); empty when the group has no members or does not use
    /// the consumer protocol (OffsetDelete's GROUP_SUBSCRIBED_TO_TOPIC check, as Kafka's coordinator).
    pub fn subscribed_topics(&self, instance: &str, group: &str) -> std::collections::HashSet<String> {
        let mut out = std::collections::HashSet::new();
        let Some(cell) = self.cell(instance, group, false) else { return out };
        let g = cell.group.lock();
        if g.protocol_type.as_deref() != Some("consumer") {
            return out;
        }
        let protocol = g.protocol.clone().unwrap_or_default();
        for m in g.members.values() {
            out.extend(consumer_subscription(&m.metadata_for(&protocol)));
        }
        out
    }
    /// Forgets every group of instances that no longer exist.
    pub fn retain_instances(&self, live: impl Fn(&str) -> bool) {
        self.groups.lock().retain(|(i, _), _| live(i));
    }
}

/// The topics of a consumer protocol subscription (`ConsumerProtocolSubscription`, every version: an i16
/// version, then an array of topic names as i32 count and i16-length strings; the rest is not needed);
/// none when it cannot be read. Read by hand rather than with the crate's decoder, which allocates the
/// array's claimed length up front: member metadata is any bytes a client sent.
pub fn consumer_subscription(metadata: &Bytes) -> Vec<String> {
    fn read(mut b: &[u8]) -> Option<Vec<String>> {
        let take = |b: &mut &[u8], n: usize| -> Option<Vec<u8>> {
            let (head, tail) = (b.get(..n)?.to_vec(), b.get(n..)?);
            *b = tail;
            Some(head)
        };
        let version = take(&mut b, 2)?;
        if i16::from_be_bytes([version[0], version[1]]) < 0 {
            return None;
        }
        let count = take(&mut b, 4)?;
        let count = usize::try_from(i32::from_be_bytes([count[0], count[1], count[2], count[3]])).ok()?;
        // Each name takes at least its two length bytes.
        if count > b.len() / 2 {
            return None;
        }
        let mut topics = Vec::with_capacity(count);
        for _ in 0..count {
            let len = take(&mut b, 2)?;
            let len = usize::try_from(i16::from_be_bytes([len[0], len[1]])).ok()?;
            topics.push(String::from_utf8(take(&mut b, len)?).ok()?);
        }
        Some(topics)
    }
    read(metadata).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(member: &str, meta: &'static [u8]) -> JoinRequest {
        JoinRequest {
            member_id: member.into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 5_000,
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), Bytes::from_static(meta))],
        }
    }

    #[tokio::test]
    async fn two_members_rebalance_and_get_their_assignments() {
        let c = Arc::new(Coordinator::default());
        let a = c.join("i", "g", req("", b"ma")).await;
        assert_eq!((a.error, a.generation, a.leader == a.member_id, a.members.len()), (0, 1, true, 1));
        let (e, _, _, _) =
            c.sync("i", "g", &a.member_id, 1, vec![(a.member_id.clone(), Bytes::from_static(b"A1"))]).await;
        assert_eq!(e, 0);
        // B joins: A learns through its heartbeat and rejoins.
        let c2 = c.clone();
        let b = tokio::spawn(async move { c2.join("i", "g", req("", b"mb")).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(c.heartbeat("i", "g", &a.member_id, 1), code::REBALANCE_IN_PROGRESS);
        let a2 = c.join("i", "g", req(&a.member_id, b"ma")).await;
        let b = b.await.unwrap();
        assert_eq!((a2.generation, b.generation), (2, 2));
        assert_eq!(a2.members.len(), 2, "the leader sees both members' metadata");
        assert!(a2.members.iter().any(|(_, _, m)| &m[..] == b"mb"));
        assert!(b.members.is_empty());
        let c3 = c.clone();
        let bid = b.member_id.clone();
        let bs = tokio::spawn(async move { c3.sync("i", "g", &bid, 2, vec![]).await });
        let (e, _, _, mine) = c
            .sync(
                "i",
                "g",
                &a2.member_id,
                2,
                vec![(a2.member_id.clone(), Bytes::from_static(b"A")), (b.member_id.clone(), Bytes::from_static(b"B"))],
            )
            .await;
        assert_eq!((e, &mine[..]), (0, &b"A"[..]));
        assert_eq!(&bs.await.unwrap().3[..], b"B");
        assert_eq!(c.heartbeat("i", "g", &b.member_id, 1), code::ILLEGAL_GENERATION);
        assert_eq!(c.heartbeat("i", "g", "nobody", 2), code::UNKNOWN_MEMBER_ID);
        assert_eq!(c.leave("i", "g", std::slice::from_ref(&b.member_id)), vec![0]);
        assert_eq!(c.heartbeat("i", "g", &a2.member_id, 2), code::REBALANCE_IN_PROGRESS);
    }

    #[tokio::test]
    async fn a_silent_member_is_expired_after_its_session_timeout() {
        let c = Coordinator::default();
        let mut r = req("", b"m");
        r.session_timeout_ms = 1_000;
        let a = c.join("i", "g", r).await;
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        c.tick();
        assert_eq!(c.heartbeat("i", "g", &a.member_id, a.generation), code::UNKNOWN_MEMBER_ID);
        assert_eq!(c.describe("i", "g").unwrap().0, GroupState::Empty);
        let mut bad = req("", b"m");
        bad.session_timeout_ms = 10;
        assert_eq!(c.join("i", "g", bad).await.error, code::INVALID_SESSION_TIMEOUT);
    }
}
