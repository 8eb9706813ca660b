//! Every error the ONS OpenAPI (2019-02-14) answers, mapped in one place to the HTTP status, code and message.
//!
//! Two families:
//! - gateway errors (common parameters, signature v1 / ACS3, replay, version, action, typed parameters): the
//!   POP gateway's codes, shared with the Alibaba Kafka RPC facade (`crate::alibaba::kafka::AlibabaError`);
//! - business errors of the service: the codes of Alibaba's ONS error-code page (help.aliyun.com document
//!   44425): `BIZ_TOPIC_NOT_FOUND`, `BIZ_TOPIC_EXISTED`, `BIZ_SUBSCRIPTION_NOT_FOUND`,
//!   `BIZ_SUBSCRIPTION_EXISTED`, `BIZ_CONSUMER_NOT_ONLINE`, `BIZ_NO_MESSAGE`, `BIZ_REGION_NOT_FOUND`,
//!   `BIZ_FIELD_CHECK_INVALID`, `AUTH_RESOURCE_OWNER_ERROR` ("没有权限操作或者资源不存在": an instance the
//!   caller does not own or that does not exist), ...
//!
//! Status: aliyunsdkcore and the tea SDK raise only on a non-2xx status, so business errors go out with 404
//! (a missing resource) or 400 (anything else), as the Kafka facade does.

use axum::http::StatusCode;

use crate::alibaba::kafka::AlibabaError;
use crate::alibaba::rocketmq::ApiError;
use crate::engine::rocketmq::{Field, RocketMqError};

/// An ONS error: a gateway error, or a business error with ONS's code.
#[derive(Debug, Clone, PartialEq)]
pub enum OnsError {
    Gateway(AlibabaError),
    Business { code: &'static str, message: String },
}

impl OnsError {
    /// A business error with one of ONS's codes.
    pub fn business(code: &'static str, message: impl Into<String>) -> OnsError {
        OnsError::Business { code, message: message.into() }
    }

    /// InvalidParameter for `name`, with why.
    pub fn invalid(name: &str, why: impl Into<String>) -> OnsError {
        OnsError::Gateway(AlibabaError::InvalidParameter(name.into(), why.into()))
    }

    /// MissingParameter for `name`.
    pub fn missing(name: &str) -> OnsError {
        OnsError::Gateway(AlibabaError::MissingParameter(name.into()))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            OnsError::Gateway(e) => e.status(),
            OnsError::Business { code, .. } if code.contains("NOT_FOUND") || *code == "AUTH_RESOURCE_OWNER_ERROR" => {
                StatusCode::NOT_FOUND
            }
            OnsError::Business { code, .. } if code.starts_with("ONS_SYSTEM") => StatusCode::INTERNAL_SERVER_ERROR,
            OnsError::Business { .. } => StatusCode::BAD_REQUEST,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            OnsError::Gateway(e) => e.code(),
            OnsError::Business { code, .. } => code,
        }
    }

    pub fn message(&self) -> String {
        match self {
            OnsError::Gateway(e) => e.message(),
            OnsError::Business { message, .. } => message.clone(),
        }
    }

    /// Whether the gateway (not the service) raised it: those carry a `Recommend` link.
    pub fn is_gateway(&self) -> bool {
        matches!(self, OnsError::Gateway(_))
    }
}

impl From<AlibabaError> for OnsError {
    fn from(e: AlibabaError) -> Self {
        OnsError::Gateway(e)
    }
}

/// The ONS parameter that carries an engine value.
fn parameter(field: Field) -> &'static str {
    match field {
        Field::Cluster => "Cluster",
        Field::InstanceId => "InstanceId",
        Field::InstanceName => "InstanceName",
        Field::MaxSendTps | Field::MaxReceiveTps => "MaxTps",
        Field::TopicCapacity => "TopicCapacity",
        Field::Topic => "Topic",
        Field::GroupId => "GroupId",
        Field::Perm => "Perm",
        Field::Relation => "Relation",
        Field::Grantee => "UserId",
        Field::Body => "Body",
        Field::Properties => "Properties",
        Field::DeliverTime => "StartDeliverTime",
        Field::QueryTask => "TaskId",
        Field::Page => "CurrentPage",
    }
}

impl From<RocketMqError> for OnsError {
    /// Rule violations are the gateway's InvalidParameter naming the ONS parameter; a missing instance is
    /// AUTH_RESOURCE_OWNER_ERROR; a missing group BIZ_SUBSCRIPTION_NOT_FOUND ("目标订阅关系 GID 找不到",
    /// the code the ONS group and consumer actions document); the rest keep the code the `/json` API (the
    /// same service's Apsara Stack edition) gives them.
    fn from(e: RocketMqError) -> Self {
        match e {
            RocketMqError::Invalid(field, why) => OnsError::invalid(parameter(field), format!("It {why}.")),
            RocketMqError::InstanceNotFound(id) => OnsError::business(
                "AUTH_RESOURCE_OWNER_ERROR",
                format!("The instance {id} does not exist or does not belong to the caller."),
            ),
            RocketMqError::GroupNotFound(g) => {
                OnsError::business("BIZ_SUBSCRIPTION_NOT_FOUND", format!("The group {g} does not exist."))
            }
            other => {
                let ApiError { code, detail } = ApiError::from(other);
                OnsError::Business { code, message: detail }
            }
        }
    }
}
