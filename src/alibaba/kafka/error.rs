//! Every error the Alibaba Kafka facade returns, mapped in ONE place to the HTTP status, code and message.
//!
//! Two families:
//! - gateway errors (common parameters, signature, replay, version, action): the POP gateway's codes,
//!   statuses and messages, with `Recommend` (a troubleshooting link the real gateway adds);
//! - business errors of the service (unknown instance/topic/group, duplicates, quota): the seed documents
//!   none but `InternalServerError`; codes follow terraform-provider-alicloud's handling where it names them
//!   (`BIZ_TOPIC_NOT_FOUND`, `BIZ_SUBSCRIPTION_NOT_FOUND`), the others are localyun's placeholders.
//!
//! Status decision (sdk-wire-notes §0 finding 3): aliyunsdkcore and the tea SDK raise only on a non-2xx
//! status and treat an HTTP 200 `Success:false` body as success, so business errors are sent with a 4xx
//! status, and their body keeps the service's envelope fields (`Success:false`, `Code`, `Message`) next to
//! the gateway's `RequestId`/`HostId`, so both readers of the body find what they look for.

use axum::http::StatusCode;

use crate::engine::kafka::KafkaError;

#[derive(Debug, Clone, PartialEq)]
/// An Alibaba Kafka error: HTTP status, code and message (see the module doc).
pub enum AlibabaError {
    /// 400 MissingParameter: a required parameter is absent or empty.
    MissingParameter(String),
    /// 400 InvalidParameter: (name, why).
    InvalidParameter(String, String),
    /// 400 IncompleteSignature: no `Signature` parameter.
    IncompleteSignature,
    /// 400 SignatureDoesNotMatch, echoing the server's string to sign (aliyunsdkcore parses it after the `:`).
    SignatureDoesNotMatch(String),
    /// 404 InvalidAccessKeyId.NotFound.
    AccessKeyNotFound,
    /// 400 InvalidTimeStamp.Format.
    TimestampFormat,
    /// 400 InvalidTimeStamp.Expired.
    TimestampExpired,
    /// 400 SignatureNonceUsed.
    NonceUsed,
    /// 404 InvalidVersion.
    InvalidVersion(String),
    /// 404 InvalidAction.NotFound.
    ActionNotFound(String),
    /// 404 InvalidInstanceId.NotFound (business).
    InstanceNotFound(String),
    /// 404 BIZ_TOPIC_NOT_FOUND (business).
    TopicNotFound(String),
    /// 404 BIZ_SUBSCRIPTION_NOT_FOUND (business): the consumer group does not exist.
    GroupNotFound(String),
    /// 400 BIZ_TOPIC_EXISTED (business).
    TopicExists(String),
    /// 400 BIZ_CONSUMER_EXISTED (business).
    GroupExists(String),
    /// 400 BIZ_TOPIC_QUOTA_EXCEEDED (business): a topic or partition quota of the instance.
    QuotaExceeded(String),
    /// 500 InternalServerError (the one code the seed documents).
    Internal,
}

