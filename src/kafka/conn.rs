//! One Kafka connection: 4-byte length-prefixed frames (tokio-util's length-delimited codec, at most
//! [`super::MAX_FRAME_BYTES`]), requests answered one at a time in arrival order as the protocol requires.
//! A frame that cannot be decoded, or a length above the limit, closes this connection only. SASL
//! listeners (plain TCP or TLS) hold each connection in a [`Session`] until it has authenticated.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use kafka_protocol::messages::{
    ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};

use super::{sasl, KafkaBroker, Security};

const NONE: i16 = 0;

/// Kafka's UNSUPPORTED_VERSION error code.
pub const UNSUPPORTED_VERSION: i16 = 35;

/// How long a connection the broker closes (failed authentication, a request before it) stays open,
/// unless the client closes first.
const CLOSE_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Accepts connections for one instance's listener of one [`Security`] kind until the task is aborted.
/// `tls` is the acceptor of a SASL_SSL listener.
pub async fn accept_loop(
    broker: Arc<KafkaBroker>,
    instance: String,
    listener: TcpListener,
    security: Security,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let local_port = stream.local_addr().map(|a| a.port()).unwrap_or(0);
                let (broker, instance) = (broker.clone(), instance.clone());
                match tls.clone() {
                    None => {
                        tokio::spawn(serve(broker, instance, stream, peer, local_port, security));
                    }
                    Some(acceptor) => {
                        tokio::spawn(async move {
                            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                Ok(Ok(tls)) => serve(broker, instance, tls, peer, local_port, security).await,
                                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "Kafka TLS handshake failed"),
                                Err(_) => tracing::debug!(%peer, "Kafka TLS handshake timed out"),
                            }
                        });
                    }
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "Kafka accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Where a request came from, for handlers that record it (group members' client host) and authorise it.
#[derive(Debug, Clone)]
pub struct Origin {
    pub instance: String,
    pub peer: SocketAddr,
    pub client_id: String,
    /// The port the client connected to (advertised back in Metadata / FindCoordinator).
    pub local_port: u16,
    /// The SASL user the connection authenticated as (SASL listeners); None on the PLAINTEXT listener,
    /// where the instance's ACLs do not apply (as on the clouds' VPC access points).
    pub principal: Option<String>,
}

/// Kafka's SASL error codes.
pub mod sasl_code {
    /// A request not allowed in the connection's SASL state (e.g. Metadata before authenticating).
    pub const ILLEGAL_SASL_STATE: i16 = 34;
    pub const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
    pub const SASL_AUTHENTICATION_FAILED: i16 = 58;
}

enum Stage {
    Idle,
    /// After SaslHandshake: tokens follow in SaslAuthenticate requests, or raw (SaslHandshake v0).
    Pending {
        exchange: sasl::Exchange,
        raw: bool,
    },
    Authenticated,
}

/// One connection's SASL state (KIP-43 / KIP-152). On a PLAINTEXT listener nothing is required and the
/// SASL requests answer ILLEGAL_SASL_STATE, as Kafka's do.
pub struct Session {
    required: bool,
    stage: Stage,
    principal: Option<String>,
}

impl Session {
    /// The state of a new connection to a listener of this kind.
    pub fn new(security: Security) -> Session {
        Session { required: security.sasl(), stage: Stage::Idle, principal: None }
    }

    /// The authenticated user, if any.
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }
}

/// One answer to one frame: the bytes to send (None: nothing) and whether the connection closes after.
pub struct Reply {
    pub bytes: Option<BytesMut>,
    pub close: bool,
}

async fn serve<S>(
    broker: Arc<KafkaBroker>,
    instance: String,
    stream: S,
    peer: SocketAddr,
    local_port: u16,
    security: Security,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (read, mut write) = tokio::io::split(stream);
    let codec =
        LengthDelimitedCodec::builder().length_field_length(4).max_frame_length(super::MAX_FRAME_BYTES).new_codec();
    let mut frames = FramedRead::new(read, codec);
    let mut stop = broker.stop.subscribe();
    let mut session = Session::new(security);
    loop {
        let frame = tokio::select! {
            f = frames.next() => f,
            _ = stop.changed() => return,
        };
        let frame = match frame {
            Some(Ok(f)) => f.freeze(),
            Some(Err(e)) => {
                tracing::debug!(%peer, error = %e, "closing Kafka connection: bad frame");
                return;
            }
            None => return,
        };
        if !super::cluster::instance_exists(&broker.state, &instance) {
            return;
        }
        let reply = match handle_frame_in(&broker, &mut session, &instance, peer, local_port, frame).await {
            Ok(a) => a,
            Err(e) => {
                // A response that cannot be encoded is our bug, not the client's: say so louder.
                if e.to_string().contains("encode") {
                    tracing::warn!(%peer, error = %e, "closing Kafka connection: response not encodable");
                } else {
                    tracing::debug!(%peer, error = %e, "closing Kafka connection: malformed request");
                }
                return;
            }
        };
        if let Some(bytes) = reply.bytes {
            if write.write_all(&bytes).await.is_err() {
                return;
            }
        }
        if reply.close {
            let _ = write.flush().await;
            // Like Kafka's connection.failed.authentication.delay.ms: the answer arrives on its own before
            // the close (kafka-python drops an answer that comes in one read with the end of the
            // stream), and the client usually closes first. Its input is read meanwhile, so closing with
            // unread input does not reset the connection either.
            let drain = async { while let Some(Ok(_)) = frames.next().await {} };
            let _ = tokio::time::timeout(CLOSE_DELAY, drain).await;
            let _ = write.shutdown().await;
            return;
        }
    }
}

