//! Soak: every vendor's read and write scenarios, mixed, against one localyun on loopback for a bounded
//! time; reports requests and errors per scenario and the server's memory over time.
//! `scripts/soak.sh [seconds]` (or `cargo bench --bench localyun -- soak <seconds>`).

use std::time::{Duration, Instant};

use super::vendors::{self, Target};
use super::{load, start_localyun, KEY_ID, SECRET};

/// Runs for `seconds`; returns the Markdown report.
pub async fn run(client: &reqwest::Client, seconds: u64) -> String {
    let tmp = std::env::temp_dir().join(format!("localyun-soak-{}", std::process::id()));
    let server = start_localyun(client, &tmp.join("tls")).await;
    let t = Target { host: format!("127.0.0.1:{}", server.port), key_id: KEY_ID.into(), secret: SECRET.into() };
    let scenarios = vendors::scenarios(client, &t).await;
    let start_rss = server.rss_kib();
    let mut peak_rss = start_rss;
    let mut counts = vec![(0usize, 0usize); scenarios.len()];
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut rounds = 0;
    while Instant::now() < deadline {
        // Fresh signatures each round: timestamps stay inside every vendor's window however long it runs.
        for (i, scenario) in scenarios.iter().enumerate() {
            let requests = scenario.requests(client, &t, 40).await;
            let result = load(client, requests, 8).await;
            counts[i].0 += 40;
            counts[i].1 += result.errors;
        }
        peak_rss = peak_rss.max(server.rss_kib());
        rounds += 1;
    }
    let end_rss = server.rss_kib();
    let elapsed = started.elapsed().as_secs_f64();
    let total: usize = counts.iter().map(|c| c.0).sum();
    let errors: usize = counts.iter().map(|c| c.1).sum();
    let mut out = format!(
        "## Soak ({seconds} s, {rounds} rounds, {total} requests, {:.0} req/s, {errors} errors)\n\n\
         | scenario | requests | errors |\n|---|---|---|\n",
        total as f64 / elapsed
    );
    for (scenario, (n, e)) in scenarios.iter().zip(&counts) {
        out.push_str(&format!("| {} | {n} | {e} |\n", scenario.name()));
    }
    out.push_str(&format!(
        "\nRSS: {:.1} MiB after setup, {:.1} MiB peak, {:.1} MiB at the end.\n",
        start_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        end_rss as f64 / 1024.0
    ));
    drop(server);
    let _ = std::fs::remove_dir_all(&tmp);
    out
}
