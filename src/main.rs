use clap::Parser;
use localyun::config::{Command, Config, LogFormat};
use localyun::credentials::{DEFAULT_KEY_ID, DEFAULT_SECRET};

/// Logs go to stderr through a background writer, so a slow terminal or pipe never stalls a request;
/// stdout carries only the start-up banner. The guard flushes the writer when dropped at exit.
fn init_logging(config: &Config) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(writer);
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
    }
    guard
}

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
    let _log_guard = init_logging(&config);
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
    // The Kafka data plane: a broker per Kafka instance (see src/kafka/mod.rs).
    let kafka = localyun::kafka::start(&state).await;
    let _rocketmq = localyun::rocketmq::remoting::start(&state).await; // RocketMQ TCP (src/rocketmq/remoting)
    let result = localyun::server::serve(&config, app, localyun::server::shutdown_signal(), |bound, tls| {
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
