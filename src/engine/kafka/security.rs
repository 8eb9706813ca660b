//! SASL users and ACLs of a Kafka instance: the credentials and authorisation rules the management APIs
//! (Tencent CKafka v3 `CreateUser`/`CreateAcl`, Alibaba `CreateSaslUser`/`CreateAcl`) create, and the Kafka
//! data plane's SASL (PLAIN/SCRAM) authenticates against ([`KafkaModel::verify_sasl`]) and its authoriser
//! checks ([`KafkaModel::acl_allows`]).
//!
//! Resource keys for the storage journal: `u/<instance>/<user>` (one user) and `acl/<instance>/<id>` (one
//! rule; the id is derived from the rule's fields, so the same rule created twice is one rule, as Kafka's
//! CreateAcls is idempotent).

use serde::{Deserialize, Serialize};

use super::{KafkaInstance, KafkaModel, Millis, Scope};
use crate::engine::ids::stable_suffix;

/// Why a user or ACL command failed (facades map these onto their vendor's codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityError {
    InstanceNotFound(String),
    UserExists(String),
    UserNotFound(String),
    /// The current password given to a password change does not match.
    WrongPassword(String),
    /// No ACL matched a delete filter.
    AclNotFound,
    /// The instance holds [`MAX_USERS`] users or [`MAX_ACLS`] rules already.
    QuotaExceeded(String),
}

impl std::fmt::Display for SecurityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecurityError::InstanceNotFound(id) => write!(f, "instance {id} does not exist"),
            SecurityError::UserExists(u) => write!(f, "user {u} already exists"),
            SecurityError::UserNotFound(u) => write!(f, "user {u} does not exist"),
            SecurityError::WrongPassword(u) => write!(f, "the current password of user {u} does not match"),
            SecurityError::AclNotFound => write!(f, "no ACL matches"),
            SecurityError::QuotaExceeded(what) => write!(f, "quota exceeded: {what}"),
        }
    }
}

/// Most SASL users one instance holds.
pub const MAX_USERS: usize = 1_000;
/// Most ACL rules one instance holds.
pub const MAX_ACLS: usize = 10_000;

/// A SASL user of one instance. The password is kept as given (SASL/PLAIN and SCRAM need it) and never
/// appears in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaslUser {
    pub name: String,
    pub password: String,
    /// SASL mechanism family the vendor declared (`plain` or `scram`); both verify the same password.
    #[serde(default = "default_mechanism")]
    pub mechanism: String,
    pub created_at_ms: Millis,
    pub updated_at_ms: Millis,
}

fn default_mechanism() -> String {
    "plain".into()
}

impl std::fmt::Debug for SaslUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslUser").field("name", &self.name).field("password", &"***").finish()
    }
}

/// Kafka's ACL resource types (the protocol's codes: 2 TOPIC, 3 GROUP, 4 CLUSTER, 5 TRANSACTIONAL_ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AclResourceType {
    Topic,
    Group,
    Cluster,
    TransactionalId,
}

impl AclResourceType {
    /// Kafka's numeric code.
    pub fn code(self) -> i64 {
        match self {
            AclResourceType::Topic => 2,
            AclResourceType::Group => 3,
            AclResourceType::Cluster => 4,
            AclResourceType::TransactionalId => 5,
        }
    }
    /// From Kafka's numeric code.
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            2 => AclResourceType::Topic,
            3 => AclResourceType::Group,
            4 => AclResourceType::Cluster,
            5 => AclResourceType::TransactionalId,
            _ => return None,
        })
    }
}

/// Kafka's ACL operations (protocol codes 2 ALL .. 12 IDEMPOTENT_WRITE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AclOperation {
    All,
    Read,
    Write,
    Create,
    Delete,
    Alter,
    Describe,
    ClusterAction,
    DescribeConfigs,
    AlterConfigs,
    IdempotentWrite,
}

