//! Where the proxy may go. A page can name any URL, so every upstream origin is checked before a
//! request leaves, and every address a host name resolves to is checked again at connect time:
//! a name that passes the first check cannot later point the proxy at this machine's or this
//! network's services.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn parse(s: &str) -> Option<Scheme> {
        if s.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else if s.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// Scheme, host and port of an upstream URL. Hosts are kept lowercase and IPv6 literals in
/// brackets, so two spellings of one origin compare equal and format back into a URL.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    pub scheme: Scheme,
    pub host: String,
    pub port: Option<u16>,
}

impl Origin {
    pub fn new(scheme: Scheme, authority: &str) -> Option<Origin> {
        let (host, port) = parse_authority(authority)?;
        // An explicit default port names the same origin as none at all.
        let port = port.filter(|&p| p != scheme.default_port());
        Some(Origin { scheme, host, port })
    }

    pub fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}://{}{path_and_query}", self.scheme.as_str(), self.authority())
    }

    fn ip(&self) -> Option<IpAddr> {
        let bare = self.host.trim_start_matches('[').trim_end_matches(']');
        bare.parse().ok()
    }

    /// Loopback by its spelling alone, so the answer never depends on a resolver.
    fn names_loopback(&self) -> bool {
        self.host == "localhost"
            || self.host.ends_with(".localhost")
            || self.ip().is_some_and(|ip| classify(ip) == AddressClass::Loopback)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.authority())
    }
}

/// `host`, `host:port` or `[v6]:port`, as found between a scheme and a path.
pub fn parse_authority(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{}]", v6.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let valid = !host.is_empty()
            && host.len() <= 253
            && !host.starts_with(['.', '-'])
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if !valid {
            return None;
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok().filter(|&n| n != 0)?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    Loopback,
    /// Private, link-local, shared, multicast, reserved, documentation or unspecified.
    Internal,
}

pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    if a == 127 {
        return AddressClass::Loopback;
    }
    let internal = ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19));
    if internal {
        AddressClass::Internal
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let s = ip.segments();
    // NAT64 reaches whatever IPv4 address it embeds.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return classify_v4(Ipv4Addr::new(a, b, c, d));
    }
    let internal = ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || s[..6] == [0; 6];
    if internal {
        AddressClass::Internal
    } else {
        AddressClass::Public
    }
}

/// Which connection rules a request chain runs under, fixed by its first hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Started at a loopback registry the person allowed: may touch loopback addresses.
    Loopback,
    Public,
}

#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("only http and https upstreams are proxied, not {0:?}")]
    Scheme(String),
    #[error("{0} is not a host name or address")]
    BadHost(String),
    #[error("path {0:?} has dot segments or backslashes, which could leave /v2/")]
    BadPath(String),
    #[error(
        "only registry API paths (/v2/ and below) and token realms named in a registry's \
         WWW-Authenticate challenge seen by this proxy are forwarded, not {0}"
    )]
    NotForwarded(String),
    #[error("{method} is not forwarded to {what} (allowed: {allowed})")]
    Method { method: String, what: &'static str, allowed: &'static str },
    #[error("{0} is a loopback host; start imagescope serve with --allow-loopback to reach registries on this machine")]
    LoopbackNotAllowed(String),
    #[error("{0} is a loopback host, named by a server that is not on this machine")]
    LoopbackFromPublic(String),
    #[error("{0} is in a private, link-local or otherwise non-public address range")]
    Internal(String),
    #[error(
        "plain http is only used for loopback registries and --plain-http hosts; {0} is neither \
         (use https, or pass --plain-http {0})"
    )]
    PlainHttp(String),
    #[error("{0}")]
    Resolved(AddressRefused),
    #[error("cross-site requests are not proxied (only pages served by this imagescope serve may use it)")]
    CrossSite,
    #[error("the Host header {0:?} is not a loopback name or address; pass --allow-remote to serve other names")]
    HostHeader(String),
}

/// Returned by [`GuardedResolver`] inside a `ureq::Error::Io`, so a refusal found at connect
/// time still reaches the page as a refusal rather than as a network failure.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{host} resolves to {address}, which this proxy does not reach")]
pub struct AddressRefused {
    pub host: String,
    pub address: IpAddr,
}

pub struct Policy {
    allow_loopback: bool,
    /// Lowercase `host` or `host:port` entries.
    plain_http: Vec<String>,
}

impl Policy {
    pub fn new(allow_loopback: bool, plain_http: &[String]) -> Policy {
        let plain_http = plain_http.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
        Policy { allow_loopback, plain_http }
    }

    pub fn allows_loopback(&self) -> bool {
        self.allow_loopback
    }

    /// Checks an origin the page asked for (`chain` is `None`) or one reached on behalf of an
    /// earlier hop: a redirect target, or a token realm a registry named.
    pub fn admit(&self, origin: &Origin, chain: Option<Reach>) -> Result<Reach, Refusal> {
        let reach = if origin.names_loopback() {
            if !self.allow_loopback {
                return Err(Refusal::LoopbackNotAllowed(origin.authority()));
            }
            if chain == Some(Reach::Public) {
                return Err(Refusal::LoopbackFromPublic(origin.authority()));
            }
            Reach::Loopback
        } else if origin.ip().is_some_and(|ip| classify(ip) != AddressClass::Public) {
            return Err(Refusal::Internal(origin.authority()));
        } else {
            Reach::Public
        };
        if origin.scheme == Scheme::Http && reach != Reach::Loopback && !self.plain_http_allowed(origin) {
            return Err(Refusal::PlainHttp(origin.authority()));
        }
        Ok(reach)
    }

