//! Start-up fixtures: the built-in defaults (`fixtures/default.yaml`, compiled in) and the user's
//! `--fixtures` file or folder. Accounts and keys first, then each account's default resources, then the
//! resources the files declare. A file is `accounts:` plus one section per vendor API; each API of the
//! registry applies its own section (`fixture.rs` in its module), so this file names no vendor.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::config::Config;
use crate::engine::kafka::{InstanceMeta, KafkaError, NewTopic, Scope};
use crate::engine::Cloud;
use crate::registry::{self, VendorApi};
use crate::state::AppState;

pub const DEFAULT_FIXTURES: &str = include_str!("../fixtures/default.yaml");

/// One fixture file: `accounts:` and one section per vendor API (`kafka:`, `rocketmq:`, `eventgrid:`; the
/// registry names them). Other top-level keys are refused.
#[derive(Debug, Default, Deserialize)]
pub struct FixtureFile {
    #[serde(default)]
    pub accounts: Vec<AccountFixture>,
    /// The vendor sections by name, as written (each vendor API checks its own).
    #[serde(flatten)]
    pub sections: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountFixture {
    pub id: String,
    #[serde(default)]
    pub keys: Vec<KeyFixture>,
    #[serde(default)]
    pub huawei_project_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFixture {
    pub id: String,
    pub secret: crate::credentials::Secret,
}

/// A fixture file that was read, with where it came from for error messages.
pub struct LoadedFixture {
    pub source: String,
    pub file: FixtureFile,
}

pub fn parse_fixture(source: &str, text: &str) -> anyhow::Result<FixtureFile> {
    let is_json = source.ends_with(".json");
    let file: FixtureFile = if is_json {
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("{source}: {e}"))?
    } else {
        serde_yaml::from_str(text).map_err(|e| anyhow::anyhow!("{source}: {e}"))?
    };
    let known: Vec<&str> = registry::all().filter_map(|v| v.fixture_section()).collect();
    if let Some(unknown) = file.sections.keys().find(|k| !known.contains(&k.as_str())) {
        let mut expected = vec!["accounts"];
        for k in known {
            if !expected.contains(&k) {
                expected.push(k);
            }
        }
        anyhow::bail!("{source}: unknown field `{unknown}`, expected one of {}", expected.join(", "));
    }
    Ok(file)
}

/// Reads a fixture file, or every .yaml/.yml/.json file of a folder in name order.
pub fn read_fixtures(path: &Path) -> anyhow::Result<Vec<LoadedFixture>> {
    let mut files: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| anyhow::anyhow!("fixtures folder {}: {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    files
        .drain(..)
        .map(|p| {
            let source = p.display().to_string();
            let text = std::fs::read_to_string(&p).map_err(|e| anyhow::anyhow!("fixture file {source}: {e}"))?;
            let file = parse_fixture(&source, &text)?;
            Ok(LoadedFixture { source, file })
        })
        .collect()
}

/// The built-in defaults followed by the files of `--fixtures`, parsed (not yet applied).
pub fn read_startup_fixtures(config: &Config) -> anyhow::Result<Vec<LoadedFixture>> {
    let mut loaded = vec![LoadedFixture {
        source: "built-in fixtures/default.yaml".into(),
        file: parse_fixture("default.yaml", DEFAULT_FIXTURES)?,
    }];
    if let Some(path) = &config.fixtures {
        loaded.extend(read_fixtures(path)?);
    }
    Ok(loaded)
}

/// Applies the defaults and the configured fixtures to a fresh state (kept for callers that build a
/// state by hand; `AppState::from_config` already does this).
pub fn apply_startup_fixtures(state: &AppState) -> anyhow::Result<()> {
    apply(state, &state.fixtures)
}

/// Registers every file's accounts and keys; returns every account (default first, then files, then keys
/// from LOCALYUN_CREDENTIALS).
fn register_accounts(state: &AppState, loaded: &[LoadedFixture]) -> anyhow::Result<Vec<String>> {
    let mut accounts: Vec<String> = Vec::new();
    let mut credentials = state.credentials.write();
    accounts.push(credentials.default_account().to_string());
    for f in loaded {
        for (i, a) in f.file.accounts.iter().enumerate() {
            if a.id.trim().is_empty() {
                anyhow::bail!("{}: accounts[{i}]: an account needs a non-empty id", f.source);
            }
            for (j, k) in a.keys.iter().enumerate() {
                if k.id.trim().is_empty() || k.secret.expose().is_empty() {
                    anyhow::bail!(
                        "{}: accounts[{i}] (account {}): keys[{j}]: a key needs a non-empty id and secret",
                        f.source,
                        a.id
                    );
                }
                credentials.insert(&k.id, k.secret.expose(), &a.id);
            }
            if !accounts.contains(&a.id) {
                accounts.push(a.id.clone());
            }
        }
    }
    // Keys from LOCALYUN_CREDENTIALS may name accounts no file declares.
    let mut from_keys: Vec<String> =
        credentials.keys().map(|k| k.account.clone()).filter(|a| !accounts.contains(a)).collect();
    from_keys.sort();
    from_keys.dedup();
    accounts.extend(from_keys);
    Ok(accounts)
}

/// Applies accounts, default resources and every fixture file's resources.
pub fn apply(state: &AppState, loaded: &[LoadedFixture]) -> anyhow::Result<()> {
    // Accounts and keys of every file first, so resources may name any account.
    let accounts = register_accounts(state, loaded)?;
    for account in &accounts {
        provision_account(state, account);
    }
    for f in loaded {
        for vendor in registry::all() {
            apply_account_fixtures(state, vendor, f, None)?;
        }
        for vendor in registry::all() {
            apply_section(state, vendor, f)?;
        }
    }
    Ok(())
}

/// On a restart over stored state: keys are registered, and only accounts the store has never seen get
/// their defaults (resource fixtures seeded the store once; re-applying them would resurrect deletions).
pub fn apply_accounts_only(state: &AppState) -> anyhow::Result<()> {
    let accounts = register_accounts(state, &state.fixtures)?;
    for account in &accounts {
        if state.store.accounts.read().provisioned.contains(account) {
            continue;
        }
        provision_account(state, account);
        for f in &state.fixtures {
            for vendor in registry::all() {
                apply_account_fixtures(state, vendor, f, Some(account))?;
            }
        }
    }
    Ok(())
}

/// Re-applies one vendor API's part of the start-up fixtures (after an admin reset of that API).
pub fn apply_vendor(state: &AppState, vendor: &dyn VendorApi) -> anyhow::Result<()> {
    for f in &state.fixtures {
        apply_account_fixtures(state, vendor, f, None)?;
        apply_section(state, vendor, f)?;
    }
    Ok(())
}

/// Applies a vendor API's part of a file's `accounts:` entries (every account, or one).
fn apply_account_fixtures(
    state: &AppState,
    vendor: &dyn VendorApi,
    f: &LoadedFixture,
    only: Option<&str>,
) -> anyhow::Result<()> {
    for (i, a) in f.file.accounts.iter().enumerate() {
        if only.is_some_and(|o| o != a.id) {
            continue;
        }
        vendor
            .apply_account_fixture(state, a)
            .map_err(|e| anyhow::anyhow!("{}: accounts[{i}] (account {}): {e}", f.source, a.id))?;
    }
    Ok(())
}

/// Applies a vendor API's part of its section of a file, if the file has that section.
fn apply_section(state: &AppState, vendor: &dyn VendorApi, f: &LoadedFixture) -> anyhow::Result<()> {
    let Some(section) = vendor.fixture_section().and_then(|name| f.file.sections.get(name)) else {
        return Ok(());
    };
    vendor.apply_fixture(state, section).map_err(|e| anyhow::anyhow!("{}: {e}", f.source))
}

/// What a Kafka API's fixture entries go through: its cloud and its own API's validators (issue 4:
/// fixtures follow the same rules as the API). Vendor modules give one each (`fixture.rs`).
pub struct KafkaFixtureRules {
    /// The entries (`cloud: ...`) this API takes.
    pub cloud: Cloud,
    /// A new instance with the cloud's attributes; the error says why the region or id is refused.
    pub new_instance: fn(account: &str, region: &str, id: &str) -> Result<InstanceMeta, String>,
    /// The instance-name rule (the error names the API's parameter).
    pub check_instance_name: fn(&str) -> Result<(), String>,
    /// A topic by CreateTopic's rules (`partitions`, `replicas`, `note`).
    pub topic: fn(name: &str, partitions: u32, replicas: u32, note: &str) -> Result<NewTopic, String>,
    /// A consumer group name by the API's rule (it may cut the name, as the API does).
    pub group_name: for<'a> fn(&'a str) -> Result<&'a str, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KafkaInstanceFixture {
    cloud: Cloud,
    #[serde(default)]
    account: Option<String>,
    region: String,
    /// Omitted: the account's default instance in that region (topics and groups are added to it).
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    brokers: Option<u32>,
    #[serde(default)]
    max_topics: Option<u32>,
    #[serde(default)]
    max_partitions: Option<u32>,
    #[serde(default)]
    topics: Vec<KafkaTopicFixture>,
    #[serde(default)]
    groups: Vec<KafkaGroupFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KafkaTopicFixture {
    name: String,
    #[serde(default = "one")]
    partitions: u32,
    #[serde(default = "one")]
    replicas: u32,
    #[serde(default)]
    note: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KafkaGroupFixture {
    name: String,
    #[serde(default)]
    remark: String,
}

fn one() -> u32 {
    1
}

/// Applies the entries of a `kafka:` section whose `cloud` is `rules.cloud` (every entry is parsed, so a
/// typo anywhere stops the start). Errors name the entry: `kafka.instances[2] (id).topics[0] (name): ...`.
pub fn apply_kafka_section(state: &AppState, section: &Value, rules: &KafkaFixtureRules) -> Result<(), String> {
    apply_kafka_entries(state, section, rules).map_err(|e| format!("kafka.{e}"))
}

fn apply_kafka_entries(state: &AppState, section: &Value, rules: &KafkaFixtureRules) -> Result<(), String> {
    let entries = match section {
        Value::Null => return Ok(()),
        Value::Object(map) => {
            if let Some(unknown) = map.keys().find(|k| k.as_str() != "instances") {
                return Err(format!("{unknown}: unknown field (expected `instances`)"));
            }
            match map.get("instances") {
                None | Some(Value::Null) => return Ok(()),
                Some(Value::Array(entries)) => entries,
                Some(_) => return Err("instances: expected a list".into()),
            }
        }
        _ => return Err("expected a mapping with `instances`".into()),
    };
    let default_account = state.credentials.read().default_account().to_string();
    for (n, raw) in entries.iter().enumerate() {
        let spec: KafkaInstanceFixture = serde_json::from_value(raw.clone()).map_err(|e| {
            let id = raw.get("id").and_then(Value::as_str).map(|id| format!(" ({id})")).unwrap_or_default();
            format!("instances[{n}]{id}: {e}")
        })?;
        let entry = match &spec.id {
            Some(id) => format!("instances[{n}] ({id})"),
            None => format!("instances[{n}]"),
        };
        if spec.cloud == Cloud::Huawei {
            return Err(format!("{entry}: Huawei has no Kafka API in localyun"));
        }
        if spec.cloud != rules.cloud {
            continue;
        }
        apply_kafka_instance(state, &spec, &entry, &default_account, rules)?;
    }
    Ok(())
}

fn apply_kafka_instance(
    state: &AppState,
    spec: &KafkaInstanceFixture,
    entry: &str,
    default_account: &str,
    rules: &KafkaFixtureRules,
) -> Result<(), String> {
    let account = spec.account.as_deref().unwrap_or(default_account);
    let kafka = state.store.kafka.read();
    let model = &*kafka;
    let id = match &spec.id {
        Some(id) => {
            if !model.contains_instance(id) {
                let mut instance =
                    (rules.new_instance)(account, &spec.region, id).map_err(|e| format!("{entry}: {e}"))?;
                if let Some(name) = &spec.name {
                    (rules.check_instance_name)(name).map_err(|e| format!("{entry}: name: {e}"))?;
                    instance.name = name.clone();
                }
                if let Some(b) = spec.brokers {
                    instance.brokers = b;
                }
                if let Some(m) = spec.max_topics {
                    instance.max_topics = m;
                }
                if let Some(m) = spec.max_partitions {
                    instance.max_partitions = m;
                }
                model.add_instance(instance).map_err(|e| format!("{entry}: {e}"))?;
            }
            id.clone()
        }
        None => model
            .instances_of(Scope::owner(rules.cloud, account).in_region(Some(&spec.region)))
            .first()
            .map(|i| i.id())
            .ok_or_else(|| format!("{entry}: no default instance in region {}", spec.region))?,
    };
    let scope = Scope::owner(rules.cloud, account);
    model.read_instance(scope, &id, |_| ()).map_err(|e| format!("{entry}: {e}"))?;
    for (t, topic) in spec.topics.iter().enumerate() {
        let at = || format!("{entry}.topics[{t}] ({})", topic.name);
        let new = (rules.topic)(&topic.name, topic.partitions, topic.replicas, &topic.note)
            .map_err(|e| format!("{}: {e}", at()))?;
        match model.create_topic(scope, &id, new) {
            Ok(_) | Err(KafkaError::TopicExists(_)) => {}
            Err(e) => return Err(format!("{}: {e}", at())),
        }
    }
    for (g, group) in spec.groups.iter().enumerate() {
        let at = || format!("{entry}.groups[{g}] ({})", group.name);
        let name = (rules.group_name)(&group.name).map_err(|e| format!("{}: {e}", at()))?;
        match model.create_group(scope, &id, name, &group.remark, Vec::new()) {
            Ok(()) | Err(KafkaError::GroupExists(_)) => {}
            Err(e) => return Err(format!("{}: {e}", at())),
        }
    }
    drop(kafka);
    // Fixtures change the model through its own locks; persistence watches the store's generation.
    state.store.kafka.mark_changed();
    Ok(())
}

/// Gives an account every vendor API's default resources (idempotent) and records it as provisioned.
pub fn provision_account(state: &AppState, account: &str) {
    state.store.accounts.write().provisioned.insert(account.to_string());
    for vendor in registry::all() {
        vendor.provision(state, account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_defaults_parse() {
        let f = parse_fixture("default.yaml", DEFAULT_FIXTURES).unwrap();
        assert_eq!(f.accounts[0].keys[0].id, crate::credentials::DEFAULT_KEY_ID);
        assert_eq!(f.accounts[0].keys[0].secret.expose(), crate::credentials::DEFAULT_SECRET);
        assert!(!format!("{f:?}").contains(crate::credentials::DEFAULT_SECRET), "a parsed fixture prints no secret");
        assert_eq!(f.accounts[0].id, crate::credentials::DEFAULT_ACCOUNT);
    }

    #[test]
    fn the_example_parses() {
        let text = include_str!("../fixtures/example.yaml");
        parse_fixture("example.yaml", text).unwrap();
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(parse_fixture("x.yaml", "acounts: []").is_err());
    }
}