/// Decodes one request frame of a PLAINTEXT connection and produces the response frame (length prefix
/// included), or None when the request expects no answer (Produce with acks=0). Err: the frame is
/// malformed.
pub async fn handle_frame(
    broker: &Arc<KafkaBroker>,
    instance: &str,
    peer: SocketAddr,
    local_port: u16,
    frame: Bytes,
) -> anyhow::Result<Option<BytesMut>> {
    let mut session = Session::new(Security::Plaintext);
    Ok(handle_frame_in(broker, &mut session, instance, peer, local_port, frame).await?.bytes)
}

/// Decodes one frame in a connection's SASL state: raw SASL tokens after SaslHandshake v0, else a
/// request. Before a SASL listener's connection has authenticated only ApiVersions, SaslHandshake and
/// SaslAuthenticate are served; anything else answers ILLEGAL_SASL_STATE and closes the connection, as
/// does a failed authentication (SASL_AUTHENTICATION_FAILED). Err: the frame is malformed.
pub async fn handle_frame_in(
    broker: &Arc<KafkaBroker>,
    session: &mut Session,
    instance: &str,
    peer: SocketAddr,
    local_port: u16,
    frame: Bytes,
) -> anyhow::Result<Reply> {
    if let Stage::Pending { raw: true, .. } = session.stage {
        return Ok(raw_token(broker, session, instance, &frame));
    }
    if frame.len() < 8 {
        anyhow::bail!("request of {} bytes has no header", frame.len());
    }
    let api_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let unauthenticated = session.required && session.principal.is_none();
    let key = ApiKey::try_from(api_key).ok();
    if unauthenticated && !matches!(key, Some(ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate)) {
        tracing::debug!(%peer, api_key, "closing Kafka connection: request before SASL authentication");
        return Ok(Reply { bytes: Some(error_only(correlation_id, sasl_code::ILLEGAL_SASL_STATE)), close: true });
    }
    let supported = key.and_then(super::handlers::supported_versions);
    let Some((key, (min, max))) = key.zip(supported) else {
        return Ok(answer(Some(error_only(correlation_id, UNSUPPORTED_VERSION))));
    };
    if version < min || version > max {
        if key == ApiKey::ApiVersions {
            // KIP-511: answer with version 0 and the supported ranges so the client can retry.
            let body = super::handlers::api_versions(UNSUPPORTED_VERSION);
            return Ok(answer(Some(encode(correlation_id, ApiKey::ApiVersions, 0, &ResponseKind::ApiVersions(body))?)));
        }
        return Ok(answer(Some(error_only(correlation_id, UNSUPPORTED_VERSION))));
    }
    let mut buf = frame;
    let header = RequestHeader::decode(&mut buf, key.request_header_version(version))?;
    let request = RequestKind::decode(key, &mut buf, version)?;
    let (response, close) = match request {
        RequestKind::SaslHandshake(r) => handshake(session, version, r),
        RequestKind::SaslAuthenticate(r) => authenticate(broker, session, instance, r),
        request => {
            let origin = Origin {
                instance: instance.to_string(),
                peer,
                client_id: header.client_id.as_ref().map(|c| c.to_string()).unwrap_or_default(),
                local_port,
                principal: session.principal.clone(),
            };
            let Some(response) = super::handlers::handle(broker, &origin, version, request).await else {
                return Ok(answer(None));
            };
            (response, false)
        }
    };
    Ok(Reply { bytes: Some(encode(correlation_id, key, version, &response)?), close })
}

fn answer(bytes: Option<BytesMut>) -> Reply {
    Reply { bytes, close: false }
}

