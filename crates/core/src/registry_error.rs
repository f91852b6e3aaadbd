//! What a registry says when it refuses: the distribution-spec error body, the HTTP status,
//! `Retry-After`, Docker Hub's rate-limit headers and `Warning` headers.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One entry of `{"errors":[{"code","message","detail"}]}`. Codes the spec does not list are kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEntry {
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateLimit {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// The window in seconds (`;w=21600`).
    pub window_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryError {
    pub status: u16,
    pub method: String,
    pub url: String,
    pub errors: Vec<ErrorEntry>,
    /// The start of a body that was not the spec's error JSON (an HTML error page, a proxy's text).
    pub body_excerpt: Option<String>,
    pub retry_after: Option<String>,
    pub retry_after_seconds: Option<u64>,
    pub rate_limit: Option<RateLimit>,
}

const EXCERPT_CHARS: usize = 200;

#[derive(Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorEntry>,
}

/// Response headers as (name, value) pairs; names compared case-insensitively.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

impl RegistryError {
    /// Reads an error response. `now` (unix seconds) turns an HTTP-date `Retry-After` into seconds.
    pub fn from_response(method: &str, url: &str, status: u16, headers: &[(String, String)], body: &[u8], now: u64) -> RegistryError {
        let (errors, body_excerpt) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(b) if !b.errors.is_empty() => (b.errors, None),
            _ => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                let excerpt = (!text.is_empty()).then(|| text.chars().take(EXCERPT_CHARS).collect::<String>());
                (vec![], excerpt)
            }
        };
        let retry_after = header(headers, "retry-after").map(|v| v.trim().to_string());
        let retry_after_seconds = retry_after.as_deref().and_then(|v| {
            v.parse::<u64>().ok().or_else(|| parse_http_date(v).map(|t| t.saturating_sub(now)))
        });
        let rate_limit = parse_rate_limit(headers);
        RegistryError {
            status,
            method: method.to_string(),
            url: url.to_string(),
            errors,
            body_excerpt,
            retry_after,
            retry_after_seconds,
            rate_limit,
        }
    }

    /// The registry's first error code, or the code its status implies when the body had none
    /// (a HEAD has no body; a proxy may answer with HTML).
    pub fn code(&self) -> Option<String> {
        if let Some(e) = self.errors.first() {
            return Some(e.code.clone());
        }
        let implied = match self.status {
            401 => "UNAUTHORIZED",
            403 => "DENIED",
            429 => "TOOMANYREQUESTS",
            _ => return None,
        };
        Some(implied.to_string())
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.code().as_deref() == Some(code) || self.errors.iter().any(|e| e.code == code)
    }

    /// A sentence saying what the code means for someone trying to pull.
    pub fn explanation(&self) -> String {
        let code = self.code().unwrap_or_default();
        let text = match code.as_str() {
            "UNAUTHORIZED" => "The registry wants credentials, or rejected the ones given. Check the username and password (or token) for this registry.",
            "DENIED" => "The credentials were accepted but do not grant access to this repository. Ask for pull rights, or check the repository name.",
            "MANIFEST_UNKNOWN" => "Image not present: the repository exists but has no manifest with this tag or digest.",
            "NAME_UNKNOWN" => "The repository does not exist on this registry (or is hidden from these credentials).",
            "NAME_INVALID" => "The registry does not accept this repository name.",
            "TAG_INVALID" => "The registry does not accept this tag.",
            "BLOB_UNKNOWN" => "The registry does not have a blob this image refers to: the image is broken on the registry.",
            "MANIFEST_BLOB_UNKNOWN" => "A blob the manifest refers to is missing on the registry.",
            "MANIFEST_INVALID" => "The registry considers this manifest invalid.",
            "DIGEST_INVALID" => "The content did not match its digest.",
            "SIZE_INVALID" => "The content did not match its declared size.",
            "UNSUPPORTED" => "The registry does not support this operation.",
            "TOOMANYREQUESTS" => "Rate limited: the registry refuses more requests for now. Wait, log in (authenticated pulls have higher limits), or use a mirror.",
            "UNAVAILABLE" => "The registry is temporarily unavailable. Try again later.",
            "PAGINATION_NUMBER_INVALID" => "The registry refused the page size requested.",
            _ if self.status >= 500 => "The registry failed with a server error. Try again later or ask its administrator.",
            _ if self.status == 404 => "Not found on the registry.",
            _ => "The registry refused the request.",
        };
        let mut out = text.to_string();
        if let Some(s) = self.retry_after_seconds {
            out.push_str(&format!(" Retry after {s} s."));
        }
        if let Some(rl) = &self.rate_limit {
            if let (Some(l), Some(r)) = (rl.limit, rl.remaining) {
                out.push_str(&format!(" Rate limit: {r} of {l} pulls left"));
                if let Some(w) = rl.window_seconds {
                    out.push_str(&format!(" per {} h", w / 3600));
                }
                out.push('.');
            }
        }
        out
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.method, self.url, self.status)?;
        if let Some(reason) = reason_phrase(self.status) {
            write!(f, " {reason}")?;
        }
        if self.errors.is_empty() {
            if let Some(code) = self.code() {
                write!(f, ": {code}")?;
            }
            if let Some(b) = &self.body_excerpt {
                write!(f, ": {b}")?;
            }
        }
        for (i, e) in self.errors.iter().enumerate() {
            write!(f, "{}{}: {}", if i == 0 { ": " } else { "; " }, e.code, e.message)?;
            if let Some(d) = &e.detail {
                if !d.is_null() {
                    write!(f, " ({d})")?;
                }
            }
        }
        if let Some(s) = self.retry_after_seconds {
            write!(f, " (retry after {s} s)")?;
        }
        Ok(())
    }
}