impl AlibabaError {
    pub fn status(&self) -> StatusCode {
        use AlibabaError::*;
        match self {
            AccessKeyNotFound | InvalidVersion(_) | ActionNotFound(_) => StatusCode::NOT_FOUND,
            InstanceNotFound(_) | TopicNotFound(_) | GroupNotFound(_) => StatusCode::NOT_FOUND,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub fn code(&self) -> &'static str {
        use AlibabaError::*;
        match self {
            MissingParameter(_) => "MissingParameter",
            InvalidParameter(..) => "InvalidParameter",
            IncompleteSignature => "IncompleteSignature",
            SignatureDoesNotMatch(_) => "SignatureDoesNotMatch",
            AccessKeyNotFound => "InvalidAccessKeyId.NotFound",
            TimestampFormat => "InvalidTimeStamp.Format",
            TimestampExpired => "InvalidTimeStamp.Expired",
            NonceUsed => "SignatureNonceUsed",
            InvalidVersion(_) => "InvalidVersion",
            ActionNotFound(_) => "InvalidAction.NotFound",
            InstanceNotFound(_) => "InvalidInstanceId.NotFound",
            TopicNotFound(_) => "BIZ_TOPIC_NOT_FOUND",
            GroupNotFound(_) => "BIZ_SUBSCRIPTION_NOT_FOUND",
            TopicExists(_) => "BIZ_TOPIC_EXISTED",
            GroupExists(_) => "BIZ_CONSUMER_EXISTED",
            QuotaExceeded(_) => "BIZ_TOPIC_QUOTA_EXCEEDED",
            Internal => "InternalServerError",
        }
    }

    pub fn message(&self) -> String {
        use AlibabaError::*;
        match self {
            MissingParameter(name) => {
                format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied.")
            }
            InvalidParameter(name, why) => format!("The specified parameter \"{name}\" is not valid. {why}"),
            IncompleteSignature => "The request signature does not conform to Aliyun standards.".into(),
            // The exact gateway form: aliyunsdkcore splits on ':' and compares the rest with its own string.
            SignatureDoesNotMatch(sts) => {
                format!("Specified signature is not matched with our calculation. server string to sign is:{sts}")
            }
            AccessKeyNotFound => "Specified access key is not found.".into(),
            TimestampFormat => "Specified time stamp or date value is not well formatted.".into(),
            TimestampExpired => "Specified time stamp or date value is expired.".into(),
            NonceUsed => "Specified signature nonce was used already.".into(),
            InvalidVersion(v) => format!("Specified parameter Version is not valid. ({v})"),
            ActionNotFound(a) => format!("Specified api is not found, please check your url and method. ({a})"),
            InstanceNotFound(id) => format!("The specified instance {id} is not found."),
            TopicNotFound(t) => format!("The topic {t} does not exist."),
            GroupNotFound(g) => format!("The consumer group {g} does not exist."),
            TopicExists(t) => format!("The topic {t} already exists."),
            GroupExists(g) => format!("The consumer group {g} already exists."),
            QuotaExceeded(why) => format!("The instance quota is exceeded: {why}."),
            Internal => "An internal error occurred; please try again later.".into(),
        }
    }

    /// Whether the service (not the gateway) raised it: those carry `Success:false`, gateway errors `Recommend`.
    pub fn is_business(&self) -> bool {
        use AlibabaError::*;
        matches!(
            self,
            InstanceNotFound(_)
                | TopicNotFound(_)
                | GroupNotFound(_)
                | TopicExists(_)
                | GroupExists(_)
                | QuotaExceeded(_)
                | Internal
        )
    }
}

impl From<crate::tencent::params_de::ParamError> for AlibabaError {
    fn from(e: crate::tencent::params_de::ParamError) -> Self {
        use crate::tencent::params_de::ParamError;
        match e {
            ParamError::Missing(name) => AlibabaError::MissingParameter(name),
            ParamError::Invalid(name, why) => AlibabaError::InvalidParameter(name, why),
            ParamError::Other(why) => AlibabaError::InvalidParameter("Parameters".into(), why),
        }
    }
}

impl From<KafkaError> for AlibabaError {
    fn from(e: KafkaError) -> Self {
        let text = e.to_string();
        match e {
            KafkaError::InstanceNotFound(id) => AlibabaError::InstanceNotFound(id),
            KafkaError::TopicNotFound(t) => AlibabaError::TopicNotFound(t),
            KafkaError::PartitionNotFound { topic, .. } => AlibabaError::TopicNotFound(topic),
            KafkaError::GroupNotFound(g) => AlibabaError::GroupNotFound(g),
            KafkaError::TopicExists(t) => AlibabaError::TopicExists(t),
            KafkaError::GroupExists(g) => AlibabaError::GroupExists(g),
            KafkaError::QuotaExceeded(why) => AlibabaError::QuotaExceeded(why),
            KafkaError::TooManyReplicas { .. } => AlibabaError::InvalidParameter("ReplicationFactor".into(), text),
            KafkaError::PartitionsCannotShrink { .. } => AlibabaError::InvalidParameter("PartitionNum".into(), text),
            KafkaError::MinInsyncAboveReplicas { .. } => AlibabaError::InvalidParameter(
                "MinInsyncReplicas".into(),
                "It cannot exceed the replication factor.".into(),
            ),
            // Instances are never created through this API; a clash here is a localyun bug.
            KafkaError::InstanceExists(_) => AlibabaError::Internal,
        }
    }
}
