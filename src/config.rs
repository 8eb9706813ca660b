//! Runtime configuration: every setting is a flag and a `LOCALYUN_*` environment variable.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// How strictly request signatures are checked.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum AuthMode {
    /// Every request must be signed by a known key with the right secret.
    #[default]
    Strict,
    /// Any key id is accepted and the HMAC is not checked; required parameters still are.
    Lenient,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// localyun: Tencent CKafka v2, Alibaba Kafka / RocketMQ and Huawei EventGrid APIs on one local port.
#[derive(Parser, Clone, Debug)]
#[command(name = "localyun", version, about)]
pub struct Config {
    /// Address to listen on (use 0.0.0.0 inside containers).
    #[arg(long, env = "LOCALYUN_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Plain HTTP port (0 picks a free port).
    #[arg(long, env = "LOCALYUN_PORT", default_value_t = 4588)]
    pub port: u16,

    /// HTTPS port serving the same routes (0 picks a free port).
    #[arg(long, env = "LOCALYUN_TLS_PORT", default_value_t = 4589)]
    pub tls_port: u16,

    /// Disable the HTTPS listener.
    #[arg(long, env = "LOCALYUN_NO_TLS", default_value_t = false)]
    pub no_tls: bool,

    /// PEM certificate for the HTTPS listener (default: generated for localhost/127.0.0.1).
    #[arg(long, env = "LOCALYUN_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key matching --tls-cert.
    #[arg(long, env = "LOCALYUN_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Folder for the generated certificate (default: DATA_DIR/tls with --data-dir, else $HOME/.localyun/tls).
    #[arg(long, env = "LOCALYUN_TLS_DIR")]
    pub tls_dir: Option<PathBuf>,

    /// strict: verify every signature; lenient: accept any key and skip the HMAC check.
    #[arg(long, env = "LOCALYUN_AUTH", value_enum, default_value_t = AuthMode::Strict)]
    pub auth: AuthMode,

    /// Extra keys: comma-separated KEYID:SECRET or KEYID:SECRET@ACCOUNT.
    #[arg(long, env = "LOCALYUN_CREDENTIALS")]
    pub credentials: Option<String>,

    /// Fixture file or folder (JSON or YAML) applied at start, after the built-in defaults.
    #[arg(long, env = "LOCALYUN_FIXTURES")]
    pub fixtures: Option<PathBuf>,

    /// Keep state in this folder so it survives restarts (default: memory only).
    #[arg(long, env = "LOCALYUN_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Allowed clock skew, and nonce memory, for signed requests, in seconds.
    #[arg(long, env = "LOCALYUN_REPLAY_WINDOW", default_value_t = 300)]
    pub replay_window_secs: u64,

    /// Log format.
    #[arg(long, env = "LOCALYUN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log level or tracing filter (e.g. info, debug, localyun=debug).
    #[arg(long, env = "LOCALYUN_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// How many recent requests `GET /_localyun/requests` keeps.
    #[arg(long, env = "LOCALYUN_REQUEST_LOG_SIZE", default_value_t = 1000)]
    pub request_log_size: usize,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Exits 0 when the localyun on --host/--port answers `GET /_localyun/health` with 200, else 1
    /// (for container health checks; needs no curl).
    Healthcheck {
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
}

impl Default for Config {
    /// The defaults of the command line, without reading the environment (for tests and embedding).
    fn default() -> Self {
        Config {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 4588,
            tls_port: 4589,
            no_tls: false,
            tls_cert: None,
            tls_key: None,
            tls_dir: None,
            auth: AuthMode::Strict,
            credentials: None,
            fixtures: None,
            data_dir: None,
            replay_window_secs: 300,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            request_log_size: 1000,
            command: None,
        }
    }
}