impl std::error::Error for RegistryError {}

fn reason_phrase(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

/// Docker Hub's `ratelimit-limit: 100;w=21600` and `ratelimit-remaining: 76;w=21600`.
pub fn parse_rate_limit(headers: &[(String, String)]) -> Option<RateLimit> {
    let split = |v: &str| -> (Option<u64>, Option<u64>) {
        let mut parts = v.split(';');
        let n = parts.next().and_then(|p| p.trim().parse().ok());
        let w = parts.find_map(|p| p.trim().strip_prefix("w=").and_then(|w| w.trim().parse().ok()));
        (n, w)
    };
    let limit = header(headers, "ratelimit-limit").map(split);
    let remaining = header(headers, "ratelimit-remaining").map(split);
    if limit.is_none() && remaining.is_none() {
        return None;
    }
    Some(RateLimit {
        limit: limit.and_then(|l| l.0),
        remaining: remaining.and_then(|r| r.0),
        window_seconds: limit.and_then(|l| l.1).or(remaining.and_then(|r| r.1)),
    })
}

/// `Warning: 299 - "text"` headers: shown to the person, deduplicated, never acted on.
pub fn parse_warnings(headers: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, v) in headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("warning")) {
        let v = v.trim();
        let Some(rest) = v.strip_prefix("299") else { continue };
        let rest = rest.trim_start().trim_start_matches('-').trim();
        let text = rest.strip_prefix('"').and_then(|r| r.rfind('"').map(|end| &r[..end])).unwrap_or(rest);
        let text = text.replace("\\\"", "\"");
        if !text.is_empty() && !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to unix seconds.
fn parse_http_date(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    let day: u64 = day.parse().ok()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].iter().position(|m| m == month)? as u64 + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<u64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, sec] = hms.as_slice() else { return None };
    if !(1..=31).contains(&day) || *h > 23 || *m > 59 || *sec > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    Some(days * 86400 + h * 3600 + m * 60 + sec)
}

