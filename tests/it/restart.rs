//! The journal across restarts (the real binary, `kill -9`): data dirs of the previous format migrate, a torn
//! last record is dropped while a damaged middle record or a missing model file stops the start naming the
//! file, reads and rejected writes write nothing, and 50,000 resources survive `kill -9`. Also the start-up
//! checks of the listeners and settings (busy ports, credentials, booleans) and connection hygiene (idle
//! sockets, half-closed clients, slow bodies).

use crate::cross_support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cross_support::*;
use serde_json::{json, Value};

fn data_dir_args(dir: &Path) -> Vec<String> {
    vec!["--data-dir".into(), dir.display().to_string(), "--credentials".into(), CREDENTIALS_B.into()]
}

fn spawn_on(dir: &Path) -> Running {
    let args = data_dir_args(dir);
    Running::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn refused_start(dir: &Path, scratch: &Path) -> String {
    let args = data_dir_args(dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run_to_exit(&args, scratch);
    assert!(!output.status.success(), "the start must be refused");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn state_dir(dir: &TempDir) -> PathBuf {
    dir.path().join("state")
}

/// The newest journal segment.
fn newest_segment(dir: &TempDir) -> PathBuf {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(state_dir(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("journal-"))
        .collect();
    segments.sort();
    segments.pop().expect("a journal segment")
}

/// Every file of the data dir's state folder with its length and modification time.
fn files_of(dir: &TempDir) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(state_dir(dir))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            (e.file_name().to_string_lossy().into_owned(), meta.len(), meta.modified().unwrap())
        })
        .collect();
    files.sort();
    files
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[tokio::test]
async fn a_data_dir_of_the_previous_format_is_migrated_on_first_start() {
    // Written by localyun before the journal (one whole-model file per model, format 1): every vendor's
    // resources of `create_everything`, plus account B's.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1-datadir");
    let dir = TempDir::new("migrate");
    copy_dir(&fixture.join("state"), &state_dir(&dir));
    let made: Value = serde_json::from_str(&std::fs::read_to_string(fixture.join("made.json")).unwrap()).unwrap();
    let made = Everything {
        channel_id: made["channel_id"].as_str().unwrap().into(),
        source_id: made["source_id"].as_str().unwrap().into(),
        subscription_id: made["subscription_id"].as_str().unwrap().into(),
        runtime_channel_id: made["runtime_channel_id"].as_str().unwrap().into(),
    };

    let first = spawn_on(dir.path());
    assert_everything(&first.ep, &made).await;
    assert_eq!(tencent_topics(&first.ep, KEY_OF_B, &tencent_instance(ACCOUNT_B)).await, vec!["b-topic"]);
    for model in ["kafka", "rocketmq", "eventbus", "accounts"] {
        let head = std::fs::read(state_dir(&dir).join(format!("{model}.json"))).unwrap();
        assert!(head.starts_with(b"localyun-state 2 "), "{model} was rewritten in the current format");
    }
    // Changes after the migration are journaled and survive kill -9 like any other.
    let answer = tencent(
        &first.ep,
        DEFAULT_KEY,
        "DeleteTopic",
        &[("instanceId", &tencent_instance(ACCOUNT)), ("topicName", "cross-orders")],
    )
    .await;
    assert_eq!(answer["code"], 0, "{answer}");
    first.kill9();

    let second = spawn_on(dir.path());
    assert!(tencent_topics(&second.ep, DEFAULT_KEY, &tencent_instance(ACCOUNT)).await.is_empty());
    assert_eq!(alibaba_groups(&second.ep, DEFAULT_KEY, &alibaba_instance(ACCOUNT)).await, vec!["CID-billing"]);
}

#[tokio::test]
async fn reads_and_rejected_writes_write_nothing() {
    let dir = TempDir::new("zero-bytes");
    let running = spawn_on(dir.path());
    let ep = &running.ep;
    let inst = tencent_instance(ACCOUNT);
    let create = [("instanceId", inst.as_str()), ("topicName", "dup"), ("partitionNum", "1"), ("replicaNum", "1")];
    assert_eq!(tencent(ep, DEFAULT_KEY, "CreateTopic", &create).await["code"], 0);
    rocketmq_ok(&rocketmq(ep, DEFAULT_KEY, "topic/create", &[("topic", "T_dup"), ("orderType", "0")]).await);
    let before = files_of(&dir);

    for _ in 0..100 {
        assert_eq!(tencent(ep, DEFAULT_KEY, "ListTopic", &[("instanceId", &inst)]).await["code"], 0);
        let rejected = tencent(ep, DEFAULT_KEY, "CreateTopic", &create).await;
        assert_ne!(rejected["code"], 0, "a duplicate is rejected: {rejected}");
        assert!(rocketmq_topics(ep, DEFAULT_KEY, None).await.contains(&"T_dup".to_string()));
        let (status, _) = rocketmq(ep, DEFAULT_KEY, "topic/create", &[("topic", "T_dup"), ("orderType", "0")]).await;
        assert_eq!(status, 200);
        eventgrid_ok(&eventgrid(ep, DEFAULT_KEY, "GET", DEFAULT_PROJECT, "/channels", &[], None).await);
    }
    assert_eq!(files_of(&dir), before, "no file of the data dir changed");

    // The control: an accepted write does reach the journal.
    let create2 = [("instanceId", inst.as_str()), ("topicName", "new"), ("partitionNum", "1"), ("replicaNum", "1")];
    assert_eq!(tencent(ep, DEFAULT_KEY, "CreateTopic", &create2).await["code"], 0);
    assert_ne!(files_of(&dir), before);
}

/// The kafka model as stored, with topic `template` copied as `name`.
fn kafka_with_topic(dir: &TempDir, inst: &str, name: &str) -> Value {
    let body = localyun::persist::read_state_file(&state_dir(dir).join("kafka.json"), "kafka").unwrap();
    let mut kafka: Value = serde_json::from_slice(&body).unwrap();
    let topics = kafka["instances"][inst]["topics"].as_object_mut().unwrap();
    let mut topic = topics["template"].clone();
    topic["name"] = json!(name);
    topic["id"] = json!(format!("topic-{name}"));
    topics.insert(name.into(), topic);
    kafka
}

/// Writes journal segment `seq` holding whole-kafka records, as a running localyun appends them.
fn write_segment(dir: &TempDir, seq: u64, models: &[Value]) -> PathBuf {
    use localyun::storage::journal;
    let state = state_dir(dir);
    let mut file = journal::create_segment(&state, seq).unwrap();
    let mut buf = Vec::new();
    for model in models {
        journal::frame(&mut buf, &journal::whole_payload("kafka", &serde_json::to_vec(model).unwrap()));
    }
    file.write_all(&buf).unwrap();
    state.join(journal::segment_name(seq))
}

#[tokio::test]
async fn a_torn_last_record_is_dropped_and_a_damaged_middle_record_stops_the_start() {
    let dir = TempDir::new("torn");
    let first = spawn_on(dir.path());
    let inst = tencent_instance(ACCOUNT);
    let create = [("instanceId", inst.as_str()), ("topicName", "template"), ("partitionNum", "1"), ("replicaNum", "1")];
    assert_eq!(tencent(&first.ep, DEFAULT_KEY, "CreateTopic", &create).await["code"], 0);
    first.kill9();
    let segment = newest_segment(&dir);
    let seq: u64 = segment.file_stem().unwrap().to_string_lossy().trim_start_matches("journal-").parse().unwrap();

    // Acknowledged records, then one whose write was cut short by the crash: a length and checksum, then
    // part of the payload.
    let segment = write_segment(&dir, seq + 1, &[kafka_with_topic(&dir, &inst, "journaled")]);
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(&500u32.to_le_bytes());
    bytes.extend_from_slice(&0xdead_beefu32.to_le_bytes());
    bytes.extend_from_slice(br#"{"m":"kafka","w":{"instan"#);
    std::fs::write(&segment, &bytes).unwrap();

    let second = spawn_on(dir.path());
    assert_eq!(tencent_topics(&second.ep, DEFAULT_KEY, &inst).await, vec!["journaled", "template"]);
    second.kill9();

    // One byte changed inside the first of two records: damage, not a torn end.
    let seq = seq + 3;
    let first_model = kafka_with_topic(&dir, &inst, "one");
    let segment = write_segment(&dir, seq, &[first_model, kafka_with_topic(&dir, &inst, "two")]);
    let mut bytes = std::fs::read(&segment).unwrap();
    let header = b"localyun-journal 1\n".len();
    bytes[header + 12] ^= 0x01;
    std::fs::write(&segment, &bytes).unwrap();
    let scratch = TempDir::new("torn-out");
    let stderr = refused_start(dir.path(), scratch.path());
    assert!(stderr.contains(&segment.display().to_string()), "the message names the journal: {stderr}");
    assert!(stderr.contains("is corrupt") && stderr.contains("refuses to start"), "{stderr}");
    assert_eq!(std::fs::read(&segment).unwrap(), bytes, "the damaged journal is left as it was");
}

#[tokio::test]
async fn a_missing_model_file_in_a_data_dir_with_state_stops_the_start() {
    let dir = TempDir::new("missing");
    let first = spawn_on(dir.path());
    create_everything(&first.ep).await;
    first.kill9();
    let scratch = TempDir::new("missing-out");
    for model in ["kafka", "rocketmq", "eventbus", "accounts"] {
        let file = state_dir(&dir).join(format!("{model}.json"));
        let kept = std::fs::read(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        let stderr = refused_start(dir.path(), scratch.path());
        assert!(stderr.contains(&file.display().to_string()) && stderr.contains("is missing"), "{model}: {stderr}");
        assert!(!file.exists(), "{model}: nothing was written in its place");
        std::fs::write(&file, kept).unwrap();
    }
    let again = spawn_on(dir.path());
    assert_eq!(tencent_topics(&again.ep, DEFAULT_KEY, &tencent_instance(ACCOUNT)).await, vec!["cross-orders"]);
}

/// The endpoint with a client that waits long enough for whole-model saves of 50,000 topics in a debug
/// build on a busy machine.
fn patient(ep: &Endpoint) -> Endpoint {
    let mut ep = ep.clone();
    ep.client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(180)).build().unwrap();
    ep
}

#[tokio::test]
async fn fifty_thousand_resources_survive_kill_9() {
    const TOPICS: usize = 50_000;
    // Few: until the kafka engine reports resource keys, each write journals the whole model.
    const LATE: usize = 3;
    let dir = TempDir::new("fifty-k");
    let inst = tencent_instance(ACCOUNT);

    // A data dir holding 50,000 topics, written as snapshots (what a long-lived data dir holds after its
    // journal was compacted): one topic made through the API is the template.
    let seed = spawn_on(dir.path());
    let create = [("instanceId", inst.as_str()), ("topicName", "template"), ("partitionNum", "1"), ("replicaNum", "1")];
    assert_eq!(tencent(&seed.ep, DEFAULT_KEY, "CreateTopic", &create).await["code"], 0);
    let (status, mut doc) = seed.ep.admin_get("state").await;
    assert_eq!(status, 200);
    seed.kill9();
    let instance = &mut doc["models"]["kafka"]["instances"][&inst];
    instance["max_topics"] = json!(200_000);
    instance["max_partitions"] = json!(2_000_000);
    let topics = instance["topics"].as_object_mut().unwrap();
    let template = topics.remove("template").unwrap();
    for i in 0..TOPICS {
        let mut topic = template.clone();
        topic["name"] = json!(format!("bulk-{i:05}"));
        topic["id"] = json!(format!("topic-bulk{i:05}"));
        topics.insert(format!("bulk-{i:05}"), topic);
    }
    let state = state_dir(&dir);
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("journal-") {
            std::fs::remove_file(path).unwrap();
        }
    }
    for (name, model) in doc["models"].as_object().unwrap() {
        let body = serde_json::to_vec(model).unwrap();
        localyun::persist::write_snapshot(&state.join(format!("{name}.json")), &state, name, &body, 0).unwrap();
    }

    let first = spawn_on(dir.path());
    let ep = &patient(&first.ep);
    for i in 0..LATE {
        let name = format!("late-{i:02}");
        let create = [("instanceId", inst.as_str()), ("topicName", &name), ("partitionNum", "1"), ("replicaNum", "1")];
        let answer = tencent(ep, DEFAULT_KEY, "CreateTopic", &create).await;
        assert_eq!(answer["code"], 0, "{answer}");
    }
    let deleted =
        tencent(ep, DEFAULT_KEY, "DeleteTopic", &[("instanceId", inst.as_str()), ("topicName", "bulk-00007")]).await;
    assert_eq!(deleted["code"], 0, "{deleted}");
    first.kill9();

    let second = spawn_on(dir.path());
    let ep = &patient(&second.ep);
    let answer = tencent(ep, DEFAULT_KEY, "ListTopic", &[("instanceId", &inst), ("limit", "1")]).await;
    assert_eq!(answer["code"], 0, "{answer}");
    let total = answer["data"]["totalCount"].as_u64().or(answer["totalCount"].as_u64());
    assert_eq!(total, Some((TOPICS + LATE - 1) as u64), "{answer}");
    let late = tencent(ep, DEFAULT_KEY, "ListTopic", &[("instanceId", &inst), ("searchWord", "late-02")]).await;
    assert!(late.to_string().contains("late-02"), "{late}");
    let gone = tencent(ep, DEFAULT_KEY, "ListTopic", &[("instanceId", &inst), ("searchWord", "bulk-00007")]).await;
    assert!(!gone.to_string().contains("bulk-00007"), "a deleted topic stays deleted: {gone}");
}

// ---- start-up checks and connections ----

fn binary(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_localyun"));
    cmd.args(["--log-level", "warn"]).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("LOCALYUN_") {
            cmd.env_remove(k);
        }
    }
    let tls = std::env::temp_dir().join(format!("localyun-restart-tls-{}", uuid::Uuid::new_v4()));
    cmd.env("LOCALYUN_TLS_DIR", tls);
    cmd
}

/// Runs to exit within 10 s (a refused start); returns (success, stderr).
fn exits(mut cmd: Command) -> (bool, String) {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            return (status.success(), stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("localyun kept running; expected it to refuse the start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_busy_port_stops_the_start_naming_it_whichever_listener_it_is() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (ok, stderr) = exits(binary(&["--port", &port, "--tls-port", "0"]));
    assert!(!ok && stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("HTTP"), "{stderr}");
    let (ok, stderr) = exits(binary(&["--port", "0", "--tls-port", &port]));
    assert!(!ok && stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("HTTPS"), "{stderr}");
    let (ok, stderr) = exits(binary(&["--port", &port, "--no-tls"]));
    assert!(!ok && stderr.contains(&port), "{stderr}");
}

#[test]
fn a_secret_with_an_at_sign_and_no_account_is_refused_naming_the_entry() {
    let (ok, stderr) = exits(binary(&["--port", "0", "--no-tls", "--credentials", "AKIDAT:p@ssword"]));
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("LOCALYUN_CREDENTIALS") && stderr.contains("AKIDAT") && stderr.contains("account id"),
        "{stderr}"
    );
    assert!(!stderr.contains("ssword"), "no part of the secret is printed: {stderr}");
    let (ok, stderr) = exits(binary(&["--port", "0", "--no-tls", "--auth-windows", "azure=5"]));
    assert!(!ok && stderr.contains("azure"), "{stderr}");
}

/// Starts the binary with `args` and returns it with its HTTP address.
fn start(args: &[&str], envs: &[(&str, &str)]) -> (std::process::Child, String, String) {
    let mut cmd = binary(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    let mut http = None;
    loop {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() == 0 {
            break;
        }
        banner.push_str(&line);
        if let Some(rest) = line.trim().strip_prefix("http:") {
            http = Some(rest.trim().trim_start_matches("http://").to_string());
        }
        if line.contains("health:") {
            break;
        }
    }
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (child, http.expect("the banner names the HTTP address"), banner)
}

fn health_over(stream: &mut TcpStream, addr: &str) -> String {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(stream, "GET /_localyun/health HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn no_tls_accepts_the_usual_boolean_spellings() {
    for value in ["1", "true", "yes", "on"] {
        let (mut child, _, banner) = start(&["--port", "0"], &[("LOCALYUN_NO_TLS", value)]);
        let _ = child.kill();
        let _ = child.wait();
        assert!(banner.contains("http:") && !banner.contains("https:"), "LOCALYUN_NO_TLS={value}: {banner}");
    }
    let (mut child, _, banner) = start(&["--port", "0", "--tls-port", "0"], &[("LOCALYUN_NO_TLS", "0")]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(banner.contains("https:"), "LOCALYUN_NO_TLS=0 keeps TLS: {banner}");
}

#[test]
fn idle_sockets_are_closed_and_capped_and_the_server_stays_reachable() {
    let (mut child, addr, _) =
        start(&["--port", "0", "--no-tls", "--max-connections", "64", "--header-timeout-secs", "1"], &[]);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap_or_default();
    if let Some(line) = limits.lines().find(|l| l.starts_with("Max open files")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[3], fields[4], "the soft descriptor limit is raised to the hard one: {line}");
    }
    // Far more idle sockets than the cap: the ones beyond it are closed at once, the rest after the
    // header timeout.
    let mut idle: Vec<TcpStream> = (0..300).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(2500));
    let mut closed = 0;
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Ok(0) => closed += 1,
            Err(e) if !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => closed += 1,
            _ => {}
        }
    }
    assert_eq!(closed, idle.len(), "every idle socket was closed by the server");
    let mut fresh = TcpStream::connect(&addr).unwrap();
    assert!(health_over(&mut fresh, &addr).starts_with("HTTP/1.1 200"), "the server is reachable");
    drop(idle);

    // A slow body: headers, part of the body, then nothing. The connection does not stay open forever.
    let _ = child.kill();
    let _ = child.wait();
    let (mut child, addr, _) = start(&["--port", "0", "--no-tls", "--body-timeout-secs", "1"], &[]);
    let mut slow = TcpStream::connect(&addr).unwrap();
    write!(slow, "POST /v2/index.php HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 100\r\n\r\nAction=").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    assert!(started.elapsed() < Duration::from_secs(4), "the stalled body was given up after the timeout");
    // Answered, in the vendor's envelope, as a request timeout (and the connection closed).
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "a 408 answer: {answer:?}");
    assert!(answer.contains("did not arrive within 1s"), "the vendor's envelope says why: {answer:?}");
    assert!(answer.contains(r#""code":4000"#) && answer.contains(r#""codeDesc":"InvalidParameter""#), "{answer:?}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer:?}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn half_closed_clients_still_get_their_answer() {
    let (mut child, addr, _) = start(&["--port", "0", "--no-tls"], &[]);
    for i in 0..100 {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let request = if i % 2 == 0 {
            format!("GET /_localyun/health HTTP/1.1\r\nHost: {addr}\r\n\r\n")
        } else {
            // An unsigned vendor call: answered with the vendor's error, still an answer.
            format!("GET /v2/index.php?Action=ListTopic HTTP/1.1\r\nHost: {addr}\r\n\r\n")
        };
        s.write_all(request.as_bytes()).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "request {i} after SHUT_WR got no answer: {answer:?}");
    }
    let _ = child.kill();
    let _ = child.wait();
}
