//! Every error the EventGrid facade returns, mapped in ONE place to the seed's table 7.2 (status, code,
//! message verbatim) or, for authentication and routing, to the API gateway's `APIGW.*` codes (the seed
//! refers to them without listing them; the codes and messages are the real gateway's).

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::engine::eventbus::EventBusError;

#[derive(Debug, Clone, PartialEq)]
pub enum EgError {
    /// 400 EG.00513000: a parameter is missing or invalid.
    Parameter(String),
    /// 400 EG.00513001: the name (or a globally unique id) is taken.
    NameDuplicated(String),
    /// 400 EG.00513002: the subscription's status forbids the change.
    SubscriptionStatus(String),
    /// 400 EG.00513003: a webhook target URL is wrong.
    TargetAddress(String),
    /// 400 EG.00513004: a filter rule is wrong.
    Filter(String),
    /// 400 EG.00513005: the channel cannot be used for this.
    Channel(String),
    /// 400 EG.00513006: the VPC already has a private endpoint.
    VpcConflict(String),
    /// 403 EG.00512000: the project belongs to another account.
    NoPermission(String),
    /// 403 EG.00512003: the agency a request names was never created (CreateAgencies).
    AgencyRequired(String),
    /// 500 EG.00515001: a resource disappeared while events were being published.
    PublishResourceMissing(String),
    /// 400 EGS.005160xx: a certificate archive (`ssl_certificate_url`) is unusable; the code says how.
    Certificate(CertificateFault, String),
    /// 403 EG.00514003: a quota is used up.
    Quota(String),
    /// 403 EG.00514004: official resources cannot be changed.
    NotModifiable(String),
    /// 404 EG.00514001: the resource does not exist (in this project).
    NotFound(String),
    /// 409 EG.00514002: the resource is still bound to others.
    Conflict(String),
    /// 409 EG.00514005: a connection that is being created cannot be deleted.
    CannotDelete(String),
    /// 500 EG.00511000.
    Internal(String),
    /// 401 APIGW.0301: missing, malformed, expired or wrong credentials.
    Auth(String),
    /// 404 APIGW.0101: no API at this method and path.
    NoSuchApi,
    /// 401 from the token endpoint (IAM): wrong user name or password.
    IamUnauthorized(String),
    /// 400 from the token endpoint (IAM): a malformed token request.
    IamBadRequest(String),
}

/// The certificate-archive faults of appendix 7.2 that localyun can meet (it never uploads to OBS or
/// creates buckets, so EGS.00516013 and EGS.00516015 cannot happen here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateFault {
    /// EGS.00516010 Must be in ZIP format.
    NotZip,
    /// EGS.00516011 Invalid download URL.
    BadUrl,
    /// EGS.00516012 Download OBS file failed.
    DownloadFailed,
    /// EGS.00516016 The certificate does not exist in the compressed package.
    NoCertificate,
    /// EGS.00516017 Too many files.
    TooManyFiles,
    /// EGS.00516018 File too large.
    FileTooLarge,
}

impl CertificateFault {
    fn code(self) -> &'static str {
        match self {
            CertificateFault::NotZip => "EGS.00516010",
            CertificateFault::BadUrl => "EGS.00516011",
            CertificateFault::DownloadFailed => "EGS.00516012",
            CertificateFault::NoCertificate => "EGS.00516016",
            CertificateFault::TooManyFiles => "EGS.00516017",
            CertificateFault::FileTooLarge => "EGS.00516018",
        }
    }

    fn message(self) -> &'static str {
        match self {
            CertificateFault::NotZip => "Must be in ZIP format.",
            CertificateFault::BadUrl => "Invalid download URL.",
            CertificateFault::DownloadFailed => "Download OBS file failed.",
            CertificateFault::NoCertificate => "The certificate does not exist in the compressed package.",
            CertificateFault::TooManyFiles => "Too many files.",
            CertificateFault::FileTooLarge => "File too large.",
        }
    }
}

