//! Logging: the subscriber the binary installs, the background writer to stderr, and the per-request line.
//!
//! Every request is logged at `info` as one line (README "Logs"):
//!
//! - text: `2026-12-01T05:28:19.689622Z  INFO request vendor="tencent" action=ListTopic account="-" status=200
//!   error="-" latency_us=85 method=GET path="/v2/index.php"`
//! - JSON: `{"timestamp":"…","level":"INFO","message":"request","vendor":"tencent","action":"ListTopic",
//!   "account":"-","status":200,"error":"-","latency_us":85,"method":"GET","path":"/v2/index.php"}`
//!
//! When the binary installed the subscriber ([`init`]), request lines are written straight into the log
//! writer in exactly the subscriber's format ([`request_line`]): tracing-subscriber visits each field,
//! escapes the message one `char` at a time and formats the timestamp from scratch, about 8% of a small
//! read's CPU (issue 16). Other events, and in-process servers without [`init`] (the tests), go through
//! tracing as usual. The unit tests below check the lines against tracing-subscriber's own output.

use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use parking_lot::{Condvar, Mutex};

use crate::config::{Config, LogFormat};

/// The facts of one request's log line.
pub(crate) struct RequestFacts<'a> {
    pub vendor: &'a str,
    /// The action as the client sent it (unvalidated for unknown actions).
    pub action: &'a str,
    pub account: &'a str,
    pub status: u16,
    /// The vendor error code, or `-`.
    pub error: &'a str,
    pub latency_us: u64,
    pub method: &'a str,
    pub path: &'a str,
}

/// Where request lines go directly, and in which format (set once by [`init`]).
static DIRECT: OnceLock<(Sink, LogFormat)> = OnceLock::new();

/// Installs the global subscriber for `config` (level or filter, text or JSON) writing to stderr through a
/// background writer. Keep the guard until exit: dropping it writes what is pending.
pub fn init(config: &Config) -> Guard {
    let (sink, guard) = start();
    let direct = match config.log_level.trim().parse::<tracing_subscriber::filter::LevelFilter>() {
        Ok(level) => install(level, sink.clone(), config.log_format),
        // A plain level is a level filter; only directives with targets or fields build an `EnvFilter`
        // (whose parser compiles regular expressions at start: start-up time and memory).
        Err(_) => install(
            tracing_subscriber::EnvFilter::try_new(&config.log_level)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
            sink.clone(),
            config.log_format,
        ),
    };
    if direct {
        let _ = DIRECT.set((sink, config.log_format));
    }
    guard
}

/// Installs the subscriber; true when it is ours (so request lines may bypass it).
fn install<F>(filter: F, sink: Sink, format: LogFormat) -> bool
where
    F: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let fmt = tracing_subscriber::fmt::layer().with_target(false).with_writer(sink);
    let registry = tracing_subscriber::registry().with(filter);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let installed = match format {
        LogFormat::Json => registry.with(fmt.json().flatten_event(true)).try_init(),
        LogFormat::Text => registry.with(fmt.with_ansi(ansi)).try_init(),
    };
    // With colours the subscriber styles the level and field names: keep it writing request lines then.
    installed.is_ok() && !(ansi && format == LogFormat::Text)
}

/// Logs a finished request at `info` (target `localyun::dispatch`, so `--log-level` filters apply).
pub(crate) fn request_line(facts: &RequestFacts<'_>) {
    if !tracing::enabled!(target: "localyun::dispatch", tracing::Level::INFO) {
        return;
    }
    if let Some((sink, format)) = DIRECT.get() {
        LINE.with_borrow_mut(|line| {
            line.clear();
            match format {
                LogFormat::Text => write_text(line, SystemTime::now(), facts),
                LogFormat::Json => write_json(line, SystemTime::now(), facts),
            }
            sink.push(line);
        });
        return;
    }
    let f = facts;
    tracing::info!(
        target: "localyun::dispatch",
        vendor = f.vendor,
        action = %f.action,
        account = f.account,
        status = f.status,
        error = f.error,
        latency_us = f.latency_us,
        method = %f.method,
        path = f.path,
        "request"
    );
}

thread_local! {
    /// A worker thread's line buffer, reused.
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The formatted `YYYY-MM-DDTHH:MM:SS` of the last second a line was written in.
    static SECOND: std::cell::Cell<(u64, [u8; 19])> = const { std::cell::Cell::new((u64::MAX, [0; 19])) };
}

/// `2026-12-01T05:28:19.689622Z` (UTC, microseconds), as tracing-subscriber's `SystemTime` timer writes it.
fn write_timestamp(out: &mut Vec<u8>, now: SystemTime) {
    let since = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (cached, mut text) = SECOND.get();
    if cached != secs {
        let dt = chrono::DateTime::from_timestamp(secs as i64, 0).unwrap_or_default();
        let formatted = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
        if formatted.len() == text.len() {
            text.copy_from_slice(formatted.as_bytes());
            SECOND.set((secs, text));
        } else {
            // A year outside 0000-9999: no cache.
            out.extend_from_slice(formatted.as_bytes());
            let _ = write!(out, ".{:06}Z", since.subsec_micros());
            return;
        }
    }
    out.extend_from_slice(&text);
    let _ = write!(out, ".{:06}Z", since.subsec_micros());
}

