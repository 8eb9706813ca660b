use clap::Parser;
use localyun::config::{Command, Config, LogFormat};
use localyun::credentials::{DEFAULT_KEY_ID, DEFAULT_SECRET};

/// mimalloc instead of glibc malloc: a request allocates and frees a few dozen small blocks (parameters,
/// answer bytes, log line), which glibc serves with arena locks and more instructions per call (about 12%
/// of a profiled Huawei read went to malloc/free, issue 16). Measured in BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Logs go to stderr through a background writer, so a slow terminal or pipe never stalls a request;
/// stdout carries only the start-up banner. The guard flushes the writer when dropped at exit.
///
/// A plain level (`info`, `debug`, ...) is a level filter; only directives with targets or fields build an
/// `EnvFilter` (whose parser compiles regular expressions at start: start-up time and memory).
fn init_logging(config: &Config) -> log_sink::Guard {
    let (sink, guard) = log_sink::start();
    match config.log_level.trim().parse::<tracing_subscriber::filter::LevelFilter>() {
        Ok(level) => install_logging(level, sink, config.log_format),
        Err(_) => install_logging(
            tracing_subscriber::EnvFilter::try_new(&config.log_level)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
            sink,
            config.log_format,
        ),
    }
    guard
}

fn install_logging<F>(filter: F, sink: log_sink::Sink, format: LogFormat)
where
    F: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let fmt = tracing_subscriber::fmt::layer().with_target(false).with_writer(sink);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry.with(fmt.json().flatten_event(true)).init(),
        LogFormat::Text => registry.with(fmt.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))).init(),
    }
}

/// The log writer: formatted lines are appended to one shared buffer (a lock and a copy per line, no system
/// call and no thread wake-up), and a background thread writes the buffer to stderr in one call per burst.
///
/// Why not tracing-appender's channel (issue 16): every line sent to its idle writer thread cost a futex
/// wake-up and a context switch, and its bounded queue preallocated 4 MiB (128,000 slots), a quarter of the
/// idle memory. Here the writer is woken once per burst (the first line into an empty buffer), waits
/// [`BATCH_WINDOW`] for the rest of the burst, then writes everything at once. Lines therefore appear at
/// most a few milliseconds late. Over [`MAX_PENDING`] bytes waiting (stderr blocked), lines are dropped
/// rather than stalling requests, as before, and the number dropped is written when the writer catches up.
mod log_sink {
    use std::io::Write;
    use std::sync::Arc;
    use std::time::Duration;

    use parking_lot::{Condvar, Mutex};

    /// Most bytes waiting to be written.
    const MAX_PENDING: usize = 1 << 20;
    /// How long the writer gathers a burst after its first line.
    const BATCH_WINDOW: Duration = Duration::from_millis(5);

    #[derive(Default)]
    struct Pending {
        bytes: Vec<u8>,
        dropped: u64,
        closed: bool,
    }

    #[derive(Default)]
    struct Shared {
        pending: Mutex<Pending>,
        ready: Condvar,
    }

    /// Where the formatter writes lines (cheap to clone).
    #[derive(Clone)]
    pub struct Sink(Arc<Shared>);

    /// Writes what is pending and stops the writer thread when dropped.
    pub struct Guard {
        shared: Arc<Shared>,
        /// Hears from the writer thread when it has written everything (or it is gone).
        done: std::sync::mpsc::Receiver<()>,
    }

    /// Starts the writer thread. Should the thread not start, lines are still accepted (and dropped once
    /// the buffer is full): logging must never stop the server.
    pub fn start() -> (Sink, Guard) {
        let shared = Arc::new(Shared::default());
        let worker = shared.clone();
        let (finished, done) = std::sync::mpsc::channel();
        let _ = std::thread::Builder::new().name("localyun-log".into()).stack_size(256 * 1024).spawn(move || {
            write_batches(&worker);
            let _ = finished.send(());
        });
        (Sink(shared.clone()), Guard { shared, done })
    }

    fn write_batches(shared: &Shared) {
        let mut out = std::io::stderr();
        let mut batch = Vec::new();
        loop {
            let dropped = {
                let mut pending = shared.pending.lock();
                while pending.bytes.is_empty() && !pending.closed {
                    shared.ready.wait(&mut pending);
                }
                if pending.bytes.is_empty() {
                    return; // closed, nothing left
                }
                if !pending.closed {
                    drop(pending);
                    std::thread::sleep(BATCH_WINDOW);
                    pending = shared.pending.lock();
                }
                std::mem::swap(&mut batch, &mut pending.bytes);
                std::mem::take(&mut pending.dropped)
            };
            if dropped > 0 {
                let _ = writeln!(batch, "localyun: {dropped} log lines dropped (stderr was not keeping up)");
            }
            let _ = out.write_all(&batch);
            batch.clear();
            if batch.capacity() > MAX_PENDING {
                batch = Vec::new();
            }
        }
    }

    impl Write for &Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut pending = self.0.pending.lock();
            if pending.bytes.len() + buf.len() > MAX_PENDING {
                pending.dropped += 1;
                return Ok(buf.len());
            }
            let first = pending.bytes.is_empty();
            pending.bytes.extend_from_slice(buf);
            drop(pending);
            if first {
                self.0.ready.notify_one();
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sink {
        type Writer = &'a Sink;
        fn make_writer(&'a self) -> &'a Sink {
            self
        }
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            self.shared.pending.lock().closed = true;
            self.shared.ready.notify_one();
            // A blocked stderr (a full pipe nobody reads) must not keep the process from exiting.
            let _ = self.done.recv_timeout(Duration::from_secs(1));
        }
    }
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