const OPERATIONS: [AclOperation; 11] = [
    AclOperation::All,
    AclOperation::Read,
    AclOperation::Write,
    AclOperation::Create,
    AclOperation::Delete,
    AclOperation::Alter,
    AclOperation::Describe,
    AclOperation::ClusterAction,
    AclOperation::DescribeConfigs,
    AclOperation::AlterConfigs,
    AclOperation::IdempotentWrite,
];

impl AclOperation {
    /// Kafka's numeric code.
    pub fn code(self) -> i64 {
        OPERATIONS.iter().position(|o| *o == self).map_or(0, |p| p as i64 + 2)
    }
    /// From Kafka's numeric code.
    pub fn from_code(code: i64) -> Option<Self> {
        usize::try_from(code - 2).ok().and_then(|i| OPERATIONS.get(i).copied())
    }
    /// Whether a rule for `self` covers a request for `wanted` (ALL covers everything; Kafka's implied
    /// DESCRIBE from READ/WRITE is applied by [`KafkaModel::acl_allows`]).
    fn covers(self, wanted: AclOperation) -> bool {
        self == AclOperation::All || self == wanted
    }
}

/// ALLOW or DENY (protocol codes 3 and 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AclPermission {
    Deny,
    Allow,
}

impl AclPermission {
    /// Kafka's numeric code.
    pub fn code(self) -> i64 {
        match self {
            AclPermission::Deny => 2,
            AclPermission::Allow => 3,
        }
    }
    /// From Kafka's numeric code.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            2 => Some(AclPermission::Deny),
            3 => Some(AclPermission::Allow),
            _ => None,
        }
    }
}

/// LITERAL (the name exactly, `*` for every name) or PREFIXED (names starting with it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AclPatternType {
    #[default]
    Literal,
    Prefixed,
}

/// One ACL rule, Kafka's shape: who (`principal`, e.g. `User:alice` or `User:*`) may or may not do what
/// (`operation`) on which resource from which host (`*` for any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclRule {
    pub resource_type: AclResourceType,
    pub resource_name: String,
    #[serde(default)]
    pub pattern_type: AclPatternType,
    pub principal: String,
    pub host: String,
    pub operation: AclOperation,
    pub permission: AclPermission,
    #[serde(default)]
    pub created_at_ms: Millis,
}

impl AclRule {
    /// The rule's id: stable, derived from every field but the time (equal rules share it).
    pub fn id(&self) -> String {
        let text = format!(
            "{:?}\u{1}{}\u{1}{:?}\u{1}{}\u{1}{}\u{1}{:?}\u{1}{:?}",
            self.resource_type,
            self.resource_name,
            self.pattern_type,
            self.principal,
            self.host,
            self.operation,
            self.permission
        );
        format!("acl-{}", stable_suffix(&text, 16))
    }

    fn names_resource(&self, kind: AclResourceType, name: &str) -> bool {
        self.resource_type == kind
            && match self.pattern_type {
                AclPatternType::Literal => self.resource_name == "*" || self.resource_name == name,
                AclPatternType::Prefixed => name.starts_with(&self.resource_name),
            }
    }
}

/// Which rules a delete or a query addresses: every given field must match (None: any).
#[derive(Debug, Clone, Default)]
pub struct AclFilter<'a> {
    pub resource_type: Option<AclResourceType>,
    pub resource_name: Option<&'a str>,
    pub pattern_type: Option<AclPatternType>,
    pub principal: Option<&'a str>,
    pub host: Option<&'a str>,
    pub operation: Option<AclOperation>,
    pub permission: Option<AclPermission>,
}

impl AclFilter<'_> {
    /// Whether a rule matches every given field.
    pub fn matches(&self, r: &AclRule) -> bool {
        self.resource_type.is_none_or(|v| v == r.resource_type)
            && self.resource_name.is_none_or(|v| v == r.resource_name)
            && self.pattern_type.is_none_or(|v| v == r.pattern_type)
            && self.principal.is_none_or(|v| v == r.principal)
            && self.host.is_none_or(|v| v == r.host)
            && self.operation.is_none_or(|v| v == r.operation)
            && self.permission.is_none_or(|v| v == r.permission)
    }
}