impl EgError {
    pub fn status(&self) -> StatusCode {
        match self {
            EgError::Parameter(_)
            | EgError::NameDuplicated(_)
            | EgError::SubscriptionStatus(_)
            | EgError::TargetAddress(_)
            | EgError::Filter(_)
            | EgError::Channel(_)
            | EgError::VpcConflict(_)
            | EgError::IamBadRequest(_)
            | EgError::Certificate(..) => StatusCode::BAD_REQUEST,
            EgError::NoPermission(_) | EgError::AgencyRequired(_) | EgError::Quota(_) | EgError::NotModifiable(_) => {
                StatusCode::FORBIDDEN
            }
            EgError::NotFound(_) | EgError::NoSuchApi => StatusCode::NOT_FOUND,
            EgError::Conflict(_) | EgError::CannotDelete(_) => StatusCode::CONFLICT,
            EgError::Internal(_) | EgError::PublishResourceMissing(_) => StatusCode::INTERNAL_SERVER_ERROR,
            EgError::Auth(_) | EgError::IamUnauthorized(_) => StatusCode::UNAUTHORIZED,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            EgError::Parameter(_) => "EG.00513000",
            EgError::NameDuplicated(_) => "EG.00513001",
            EgError::SubscriptionStatus(_) => "EG.00513002",
            EgError::TargetAddress(_) => "EG.00513003",
            EgError::Filter(_) => "EG.00513004",
            EgError::Channel(_) => "EG.00513005",
            EgError::VpcConflict(_) => "EG.00513006",
            EgError::NoPermission(_) => "EG.00512000",
            EgError::AgencyRequired(_) => "EG.00512003",
            EgError::PublishResourceMissing(_) => "EG.00515001",
            EgError::Certificate(fault, _) => fault.code(),
            EgError::Quota(_) => "EG.00514003",
            EgError::NotModifiable(_) => "EG.00514004",
            EgError::NotFound(_) => "EG.00514001",
            EgError::Conflict(_) => "EG.00514002",
            EgError::CannotDelete(_) => "EG.00514005",
            EgError::Internal(_) => "EG.00511000",
            EgError::Auth(_) => "APIGW.0301",
            EgError::NoSuchApi => "APIGW.0101",
            EgError::IamUnauthorized(_) => "IAM.0011",
            EgError::IamBadRequest(_) => "IAM.0006",
        }
    }

    /// The seed's `error_msg` for the code, verbatim.
    pub fn message(&self) -> String {
        match self {
            EgError::Parameter(_) => "Parameter error".into(),
            EgError::NameDuplicated(_) => "name duplicated".into(),
            EgError::SubscriptionStatus(_) => "invalid subscription status".into(),
            EgError::TargetAddress(_) => "invalid target address".into(),
            EgError::Filter(_) => "invalid filter parameters".into(),
            EgError::Channel(_) => "invalid channel".into(),
            EgError::VpcConflict(_) => "vpc CONFLICT".into(),
            EgError::NoPermission(_) => "no permission to operate".into(),
            EgError::AgencyRequired(_) => "agency required".into(),
            EgError::PublishResourceMissing(_) => "resource not found".into(),
            EgError::Certificate(fault, _) => fault.message().into(),
            EgError::Quota(_) => "resource quota unavailable".into(),
            EgError::NotModifiable(_) => "resource not modified".into(),
            EgError::NotFound(_) => "resource not found".into(),
            EgError::Conflict(_) => "resource conflict".into(),
            EgError::CannotDelete(_) => "resource can not be deleted".into(),
            EgError::Internal(_) => "internal server error".into(),
            EgError::Auth(why) => format!("Incorrect IAM authentication information: {why}"),
            EgError::NoSuchApi => "The API does not exist or has not been published in the environment".into(),
            EgError::IamUnauthorized(why) | EgError::IamBadRequest(why) => why.clone(),
        }
    }

    /// What exactly was wrong (localyun's addition, in `error_detail`, like the seed's ErrorInfo object).
    pub fn detail(&self) -> &str {
        match self {
            EgError::Parameter(d)
            | EgError::NameDuplicated(d)
            | EgError::SubscriptionStatus(d)
            | EgError::TargetAddress(d)
            | EgError::Filter(d)
            | EgError::Channel(d)
            | EgError::VpcConflict(d)
            | EgError::NoPermission(d)
            | EgError::AgencyRequired(d)
            | EgError::PublishResourceMissing(d)
            | EgError::Certificate(_, d)
            | EgError::Quota(d)
            | EgError::NotModifiable(d)
            | EgError::NotFound(d)
            | EgError::Conflict(d)
            | EgError::CannotDelete(d)
            | EgError::Internal(d) => d,
            EgError::Auth(_) | EgError::NoSuchApi | EgError::IamUnauthorized(_) | EgError::IamBadRequest(_) => "",
        }
    }

    /// The error body: the seed's `{"error_code","error_msg"}`, plus the gateway's `request_id` and the detail.
    pub fn to_json(&self, request_id: &str) -> Value {
        let mut body = json!({"error_code": self.code(), "error_msg": self.message(), "request_id": request_id});
        if !self.detail().is_empty() {
            body["error_detail"] = Value::from(self.detail());
        }
        body
    }
}

impl From<EventBusError> for EgError {
    fn from(e: EventBusError) -> Self {
        let text = e.to_string();
        match e {
            EventBusError::NotFound { .. } => EgError::NotFound(text),
            EventBusError::NameDuplicated { .. } => EgError::NameDuplicated(text),
            EventBusError::Invalid(_) => EgError::Parameter(text),
            EventBusError::InvalidChannel(_) => EgError::Channel(text),
            EventBusError::QuotaExceeded { .. } => EgError::Quota(text),
            EventBusError::NotModifiable(_) => EgError::NotModifiable(text),
            EventBusError::StillCreating { .. } => EgError::CannotDelete(text),
            EventBusError::Conflict(_) => EgError::Conflict(text),
            EventBusError::ProjectOfAnotherAccount(_) => EgError::NoPermission(text),
        }
    }
}
