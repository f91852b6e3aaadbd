//! Deep links: `#/inspect/<percent-encoded reference>?platform=os/arch[/variant]`.
//! Credentials never appear here.

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Route {
    pub reference: String,
    pub platform: Option<String>,
}

const INSPECT: &str = "#/inspect/";

/// Reads a location hash (with or without the leading `#`); `None` for anything but an inspect link.
pub fn parse_hash(hash: &str) -> Option<Route> {
    let hash = if hash.starts_with('#') {
        hash.to_string()
    } else {
        format!("#{hash}")
    };
    let rest = hash.strip_prefix(INSPECT)?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let reference = percent_decode(path);
    if reference.trim().is_empty() {
        return None;
    }
    let platform = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "platform")
        .map(|(_, v)| percent_decode(v))
        .filter(|p| !p.is_empty());
    Some(Route {
        reference: reference.trim().to_string(),
        platform,
    })
}

pub fn format_hash(route: &Route) -> String {
    let mut out = format!("{INSPECT}{}", percent_encode(&route.reference));
    if let Some(platform) = &route.platform {
        out.push_str("?platform=");
        out.push_str(&percent_encode(platform));
    }
    out
}

/// Keeps the characters references are made of readable; escapes the rest.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_links_round_trip() {
        let cases = [
            ("#/inspect/alpine", "alpine", None),
            (
                "#/inspect/127.0.0.1:5000/public/multi:v1?platform=linux/arm64/v8",
                "127.0.0.1:5000/public/multi:v1",
                Some("linux/arm64/v8"),
            ),
            ("#/inspect/ubuntu@sha256:abc", "ubuntu@sha256:abc", None),
            ("#/inspect/a%20b%3Fc", "a b?c", None),
        ];
        for (hash, reference, platform) in cases {
            let route = parse_hash(hash).expect(hash);
            assert_eq!(
                route,
                Route {
                    reference: reference.into(),
                    platform: platform.map(String::from)
                },
                "{hash}"
            );
            assert_eq!(parse_hash(&format_hash(&route)), Some(route.clone()));
        }
        assert_eq!(
            format_hash(&Route {
                reference: "a b?c#d".into(),
                platform: None
            }),
            "#/inspect/a%20b%3Fc%23d"
        );
    }

    #[test]
    fn other_hashes_are_not_routes() {
        for hash in ["", "#", "#/", "#/inspect/", "#main", "#/other/alpine"] {
            assert_eq!(parse_hash(hash), None, "{hash}");
        }
        assert_eq!(
            parse_hash("/inspect/alpine").map(|r| r.reference),
            Some("alpine".into())
        );
    }

    #[test]
    fn decoding_is_lenient() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
