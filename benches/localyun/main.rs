//! localyun's benchmark: `cargo bench --bench localyun` (add `-- --quick` for a shorter run).
//!
//! One run measures, against a baseline measured in the same run on the same machine (a minimal axum server
//! answering a fixed body, started the same way as localyun, as a separate process):
//! start-up time, idle and loaded memory, list latency as the resource count grows, EventGrid delivery to a
//! local webhook, and durable-mode writes at large state. Signed-request throughput is the wrk benchmark's
//! (`-- wrk`, wrk.rs; `bash scripts/bench.sh`): an external load generator, since this in-process one
//! shares the cores and saturates before the servers do.
//! Results print as Markdown (paste into BENCHMARKS.md) and are written to target/bench-results.md.

mod durable;
mod soak;
mod vendors;
mod wrk;

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vendors::Target;

const KEY_ID: &str = "AKIDLOCAL";

/// Instances with room for the write scenarios' tens of thousands of topics (the vendors' default quotas
/// are 1,000 topics per instance on Alibaba Kafka and RocketMQ).
const BENCH_FIXTURES: &str = r#"
kafka:
  instances:
    - cloud: alibaba
      region: cn-hangzhou
      id: alikafka_pre-cn-bench0000001
      name: bench
      max_topics: 1000000
      max_partitions: 10000000
    - cloud: tencent
      region: ap-guangzhou
      id: ckafka-bench001
      name: bench
      max_topics: 1000000
      max_partitions: 10000000
rocketmq:
  instances:
    - region: mq-private
      id: MQ_INST_100000000001_BENCH
      name: bench
      independent_naming: true
      topic_capacity: 1000000
eventgrid:
  projects:
    - id: 0a1b2c3d4e5f60718293a4b5c6d7e8f9
      quotas: {SUBSCRIPTION: 20000, CHANNEL_SUBSCRIPTION: 20000}
      channels:
        - name: bench
          sources:
            - name: bench-source
"#;
const SECRET: &str = "local-secret";

