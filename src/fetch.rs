//! The browser side of the core's transport seam: `fetch` with explicit credentials only,
//! bodies read from the response's ReadableStream into one reused buffer.

use imagescope_core::transport::{Body, Clock, Request, Response, Transport, TransportError};
use js_sys::{ArrayBuffer, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Headers, ReadableStream, ReadableStreamByobReader, ReadableStreamDefaultReader, RequestCache,
    RequestCredentials, RequestInit, RequestMode, RequestRedirect,
};

/// The buffer a body is read into. A pull hashes what one chunk brings while the network
/// refills its pipe, so a chunk waits for [`GATHER_MIN`] bytes but not for a full buffer.
const GATHER_MAX: u32 = 1 << 20;
const GATHER_MIN: u32 = 256 << 10;

mod global {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// The global `fetch`, so the same transport also runs inside a worker.
        #[wasm_bindgen(js_name = fetch)]
        pub fn fetch_with_request(input: &web_sys::Request) -> js_sys::Promise;
    }
}

/// Where `imagescope serve` mounts its same-origin registry proxy.
pub const PROXY_PREFIX: &str = "/proxy/";
/// The path the proxy answers with `{"proxy": true}`.
pub const PROXY_PROBE: &str = "/proxy/_imagescope";

/// Sends registry requests either straight to the registry or through a same-origin proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchTransport {
    /// The page's origin when requests go through `imagescope serve`'s proxy.
    proxy_origin: Option<String>,
}

impl FetchTransport {
    pub fn direct() -> FetchTransport {
        FetchTransport { proxy_origin: None }
    }

    pub fn via_proxy(origin: &str) -> FetchTransport {
        FetchTransport {
            proxy_origin: Some(origin.trim_end_matches('/').to_string()),
        }
    }

    pub fn is_proxied(&self) -> bool {
        self.proxy_origin.is_some()
    }

    /// The URL actually fetched: registry URLs are rewritten to `/proxy/<scheme>/<host>/<path>`,
    /// URLs the proxy itself handed out (rewritten token realms) are left alone.
    pub fn outgoing_url(&self, url: &str) -> String {
        match &self.proxy_origin {
            Some(origin) => to_proxy_url(origin, url),
            None => url.to_string(),
        }
    }

    /// The registry URL a response came from, so logs and `Link` paging see registry URLs.
    pub fn registry_url(&self, url: &str) -> String {
        match &self.proxy_origin {
            Some(origin) => from_proxy_url(origin, url),
            None => url.to_string(),
        }
    }
}

pub fn to_proxy_url(origin: &str, url: &str) -> String {
    let proxied_prefix = format!("{origin}{PROXY_PREFIX}");
    if url.starts_with(&proxied_prefix) {
        return url.to_string();
    }
    match url.split_once("://") {
        Some((scheme, rest)) if scheme == "http" || scheme == "https" => {
            format!("{proxied_prefix}{scheme}/{rest}")
        }
        _ => url.to_string(),
    }
}

/// Header values with the proxy's URLs turned back into registry URLs. The proxy points token
/// realms and `Link`s at itself; the core must see the registry's own URLs to apply its rules
/// (no credentials to a plain-http realm of an https registry, `Link`s only to the same origin),
/// and this transport sends them through the proxy again anyway.
pub fn unproxy_text(origin: &str, text: &str) -> String {
    ["https", "http"]
        .iter()
        .fold(text.to_string(), |acc, scheme| {
            acc.replace(
                &format!("{origin}{PROXY_PREFIX}{scheme}/"),
                &format!("{scheme}://"),
            )
        })
}

pub fn from_proxy_url(origin: &str, url: &str) -> String {
    let proxied_prefix = format!("{origin}{PROXY_PREFIX}");
    let Some(rest) = url.strip_prefix(&proxied_prefix) else {
        return url.to_string();
    };
    match rest.split_once('/') {
        Some((scheme, tail)) if scheme == "http" || scheme == "https" => {
            format!("{scheme}://{tail}")
        }
        _ => url.to_string(),
    }
}

