//! The same-origin registry proxy: `/proxy/<scheme>/<host[:port]>/<path>?<query>` forwards to
//! `<scheme>://<host[:port]>/<path>?<query>`.
//!
//! What it forwards is narrow on purpose, since any page that can reach it could ask: registry
//! API paths, and the token realms registries named through it.

use super::files::percent_decode;
use super::policy::{AddressRefused, GuardedResolver, Origin, Policy, Reach, Refusal, Scheme};
use super::rewrite::{parse_absolute, proxied, resolve, rewrite_challenges, rewrite_links};
use std::collections::HashSet;
use std::io::Read;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use ureq::unversioned::transport::DefaultConnector;

const MAX_REDIRECTS: usize = 10;

/// Response headers a registry client reads; everything else (cookies, cache validators,
/// server details) stays upstream. `Content-Length` travels separately as the body length.
const PASSED_HEADERS: &[&str] = &[
    "content-type",
    "content-range",
    "accept-ranges",
    "docker-content-digest",
    "docker-distribution-api-version",
    "link",
    "www-authenticate",
    "retry-after",
    "warning",
    "docker-ratelimit-source",
];
const PASSED_PREFIXES: &[&str] = &["ratelimit-", "oci-"];

/// A proxy URL, parsed.
pub struct Target {
    pub origin: Origin,
    /// Percent-encoded as the page sent it.
    pub path: String,
}

impl Target {
    /// `rest` is what follows `/proxy/`, without the query.
    pub fn parse(rest: &str) -> Result<Target, ProxyError> {
        let Some((scheme, rest)) = rest.split_once('/') else {
            return Err(ProxyError::BadTarget(rest.to_string()));
        };
        let scheme = Scheme::parse(scheme).ok_or_else(|| Refusal::Scheme(scheme.to_string()))?;
        let (authority, path) = match rest.split_once('/') {
            Some((a, p)) => (a, format!("/{p}")),
            None => (rest, "/".to_string()),
        };
        let origin = Origin::new(scheme, authority).ok_or_else(|| Refusal::BadHost(authority.to_string()))?;
        // Upstreams normalise dot segments, so `/v2/../admin` would reach `/admin`.
        let sneaky = path.split('/').any(|segment| match percent_decode(segment) {
            Some(s) => s == "." || s == ".." || s.contains(['/', '\\']),
            None => true,
        });
        if sneaky || path.contains('\\') {
            return Err(Refusal::BadPath(path).into());
        }
        Ok(Target { origin, path })
    }

    pub fn url(&self) -> String {
        self.origin.url(&self.path)
    }
}

/// A request from the page, reduced to what may travel upstream.
pub struct Outgoing<'a> {
    pub method: &'a str,
    pub query: Option<&'a str>,
    /// Only `Authorization`, `Accept`, `Range` and `Content-Type`.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// This server's origin as the page addressed it, e.g. `http://127.0.0.1:8080`.
    pub base: &'a str,
}

pub struct Forwarded {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub length: Option<u64>,
    pub body: Box<dyn Read + Send>,
    /// The origin that finally answered, when a redirect led away from the one asked for.
    pub redirected_to: Option<Origin>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("expected /proxy/<scheme>/<host[:port]>/<path>, got /proxy/{0}")]
    BadTarget(String),
    #[error("{origin}: {message}")]
    Upstream { origin: Origin, message: String },
    #[error("{0} sent a redirect without a usable Location")]
    BadRedirect(Origin),
    #[error("stopped after {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
}

impl ProxyError {
    pub fn status(&self) -> u16 {
        match self {
            ProxyError::Refused(_) => 403,
            ProxyError::BadTarget(_) => 400,
            ProxyError::Upstream { .. } | ProxyError::BadRedirect(_) | ProxyError::TooManyRedirects => 502,
        }
    }

    /// In the registry error format, so the app shows the reason like any registry error.
    pub fn code(&self) -> &'static str {
        match self {
            ProxyError::Refused(_) => "PROXY_REFUSED",
            ProxyError::BadTarget(_) => "PROXY_BAD_URL",
            _ => "PROXY_UPSTREAM_FAILED",
        }
    }
}

pub struct Proxy {
    policy: Policy,
    /// Token endpoints (origin and path) that registries named in challenges passing through.
    realms: Mutex<HashSet<(Origin, String)>>,
    loopback: ureq::Agent,
    public: ureq::Agent,
}

impl Proxy {
    pub fn new(policy: Policy) -> Proxy {
        let loopback = agent(policy.allows_loopback());
        Proxy { policy, realms: Mutex::new(HashSet::new()), loopback, public: agent(false) }
    }

