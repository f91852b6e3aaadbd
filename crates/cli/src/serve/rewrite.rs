//! URLs inside registry responses, turned into the proxy's own. A page behind the proxy must
//! never be sent to an upstream origin directly: the browser would block the cross-origin call
//! this proxy exists to avoid.

use super::policy::{Origin, Scheme};

/// An upstream URL split into its origin and its path with query (fragment dropped).
pub fn parse_absolute(url: &str) -> Option<(Origin, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = Scheme::parse(scheme)?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let origin = Origin::new(scheme, &rest[..end])?;
    Some((origin, path_and_query(&rest[end..])))
}

fn path_and_query(rest: &str) -> String {
    let rest = rest.split('#').next().unwrap_or_default();
    if rest.starts_with('/') {
        rest.to_string()
    } else {
        format!("/{rest}")
    }
}

/// Resolves a `Location` or `Link` reference against the URL of the response carrying it.
pub fn resolve(base: &Origin, base_path: &str, reference: &str) -> Option<(Origin, String)> {
    let reference = reference.trim();
    if let Some(rest) = reference.strip_prefix("//") {
        return parse_absolute(&format!("{}://{rest}", base.scheme.as_str()));
    }
    if reference.starts_with('/') {
        return Some((base.clone(), path_and_query(reference)));
    }
    let scheme_end = reference.find(':');
    let path_end = reference.find(['/', '?', '#']);
    if scheme_end.is_some_and(|s| path_end.is_none_or(|p| s < p)) {
        return parse_absolute(reference);
    }
    let base_path = base_path.split('?').next().unwrap_or_default();
    let directory = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
    Some((base.clone(), path_and_query(&format!("{directory}{reference}"))))
}

/// The proxy's URL for an upstream one, absolute on the origin the page used, so that code
/// resolving it against the registry's own base still lands on the proxy.
pub fn proxied(base: &str, origin: &Origin, path_and_query: &str) -> String {
    format!("{base}/proxy/{}/{}{path_and_query}", origin.scheme.as_str(), origin.authority())
}

/// Rewrites the `realm` of every Bearer challenge in a `WWW-Authenticate` value through
/// `replace` (`None` leaves it as it was); everything else is kept byte for byte.
pub fn rewrite_challenges(value: &str, mut replace: impl FnMut(&str) -> Option<String>) -> String {
    let bytes = value.as_bytes();
    let mut out = String::with_capacity(value.len());
    let mut copied = 0;
    let mut bearer = false;
    let mut i = 0;
    let skip_space = |mut i: usize| {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        i
    };
    while i < bytes.len() {
        if matches!(bytes[i], b' ' | b'\t' | b',') {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b',' | b'=' | b'"') {
            i += 1;
        }
        if i == start {
            // A stray quote or equals sign: not the start of anything this rewrite cares about.
            i += 1;
            continue;
        }
        let name = &value[start..i];
        let after = skip_space(i);
        if after >= bytes.len() || bytes[after] != b'=' {
            bearer = name.eq_ignore_ascii_case("bearer");
            continue;
        }
        let value_start = skip_space(after + 1);
        let (param, value_end) = if bytes.get(value_start) == Some(&b'"') {
            quoted(value, value_start)
        } else {
            let end = value[value_start..].find([',', ' ', '\t']).map_or(bytes.len(), |n| value_start + n);
            (value[value_start..end].to_string(), end)
        };
        i = value_end;
        if bearer && name.eq_ignore_ascii_case("realm") {
            if let Some(new) = replace(&param) {
                out.push_str(&value[copied..value_start]);
                out.push('"');
                out.push_str(&new.replace('\\', "\\\\").replace('"', "\\\""));
                out.push('"');
                copied = value_end;
            }
        }
    }
    out.push_str(&value[copied..]);
    out
}

/// The unescaped content of the quoted string opening at `open`, and the index past its end.
fn quoted(value: &str, open: usize) -> (String, usize) {
    let mut content = String::new();
    let mut chars = value[open + 1..].char_indices();
    while let Some((n, c)) = chars.next() {
        match c {
            '"' => return (content, open + 1 + n + 1),
            '\\' => content.extend(chars.next().map(|(_, c)| c)),
            c => content.push(c),
        }
    }
    (content, value.len())
}

