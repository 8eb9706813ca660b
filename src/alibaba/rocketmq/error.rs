//! Every error of the `/json` Open API, mapped in one place to the seed's error codes (section 2.5), the
//! envelope's numeric `code` and the HTTP status.
//!
//! Where the code goes: the seed says a failed call "returns the corresponding error code and description"
//! but not in which field. localyun puts the error code (e.g. `BIZ_TOPIC_NOT_FOUND`) in both `dynamicCode`
//! and `message`, the description in `dynamicMessage`, and a non-200 number in `code` (the seed: "200代表成功，
//! 其他都是处理失败").
//!
//! HTTP status: the seed says "正常情况下返回结果HTTP状态码都是200" (normally every answer is HTTP 200 and the
//! client parses the body), so every business error is HTTP 200. An authentication failure is not a normal
//! answer: it is HTTP 403 with `dynamicCode` `AUTH_FAILED` (the seed names no code for it, only "鉴权失败"),
//! so a client can tell it apart from a business error by status alone. A method other than GET or POST is
//! HTTP 405.

use axum::http::StatusCode;

use crate::engine::rocketmq::{Field, Quota, RocketMqError};

/// The authentication failure's code (not in the seed's table, which has none for it).
pub const AUTH_FAILED: &str = "AUTH_FAILED";

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: &'static str,
    pub detail: String,
}

impl ApiError {
    pub fn new(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError { code, detail: detail.into() }
    }

    /// BIZ_FIELD_CHECK_INVALID: a parameter is missing or breaks a documented rule.
    pub fn field(detail: impl Into<String>) -> ApiError {
        ApiError::new("BIZ_FIELD_CHECK_INVALID", detail)
    }

    pub fn auth(detail: impl Into<String>) -> ApiError {
        ApiError::new(AUTH_FAILED, detail)
    }

    /// The envelope's numeric `code` for an error code (HTTP-like classes; the seed gives none).
    pub fn numeric_code(code: &str) -> i64 {
        match code {
            AUTH_FAILED => 403,
            "METHOD_NOT_ALLOWED" => 405,
            "BIZ_FIELD_CHECK_INVALID" => 400,
            "BIZ_REGION_NOT_FOUND"
            | "BIZ_TOPIC_NOT_FOUND"
            | "BIZ_SUBSCRIPTION_NOT_FOUND"
            | "BIZ_PUBLISH_INFO_NOT_FOUND"
            | "BIZ_NO_MESSAGE" => 404,
            "BIZ_TOPIC_EXISTED" | "BIZ_SUBSCRIPTION_EXISTED" | "BIZ_PUBLISHER_EXISTED" | "EMPOWER_EXIST_ERROR" => 409,
            "BIZ_PRODUCER_ID_BELONG_TO_OTHER_USER"
            | "BIZ_CONSUMER_ID_BELONG_TO_OTHER_USER"
            | "EMPOWER_OWNER_CHECK_ERROR" => 403,
            "BIZ_CONSUMER_NOT_ONLINE" => 412,
            "ONS_SERVICE_UNSUPPORTED" => 501,
            _ => 500,
        }
    }

    pub fn http_status(&self) -> StatusCode {
        match self.code {
            AUTH_FAILED => StatusCode::FORBIDDEN,
            "METHOD_NOT_ALLOWED" => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::OK,
        }
    }
}

/// The parameter that carries an engine value on this API.
fn parameter(field: Field) -> &'static str {
    match field {
        Field::Cluster => "cluster",
        Field::InstanceId => "instanceId",
        Field::InstanceName => "instanceName",
        Field::MaxSendTps => "maxSendTps",
        Field::MaxReceiveTps => "maxReceiveTps",
        Field::TopicCapacity => "topicCapacity",
        Field::Topic => "topic",
        Field::GroupId => "groupId",
        Field::Perm => "perm",
        Field::Relation => "relation",
        Field::Grantee => "empowerUser",
        Field::Body => "body",
        Field::Properties => "properties",
        Field::DeliverTime => "startDeliverTime",
        Field::QueryTask => "taskId",
        Field::Page => "currentPage",
    }
}

/// An engine error as this API describes it (`dynamicMessage`), naming parameters as the seed does.
pub fn describe(e: &RocketMqError) -> String {
    match e {
        RocketMqError::Invalid(field, why) => format!("invalid parameter {}: {why}", parameter(*field)),
        RocketMqError::QuotaExceeded(quota) => match quota {
            Quota::InstancesPerRegion => format!(
                "quota exceeded: at most {} instances per region",
                crate::engine::rocketmq::MAX_INSTANCES_PER_REGION
            ),
            Quota::SharedInstance => {
                "quota exceeded: at most 1 instance without a namespace (independentNaming=false) per region".into()
            }
            Quota::Topics { instance, capacity } => {
                format!("quota exceeded: instance {instance} holds its topicCapacity of {capacity} topics")
            }
        },
        other => other.to_string(),
    }
}

impl From<RocketMqError> for ApiError {
    /// The management-side mapping: a missing group is BIZ_PUBLISH_INFO_NOT_FOUND ("请求的GID没有找到").
    fn from(e: RocketMqError) -> ApiError {
        let detail = describe(&e);
        let code = match e {
            RocketMqError::Invalid(..)
            | RocketMqError::InstanceNotFound(_)
            | RocketMqError::InstanceNotEmpty(_)
            | RocketMqError::QuotaExceeded(_)
            | RocketMqError::GrantNotFound(_) => "BIZ_FIELD_CHECK_INVALID",
            RocketMqError::RegionNotFound(_) => "BIZ_REGION_NOT_FOUND",
            RocketMqError::TopicNotFound(_) => "BIZ_TOPIC_NOT_FOUND",
            RocketMqError::TopicExists(_) => "BIZ_TOPIC_EXISTED",
            RocketMqError::GroupNotFound(_) => "BIZ_PUBLISH_INFO_NOT_FOUND",
            RocketMqError::SubscriptionNotFound(..) => "BIZ_SUBSCRIPTION_NOT_FOUND",
            RocketMqError::GroupExists { consumer: true, .. } => "BIZ_SUBSCRIPTION_EXISTED",
            RocketMqError::GroupExists { consumer: false, .. } => "BIZ_PUBLISHER_EXISTED",
            RocketMqError::GroupOwnedByOther { consumer: true, .. } => "BIZ_CONSUMER_ID_BELONG_TO_OTHER_USER",
            RocketMqError::GroupOwnedByOther { consumer: false, .. } => "BIZ_PRODUCER_ID_BELONG_TO_OTHER_USER",
            RocketMqError::ConsumerNotOnline(_) => "BIZ_CONSUMER_NOT_ONLINE",
            RocketMqError::NoMessage(_) => "BIZ_NO_MESSAGE",
            RocketMqError::GrantExists(_) => "EMPOWER_EXIST_ERROR",
            RocketMqError::NotTopicOwner(_) => "EMPOWER_OWNER_CHECK_ERROR",
            RocketMqError::Forbidden(..) => "ONS_INVOKE_ERROR",
        };
        ApiError::new(code, detail)
    }
}

/// The consumer-side mapping (consumer, message-trace, trend and dead-letter routes): a missing group is
/// BIZ_SUBSCRIPTION_NOT_FOUND ("目标订阅关系GID找不到").
pub fn consumer_side(e: RocketMqError) -> ApiError {
    match e {
        RocketMqError::GroupNotFound(g) => {
            ApiError::new("BIZ_SUBSCRIPTION_NOT_FOUND", format!("group id {g} does not exist"))
        }
        other => other.into(),
    }
}
