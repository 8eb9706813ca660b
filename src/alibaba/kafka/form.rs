//! `application/x-www-form-urlencoded` parameters of the Alibaba RPC (Kafka, ONS) and `/json` requests,
//! decoded once (`crate::http::form_parse`, the WHATWG form rules `form_urlencoded` implements) straight into
//! the caller's map or list: no intermediate list of pairs.

use crate::http::ApiRequest;

/// Calls `f` with each decoded (name, value) pair of `input`, in order (as `form_urlencoded::parse`: `+` a
/// space, `%XY` the byte XY, invalid UTF-8 replaced by U+FFFD).
pub fn for_each_pair(input: &[u8], mut f: impl FnMut(String, String)) {
    for (name, value) in crate::http::form_parse(input) {
        f(name.into_owned(), value.into_owned());
    }
}

/// Whether a POST's body is read as a form: [`ApiRequest::form_body`]'s rule (a urlencoded content type,
/// or a body that reads as `k=v&...` when the client sent none).
pub fn body_is_form(req: &ApiRequest) -> bool {
    req.form_body().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_arrive_decoded_in_order() {
        let mut out = Vec::new();
        for_each_pair(b"Timestamp=2016-02-23T12%3A46%3A24Z&x=a+b&&z&Signature=ab%2Bc%3D", |k, v| out.push((k, v)));
        let expected = [("Timestamp", "2016-02-23T12:46:24Z"), ("x", "a b"), ("z", ""), ("Signature", "ab+c=")];
        assert_eq!(out, expected.map(|(k, v)| (k.to_string(), v.to_string())));
    }
}