/// One allow-list entry of an instance: which access point (`vpc` or `internet`, with its port range such
/// as `9092/9092`) admits which IP or CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowedIp {
    pub list_type: String,
    pub port_range: String,
    pub ip: String,
    #[serde(default)]
    pub description: String,
}

/// Most allow-list entries one instance holds.
pub const MAX_ALLOWED_IPS: usize = 512;

/// The journal key of a user.
pub(crate) fn user_key(instance: &str, user: &str) -> String {
    format!("u/{instance}/{user}")
}

/// The journal key of an ACL rule.
pub(crate) fn acl_key(instance: &str, id: &str) -> String {
    format!("acl/{instance}/{id}")
}

impl KafkaInstance {
    /// SASL users in creation order.
    pub fn users(&self) -> &indexmap::IndexMap<String, SaslUser> {
        &self.users
    }

    /// ACL rules by id, in creation order.
    pub fn acls(&self) -> &indexmap::IndexMap<String, AclRule> {
        &self.acls
    }
}

impl KafkaModel {
    /// Runs a security command on one instance under its write lock; marks the keys it reports on success.
    fn secure<R>(
        &self,
        scope: Scope<'_>,
        instance: &str,
        f: impl FnOnce(&mut KafkaInstance) -> Result<(R, Vec<String>), SecurityError>,
    ) -> Result<R, SecurityError> {
        let slot = self.slot(scope, instance).map_err(|_| SecurityError::InstanceNotFound(instance.to_string()))?;
        let mut guard = slot.instance.write();
        let (r, keys) = f(&mut guard)?;
        if !keys.is_empty() {
            self.mark(keys);
        }
        Ok(r)
    }

    /// Creates a SASL user. Errors: `InstanceNotFound`, `UserExists`, `QuotaExceeded`.
    pub fn create_user(
        &self,
        scope: Scope<'_>,
        instance: &str,
        name: &str,
        password: &str,
        mechanism: &str,
    ) -> Result<(), SecurityError> {
        self.secure(scope, instance, |i| {
            if i.users.contains_key(name) {
                return Err(SecurityError::UserExists(name.to_string()));
            }
            if i.users.len() >= MAX_USERS {
                return Err(SecurityError::QuotaExceeded(format!("at most {MAX_USERS} users per instance")));
            }
            let now = Millis::now();
            let user = SaslUser {
                name: name.to_string(),
                password: password.to_string(),
                mechanism: mechanism.to_string(),
                created_at_ms: now,
                updated_at_ms: now,
            };
            i.users.insert(name.to_string(), user);
            Ok(((), vec![user_key(instance, name)]))
        })
    }

    /// Changes a user's password; with `current`, only when it matches the stored one (compared in constant
    /// time). Errors: `InstanceNotFound`, `UserNotFound`, `WrongPassword`.
    pub fn set_user_password(
        &self,
        scope: Scope<'_>,
        instance: &str,
        name: &str,
        current: Option<&str>,
        new_password: &str,
    ) -> Result<(), SecurityError> {
        self.secure(scope, instance, |i| {
            let user = i.users.get_mut(name).ok_or_else(|| SecurityError::UserNotFound(name.to_string()))?;
            if let Some(current) = current {
                if !crate::credentials::signatures_match(current.as_bytes(), user.password.as_bytes()) {
                    return Err(SecurityError::WrongPassword(name.to_string()));
                }
            }
            user.password = new_password.to_string();
            user.updated_at_ms = Millis::now();
            Ok(((), vec![user_key(instance, name)]))
        })
    }

