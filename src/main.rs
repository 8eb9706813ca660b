use clap::Parser;
use localyun::config::{Command, Config};
use localyun::credentials::{DEFAULT_KEY_ID, DEFAULT_SECRET};

/// mimalloc instead of glibc malloc: a request allocates and frees a few dozen small blocks (parameters,
/// answer bytes, log line), which glibc serves with arena locks and more instructions per call (about 12%
/// of a profiled Huawei read went to malloc/free, issue 16). Measured in BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    if let Some(Command::Healthcheck { timeout }) = config.command {
        return match localyun::server::probe_health(&config, std::time::Duration::from_secs(timeout)) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("localyun healthcheck: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    // Logs go to stderr through a background writer (src/logging.rs); the guard flushes it at exit.
    let _log_guard = localyun::logging::init(&config);
    // Many clients (or idle sockets) must not exhaust the usual 1,024 descriptors.
    let fd_limit = localyun::server::raise_fd_limit();
    tracing::debug!(fd_limit, "open file limit");
    let (app, state) = match localyun::app_from_config(config.clone()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("localyun: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let ports = match localyun::server::bind_ports(&config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("localyun: {e:#}");
            return std::process::ExitCode::from(1);
        }
    };
    // The Kafka data plane: a broker per Kafka instance (see src/kafka/mod.rs).
    let kafka = localyun::kafka::start(&state).await;
    let rocketmq = localyun::rocketmq::remoting::start(&state).await; // RocketMQ TCP (src/rocketmq/remoting)
    let result = localyun::server::serve(&config, ports, app, localyun::server::shutdown_signal(), |bound, tls| {
        let default_key_present = state.credentials.read().keys().any(|k| k.key_id == DEFAULT_KEY_ID);
        println!("localyun {} ready", env!("CARGO_PKG_VERSION"));
        println!("  http:  http://{}", bound.http);
        if let Some(https) = bound.https {
            println!("  https: https://{https}");
        }
        if let Some(tls) = tls {
            println!("  TLS certificate to trust: {}", tls.trust_pem.display());
        }
        if default_key_present {
            println!(
                "  default key: {DEFAULT_KEY_ID} / {DEFAULT_SECRET} (account {})",
                state.credentials.read().default_account()
            );
        }
        match &config.data_dir {
            Some(dir) => println!("  data dir: {} (state survives restarts)", dir.display()),
            None => println!("  state: in memory only (use --data-dir to keep it)"),
        }
        if let Some(kafka) = &kafka {
            let listeners = kafka.plaintext_listeners();
            if let Some((instance, addr)) = listeners.first() {
                println!(
                    "  kafka: {addr} ({instance}) and {} more instances, each on its own port (SASL_SSL +1, SASL_PLAINTEXT +2)",
                    listeners.len() - 1
                );
            }
        }
        if let Some(rocketmq) = &rocketmq {
            println!("  rocketmq: {} (name server and broker)", rocketmq.address());
        }
        println!("  auth: {:?}; health: http://{}/_localyun/health", config.auth, bound.http);
    })
    .await;
    if let Some(kafka) = kafka {
        kafka.shutdown().await;
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("localyun: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
