//! The native adapter: [`Transport`] over ureq, and the system clock.

use imagescope_core::transport::{Body, Clock, Request, Response, Transport, TransportError};
use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use ureq::config::RedirectAuthHeaders;
use ureq::ResponseExt;

const CHUNK: usize = 256 * 1024;

pub struct NativeTransport {
    agent: ureq::Agent,
}

impl NativeTransport {
    pub fn new() -> NativeTransport {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(10)
            // The spec forbids carrying Authorization to another host; blob redirects to storage rely on it.
            .redirect_auth_headers(RedirectAuthHeaders::SameHost)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .user_agent(concat!("imagescope/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        NativeTransport { agent }
    }
}

pub struct NativeBody {
    reader: Box<dyn Read + Send>,
    url: String,
    received: u64,
}

impl Body for NativeBody {
    async fn chunk(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        let mut buf = vec![0u8; CHUNK];
        let n = self.reader.read(&mut buf).map_err(|e| TransportError::Body {
            url: self.url.clone(),
            received: self.received,
            message: e.to_string(),
        })?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        self.received += n as u64;
        Ok(Some(buf))
    }
}

impl Transport for NativeTransport {
    type Body = NativeBody;

    async fn send(&self, request: Request) -> Result<Response<NativeBody>, TransportError> {
        let url = request.url.clone();
        let failed = |e: ureq::Error| match e {
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::Io(_) => {
                TransportError::Connect { url: url.clone(), message: e.to_string() }
            }
            other => TransportError::Failed { url: url.clone(), message: other.to_string() },
        };
        let mut builder = ureq::http::Request::builder().method(request.method).uri(&request.url);
        for (k, v) in &request.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let http_request = builder
            .body(request.body.unwrap_or_default())
            .map_err(|e| TransportError::Failed { url: url.clone(), message: e.to_string() })?;
        let response = self.agent.run(http_request).map_err(failed)?;
        let final_url = response.get_uri().to_string();
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let reader = Box::new(response.into_body().into_reader());
        Ok(Response { status, headers, url: final_url.clone(), body: NativeBody { reader, url: final_url, received: 0 } })
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }
}