    /// Deletes a user (its ACLs stay, as in Kafka). Errors: `InstanceNotFound`, `UserNotFound`.
    pub fn delete_user(&self, scope: Scope<'_>, instance: &str, name: &str) -> Result<(), SecurityError> {
        self.secure(scope, instance, |i| {
            i.users.shift_remove(name).ok_or_else(|| SecurityError::UserNotFound(name.to_string()))?;
            Ok(((), vec![user_key(instance, name)]))
        })
    }

    /// Adds ACL rules (an existing equal rule is kept, not duplicated); returns the ids in input order.
    /// Errors: `InstanceNotFound`, `QuotaExceeded` (then nothing is added).
    pub fn create_acls(
        &self,
        scope: Scope<'_>,
        instance: &str,
        rules: Vec<AclRule>,
    ) -> Result<Vec<String>, SecurityError> {
        self.secure(scope, instance, |i| {
            let ids: Vec<String> = rules.iter().map(AclRule::id).collect();
            let added = ids.iter().filter(|id| !i.acls.contains_key(*id)).count();
            if i.acls.len() + added > MAX_ACLS {
                return Err(SecurityError::QuotaExceeded(format!("at most {MAX_ACLS} ACLs per instance")));
            }
            let mut keys = Vec::new();
            let now = Millis::now();
            for (id, mut rule) in ids.iter().zip(rules) {
                if !i.acls.contains_key(id) {
                    rule.created_at_ms = now;
                    i.acls.insert(id.clone(), rule);
                    keys.push(acl_key(instance, id));
                }
            }
            Ok((ids, keys))
        })
    }

    /// Deletes the rules a filter matches; returns them. Errors: `InstanceNotFound`, `AclNotFound` (none
    /// matched; nothing changes).
    pub fn delete_acls(
        &self,
        scope: Scope<'_>,
        instance: &str,
        filter: &AclFilter<'_>,
    ) -> Result<Vec<AclRule>, SecurityError> {
        self.secure(scope, instance, |i| {
            let ids: Vec<String> = i.acls.iter().filter(|(_, r)| filter.matches(r)).map(|(id, _)| id.clone()).collect();
            if ids.is_empty() {
                return Err(SecurityError::AclNotFound);
            }
            let removed = ids.iter().filter_map(|id| i.acls.shift_remove(id)).collect();
            Ok((removed, ids.iter().map(|id| acl_key(instance, id)).collect()))
        })
    }

    /// Kafka's DeleteAcls: removes every rule that `claim` assigns to a filter (its index; None keeps the
    /// rule) in one write, so a rule two filters match is deleted once and reported under the first, as
    /// Kafka's authoriser does. Returns `(filter index, rule)` pairs in rule order; matching nothing is not
    /// an error here (Kafka answers an empty match list). Errors: `InstanceNotFound`.
    pub fn remove_acls_claimed(
        &self,
        scope: Scope<'_>,
        instance: &str,
        claim: impl Fn(&AclRule) -> Option<usize>,
    ) -> Result<Vec<(usize, AclRule)>, SecurityError> {
        self.secure(scope, instance, |i| {
            let claimed: Vec<(String, usize)> =
                i.acls.iter().filter_map(|(id, r)| claim(r).map(|n| (id.clone(), n))).collect();
            let mut removed = Vec::with_capacity(claimed.len());
            let mut keys = Vec::with_capacity(claimed.len());
            for (id, n) in claimed {
                if let Some(rule) = i.acls.shift_remove(&id) {
                    removed.push((n, rule));
                    keys.push(acl_key(instance, &id));
                }
            }
            Ok((removed, keys))
        })
    }

