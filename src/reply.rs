//! The one reply type: what a vendor handler answers before the vendor's envelope is put around it.
//!
//! A handler returns a [`Reply`]: its fields as a JSON tree, or (the list answers' hot path) its fields
//! already serialised from typed views while a read lock was held, or nothing; plus an HTTP status, extra
//! headers and, for paged answers, the paging facts. The vendor's renderer (`Reply::render`) wraps the body
//! in its envelope (Tencent's `{"code":0,...}`, Alibaba's `RequestId/Success/Code`, RocketMQ's
//! `code/data/currentPage`, Huawei's bare JSON) and builds the response.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// A handler's answer body, before the envelope.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyBody {
    /// Fields as a JSON tree (a JSON object for every vendor but Huawei's arrays and RocketMQ's `data`).
    Fields(Value),
    /// Fields already serialised as JSON (typed views written while a lock was held).
    Serialized(Vec<u8>),
    /// No body (HTTP 204, or a write whose envelope carries no fields).
    Empty,
}

/// Paging facts of a paged answer (the envelope decides which it shows: RocketMQ `currentPage`/`pageSize`/
/// `total`, Tencent `totalCount`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageInfo {
    /// 1-based page number.
    pub page: usize,
    pub size: usize,
    pub total: usize,
}

/// A handler's answer: status (default 200), body, extra headers, paging.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: ReplyBody,
    pub headers: HeaderMap,
    pub paging: Option<PageInfo>,
}

impl Reply {
    fn with_body(body: ReplyBody) -> Reply {
        Reply { status: StatusCode::OK, body, headers: HeaderMap::new(), paging: None }
    }

    /// Fields as a JSON tree.
    pub fn fields(fields: Value) -> Reply {
        Reply::with_body(ReplyBody::Fields(fields))
    }

    /// An empty JSON object (`"data": {}` and the like).
    pub fn empty_object() -> Reply {
        Reply::fields(Value::Object(Map::new()))
    }

    /// Fields serialised now from typed (possibly borrowed) views, with no intermediate tree. A value that
    /// cannot be serialised (never the case for derived `Serialize` on plain data) becomes `{}`.
    pub fn typed<T: Serialize + ?Sized>(fields: &T) -> Reply {
        Reply::with_body(ReplyBody::Serialized(serde_json::to_vec(fields).unwrap_or_else(|_| b"{}".to_vec())))
    }

    /// No body, HTTP 204.
    pub fn no_content() -> Reply {
        Reply { status: StatusCode::NO_CONTENT, ..Reply::with_body(ReplyBody::Empty) }
    }

    pub fn with_status(mut self, status: StatusCode) -> Reply {
        self.status = status;
        self
    }

    /// Adds a header (a value that is not a valid header value is dropped, never sent garbled).
    pub fn with_header(mut self, name: HeaderName, value: &str) -> Reply {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }

    pub fn with_paging(mut self, paging: PageInfo) -> Reply {
        self.paging = Some(paging);
        self
    }

    /// The body as JSON bytes (`Fields` serialised, `Serialized` as is, `Empty` as nothing).
    pub fn body_bytes(&self) -> Vec<u8> {
        match &self.body {
            ReplyBody::Fields(v) => serde_json::to_vec(v).unwrap_or_default(),
            ReplyBody::Serialized(bytes) => bytes.clone(),
            ReplyBody::Empty => Vec::new(),
        }
    }

    /// The response: `envelope` turns body and paging into the bytes sent (the vendor's success envelope)
    /// and names their content type; status and headers are the reply's. A 204 sends no body.
    pub fn render(self, envelope: impl FnOnce(ReplyBody, Option<PageInfo>) -> (&'static str, Vec<u8>)) -> Response {
        let Reply { status, body, headers, paging } = self;
        let mut response = if status == StatusCode::NO_CONTENT {
            status.into_response()
        } else {
            let (content_type, bytes) = envelope(body, paging);
            (status, [(axum::http::header::CONTENT_TYPE, content_type)], bytes).into_response()
        };
        response.headers_mut().extend(headers);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize)]
    struct Item<'a> {
        name: &'a str,
    }

    #[test]
    fn constructors_and_body_bytes() {
        assert_eq!(Reply::fields(json!({"a": 1})).body_bytes(), br#"{"a":1}"#);
        assert_eq!(Reply::typed(&Item { name: "t" }).body_bytes(), br#"{"name":"t"}"#);
        assert_eq!(Reply::empty_object().body_bytes(), b"{}");
        let none = Reply::no_content();
        assert_eq!((none.status, none.body_bytes()), (StatusCode::NO_CONTENT, Vec::new()));
        let r = Reply::empty_object().with_header(HeaderName::from_static("x-request-id"), "bad\nvalue");
        assert!(r.headers.is_empty(), "an invalid header value is dropped");
    }

    #[tokio::test]
    async fn render_wraps_the_body_in_the_vendors_envelope() {
        let reply = Reply::typed(&[Item { name: "a" }])
            .with_status(StatusCode::CREATED)
            .with_header(HeaderName::from_static("x-subject-token"), "tok")
            .with_paging(PageInfo { page: 2, size: 1, total: 5 });
        let response = reply.render(|body, paging| {
            let data = match body {
                ReplyBody::Serialized(bytes) => String::from_utf8(bytes).unwrap(),
                other => panic!("{other:?}"),
            };
            let paging = paging.unwrap();
            ("application/json", format!(r#"{{"code":200,"currentPage":{},"data":{data}}}"#, paging.page).into_bytes())
        });
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["x-subject-token"], "tok");
        assert_eq!(response.headers()["content-type"], "application/json");
        let bytes = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        assert_eq!(&bytes[..], br#"{"code":200,"currentPage":2,"data":[{"name":"a"}]}"#);
        let empty = Reply::no_content().render(|_, _| panic!("a 204 has no envelope"));
        assert_eq!(empty.status(), StatusCode::NO_CONTENT);
    }
}
