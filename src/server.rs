//! Listeners: plain HTTP and HTTPS serving the same application, the local certificate, graceful shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;

use crate::config::Config;
use crate::dispatch::ViaTls;

/// Where the TLS listener's certificate comes from.
pub struct TlsFiles {
    /// The certificate clients should trust (the local CA; the user's own certificate when supplied).
    pub trust_pem: PathBuf,
    pub cert_chain_pem: PathBuf,
    pub key_pem: PathBuf,
    pub generated: bool,
}

/// The default folder for the generated certificate.
pub fn default_tls_dir(config: &Config) -> PathBuf {
    if let Some(dir) = &config.tls_dir {
        return dir.clone();
    }
    if let Some(dir) = &config.data_dir {
        return dir.join("tls");
    }
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home).join(".localyun").join("tls"),
        _ => std::env::temp_dir().join("localyun").join("tls"),
    }
}

/// The user's certificate, or the generated one (created on first start, reused afterwards).
pub fn tls_files(config: &Config) -> anyhow::Result<TlsFiles> {
    if let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) {
        return Ok(TlsFiles {
            trust_pem: cert.clone(),
            cert_chain_pem: cert.clone(),
            key_pem: key.clone(),
            generated: false,
        });
    }
    let dir = default_tls_dir(config);
    let files = TlsFiles {
        trust_pem: dir.join("ca.pem"),
        cert_chain_pem: dir.join("cert.pem"),
        key_pem: dir.join("key.pem"),
        generated: true,
    };
    if !(files.trust_pem.exists() && files.cert_chain_pem.exists() && files.key_pem.exists()) {
        generate_certificate(&dir, &files)?;
    }
    Ok(files)
}

/// A local CA and a server certificate it signs for localhost, 127.0.0.1 and ::1. Clients trust `ca.pem`
/// (e.g. `SSL_CERT_FILE`); a CA plus leaf satisfies strict verifiers that reject self-signed leaves.
fn generate_certificate(dir: &Path, files: &TlsFiles) -> anyhow::Result<()> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;

    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "localyun local CA");
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;

    let mut leaf_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()])?;
    leaf_params.distinguished_name.push(DnType::CommonName, "localhost");
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf_params.signed_by(&leaf_key, &ca_cert, &ca_key)?;

    // Write the key last: its presence marks a complete set.
    std::fs::write(&files.trust_pem, ca_cert.pem())?;
    std::fs::write(&files.cert_chain_pem, format!("{}{}", leaf_cert.pem(), ca_cert.pem()))?;
    write_private(&files.key_pem, leaf_key.serialize_pem().as_bytes())?;
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
        f.write_all(bytes)
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, bytes)
    }
}

/// The addresses the server is listening on, once bound.
pub struct Bound {
    pub http: SocketAddr,
    pub https: Option<SocketAddr>,
}

/// Binds one listener now, so a busy port fails the start at once with the port named.
fn bind_listener(addr: SocketAddr, what: &str) -> anyhow::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr).map_err(|e| {
        anyhow::anyhow!(
            "could not listen for {what} on {addr}: {e} (is another localyun or program using port {}?)",
            addr.port()
        )
    })?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The HTTP and HTTPS sockets, bound before anything else listens.
pub struct Ports {
    http: std::net::TcpListener,
    https: Option<std::net::TcpListener>,
}

/// Binds the HTTP and HTTPS ports (HTTPS unless `--no-tls`), failing at once with an error naming a port
/// that is taken. The binary does this before it starts the Kafka and RocketMQ listeners, so a second
/// localyun stops with one clear line, and no data-plane listener (vport + offset) can take the HTTP ports.
pub fn bind_ports(config: &Config) -> anyhow::Result<Ports> {
    let http = bind_listener(SocketAddr::new(config.host, config.port), "HTTP")?;
    let https =
        if config.no_tls { None } else { Some(bind_listener(SocketAddr::new(config.host, config.tls_port), "HTTPS")?) };
    Ok(Ports { http, https })
}

/// Raises the soft limit of open files to the hard limit, so many clients do not exhaust descriptors
/// (the usual soft limit is 1,024). Returns the limit now in force.
pub fn raise_fd_limit() -> Option<u64> {
    // `increase_nofile_limit` raises the soft limit towards the hard one and returns what is in force.
    rlimit::increase_nofile_limit(u64::MAX).ok()
}

/// Counts a listener's open connections and refuses (closes at once) those beyond the cap; wraps each
/// accepted stream (after `inner`, e.g. the TLS handshake) so its slot is released when the connection
/// ends, and so a client that sends no request byte within the header timeout is dropped (hyper's own
/// header timeout starts only once it knows the protocol, which needs that first byte).
#[derive(Clone)]
pub struct CappedAcceptor<A> {
    inner: A,
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    first_byte: Duration,
}

impl<A> CappedAcceptor<A> {
    pub fn new(inner: A, max_connections: usize, first_byte: Duration) -> Self {
        CappedAcceptor {
            inner,
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(max_connections.max(1))),
            first_byte,
        }
    }
}

/// An accepted connection holding its slot of the connection cap.
pub struct Capped<I> {
    inner: I,
    _slot: tokio::sync::OwnedSemaphorePermit,
    /// Until the first byte arrives: when the client must have sent it.
    first_byte: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<I: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Capped<I> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        match polled {
            std::task::Poll::Ready(Ok(())) if buf.filled().len() > before => self.first_byte = None,
            std::task::Poll::Pending => {
                if let Some(deadline) = self.first_byte.as_mut() {
                    if std::future::Future::poll(deadline.as_mut(), cx).is_ready() {
                        return std::task::Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "no request within the header timeout",
                        )));
                    }
                }
            }
            _ => {}
        }
        polled
    }
}

