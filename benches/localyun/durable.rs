//! Durable mode (`--data-dir`): Tencent `CreateTopic` latency as the stored state grows, and the bytes the
//! data dir gains from reads and rejected writes. Run alone with `cargo bench --bench localyun -- durable`.
//!
//! The stored topics are written as snapshot files before the server starts (creating 100,000 topics
//! through the API would measure the fill, not the write), exactly as a compacted data dir holds them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::vendors::{self, Target};
use super::{free_port, pct, wait_healthy, Server, KEY_ID, SECRET};

async fn start_durable(client: &reqwest::Client, dir: &Path) -> Server {
    let port = free_port();
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_localyun"))
        .args(["--port", &port.to_string(), "--no-tls", "--log-level", "warn", "--data-dir"])
        .arg(dir)
        .env_remove("LOCALYUN_FIXTURES")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start localyun");
    assert!(wait_healthy(client, port, Instant::now() + Duration::from_secs(120)).await, "localyun not healthy");
    Server { child, port, started_in: started.elapsed() }
}

/// Waits until no file of the data dir changes size for a second (background compaction of earlier
/// writes finished), so the counts below are the reads' and rejected writes' own.
async fn settle(dir: &Path) {
    let mut last = dir_bytes(dir);
    let mut stable = 0;
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = dir_bytes(dir);
        stable = if now == last { stable + 1 } else { 0 };
        last = now;
        if stable >= 10 {
            return;
        }
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join("state"))
        .map(|rd| rd.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

/// A data dir whose default Tencent instance holds `topics` topics.
async fn seeded_dir(client: &reqwest::Client, topics: usize) -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("localyun-bench-durable-{topics}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let server = start_durable(client, &dir).await;
    let t = Target { host: format!("127.0.0.1:{}", server.port), key_id: KEY_ID.into(), secret: SECRET.into() };
    let inst = vendors::tencent_instance(client, &t, "ap-guangzhou").await;
    let extra = [
        ("instanceId", inst.clone()),
        ("topicName", "template".to_string()),
        ("partitionNum", "1".into()),
        ("replicaNum", "1".into()),
    ];
    vendors::send_json(client, vendors::tencent_request(client, &t, "CreateTopic", &extra)).await;
    let url = format!("http://127.0.0.1:{}/_localyun/state", server.port);
    let mut doc: serde_json::Value = client.get(url).send().await.expect("export").json().await.expect("json");
    drop(server);
    let instance = &mut doc["models"]["kafka"]["instances"][&inst];
    instance["max_topics"] = json!(1_000_000);
    instance["max_partitions"] = json!(10_000_000);
    if let Some(map) = instance["topics"].as_object_mut() {
        let template = map.remove("template").unwrap_or_default();
        for i in 0..topics {
            let mut topic = template.clone();
            topic["name"] = json!(format!("seed{i:06}"));
            topic["id"] = json!(format!("topic-seed{i:06}"));
            map.insert(format!("seed{i:06}"), topic);
        }
    }
    let state = dir.join("state");
    for entry in std::fs::read_dir(&state).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with("journal-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    for (name, model) in doc["models"].as_object().cloned().unwrap_or_default() {
        let body = serde_json::to_vec(&model).expect("model json");
        localyun::persist::write_snapshot(&state.join(format!("{name}.json")), &state, &name, &body, 0)
            .expect("write snapshot");
    }
    (dir, inst)
}

/// The durable-mode section of the report.
pub async fn run(client: &reqwest::Client, quick: bool) -> String {
    let samples = if quick { 50 } else { 200 };
    let mut out = String::from("## Durable mode (--data-dir)\n\n");
    out.push_str(&format!(
        "Tencent CreateTopic, one client, {samples} creates on a data dir already holding N topics; then the bytes \
         the data dir gained from 1,000 ListTopic reads and from 1,000 rejected (duplicate) CreateTopic.\n\n\
         | stored topics | start | CreateTopic p50 | p99 | bytes by 1,000 reads | bytes by 1,000 rejected creates |\n\
         |---|---|---|---|---|---|\n"
    ));
    for topics in [0usize, 20_000, 100_000] {
        let (dir, inst) = seeded_dir(client, topics).await;
        let server = start_durable(client, &dir).await;
        let t = Target { host: format!("127.0.0.1:{}", server.port), key_id: KEY_ID.into(), secret: SECRET.into() };
        let mut latencies = Vec::new();
        for i in 0..samples {
            let extra = [
                ("instanceId", inst.clone()),
                ("topicName", format!("bench{i:05}")),
                ("partitionNum", "1".into()),
                ("replicaNum", "1".into()),
            ];
            let req = vendors::tencent_request(client, &t, "CreateTopic", &extra);
            let started = Instant::now();
            let answer = vendors::send_json(client, req).await;
            latencies.push(started.elapsed());
            assert_eq!(answer["code"], 0, "CreateTopic failed: {answer}");
        }
        latencies.sort();
        settle(&dir).await;
        let before = dir_bytes(&dir);
        for _ in 0..1_000 {
            let extra = [("instanceId", inst.clone()), ("limit", "20".into())];
            vendors::send_json(client, vendors::tencent_request(client, &t, "ListTopic", &extra)).await;
        }
        let after_reads = dir_bytes(&dir);
        for _ in 0..1_000 {
            let extra = [
                ("instanceId", inst.clone()),
                ("topicName", "bench00000".to_string()),
                ("partitionNum", "1".into()),
                ("replicaNum", "1".into()),
            ];
            let answer = vendors::send_json(client, vendors::tencent_request(client, &t, "CreateTopic", &extra)).await;
            assert_ne!(answer["code"], 0, "the duplicate must be rejected");
        }
        let after_rejected = dir_bytes(&dir);
        out.push_str(&format!(
            "| {topics} | {:.2} s | {:.2} ms | {:.2} ms | {} | {} |\n",
            server.started_in.as_secs_f64(),
            pct(&latencies, 0.5).as_secs_f64() * 1e3,
            pct(&latencies, 0.99).as_secs_f64() * 1e3,
            after_reads as i64 - before as i64,
            after_rejected as i64 - after_reads as i64,
        ));
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
    out
}
