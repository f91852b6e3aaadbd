//! Image references (`busybox`, `ghcr.io/org/app:1.2@sha256:…`) parsed and normalised
//! the way docker, containerd's CRI plugin and kubelet do it, so the registry, repository
//! and tag this crate fetches are the ones those tools would.
//!
//! The grammar is matched by hand rather than with a regex engine: the rules are small,
//! and a regex crate would be the largest thing in the browser bundle.

use crate::digest::{Digest, DigestError};
use crate::url::host_is_loopback;
use std::fmt;
use std::str::FromStr;

const HUB_DOMAIN: &str = "docker.io";
/// The Docker Hub name from the v1 days, still found in old scripts and config files.
const LEGACY_HUB_DOMAIN: &str = "index.docker.io";
/// Where `docker.io` is actually served; the short name has no registry behind it.
const HUB_REGISTRY_HOST: &str = "registry-1.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
const DEFAULT_TAG: &str = "latest";
/// Counted on the path alone: since 2024 the domain no longer counts towards it.
const MAX_PATH_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    InvalidFormat,
    #[error("invalid tag format")]
    InvalidTag,
    #[error("repository name must be lowercase")]
    NameContainsUppercase,
    #[error("repository name must not be more than 255 characters")]
    NameTooLong,
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    RemoteNameNotLowercase(String),
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    ImageId(String),
    #[error(transparent)]
    Digest(#[from] DigestError),
}

/// A normalised reference: the domain is always present (`docker.io` for Docker Hub) and
/// Hub's official images carry their `library/` prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises as distribution/reference's `ParseNormalizedNamed` does, with
    /// two deliberate differences. `sha512` digests are accepted. And a first component
    /// that is taken for a registry (it has a `.`) but is no valid host name, as in
    /// `foo_bar.com/x`, is refused: distribution reads that as a repository with no
    /// registry at all, from which nothing can be pulled.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if is_image_id(s) {
            return Err(ReferenceError::ImageId(s.to_owned()));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = remainder.split(':').next().unwrap_or_default();
        if changes_when_lowercased(remote) {
            return Err(ReferenceError::RemoteNameNotLowercase(remote.to_owned()));
        }
        parse_qualified(&format!("{domain}/{remainder}"))
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `docker.io/library/busybox`: domain and path, no tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or(DEFAULT_TAG)
    }

    /// Neither tag nor digest was given, so `latest` is implied; docker says
    /// "Using default tag: latest" in this case.
    pub fn default_tag_applied(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }

    /// The `<reference>` of `/v2/<name>/manifests/<reference>`. A digest wins over a
    /// tag, as it does for docker and containerd: the tag is then only a label.
    pub fn manifest_reference(&self) -> String {
        match &self.digest {
            Some(digest) => digest.to_string(),
            None => self.tag_or_latest().to_owned(),
        }
    }

    /// The form `ParseDockerRef` gives and containerd stores: `:latest` added when
    /// nothing was given, the tag dropped when a digest pins the content.
    pub fn canonical(&self) -> String {
        match &self.digest {
            Some(digest) => format!("{}@{digest}", self.name()),
            None => format!("{}:{}", self.name(), self.tag_or_latest()),
        }
    }

    /// Everything that was given, nothing added: `docker.io/library/busybox:latest@sha256:…`.
    pub fn full(&self) -> String {
        self.with_name(self.name())
    }

    /// The short name docker shows: `busybox`, `dmcgowan/myapp`, `library/foo/bar`,
    /// `localhost/fooo/bar`. Like docker's, it does not always parse back to the same
    /// reference (`docker.io/example.com/x` shows as `example.com/x`).
    pub fn familiar_name(&self) -> String {
        if self.domain != HUB_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_owned(),
            _ => self.path.clone(),
        }
    }

    /// The familiar name with the tag and digest that were given.
    pub fn familiar(&self) -> String {
        self.with_name(self.familiar_name())
    }

    /// Pins the reference to `digest`, keeping any tag, as docker's `WithDigest` does.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference { digest: Some(digest), ..self.clone() }
    }

    /// Sets the tag, keeping any digest, as docker's `WithTag` does.
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        if !is_tag(tag) {
            return Err(ReferenceError::InvalidTag);
        }
        Ok(Reference { tag: Some(tag.to_owned()), ..self.clone() })
    }

    /// Where to send requests for this reference. Docker Hub is served from
    /// `registry-1.docker.io`. Plain HTTP is used only for loopback hosts (`localhost`,
    /// `*.localhost`, 127.0.0.0/8, `[::1]`, on any port) and for hosts in
    /// `plain_http_hosts`: an entry with a port matches that port only, one without a port
    /// matches every port of that host. Docker Hub is always HTTPS.
    pub fn endpoint(&self, plain_http_hosts: &[&str]) -> Endpoint {
        if self.domain == HUB_DOMAIN {
            return Endpoint { scheme: Scheme::Https, host: HUB_REGISTRY_HOST.to_owned() };
        }
        let (host, _) = split_host_port(&self.domain);
        let listed = plain_http_hosts.iter().any(|entry| {
            let (entry_host, entry_port) = split_host_port(entry);
            match entry_port {
                Some(_) => entry.eq_ignore_ascii_case(&self.domain),
                None => entry_host.eq_ignore_ascii_case(host),
            }
        });
        let scheme = if listed || host_is_loopback(host) { Scheme::Http } else { Scheme::Https };
        Endpoint { scheme, host: self.domain.clone() }
    }

    fn with_name(&self, name: String) -> String {
        let mut out = name;
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(&digest.to_string());
        }
        out
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Reference, ReferenceError> {
        Reference::parse(s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub scheme: Scheme,
    /// `host[:port]` as dialled.
    pub host: String,
}

impl Endpoint {
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }

    pub fn is_https(&self) -> bool {
        self.scheme == Scheme::Https
    }
}