fn js_message(value: &JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return format!(
            "{}: {}",
            String::from(error.name()),
            String::from(error.message())
        );
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

fn is_abort(value: &JsValue) -> bool {
    value
        .dyn_ref::<js_sys::Error>()
        .is_some_and(|e| e.name() == "AbortError")
}

fn build_request(request: &Request, url: &str) -> Result<web_sys::Request, JsValue> {
    let init = RequestInit::new();
    init.set_method(request.method);
    init.set_mode(RequestMode::Cors);
    // Only credentials the person typed are ever sent, never the browser's cookies or Basic cache.
    init.set_credentials(RequestCredentials::Omit);
    init.set_cache(RequestCache::NoStore);
    // Script cannot read a Location header, so the browser follows blob redirects itself
    // (and drops Authorization when the redirect leaves the origin).
    init.set_redirect(RequestRedirect::Follow);
    let headers = Headers::new()?;
    for (name, value) in &request.headers {
        headers.append(name, value)?;
    }
    init.set_headers(&headers);
    if let Some(body) = &request.body {
        init.set_body(&Uint8Array::from(body.as_slice()));
    }
    web_sys::Request::new_with_str_and_init(url, &init)
}

fn response_headers(response: &web_sys::Response) -> Vec<(String, String)> {
    let Ok(Some(entries)) = js_sys::try_iter(&response.headers()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|pair| {
            let pair: js_sys::Array = pair.dyn_into().ok()?;
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect()
}

impl Transport for FetchTransport {
    type Body = FetchBody;

    async fn send(&self, request: Request) -> Result<Response<FetchBody>, TransportError> {
        let url = self.outgoing_url(&request.url);
        let failed = |message: String| TransportError::Failed {
            url: request.url.clone(),
            message,
        };
        let web_request = build_request(&request, &url).map_err(|e| failed(js_message(&e)))?;
        let response = match JsFuture::from(global::fetch_with_request(&web_request)).await {
            Ok(response) => response.unchecked_into::<web_sys::Response>(),
            Err(e) if is_abort(&e) => {
                return Err(TransportError::Aborted {
                    url: request.url.clone(),
                })
            }
            // fetch rejects with a bare TypeError and no status when CORS or the network refuses.
            Err(e) => {
                return Err(TransportError::Blocked {
                    url: request.url.clone(),
                    message: js_message(&e),
                })
            }
        };
        let final_url = match response.url() {
            u if u.is_empty() => request.url.clone(),
            u => self.registry_url(&u),
        };
        let reader = response.body().map(Reader::of);
        let mut headers = response_headers(&response);
        if let Some(origin) = &self.proxy_origin {
            for (_, value) in headers.iter_mut() {
                *value = unproxy_text(origin, value);
            }
        }
        Ok(Response {
            status: response.status(),
            headers,
            url: final_url.clone(),
            body: FetchBody {
                reader,
                url: final_url,
                received: 0,
            },
        })
    }
}

/// A response body as the browser streams it.
pub struct FetchBody {
    reader: Option<Reader>,
    url: String,
    received: u64,
}

/// Fetch bodies are byte streams, read into our own buffer (a read detaches it and hands it
/// back); any other stream falls back to the default reader and its fresh chunk per read.
enum Reader {
    Bytes {
        reader: ReadableStreamByobReader,
        buffer: Option<ArrayBuffer>,
    },
    Chunks(ReadableStreamDefaultReader),
}

/// What one `read()` brought.
enum Read {
    Done(JsValue),
    Value(JsValue),
}

impl Reader {
    fn of(stream: ReadableStream) -> Reader {
        match ReadableStreamByobReader::new(&stream) {
            Ok(reader) => Reader::Bytes { reader, buffer: None },
            Err(_) => Reader::Chunks(stream.get_reader().unchecked_into()),
        }
    }

    fn cancel(&self) {
        let _ = match self {
            Reader::Bytes { reader, .. } => reader.cancel(),
            Reader::Chunks(reader) => reader.cancel(),
        };
    }
}

async fn read(promise: Promise) -> Result<Read, JsValue> {
    let result = JsFuture::from(promise).await?;
    let done = Reflect::get(&result, &JsValue::from_str("done"))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    let value = Reflect::get(&result, &JsValue::from_str("value")).unwrap_or(JsValue::UNDEFINED);
    Ok(if done { Read::Done(value) } else { Read::Value(value) })
}

impl FetchBody {
    fn failed(&mut self, e: &JsValue) -> TransportError {
        // An errored stream has nothing left to cancel.
        self.reader = None;
        TransportError::Body {
            url: self.url.clone(),
            received: self.received,
            message: js_message(e),
        }
    }

    /// Fills the buffer up to [`GATHER_MIN`] bytes or the end of the body; `None` at the end.
    async fn gather(
        &mut self,
        reader: &ReadableStreamByobReader,
        mut buffer: ArrayBuffer,
    ) -> Result<Option<Vec<u8>>, TransportError> {
        let mut filled = 0u32;
        let mut ended = false;
        while filled < GATHER_MIN {
            let view = Uint8Array::new_with_byte_offset_and_length(&buffer, filled, GATHER_MAX - filled);
            let (value, done) = match read(reader.read_with_array_buffer_view(&view)).await {
                Ok(Read::Value(v)) => (v, false),
                Ok(Read::Done(v)) => (v, true),
                Err(e) => return Err(self.failed(&e)),
            };
            // The view comes back over the same memory, now owned by a new ArrayBuffer.
            match value.dyn_into::<Uint8Array>() {
                Ok(view) => {
                    buffer = view.buffer();
                    filled += view.byte_length();
                }
                Err(_) if done => {}
                Err(v) => return Err(self.failed(&v)),
            }
            if done {
                ended = true;
                break;
            }
        }
        let bytes = Uint8Array::new_with_byte_offset_and_length(&buffer, 0, filled).to_vec();
        if ended {
            self.reader = None;
        } else if let Some(Reader::Bytes { buffer: slot, .. }) = &mut self.reader {
            *slot = Some(buffer);
        }
        self.received += bytes.len() as u64;
        Ok((!bytes.is_empty()).then_some(bytes))
    }
}

impl Body for FetchBody {
    async fn chunk(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        match &mut self.reader {
            None => Ok(None),
            Some(Reader::Bytes { reader, buffer }) => {
                let reader = reader.clone();
                let buffer = buffer.take().unwrap_or_else(|| ArrayBuffer::new(GATHER_MAX));
                self.gather(&reader, buffer).await
            }
            Some(Reader::Chunks(reader)) => match read(reader.read()).await {
                Err(e) => Err(self.failed(&e)),
                Ok(Read::Done(_)) => {
                    self.reader = None;
                    Ok(None)
                }
                Ok(Read::Value(value)) => {
                    let bytes = value
                        .dyn_into::<Uint8Array>()
                        .map(|a| a.to_vec())
                        .unwrap_or_default();
                    self.received += bytes.len() as u64;
                    Ok(Some(bytes))
                }
            },
        }
    }
}

/// A body dropped before its end (a cancelled listing or pull) cancels its stream, so the
/// browser stops downloading instead of buffering what no one will read.
impl Drop for FetchBody {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.cancel();
        }
    }
}

/// Unix seconds from the browser's clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DateClock;

impl Clock for DateClock {
    fn now(&self) -> u64 {
        (js_sys::Date::now() / 1000.0) as u64
    }
}

/// Whether the page is served by `imagescope serve`, which answers the probe with `{"proxy": true}`.
pub async fn detect_proxy() -> bool {
    let request = Request::get(PROXY_PROBE).header("Accept", "application/json");
    let Ok(web_request) = build_request(&request, PROXY_PROBE) else {
        return false;
    };
    let Ok(response) = JsFuture::from(global::fetch_with_request(&web_request)).await else {
        return false;
    };
    let response: web_sys::Response = response.unchecked_into();
    if response.status() != 200 {
        return false;
    }
    let Ok(text) = response.text() else {
        return false;
    };
    let Ok(text) = JsFuture::from(text).await else {
        return false;
    };
    let text = text.as_string().unwrap_or_default();
    // As bytes, like every other JSON read: the web app then links one JSON reader, not two.
    serde_json::from_slice::<serde_json::Value>(text.as_bytes())
        .is_ok_and(|v| v.get("proxy") == Some(&serde_json::Value::Bool(true)))
}

/// The page's own origin, e.g. `http://127.0.0.1:8080`.
pub fn page_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// How a bare GET to `url` fares: `Ok(status)` when a response came back (status 0 for an opaque
/// `no-cors` answer), `Err` when fetch rejected. The CORS diagnosis compares the two modes.
pub async fn probe(url: &str, mode: RequestMode) -> Result<u16, String> {
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_mode(mode);
    init.set_credentials(RequestCredentials::Omit);
    init.set_cache(RequestCache::NoStore);
    let request =
        web_sys::Request::new_with_str_and_init(url, &init).map_err(|e| js_message(&e))?;
    match JsFuture::from(global::fetch_with_request(&request)).await {
        Ok(response) => Ok(response.unchecked_into::<web_sys::Response>().status()),
        Err(e) => Err(js_message(&e)),
    }
}