fn main() {
    // Re-executed as the baseline server (a separate process, like localyun).
    if std::env::var_os("LOCALYUN_BENCH_BASELINE").is_some() {
        baseline_server();
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    // `cargo bench --bench localyun -- durable`: only the durable-mode section.
    let only_durable = std::env::args().skip(1).any(|a| a == "durable");
    // `cargo bench --bench localyun -- soak [seconds]`: the mixed-vendor soak only.
    let args: Vec<String> = std::env::args().collect();
    let soak =
        args.iter().position(|a| a == "soak").map(|i| args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(60));
    // `cargo bench --bench localyun -- wrk`: the external-load-generator benchmark (wrk.rs).
    let with_wrk = std::env::args().skip(1).any(|a| a == "wrk");
    let report = if with_wrk {
        runtime.block_on(wrk::run(quick))
    } else if let Some(seconds) = soak {
        runtime.block_on(async {
            let client = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(64).build().expect("client");
            soak::run(&client, seconds).await
        })
    } else if only_durable {
        runtime.block_on(async {
            let client = reqwest::Client::builder().no_proxy().build().expect("client");
            durable::run(&client, quick).await
        })
    } else {
        runtime.block_on(run(quick))
    };
    println!("{report}");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-results.md");
    if std::fs::write(&out, &report).is_ok() {
        eprintln!("written to {}", out.display());
    }
}

/// A minimal axum server answering a fixed body: the ceiling an HTTP server on this machine reaches.
fn baseline_server() {
    let port: u16 = std::env::var("LOCALYUN_BENCH_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(0);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        // `/pad/N`: the same fixed answer padded to N bytes, the size-matched baseline of a scenario whose
        // answers are N bytes long (what moving that many bytes costs both sides, without any API work).
        let padded = |uri: axum::http::Uri| async move {
            const HEAD: &str = "{\"code\":0,\"message\":\"ok\"";
            let n: usize = uri.path().strip_prefix("/pad/").and_then(|n| n.parse().ok()).unwrap_or(0).min(1 << 20);
            let body = if n <= HEAD.len() + 10 {
                format!("{HEAD}}}")
            } else {
                format!("{HEAD},\"pad\":\"{}\"}}", "x".repeat(n - HEAD.len() - 10))
            };
            ([("content-type", "application/json")], body)
        };
        let app = axum::Router::new()
            .route("/_localyun/health", axum::routing::get(|| async { "{\"status\":\"ok\"}" }))
            .route("/pad/{n}", axum::routing::get(padded))
            .fallback(|| async { ([("content-type", "application/json")], "{\"code\":0,\"message\":\"ok\"}") });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        let _ = axum::serve(listener, app).await;
    });
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

struct Server {
    child: Child,
    port: u16,
    started_in: Duration,
}

impl Server {
    /// The process id (for its CPU time).
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// A `kB` field of /proc/PID/status (`VmRSS:`, `RssAnon:`, `RssFile:`).
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

async fn wait_healthy(client: &reqwest::Client, port: u16, deadline: Instant) -> bool {
    let url = format!("http://127.0.0.1:{port}/_localyun/health");
    while Instant::now() < deadline {
        if let Ok(r) = client.get(&url).send().await {
            if r.status().is_success() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    false
}

/// The localyun binary to measure: `LOCALYUN_BENCH_BIN` (e.g. an older build, for before/after figures in
/// one session), else the one cargo built with this benchmark.
fn localyun_bin() -> PathBuf {
    std::env::var_os("LOCALYUN_BENCH_BIN").map(PathBuf::from).unwrap_or_else(|| env!("CARGO_BIN_EXE_localyun").into())
}

async fn start_localyun(client: &reqwest::Client, tls_dir: &std::path::Path) -> Server {
    start_localyun_bin(client, tls_dir, &localyun_bin(), None).await
}

/// Starts `bin` with the bench fixtures (and `--data-dir DIR` when given).
async fn start_localyun_bin(
    client: &reqwest::Client,
    tls_dir: &std::path::Path,
    bin: &std::path::Path,
    data_dir: Option<&std::path::Path>,
) -> Server {
    let port = free_port();
    let started = Instant::now();
    let fixtures = tls_dir.with_file_name("bench-fixtures.yaml");
    if !fixtures.exists() {
        let _ = std::fs::create_dir_all(tls_dir.parent().unwrap_or(tls_dir));
        std::fs::write(&fixtures, BENCH_FIXTURES).expect("write bench fixtures");
    }
    // Default settings otherwise (info logs, to a discarded stderr): what users run.
    let mut cmd = Command::new(bin);
    if let Some(dir) = data_dir {
        let _ = std::fs::remove_dir_all(dir);
        cmd.arg("--data-dir").arg(dir);
    }
    let child = cmd
        .args(["--port", &port.to_string(), "--tls-port", &free_port().to_string()])
        .arg("--tls-dir")
        .arg(tls_dir)
        .arg("--fixtures")
        .arg(&fixtures)
        .env_remove("LOCALYUN_DATA_DIR")
        .env_remove("LOCALYUN_FIXTURES")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start localyun");
    let healthy = wait_healthy(client, port, Instant::now() + Duration::from_secs(20)).await;
    assert!(healthy, "localyun did not become healthy");
    Server { child, port, started_in: started.elapsed() }
}

async fn start_baseline(client: &reqwest::Client) -> Server {
    let port = free_port();
    let started = Instant::now();
    let child = Command::new(std::env::current_exe().expect("own path"))
        .env("LOCALYUN_BENCH_BASELINE", "1")
        .env("LOCALYUN_BENCH_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start baseline");
    assert!(wait_healthy(client, port, Instant::now() + Duration::from_secs(20)).await, "baseline not healthy");
    Server { child, port, started_in: started.elapsed() }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

pub struct LoadResult {
    pub rps: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub errors: usize,
}

/// Sends the prepared requests with `concurrency` workers; every answer must be a success.
async fn load(client: &reqwest::Client, requests: Vec<reqwest::Request>, concurrency: usize) -> LoadResult {
    let total = requests.len();
    let queue = Arc::new(parking_lot::Mutex::new(requests));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let queue = queue.clone();
        let client = client.clone();
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            loop {
                let next = queue.lock().pop();
                let Some(req) = next else { break };
                let t = Instant::now();
                match client.execute(req).await {
                    Ok(resp) => {
                        let ok = resp.status().is_success();
                        let body = resp.bytes().await.unwrap_or_default();
                        if !ok || !vendors::is_success(&body) {
                            errors += 1;
                            static REPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
                            if !REPORTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                                eprintln!("  unexpected answer: {}", String::from_utf8_lossy(&body));
                            }
                        }
                    }
                    Err(_) => errors += 1,
                }
                lat.push(t.elapsed());
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::with_capacity(total);
    let mut errors = 0;
    for w in workers {
        if let Ok((l, e)) = w.await {
            lat.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    lat.sort();
    LoadResult { rps: total as f64 / elapsed.as_secs_f64(), p50: pct(&lat, 0.5), p99: pct(&lat, 0.99), errors }
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

async fn run(quick: bool) -> String {
    let client = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(256).build().expect("client");
    let tmp = std::env::temp_dir().join(format!("localyun-bench-{}", std::process::id()));
    let tls_dir = tmp.join("tls");
    let mut out = String::new();
    let machine = machine_description();
    out.push_str(&format!("## Results ({})\n\n{machine}\n\n", chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")));

    // ---- start-up: median of several starts (the first start generates the certificate, so it is excluded).
    eprintln!("start-up...");
    drop(start_localyun(&client, &tls_dir).await);
    let starts = if quick { 3 } else { 7 };
    let mut ly = Vec::new();
    let mut base = Vec::new();
    for _ in 0..starts {
        ly.push(start_localyun(&client, &tls_dir).await.started_in);
        base.push(start_baseline(&client).await.started_in);
    }
    let (ly_start, base_start) = (median(ly), median(base));
    out.push_str("### Start-up (process start to first successful health answer, median)\n\n");
    out.push_str("| server | start-up |\n|---|---|\n");
    out.push_str(&format!("| baseline | {:.1} ms |\n| localyun | {:.1} ms |\n\n", ms(base_start), ms(ly_start)));

    // ---- memory on one long-lived localyun and one baseline.
    let server = start_localyun(&client, &tls_dir).await;
    let baseline = start_baseline(&client).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss = server.rss_kib();
    let base_rss = baseline.rss_kib();

    let target = Target { host: format!("127.0.0.1:{}", server.port), key_id: KEY_ID.into(), secret: SECRET.into() };
    // Throughput of signed requests is measured by the wrk benchmark (`-- wrk`, scripts/bench.sh): an
    // external load generator drives the servers about twice as hard as this in-process one could.
    out.push_str("Signed-request throughput: `bash scripts/bench.sh` (wrk; see BENCHMARKS.md).\n\n");

    // ---- list latency as the number of topics grows (fixed page of 20).
    eprintln!("list latency...");
    out.push_str("### List latency with a fixed page (20) as the total grows (concurrency 1, median of 500)\n\n");
    out.push_str("| API | total resources | p50 | p99 |\n|---|---|---|---|\n");
    for (name, totals) in vendors::list_growth(&client, &target, if quick { 500 } else { 2_000 }).await {
        for (total, r) in totals {
            out.push_str(&format!("| {name} | {total} | {} | {} |\n", us(r.p50), us(r.p99)));
        }
    }
    out.push('\n');

    // ---- memory: idle, then after 10,000 topics, groups and subscriptions, on a fresh server.
    eprintln!("memory with 10,000 resources...");
    let fresh = start_localyun(&client, &tls_dir).await;
    let fresh_target = Target { host: format!("127.0.0.1:{}", fresh.port), ..target.clone() };
    let filled = vendors::fill(&client, &fresh_target, 10_000).await;
    let loaded_rss = fresh.rss_kib();
    drop(fresh);
    out.push_str("### Resident memory\n\n| state | localyun | baseline |\n|---|---|---|\n");
    out.push_str(&format!("| idle | {:.1} MiB | {:.1} MiB |\n", mib(idle_rss), mib(base_rss)));
    out.push_str(&format!("| after {filled} | {:.1} MiB | — |\n\n", mib(loaded_rss)));

    // ---- EventGrid delivery.
    if let Some(delivery) = vendors::eventgrid_delivery(&client, &target, if quick { 500 } else { 2_000 }).await {
        out.push_str("### EventGrid delivery (PutEvents to a local webhook)\n\n");
        out.push_str(&delivery);
        out.push('\n');
    }
    drop(server);
    drop(baseline);
    let _ = std::fs::remove_dir_all(&tmp);
    out.push_str(&durable::run(&client, quick).await);
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string()))
        .and_then(|k| k.parse::<u64>().ok())
        .map(|k| format!("{:.0} GiB", k as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("Machine: {cpu}, {cores} cores, {mem} RAM; client and servers share the machine.")
}