/// An image ID typed where a name was expected; refused so that `docker run <id>` never
/// turns into a pull of a repository named after it.
fn is_image_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Decides whether the first component names a registry. Without a `/` it never does, so
/// `localhost:5000` is the repository `localhost` with tag `5000`. Otherwise it does when
/// it is `localhost`, contains `.` or `:`, or has uppercase letters (which Hub namespaces
/// cannot have).
fn split_docker_domain(name: &str) -> (&str, String) {
    let Some((maybe_domain, rest)) = name.split_once('/') else {
        return (HUB_DOMAIN, format!("{OFFICIAL_PREFIX}{name}"));
    };
    let (domain, remote) = if maybe_domain == LEGACY_HUB_DOMAIN {
        (HUB_DOMAIN, rest)
    } else if maybe_domain == "localhost"
        || maybe_domain.contains(['.', ':'])
        || changes_when_lowercased(maybe_domain)
    {
        (maybe_domain, rest)
    } else {
        (HUB_DOMAIN, name)
    };
    if domain == HUB_DOMAIN && !remote.contains('/') {
        return (domain, format!("{OFFICIAL_PREFIX}{remote}"));
    }
    (domain, remote.to_owned())
}

/// Whether Go's `strings.ToLower` changes `s`. It maps each character to exactly one, so that
/// is whether some character has a lowercase form: uppercase letters but for the symbols in
/// `CASELESS_CAPITALS`, and titlecase letters such as `ǅ`. Decided this way because the
/// mapping table behind `char::to_lowercase` is the largest piece of data in the web app.
fn changes_when_lowercased(s: &str) -> bool {
    const TITLECASE: [(char, char); 10] = [
        ('\u{1c5}', '\u{1c5}'),
        ('\u{1c8}', '\u{1c8}'),
        ('\u{1cb}', '\u{1cb}'),
        ('\u{1f2}', '\u{1f2}'),
        ('\u{1f88}', '\u{1f8f}'),
        ('\u{1f98}', '\u{1f9f}'),
        ('\u{1fa8}', '\u{1faf}'),
        ('\u{1fbc}', '\u{1fbc}'),
        ('\u{1fcc}', '\u{1fcc}'),
        ('\u{1ffc}', '\u{1ffc}'),
    ];
    const CASELESS_CAPITALS: [(char, char); 7] = [
        ('\u{3d2}', '\u{3d4}'),
        ('\u{2102}', '\u{2124}'),
        ('\u{2128}', '\u{2128}'),
        ('\u{212c}', '\u{2131}'),
        ('\u{2133}', '\u{2145}'),
        ('\u{1d400}', '\u{1d7ca}'),
        ('\u{1f130}', '\u{1f189}'),
    ];
    let within = |c: char, ranges: &[(char, char)]| ranges.iter().any(|&(first, last)| (first..=last).contains(&c));
    s.chars().any(|c| within(c, &TITLECASE) || (c.is_uppercase() && !within(c, &CASELESS_CAPITALS)))
}

/// Go's `strings.ToLower` as far as the reference grammar, which is all ASCII, can tell: the
/// only characters beyond ASCII that lower into it are `İ` (to `i` in Go, where Rust's
/// `to_lowercase` adds a combining dot) and the Kelvin sign.
fn lower_for_grammar(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{130}' => 'i',
            '\u{212a}' => 'k',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The components of a string that matches the reference grammar.
struct Parts<'a> {
    domain: Option<&'a str>,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

/// `domain/remainder` checked as distribution's `Parse` checks it.
fn parse_qualified(s: &str) -> Result<Reference, ReferenceError> {
    let Some(parts) = match_reference(s) else {
        let lower = lower_for_grammar(s);
        return Err(if lower != s && match_reference(&lower).is_some() {
            ReferenceError::NameContainsUppercase
        } else {
            ReferenceError::InvalidFormat
        });
    };
    if parts.path.len() > MAX_PATH_LEN {
        return Err(ReferenceError::NameTooLong);
    }
    let digest = parts.digest.map(Digest::parse).transpose()?;
    let domain = parts.domain.ok_or(ReferenceError::InvalidFormat)?;
    Ok(Reference { domain: domain.to_owned(), path: parts.path.to_owned(), tag: parts.tag.map(str::to_owned), digest })
}

/// `[domain "/"] path [":" tag] ["@" digest]`, preferring a domain when the first
/// component can be one, as the leftmost-first regex in distribution does.
fn match_reference(s: &str) -> Option<Parts<'_>> {
    if let Some((first, rest)) = s.split_once('/') {
        if is_domain(first) {
            if let Some(parts) = match_path_and_suffix(rest) {
                return Some(Parts { domain: Some(first), ..parts });
            }
        }
    }
    match_path_and_suffix(s)
}

fn match_path_and_suffix(s: &str) -> Option<Parts<'_>> {
    let (path, suffix) = s.split_at(s.find([':', '@']).unwrap_or(s.len()));
    if !path.split('/').all(is_path_component) {
        return None;
    }
    let (tag, digest_part) = match suffix.strip_prefix(':') {
        Some(after) => {
            let (tag, rest) = after.split_at(after.find('@').unwrap_or(after.len()));
            if !is_tag(tag) {
                return None;
            }
            (Some(tag), rest)
        }
        None => (None, suffix),
    };
    let digest = match digest_part {
        "" => None,
        _ => Some(digest_part.strip_prefix('@').filter(|d| is_digest_shape(d))?),
    };
    Some(Parts { domain: None, path, tag, digest })
}