    fn plain_http_allowed(&self, origin: &Origin) -> bool {
        let authority = origin.authority();
        let with_default_port = format!("{}:80", origin.host);
        self.plain_http.iter().any(|h| *h == origin.host || *h == authority || *h == with_default_port)
    }
}

/// The system resolver, keeping only addresses the chain may reach.
#[derive(Debug)]
pub struct GuardedResolver {
    pub allow_loopback: bool,
}

impl Resolver for GuardedResolver {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let found = DefaultResolver::default().resolve(uri, config, timeout)?;
        let mut kept = self.empty();
        for addr in found.iter() {
            match classify(addr.ip()) {
                AddressClass::Public => kept.push(*addr),
                AddressClass::Loopback if self.allow_loopback => kept.push(*addr),
                _ => {}
            }
        }
        if kept.is_empty() {
            let refused = AddressRefused { host: uri.host().unwrap_or_default().to_string(), address: found[0].ip() };
            return Err(ureq::Error::Io(io::Error::new(io::ErrorKind::PermissionDenied, refused)));
        }
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(scheme: Scheme, authority: &str) -> Origin {
        Origin::new(scheme, authority).unwrap()
    }

    #[test]
    fn authorities() {
        assert_eq!(parse_authority("Registry.Example:5000"), Some(("registry.example".into(), Some(5000))));
        assert_eq!(parse_authority("[::1]:8080"), Some(("[::1]".into(), Some(8080))));
        assert_eq!(parse_authority("[::1]"), Some(("[::1]".into(), None)));
        for bad in ["", "a:b", "a:0", "a:70000", "user@host", "a/b", "[::1", "[zz]:1", "a:", ".a", "a b"] {
            assert_eq!(parse_authority(bad), None, "{bad}");
        }
        assert_eq!(origin(Scheme::Https, "h:443"), origin(Scheme::Https, "h"));
    }

    #[test]
    fn address_classes() {
        for (ip, class) in [
            ("8.8.8.8", AddressClass::Public),
            ("127.0.0.1", AddressClass::Loopback),
            ("127.9.9.9", AddressClass::Loopback),
            ("10.1.2.3", AddressClass::Internal),
            ("172.16.0.1", AddressClass::Internal),
            ("192.168.1.1", AddressClass::Internal),
            ("169.254.169.254", AddressClass::Internal),
            ("100.64.0.1", AddressClass::Internal),
            ("0.0.0.0", AddressClass::Internal),
            ("255.255.255.255", AddressClass::Internal),
            ("::1", AddressClass::Loopback),
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("::ffff:10.0.0.1", AddressClass::Internal),
            ("64:ff9b::a9fe:a9fe", AddressClass::Internal),
            ("fe80::1", AddressClass::Internal),
            ("fd00::1", AddressClass::Internal),
            ("::", AddressClass::Internal),
            ("2606:4700::1111", AddressClass::Public),
        ] {
            assert_eq!(classify(ip.parse().unwrap()), class, "{ip}");
        }
    }

    #[test]
    fn admission() {
        let strict = Policy::new(false, &["Plain.Example:5000".into()]);
        let local = Policy::new(true, &[]);
        let refused = |p: &Policy, o: &Origin, chain| p.admit(o, chain).unwrap_err().to_string();

        assert_eq!(strict.admit(&origin(Scheme::Https, "registry-1.docker.io"), None).unwrap(), Reach::Public);
        assert_eq!(strict.admit(&origin(Scheme::Http, "plain.example:5000"), None).unwrap(), Reach::Public);
        assert!(refused(&strict, &origin(Scheme::Http, "plain.example"), None).contains("plain http"));
        assert!(refused(&strict, &origin(Scheme::Http, "example.com"), None).contains("plain http"));
        assert!(refused(&strict, &origin(Scheme::Http, "127.0.0.1:5000"), None).contains("--allow-loopback"));
        assert!(refused(&strict, &origin(Scheme::Https, "10.0.0.1"), None).contains("private"));
        assert!(refused(&local, &origin(Scheme::Https, "[fe80::1]"), None).contains("private"));

        assert_eq!(local.admit(&origin(Scheme::Http, "127.0.0.1:5000"), None).unwrap(), Reach::Loopback);
        assert_eq!(local.admit(&origin(Scheme::Http, "localhost:5000"), None).unwrap(), Reach::Loopback);
        assert_eq!(local.admit(&origin(Scheme::Http, "[::1]:5000"), Some(Reach::Loopback)).unwrap(), Reach::Loopback);
        assert!(refused(&local, &origin(Scheme::Http, "127.0.0.1:5000"), Some(Reach::Public)).contains("not on this machine"));
        assert_eq!(local.admit(&origin(Scheme::Https, "cdn.example"), Some(Reach::Loopback)).unwrap(), Reach::Public);
    }
}
