//! `imagescope serve`: the built app plus a same-origin registry proxy at `/proxy/`.
//!
//! Many registries cannot be read from a page on another origin: they send no CORS headers
//! (Docker Hub, ACR, Harbor) or answer the preflight of an authenticated request with 401
//! (every auth-enabled distribution registry). Served from here, the app reaches them through
//! its own origin instead.

mod files;
mod policy;
mod proxy;
mod rewrite;

use files::{Lookup, Site};
use policy::{parse_authority, Policy, Refusal};
use proxy::{Outgoing, Proxy, ProxyError, Target};
use serde_json::json;
use std::io::{self, Cursor, Read};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

/// OAuth2 token requests are small forms; nothing else is posted.
const MAX_REQUEST_BODY: u64 = 64 * 1024;

#[derive(clap::Args, Clone, Debug)]
pub struct ServeArgs {
    /// Address to listen on. A non-loopback address needs --allow-remote.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Allow a non-loopback --listen address and any Host name: whoever reaches the port can
    /// then use the proxy.
    #[arg(long)]
    pub allow_remote: bool,
    /// The built app (the output of `trunk build`).
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub dist: PathBuf,
    /// Reach this upstream host (host or host:port) over plain http. Loopback hosts may always
    /// use http.
    #[arg(long = "plain-http", value_name = "HOST")]
    pub plain_http: Vec<String>,
    /// Let the proxy reach registries on this machine (127.0.0.0/8, ::1, localhost), such as a
    /// local test registry. Private and link-local networks stay out of reach regardless.
    #[arg(long)]
    pub allow_loopback: bool,
}

#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error("cannot use --listen {addr}: {reason}")]
    Listen { addr: String, reason: String },
    #[error(
        "refusing to listen on {0}, which is not a loopback address: anyone who can reach it \
         could use the proxy (pass --allow-remote to do it anyway)"
    )]
    NotLoopback(SocketAddr),
    #[error("cannot serve the app from {}: {source} (build it first, or point --dist at it)", dir.display())]
    Dist { dir: PathBuf, source: io::Error },
    #[error("cannot listen on {addr}: {message}")]
    Bind { addr: SocketAddr, message: String },
}

pub fn run(args: &ServeArgs) -> ExitCode {
    match start(args) {
        Ok((server, state)) => {
            let state = Arc::new(state);
            for request in server.incoming_requests() {
                let state = Arc::clone(&state);
                // One thread per request: parallel layer downloads each hold one for minutes.
                thread::spawn(move || state.handle(request));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("imagescope serve: {e}");
            ExitCode::FAILURE
        }
    }
}

fn start(args: &ServeArgs) -> Result<(tiny_http::Server, State), ServeError> {
    let listen_error = |reason: String| ServeError::Listen { addr: args.listen.clone(), reason };
    let candidates: Vec<SocketAddr> = args.listen.to_socket_addrs().map_err(|e| listen_error(e.to_string()))?.collect();
    let addr = *candidates.first().ok_or_else(|| listen_error("it resolves to no address".to_string()))?;
    if !args.allow_remote {
        if let Some(open) = candidates.iter().find(|a| !a.ip().is_loopback()) {
            return Err(ServeError::NotLoopback(*open));
        }
    }
    let site = Site::open(&args.dist).map_err(|source| ServeError::Dist { dir: args.dist.clone(), source })?;
    let server = tiny_http::Server::http(addr).map_err(|e| ServeError::Bind { addr, message: e.to_string() })?;
    let bound = server.server_addr().to_ip().unwrap_or(addr);
    println!("imagescope serve: listening on http://{bound} (app from {})", args.dist.display());
    let proxy = Proxy::new(Policy::new(args.allow_loopback, &args.plain_http));
    Ok((server, State { site, proxy, allow_remote: args.allow_remote, bound }))
}

struct State {
    site: Site,
    proxy: Proxy,
    allow_remote: bool,
    bound: SocketAddr,
}

/// A response about to be written, and what the log line says about it.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Box<dyn Read + Send>,
    length: Option<u64>,
    /// A file path or a proxied URL, never with a query: token requests carry them.
    subject: String,
    note: String,
}

impl Reply {
    fn new(status: u16, content_type: &str, body: Vec<u8>, subject: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            length: Some(body.len() as u64),
            body: Box::new(Cursor::new(body)),
            subject: subject.to_string(),
            note: String::new(),
        }
    }

    fn text(status: u16, message: &str, subject: &str) -> Reply {
        Reply::new(status, "text/plain; charset=utf-8", format!("{message}\n").into_bytes(), subject)
    }

    /// Shaped like a registry's error body, so the app reports it the way it reports those.
    fn proxy_error(error: &ProxyError, subject: &str) -> Reply {
        let body = json!({"errors": [{"code": error.code(), "message": error.to_string(), "detail": {"proxy": "imagescope serve"}}]});
        let mut reply = Reply::new(error.status(), "application/json", body.to_string().into_bytes(), subject);
        reply.note = format!(" ({error})");
        reply
    }
}