impl<I: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Capped<I> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

type AcceptFuture<T, S> = std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<(T, S)>> + Send>>;

impl<I, S, A> axum_server::accept::Accept<I, S> for CappedAcceptor<A>
where
    A: axum_server::accept::Accept<I, S> + Clone + Send + Sync + 'static,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
    I: Send + 'static,
    S: Send + 'static,
{
    type Stream = Capped<A::Stream>;
    type Service = A::Service;
    type Future = AcceptFuture<Capped<A::Stream>, A::Service>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let slot = self.slots.clone().try_acquire_owned();
        let inner = self.inner.clone();
        let first_byte = self.first_byte;
        Box::pin(async move {
            let Ok(slot) = slot else {
                tracing::warn!("connection refused: the connection cap (--max-connections) is reached");
                return Err(std::io::Error::other("connection cap reached"));
            };
            let deadline = Box::pin(tokio::time::sleep(first_byte));
            let (stream, service) = inner.accept(stream, service).await?;
            Ok((Capped { inner: stream, _slot: slot, first_byte: Some(deadline) }, service))
        })
    }
}

/// Timeouts and HTTP/1 behaviour shared by both listeners: header read (also the keep-alive idle limit),
/// half-closed clients still get their answer, HTTP/2 pings drop dead peers.
fn configure<A>(server: &mut axum_server::Server<A>, config: &Config) {
    let builder = server.http_builder();
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(config.header_timeout_secs))
        .half_close(true);
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(Duration::from_secs(config.header_timeout_secs))
        .keep_alive_timeout(Duration::from_secs(config.header_timeout_secs));
}

/// Serves `app` on the ports bound by [`bind_ports`] until `shutdown` completes, then drains connections
/// for up to five seconds. `on_bound` is called once both listeners are up (the binary prints its banner
/// there).
pub async fn serve(
    config: &Config,
    ports: Ports,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(&Bound, Option<&TlsFiles>),
) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Ports { http: http_listener, https: tls_listener } = ports;
    let http = http_listener.local_addr()?;
    let https = match &tls_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };

    let handle = Handle::new();
    let header_timeout = Duration::from_secs(config.header_timeout_secs);
    let mut http_server = axum_server::from_tcp(http_listener).acceptor(CappedAcceptor::new(
        axum_server::accept::DefaultAcceptor,
        config.max_connections,
        header_timeout,
    ));
    configure(&mut http_server, config);
    let http_task = tokio::spawn(http_server.handle(handle.clone()).serve(app.clone().into_make_service()));

    let tls_handle = Handle::new();
    let mut tls_in_use = None;
    let tls_task = match tls_listener {
        None => None,
        Some(listener) => {
            let files = tls_files(config)?;
            let rustls_config = RustlsConfig::from_pem_file(&files.cert_chain_pem, &files.key_pem)
                .await
                .map_err(|e| anyhow::anyhow!("loading TLS certificate {}: {e}", files.cert_chain_pem.display()))?;
            let tls_app = app.layer(axum::Extension(ViaTls));
            let tls = axum_server::tls_rustls::RustlsAcceptor::new(rustls_config).handshake_timeout(header_timeout);
            let acceptor = CappedAcceptor::new(tls, config.max_connections, header_timeout);
            let mut server = axum_server::from_tcp(listener).acceptor(acceptor);
            configure(&mut server, config);
            tls_in_use = Some(files);
            Some(tokio::spawn(server.handle(tls_handle.clone()).serve(tls_app.into_make_service())))
        }
    };

    on_bound(&Bound { http, https }, tls_in_use.as_ref());

    shutdown.await;
    tracing::info!("shutting down");
    handle.graceful_shutdown(Some(Duration::from_secs(5)));
    tls_handle.graceful_shutdown(Some(Duration::from_secs(5)));
    let _ = http_task.await;
    if let Some(t) = tls_task {
        let _ = t.await;
    }
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled: the listeners answer health checks before `serve` reaches its wait (e.g. while
/// the first start generates the TLS certificate), and a SIGTERM sent right after the first healthy answer
/// must already shut down gracefully instead of killing the process. Call it inside the tokio runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, Signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async fn received(signal: Option<Signal>) {
            match signal {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        async move {
            tokio::select! {
                _ = received(interrupt) => {},
                _ = received(terminate) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `localyun healthcheck`: one `GET /_localyun/health` over plain HTTP to the configured port (loopback
/// when listening on every address). Ok when the answer is `200`.
pub fn probe_health(config: &Config, timeout: Duration) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let host = match config.host {
        std::net::IpAddr::V4(a) if a.is_unspecified() => std::net::IpAddr::from([127, 0, 0, 1]),
        std::net::IpAddr::V6(a) if a.is_unspecified() => std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        other => other,
    };
    let addr = SocketAddr::new(host, config.port);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| anyhow::anyhow!("cannot connect to {addr}: {e}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(stream, "GET /_localyun/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 32];
    let mut read = 0;
    while read < 12 {
        let n = stream.read(&mut head[read..])?;
        if n == 0 {
            break;
        }
        read += n;
    }
    let status_line = String::from_utf8_lossy(&head[..read]);
    let mut parts = status_line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(v), Some("200")) if v.starts_with("HTTP/") => Ok(()),
        _ => anyhow::bail!("unhealthy answer from {addr}: {:?}", status_line.lines().next().unwrap_or("")),
    }
}
