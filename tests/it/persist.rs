//! Durable state: acknowledged mutations are on disk before the answer, survive `kill -9`, deletions stay
//! deleted, damaged files stop the start with a clear message and are left untouched.

use crate::admin_support;
use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use admin_support::*;
use localyun::Config;
use serde_json::Value;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("localyun-test-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A localyun process on a free port.
struct Running {
    child: Child,
    base: String,
    host: String,
    port: u16,
}

fn command(data_dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_localyun"));
    cmd.args(["--port", "0", "--no-tls", "--log-level", "warn", "--data-dir"]).arg(data_dir).args(extra);
    for (k, _) in std::env::vars() {
        if k.starts_with("LOCALYUN_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

fn spawn(data_dir: &Path, extra: &[&str]) -> Running {
    let mut child = command(data_dir, extra).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut address = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.trim().strip_prefix("http:") {
            address = Some(rest.trim().trim_start_matches("http://").to_string());
            break;
        }
    }
    let Some(host) = address else {
        let out = child.wait_with_output().unwrap();
        panic!("localyun did not start: {}", String::from_utf8_lossy(&out.stderr));
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let port = host.rsplit(':').next().unwrap().parse().unwrap();
    Running { child, base: format!("http://{host}"), host, port }
}

/// `kill -9`: no shutdown code runs.
fn kill9(mut running: Running) {
    running.child.kill().unwrap();
    running.child.wait().unwrap();
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test]
async fn acknowledged_changes_survive_kill_9() {
    let dir = temp_dir("kill9");
    let http = client();
    let first = spawn(&dir, &[]);
    assert_eq!(create_topic(&http, &first.base, &first.host, "orders").await["code"], 0);
    assert_eq!(create_topic(&http, &first.base, &first.host, "payments").await["code"], 0);
    let deleted = tencent(
        &http,
        &first.base,
        &first.host,
        "DeleteTopic",
        &[("instanceId", &default_instance()), ("topicName", "payments")],
    )
    .await;
    assert_eq!(deleted["code"], 0, "{deleted}");
    let before: Value = http.get(format!("{}/_localyun/state", first.base)).send().await.unwrap().json().await.unwrap();
    kill9(first);

    let second = spawn(&dir, &[]);
    assert_eq!(topic_names(&http, &second.base, &second.host).await, vec!["orders"]);
    let after: Value = http.get(format!("{}/_localyun/state", second.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(after["models"], before["models"], "every model comes back exactly");
    let health: Value =
        http.get(format!("{}/_localyun/health", second.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["persistence"]["data_dir"], dir.display().to_string());
    kill9(second);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn fixtures_seed_a_new_data_dir_once_and_deletions_stick() {
    let dir = temp_dir("seed");
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/example.yaml");
    let http = client();
    let first = spawn(&dir, &["--fixtures", fixtures]);
    let list = |r: &Running| {
        let (base, host) = (r.base.clone(), r.host.clone());
        let http = http.clone();
        async move {
            let answer = tencent(&http, &base, &host, "ListTopic", &[("instanceId", "ckafka-example1")]).await;
            answer["totalCount"].as_u64().unwrap()
        }
    };
    assert_eq!(list(&first).await, 1, "the example declares topic orders");
    let deleted = tencent(
        &http,
        &first.base,
        &first.host,
        "DeleteTopic",
        &[("instanceId", "ckafka-example1"), ("topicName", "orders")],
    )
    .await;
    assert_eq!(deleted["code"], 0, "{deleted}");
    kill9(first);

    let second = spawn(&dir, &["--fixtures", fixtures]);
    assert_eq!(list(&second).await, 0, "stored state wins over fixtures on restart");
    // The account and key the fixture declares still sign requests (keys are loaded at every start).
    let other = localyun::tencent::ckafka::default_instance_id("200000000002", REGION);
    let answer = tencent_as(
        &http,
        &second.base,
        &second.host,
        "AKIDTEAMB",
        "team-b-secret",
        "ListTopic",
        &[("instanceId", &other)],
    )
    .await;
    assert_eq!(answer["code"], 0, "{answer}");
    kill9(second);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_truncated_state_file_stops_the_start_and_is_kept() {
    let dir = temp_dir("truncated");
    let http = client();
    let first = spawn(&dir, &[]);
    assert_eq!(create_topic(&http, &first.base, &first.host, "orders").await["code"], 0);
    kill9(first);

    let file = dir.join("state").join("kafka.json");
    let full = std::fs::read(&file).unwrap();
    std::fs::write(&file, &full[..full.len() / 2]).unwrap();
    let output = command(&dir, &[]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("kafka.json") && stderr.contains("is truncated"), "{stderr}");
    assert!(stderr.contains("refuses to start"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), &full[..full.len() / 2], "the damaged file is left as it was");

    // A file from a newer localyun is refused with the version named.
    let newer = String::from_utf8(full.clone()).unwrap().replacen("localyun-state 2 ", "localyun-state 3 ", 1);
    std::fs::write(&file, newer).unwrap();
    let output = command(&dir, &[]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("state format 3") && stderr.contains("reads formats up to 2"), "{stderr}");

    // Restored from the "backup", it starts again with its data.
    std::fs::write(&file, &full).unwrap();
    let again = spawn(&dir, &[]);
    assert_eq!(topic_names(&http, &again.base, &again.host).await, vec!["orders"]);
    kill9(again);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn one_data_dir_serves_one_process_and_healthcheck_reports_it() {
    let dir = temp_dir("lock");
    let running = spawn(&dir, &[]);
    let output = command(&dir, &[]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("in use by another localyun process"));

    let port = running.port.to_string();
    let health = Command::new(env!("CARGO_BIN_EXE_localyun")).args(["--port", &port, "healthcheck"]).output().unwrap();
    assert!(health.status.success(), "{}", String::from_utf8_lossy(&health.stderr));
    kill9(running);
    std::thread::sleep(Duration::from_millis(100));
    let health = Command::new(env!("CARGO_BIN_EXE_localyun")).args(["--port", &port, "healthcheck"]).output().unwrap();
    assert_eq!(health.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_answer_is_sent_only_after_the_change_is_on_disk() {
    let dir = temp_dir("inproc");
    let s = common::start_with(Config { data_dir: Some(dir.clone()), ..Config::default() }).await;
    assert_eq!(create_topic(&s.client, &s.base, &s.host, "orders").await["code"], 0);
    // Read the file the moment the answer arrived, without any shutdown or flush.
    let body = localyun::persist::read_state_file(&dir.join("state").join("kafka.json"), "kafka").unwrap();
    let stored: Value = serde_json::from_slice(&body).unwrap();
    assert!(stored["instances"][default_instance()]["topics"].get("orders").is_some());

    // Admin changes are durable too.
    let r = s.client.post(format!("{}/_localyun/reset", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body = localyun::persist::read_state_file(&dir.join("state").join("kafka.json"), "kafka").unwrap();
    let stored: Value = serde_json::from_slice(&body).unwrap();
    assert!(stored["instances"][default_instance()]["topics"].as_object().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_write_applies_nothing_reads_pass_and_health_reports_it() {
    let dir = temp_dir("disk-full");
    let s = common::start_with(Config { data_dir: Some(dir.clone()), ..Config::default() }).await;
    let persistence = s.state.persistence.as_ref().expect("--data-dir persistence");
    assert_eq!(create_topic(&s.client, &s.base, &s.host, "before").await["code"], 0);

    persistence.simulate_write_failure(true);
    let url = format!(
        "{}/v2/index.php?{}",
        s.base,
        signed_query(
            &s.host,
            KEY_ID,
            SECRET,
            "CreateTopic",
            &[("instanceId", &default_instance()), ("topicName", "lost"), ("partitionNum", "1"), ("replicaNum", "1"),]
        )
    );
    let answer = s.client.get(url).send().await.unwrap();
    assert_eq!(answer.status(), 503, "a change that could not be made durable is refused");
    // Not applied: reads (which still pass) do not show it, and health reports the failing disk.
    assert_eq!(topic_names(&s.client, &s.base, &s.host).await, vec!["before"]);
    let health = persistence.health();
    assert_eq!(health["status"], "failing", "{health}");
    assert!(health["error"].as_str().unwrap().contains("no space left"), "{health}");

    persistence.simulate_write_failure(false);
    assert_eq!(create_topic(&s.client, &s.base, &s.host, "after").await["code"], 0);
    assert_eq!(persistence.health()["status"], "ok");
    let stored = localyun::persist::read_state_file(&dir.join("state").join("kafka.json"), "kafka").unwrap();
    let stored: Value = serde_json::from_slice(&stored).unwrap();
    let topics = stored["instances"][default_instance()]["topics"].as_object().unwrap();
    let mut names: Vec<&str> = topics.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, vec!["after", "before"], "the refused change never reached the disk");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_share_fsyncs_and_compaction_keeps_every_change() {
    const WRITERS: usize = 48;
    let dir = temp_dir("group");
    let s = common::start_with(Config { data_dir: Some(dir.clone()), ..Config::default() }).await;
    let persistence = s.state.persistence.as_ref().expect("--data-dir persistence");
    // Journal fsyncs (models reporting keys) plus snapshot rewrites (models saved whole): the disk writes.
    let writes = || {
        persistence.stats.fsyncs.load(std::sync::atomic::Ordering::Relaxed)
            + persistence.stats.snapshot_writes.load(std::sync::atomic::Ordering::Relaxed)
    };
    let writes_before = writes();
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let (client, base, host) = (s.client.clone(), s.base.clone(), s.host.clone());
        tasks.push(tokio::spawn(async move { create_topic(&client, &base, &host, &format!("t-{i:02}")).await }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap()["code"], 0);
    }
    let disk_writes = writes() - writes_before;
    assert!(
        disk_writes > 0 && disk_writes < WRITERS as u64,
        "{WRITERS} acknowledged writes took {disk_writes} disk writes"
    );

    // Compaction folds the journal into the snapshot and removes the sealed segment; the durable content
    // is unchanged.
    let kafka = dir.join("state").join("kafka.json");
    let durable = localyun::persist::read_state_file(&kafka, "kafka").unwrap();
    persistence.compact_now(&s.state.store).unwrap();
    let segments = std::fs::read_dir(dir.join("state"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("journal-"))
        .count();
    assert_eq!(segments, 1, "only the new active segment remains");
    let snapshot = localyun::persist::read_snapshot(&kafka, "kafka").unwrap();
    assert!(snapshot.covered > 0);
    let compacted: Value = serde_json::from_slice(&snapshot.body).unwrap();
    assert_eq!(compacted, serde_json::from_slice::<Value>(&durable).unwrap());
    assert_eq!(compacted["instances"][default_instance()]["topics"].as_object().unwrap().len(), WRITERS);
}

/// The streamed export/import handlers (`localyun::admin::state_io`) on their own router over `state`.
async fn state_io_server(state: localyun::AppState) -> String {
    use axum::routing::get;
    use localyun::admin::state_io;
    let app = axum::Router::new()
        .route("/_localyun/state", get(state_io::get_state).post(state_io::post_state))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/_localyun/state")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_topic_state_round_trips_streamed() {
    const TOPICS: usize = 100_000;
    let s = common::start().await;
    assert_eq!(create_topic(&s.client, &s.base, &s.host, "template").await["code"], 0);
    let url = state_io_server(s.state.clone()).await;
    let mut doc: Value = s.client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["localyun_state_format"], 1);
    let instance = &mut doc["models"]["kafka"]["instances"][default_instance()];
    instance["max_topics"] = serde_json::json!(1_000_000);
    instance["max_partitions"] = serde_json::json!(10_000_000);
    let topics = instance["topics"].as_object_mut().unwrap();
    let template = topics.remove("template").unwrap();
    for i in 0..TOPICS {
        let mut topic = template.clone();
        topic["name"] = serde_json::json!(format!("rt-{i:06}"));
        topic["id"] = serde_json::json!(format!("topic-rt{i:06}"));
        topics.insert(format!("rt-{i:06}"), topic);
    }
    let body = bytes::Bytes::from(serde_json::to_vec(&doc).unwrap());
    assert!(body.len() > 2 << 20, "larger than the old 2 MB import limit: {} bytes", body.len());
    let answer = s.client.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());

    let exported = s.client.get(&url).send().await.unwrap();
    assert_eq!(exported.status(), 200);
    assert!(exported.headers().get("content-length").is_none(), "the export is streamed, not buffered");
    let exported = exported.bytes().await.unwrap();
    // Byte for byte: the document keeps its order, and the export writes what the import read.
    assert!(exported == body, "the state round-trips exactly ({} vs {} bytes)", exported.len(), body.len());

    // A bad document changes nothing and says why.
    for (bad, expected) in [
        (serde_json::json!({"models": {}}), "localyun_state_format"),
        (serde_json::json!({"localyun_state_format": 99, "models": {}}), "not supported"),
        (serde_json::json!({"localyun_state_format": 1, "models": {"nosuch": {}}}), "unknown model"),
        (serde_json::json!({"localyun_state_format": 1, "models": {"kafka": {"instances": 5}}}), "models.kafka"),
        (serde_json::json!([1]), "expected a JSON object"),
    ] {
        let answer = s.client.post(&url).json(&bad).send().await.unwrap();
        assert_eq!(answer.status(), 400);
        let body: Value = answer.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains(expected), "{body}");
    }
    let answer = s.client.post(&url).body("{not json").send().await.unwrap();
    assert_eq!(answer.status(), 400);
    let after = s.client.get(&url).send().await.unwrap().bytes().await.unwrap();
    assert!(after == body, "the refused documents changed nothing");
}

/// Appendix 7.2 of seed huawei-eventgrid-api.txt: a change EventGrid cannot make durable answers
/// `EG.00511001` (503) in EventGrid's own envelope, and is not applied.
#[tokio::test]
async fn a_failed_eventgrid_write_answers_its_documented_unavailable_code() {
    let dir = temp_dir("eg-disk-full");
    let s = common::start_with(Config { data_dir: Some(dir.clone()), ..Config::default() }).await;
    let eg = crate::huawei_support::Eg::wrap(s);
    let persistence = eg.srv.state.persistence.as_ref().expect("--data-dir persistence");
    persistence.simulate_write_failure(true);
    let answer = eg.post("/channels", &serde_json::json!({"name": "lost-channel"})).await;
    assert_eq!(answer.status.as_u16(), 503, "{}", answer.body);
    assert_eq!(answer.body["error_code"], "EG.00511001", "{}", answer.body);
    assert!(answer.body["error_msg"].as_str().unwrap_or("").contains("could not persist"), "{}", answer.body);
    persistence.simulate_write_failure(false);
    let list = eg.get("/channels", &[("name", "lost-channel")]).await;
    let names: Vec<&str> = list.ok()["items"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(!names.contains(&"lost-channel"), "the refused change is not applied: {}", list.body);
}