impl State {
    fn handle(&self, mut request: tiny_http::Request) {
        let method = request.method().as_str().to_string();
        let path = request.url().split('?').next().unwrap_or_default().to_string();
        let mut reply = self.route(&mut request, &method, &path);
        for (name, value) in [
            ("Content-Security-Policy", self.site.csp()),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
            ("Cross-Origin-Resource-Policy", "same-origin"),
            ("Server", concat!("imagescope/", env!("CARGO_PKG_VERSION"))),
        ] {
            reply.headers.push((name.to_string(), value.to_string()));
        }
        let headers = reply
            .headers
            .iter()
            .filter_map(|(n, v)| tiny_http::Header::from_bytes(n.as_bytes(), v.as_bytes()).ok())
            .collect();
        let sent = Arc::new(AtomicU64::new(0));
        let body = Counted { inner: io::BufReader::with_capacity(256 * 1024, reply.body), count: Arc::clone(&sent) };
        let length = reply.length.and_then(|n| usize::try_from(n).ok());
        // Never chunk a body whose length is known: the app shows download progress from it.
        let response = tiny_http::Response::new(tiny_http::StatusCode(reply.status), headers, body, length, None)
            .with_chunked_threshold(usize::MAX);
        let outcome = match request.respond(response) {
            Ok(()) => String::new(),
            Err(e) => format!(" (stopped: {e})"),
        };
        let bytes = sent.load(Ordering::Relaxed);
        eprintln!("imagescope serve: {method} {} {} {bytes} bytes{}{outcome}", reply.subject, reply.status, reply.note);
    }

    fn route(&self, request: &mut tiny_http::Request, method: &str, path: &str) -> Reply {
        let base = match self.base(request) {
            Ok(base) => base,
            Err(refusal) => return Reply::proxy_error(&refusal.into(), path),
        };
        match path.strip_prefix("/proxy/") {
            Some(rest) => {
                if let Err(refusal) = same_origin(request, &base) {
                    return Reply::proxy_error(&refusal.into(), path);
                }
                self.proxy(request, method, path, rest, &base)
            }
            None => self.file(method, path),
        }
    }

    /// This server's origin as the page addressed it, from `Host`. Unless remote use was
    /// allowed, only loopback names are accepted, so a DNS name rebound to 127.0.0.1 cannot
    /// make a foreign page same-origin with the proxy.
    fn base(&self, request: &tiny_http::Request) -> Result<String, Refusal> {
        let Some(host) = header(request, "Host") else { return Ok(format!("http://{}", self.bound)) };
        let Some((name, port)) = parse_authority(host.trim()) else { return Err(Refusal::HostHeader(host)) };
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        let local = name == "localhost" || name.ends_with(".localhost") || bare.parse::<IpAddr>().is_ok();
        if !local && !self.allow_remote {
            return Err(Refusal::HostHeader(host));
        }
        // Spelled the way a browser writes this page's Origin, which leaves out port 80.
        Ok(match port.filter(|&p| p != 80) {
            Some(p) => format!("http://{name}:{p}"),
            None => format!("http://{name}"),
        })
    }

    fn file(&self, method: &str, path: &str) -> Reply {
        if method != "GET" && method != "HEAD" {
            let mut reply = Reply::text(405, "only GET and HEAD are served here", path);
            reply.headers.push(("Allow".into(), "GET, HEAD".into()));
            return reply;
        }
        match self.site.lookup(path) {
            Lookup::Found { file, len, mime } => Reply {
                status: 200,
                headers: vec![("Content-Type".into(), mime.into()), ("Cache-Control".into(), "no-cache".into())],
                body: Box::new(file),
                length: Some(len),
                subject: path.to_string(),
                note: String::new(),
            },
            Lookup::Missing => Reply::text(404, "not found", path),
            Lookup::BadPath => Reply::text(400, "bad path", path),
        }
    }

    fn proxy(&self, request: &mut tiny_http::Request, method: &str, path: &str, rest: &str, base: &str) -> Reply {
        if rest == "_imagescope" {
            let body = json!({"proxy": true, "version": env!("CARGO_PKG_VERSION")});
            return Reply::new(200, "application/json", body.to_string().into_bytes(), path);
        }
        let target = match Target::parse(rest) {
            Ok(t) => t,
            Err(e) => return Reply::proxy_error(&e, path),
        };
        let subject = target.url();
        let mut body = Vec::new();
        if method == "POST" {
            if let Err(e) = request.as_reader().take(MAX_REQUEST_BODY + 1).read_to_end(&mut body) {
                return Reply::text(400, &format!("cannot read the request body: {e}"), &subject);
            }
            if body.len() as u64 > MAX_REQUEST_BODY {
                return Reply::text(413, "request body too large for a token request", &subject);
            }
        }
        let headers = ["authorization", "accept", "range", "content-type"]
            .into_iter()
            .filter_map(|name| header(request, name).map(|v| (name, v)))
            .collect();
        let url = request.url().to_string();
        let query = url.split_once('?').map(|(_, q)| q);
        match self.proxy.forward(&target, Outgoing { method, query, headers, body, base }) {
            Ok(forwarded) => {
                let mut headers = forwarded.headers;
                // Registry answers depend on credentials; no browser cache should keep them.
                headers.push(("Cache-Control".into(), "no-store".into()));
                let note = forwarded.redirected_to.map(|o| format!(" (via redirect to {o})")).unwrap_or_default();
                Reply { status: forwarded.status, headers, body: forwarded.body, length: forwarded.length, subject, note }
            }
            Err(e) => Reply::proxy_error(&e, &subject),
        }
    }
}

/// Pages on other sites may send requests here too (blindly, without reading the answer);
/// refusing them keeps the proxy the app's alone.
fn same_origin(request: &tiny_http::Request, base: &str) -> Result<(), Refusal> {
    let site_ok = header(request, "Sec-Fetch-Site").is_none_or(|s| s == "same-origin" || s == "none");
    let origin_ok = header(request, "Origin").is_none_or(|o| o == base);
    if site_ok && origin_ok {
        Ok(())
    } else {
        Err(Refusal::CrossSite)
    }
}

fn header(request: &tiny_http::Request, name: &'static str) -> Option<String> {
    request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str().to_string())
}

/// Counts what reaches the client, for the log line.
struct Counted {
    /// Buffered: upstream reads then come in large pieces while the server writes small ones.
    inner: io::BufReader<Box<dyn Read + Send>>,
    count: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
