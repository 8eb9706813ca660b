//! The Kafka ACL APIs (`kafka-acls.sh`, the AdminClients' create_acls / describe_acls / delete_acls,
//! kafka-ui) over the instance's ACL rules in the engine: the same rules Alibaba's CreateAcl / DescribeAcls
//! / DeleteAcl and Tencent's CreateAcl manage and the data plane's authoriser enforces for SASL users.
//!
//! - **DescribeAcls** (29, v1-3): the rules a filter matches, grouped by resource pattern.
//! - **CreateAcls** (30, v1-3): adds rules; an equal rule is kept once (Kafka's CreateAcls is idempotent).
//! - **DeleteAcls** (31, v1-3): removes the rules each filter matches; a rule matched by two filters is
//!   deleted once and reported under the first (Kafka's authoriser does the same).
//!
//! Filters match as Kafka's `AclBindingFilter` does: ANY for the resource type, operation and permission;
//! pattern type ANY (any pattern, the exact name), MATCH (every rule that applies to the named resource:
//! the literal name, the literal `*`, and prefixes of it), LITERAL / PREFIXED (that pattern and the exact
//! name); null strings match anything. v0 (Kafka 4 removed it, and the protocol crate has no v0 frames)
//! is not served.
//!
//! What the engine cannot hold answers INVALID_REQUEST with a message, as Kafka's ACL control manager
//! answers invalid bindings: UNKNOWN / ANY / MATCH in a creation, the DELEGATION_TOKEN and USER resource
//! types and the CREATE_TOKENS / DESCRIBE_TOKENS operations (no delegation tokens here), principals that
//! are not `User:<name>`, hosts that are neither `*` nor an IP address, an empty resource name, and a
//! CLUSTER resource not named `kafka-cluster`. Filters holding UNKNOWN (code 0 or a code Kafka does not
//! know) answer INVALID_REQUEST; filters for DELEGATION_TOKEN / USER or the token operations match nothing.
//! The instance's ACL limit ([`crate::engine::kafka::security::MAX_ACLS`]) answers POLICY_VIOLATION.
//!
//! Authorization (SASL users; the PLAINTEXT access point has no ACLs, like every other handler here):
//! DescribeAcls needs DESCRIBE on the CLUSTER resource, CreateAcls and DeleteAcls ALTER on it, else
//! CLUSTER_AUTHORIZATION_FAILED (31). An instance without any rule allows everything, so the first rules
//! can be created by any SASL user, as with Kafka's `allow.everyone.if.no.acl.found=true`.

use std::net::IpAddr;

use kafka_protocol::messages::*;

use super::cluster::{self, AclOperation, AclPatternType, AclPermission, AclResourceType, AclRule, SecurityError};
use super::conn::Origin;
use super::handlers::{allowed, code, s};
use super::KafkaBroker;
use crate::engine::kafka::Millis;

/// Kafka error codes of the ACL APIs (the protocol guide's table).
pub mod acl_code {
    /// The caller lacks DESCRIBE (DescribeAcls) or ALTER (CreateAcls, DeleteAcls) on the cluster.
    pub const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
    /// The instance holds the most ACL rules it may.
    pub const POLICY_VIOLATION: i16 = 44;
    /// The instance went away while the request was answered.
    pub const UNKNOWN_SERVER_ERROR: i16 = -1;
}

use acl_code::*;

/// The name Kafka's authoriser gives the cluster resource (the only valid CLUSTER resource name).
const CLUSTER: &str = "kafka-cluster";

// Kafka's codes for the filter-only values (ResourceType / PatternType / AclOperation / AclPermissionType).
const ANY: i8 = 1;
const MATCH: i8 = 2;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const DELEGATION_TOKEN: i8 = 6;
const USER: i8 = 7;
const CREATE_TOKENS: i8 = 13;
const DESCRIBE_TOKENS: i8 = 14;

fn pattern_code(p: AclPatternType) -> i8 {
    match p {
        AclPatternType::Literal => LITERAL,
        AclPatternType::Prefixed => PREFIXED,
    }
}

/// Kafka's name of a resource type code (for messages).
fn resource_type_name(code: i8) -> &'static str {
    match code {
        1 => "ANY",
        2 => "TOPIC",
        3 => "GROUP",
        4 => "CLUSTER",
        5 => "TRANSACTIONAL_ID",
        6 => "DELEGATION_TOKEN",
        7 => "USER",
        _ => "UNKNOWN",
    }
}

