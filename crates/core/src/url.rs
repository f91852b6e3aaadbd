//! A small, strict URL type for the URLs a registry client meets: registry bases, token
//! realms, `Location` redirects and `Link` pagination headers.
//!
//! Only absolute `http`/`https` URLs exist. Anything a browser would have to repair
//! (stray spaces, backslashes, bad percent-escapes, numeric hosts that are not plain
//! dotted quads) is refused rather than guessed at, because these URLs decide where
//! credentials are sent.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("URL has no scheme")]
    MissingScheme,
    #[error("unsupported URL scheme {0:?}: only http and https are allowed")]
    UnsupportedScheme(String),
    #[error("URL has no authority: expected \"//\" after the scheme")]
    MissingAuthority,
    #[error("URL must not carry user information")]
    UserInfo,
    #[error("URL has an empty host")]
    EmptyHost,
    #[error("invalid host {0:?}")]
    InvalidHost(String),
    #[error("invalid port {0:?}")]
    InvalidPort(String),
    #[error("invalid character {0:?} in URL")]
    InvalidCharacter(char),
    #[error("malformed percent-encoding in URL")]
    InvalidPercentEncoding,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Url {
    scheme: String,
    host: String,
    port: Option<u16>,
    path: String,
    query: Option<String>,
}

impl Url {
    pub fn parse(s: &str) -> Result<Url, UrlError> {
        let (scheme, rest) = split_scheme(s).ok_or(UrlError::MissingScheme)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(UrlError::UnsupportedScheme(scheme));
        }
        let rest = rest.strip_prefix("//").ok_or(UrlError::MissingAuthority)?;
        Url::parse_after_scheme(scheme, rest)
    }

    /// `rest` is everything after `scheme://`.
    fn parse_after_scheme(scheme: String, rest: &str) -> Result<Url, UrlError> {
        let rest = strip_fragment(rest);
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let (host, port) = parse_authority(authority)?;
        let (path, query) = split_query(tail);
        check_chars(path, false)?;
        let path = if path.is_empty() { "/".to_owned() } else { remove_dot_segments(path) };
        Ok(Url { scheme, host, port, path, query: checked_query(query)? })
    }

    /// Resolves `link` against this URL as RFC 3986 §5.2 does, as needed for
    /// `Location` and `Link` headers: absolute URLs, `//host/path`, `/path?q`, `?q` and
    /// relative paths. The fragment is dropped.
    pub fn join(&self, link: &str) -> Result<Url, UrlError> {
        let link = strip_fragment(link);
        if split_scheme(link).is_some() {
            return Url::parse(link);
        }
        if let Some(rest) = link.strip_prefix("//") {
            return Url::parse_after_scheme(self.scheme.clone(), rest);
        }
        let (path, query) = split_query(link);
        check_chars(path, false)?;
        let query = checked_query(query)?;
        let (path, query) = if path.is_empty() {
            (self.path.clone(), query.or_else(|| self.query.clone()))
        } else if path.starts_with('/') {
            (remove_dot_segments(path), query)
        } else {
            let dir_end = self.path.rfind('/').map_or(0, |i| i + 1);
            (remove_dot_segments(&format!("{}{path}", &self.path[..dir_end])), query)
        };
        Ok(Url { scheme: self.scheme.clone(), host: self.host.clone(), port: self.port, path, query })
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// The port the connection goes to: the explicit one, else the scheme's default.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(if self.is_https() { 443 } else { 80 })
    }

    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    pub fn origin(&self) -> String {
        let default = if self.is_https() { 443 } else { 80 };
        match self.port {
            Some(port) if port != default => format!("{}://{}:{port}", self.scheme, self.host),
            _ => format!("{}://{}", self.scheme, self.host),
        }
    }

    pub fn same_origin(&self, other: &Url) -> bool {
        self.scheme == other.scheme && self.host == other.host && self.effective_port() == other.effective_port()
    }

    pub fn host_is_loopback(&self) -> bool {
        host_is_loopback(&self.host)
    }

    /// True for IP literals in private or link-local ranges. Names are not resolved, so a
    /// DNS name pointing at such an address is not caught; callers that need that must
    /// restrict names too.
    pub fn host_is_private_or_link_local_ip(&self) -> bool {
        if let Some(v4) = parse_ipv4(&self.host) {
            return ipv4_is_private_or_link_local(v4);
        }
        let Some(v6) = bracketed_ipv6(&self.host) else {
            return false;
        };
        if let Some(v4) = ipv4_mapped(v6) {
            return ipv4_is_private_or_link_local(v4);
        }
        v6[0] & 0xfe00 == 0xfc00 || v6[0] & 0xffc0 == 0xfe80
    }

    /// Appends `key=value` pairs to the query, each side percent-encoded. Keys may repeat,
    /// as the token endpoint's `scope` does.
    pub fn with_query_pairs(&self, pairs: &[(&str, &str)]) -> Url {
        let mut query = self.query.clone().unwrap_or_default();
        for (key, value) in pairs {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&percent_encode_component(key));
            query.push('=');
            query.push_str(&percent_encode_component(value));
        }
        Url { query: if query.is_empty() { self.query.clone() } else { Some(query) }, ..self.clone() }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority(), self.path)?;
        if let Some(query) = &self.query {
            write!(f, "?{query}")?;
        }
        Ok(())
    }
}