/// The text line, as tracing-subscriber's full format without colours and targets writes this event: strings
/// quoted as `Debug` quotes them, the action and method as they are. One difference: an action that is not
/// plain printable ASCII is quoted too (tracing would write a line break in it as is).
fn write_text(out: &mut Vec<u8>, now: SystemTime, f: &RequestFacts<'_>) {
    write_timestamp(out, now);
    out.extend_from_slice(b"  INFO request vendor=");
    quoted(out, f.vendor);
    out.extend_from_slice(b" action=");
    if plain(f.action) {
        out.extend_from_slice(f.action.as_bytes());
    } else {
        let _ = write!(out, "{:?}", f.action);
    }
    out.extend_from_slice(b" account=");
    quoted(out, f.account);
    let _ = write!(out, " status={} error=", f.status);
    quoted(out, f.error);
    let _ = write!(out, " latency_us={} method={} path=", f.latency_us, f.method);
    quoted(out, f.path);
    out.push(b'\n');
}

/// The JSON line, as tracing-subscriber's JSON format with flattened fields writes this event.
fn write_json(out: &mut Vec<u8>, now: SystemTime, f: &RequestFacts<'_>) {
    out.extend_from_slice(b"{\"timestamp\":\"");
    write_timestamp(out, now);
    out.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"request\",\"vendor\":");
    json_str(out, f.vendor);
    out.extend_from_slice(b",\"action\":");
    json_str(out, f.action);
    out.extend_from_slice(b",\"account\":");
    json_str(out, f.account);
    let _ = write!(out, ",\"status\":{},\"error\":", f.status);
    json_str(out, f.error);
    let _ = write!(out, ",\"latency_us\":{},\"method\":", f.latency_us);
    json_str(out, f.method);
    out.extend_from_slice(b",\"path\":");
    json_str(out, f.path);
    out.extend_from_slice(b"}\n");
}