/// One creation checked into a rule the engine holds. Err: INVALID_REQUEST's message.
fn rule_of(c: &create_acls_request::AclCreation) -> Result<AclRule, String> {
    let resource_type = match c.resource_type {
        DELEGATION_TOKEN | USER => {
            return Err(format!(
                "resource type {} is not supported by this broker (no delegation tokens or user quotas)",
                resource_type_name(c.resource_type)
            ))
        }
        t => AclResourceType::from_code(i64::from(t))
            .ok_or_else(|| format!("Invalid resourceType {}", resource_type_name(t)))?,
    };
    let pattern_type = match c.resource_pattern_type {
        LITERAL => AclPatternType::Literal,
        PREFIXED => AclPatternType::Prefixed,
        p => return Err(format!("Invalid patternType {p}: only LITERAL (3) and PREFIXED (4) rules can be created")),
    };
    let operation = match c.operation {
        CREATE_TOKENS | DESCRIBE_TOKENS => {
            return Err(format!("operation {} (delegation tokens) is not supported by this broker", c.operation))
        }
        o => AclOperation::from_code(i64::from(o)).ok_or_else(|| format!("Invalid operation {o}"))?,
    };
    let permission = AclPermission::from_code(i64::from(c.permission_type))
        .ok_or_else(|| format!("Invalid permissionType {}", c.permission_type))?;
    let name = c.resource_name.as_str();
    if name.is_empty() {
        return Err("Resource name should not be empty".into());
    }
    if resource_type == AclResourceType::Cluster && name != CLUSTER {
        return Err(format!("The only valid name for the CLUSTER resource is {CLUSTER}"));
    }
    let principal = c.principal.as_str();
    match principal.split_once(':') {
        None => {
            return Err(format!(
                "Could not parse principal from `{principal}` (no colon is present separating the principal type from the principal name)"
            ))
        }
        Some((kind, user)) if kind != "User" || user.is_empty() => {
            return Err(format!("principal `{principal}` is not supported: only User:<name> (or User:*) principals"))
        }
        Some(_) => {}
    }
    let host = c.host.as_str();
    if host != "*" && host.parse::<IpAddr>().is_err() {
        return Err(format!("Invalid host `{host}`: `*` or an IP address"));
    }
    Ok(AclRule {
        resource_type,
        resource_name: name.to_string(),
        pattern_type,
        principal: principal.to_string(),
        host: host.to_string(),
        operation,
        permission,
        created_at_ms: Millis(0),
    })
}

/// CreateAcls: every creation answered in order (NONE, INVALID_REQUEST with a message, POLICY_VIOLATION,
/// or CLUSTER_AUTHORIZATION_FAILED for all without ALTER on the cluster).
pub async fn create_acls(broker: &KafkaBroker, origin: &Origin, r: CreateAclsRequest) -> CreateAclsResponse {
    let result = |code: i16, message: Option<String>| {
        create_acls_response::AclCreationResult::default().with_error_code(code).with_error_message(message.map(s))
    };
    if !allowed(broker, origin, AclResourceType::Cluster, CLUSTER, AclOperation::Alter) {
        let results = r
            .creations
            .iter()
            .map(|_| result(CLUSTER_AUTHORIZATION_FAILED, Some("Cluster authorization failed.".into())));
        return CreateAclsResponse::default().with_results(results.collect());
    }
    let checked: Vec<Result<AclRule, String>> = r.creations.iter().map(rule_of).collect();
    let rules: Vec<AclRule> = checked.iter().filter_map(|c| c.as_ref().ok().cloned()).collect();
    let stored = if rules.is_empty() {
        Ok(())
    } else {
        let stored = cluster::create_acl_rules(&broker.state, &origin.instance, rules);
        if stored.is_ok() {
            cluster::persist(&broker.state).await;
        }
        stored
    };
    let results = checked
        .into_iter()
        .map(|c| match (c, &stored) {
            (Err(message), _) => result(code::INVALID_REQUEST, Some(message)),
            (Ok(_), Ok(())) => result(code::NONE, None),
            (Ok(_), Err(e @ SecurityError::QuotaExceeded(_))) => result(POLICY_VIOLATION, Some(e.to_string())),
            (Ok(_), Err(e)) => result(UNKNOWN_SERVER_ERROR, Some(e.to_string())),
        })
        .collect();
    CreateAclsResponse::default().with_results(results)
}

