//! One Kafka connection: 4-byte length-prefixed frames (tokio-util's length-delimited codec, at most
//! [`super::MAX_FRAME_BYTES`]), requests answered one at a time in arrival order as the protocol requires.
//! A frame that cannot be decoded, or a length above the limit, closes this connection only.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};

use super::KafkaBroker;

/// Kafka's UNSUPPORTED_VERSION error code.
pub const UNSUPPORTED_VERSION: i16 = 35;

/// Accepts connections for one instance until the task is aborted.
pub async fn accept_loop(broker: Arc<KafkaBroker>, instance: String, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(broker.clone(), instance.clone(), stream, peer));
            }
            Err(e) => {
                tracing::debug!(error = %e, "Kafka accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Where a request came from, for handlers that record it (group members' client host).
#[derive(Debug, Clone)]
pub struct Origin {
    pub instance: String,
    pub peer: SocketAddr,
    pub client_id: String,
    /// The port the client connected to (advertised back in Metadata / FindCoordinator).
    pub local_port: u16,
}

async fn serve(broker: Arc<KafkaBroker>, instance: String, stream: TcpStream, peer: SocketAddr) {
    let local_port = stream.local_addr().map(|a| a.port()).unwrap_or(0);
    let (read, mut write) = stream.into_split();
    let codec =
        LengthDelimitedCodec::builder().length_field_length(4).max_frame_length(super::MAX_FRAME_BYTES).new_codec();
    let mut frames = FramedRead::new(read, codec);
    let mut stop = broker.stop.subscribe();
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
        let answer = match handle_frame(&broker, &instance, peer, local_port, frame).await {
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
        if let Some(bytes) = answer {
            if write.write_all(&bytes).await.is_err() {
                return;
            }
        }
    }
}

/// Decodes one request frame and produces the response frame (length prefix included), or None when the
/// request expects no answer (Produce with acks=0). Err: the frame is malformed.
pub async fn handle_frame(
    broker: &Arc<KafkaBroker>,
    instance: &str,
    peer: SocketAddr,
    local_port: u16,
    frame: Bytes,
) -> anyhow::Result<Option<BytesMut>> {
    if frame.len() < 8 {
        anyhow::bail!("request of {} bytes has no header", frame.len());
    }
    let api_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let key = ApiKey::try_from(api_key).ok();
    let supported = key.and_then(super::handlers::supported_versions);
    let Some((key, (min, max))) = key.zip(supported) else {
        return Ok(Some(error_only(correlation_id, UNSUPPORTED_VERSION)));
    };
    if version < min || version > max {
        if key == ApiKey::ApiVersions {
            // KIP-511: answer with version 0 and the supported ranges so the client can retry.
            let body = super::handlers::api_versions(UNSUPPORTED_VERSION);
            return Ok(Some(encode(correlation_id, ApiKey::ApiVersions, 0, &ResponseKind::ApiVersions(body))?));
        }
        return Ok(Some(error_only(correlation_id, UNSUPPORTED_VERSION)));
    }
    let mut buf = frame;
    let header = RequestHeader::decode(&mut buf, key.request_header_version(version))?;
    let request = RequestKind::decode(key, &mut buf, version)?;
    let origin = Origin {
        instance: instance.to_string(),
        peer,
        client_id: header.client_id.as_ref().map(|c| c.to_string()).unwrap_or_default(),
        local_port,
    };
    let Some(response) = super::handlers::handle(broker, &origin, version, request).await else {
        return Ok(None);
    };
    Ok(Some(encode(correlation_id, key, version, &response)?))
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