impl FromStr for Url {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Url, UrlError> {
        Url::parse(s)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters. The result is valid
/// in a query value and in an `application/x-www-form-urlencoded` body.
pub fn percent_encode_component(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

/// Splits a query (without the `?`) into decoded pairs, form-style: `+` is a space. A key
/// without `=` gets an empty value; a malformed escape is kept literally.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
            (form_decode(key), form_decode(value))
        })
        .collect()
}

fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex_value(bytes.get(i + 1)), hex_value(bytes.get(i + 2))) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(byte: Option<&u8>) -> Option<u8> {
    char::from(*byte?).to_digit(16).and_then(|v| u8::try_from(v).ok())
}

/// Splits `scheme:rest` when `s` starts with an RFC 3986 scheme.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))).then_some((scheme, rest))
}

fn strip_fragment(s: &str) -> &str {
    s.split_once('#').map_or(s, |(before, _)| before)
}

fn split_query(s: &str) -> (&str, Option<&str>) {
    match s.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (s, None),
    }
}

fn checked_query(query: Option<&str>) -> Result<Option<String>, UrlError> {
    query
        .map(|q| {
            check_chars(q, true)?;
            Ok(q.to_owned())
        })
        .transpose()
}

/// Path and query characters RFC 3986 allows unescaped (`pchar`, plus `/`, and `?` in a
/// query), with every `%` starting a two-digit escape.
fn check_chars(s: &str, in_query: bool) -> Result<(), UrlError> {
    let bytes = s.as_bytes();
    for (i, c) in s.char_indices() {
        let ok = c.is_ascii_alphanumeric()
            || matches!(c, '-' | '.' | '_' | '~' | '!' | '$' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | ';' | '=')
            || matches!(c, ':' | '@' | '/')
            || (in_query && c == '?');
        if ok {
            continue;
        }
        if c != '%' {
            return Err(UrlError::InvalidCharacter(c));
        }
        let escape_ok =
            bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if !escape_ok {
            return Err(UrlError::InvalidPercentEncoding);
        }
    }
    Ok(())
}

fn parse_authority(authority: &str) -> Result<(String, Option<u16>), UrlError> {
    if authority.contains('@') {
        return Err(UrlError::UserInfo);
    }
    let (host, port) = if let Some(inner_and_rest) = authority.strip_prefix('[') {
        let (inner, after) =
            inner_and_rest.split_once(']').ok_or_else(|| UrlError::InvalidHost(authority.to_owned()))?;
        let groups = parse_ipv6(inner).ok_or_else(|| UrlError::InvalidHost(format!("[{inner}]")))?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| UrlError::InvalidHost(authority.to_owned()))?),
        };
        (format!("[{}]", format_ipv6(groups)), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        (parse_reg_name(host)?, port)
    };
    let port = port.map(parse_port).transpose()?;
    Ok((host, port))
}

fn parse_port(port: &str) -> Result<u16, UrlError> {
    let invalid = || UrlError::InvalidPort(port.to_owned());
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(invalid()),
        Ok(p) => Ok(p),
    }
}