/// `host[:port]`, host being a dotted name (IPv4 included) or a bracketed IPv6 literal.
fn is_domain(s: &str) -> bool {
    let (host, port) = split_host_port(s);
    let host_ok = match host.strip_prefix('[') {
        Some(inner) => inner
            .strip_suffix(']')
            .is_some_and(|v6| !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')),
        None => host.split('.').all(is_domain_component),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

/// Splits `host[:port]`, keeping an IPv6 literal's brackets on the host. Anything after
/// the closing bracket that is not a port stays on the host, where it fails validation.
fn split_host_port(s: &str) -> (&str, Option<&str>) {
    let split_at = if s.starts_with('[') {
        s.find(']').map(|end| end + 1).filter(|&end| s[end..].starts_with(':'))
    } else {
        s.find(':')
    };
    match split_at {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

fn is_domain_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

/// Lowercase alphanumeric runs joined by exactly one separator: `.`, `_`, `__`, or any
/// number of `-`.
fn is_path_component(c: &str) -> bool {
    let is_alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = c.as_bytes();
    let mut i = 0;
    loop {
        let run = bytes[i..].iter().take_while(|b| is_alnum(b)).count();
        if run == 0 {
            return false;
        }
        i += run;
        if i == bytes.len() {
            return true;
        }
        let sep_len = bytes[i..].iter().take_while(|b| matches!(b, b'.' | b'_' | b'-')).count();
        let sep = &c[i..i + sep_len];
        if !(matches!(sep, "." | "_" | "__") || (!sep.is_empty() && sep.bytes().all(|b| b == b'-'))) {
            return false;
        }
        i += sep_len;
    }
}

fn is_tag(t: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = t.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_TAG_LEN
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

/// The reference grammar's loose digest shape; the digest rules proper come after it.
fn is_digest_shape(d: &str) -> bool {
    let Some((algorithm, hex)) = d.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['-', '_', '+', '.']).all(|part| {
        let mut bytes = part.bytes();
        bytes.next().is_some_and(|b| b.is_ascii_alphabetic()) && bytes.all(|b| b.is_ascii_alphanumeric())
    });
    algorithm_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::Url;
    use proptest::prelude::*;

    const D_86E0: &str = "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
    const D_E669: &str = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582";
    const D_DBCC: &str = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
    const D_FFFF: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    const HEX_DBCC: &str = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
    const HEX_1A3F: &str = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";

    /// Go's `strings.ToLower` of one character: Rust's mapping, but `İ` becomes `i`.
    fn go_lower(c: char) -> char {
        if c == '\u{130}' { 'i' } else { c.to_lowercase().next().unwrap_or(c) }
    }

    #[test]
    fn lowercase_checks_agree_with_the_unicode_mapping_for_every_character() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let one = c.to_string();
            assert_eq!(changes_when_lowercased(&one), go_lower(c) != c, "U+{:04X}", c as u32);
            let lowered = lower_for_grammar(&one).chars().next();
            if go_lower(c).is_ascii() {
                assert_eq!(lowered, Some(go_lower(c)), "U+{:04X}", c as u32);
            } else {
                assert!(lowered.is_some_and(|l| !l.is_ascii()), "U+{:04X}", c as u32);
            }
        }
    }

    /// What a valid input must parse to.
    struct Want {
        canonical: String,
        full: String,
        domain: String,
        path: String,
        tag: Option<String>,
        digest: Option<String>,
        familiar: String,
    }

    /// `familiar` is the familiar string (name plus what was given), `tag` and `digest`
    /// are "" when absent.
    fn want(
        canonical: &str,
        full: &str,
        (domain, path): (&str, &str),
        (tag, digest): (&str, &str),
        familiar: &str,
    ) -> Result<Want, String> {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Ok(Want {
            canonical: canonical.to_owned(),
            full: full.to_owned(),
            domain: domain.to_owned(),
            path: path.to_owned(),
            tag: some(tag),
            digest: some(digest),
            familiar: familiar.to_owned(),
        })
    }

    fn fail(message: &str) -> Result<Want, String> {
        Err(message.to_owned())
    }

    fn check(label: &str, input: &str, expected: &Result<Want, String>) {
        let got = Reference::parse(input);
        match (expected, got) {
            (Ok(want), Ok(r)) => {
                assert_eq!(r.canonical(), want.canonical, "{label} {input:?}: canonical");
                assert_eq!(r.full(), want.full, "{label} {input:?}: full");
                assert_eq!(r.domain(), want.domain, "{label} {input:?}: domain");
                assert_eq!(r.path(), want.path, "{label} {input:?}: path");
                assert_eq!(r.tag(), want.tag.as_deref(), "{label} {input:?}: tag");
                assert_eq!(r.digest().map(ToString::to_string), want.digest, "{label} {input:?}: digest");
                assert_eq!(r.familiar(), want.familiar, "{label} {input:?}: familiar");
                assert_eq!(Reference::parse(&r.full()).as_ref(), Ok(&r), "{label} {input:?}: full round trip");
            }
            (Err(message), Err(e)) => assert_eq!(&e.to_string(), message, "{label} {input:?}"),
            (Ok(_), Err(e)) => panic!("{label} {input:?}: unexpected error {e}"),
            (Err(message), Ok(r)) => panic!("{label} {input:?}: expected {message:?}, got {r:?}"),
        }
    }

    const FORMAT: &str = "invalid reference format";

    /// Every row of the protocol notes' normalisation table (§1.3), under its number.
    #[test]
    #[rustfmt::skip]
    fn notes_table_rows() {
        let hex63 = &HEX_DBCC[..63];
        let rows: Vec<(&str, String, Result<Want, String>)> = vec![
            ("1", "busybox".into(), want("docker.io/library/busybox:latest", "docker.io/library/busybox", ("docker.io", "library/busybox"), ("", ""), "busybox")),
            ("2", "busybox:latest".into(), want("docker.io/library/busybox:latest", "docker.io/library/busybox:latest", ("docker.io", "library/busybox"), ("latest", ""), "busybox:latest")),
            ("3", "library/busybox".into(), want("docker.io/library/busybox:latest", "docker.io/library/busybox", ("docker.io", "library/busybox"), ("", ""), "busybox")),
            ("4", "docker.io/busybox".into(), want("docker.io/library/busybox:latest", "docker.io/library/busybox", ("docker.io", "library/busybox"), ("", ""), "busybox")),
            ("5", "docker.io/library/busybox".into(), want("docker.io/library/busybox:latest", "docker.io/library/busybox", ("docker.io", "library/busybox"), ("", ""), "busybox")),
            ("6", "index.docker.io/library/ubuntu-12.04-base".into(), want("docker.io/library/ubuntu-12.04-base:latest", "docker.io/library/ubuntu-12.04-base", ("docker.io", "library/ubuntu-12.04-base"), ("", ""), "ubuntu-12.04-base")),
            ("7", "index.docker.io/fooo/bar".into(), want("docker.io/fooo/bar:latest", "docker.io/fooo/bar", ("docker.io", "fooo/bar"), ("", ""), "fooo/bar")),
            ("8", "registry-1.docker.io/library/ubuntu".into(), want("registry-1.docker.io/library/ubuntu:latest", "registry-1.docker.io/library/ubuntu", ("registry-1.docker.io", "library/ubuntu"), ("", ""), "registry-1.docker.io/library/ubuntu")),
            ("9", "dmcgowan/myapp".into(), want("docker.io/dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp", ("docker.io", "dmcgowan/myapp"), ("", ""), "dmcgowan/myapp")),
            ("10", "docker.io/library/foo/bar".into(), want("docker.io/library/foo/bar:latest", "docker.io/library/foo/bar", ("docker.io", "library/foo/bar"), ("", ""), "library/foo/bar")),
            ("11", "store/foo/bar".into(), want("docker.io/store/foo/bar:latest", "docker.io/store/foo/bar", ("docker.io", "store/foo/bar"), ("", ""), "store/foo/bar")),
            ("12", "other/library".into(), want("docker.io/other/library:latest", "docker.io/other/library", ("docker.io", "other/library"), ("", ""), "other/library")),
            ("13", "test_com/foo".into(), want("docker.io/test_com/foo:latest", "docker.io/test_com/foo", ("docker.io", "test_com/foo"), ("", ""), "test_com/foo")),
            ("14", "test.com/foo".into(), want("test.com/foo:latest", "test.com/foo", ("test.com", "foo"), ("", ""), "test.com/foo")),
            ("15", "test.com:8080/foo".into(), want("test.com:8080/foo:latest", "test.com:8080/foo", ("test.com:8080", "foo"), ("", ""), "test.com:8080/foo")),
            ("16", "test-com:8080/foo".into(), want("test-com:8080/foo:latest", "test-com:8080/foo", ("test-com:8080", "foo"), ("", ""), "test-com:8080/foo")),
            ("17", "xn--n3h.com/foo".into(), want("xn--n3h.com/foo:latest", "xn--n3h.com/foo", ("xn--n3h.com", "foo"), ("", ""), "xn--n3h.com/foo")),
            ("18", "localhost/fooo/bar".into(), want("localhost/fooo/bar:latest", "localhost/fooo/bar", ("localhost", "fooo/bar"), ("", ""), "localhost/fooo/bar")),
            ("19", "LOCALDOMAIN/fooo".into(), want("LOCALDOMAIN/fooo:latest", "LOCALDOMAIN/fooo", ("LOCALDOMAIN", "fooo"), ("", ""), "LOCALDOMAIN/fooo")),
            ("20a", "Foo/bar".into(), want("Foo/bar:latest", "Foo/bar", ("Foo", "bar"), ("", ""), "Foo/bar")),
            ("20b", "FOO/bar".into(), want("FOO/bar:latest", "FOO/bar", ("FOO", "bar"), ("", ""), "FOO/bar")),
            ("21", "localhost".into(), want("docker.io/library/localhost:latest", "docker.io/library/localhost", ("docker.io", "library/localhost"), ("", ""), "localhost")),
            ("22", "example.com:5000".into(), want("docker.io/library/example.com:5000", "docker.io/library/example.com:5000", ("docker.io", "library/example.com"), ("5000", ""), "example.com:5000")),
            ("23", "127.0.0.1:5000/library/debian".into(), want("127.0.0.1:5000/library/debian:latest", "127.0.0.1:5000/library/debian", ("127.0.0.1:5000", "library/debian"), ("", ""), "127.0.0.1:5000/library/debian")),
            ("24", "192.168.0.1".into(), want("docker.io/library/192.168.0.1:latest", "docker.io/library/192.168.0.1", ("docker.io", "library/192.168.0.1"), ("", ""), "192.168.0.1")),
            ("25", "192.168.1.1:5000".into(), want("docker.io/library/192.168.1.1:5000", "docker.io/library/192.168.1.1:5000", ("docker.io", "library/192.168.1.1"), ("5000", ""), "192.168.1.1:5000")),
            ("26", "[2001:db8::1]:5000/repo:tag".into(), want("[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000/repo:tag", ("[2001:db8::1]:5000", "repo"), ("tag", ""), "[2001:db8::1]:5000/repo:tag")),
            ("27", "[fc00::1]:5000".into(), fail(FORMAT)),
            ("28", "[fe80::1%eth0]:5000/debian".into(), fail(FORMAT)),
            ("29", "fc00::1:5000/debian".into(), fail(FORMAT)),
            ("30", format!("busybox:latest@{D_86E0}"), want(&format!("docker.io/library/busybox@{D_86E0}"), &format!("docker.io/library/busybox:latest@{D_86E0}"), ("docker.io", "library/busybox"), ("latest", D_86E0), &format!("busybox:latest@{D_86E0}"))),
            ("31", format!("gcr.io/library/busybox:latest@{D_E669}"), want(&format!("gcr.io/library/busybox@{D_E669}"), &format!("gcr.io/library/busybox:latest@{D_E669}"), ("gcr.io", "library/busybox"), ("latest", D_E669), &format!("gcr.io/library/busybox:latest@{D_E669}"))),
            ("32", format!("redis@{D_DBCC}"), want(&format!("docker.io/library/redis@{D_DBCC}"), &format!("docker.io/library/redis@{D_DBCC}"), ("docker.io", "library/redis"), ("", D_DBCC), &format!("redis@{D_DBCC}"))),
            ("33", "lowercase:Uppercase".into(), want("docker.io/library/lowercase:Uppercase", "docker.io/library/lowercase:Uppercase", ("docker.io", "library/lowercase"), ("Uppercase", ""), "lowercase:Uppercase")),
            // The notes quote Parse's message; the normalising parse stops earlier, at its
            // own lowercase check on the Hub-prefixed remote name.
            ("34", "Uppercase:tag".into(), fail("invalid reference format: repository name (library/Uppercase) must be lowercase")),
            ("35", "docker/Docker".into(), fail("invalid reference format: repository name (docker/Docker) must be lowercase")),
            ("36", HEX_DBCC.into(), fail(&format!("invalid repository name ({HEX_DBCC}), cannot specify 64-byte hexadecimal strings"))),
            ("37a", hex63.into(), want(&format!("docker.io/library/{hex63}:latest"), &format!("docker.io/library/{hex63}"), ("docker.io", &format!("library/{hex63}")), ("", ""), hex63)),
            ("37b", "dbcc1".into(), want("docker.io/library/dbcc1:latest", "docker.io/library/dbcc1", ("docker.io", "library/dbcc1"), ("", ""), "dbcc1")),
            ("38", format!("docker.io/{HEX_1A3F}"), want(&format!("docker.io/library/{HEX_1A3F}:latest"), &format!("docker.io/library/{HEX_1A3F}"), ("docker.io", &format!("library/{HEX_1A3F}")), ("", ""), HEX_1A3F)),
            ("39", "https://github.com/docker/docker".into(), fail(FORMAT)),
            ("40a", "-docker".into(), fail(FORMAT)),
            ("40b", "docker-/docker".into(), fail(FORMAT)),
            ("40c", "-docker-/docker".into(), fail(FORMAT)),
            ("41a", "dock..er/docker".into(), fail(FORMAT)),
            ("41b", "dock_.er/docker".into(), fail(FORMAT)),
            ("41c", "dock-.er/docker".into(), fail(FORMAT)),
            ("41d", "____/____".into(), fail(FORMAT)),
            ("41e", "_docker/_docker".into(), fail(FORMAT)),
            ("42a", "dock__er/docker".into(), want("docker.io/dock__er/docker:latest", "docker.io/dock__er/docker", ("docker.io", "dock__er/docker"), ("", ""), "dock__er/docker")),
            ("42b", "docker---rules/docker".into(), want("docker.io/docker---rules/docker:latest", "docker.io/docker---rules/docker", ("docker.io", "docker---rules/docker"), ("", ""), "docker---rules/docker")),
            ("42c", "d/docker".into(), want("docker.io/d/docker:latest", "docker.io/d/docker", ("docker.io", "d/docker"), ("", ""), "d/docker")),
            ("42d", "jess/t".into(), want("docker.io/jess/t:latest", "docker.io/jess/t", ("docker.io", "jess/t"), ("", ""), "jess/t")),
            ("43a", "docker///docker".into(), fail(FORMAT)),
            ("43b", "docker/".into(), fail(FORMAT)),
            // The notes quote Parse's "must have at least one component"; the normalising
            // parse prefixes "docker.io/library/" first, and that fails the grammar.
            ("44", String::new(), fail(FORMAT)),
            ("45a", ":justtag".into(), fail(FORMAT)),
            ("45b", format!("@{D_FFFF}"), fail(FORMAT)),
            ("46", format!("repo@sha256:{}", "f".repeat(34)), fail("invalid checksum digest length")),
            ("47", format!("validname@invaliddigest:{}", "f".repeat(64)), fail("unsupported digest algorithm")),
            // Deliberately unlike distribution's test (which has no sha512 registered):
            // sha512 digests are supported here.
            ("48", format!("validname@sha512:{}", "f".repeat(128)), want(&format!("docker.io/library/validname@sha512:{}", "f".repeat(128)), &format!("docker.io/library/validname@sha512:{}", "f".repeat(128)), ("docker.io", "library/validname"), ("", &format!("sha512:{}", "f".repeat(128))), &format!("validname@sha512:{}", "f".repeat(128)))),
            ("49", format!("busybox@sha256:{}", HEX_DBCC.to_uppercase()), fail("invalid checksum digest format")),
            ("50", format!("domain/{}:tag", "a".repeat(256)), fail("repository name must not be more than 255 characters")),
            ("51", format!("example.com/{}:tag", "a".repeat(255)), want(&format!("example.com/{}:tag", "a".repeat(255)), &format!("example.com/{}:tag", "a".repeat(255)), ("example.com", &"a".repeat(255)), ("tag", ""), &format!("example.com/{}:tag", "a".repeat(255)))),
            ("52a", format!("foo:{}", "t".repeat(128)), want(&format!("docker.io/library/foo:{}", "t".repeat(128)), &format!("docker.io/library/foo:{}", "t".repeat(128)), ("docker.io", "library/foo"), (&"t".repeat(128), ""), &format!("foo:{}", "t".repeat(128)))),
            ("52b", format!("foo:{}", "t".repeat(129)), fail(FORMAT)),
            ("53a", "foo:-tag".into(), fail(FORMAT)),
            ("53b", "foo:.tag".into(), fail(FORMAT)),
            ("53c", "foo:_tag".into(), want("docker.io/library/foo:_tag", "docker.io/library/foo:_tag", ("docker.io", "library/foo"), ("_tag", ""), "foo:_tag")),
            ("54", "foo/foo_bar.com:8080".into(), want("docker.io/foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080", ("docker.io", "foo/foo_bar.com"), ("8080", ""), "foo/foo_bar.com:8080")),
            ("55", "b.gcr.io/test.example.com/my-app:test.example.com".into(), want("b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io/test.example.com/my-app:test.example.com", ("b.gcr.io", "test.example.com/my-app"), ("test.example.com", ""), "b.gcr.io/test.example.com/my-app:test.example.com")),
            ("56", "aa/asdf$$^/aa".into(), fail(FORMAT)),
        ];
        for (label, input, expected) in &rows {
            check(label, input, expected);
        }
    }

    #[test]
    #[rustfmt::skip]
    fn more_references() {
        let sha512 = format!("sha512:{}", "0123456789abcdef".repeat(8));
        let path255 = format!("a/{}", "b".repeat(253));
        let rows: Vec<(&str, String, Result<Want, String>)> = vec![
            // Registries with ports.
            ("port", "localhost:5000/foo".into(), want("localhost:5000/foo:latest", "localhost:5000/foo", ("localhost:5000", "foo"), ("", ""), "localhost:5000/foo")),
            ("port", "myregistry:5000/a/b:1.0".into(), want("myregistry:5000/a/b:1.0", "myregistry:5000/a/b:1.0", ("myregistry:5000", "a/b"), ("1.0", ""), "myregistry:5000/a/b:1.0")),
            ("port", format!("test:5000/repo:tag@{D_FFFF}"), want(&format!("test:5000/repo@{D_FFFF}"), &format!("test:5000/repo:tag@{D_FFFF}"), ("test:5000", "repo"), ("tag", D_FFFF), &format!("test:5000/repo:tag@{D_FFFF}"))),
            ("port", "192.168.0.1:8/debian".into(), want("192.168.0.1:8/debian:latest", "192.168.0.1:8/debian", ("192.168.0.1:8", "debian"), ("", ""), "192.168.0.1:8/debian")),
            ("port", "localhost:5000".into(), want("docker.io/library/localhost:5000", "docker.io/library/localhost:5000", ("docker.io", "library/localhost"), ("5000", ""), "localhost:5000")),
            ("port", "host:/x".into(), fail(FORMAT)),
            ("port", "host:50a/x".into(), fail(FORMAT)),
            // IPv6 literals.
            ("ipv6", "[::1]/repo".into(), want("[::1]/repo:latest", "[::1]/repo", ("[::1]", "repo"), ("", ""), "[::1]/repo")),
            ("ipv6", "[::1]:5000/repo".into(), want("[::1]:5000/repo:latest", "[::1]:5000/repo", ("[::1]:5000", "repo"), ("", ""), "[::1]:5000/repo")),
            ("ipv6", "[2001:db8::1]/repo:tag".into(), want("[2001:db8::1]/repo:tag", "[2001:db8::1]/repo:tag", ("[2001:db8::1]", "repo"), ("tag", ""), "[2001:db8::1]/repo:tag")),
            ("ipv6", "[2001:DB8::1]:5000/repo".into(), want("[2001:DB8::1]:5000/repo:latest", "[2001:DB8::1]:5000/repo", ("[2001:DB8::1]:5000", "repo"), ("", ""), "[2001:DB8::1]:5000/repo")),
            ("ipv6", format!("[2001:db8::1]:5000/repo:tag@{D_FFFF}"), want(&format!("[2001:db8::1]:5000/repo@{D_FFFF}"), &format!("[2001:db8::1]:5000/repo:tag@{D_FFFF}"), ("[2001:db8::1]:5000", "repo"), ("tag", D_FFFF), &format!("[2001:db8::1]:5000/repo:tag@{D_FFFF}"))),
            ("ipv6", "[2001:db8::1]".into(), fail(FORMAT)),
            ("ipv6", "[2001:db8::1]:5000".into(), fail(FORMAT)),
            ("ipv6", "[2001:db8::1]:tag".into(), fail(FORMAT)),
            ("ipv6", "[2001:db8:3:4::192.0.2.33]:5000/debian".into(), fail(FORMAT)),
            ("ipv6", "[fe80::1%@invalidzone]:5000/repo".into(), fail(FORMAT)),
            ("ipv6", "[]/repo".into(), fail(FORMAT)),
            ("ipv6", "[::1]x/repo".into(), fail(FORMAT)),
            // Tags.
            ("tag", "foo:LATEST".into(), want("docker.io/library/foo:LATEST", "docker.io/library/foo:LATEST", ("docker.io", "library/foo"), ("LATEST", ""), "foo:LATEST")),
            ("tag", "foo:v1.0_RC-2".into(), want("docker.io/library/foo:v1.0_RC-2", "docker.io/library/foo:v1.0_RC-2", ("docker.io", "library/foo"), ("v1.0_RC-2", ""), "foo:v1.0_RC-2")),
            ("tag", "foo:".into(), fail(FORMAT)),
            ("tag", "foo:a:b".into(), fail(FORMAT)),
            ("tag", "foo:a/b".into(), fail(FORMAT)),
            ("tag", "foo:täg".into(), fail(FORMAT)),
            // Path separators.
            ("sep", "a__b/c".into(), want("docker.io/a__b/c:latest", "docker.io/a__b/c", ("docker.io", "a__b/c"), ("", ""), "a__b/c")),
            ("sep", "a___b/c".into(), fail(FORMAT)),
            ("sep", "a-_b/c".into(), fail(FORMAT)),
            ("sep", "a--b/c--d".into(), want("docker.io/a--b/c--d:latest", "docker.io/a--b/c--d", ("docker.io", "a--b/c--d"), ("", ""), "a--b/c--d")),
            ("sep", "a/b.c_d-e".into(), want("docker.io/a/b.c_d-e:latest", "docker.io/a/b.c_d-e", ("docker.io", "a/b.c_d-e"), ("", ""), "a/b.c_d-e")),
            ("sep", "a/b..c".into(), fail(FORMAT)),
            ("sep", "a/-b".into(), fail(FORMAT)),
            ("sep", "a/b-".into(), fail(FORMAT)),
            ("sep", "a.b/c".into(), want("a.b/c:latest", "a.b/c", ("a.b", "c"), ("", ""), "a.b/c")),
            ("sep", "a-.b/c".into(), fail(FORMAT)),
            // Docker Hub's names.
            ("hub", "registry-1.docker.io/ubuntu".into(), want("registry-1.docker.io/ubuntu:latest", "registry-1.docker.io/ubuntu", ("registry-1.docker.io", "ubuntu"), ("", ""), "registry-1.docker.io/ubuntu")),
            ("hub", "index.docker.io/ubuntu".into(), want("docker.io/library/ubuntu:latest", "docker.io/library/ubuntu", ("docker.io", "library/ubuntu"), ("", ""), "ubuntu")),
            ("hub", "docker.io".into(), want("docker.io/library/docker.io:latest", "docker.io/library/docker.io", ("docker.io", "library/docker.io"), ("", ""), "docker.io")),
            ("hub", "docker.io/library".into(), want("docker.io/library/library:latest", "docker.io/library/library", ("docker.io", "library/library"), ("", ""), "library")),
            // A Hub path that looks like a registry keeps it in the familiar name, as docker does.
            ("hub", "docker.io/example.com/x".into(), want("docker.io/example.com/x:latest", "docker.io/example.com/x", ("docker.io", "example.com/x"), ("", ""), "example.com/x")),
            ("hub", "LOCALHOST/x".into(), want("LOCALHOST/x:latest", "LOCALHOST/x", ("LOCALHOST", "x"), ("", ""), "LOCALHOST/x")),
            // Digests.
            ("digest", format!("busybox@{sha512}"), want(&format!("docker.io/library/busybox@{sha512}"), &format!("docker.io/library/busybox@{sha512}"), ("docker.io", "library/busybox"), ("", &sha512), &format!("busybox@{sha512}"))),
            ("digest", format!("busybox@sha256:{}", &HEX_DBCC[..31]), fail(FORMAT)),
            ("digest", format!("busybox@sha256:{}", &HEX_DBCC[..32]), fail("invalid checksum digest length")),
            ("digest", format!("busybox@sha384:{}", "a".repeat(96)), fail("unsupported digest algorithm")),
            ("digest", format!("busybox@sha256:{HEX_DBCC}a"), fail("invalid checksum digest length")),
            ("digest", format!("busybox@sha256+b64:{HEX_DBCC}"), fail("unsupported digest algorithm")),
            ("digest", format!("busybox@{D_DBCC}@x"), fail(FORMAT)),
            ("digest", "busybox@".into(), fail(FORMAT)),
            // An uppercase algorithm sits before the first ':' and so fails the remote-name
            // lowercase check, exactly as in distribution.
            ("digest", format!("busybox@SHA256:{HEX_DBCC}"), fail("invalid reference format: repository name (library/busybox@SHA256) must be lowercase")),
            ("digest", format!("x.io/busybox@Sha256:{HEX_DBCC}"), fail("invalid reference format: repository name (busybox@Sha256) must be lowercase")),
            // Image-ID look-alikes that are still names.
            ("id", format!("{HEX_DBCC}:latest"), want(&format!("docker.io/library/{HEX_DBCC}:latest"), &format!("docker.io/library/{HEX_DBCC}:latest"), ("docker.io", &format!("library/{HEX_DBCC}")), ("latest", ""), &format!("{HEX_DBCC}:latest"))),
            ("id", D_DBCC.into(), want(&format!("docker.io/library/sha256:{HEX_DBCC}"), &format!("docker.io/library/sha256:{HEX_DBCC}"), ("docker.io", "library/sha256"), (HEX_DBCC, ""), &format!("sha256:{HEX_DBCC}"))),
            ("id", HEX_DBCC.to_uppercase(), fail(&format!("invalid reference format: repository name (library/{}) must be lowercase", HEX_DBCC.to_uppercase()))),
            // Length limits count the path only.
            ("len", path255.clone(), want(&format!("docker.io/{path255}:latest"), &format!("docker.io/{path255}"), ("docker.io", &path255), ("", ""), &path255)),
            ("len", format!("{path255}b"), fail("repository name must not be more than 255 characters")),
            ("len", format!("{}.com/x", "a".repeat(300)), want(&format!("{}.com/x:latest", "a".repeat(300)), &format!("{}.com/x", "a".repeat(300)), (&format!("{}.com", "a".repeat(300)), "x"), ("", ""), &format!("{}.com/x", "a".repeat(300)))),
            // Uppercase and other characters.
            ("case", "Foo_bar/x".into(), fail("repository name must be lowercase")),
            ("case", "ÉCOLE:tag".into(), fail("invalid reference format: repository name (library/ÉCOLE) must be lowercase")),
            ("case", "\u{130}_x/y".into(), fail("repository name must be lowercase")),
            ("case", "bücher".into(), fail(FORMAT)),
            ("case", " busybox".into(), fail(FORMAT)),
            ("case", "busybox ".into(), fail(FORMAT)),
            ("case", "busy box".into(), fail(FORMAT)),
            // distribution returns a name with no domain for these; this crate refuses them.
            ("nodomain", "foo_bar.com/x".into(), fail(FORMAT)),
            ("nodomain", "my_registry.local/app:1".into(), fail(FORMAT)),
        ];
        for (label, input, expected) in &rows {
            check(label, input, expected);
        }
    }

    #[test]
    fn error_messages_match_distribution() {
        let cases = [
            (ReferenceError::InvalidFormat, "invalid reference format"),
            (ReferenceError::InvalidTag, "invalid tag format"),
            (ReferenceError::NameContainsUppercase, "repository name must be lowercase"),
            (ReferenceError::NameTooLong, "repository name must not be more than 255 characters"),
            (
                ReferenceError::RemoteNameNotLowercase("docker/Docker".into()),
                "invalid reference format: repository name (docker/Docker) must be lowercase",
            ),
            (
                ReferenceError::ImageId(HEX_DBCC.into()),
                "invalid repository name (dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c), cannot specify 64-byte hexadecimal strings",
            ),
            (ReferenceError::Digest(DigestError::InvalidLength), "invalid checksum digest length"),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn pull_helpers() {
        let plain = Reference::parse("busybox").unwrap();
        assert_eq!(plain.name(), "docker.io/library/busybox");
        assert_eq!(plain.familiar_name(), "busybox");
        assert_eq!(plain.tag_or_latest(), "latest");
        assert!(plain.default_tag_applied());
        assert_eq!(plain.manifest_reference(), "latest");

        let tagged = Reference::parse("busybox:1.36").unwrap();
        assert!(!tagged.default_tag_applied());
        assert_eq!(tagged.tag_or_latest(), "1.36");
        assert_eq!(tagged.manifest_reference(), "1.36");

        let pinned = Reference::parse(&format!("busybox:1.36@{D_DBCC}")).unwrap();
        assert!(!pinned.default_tag_applied());
        assert_eq!(pinned.tag_or_latest(), "1.36");
        assert_eq!(pinned.manifest_reference(), D_DBCC);

        let digest_only = Reference::parse(&format!("busybox@{D_DBCC}")).unwrap();
        assert!(!digest_only.default_tag_applied());
        assert_eq!(digest_only.manifest_reference(), D_DBCC);
        assert_eq!(digest_only.to_string(), format!("docker.io/library/busybox@{D_DBCC}"));
        assert_eq!("busybox".parse::<Reference>().unwrap(), plain);
    }

    #[test]
    fn with_tag_and_with_digest_keep_the_other() {
        let digest = Digest::parse(D_DBCC).unwrap();
        let base = Reference::parse("ghcr.io/org/app:1.0").unwrap();

        let pinned = base.with_digest(digest.clone());
        assert_eq!(pinned.full(), format!("ghcr.io/org/app:1.0@{D_DBCC}"));
        assert_eq!(pinned.canonical(), format!("ghcr.io/org/app@{D_DBCC}"));

        let retagged = pinned.with_tag("2.0").unwrap();
        assert_eq!(retagged.full(), format!("ghcr.io/org/app:2.0@{D_DBCC}"));
        assert_eq!(retagged.digest(), Some(&digest));

        for bad in ["", "-x", ".x", "a/b", "a:b", "a@b", "täg", &"t".repeat(129)] {
            assert_eq!(base.with_tag(bad).unwrap_err(), ReferenceError::InvalidTag, "{bad:?}");
        }
        assert_eq!(base.with_tag(&"T".repeat(128)).unwrap().tag(), Some("T".repeat(128).as_str()));
    }

    #[test]
    #[rustfmt::skip]
    fn endpoints() {
        // reference, plain-HTTP list, base URL
        let cases: &[(&str, &[&str], &str)] = &[
            ("busybox", &[], "https://registry-1.docker.io"),
            ("docker.io/library/busybox", &["docker.io", "registry-1.docker.io"], "https://registry-1.docker.io"),
            ("index.docker.io/x/y", &[], "https://registry-1.docker.io"),
            ("registry-1.docker.io/library/busybox", &[], "https://registry-1.docker.io"),
            ("ghcr.io/org/app", &[], "https://ghcr.io"),
            ("registry.example:8443/app", &[], "https://registry.example:8443"),
            ("localhost/app", &[], "http://localhost"),
            ("localhost:5000/app", &[], "http://localhost:5000"),
            ("LOCALHOST:5000/app", &[], "http://LOCALHOST:5000"),
            ("registry.localhost:5000/app", &[], "http://registry.localhost:5000"),
            ("127.0.0.1:5000/app", &[], "http://127.0.0.1:5000"),
            ("127.1.2.3/app", &[], "http://127.1.2.3"),
            ("[::1]/app", &[], "http://[::1]"),
            ("[::1]:5000/app", &[], "http://[::1]:5000"),
            ("[::2]:5000/app", &[], "https://[::2]:5000"),
            ("128.0.0.1/app", &[], "https://128.0.0.1"),
            ("localhost.example/app", &[], "https://localhost.example"),
            ("10.0.0.5:5000/app", &[], "https://10.0.0.5:5000"),
            ("myreg:5000/app", &["myreg:5000"], "http://myreg:5000"),
            ("myreg:5001/app", &["myreg:5000"], "https://myreg:5001"),
            ("myreg.example/app", &["myreg.example:5000"], "https://myreg.example"),
            ("myreg:5001/app", &["myreg"], "http://myreg:5001"),
            ("myreg.example/app", &["MyReg.Example"], "http://myreg.example"),
            ("[fd00::1]:5000/app", &["[fd00::1]"], "http://[fd00::1]:5000"),
            ("[fd00::1]:5000/app", &["[fd00::1]:5000"], "http://[fd00::1]:5000"),
            ("[fd00::1]:5000/app", &["[fd00::1]:6000"], "https://[fd00::1]:5000"),
        ];
        for (input, plain_http, base) in cases {
            let endpoint = Reference::parse(input).unwrap().endpoint(plain_http);
            assert_eq!(endpoint.base_url(), *base, "{input} with {plain_http:?}");
            assert_eq!(endpoint.is_https(), base.starts_with("https:"), "{input}");
            Url::parse(&endpoint.base_url()).unwrap();
        }
        let hub = Reference::parse("busybox").unwrap().endpoint(&[]);
        assert_eq!(hub, Endpoint { scheme: Scheme::Https, host: "registry-1.docker.io".into() });
        assert_eq!(Scheme::Http.to_string(), "http");
    }

    fn assert_round_trips(s: &str) -> Result<(), TestCaseError> {
        if let Ok(r) = Reference::parse(s) {
            prop_assert_eq!(Reference::parse(&r.full()), Ok(r.clone()));
            prop_assert_eq!(r.name(), format!("{}/{}", r.domain(), r.path()));
            let canonical = Reference::parse(&r.canonical()).unwrap();
            prop_assert_eq!(canonical.canonical(), r.canonical());
            prop_assert_eq!(Reference::parse(&canonical.canonical()), Ok(canonical.clone()));
            prop_assert!(canonical.tag().is_some() != canonical.digest().is_some());
            prop_assert_eq!(canonical.manifest_reference(), r.manifest_reference());
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn any_string_errors_or_round_trips(s in any::<String>()) {
            assert_round_trips(&s)?;
        }

        #[test]
        fn reference_like_strings_error_or_round_trip(s in "[a-zA-Z0-9._:/@\\[\\]-]{0,40}") {
            assert_round_trips(&s)?;
        }

        #[test]
        fn structured_references_round_trip(
            s in "(([a-zA-Z0-9.-]{1,10}|localhost|index\\.docker\\.io|docker\\.io|\\[[0-9a-f:]{2,8}\\])(:[0-9]{1,5})?/)?[a-z0-9._-]{1,10}(/[a-z0-9._-]{1,10}){0,2}(:[A-Za-z0-9._-]{1,10})?(@sha256:[0-9a-f]{64}|@sha512:[0-9a-f]{128})?"
        ) {
            assert_round_trips(&s)?;
        }
    }
}