    /// Adds (`add`) or removes allow-list entries of one access point; returns the entries changed.
    /// Adding an existing entry or removing a missing one changes nothing. Errors: `InstanceNotFound`,
    /// `QuotaExceeded`.
    pub fn update_allowed_ips(
        &self,
        scope: Scope<'_>,
        instance: &str,
        add: bool,
        entries: Vec<AllowedIp>,
    ) -> Result<usize, SecurityError> {
        self.secure(scope, instance, |i| {
            let list = &mut i.meta.attributes.allowed_ips;
            let same = |a: &AllowedIp, b: &AllowedIp| {
                a.list_type == b.list_type && a.port_range == b.port_range && a.ip == b.ip
            };
            let changed;
            if add {
                let new: Vec<AllowedIp> = entries.into_iter().filter(|e| !list.iter().any(|x| same(x, e))).collect();
                if list.len() + new.len() > MAX_ALLOWED_IPS {
                    return Err(SecurityError::QuotaExceeded(format!("at most {MAX_ALLOWED_IPS} allowed IPs")));
                }
                changed = new.len();
                list.extend(new);
            } else {
                let before = list.len();
                list.retain(|x| !entries.iter().any(|e| same(x, e)));
                changed = before - list.len();
            }
            let keys = if changed > 0 { vec![format!("i/{instance}")] } else { Vec::new() };
            Ok((changed, keys))
        })
    }

    /// SASL authentication for the Kafka data plane: whether `user` exists on the instance with this
    /// password (constant-time comparison). Any owner's instance (the listener addresses instances by id).
    pub fn verify_sasl(&self, instance: &str, user: &str, password: &str) -> bool {
        self.read_instance(Scope::ANY, instance, |i| {
            i.users
                .get(user)
                .is_some_and(|u| crate::credentials::signatures_match(u.password.as_bytes(), password.as_bytes()))
        })
        .unwrap_or(false)
    }

    /// Kafka's authoriser for the data plane: whether `User:<user>` connecting from `host` may do
    /// `operation` on a resource. DENY beats ALLOW; no matching ALLOW denies; READ, WRITE, DELETE and ALTER
    /// imply DESCRIBE as in Apache Kafka. An instance without any rule allows everything (ACLs off).
    pub fn acl_allows(
        &self,
        instance: &str,
        user: &str,
        host: &str,
        kind: AclResourceType,
        name: &str,
        operation: AclOperation,
    ) -> bool {
        let principal = format!("User:{user}");
        self.read_instance(Scope::ANY, instance, |i| {
            if i.acls.is_empty() {
                return true;
            }
            let applies = |r: &&AclRule| {
                (r.principal == "User:*" || r.principal == principal)
                    && (r.host == "*" || r.host == host)
                    && r.names_resource(kind, name)
            };
            let implied = |r: &AclRule| {
                r.operation.covers(operation)
                    || (operation == AclOperation::Describe
                        && matches!(
                            r.operation,
                            AclOperation::Read | AclOperation::Write | AclOperation::Delete | AclOperation::Alter
                        ))
            };
            let rules: Vec<&AclRule> = i.acls.values().filter(applies).collect();
            if rules.iter().any(|r| r.permission == AclPermission::Deny && r.operation.covers(operation)) {
                return false;
            }
            rules.iter().any(|r| r.permission == AclPermission::Allow && implied(r))
        })
        .unwrap_or(false)
    }
}

/// The journal side: a user's or rule's stored value, and applying one during recovery.
pub(super) mod journal {
    use serde_json::Value;

    use super::super::KafkaInstance;
    use super::{AclRule, SaslUser};

    /// The value under `u/<instance>/<name>`.
    pub fn user(i: &KafkaInstance, name: &str) -> Option<Value> {
        serde_json::to_value(i.users.get(name)?).ok()
    }

    /// The value under `acl/<instance>/<id>`.
    pub fn acl(i: &KafkaInstance, id: &str) -> Option<Value> {
        serde_json::to_value(i.acls.get(id)?).ok()
    }