/// A DNS name or dotted-quad IPv4 address, lowercased. A name whose last label looks
/// numeric must be a plain dotted quad: browsers read `10.1` or `0x7f.1` as addresses,
/// and letting such a host through would let it dodge the IP-range checks.
fn parse_reg_name(host: &str) -> Result<String, UrlError> {
    if host.is_empty() {
        return Err(UrlError::EmptyHost);
    }
    let invalid = || UrlError::InvalidHost(host.to_owned());
    let host = host.to_ascii_lowercase();
    let labels_ok = host
        .split('.')
        .all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')));
    if !labels_ok {
        return Err(invalid());
    }
    let last = host.rsplit('.').next().unwrap_or_default();
    let numeric_looking = last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x");
    if numeric_looking && parse_ipv4(&host).is_none() {
        return Err(invalid());
    }
    Ok(host)
}

/// Strict dotted quad: four decimal parts, 0–255, no leading zeros (which some resolvers
/// read as octal).
fn parse_ipv4(s: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for slot in &mut out {
        let part = parts.next()?;
        let canonical = !part.is_empty()
            && part.len() <= 3
            && part.bytes().all(|b| b.is_ascii_digit())
            && (part == "0" || !part.starts_with('0'));
        if !canonical {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// RFC 4291 text form, including `::` and a trailing dotted quad. Zone identifiers are
/// not accepted: they mean nothing outside the host that wrote them.
fn parse_ipv6(s: &str) -> Option<[u16; 8]> {
    let (head, tail) = match s.split_once("::") {
        Some((head, tail)) => (head, Some(tail)),
        None => (s, None),
    };
    let head = parse_ipv6_groups(head, tail.is_none())?;
    let mut groups = [0u16; 8];
    match tail {
        None => {
            if head.len() != 8 {
                return None;
            }
            groups.copy_from_slice(&head);
        }
        Some(tail) => {
            let tail = parse_ipv6_groups(tail, true)?;
            // "::" stands for at least one zero group.
            if head.len() + tail.len() > 7 {
                return None;
            }
            groups[..head.len()].copy_from_slice(&head);
            groups[8 - tail.len()..].copy_from_slice(&tail);
        }
    }
    Some(groups)
}

/// Colon-separated hex groups; when `may_end_in_ipv4`, the last one may be a dotted quad
/// standing for two groups.
fn parse_ipv6_groups(s: &str, may_end_in_ipv4: bool) -> Option<Vec<u16>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    let parts: Vec<&str> = s.split(':').collect();
    let mut groups = Vec::with_capacity(8);
    for (i, part) in parts.iter().enumerate() {
        if may_end_in_ipv4 && i == parts.len() - 1 && part.contains('.') {
            let [a, b, c, d] = parse_ipv4(part)?;
            groups.push(u16::from_be_bytes([a, b]));
            groups.push(u16::from_be_bytes([c, d]));
        } else {
            if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            groups.push(u16::from_str_radix(part, 16).ok()?);
        }
    }
    (groups.len() <= 8).then_some(groups)
}

/// RFC 5952 canonical text, so that equal addresses give equal hosts and origins.
fn format_ipv6(groups: [u16; 8]) -> String {
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < 8 {
        if groups[i] != 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < 8 && groups[i] == 0 {
            i += 1;
        }
        let len = i - start;
        if len >= 2 && best.is_none_or(|(_, best_len)| len > best_len) {
            best = Some((start, len));
        }
    }
    let hex = |gs: &[u16]| gs.iter().map(|g| format!("{g:x}")).collect::<Vec<_>>().join(":");
    match best {
        Some((start, len)) => format!("{}::{}", hex(&groups[..start]), hex(&groups[start + len..])),
        None => hex(&groups),
    }
}

fn bracketed_ipv6(host: &str) -> Option<[u16; 8]> {
    parse_ipv6(host.strip_prefix('[')?.strip_suffix(']')?)
}

fn ipv4_mapped(groups: [u16; 8]) -> Option<[u8; 4]> {
    let [0, 0, 0, 0, 0, 0xffff, high, low] = groups else {
        return None;
    };
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Some([a, b, c, d])
}

fn ipv4_is_private_or_link_local([a, b, _, _]: [u8; 4]) -> bool {
    a == 10 || (a == 172 && (16..=31).contains(&b)) || (a == 192 && b == 168) || (a == 169 && b == 254)
}

/// Loopback by name or literal: `localhost`, `*.localhost`, 127.0.0.0/8 and `[::1]`
/// (also as an IPv4-mapped address). Case-insensitive, so it can be applied to a
/// registry name as the user typed it.
pub(crate) fn host_is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    if let Some([a, ..]) = parse_ipv4(&host) {
        return a == 127;
    }
    match bracketed_ipv6(&host) {
        Some(groups) => groups == [0, 0, 0, 0, 0, 0, 0, 1] || ipv4_mapped(groups).is_some_and(|[a, ..]| a == 127),
        None => false,
    }
}

/// RFC 3986 §5.2.4 for a path that starts with `/`.
fn remove_dot_segments(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other),
        }
        // A path ending in a dot segment names a directory, so it keeps its trailing slash.
        if last && matches!(*segment, "." | "..") {
            out.push("");
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    #[rustfmt::skip]
    fn parses_absolute_http_urls() {
        type Case<'a> = (&'a str, &'a str, &'a str, Option<u16>, &'a str, Option<&'a str>, &'a str);
        // input, scheme, host, port, path, query, display
        let cases: &[Case] = &[
            ("https://registry-1.docker.io", "https", "registry-1.docker.io", None, "/", None, "https://registry-1.docker.io/"),
            ("HTTPS://Registry.Example.COM/v2/", "https", "registry.example.com", None, "/v2/", None, "https://registry.example.com/v2/"),
            ("http://localhost:5000/v2/", "http", "localhost", Some(5000), "/v2/", None, "http://localhost:5000/v2/"),
            ("https://auth.docker.io/token?service=registry.docker.io", "https", "auth.docker.io", None, "/token", Some("service=registry.docker.io"), "https://auth.docker.io/token?service=registry.docker.io"),
            ("https://h?x=1", "https", "h", None, "/", Some("x=1"), "https://h/?x=1"),
            ("https://h/p?", "https", "h", None, "/p", Some(""), "https://h/p?"),
            ("https://h/p#frag", "https", "h", None, "/p", None, "https://h/p"),
            ("https://h/p?q=1#frag?x", "https", "h", None, "/p", Some("q=1"), "https://h/p?q=1"),
            ("https://h/a/./b/../c", "https", "h", None, "/a/c", None, "https://h/a/c"),
            ("https://h/a/..", "https", "h", None, "/", None, "https://h/"),
            ("https://h/../../x", "https", "h", None, "/x", None, "https://h/x"),
            ("https://h//double//slash", "https", "h", None, "//double//slash", None, "https://h//double//slash"),
            ("https://h:443/", "https", "h", Some(443), "/", None, "https://h:443/"),
            ("http://127.0.0.1:65535/", "http", "127.0.0.1", Some(65535), "/", None, "http://127.0.0.1:65535/"),
            ("http://[::1]:5000/v2/", "http", "[::1]", Some(5000), "/v2/", None, "http://[::1]:5000/v2/"),
            ("http://[0:0:0:0:0:0:0:1]/", "http", "[::1]", None, "/", None, "http://[::1]/"),
            ("http://[2001:DB8:0:0:1:0:0:1]/", "http", "[2001:db8::1:0:0:1]", None, "/", None, "http://[2001:db8::1:0:0:1]/"),
            ("http://[::ffff:10.0.0.1]/", "http", "[::ffff:a00:1]", None, "/", None, "http://[::ffff:a00:1]/"),
            ("https://my_registry.internal/v2/", "https", "my_registry.internal", None, "/v2/", None, "https://my_registry.internal/v2/"),
            ("https://cdn.example/blob?sig=a%2Fb&exp=1", "https", "cdn.example", None, "/blob", Some("sig=a%2Fb&exp=1"), "https://cdn.example/blob?sig=a%2Fb&exp=1"),
            ("https://h/p@x:y;z=1/~a!$'()*+,", "https", "h", None, "/p@x:y;z=1/~a!$'()*+,", None, "https://h/p@x:y;z=1/~a!$'()*+,"),
            ("https://h/?a/b?c", "https", "h", None, "/", Some("a/b?c"), "https://h/?a/b?c"),
        ];
        for &(input, scheme, host, port, path, query, display) in cases {
            let url = u(input);
            assert_eq!(url.scheme(), scheme, "{input}");
            assert_eq!(url.host(), host, "{input}");
            assert_eq!(url.port(), port, "{input}");
            assert_eq!(url.path(), path, "{input}");
            assert_eq!(url.query(), query, "{input}");
            assert_eq!(url.to_string(), display, "{input}");
            assert_eq!(u(display), url, "{input}: display must parse back");
            assert_eq!(input.parse::<Url>().unwrap(), url);
        }
    }

    #[test]
    fn rejects_what_it_will_not_guess_at() {
        let cases: &[(&str, UrlError)] = &[
            ("", UrlError::MissingScheme),
            ("/v2/", UrlError::MissingScheme),
            ("registry.example.com/v2/", UrlError::MissingScheme),
            ("ftp://h/", UrlError::UnsupportedScheme("ftp".into())),
            ("javascript:alert(1)", UrlError::UnsupportedScheme("javascript".into())),
            ("http:h/p", UrlError::MissingAuthority),
            ("https://user:pass@h/", UrlError::UserInfo),
            ("https://evil.example\\@good.example/", UrlError::UserInfo),
            ("https:///p", UrlError::EmptyHost),
            ("https://:443/", UrlError::EmptyHost),
            ("https://h:/", UrlError::InvalidPort(String::new())),
            ("https://h:0/", UrlError::InvalidPort("0".into())),
            ("https://h:65536/", UrlError::InvalidPort("65536".into())),
            ("https://h:+80/", UrlError::InvalidPort("+80".into())),
            ("https://h:80:80/", UrlError::InvalidPort("80:80".into())),
            ("https://h..example/", UrlError::InvalidHost("h..example".into())),
            ("https://example.com./", UrlError::InvalidHost("example.com.".into())),
            ("https://ex ample/", UrlError::InvalidHost("ex ample".into())),
            ("https://exämple/", UrlError::InvalidHost("exämple".into())),
            ("https://10.1/", UrlError::InvalidHost("10.1".into())),
            ("https://0x7f.1/", UrlError::InvalidHost("0x7f.1".into())),
            ("https://127.000.0.1/", UrlError::InvalidHost("127.000.0.1".into())),
            ("https://256.0.0.1/", UrlError::InvalidHost("256.0.0.1".into())),
            ("https://2130706433/", UrlError::InvalidHost("2130706433".into())),
            ("https://[::1/", UrlError::InvalidHost("[::1".into())),
            ("https://[::1]x/", UrlError::InvalidHost("[::1]x".into())),
            ("https://[fe80::1%25eth0]/", UrlError::InvalidHost("[fe80::1%25eth0]".into())),
            ("https://[1:2:3:4:5:6:7:8:9]/", UrlError::InvalidHost("[1:2:3:4:5:6:7:8:9]".into())),
            ("https://[1:2:3:4:5:6:7::8]/", UrlError::InvalidHost("[1:2:3:4:5:6:7::8]".into())),
            ("https://[1::2::3]/", UrlError::InvalidHost("[1::2::3]".into())),
            ("https://[12345::]/", UrlError::InvalidHost("[12345::]".into())),
            ("https://h/a b", UrlError::InvalidCharacter(' ')),
            ("https://h/a\\b", UrlError::InvalidCharacter('\\')),
            ("https://h/ä", UrlError::InvalidCharacter('ä')),
            ("https://h/?q=<x>", UrlError::InvalidCharacter('<')),
            ("https://h/%zz", UrlError::InvalidPercentEncoding),
            ("https://h/?q=%4", UrlError::InvalidPercentEncoding),
            (" https://h/", UrlError::MissingScheme),
            ("https://h/\n", UrlError::InvalidCharacter('\n')),
        ];
        for (input, expected) in cases {
            assert_eq!(Url::parse(input).as_ref(), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn error_messages() {
        assert_eq!(UrlError::UserInfo.to_string(), "URL must not carry user information");
        assert_eq!(
            UrlError::UnsupportedScheme("ftp".into()).to_string(),
            "unsupported URL scheme \"ftp\": only http and https are allowed"
        );
    }

    #[test]
    fn join_resolves_references_like_rfc_3986() {
        // The RFC's own examples (§5.4) that stay within http, on its base URL.
        let base = u("http://a/b/c/d;p?q");
        let cases = [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("g#s", "http://a/b/c/g"),
            ("g?y#s", "http://a/b/c/g?y"),
            (";x", "http://a/b/c/;x"),
            ("g;x", "http://a/b/c/g;x"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("../../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            (".g", "http://a/b/c/.g"),
            ("g..", "http://a/b/c/g.."),
            ("..g", "http://a/b/c/..g"),
            ("./../g", "http://a/b/g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
            ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
            ("g;x=1/../y", "http://a/b/c/y"),
            ("g?y/./x", "http://a/b/c/g?y/./x"),
            ("HTTP://A/B", "http://a/B"),
            ("https://other.example:8443/x?y", "https://other.example:8443/x?y"),
        ];
        for (link, expected) in cases {
            assert_eq!(base.join(link).unwrap().to_string(), expected, "{link:?}");
        }
    }

    #[test]
    fn join_handles_registry_links_and_redirects() {
        let base = u("https://registry.example:5000/v2/library/busybox/tags/list?n=2");
        let next = base.join("/v2/library/busybox/tags/list?last=b&n=2").unwrap();
        assert_eq!(next.to_string(), "https://registry.example:5000/v2/library/busybox/tags/list?last=b&n=2");
        assert!(next.same_origin(&base));

        let redirect = base.join("https://cdn.example/blobs/x?sig=1").unwrap();
        assert!(!redirect.same_origin(&base));

        let scheme_relative = base.join("//mirror.example/v2/").unwrap();
        assert_eq!(scheme_relative.to_string(), "https://mirror.example/v2/");

        assert_eq!(base.join("ftp://x/").unwrap_err(), UrlError::UnsupportedScheme("ftp".into()));
        assert_eq!(base.join("//user@x/").unwrap_err(), UrlError::UserInfo);
        assert_eq!(base.join("a b").unwrap_err(), UrlError::InvalidCharacter(' '));
        assert_eq!(base.join("?q=%").unwrap_err(), UrlError::InvalidPercentEncoding);
        assert_eq!(base.join("1a:b").unwrap().path(), "/v2/library/busybox/tags/1a:b");
    }

    #[test]
    fn authority_and_origin() {
        let cases = [
            ("https://h/", "h", "https://h"),
            ("https://h:443/", "h:443", "https://h"),
            ("https://h:80/", "h:80", "https://h:80"),
            ("http://h:80/", "h:80", "http://h"),
            ("http://h:443/", "h:443", "http://h:443"),
            ("http://[::1]:5000/", "[::1]:5000", "http://[::1]:5000"),
            ("HTTP://H.Example:8080/x", "h.example:8080", "http://h.example:8080"),
        ];
        for (input, authority, origin) in cases {
            let url = u(input);
            assert_eq!(url.authority(), authority, "{input}");
            assert_eq!(url.origin(), origin, "{input}");
        }
    }

    #[test]
    fn same_origin_compares_effective_ports() {
        let cases = [
            ("https://h/a", "https://h:443/b", true),
            ("http://h/", "http://h:80/", true),
            ("https://h/", "http://h/", false),
            ("https://h/", "https://h:8443/", false),
            ("https://h/", "https://H/", true),
            ("https://h/", "https://h.example/", false),
            ("http://[::1]/", "http://[0::1]:80/", true),
        ];
        for (a, b, same) in cases {
            assert_eq!(u(a).same_origin(&u(b)), same, "{a} vs {b}");
            assert_eq!(u(b).same_origin(&u(a)), same, "{b} vs {a}");
        }
        assert_eq!(u("https://h/").effective_port(), 443);
        assert_eq!(u("http://h/").effective_port(), 80);
    }

    #[test]
    fn loopback_and_private_hosts() {
        // host, loopback, private or link-local
        let cases = [
            ("localhost", true, false),
            ("LOCALHOST", true, false),
            ("registry.localhost", true, false),
            ("localhost.example", false, false),
            ("notlocalhost", false, false),
            ("127.0.0.1", true, false),
            ("127.255.1.2", true, false),
            ("128.0.0.1", false, false),
            ("[::1]", true, false),
            ("[::ffff:127.0.0.1]", true, false),
            ("[::2]", false, false),
            ("10.0.0.1", false, true),
            ("10.255.255.255", false, true),
            ("11.0.0.1", false, false),
            ("172.16.0.1", false, true),
            ("172.31.255.255", false, true),
            ("172.15.0.1", false, false),
            ("172.32.0.1", false, false),
            ("192.168.1.1", false, true),
            ("192.169.1.1", false, false),
            ("169.254.169.254", false, true),
            ("[fc00::1]", false, true),
            ("[fd12:3456::1]", false, true),
            ("[fe80::1]", false, true),
            ("[febf::1]", false, true),
            ("[fec0::1]", false, false),
            ("[::ffff:192.168.0.1]", false, true),
            ("[2001:db8::1]", false, false),
            ("8.8.8.8", false, false),
            ("example.com", false, false),
        ];
        for (host, loopback, private) in cases {
            let url = u(&format!("http://{host}:1234/"));
            assert_eq!(url.host_is_loopback(), loopback, "{host}");
            assert_eq!(url.host_is_private_or_link_local_ip(), private, "{host}");
        }
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        let cases = [
            ("repository:library/busybox:pull", "repository%3Alibrary%2Fbusybox%3Apull"),
            ("a b+c&d=e", "a%20b%2Bc%26d%3De"),
            ("AZaz09-._~", "AZaz09-._~"),
            ("é", "%C3%A9"),
            ("", ""),
            ("%", "%25"),
        ];
        for (input, expected) in cases {
            assert_eq!(percent_encode_component(input), expected, "{input}");
        }
    }

    #[test]
    fn query_parsing_decodes_form_style() {
        let pairs = |q: &str| -> Vec<(String, String)> { parse_query(q) };
        let owned = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert_eq!(pairs("a=1&b=2"), owned(&[("a", "1"), ("b", "2")]));
        assert_eq!(pairs("scope=a&scope=b"), owned(&[("scope", "a"), ("scope", "b")]));
        assert_eq!(pairs("q=a+b%20c"), owned(&[("q", "a b c")]));
        assert_eq!(pairs("flag&&x="), owned(&[("flag", ""), ("x", "")]));
        assert_eq!(pairs("k=v=w"), owned(&[("k", "v=w")]));
        assert_eq!(pairs("bad=%zz%4&end=%"), owned(&[("bad", "%zz%4"), ("end", "%")]));
        assert_eq!(pairs("u=%C3%A9&l=%c3%a9"), owned(&[("u", "é"), ("l", "é")]));
        assert_eq!(pairs("x=%FF"), owned(&[("x", "\u{fffd}")]));
        assert_eq!(pairs(""), owned(&[]));
    }

    #[test]
    fn query_pairs_are_appended_encoded() {
        let realm = u("https://auth.docker.io/token");
        let url = realm.with_query_pairs(&[
            ("service", "registry.docker.io"),
            ("scope", "repository:library/busybox:pull"),
            ("scope", "repository:library/alpine:pull,push"),
        ]);
        assert_eq!(
            url.to_string(),
            "https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Fbusybox%3Apull&scope=repository%3Alibrary%2Falpine%3Apull%2Cpush"
        );
        let decoded = parse_query(url.query().unwrap());
        assert_eq!(decoded[2], ("scope".to_string(), "repository:library/alpine:pull,push".to_string()));

        let with_existing = u("https://h/t?a=1").with_query_pairs(&[("b", "2")]);
        assert_eq!(with_existing.query(), Some("a=1&b=2"));
        let after_empty = u("https://h/t?").with_query_pairs(&[("b", "2")]);
        assert_eq!(after_empty.query(), Some("b=2"));
        assert_eq!(u("https://h/t").with_query_pairs(&[]), u("https://h/t"));
        assert_eq!(u("https://h/t?").with_query_pairs(&[]).query(), Some(""));
    }

    proptest! {
        #[test]
        fn display_parses_back(s in "(https?|HTTP)://([a-z0-9._-]{1,12}|\\[[0-9a-f:.]{2,20}\\]|[0-9.]{7,15})(:[0-9]{1,6})?(/[a-zA-Z0-9._~%/?&=:@-]{0,30})?(#.{0,5})?") {
            if let Ok(url) = Url::parse(&s) {
                let again = Url::parse(&url.to_string()).unwrap();
                prop_assert_eq!(&again, &url);
                prop_assert!(url.path().starts_with('/'));
                prop_assert_eq!(url.join(&s).unwrap(), url.clone());
                prop_assert_eq!(url.join("").unwrap(), url);
            }
        }

        #[test]
        fn join_results_display_and_parse_back(link in "[a-z./?#%=&:@-]{0,20}") {
            let base = Url::parse("https://h.example/a/b/c?x=1").unwrap();
            if let Ok(joined) = base.join(&link) {
                prop_assert_eq!(Url::parse(&joined.to_string()).unwrap(), joined);
            }
        }

        #[test]
        fn encoding_round_trips_through_parse_query(key in any::<String>(), value in any::<String>()) {
            let url = Url::parse("https://h/").unwrap().with_query_pairs(&[(&key, &value)]);
            let query = url.query().unwrap();
            prop_assert_eq!(parse_query(query), vec![(key, value)]);
            prop_assert_eq!(Url::parse(&url.to_string()).unwrap(), url.clone());
        }
    }
}