/// A DescribeAcls / DeleteAcls filter, checked (Kafka's `AclBindingFilter`).
#[derive(Debug, Clone)]
struct Filter {
    /// None: ANY. `Some(None)`: a type the engine holds no rules of (DELEGATION_TOKEN, USER).
    resource_type: Option<Option<AclResourceType>>,
    name: Option<String>,
    pattern: i8,
    principal: Option<String>,
    host: Option<String>,
    /// None: ANY. `Some(None)`: the token operations, which no rule here has.
    operation: Option<Option<AclOperation>>,
    permission: Option<AclPermission>,
}

impl Filter {
    /// Checks a filter's codes. Err: INVALID_REQUEST's message (UNKNOWN or a code Kafka does not know).
    #[allow(clippy::too_many_arguments)]
    fn new(
        resource_type: i8,
        name: Option<&str>,
        pattern: i8,
        principal: Option<&str>,
        host: Option<&str>,
        operation: i8,
        permission: i8,
    ) -> Result<Filter, String> {
        let resource_type = match resource_type {
            ANY => None,
            DELEGATION_TOKEN | USER => Some(None),
            t => Some(Some(
                AclResourceType::from_code(i64::from(t)).ok_or_else(|| format!("Invalid resource type filter {t}"))?,
            )),
        };
        if !(ANY..=PREFIXED).contains(&pattern) {
            return Err(format!("Invalid pattern type filter {pattern}"));
        }
        let operation = match operation {
            ANY => None,
            CREATE_TOKENS | DESCRIBE_TOKENS => Some(None),
            o => Some(Some(
                AclOperation::from_code(i64::from(o)).ok_or_else(|| format!("Invalid operation filter {o}"))?,
            )),
        };
        let permission = match permission {
            ANY => None,
            p => Some(
                AclPermission::from_code(i64::from(p)).ok_or_else(|| format!("Invalid permission type filter {p}"))?,
            ),
        };
        Ok(Filter {
            resource_type,
            name: name.map(str::to_string),
            pattern,
            principal: principal.map(str::to_string),
            host: host.map(str::to_string),
            operation,
            permission,
        })
    }

    /// Kafka's `ResourcePatternFilter.matches` and `AccessControlEntryFilter.matches`.
    fn matches(&self, r: &AclRule) -> bool {
        let kind_ok = match self.resource_type {
            None => true,
            Some(kind) => kind == Some(r.resource_type),
        };
        let pattern_ok = self.pattern == ANY || self.pattern == MATCH || self.pattern == pattern_code(r.pattern_type);
        let name_ok = match &self.name {
            None => true,
            Some(n) if self.pattern == ANY || self.pattern == pattern_code(r.pattern_type) => *n == r.resource_name,
            Some(n) => match r.pattern_type {
                AclPatternType::Literal => *n == r.resource_name || r.resource_name == "*",
                AclPatternType::Prefixed => n.starts_with(&r.resource_name),
            },
        };
        kind_ok
            && pattern_ok
            && name_ok
            && self.principal.as_ref().is_none_or(|p| *p == r.principal)
            && self.host.as_ref().is_none_or(|h| *h == r.host)
            && self.operation.is_none_or(|o| o == Some(r.operation))
            && self.permission.is_none_or(|p| p == r.permission)
    }
}