    /// Applies `u/...` (None deletes).
    pub fn apply_user(i: &mut KafkaInstance, key: &str, name: &str, value: Option<Value>) -> Result<(), String> {
        match value {
            None => {
                i.users.shift_remove(name);
            }
            Some(v) => {
                let user: SaslUser = serde_json::from_value(v).map_err(|e| format!("{key}: {e}"))?;
                i.users.insert(name.to_string(), user);
            }
        }
        Ok(())
    }

    /// Applies `acl/...` (None deletes).
    pub fn apply_acl(i: &mut KafkaInstance, key: &str, id: &str, value: Option<Value>) -> Result<(), String> {
        match value {
            None => {
                i.acls.shift_remove(id);
            }
            Some(v) => {
                let rule: AclRule = serde_json::from_value(v).map_err(|e| format!("{key}: {e}"))?;
                i.acls.insert(id.to_string(), rule);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kafka::tests::{meta, scope};
    use crate::storage::Resources;

    fn rule(name: &str, principal: &str, op: AclOperation, perm: AclPermission) -> AclRule {
        AclRule {
            resource_type: AclResourceType::Topic,
            resource_name: name.into(),
            pattern_type: AclPatternType::Literal,
            principal: principal.into(),
            host: "*".into(),
            operation: op,
            permission: perm,
            created_at_ms: Millis(0),
        }
    }

    #[test]
    fn users_lifecycle_and_sasl() {
        let m = KafkaModel::default();
        m.add_instance(meta("ckafka-one")).unwrap();
        m.take_dirty();
        m.create_user(scope(), "ckafka-one", "alice", "pw1", "plain").unwrap();
        assert_eq!(m.take_dirty().unwrap(), vec!["u/ckafka-one/alice"]);
        assert_eq!(
            m.create_user(scope(), "ckafka-one", "alice", "x", "plain"),
            Err(SecurityError::UserExists("alice".into()))
        );
        assert!(m.verify_sasl("ckafka-one", "alice", "pw1"));
        assert!(!m.verify_sasl("ckafka-one", "alice", "pw2"));
        assert_eq!(
            m.set_user_password(scope(), "ckafka-one", "alice", Some("bad"), "pw2"),
            Err(SecurityError::WrongPassword("alice".into()))
        );
        assert_eq!(m.take_dirty().unwrap(), Vec::<String>::new(), "rejected writes mark nothing");
        m.set_user_password(scope(), "ckafka-one", "alice", Some("pw1"), "pw2").unwrap();
        assert!(m.verify_sasl("ckafka-one", "alice", "pw2"));
        assert!(
            !format!("{:?}", m.read_instance(scope(), "ckafka-one", |i| i.users().clone()).unwrap()).contains("pw2")
        );
        m.delete_user(scope(), "ckafka-one", "alice").unwrap();
        assert!(!m.verify_sasl("ckafka-one", "alice", "pw2"));
        assert_eq!(m.delete_user(scope(), "ckafka-one", "alice"), Err(SecurityError::UserNotFound("alice".into())));
        assert_eq!(
            m.create_user(scope(), "nope", "a", "b", "plain"),
            Err(SecurityError::InstanceNotFound("nope".into()))
        );
    }

    #[test]
    fn acls_decide_and_journal() {
        let m = KafkaModel::default();
        m.add_instance(meta("ckafka-one")).unwrap();
        assert!(m.acl_allows("ckafka-one", "bob", "1.2.3.4", AclResourceType::Topic, "t", AclOperation::Write));
        let ids = m
            .create_acls(
                scope(),
                "ckafka-one",
                vec![
                    rule("t", "User:bob", AclOperation::Write, AclPermission::Allow),
                    rule("t", "User:bob", AclOperation::Write, AclPermission::Allow),
                ],
            )
            .unwrap();
        assert_eq!(ids[0], ids[1], "an equal rule is one rule");
        assert_eq!(m.read_instance(scope(), "ckafka-one", |i| i.acls().len()).unwrap(), 1);
        assert!(m.acl_allows("ckafka-one", "bob", "h", AclResourceType::Topic, "t", AclOperation::Write));
        assert!(m.acl_allows("ckafka-one", "bob", "h", AclResourceType::Topic, "t", AclOperation::Describe));
        assert!(!m.acl_allows("ckafka-one", "bob", "h", AclResourceType::Topic, "t", AclOperation::Read));
        assert!(!m.acl_allows("ckafka-one", "eve", "h", AclResourceType::Topic, "t", AclOperation::Write));
        m.create_acls(scope(), "ckafka-one", vec![rule("t", "User:*", AclOperation::All, AclPermission::Deny)])
            .unwrap();
        assert!(!m.acl_allows("ckafka-one", "bob", "h", AclResourceType::Topic, "t", AclOperation::Write));

        // Journal: replaying the dirty keys rebuilds an equal model.
        let mut replica = KafkaModel::default();
        for key in m.take_dirty().unwrap() {
            replica.apply(&key, m.resource(&key)).unwrap();
        }
        assert_eq!(serde_json::to_value(&replica).unwrap(), serde_json::to_value(&m).unwrap());

        let filter = AclFilter { permission: Some(AclPermission::Deny), ..AclFilter::default() };
        assert_eq!(m.delete_acls(scope(), "ckafka-one", &filter).unwrap().len(), 1);
        assert_eq!(m.delete_acls(scope(), "ckafka-one", &filter), Err(SecurityError::AclNotFound));
        for key in m.take_dirty().unwrap() {
            replica.apply(&key, m.resource(&key)).unwrap();
        }
        assert_eq!(serde_json::to_value(&replica).unwrap(), serde_json::to_value(&m).unwrap());
        assert!(replica.acl_allows("ckafka-one", "bob", "h", AclResourceType::Topic, "t", AclOperation::Write));
    }

    #[test]
    fn claimed_rules_go_once_under_their_first_filter_and_journal() {
        let m = KafkaModel::default();
        m.add_instance(meta("ckafka-one")).unwrap();
        m.create_acls(
            scope(),
            "ckafka-one",
            vec![
                rule("a", "User:bob", AclOperation::Read, AclPermission::Allow),
                rule("b", "User:bob", AclOperation::Read, AclPermission::Deny),
                rule("c", "User:eve", AclOperation::Read, AclPermission::Allow),
            ],
        )
        .unwrap();
        m.take_dirty();
        let claim = |r: &AclRule| match (r.principal.as_str(), r.resource_name.as_str()) {
            ("User:bob", _) => Some(0),
            (_, "c") => Some(1),
            _ => None,
        };
        let removed = m.remove_acls_claimed(scope(), "ckafka-one", claim).unwrap();
        let names: Vec<(usize, &str)> = removed.iter().map(|(n, r)| (*n, r.resource_name.as_str())).collect();
        assert_eq!(names, [(0, "a"), (0, "b"), (1, "c")]);
        assert_eq!(m.take_dirty().unwrap().len(), 3);
        assert!(m.remove_acls_claimed(scope(), "ckafka-one", claim).unwrap().is_empty(), "nothing left: no error");
        assert_eq!(m.take_dirty().unwrap(), Vec::<String>::new());
        assert_eq!(
            m.remove_acls_claimed(scope(), "nope", claim).map(|v| v.len()),
            Err(SecurityError::InstanceNotFound("nope".into()))
        );
    }

    #[test]
    fn codes_round_trip() {
        for code in 2..=12 {
            assert_eq!(AclOperation::from_code(code).map(AclOperation::code), Some(code));
        }
        assert_eq!(AclOperation::from_code(1), None);
        assert_eq!(AclOperation::from_code(13), None);
        assert_eq!(AclResourceType::from_code(2), Some(AclResourceType::Topic));
        assert_eq!(AclPermission::from_code(3), Some(AclPermission::Allow));
        assert_eq!(AclPermission::from_code(1), None);
    }
}
