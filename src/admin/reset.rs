//! `POST /_localyun/reset`: everything, one vendor, one account, or one account within one vendor.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Service, SERVICES};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetScope {
    /// A service name from health (`tencent-ckafka`, ...); omitted: every vendor.
    #[serde(default)]
    pub vendor: Option<String>,
    /// An account id; omitted: every account.
    #[serde(default)]
    pub account: Option<String>,
}

/// Applies a reset; returns what was reset. Everything: back to the start-up state (defaults and
/// fixtures), request log and faults cleared. One vendor: its resources removed, defaults and that
/// vendor's fixtures applied again. One account: its resources removed, its defaults provisioned again.
pub fn reset(state: &AppState, scope: &ResetScope) -> Result<Value, (StatusCode, String)> {
    let service = match scope.vendor.as_deref() {
        None | Some("") => None,
        Some(name) => Some(Service::parse(name).ok_or_else(|| {
            (StatusCode::BAD_REQUEST, format!("unknown vendor {name:?}; one of {}", SERVICES.join(", ")))
        })?),
    };
    let account = scope.account.as_deref().filter(|a| !a.is_empty());
    if let Some(account) = account {
        let known = state.store.accounts.read().provisioned.contains(account)
            || state.credentials.read().keys().any(|k| k.account == account);
        if !known {
            return Err((StatusCode::NOT_FOUND, format!("unknown account {account:?}")));
        }
    }
    let failed = |e: anyhow::Error| (StatusCode::INTERNAL_SERVER_ERROR, format!("re-applying fixtures failed: {e:#}"));
    match (service, account) {
        (None, None) => {
            for (_, model) in state.store.models() {
                model.clear();
            }
            state.requests.clear();
            state.faults.clear(None, None);
            crate::fixtures::apply(state, &state.fixtures).map_err(failed)?;
        }
        (Some(service), None) => {
            clear_service(state, service, None);
            let accounts: Vec<String> = state.store.accounts.read().provisioned.iter().cloned().collect();
            for account in &accounts {
                provision_service(state, service, account);
            }
            crate::fixtures::apply_service(state, service).map_err(failed)?;
        }
        (Some(service), Some(account)) => {
            clear_service(state, service, Some(account));
            provision_service(state, service, account);
        }
        (None, Some(account)) => {
            for service in Service::ALL {
                clear_service(state, service, Some(account));
            }
            state.store.accounts.write().remove_account(account);
            crate::fixtures::provision_account(state, account);
        }
    }
    Ok(json!({
        "reset": {
            "vendor": service.map(Service::name),
            "account": account,
        }
    }))
}

fn clear_service(state: &AppState, service: Service, account: Option<&str>) {
    match service {
        Service::TencentCkafka | Service::AlibabaKafka => {
            let cloud = service.kafka_cloud();
            let mut model = state.store.kafka.write();
            match account {
                None => model.remove_cloud(cloud),
                Some(a) => model.instances.retain(|_, i| !(i.cloud == cloud && i.account == a)),
            }
        }
        Service::AlibabaRocketmq => match account {
            None => state.store.rocketmq.replace(Default::default()),
            Some(a) => state.store.rocketmq.write().remove_account(a),
        },
        Service::HuaweiEventgrid => match account {
            // Project bindings are identities, not resources (as for an account reset): a vendor reset keeps
            // them, so another account cannot take over a project that was bound at runtime.
            None => state.store.eventbus.write().reset_keep_projects(),
            Some(a) => state.store.eventbus.write().remove_account(a),
        },
    }
}

fn provision_service(state: &AppState, service: Service, account: &str) {
    match service {
        Service::TencentCkafka => crate::tencent::ckafka::provision_defaults(state, account),
        Service::AlibabaKafka => crate::alibaba::kafka::provision_defaults(state, account),
        Service::AlibabaRocketmq => crate::alibaba::rocketmq::provision_defaults(state, account),
        Service::HuaweiEventgrid => crate::huawei::eventgrid::provision_defaults(state, account),
    }
}