fn json_str(out: &mut Vec<u8>, text: &str) {
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Printable ASCII without quotes or backslashes: what ids, codes and paths are.
fn plain(text: &str) -> bool {
    text.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

/// Writes `text` as `{:?}` does (`Debug` escapes one `char` at a time; plain text is copied at once).
fn quoted(out: &mut Vec<u8>, text: &str) {
    if plain(text) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        let _ = write!(out, "{text:?}");
    }
}

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

/// The log writer: formatted lines are appended to one shared buffer (a lock and a copy per line, no system
/// call and no thread wake-up), and a background thread writes the buffer to stderr in one call per burst.
///
/// Why not tracing-appender's channel (issue 16): every line sent to its idle writer thread cost a futex
/// wake-up and a context switch, and its bounded queue preallocated 4 MiB (128,000 slots), a quarter of the
/// idle memory. Here the writer is woken once per burst (the first line into an empty buffer), waits
/// [`BATCH_WINDOW`] for the rest of the burst, then writes everything at once. Lines therefore appear at
/// most a few milliseconds late. Over [`MAX_PENDING`] bytes waiting (stderr blocked), lines are dropped
/// rather than stalling requests, and the number dropped is written when the writer catches up.
#[derive(Clone)]
pub struct Sink(Arc<Shared>);

/// Writes what is pending and stops the writer thread when dropped.
pub struct Guard {
    shared: Arc<Shared>,
    /// Hears from the writer thread when it has written everything (or it is gone).
    done: std::sync::mpsc::Receiver<()>,
}

/// Starts the writer thread. Should the thread not start, lines are still accepted (and dropped once the
/// buffer is full): logging must never stop the server.
fn start() -> (Sink, Guard) {
    let shared = Arc::new(Shared::default());
    let worker = shared.clone();
    let (finished, done) = std::sync::mpsc::channel();
    let _ = std::thread::Builder::new().name("localyun-log".into()).stack_size(256 * 1024).spawn(move || {
        write_batches(&worker, &mut std::io::stderr());
        let _ = finished.send(());
    });
    (Sink(shared.clone()), Guard { shared, done })
}

fn write_batches(shared: &Shared, out: &mut impl Write) {
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

impl Sink {
    /// Appends whole lines; over [`MAX_PENDING`] bytes waiting they are counted as dropped.
    fn push(&self, buf: &[u8]) {
        let mut pending = self.0.pending.lock();
        if pending.bytes.len() + buf.len() > MAX_PENDING {
            pending.dropped += 1;
            return;
        }
        let first = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(buf);
        drop(pending);
        if first {
            self.0.ready.notify_one();
        }
    }
}

impl Write for &Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.push(buf);
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

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::fmt::time::FormatTime;

    /// A clock fixed at `now`, so tracing's line and ours carry the same timestamp.
    struct Fixed(SystemTime);
    impl FormatTime for Fixed {
        fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
            let mut buf = Vec::new();
            write_timestamp(&mut buf, self.0);
            w.write_str(std::str::from_utf8(&buf).map_err(|_| std::fmt::Error)?)
        }
    }

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    /// What tracing-subscriber writes for this event in `format` (as installed by [`install`]).
    fn tracing_line(format: LogFormat, now: SystemTime, f: &RequestFacts<'_>) -> String {
        use tracing_subscriber::layer::SubscriberExt;
        let capture = Capture::default();
        let fmt =
            tracing_subscriber::fmt::layer().with_target(false).with_writer(capture.clone()).with_timer(Fixed(now));
        let emit = || {
            tracing::info!(
                vendor = f.vendor,
                action = %f.action,
                account = f.account,
                status = f.status,
                error = f.error,
                latency_us = f.latency_us,
                method = %f.method,
                path = f.path,
                "request"
            )
        };
        match format {
            LogFormat::Json => tracing::subscriber::with_default(
                tracing_subscriber::registry().with(fmt.json().flatten_event(true)),
                emit,
            ),
            LogFormat::Text => {
                // The subscriber's text path keeps the message preformatted, as the fallback used to write it.
                let line = {
                    let mut text = format!("request vendor={:?} action=", f.vendor);
                    text.push_str(f.action);
                    text.push_str(&format!(
                        " account={:?} status={} error={:?} latency_us={} method={} path={:?}",
                        f.account, f.status, f.error, f.latency_us, f.method, f.path
                    ));
                    text
                };
                tracing::subscriber::with_default(tracing_subscriber::registry().with(fmt.with_ansi(false)), || {
                    tracing::info!("{line}")
                })
            }
        }
        let bytes = capture.0.lock().clone();
        String::from_utf8(bytes).unwrap_or_default()
    }

    fn facts<'a>(action: &'a str, account: &'a str, path: &'a str) -> RequestFacts<'a> {
        RequestFacts {
            vendor: "tencent",
            action,
            account,
            status: 200,
            error: "-",
            latency_us: 85,
            method: "GET",
            path,
        }
    }

    #[test]
    fn lines_match_tracing_subscriber() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_micros(1_796_101_871_606_042);
        let cases = [
            facts("ListTopic", "100000000001", "/v2/index.php"),
            facts("ListTopic", "acc\"1\\é", "/v1/p/ch\u{85}annels"),
            facts("ListTopic", "-", "/"),
        ];
        for f in &cases {
            for format in [LogFormat::Text, LogFormat::Json] {
                let mut ours = Vec::new();
                match format {
                    LogFormat::Text => write_text(&mut ours, now, f),
                    LogFormat::Json => write_json(&mut ours, now, f),
                }
                assert_eq!(String::from_utf8(ours).unwrap(), tracing_line(format, now, f), "{format:?}");
            }
        }
        let mut ours = Vec::new();
        write_text(&mut ours, now, &cases[0]);
        assert!(String::from_utf8(ours).unwrap().starts_with("2026-12-01T"), "timestamp in UTC");
    }

    #[test]
    fn an_action_with_control_characters_is_quoted() {
        let now = SystemTime::UNIX_EPOCH;
        let mut ours = Vec::new();
        write_text(&mut ours, now, &facts("Get\x1b[31m\nFAKE", "-", "/"));
        let line = String::from_utf8(ours).unwrap();
        assert_eq!(line.matches('\n').count(), 1, "one line: {line}");
        assert!(line.contains(r#"action="Get\u{1b}[31m\nFAKE""#), "{line}");
        assert!(line.starts_with("1970-01-01T00:00:00.000000Z  INFO request"), "{line}");
        let mut json = Vec::new();
        write_json(&mut json, now, &facts("Get\x1b", "-", "/"));
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["action"], "Get\x1b");
    }

    #[test]
    fn the_timestamp_cache_follows_the_second() {
        let mut a = Vec::new();
        write_timestamp(&mut a, SystemTime::UNIX_EPOCH + Duration::from_millis(1_500));
        write_timestamp(&mut a, SystemTime::UNIX_EPOCH + Duration::from_millis(61_250));
        assert_eq!(String::from_utf8(a).unwrap(), "1970-01-01T00:00:01.500000Z1970-01-01T00:01:01.250000Z");
    }

    #[test]
    fn the_writer_writes_everything_pushed_then_stops() {
        let shared = Arc::new(Shared::default());
        let sink = Sink(shared.clone());
        sink.push(b"one\n");
        sink.push(b"two\n");
        shared.pending.lock().closed = true;
        let mut out = Vec::new();
        write_batches(&shared, &mut out);
        assert_eq!(out, b"one\ntwo\n");
    }
}
