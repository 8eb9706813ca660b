//! The external-load-generator benchmark (`cargo bench --bench localyun -- wrk`, or `bash scripts/bench.sh`):
//! wrk drives localyun and the bare axum baseline with 64 connections on 2 threads; the load generator is a
//! separate, efficient C program, so it is not the first thing to saturate (the in-process generator of
//! main.rs reaches about half of what wrk drives the same baseline to).
//!
//! Every scenario gets a fresh localyun (default settings; `--data-dir` on a fresh directory for the durable
//! rows) and its own pre-signed, distinct requests: this program signs them with the vendors' signers of
//! vendors.rs (unique Tencent `Nonce`, Alibaba `SignatureNonce`, fresh timestamps), writes them as raw HTTP
//! to one file per wrk thread, and check.lua sends each once and checks every answer (non-2xx statuses and
//! vendor error envelopes count as failed). The baseline is measured before the first scenario and after
//! every localyun run, and each localyun run's ratio is to the mean of its two neighbouring baseline runs;
//! each row is the median of `LOCALYUN_BENCH_RUNS` runs (default 3) of `LOCALYUN_BENCH_SECONDS` (default 3).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::vendors::{self, Scenario, Target};
use super::{median, start_baseline, start_localyun_bin, KEY_ID, SECRET};

const THREADS: usize = 2;
const CONNECTIONS: usize = 64;
/// Requests prepared per second of a run: above what either server reaches on this machine, so no wrk
/// thread runs out (a run that does is flagged).
const PREPARED_PER_SECOND: usize = 80_000;

/// One wrk run's figures.
#[derive(Clone, Copy, Default)]
struct WrkResult {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    failed: u64,
    exhausted: u64,
    socket_errors: u64,
    /// Size of an answer body (the largest one wrk's threads saw last): the bytes both sides move per request.
    body_bytes: u64,
    /// The server's CPU time (user + system, all threads) per request during the run, in µs; 0 when unknown.
    cpu_us: f64,
}

/// CPU time a process has used (user + system, all threads), in clock ticks (`/proc/<pid>/stat` fields 14
/// and 15; Linux only).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ').skip(11); // field 14 is the 12th after the name
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`: 100 on Linux, whatever the kernel's own HZ).
const TICKS_PER_SECOND: f64 = 100.0;

/// Where wrk is, if installed.
fn wrk_path() -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join("wrk")).find(|p| p.is_file())
}

/// Runs wrk against `http://127.0.0.1:{port}{path}` (the path matters only without a request `prefix`: the
/// baseline's `/pad/N`).
///
/// `pid` is the server's process: its CPU time over the run, per request, is `cpu_us`. On a machine where
/// wrk shares the cores with the server, req/s also depends on how the scheduler splits them; CPU per
/// request is the server's own cost.
fn run_wrk(lua: &Path, port: u16, pid: u32, seconds: u64, prefix: Option<&Path>, path: &str) -> WrkResult {
    let ticks_before = cpu_ticks(pid);
    let mut cmd = Command::new("wrk");
    cmd.args(["-t", &THREADS.to_string(), "-c", &CONNECTIONS.to_string(), "-d", &format!("{seconds}s")])
        .args(["--timeout", "5s", "-s"])
        .arg(lua)
        .arg(format!("http://127.0.0.1:{port}{path}"));
    if let Some(p) = prefix {
        cmd.arg("--").arg(p);
    }
    let out = cmd.stderr(Stdio::inherit()).output().expect("run wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut r = WrkResult::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("RESULT ") {
            let field = |name: &str| -> f64 {
                rest.split(' ')
                    .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0)
            };
            let secs = field("duration_us") / 1e6;
            r.rps = if secs > 0.0 { field("requests") / secs } else { 0.0 };
            r.p50_us = field("p50_us");
            r.p99_us = field("p99_us");
            r.failed = field("failed") as u64;
            r.exhausted = field("exhausted") as u64;
            r.socket_errors = field("socket_errors") as u64;
            r.body_bytes = field("body_bytes") as u64;
        } else if line.starts_with("SAMPLE ") {
            eprintln!("  first failed answer: {line}");
        }
    }
    if r.rps == 0.0 {
        eprintln!("  wrk printed no result: {text}");
    }
    if let (Some(before), Some(after)) = (ticks_before, cpu_ticks(pid)) {
        let requests = r.rps * seconds as f64;
        if requests > 0.0 {
            r.cpu_us = (after.saturating_sub(before)) as f64 / TICKS_PER_SECOND * 1e6 / requests;
        }
    }
    r
}