/// SaslHandshake: picks the mechanism (v0: raw tokens follow; v1: SaslAuthenticate requests follow).
fn handshake(session: &mut Session, version: i16, r: SaslHandshakeRequest) -> (ResponseKind, bool) {
    let mechanisms = sasl::MECHANISMS.iter().map(|m| StrBytes::from_static_str(m)).collect();
    let resp = |code: i16| {
        ResponseKind::SaslHandshake(SaslHandshakeResponse::default().with_error_code(code).with_mechanisms(mechanisms))
    };
    if !session.required || !matches!(session.stage, Stage::Idle) {
        // A PLAINTEXT listener keeps the connection (Kafka answers the same); a second handshake closes.
        return (resp(sasl_code::ILLEGAL_SASL_STATE), session.required);
    }
    match sasl::Mechanism::parse(&r.mechanism) {
        Some(m) => {
            session.stage = Stage::Pending { exchange: sasl::Exchange::new(m), raw: version == 0 };
            (resp(NONE), false)
        }
        None => (resp(sasl_code::UNSUPPORTED_SASL_MECHANISM), true),
    }
}

fn password_lookup<'a>(broker: &'a KafkaBroker, instance: &'a str) -> impl Fn(&str) -> Option<String> + 'a {
    move |user| super::cluster::sasl_password(&broker.state, instance, user)
}

/// SaslAuthenticate: one token of the exchange the handshake chose.
fn authenticate(
    broker: &KafkaBroker,
    session: &mut Session,
    instance: &str,
    r: SaslAuthenticateRequest,
) -> (ResponseKind, bool) {
    let reply = |code: i16, message: Option<String>, token: Vec<u8>| {
        ResponseKind::SaslAuthenticate(
            SaslAuthenticateResponse::default()
                .with_error_code(code)
                .with_error_message(message.map(StrBytes::from_string))
                .with_auth_bytes(Bytes::from(token)),
        )
    };
    let Stage::Pending { exchange, raw: false } = &mut session.stage else {
        let message = "SaslAuthenticate without a SaslHandshake v1 before it".to_string();
        return (reply(sasl_code::ILLEGAL_SASL_STATE, Some(message), Vec::new()), true);
    };
    match exchange.step(&r.auth_bytes, password_lookup(broker, instance)) {
        sasl::Step::Challenge(c) => (reply(NONE, None, c), false),
        sasl::Step::Done { user, token } => {
            tracing::debug!(instance, user = %user, "Kafka SASL authentication succeeded");
            session.principal = Some(user);
            session.stage = Stage::Authenticated;
            (reply(NONE, None, token), false)
        }
        sasl::Step::Failed(message) => {
            session.stage = Stage::Idle;
            (reply(sasl_code::SASL_AUTHENTICATION_FAILED, Some(message), Vec::new()), true)
        }
    }
}

/// A raw SASL token (after SaslHandshake v0): answered with a raw length-prefixed token; a failure closes
/// the connection without an answer, as Kafka does in that mode.
fn raw_token(broker: &KafkaBroker, session: &mut Session, instance: &str, frame: &[u8]) -> Reply {
    let Stage::Pending { exchange, .. } = &mut session.stage else {
        return Reply { bytes: None, close: true };
    };
    let token = match exchange.step(frame, password_lookup(broker, instance)) {
        sasl::Step::Challenge(c) => c,
        sasl::Step::Done { user, token } => {
            session.principal = Some(user);
            session.stage = Stage::Authenticated;
            token
        }
        sasl::Step::Failed(_) => return Reply { bytes: None, close: true },
    };
    let mut out = BytesMut::with_capacity(4 + token.len());
    out.put_u32(token.len() as u32);
    out.extend_from_slice(&token);
    answer(Some(out))
}

fn encode(correlation_id: i32, key: ApiKey, version: i16, body: &ResponseKind) -> anyhow::Result<BytesMut> {
    let mut out = BytesMut::with_capacity(256);
    out.put_u32(0);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut out, key.response_header_version(version))?;
    body.encode(&mut out, version)?;
    let len = u32::try_from(out.len() - 4)?;
    out[0..4].copy_from_slice(&len.to_be_bytes());
    Ok(out)
}

/// A minimal answer for an API or version this broker does not serve: the correlation id and
/// UNSUPPORTED_VERSION (the first field of every classic response body that has an error code).
fn error_only(correlation_id: i32, code: i16) -> BytesMut {
    let mut out = BytesMut::with_capacity(10);
    out.put_u32(6);
    out.put_i32(correlation_id);
    out.put_i16(code);
    out
}
