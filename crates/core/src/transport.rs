//! The one seam between protocol logic and the network: browser `fetch` and the native
//! HTTP client both implement [`Transport`], so neither holds any registry logic.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn get(url: impl Into<String>) -> Request {
        Request { method: "GET", url: url.into(), headers: vec![], body: None }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// Authorization values and bodies (token forms carry passwords) never reach a log through Debug.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), if k.eq_ignore_ascii_case("authorization") { redact_authorization(v) } else { v.clone() }))
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &self.body.as_ref().map(|b| format!("<{} bytes>", b.len())))
            .finish()
    }
}

/// Keeps the scheme so a log still tells Basic from Bearer.
pub fn redact_authorization(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} <redacted>"),
        None => "<redacted>".to_string(),
    }
}

pub struct Response<B> {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Where the response finally came from, after redirects the transport followed.
    pub url: String,
    pub body: B,
}

impl<B> Response<B> {
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::registry_error::header(&self.headers, name)
    }

    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length").and_then(|v| v.trim().parse().ok())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The browser refused to hand over a response: fetch rejected with no status, which is what
    /// a missing CORS header or a failed preflight looks like from inside the page.
    #[error("the browser blocked the request to {url} (no response was readable: a CORS header or preflight answer is missing, or the host is unreachable): {message}")]
    Blocked { url: String, message: String },
    #[error("could not connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("request to {url} failed: {message}")]
    Failed { url: String, message: String },
    #[error("reading the response body of {url} failed after {received} bytes: {message}")]
    Body { url: String, received: u64, message: String },
    #[error("request to {url} was cancelled")]
    Aborted { url: String },
}

/// A response body read chunk by chunk, so large blobs stream through hashing and storage.
#[allow(async_fn_in_trait)] // Browser futures are not Send; every caller runs on one thread.
pub trait Body {
    /// The next chunk, or `None` at the end of the body.
    async fn chunk(&mut self) -> Result<Option<Vec<u8>>, TransportError>;
}

#[allow(async_fn_in_trait)] // Browser futures are not Send; every caller runs on one thread.
pub trait Transport {
    type Body: Body;
    /// Sends a request, following redirects without carrying `Authorization` to another host.
    async fn send(&self, request: Request) -> Result<Response<Self::Body>, TransportError>;
}

/// Reads a whole body, refusing more than `limit` bytes so a hostile registry cannot exhaust memory.
pub async fn read_limited<B: Body>(body: &mut B, limit: usize) -> Result<Result<Vec<u8>, usize>, TransportError> {
    let mut out = Vec::new();
    while let Some(chunk) = body.chunk().await? {
        if out.len() + chunk.len() > limit {
            return Ok(Err(out.len() + chunk.len()));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Ok(out))
}

/// The wall clock, supplied by the adapter: the core itself never reads the time.
pub trait Clock {
    fn now(&self) -> u64;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_credentials() {
        let r = Request::get("https://r/v2/").header("Authorization", "Basic YWxpY2U6c2VjcmV0").header("Accept", "x");
        let s = format!("{r:?}");
        assert!(!s.contains("YWxpY2U6c2VjcmV0"), "{s}");
        assert!(s.contains("Basic <redacted>"), "{s}");
        assert!(s.contains("\"x\""));
        let with_body = Request { body: Some(b"password=hunter2".to_vec()), ..Request::get("u") };
        assert!(!format!("{with_body:?}").contains("hunter2"));
        assert_eq!(redact_authorization("token"), "<redacted>");
    }
}