/// DescribeAcls: the matching rules grouped by resource pattern (in the order rules were created).
pub fn describe_acls(broker: &KafkaBroker, origin: &Origin, r: DescribeAclsRequest) -> DescribeAclsResponse {
    let failed = |code: i16, message: String| {
        DescribeAclsResponse::default().with_error_code(code).with_error_message(Some(s(message)))
    };
    if !allowed(broker, origin, AclResourceType::Cluster, CLUSTER, AclOperation::Describe) {
        return failed(CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.".into());
    }
    let filter = match Filter::new(
        r.resource_type_filter,
        r.resource_name_filter.as_deref(),
        r.pattern_type_filter,
        r.principal_filter.as_deref(),
        r.host_filter.as_deref(),
        r.operation,
        r.permission_type,
    ) {
        Ok(f) => f,
        Err(message) => return failed(code::INVALID_REQUEST, message),
    };
    let Some(rules) = cluster::acl_rules(&broker.state, &origin.instance) else {
        return failed(UNKNOWN_SERVER_ERROR, format!("instance {} does not exist", origin.instance));
    };
    // Grouped by resource pattern through an index (an instance may hold 10,000 rules).
    let mut resources: Vec<describe_acls_response::DescribeAclsResource> = Vec::new();
    let mut index: std::collections::HashMap<(i8, &str, i8), usize> = std::collections::HashMap::new();
    for rule in rules.iter().filter(|rule| filter.matches(rule)) {
        let key = (rule.resource_type.code() as i8, rule.resource_name.as_str(), pattern_code(rule.pattern_type));
        let acl = describe_acls_response::AclDescription::default()
            .with_principal(s(rule.principal.as_str()))
            .with_host(s(rule.host.as_str()))
            .with_operation(rule.operation.code() as i8)
            .with_permission_type(rule.permission.code() as i8);
        let at = *index.entry(key).or_insert_with(|| {
            resources.push(
                describe_acls_response::DescribeAclsResource::default()
                    .with_resource_type(key.0)
                    .with_resource_name(s(key.1))
                    .with_pattern_type(key.2),
            );
            resources.len() - 1
        });
        if let Some(resource) = resources.get_mut(at) {
            resource.acls.push(acl);
        }
    }
    DescribeAclsResponse::default().with_resources(resources)
}

/// DeleteAcls: one result per filter with the rules it removed (INVALID_REQUEST for a filter with
/// UNKNOWN values, CLUSTER_AUTHORIZATION_FAILED for all without ALTER on the cluster).
pub async fn delete_acls(broker: &KafkaBroker, origin: &Origin, r: DeleteAclsRequest) -> DeleteAclsResponse {
    let result = |code: i16, message: Option<String>| {
        delete_acls_response::DeleteAclsFilterResult::default().with_error_code(code).with_error_message(message.map(s))
    };
    if !allowed(broker, origin, AclResourceType::Cluster, CLUSTER, AclOperation::Alter) {
        let results = r
            .filters
            .iter()
            .map(|_| result(CLUSTER_AUTHORIZATION_FAILED, Some("Cluster authorization failed.".into())));
        return DeleteAclsResponse::default().with_filter_results(results.collect());
    }
    let filters: Vec<Result<Filter, String>> = r
        .filters
        .iter()
        .map(|f| {
            Filter::new(
                f.resource_type_filter,
                f.resource_name_filter.as_deref(),
                f.pattern_type_filter,
                f.principal_filter.as_deref(),
                f.host_filter.as_deref(),
                f.operation,
                f.permission_type,
            )
        })
        .collect();
    let claim = |rule: &AclRule| filters.iter().position(|f| f.as_ref().is_ok_and(|f| f.matches(rule)));
    let removed = if filters.iter().any(Result::is_ok) {
        cluster::remove_acl_rules(&broker.state, &origin.instance, claim)
    } else {
        Ok(Vec::new())
    };
    let removed = match removed {
        Ok(removed) => removed,
        Err(e) => {
            let results = filters.iter().map(|_| result(UNKNOWN_SERVER_ERROR, Some(e.to_string())));
            return DeleteAclsResponse::default().with_filter_results(results.collect());
        }
    };
    if !removed.is_empty() {
        cluster::persist(&broker.state).await;
    }
    let results = filters
        .iter()
        .enumerate()
        .map(|(n, f)| match f {
            Err(message) => result(code::INVALID_REQUEST, Some(message.clone())),
            Ok(_) => result(code::NONE, None).with_matching_acls(
                removed
                    .iter()
                    .filter(|(owner, _)| *owner == n)
                    .map(|(_, rule)| {
                        delete_acls_response::DeleteAclsMatchingAcl::default()
                            .with_resource_type(rule.resource_type.code() as i8)
                            .with_resource_name(s(rule.resource_name.as_str()))
                            .with_pattern_type(pattern_code(rule.pattern_type))
                            .with_principal(s(rule.principal.as_str()))
                            .with_host(s(rule.host.as_str()))
                            .with_operation(rule.operation.code() as i8)
                            .with_permission_type(rule.permission.code() as i8)
                    })
                    .collect(),
            ),
        })
        .collect();
    DeleteAclsResponse::default().with_filter_results(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: AclResourceType, name: &str, pattern: AclPatternType) -> AclRule {
        AclRule {
            resource_type: kind,
            resource_name: name.into(),
            pattern_type: pattern,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: AclOperation::Read,
            permission: AclPermission::Allow,
            created_at_ms: Millis(0),
        }
    }

    fn names(filter: &Filter, rules: &[AclRule]) -> Vec<String> {
        rules.iter().filter(|r| filter.matches(r)).map(|r| r.resource_name.clone()).collect()
    }

    #[test]
    fn filters_match_as_kafka_resource_pattern_filters() {
        use AclPatternType::*;
        let t = AclResourceType::Topic;
        let rules =
            [rule(t, "orders", Literal), rule(t, "*", Literal), rule(t, "ord", Prefixed), rule(t, "x", Prefixed)];
        let f = |pattern: i8, name: Option<&str>| Filter::new(2, name, pattern, None, None, 1, 1).unwrap();
        assert_eq!(names(&f(MATCH, Some("orders")), &rules), ["orders", "*", "ord"]);
        assert_eq!(names(&f(ANY, Some("ord")), &rules), ["ord"]);
        assert_eq!(names(&f(LITERAL, Some("ord")), &rules), Vec::<String>::new());
        assert_eq!(names(&f(PREFIXED, None), &rules), ["ord", "x"]);
        assert_eq!(names(&f(MATCH, None), &rules).len(), 4);
        let group = Filter::new(3, None, ANY, None, None, 1, 1).unwrap();
        assert!(names(&group, &rules).is_empty());
        let tokens = Filter::new(USER, None, ANY, None, None, 1, 1).unwrap();
        assert!(names(&tokens, &rules).is_empty());
        let deny = Filter::new(1, None, ANY, Some("User:alice"), Some("*"), 3, 2).unwrap();
        assert!(names(&deny, &rules).is_empty());
        let allow = Filter::new(1, None, ANY, Some("User:alice"), Some("*"), 3, 3).unwrap();
        assert_eq!(names(&allow, &rules).len(), 4);
        for bad in [
            Filter::new(0, None, ANY, None, None, 1, 1),
            Filter::new(9, None, ANY, None, None, 1, 1),
            Filter::new(1, None, 0, None, None, 1, 1),
            Filter::new(1, None, 5, None, None, 1, 1),
            Filter::new(1, None, ANY, None, None, 0, 1),
            Filter::new(1, None, ANY, None, None, 1, 0),
        ] {
            assert!(bad.is_err(), "{bad:?}");
        }
    }

    #[test]
    fn creations_the_engine_cannot_hold_are_refused_with_a_message() {
        let ok = create_acls_request::AclCreation::default()
            .with_resource_type(2)
            .with_resource_name(s("orders"))
            .with_resource_pattern_type(LITERAL)
            .with_principal(s("User:alice"))
            .with_host(s("*"))
            .with_operation(3)
            .with_permission_type(3);
        let r = rule_of(&ok).unwrap();
        assert_eq!(
            (r.resource_type, r.operation, r.permission),
            (AclResourceType::Topic, AclOperation::Read, AclPermission::Allow)
        );
        let cases = [
            (ok.clone().with_resource_type(1), "Invalid resourceType ANY"),
            (ok.clone().with_resource_type(USER), "resource type USER is not supported"),
            (ok.clone().with_resource_pattern_type(MATCH), "Invalid patternType 2"),
            (ok.clone().with_operation(1), "Invalid operation 1"),
            (ok.clone().with_operation(CREATE_TOKENS), "operation 13"),
            (ok.clone().with_permission_type(1), "Invalid permissionType 1"),
            (ok.clone().with_resource_name(s("")), "Resource name should not be empty"),
            (ok.clone().with_resource_type(4), "The only valid name for the CLUSTER resource is kafka-cluster"),
            (ok.clone().with_principal(s("alice")), "Could not parse principal"),
            (ok.clone().with_principal(s("Group:x")), "only User:<name>"),
            (ok.clone().with_host(s("example.com")), "Invalid host"),
        ];
        for (creation, message) in cases {
            let err = rule_of(&creation).unwrap_err();
            assert!(err.contains(message), "{err} / {message}");
        }
        assert!(rule_of(&ok.clone().with_host(s("10.0.0.1"))).is_ok());
        assert!(rule_of(&ok.with_resource_type(4).with_resource_name(s(CLUSTER))).is_ok());
    }
}