/// Days since 1970-01-01 for a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u64, d: u64) -> Option<u64> {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    u64::try_from(era * 146097 + doe - 719468).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_spec_error_bodies() {
        let cases: Vec<(u16, &str, Option<&str>, usize)> = vec![
            (404, r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}"#, Some("MANIFEST_UNKNOWN"), 1),
            (401, r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Name":"x","Action":"pull"}]}]}"#, Some("UNAUTHORIZED"), 1),
            (403, r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#, Some("DENIED"), 1),
            (404, r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"},{"code":"X_VENDOR","message":"extra"}]}"#, Some("NAME_UNKNOWN"), 2),
            (400, r#"{"errors":[{"code":"SOMETHING_NEW"}]}"#, Some("SOMETHING_NEW"), 1),
            (401, "", Some("UNAUTHORIZED"), 0),
            (403, "<html>forbidden</html>", Some("DENIED"), 0),
            (429, "You have reached your pull rate limit.", Some("TOOMANYREQUESTS"), 0),
            (404, "404 page not found", None, 0),
            (500, r#"{"errors":[]}"#, None, 0),
        ];
        for (status, body, code, n) in cases {
            let e = RegistryError::from_response("GET", "http://r/v2/x/manifests/y", status, &[], body.as_bytes(), 0);
            assert_eq!(e.code().as_deref(), code, "{body}");
            assert_eq!(e.errors.len(), n, "{body}");
        }
    }

    #[test]
    fn display_keeps_status_and_codes() {
        let e = RegistryError::from_response("GET", "http://r/v2/x/manifests/y", 404, &[], br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#, 0);
        assert_eq!(e.to_string(), "GET http://r/v2/x/manifests/y: 404 Not Found: MANIFEST_UNKNOWN: manifest unknown");
        let e = RegistryError::from_response("HEAD", "http://r/v2/", 401, &[], b"", 0);
        assert_eq!(e.to_string(), "HEAD http://r/v2/: 401 Unauthorized: UNAUTHORIZED");
        let e = RegistryError::from_response("GET", "u", 502, &[], b"<h1>bad gateway</h1>", 0);
        assert_eq!(e.to_string(), "GET u: 502 Bad Gateway: <h1>bad gateway</h1>");
        assert!(e.explanation().contains("server error"));
    }

    #[test]
    fn retry_after_and_rate_limits() {
        let headers = h(&[("Retry-After", "120"), ("RateLimit-Limit", "100;w=21600"), ("ratelimit-remaining", "0;w=21600")]);
        let e = RegistryError::from_response("GET", "u", 429, &headers, b"", 0);
        assert_eq!(e.retry_after_seconds, Some(120));
        assert_eq!(e.rate_limit, Some(RateLimit { limit: Some(100), remaining: Some(0), window_seconds: Some(21600) }));
        assert_eq!(e.code().as_deref(), Some("TOOMANYREQUESTS"));
        assert!(e.explanation().contains("Retry after 120 s. Rate limit: 0 of 100 pulls left per 6 h."), "{}", e.explanation());
        assert!(e.to_string().ends_with("(retry after 120 s)"));

        let now = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(now, 784111777);
        let headers = h(&[("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT")]);
        assert_eq!(RegistryError::from_response("GET", "u", 503, &headers, b"", now).retry_after_seconds, Some(30));
        let headers = h(&[("retry-after", "soon")]);
        let e = RegistryError::from_response("GET", "u", 503, &headers, b"", now);
        assert_eq!((e.retry_after.as_deref(), e.retry_after_seconds), (Some("soon"), None));
    }

    #[test]
    fn rate_limit_header_forms() {
        assert_eq!(parse_rate_limit(&h(&[])), None);
        assert_eq!(
            parse_rate_limit(&h(&[("ratelimit-limit", "100")])),
            Some(RateLimit { limit: Some(100), remaining: None, window_seconds: None })
        );
        assert_eq!(
            parse_rate_limit(&h(&[("ratelimit-remaining", "76;w=21600")])),
            Some(RateLimit { limit: None, remaining: Some(76), window_seconds: Some(21600) })
        );
    }

    #[test]
    fn warnings_are_deduplicated() {
        let headers = h(&[
            ("Warning", r#"299 - "this image is deprecated""#),
            ("warning", r#"299 - "this image is deprecated""#),
            ("Warning", r#"299 - "say \"hi\"""#),
            ("Warning", r#"199 - "not a registry warning""#),
        ]);
        assert_eq!(parse_warnings(&headers), vec!["this image is deprecated".to_string(), "say \"hi\"".to_string()]);
    }

    #[test]
    fn http_dates() {
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Sat, 29 Feb 2020 12:00:00 GMT"), Some(1582977600));
        assert_eq!(parse_http_date("Sat, 29 Feb 2020 12:00:00 PST"), None);
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
