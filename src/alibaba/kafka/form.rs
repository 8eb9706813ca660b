//! `application/x-www-form-urlencoded` decoding of the Alibaba RPC (Kafka, ONS) and `/json` parameters, on
//! every request's path. It follows `form_urlencoded::parse` (the WHATWG form parser, what
//! `crate::http::form_pairs` uses) exactly, pinned by the tests below, but costs less per request: a
//! component without `%` or `+` (most of them) is checked with the fast `str::from_utf8` and copied once,
//! and nothing is collected into an intermediate list.

use crate::http::ApiRequest;

/// Calls `f` with each decoded (name, value) pair of `input`, in order: segments separated by `&`, empty
/// segments skipped, split at the first `=` (a segment without one is a name with an empty value), `+` a
/// space, `%XY` the byte XY, a `%` without two hex digits after it kept as is, invalid UTF-8 replaced by
/// U+FFFD.
pub fn for_each_pair(input: &[u8], mut f: impl FnMut(String, String)) {
    for segment in input.split(|&b| b == b'&') {
        if segment.is_empty() {
            continue;
        }
        let (name, value) = match segment.iter().position(|&b| b == b'=') {
            Some(i) => (&segment[..i], &segment[i + 1..]),
            None => (segment, &[][..]),
        };
        f(decode(name), decode(value));
    }
}

/// One decoded component.
pub fn decode(raw: &[u8]) -> String {
    if !raw.iter().any(|&b| b == b'%' || b == b'+') {
        return match std::str::from_utf8(raw) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(raw).into_owned(),
        };
    }
    String::from_utf8(unescape(raw)).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `+` to a space and `%XY` to its byte, in one pass (the form parser replaces `+` first, then
/// percent-decodes: a `%2B` is a `+`, and a `+` after a `%` is no hex digit, so both orders agree).
fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                if let (Some(high), Some(low)) = (raw.get(i + 1).and_then(hex), raw.get(i + 2).and_then(hex)) {
                    out.push(high << 4 | low);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).map(|d| d as u8)
}

/// Whether a POST's body is read as a form: `crate::http::ApiRequest::form_pairs`'s rule (a urlencoded
/// content type, or a body that reads as `k=v&...` when the client sent none), without lower-casing the
/// content type into a new String.
pub fn body_is_form(req: &ApiRequest) -> bool {
    const FORM: &[u8] = b"application/x-www-form-urlencoded";
    let declared = req.header("content-type").is_some_and(|ct| {
        ct.trim_start().as_bytes().get(..FORM.len()).is_some_and(|prefix| prefix.eq_ignore_ascii_case(FORM))
    });
    let body = &req.body;
    declared || (body.first().is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') && body.contains(&b'='))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(input: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for_each_pair(input, |k, v| out.push((k, v)));
        out
    }

    #[test]
    fn decoding_agrees_with_the_form_parser() {
        let cases: &[&[u8]] = &[
            b"",
            b"a=1&b=2",
            b"Timestamp=2016-02-23T12%3A46%3A24Z&Signature=ab%2Bc%3D",
            b"x=a+b&y=%2B&&z&=v&w==",
            b"bad=%&bad2=%4&bad3=%zz&bad4=%+1&pct=%25%41",
            b"utf=%E4%B8%AD&broken=%FF%C3&raw=\xc3\xa9\xff",
        ];
        for input in cases {
            let expected: Vec<(String, String)> = form_urlencoded::parse(input).into_owned().collect();
            assert_eq!(decoded(input), expected, "{:?}", String::from_utf8_lossy(input));
        }
    }

    /// Every string of up to 5 bytes over the alphabet that matters (separators, escapes, hex digits,
    /// bytes of broken and whole UTF-8) decodes as the form parser decodes it.
    #[test]
    fn decoding_agrees_with_the_form_parser_exhaustively() {
        let alphabet: &[u8] = b"a=&%+2BF\xff\xc3\xa9";
        let mut input = Vec::new();
        fn walk(alphabet: &[u8], input: &mut Vec<u8>, left: usize) {
            let expected: Vec<(String, String)> = form_urlencoded::parse(input).into_owned().collect();
            assert_eq!(decoded(input), expected, "{input:?}");
            if left == 0 {
                return;
            }
            for &b in alphabet {
                input.push(b);
                walk(alphabet, input, left - 1);
                input.pop();
            }
        }
        walk(alphabet, &mut input, 5);
    }
}