/// A request as the raw HTTP/1.1 bytes wrk sends (keep-alive; `Host` is the one the request was signed for).
fn raw(req: &reqwest::Request, host: &str) -> Vec<u8> {
    let url = req.url();
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let body = req.body().and_then(|b| b.as_bytes()).unwrap_or(&[]);
    let mut out = format!("{} {target} HTTP/1.1\r\nHost: {host}\r\n", req.method()).into_bytes();
    for (k, v) in req.headers() {
        out.extend_from_slice(k.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || req.method() != reqwest::Method::GET {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Signs `n` distinct requests of `scenario` and writes them to `prefix.0`, `prefix.1`, ... (one file per
/// wrk thread, requests dealt round-robin).
async fn write_requests(client: &reqwest::Client, t: &Target, scenario: &Scenario, n: usize, prefix: &Path) {
    let mut files: Vec<std::io::BufWriter<std::fs::File>> = (0..THREADS)
        .map(|i| std::io::BufWriter::new(std::fs::File::create(format!("{}.{i}", prefix.display())).expect("file")))
        .collect();
    let mut written = 0;
    while written < n {
        let chunk = (n - written).min(5_000);
        for (i, req) in scenario.requests(client, t, chunk).await.iter().enumerate() {
            let bytes = raw(req, &t.host);
            let f = &mut files[(written + i) % THREADS];
            let _ = writeln!(f, "{}", bytes.len());
            let _ = f.write_all(&bytes);
        }
        written += chunk;
    }
    for f in &mut files {
        let _ = f.flush();
    }
}

fn remove_requests(prefix: &Path) {
    for i in 0..THREADS {
        let _ = std::fs::remove_file(format!("{}.{i}", prefix.display()));
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

/// The figures of one scenario for one binary.
#[derive(Default)]
struct Measured {
    results: Vec<WrkResult>,
    ratios: Vec<f64>,
    /// Ratios to the baseline answering a body of the same size (`/pad/N`).
    sized_ratios: Vec<f64>,
}

impl Measured {
    fn rps(&self) -> f64 {
        median_f(self.results.iter().map(|r| r.rps).collect())
    }
    fn ratio(&self) -> f64 {
        median_f(self.ratios.clone())
    }
    fn sized_ratio(&self) -> f64 {
        median_f(self.sized_ratios.clone())
    }
    fn p50(&self) -> f64 {
        median_f(self.results.iter().map(|r| r.p50_us).collect())
    }
    fn p99(&self) -> f64 {
        median_f(self.results.iter().map(|r| r.p99_us).collect())
    }
    fn failed(&self) -> u64 {
        self.results.iter().map(|r| r.failed + r.socket_errors).sum()
    }
    fn body_bytes(&self) -> u64 {
        self.results.iter().map(|r| r.body_bytes).max().unwrap_or(0)
    }
    fn cpu_us(&self) -> f64 {
        median_f(self.results.iter().map(|r| r.cpu_us).collect())
    }
    fn exhausted(&self) -> bool {
        self.results.iter().any(|r| r.exhausted > 0)
    }
}

/// The whole wrk benchmark; returns the Markdown report. `LOCALYUN_BENCH_BEFORE=/path/to/older/localyun`
/// measures that binary too, run for run alternating with this one, for before/after figures in one run.
pub async fn run(quick: bool) -> String {
    if wrk_path().is_none() {
        return "wrk is not installed: `bash scripts/bench.sh` installs it (apt-get install wrk).\n".into();
    }
    let client = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(64).build().expect("client");
    let runs = env_num("LOCALYUN_BENCH_RUNS", if quick { 1 } else { 3 }).max(1) as usize;
    let seconds = env_num("LOCALYUN_BENCH_SECONDS", if quick { 1 } else { 3 }).max(1);
    let only: Option<String> = std::env::var("LOCALYUN_BENCH_ONLY").ok();
    let before: Option<PathBuf> = std::env::var_os("LOCALYUN_BENCH_BEFORE").map(PathBuf::from);
    let mut bins: Vec<PathBuf> = before.iter().cloned().collect();
    bins.push(super::localyun_bin());
    let tmp = std::env::temp_dir().join(format!("localyun-wrk-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&tmp);
    let tls_dir = tmp.join("tls");
    let lua = tmp.join("check.lua");
    std::fs::write(&lua, include_str!("check.lua")).expect("write check.lua");
    let mut out = String::new();
    out.push_str(&format!(
        "## wrk results ({})\n\n{}\nwrk {THREADS} threads, {CONNECTIONS} connections, {seconds} s per run, median of \
         {runs} run(s); a fresh localyun per run (default settings: info logs, strict signatures, replay checks, \
         TLS and Kafka listeners up). localyun: `{}`{}.\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        super::machine_description(),
        bins.last().map(|b| b.display().to_string()).unwrap_or_default(),
        before.as_ref().map(|b| format!("; before: `{}`", b.display())).unwrap_or_default(),
    ));

    // ---- start-up (median of 7; the first start, which generates the TLS certificate, is excluded) and
    // idle memory, per binary.
    eprintln!("start-up...");
    let mut startup_rows = Vec::new();
    let mut base_start = Vec::new();
    let mut base_rss = 0;
    for bin in &bins {
        drop(start_localyun_bin(&client, &tls_dir, bin, None).await);
        let mut ly = Vec::new();
        for _ in 0..7 {
            ly.push(start_localyun_bin(&client, &tls_dir, bin, None).await.started_in);
            base_start.push(start_baseline(&client).await.started_in);
        }
        let idle = start_localyun_bin(&client, &tls_dir, bin, None).await;
        let baseline = start_baseline(&client).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (rss, anon) = (idle.rss_kib(), idle.status_kib("RssAnon:"));
        base_rss = baseline.rss_kib();
        startup_rows.push((median(ly), rss, anon));
    }

    // ---- throughput: a baseline run, then each localyun run followed by a baseline run.
    let baseline = start_baseline(&client).await;
    eprintln!("baseline...");
    let mut last_base = run_wrk(&lua, baseline.port, baseline.pid(), seconds, None, "/");
    let mut base_cpu = vec![last_base.cpu_us];
    let mut base_all = vec![last_base.rps];
    // Indexes into `scenarios` followed by `extra_scenarios`: each vendor API's read and write in memory
    // mode, then the durable writes.
    let names: Vec<(usize, bool)> = [0usize, 1, 8, 9, 2, 3, 10, 11, 4, 5, 6, 7]
        .into_iter()
        .map(|i| (i, false))
        .chain([1usize, 3, 5, 7].into_iter().map(|i| (i, true)))
        .collect();
    let mut rows = Vec::new();
    for (index, durable) in names {
        let mut measured: Vec<Measured> = bins.iter().map(|_| Measured::default()).collect();
        let mut name = String::new();
        'runs: for run in 0..runs {
            for (b, bin) in bins.iter().enumerate() {
                let data_dir = tmp.join("data");
                let server = start_localyun_bin(&client, &tls_dir, bin, durable.then_some(data_dir.as_path())).await;
                let t =
                    Target { host: format!("127.0.0.1:{}", server.port), key_id: KEY_ID.into(), secret: SECRET.into() };
                let mut scenarios = vendors::scenarios(&client, &t).await;
                if index >= scenarios.len() {
                    scenarios.extend(vendors::extra_scenarios(&client, &t).await);
                }
                let scenario = scenarios.swap_remove(index);
                name = format!("{}{}", scenario.name(), if durable { ", --data-dir" } else { "" });
                if only.as_deref().is_some_and(|o| !name.contains(o)) {
                    break 'runs;
                }
                eprintln!("{name} (run {}/{runs}, {})...", run + 1, bin.display());
                let prefix = tmp.join("requests");
                write_requests(&client, &t, &scenario, PREPARED_PER_SECOND * seconds as usize, &prefix).await;
                let r = run_wrk(&lua, server.port, server.pid(), seconds, Some(&prefix), "/");
                remove_requests(&prefix);
                drop(server);
                let _ = std::fs::remove_dir_all(&data_dir);
                let next_base = run_wrk(&lua, baseline.port, baseline.pid(), seconds, None, "/");
                base_all.push(next_base.rps);
                base_cpu.push(next_base.cpu_us);
                measured[b].ratios.push(r.rps / ((last_base.rps + next_base.rps) / 2.0));
                // The same baseline answering a body of this scenario's answer size: what is left of the gap
                // is the API's own work (parsing, signature, state, answer building), not the bytes moved.
                let sized =
                    run_wrk(&lua, baseline.port, baseline.pid(), seconds, None, &format!("/pad/{}", r.body_bytes));
                if sized.rps > 0.0 {
                    measured[b].sized_ratios.push(r.rps / sized.rps);
                }
                measured[b].results.push(r);
                last_base = next_base;
            }
        }
        if measured.iter().all(|m| m.results.is_empty()) {
            continue;
        }
        let after = &measured[measured.len() - 1];
        let goal = if durable {
            "—".to_string()
        } else {
            let min = if name.contains("(write") { 0.5 } else { 0.6 };
            format!("≥ {min}: {}", if after.ratio() >= min { "yes" } else { "no" })
        };
        let mut row = format!("| {name} |");
        if before.is_some() {
            row.push_str(&format!(
                " {:.0} | {:.2} | {:.1} µs |",
                measured[0].rps(),
                measured[0].ratio(),
                measured[0].cpu_us()
            ));
        }
        row.push_str(&format!(
            " {:.0} | {:.2} | {goal} | {:.0} µs | {:.0} µs | {} | {:.2} | {:.1} µs | {}{} |\n",
            after.rps(),
            after.ratio(),
            after.p50(),
            after.p99(),
            after.body_bytes(),
            after.sized_ratio(),
            after.cpu_us(),
            measured.iter().map(Measured::failed).sum::<u64>(),
            if measured.iter().any(Measured::exhausted) { " (ran out of prepared requests: lower bound)" } else { "" }
        ));
        rows.push(row);
    }
    drop(baseline);
    let _ = std::fs::remove_dir_all(&tmp);

    let base_rps = median_f(base_all.clone());
    let (bmin, bmax) = base_all.iter().fold((f64::MAX, 0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    out.push_str(&format!(
        "Baseline (bare axum, fixed body): median {base_rps:.0} req/s over {} runs (min {bmin:.0}, max {bmax:.0}). \
         Ratio: a localyun run's req/s over the mean of the baseline runs just before and after it (the target's \
         measure). Ratio to same-size baseline: over the same baseline answering a body as long as the scenario's \
         answers (`/pad/N`), run right after it: the share of the gap that is the API's own work. Server CPU: \
         the server process's CPU time (all threads, user + system) per request during the run; the baseline's is \
         {:.1} µs (median over its runs).\n\n",
        base_all.len(),
        median_f(base_cpu.clone())
    ));
    if before.is_some() {
        out.push_str(
            "| API / action | before req/s | before ratio | before server CPU | req/s | ratio | target | p50 | p99 | \
             answer bytes | ratio to same-size baseline | server CPU | failed answers |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        );
    } else {
        out.push_str(
            "| API / action | req/s | ratio | target | p50 | p99 | answer bytes | ratio to same-size baseline | server \
             CPU | failed answers |\n|---|---|---|---|---|---|---|---|---|---|\n",
        );
    }
    for row in rows {
        out.push_str(&row);
    }
    out.push_str("\n| binary | start-up to healthy (median of 7) | idle RSS (of which anonymous) |\n|---|---|---|\n");
    for (bin, (start, rss, anon)) in bins.iter().zip(&startup_rows) {
        let label = if before.as_ref() == Some(bin) { "before" } else { "localyun" };
        out.push_str(&format!(
            "| {label} | {:.1} ms (target < 20 ms) | {:.1} MiB ({:.1} MiB) (target < 10 MiB) |\n",
            super::ms(*start),
            super::mib(*rss),
            super::mib(*anon)
        ));
    }
    out.push_str(&format!(
        "| baseline | {:.1} ms | {:.1} MiB |\n",
        super::ms(median(base_start)),
        super::mib(base_rss)
    ));
    out
}
