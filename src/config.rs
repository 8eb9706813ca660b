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

    /// Disable the HTTPS listener (LOCALYUN_NO_TLS accepts 1/0, true/false, yes/no, on/off).
    #[arg(long, env = "LOCALYUN_NO_TLS", default_value_t = false, num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
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

    /// Allowed clock skew (and nonce memory) for signed requests of every vendor, in seconds; overrides each
    /// vendor's documented default (see --auth-windows).
    #[arg(long, env = "LOCALYUN_REPLAY_WINDOW")]
    pub replay_window_secs: Option<u64>,

    /// Per-vendor clock-skew windows in seconds, e.g. `tencent=300,huawei=900` (vendors: tencent, alibaba,
    /// rocketmq, huawei). Defaults: tencent 300 (seed: "Timestamp 与腾讯服务器相差不能超过5分钟"), alibaba,
    /// rocketmq and huawei 900 (the gateways' 15-minute convention; their seeds state none).
    #[arg(long, env = "LOCALYUN_AUTH_WINDOWS")]
    pub auth_windows: Option<String>,

    /// Most simultaneous HTTP/HTTPS connections per listener (the management APIs; not the Kafka or RocketMQ
    /// ports); further ones are closed at once.
    #[arg(long, env = "LOCALYUN_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,

    /// Seconds a client may take to send a request's headers; also how long an idle keep-alive connection
    /// stays open.
    #[arg(long, env = "LOCALYUN_HEADER_TIMEOUT", default_value_t = 30)]
    pub header_timeout_secs: u64,

    /// Seconds a client may take to send a request's body once its headers arrived.
    #[arg(long, env = "LOCALYUN_BODY_TIMEOUT", default_value_t = 60)]
    pub body_timeout_secs: u64,

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
            replay_window_secs: None,
            auth_windows: None,
            max_connections: 4096,
            header_timeout_secs: 30,
            body_timeout_secs: 60,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            request_log_size: 1000,
            command: None,
        }
    }
}

/// The vendor scopes whose clock-skew window is configurable, with their defaults in seconds.
pub const AUTH_WINDOW_DEFAULTS: [(&str, u64); 4] =
    [("tencent", 300), ("alibaba", 900), ("rocketmq", 900), ("huawei", 900)];

impl Config {
    /// The clock-skew window of a vendor scope (`"tencent"`, `"alibaba"`, `"rocketmq"`, `"huawei"`):
    /// `--auth-windows` for that vendor, else `--replay-window-secs`, else the vendor's default
    /// ([`AUTH_WINDOW_DEFAULTS`]; 300 s for an unknown scope).
    pub fn auth_window(&self, scope: &str) -> std::time::Duration {
        let configured = self.auth_windows.as_deref().and_then(|spec| {
            parse_auth_windows(spec).ok()?.into_iter().find(|(s, _)| s == scope).map(|(_, secs)| secs)
        });
        let default = AUTH_WINDOW_DEFAULTS.iter().find(|(s, _)| *s == scope).map_or(300, |(_, secs)| *secs);
        std::time::Duration::from_secs(configured.or(self.replay_window_secs).unwrap_or(default))
    }

    /// The longest window of any vendor: how long nonces must be remembered.
    pub fn longest_auth_window(&self) -> std::time::Duration {
        AUTH_WINDOW_DEFAULTS.iter().map(|(scope, _)| self.auth_window(scope)).max().unwrap_or_default()
    }

    /// Checks the settings that clap cannot (run at start; the error names the setting).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(spec) = &self.auth_windows {
            parse_auth_windows(spec).map_err(|e| format!("LOCALYUN_AUTH_WINDOWS / --auth-windows: {e}"))?;
        }
        if self.max_connections == 0 {
            return Err("LOCALYUN_MAX_CONNECTIONS / --max-connections must be at least 1".into());
        }
        if self.header_timeout_secs == 0 || self.body_timeout_secs == 0 {
            return Err("the header and body timeouts must be at least 1 second".into());
        }
        Ok(())
    }
}

/// Parses `scope=secs,...`.
fn parse_auth_windows(spec: &str) -> Result<Vec<(String, u64)>, String> {
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (scope, secs) = item.split_once('=').ok_or_else(|| format!("{item:?}: expected VENDOR=SECONDS"))?;
        let scope = scope.trim().to_ascii_lowercase();
        if !AUTH_WINDOW_DEFAULTS.iter().any(|(s, _)| *s == scope) {
            let names: Vec<&str> = AUTH_WINDOW_DEFAULTS.iter().map(|(s, _)| *s).collect();
            return Err(format!("{item:?}: unknown vendor {scope:?}; one of {}", names.join(", ")));
        }
        let secs: u64 = secs.trim().parse().map_err(|_| format!("{item:?}: {secs:?} is not a number of seconds"))?;
        out.push((scope, secs));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_windows_default_per_vendor_and_are_configurable() {
        let c = Config::default();
        assert_eq!(c.auth_window("tencent").as_secs(), 300);
        assert_eq!(c.auth_window("alibaba").as_secs(), 900);
        assert_eq!(c.auth_window("huawei").as_secs(), 900);
        assert_eq!(c.auth_window("rocketmq").as_secs(), 900);
        assert_eq!(c.longest_auth_window().as_secs(), 900);

        let c = Config { auth_windows: Some("huawei=60, Tencent=120".into()), ..Config::default() };
        c.validate().unwrap();
        assert_eq!((c.auth_window("huawei").as_secs(), c.auth_window("tencent").as_secs()), (60, 120));
        assert_eq!(c.auth_window("alibaba").as_secs(), 900);

        let c = Config { replay_window_secs: Some(30), auth_windows: Some("huawei=60".into()), ..Config::default() };
        assert_eq!((c.auth_window("huawei").as_secs(), c.auth_window("alibaba").as_secs()), (60, 30));
    }

    #[test]
    fn bad_auth_windows_are_refused_naming_the_entry() {
        let e = Config { auth_windows: Some("azure=5".into()), ..Config::default() }.validate().unwrap_err();
        assert!(e.contains("\"azure=5\"") && e.contains("unknown vendor"), "{e}");
        let e = Config { auth_windows: Some("huawei=soon".into()), ..Config::default() }.validate().unwrap_err();
        assert!(e.contains("not a number"), "{e}");
    }

    #[test]
    fn booleans_accept_the_usual_spellings() {
        for (value, expected) in
            [("1", true), ("true", true), ("yes", true), ("on", true), ("0", false), ("off", false)]
        {
            let c = Config::try_parse_from(["localyun", &format!("--no-tls={value}")]).unwrap();
            assert_eq!(c.no_tls, expected, "{value}");
        }
        assert!(Config::try_parse_from(["localyun", "--no-tls"]).unwrap().no_tls);
        assert!(Config::try_parse_from(["localyun", "--no-tls=maybe"]).is_err());
    }
}