/// Rewrites every `<URI-reference>` of a `Link` value through `replace`.
pub fn rewrite_links(value: &str, mut replace: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>').map(|n| open + n) else { break };
        out.push_str(&rest[..=open]);
        let target = &rest[open + 1..close];
        out.push_str(&replace(target).unwrap_or_else(|| target.to_string()));
        out.push('>');
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Origin {
        Origin::new(Scheme::Https, "registry-1.docker.io").unwrap()
    }

    #[test]
    fn absolute_urls() {
        let (o, p) = parse_absolute("HTTPS://Auth.Docker.IO/token?service=x#frag").unwrap();
        assert_eq!((o.to_string(), p.as_str()), ("https://auth.docker.io".to_string(), "/token?service=x"));
        let (o, p) = parse_absolute("http://127.0.0.1:5000?x").unwrap();
        assert_eq!((o.to_string(), p.as_str()), ("http://127.0.0.1:5000".to_string(), "/?x"));
        assert!(parse_absolute("ftp://host/x").is_none());
        assert!(parse_absolute("https://user:pw@host/x").is_none());
    }

    #[test]
    fn references() {
        let base_path = "/v2/library/alpine/blobs/sha256:abc";
        let r = |s: &str| resolve(&hub(), base_path, s).map(|(o, p)| o.url(&p));
        assert_eq!(r("https://cdn.example/b?sig=1").unwrap(), "https://cdn.example/b?sig=1");
        assert_eq!(r("//cdn.example/b").unwrap(), "https://cdn.example/b");
        assert_eq!(r("/v2/x/tags/list?n=1&last=a").unwrap(), "https://registry-1.docker.io/v2/x/tags/list?n=1&last=a");
        assert_eq!(r("other?x=a:b").unwrap(), "https://registry-1.docker.io/v2/library/alpine/blobs/other?x=a:b");
        assert!(r("javascript:alert(1)").is_none());
    }

    #[test]
    fn bearer_realms_are_rewritten_and_nothing_else() {
        let header = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#;
        let mut seen = Vec::new();
        let out = rewrite_challenges(header, |realm| {
            seen.push(realm.to_string());
            Some(format!("http://127.0.0.1:8080/proxy/x?{realm}"))
        });
        assert_eq!(seen, ["https://auth.docker.io/token"]);
        assert_eq!(
            out,
            r#"Bearer realm="http://127.0.0.1:8080/proxy/x?https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#
        );

        let basic = r#"Basic realm="https://not-a-token-realm""#;
        assert_eq!(rewrite_challenges(basic, |_| Some("X".into())), basic);

        let several = r#"Basic realm="b", BEARER scope="a,b", Realm=http://r/t , error="insufficient_scope""#;
        assert_eq!(
            rewrite_challenges(several, |r| Some(format!("<{r}>"))),
            r#"Basic realm="b", BEARER scope="a,b", Realm="<http://r/t>" , error="insufficient_scope""#
        );

        let escaped = r#"Bearer realm="https://a/t\"x",service="s""#;
        let mut got = String::new();
        let out = rewrite_challenges(escaped, |r| {
            got = r.to_string();
            None
        });
        assert_eq!((got.as_str(), out.as_str()), (r#"https://a/t"x"#, escaped));

        for odd in ["", "Bearer", "Bearer realm=", r#"Bearer realm="unterminated"#, "=,=\"", "Negotiate abc=="] {
            rewrite_challenges(odd, |_| Some("x".into()));
        }
    }

    #[test]
    fn links() {
        let value = r#"</v2/_catalog?last=b&n=2>; rel="next", <https://other/x>; rel="x""#;
        let out = rewrite_links(value, |t| resolve(&hub(), "/v2/_catalog", t).map(|(o, p)| proxied("http://h:1", &o, &p)));
        assert_eq!(
            out,
            r#"<http://h:1/proxy/https/registry-1.docker.io/v2/_catalog?last=b&n=2>; rel="next", <http://h:1/proxy/https/other/x>; rel="x""#
        );
        assert_eq!(rewrite_links("<unterminated", |_| Some("x".into())), "<unterminated");
    }
}