    pub fn forward(&self, target: &Target, out: Outgoing<'_>) -> Result<Forwarded, ProxyError> {
        let api = target.path == "/v2" || target.path.starts_with("/v2/");
        let realm = self.knows_realm(&target.origin, &target.path);
        let allowed: &[&str] = match (api, realm) {
            (false, false) => return Err(Refusal::NotForwarded(target.url()).into()),
            (true, false) => &["GET", "HEAD"],
            (false, true) => &["GET", "POST"],
            (true, true) => &["GET", "HEAD", "POST"],
        };
        if !allowed.contains(&out.method) {
            let what = if api { "registry API paths" } else { "token realms" };
            let allowed = if api { "GET, HEAD" } else { "GET, POST" };
            return Err(Refusal::Method { method: out.method.to_string(), what, allowed }.into());
        }
        let reach = self.policy.admit(&target.origin, None)?;
        let agent = match reach {
            Reach::Loopback => &self.loopback,
            Reach::Public => &self.public,
        };

        let mut origin = target.origin.clone();
        let mut path = match out.query {
            Some(q) => format!("{}?{q}", target.path),
            None => target.path.clone(),
        };
        let mut method = out.method;
        let mut body = out.body;
        let mut digest = None;
        for _ in 0..=MAX_REDIRECTS {
            let mut request = ureq::http::Request::builder().method(method).uri(origin.url(&path));
            for (name, value) in &out.headers {
                // Credentials belong to the origin the page addressed; a redirect to storage
                // (or anywhere else) goes without them.
                let foreign_credential = *name == "authorization" && origin != target.origin;
                let stale_type = *name == "content-type" && body.is_empty();
                if !foreign_credential && !stale_type {
                    request = request.header(*name, value.as_str());
                }
            }
            let request = request.body(body.as_slice()).map_err(|e| ProxyError::Upstream {
                origin: origin.clone(),
                message: e.to_string(),
            })?;
            let response = agent.run(request).map_err(|e| upstream_error(e, &origin))?;
            let status = response.status().as_u16();
            let location = header(&response, "location");
            if !matches!(status, 301 | 302 | 303 | 307 | 308) || location.is_none() {
                let mut forwarded = self.answer(response, &origin, &path, reach, api, out.base);
                // Storage behind a redirect does not know the digest the registry vouched for.
                if let Some(d) = digest.filter(|_| !forwarded.headers.iter().any(|(n, _)| n == "docker-content-digest")) {
                    forwarded.headers.push(("docker-content-digest".to_string(), d));
                }
                forwarded.redirected_to = (origin != target.origin).then_some(origin);
                return Ok(forwarded);
            }
            digest = digest.or_else(|| header(&response, "docker-content-digest"));
            let (next, next_path) = location
                .and_then(|l| resolve(&origin, &path, &l))
                .ok_or_else(|| ProxyError::BadRedirect(origin.clone()))?;
            self.policy.admit(&next, Some(reach))?;
            if status == 303 || (matches!(status, 301 | 302) && method == "POST") {
                method = "GET";
                body.clear();
            }
            origin = next;
            path = next_path;
        }
        Err(ProxyError::TooManyRedirects)
    }

    fn answer(
        &self,
        response: ureq::http::Response<ureq::Body>,
        origin: &Origin,
        path: &str,
        reach: Reach,
        api: bool,
        base: &str,
    ) -> Forwarded {
        let status = response.status().as_u16();
        let mut headers = Vec::new();
        let mut length = None;
        for (name, value) in response.headers() {
            let name = name.as_str();
            let Ok(value) = value.to_str() else { continue };
            if name == "content-length" {
                length = value.trim().parse().ok();
                continue;
            }
            if !PASSED_HEADERS.contains(&name) && !PASSED_PREFIXES.iter().any(|p| name.starts_with(p)) {
                continue;
            }
            let value = match name {
                "www-authenticate" if api => {
                    rewrite_challenges(value, |realm| self.adopt_realm(realm, origin, reach, base))
                }
                "link" => rewrite_links(value, |link| {
                    resolve(origin, path, link).map(|(o, p)| proxied(base, &o, &p))
                }),
                _ => value.to_string(),
            };
            headers.push((name.to_string(), value));
        }
        let body = Box::new(response.into_body().into_reader());
        Forwarded { status, headers, length, body, redirected_to: None }
    }

    /// Remembers a realm a registry named, if the proxy may reach it on that registry's behalf,
    /// and returns its proxied form.
    fn adopt_realm(&self, realm: &str, registry: &Origin, reach: Reach, base: &str) -> Option<String> {
        let (origin, path_and_query) = parse_absolute(realm)?;
        let path = path_and_query.split('?').next().unwrap_or_default().to_string();
        if let Err(refusal) = self.policy.admit(&origin, Some(reach)) {
            eprintln!("imagescope serve: not proxying the token realm {} named by {registry}: {refusal}", origin.url(&path));
            return None;
        }
        let proxied_realm = proxied(base, &origin, &path_and_query);
        self.realms.lock().unwrap_or_else(PoisonError::into_inner).insert((origin, path));
        Some(proxied_realm)
    }

