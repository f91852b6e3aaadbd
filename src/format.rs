//! Small text forms the page shows: exact byte counts, indented JSON, safe link targets.

/// `1234567` → `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn exact_bytes(n: u64) -> String {
    format!("{} {}", grouped(n), if n == 1 { "byte" } else { "bytes" })
}

/// A link target only for http(s): registry-supplied text must never become a `javascript:` link.
pub fn safe_link(value: &str) -> Option<&str> {
    let v = value.trim();
    let lower = v.get(..8).unwrap_or(v).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(v)
}

/// Indents compact JSON without reordering keys (a parse and re-serialise would sort them),
/// so what is shown is exactly the bytes whose digest is displayed, only spaced out.
pub fn indent_json(raw: &str) -> String {
    if raw.trim_end().contains('\n') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                if matches!(chars.peek(), Some('}') | Some(']')) {
                    out.push(chars.next().unwrap_or(c));
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// A URL fit for the activity log: user info and secret-looking query values are masked.
pub fn redact_url(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            match rest[..end].rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://<redacted>@{host}{}", &rest[end..]),
                None => base.to_string(),
            }
        }
        None => base.to_string(),
    };
    if query.is_empty() {
        return base;
    }
    let secretish = [
        "token",
        "password",
        "secret",
        "signature",
        "sig",
        "credential",
        "key",
    ];
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if secretish.iter().any(|s| k.to_ascii_lowercase().contains(s)) => {
                format!("{k}=<redacted>")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping() {
        for (n, want) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(grouped(n), want);
        }
        assert_eq!(exact_bytes(1), "1 byte");
        assert_eq!(exact_bytes(2479), "2,479 bytes");
    }

    #[test]
    fn only_http_links() {
        assert_eq!(
            safe_link("https://example.com/x"),
            Some("https://example.com/x")
        );
        assert_eq!(
            safe_link(" HTTP://example.com "),
            Some("HTTP://example.com")
        );
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "ftp://x",
            "example.com",
            "//example.com",
        ] {
            assert_eq!(safe_link(bad), None, "{bad}");
        }
    }

    #[test]
    fn indenting_keeps_key_order_and_strings() {
        let raw = r#"{"z":1,"a":["x,y",{"q":"a\"}"}],"e":{}}"#;
        let want = "{\n  \"z\": 1,\n  \"a\": [\n    \"x,y\",\n    {\n      \"q\": \"a\\\"}\"\n    }\n  ],\n  \"e\": {}\n}";
        assert_eq!(indent_json(raw), want);
        assert_eq!(
            indent_json("{\n \"a\": 1\n}\n"),
            "{\n \"a\": 1\n}\n",
            "already indented text is left alone"
        );
    }

    #[test]
    fn log_urls_hide_secrets() {
        assert_eq!(
            redact_url("https://u:p@r.example/v2/?a=1"),
            "https://<redacted>@r.example/v2/?a=1"
        );
        assert_eq!(
            redact_url(
                "https://auth.example/token?service=s&scope=repository:x:pull&access_token=abc"
            ),
            "https://auth.example/token?service=s&scope=repository:x:pull&access_token=<redacted>"
        );
        assert_eq!(
            redact_url("http://r/v2/x/blobs/sha256:1"),
            "http://r/v2/x/blobs/sha256:1"
        );
    }
}
