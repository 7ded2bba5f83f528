//! Parsing of OAuth endpoint responses, tolerant of servers that bend the rules: error bodies
//! with status 200, form-encoded bodies, numbers sent as strings and HTML error pages.

use std::time::{Duration, SystemTime};

use devauth_protocol::ErrorCode;
use serde_json::{Map, Value};

use crate::error::sanitize_text;
use crate::http::HttpResponse;

/// The fields of a JSON object or form-encoded body. Form values are JSON strings.
pub(crate) type Fields = Map<String, Value>;

/// Parses a response body as a JSON object or, failing that, as a form-encoded body.
///
/// Returns `None` for anything else, such as an HTML page, an empty body or a JSON array.
pub(crate) fn parse_fields(response: &HttpResponse) -> Option<Fields> {
    let text = std::str::from_utf8(&response.body).ok()?.trim();
    if text.is_empty() {
        return None;
    }
    let content_type = response
        .header("content-type")
        .unwrap_or_default()
        .to_ascii_lowercase();

    if content_type.contains("json") || text.starts_with('{') {
        return match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(fields)) => Some(fields),
            _ => None,
        };
    }

    // GitHub returns form-encoded bodies when the request lacks `Accept: application/json`, and
    // some servers label such a body `text/plain`. HTML never parses as a form here because it
    // starts with `<`.
    let looks_like_form = content_type.contains("x-www-form-urlencoded")
        || (!text.starts_with('<') && text.contains('='));
    if !looks_like_form {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text).ok()?;
    let mut fields = Map::new();
    for (name, value) in pairs {
        fields.entry(name).or_insert(Value::String(value));
    }
    Some(fields)
}

/// Returns a string field; numbers are not accepted as strings.
pub(crate) fn string_field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields.get(name).and_then(Value::as_str)
}

/// Returns a number field given as a JSON number or as a decimal string, in seconds.
pub(crate) fn seconds_field(fields: &Fields, name: &str) -> Option<f64> {
    match fields.get(name)? {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|seconds| seconds.is_finite())
}

/// The maximum interval or Retry-After that the client honors, so a garbled value cannot stall
/// a poller for days. A deadline from `expires_in` still applies first.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(3600);

/// Converts a positive number of seconds to a whole-second duration, rounding up and capping at
/// [`MAX_WAIT`]. Zero, negative and non-finite values yield `None`.
pub(crate) fn positive_seconds(seconds: Option<f64>) -> Option<Duration> {
    // NaN fails this comparison too.
    let seconds = seconds.filter(|seconds| *seconds > 0.0)?;
    let whole = seconds.ceil().min(MAX_WAIT.as_secs_f64());
    Some(Duration::from_secs(whole as u64))
}

/// The OAuth error carried by a response, if its body has an `error` field.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub(crate) code: ErrorCode,
    pub(crate) description: Option<String>,
    /// The `interval` some servers send with `slow_down`.
    pub(crate) interval: Option<Duration>,
}

/// Returns the OAuth error in `fields`, whatever the response's status.
pub(crate) fn oauth_error(fields: &Fields) -> Option<OAuthError> {
    let code = string_field(fields, "error")?;
    Some(OAuthError {
        code: ErrorCode::parse(code),
        description: string_field(fields, "error_description").map(sanitize_text),
        interval: positive_seconds(seconds_field(fields, "interval")),
    })
}

/// Returns whether a status means "retry later": 429 and every 5xx.
pub(crate) fn is_transient_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Parses `Retry-After` (RFC 9110 section 10.2.3): delay seconds or an HTTP date.
pub(crate) fn retry_after(response: &HttpResponse, now: SystemTime) -> Option<Duration> {
    let value = response.header("retry-after")?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds).min(MAX_WAIT));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    let delay = date.duration_since(now).unwrap_or(Duration::ZERO);
    Some(delay.min(MAX_WAIT))
}

/// Returns the `Content-Type` of a response for error messages.
pub(crate) fn content_type(response: &HttpResponse) -> Option<String> {
    response.header("content-type").map(sanitize_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(content_type: &str, body: &str) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn form_body_parses_like_json() {
        let fields = parse_fields(&response(
            "application/x-www-form-urlencoded; charset=utf-8",
            "error=authorization_pending&error_description=wait+a+bit",
        ))
        .unwrap();
        let error = oauth_error(&fields).unwrap();
        assert_eq!(error.code, ErrorCode::AuthorizationPending);
        assert_eq!(error.description.as_deref(), Some("wait a bit"));
    }

    #[test]
    fn json_without_content_type_still_parses() {
        let fields =
            parse_fields(&response("", r#"{"error":"slow_down","interval":"10"}"#)).unwrap();
        let error = oauth_error(&fields).unwrap();
        assert_eq!(error.code, ErrorCode::SlowDown);
        assert_eq!(error.interval, Some(Duration::from_secs(10)));
    }

    #[test]
    fn html_page_is_not_a_protocol_body() {
        let page = "<html><body>502 Bad Gateway a=b</body></html>";
        assert!(parse_fields(&response("text/html", page)).is_none());
        assert!(parse_fields(&response("", page)).is_none());
    }

    #[test]
    fn positive_seconds_rejects_zero_negative_and_nan() {
        assert_eq!(positive_seconds(Some(0.0)), None);
        assert_eq!(positive_seconds(Some(-3.0)), None);
        assert_eq!(positive_seconds(Some(f64::NAN)), None);
        assert_eq!(positive_seconds(None), None);
        assert_eq!(positive_seconds(Some(1.2)), Some(Duration::from_secs(2)));
        assert_eq!(positive_seconds(Some(1e30)), Some(MAX_WAIT));
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut answer = response("text/plain", "");
        answer.headers.push(("Retry-After".into(), "7".into()));
        assert_eq!(retry_after(&answer, now), Some(Duration::from_secs(7)));

        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        answer.headers.pop();
        answer.headers.push(("retry-after".into(), later));
        assert_eq!(retry_after(&answer, now), Some(Duration::from_secs(30)));
    }
}