    fn knows_realm(&self, origin: &Origin, path: &str) -> bool {
        self.realms.lock().unwrap_or_else(PoisonError::into_inner).contains(&(origin.clone(), path.to_string()))
    }
}

fn agent(allow_loopback: bool) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // Redirects are followed by hand, so each hop passes the policy and credentials stay home.
        .max_redirects(0)
        // A proxy from the environment would resolve names itself, out of the policy's sight.
        .proxy(None)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(120)))
        .user_agent(concat!("imagescope/", env!("CARGO_PKG_VERSION"), " (serve)"))
        .build();
    ureq::Agent::with_parts(config, DefaultConnector::default(), GuardedResolver { allow_loopback })
}

fn header(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn upstream_error(error: ureq::Error, origin: &Origin) -> ProxyError {
    if let ureq::Error::Io(io) = &error {
        if let Some(refused) = io.get_ref().and_then(|e| e.downcast_ref::<AddressRefused>()) {
            return Refusal::Resolved(refused.clone()).into();
        }
    }
    // A bad URI's message would repeat the URL, and a token request's query is not for logs.
    let message = match error {
        ureq::Error::BadUri(_) => "the upstream URL is not valid".to_string(),
        other => other.to_string(),
    };
    ProxyError::Upstream { origin: origin.clone(), message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = Target::parse("https/Registry-1.Docker.io/v2/library/alpine/manifests/latest").unwrap();
        assert_eq!(t.url(), "https://registry-1.docker.io/v2/library/alpine/manifests/latest");
        assert_eq!(Target::parse("http/127.0.0.1:5000").unwrap().url(), "http://127.0.0.1:5000/");
        let refused = |s: &str| Target::parse(s).err().map(|e| (e.status(), e.to_string())).unwrap();
        assert_eq!(refused("https").0, 400);
        assert!(refused("ftp/host/v2/").1.contains("ftp"));
        assert!(refused("https/us%65r@host/v2/").1.contains("not a host"));
        for sneaky in ["https/h/v2/../admin", "https/h/v2/%2E%2e/admin", "https/h/v2/a%2fb", "https/h/v2/%zz", "https/h/v2/a\\b", "https/h/v2/./x"] {
            assert_eq!(refused(sneaky).0, 403, "{sneaky}");
        }
    }

    #[test]
    fn only_registry_paths_and_named_realms() {
        let proxy = Proxy::new(Policy::new(false, &[]));
        let out = || Outgoing { method: "GET", query: None, headers: Vec::new(), body: Vec::new(), base: "http://127.0.0.1:1" };
        let refusal = |target: &str, out: Outgoing<'_>| {
            let e = proxy.forward(&Target::parse(target).unwrap(), out).err().unwrap();
            (e.status(), e.to_string())
        };
        assert!(refusal("https/registry.example/admin", out()).1.contains("only registry API paths"));
        assert!(refusal("https/registry.example/v2x/", out()).1.contains("only registry API paths"));
        assert!(refusal("https/auth.example/token", out()).1.contains("only registry API paths"));
        assert!(refusal("https/registry.example/v2/", Outgoing { method: "DELETE", ..out() }).1.contains("DELETE"));
        assert!(refusal("https/registry.example/v2/", Outgoing { method: "POST", ..out() }).1.contains("POST"));
        assert!(refusal("http/127.0.0.1/v2/", out()).1.contains("--allow-loopback"));

        let rewritten = proxy.adopt_realm("https://auth.example/token?x=1", &Origin::new(Scheme::Https, "registry.example").unwrap(), Reach::Public, "http://127.0.0.1:1");
        assert_eq!(rewritten.as_deref(), Some("http://127.0.0.1:1/proxy/https/auth.example/token?x=1"));
        assert!(proxy.knows_realm(&Origin::new(Scheme::Https, "auth.example").unwrap(), "/token"));
        assert!(refusal("https/auth.example/token", Outgoing { method: "PUT", ..out() }).1.contains("token realms"));
        assert!(proxy.adopt_realm("http://10.0.0.1/token", &Origin::new(Scheme::Https, "r").unwrap(), Reach::Public, "x").is_none());
        assert!(proxy.adopt_realm("not a url", &Origin::new(Scheme::Https, "r").unwrap(), Reach::Public, "x").is_none());
    }
}
