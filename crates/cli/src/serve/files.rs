//! The built app, served from its directory as plain files: no listings, nothing outside it.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// Used when the app's `index.html` declares no policy of its own.
const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self' http: https:; worker-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub struct Site {
    root: PathBuf,
    csp: String,
}

pub enum Lookup {
    Found { file: File, len: u64, mime: &'static str },
    Missing,
    /// Traversal, hidden files, or bytes that cannot name a file here.
    BadPath,
}

impl Site {
    pub fn open(dir: &Path) -> io::Result<Site> {
        let root = dir.canonicalize()?;
        if !root.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotADirectory, "not a directory"));
        }
        let csp = fs::read_to_string(root.join("index.html")).ok().and_then(|html| meta_csp(&html));
        Ok(Site { root, csp: header_csp(csp.as_deref()) })
    }

    /// The policy sent as a header on every response: the one in the app's `<meta>` tag, so
    /// the two never disagree (a browser enforces both), plus `frame-ancestors`, which a
    /// `<meta>` policy cannot carry.
    pub fn csp(&self) -> &str {
        &self.csp
    }

    /// `path` is the request path without its query.
    pub fn lookup(&self, path: &str) -> Lookup {
        let Some(rest) = path.strip_prefix('/') else { return Lookup::BadPath };
        let mut relative = PathBuf::new();
        if rest.is_empty() {
            relative.push("index.html");
        }
        for segment in rest.split('/').filter(|_| !rest.is_empty()) {
            let Some(name) = percent_decode(segment) else { return Lookup::BadPath };
            if name.is_empty() {
                return Lookup::Missing;
            }
            if name.starts_with('.') || name.contains(['/', '\\', '\0']) {
                return Lookup::BadPath;
            }
            relative.push(name);
        }
        let Ok(full) = self.root.join(&relative).canonicalize() else { return Lookup::Missing };
        // A symbolic link inside the directory must not lead out of it.
        if !full.starts_with(&self.root) {
            return Lookup::BadPath;
        }
        match File::open(&full).and_then(|f| Ok((f.metadata()?, f))) {
            Ok((meta, file)) if meta.is_file() => Lookup::Found { file, len: meta.len(), mime: mime_type(&full) },
            _ => Lookup::Missing,
        }
    }
}

fn header_csp(meta: Option<&str>) -> String {
    let Some(policy) = meta.map(str::trim).filter(|p| !p.is_empty()) else { return DEFAULT_CSP.to_string() };
    let has_frame_ancestors = policy
        .split(';')
        .any(|d| d.split_whitespace().next().is_some_and(|n| n.eq_ignore_ascii_case("frame-ancestors")));
    if has_frame_ancestors {
        policy.to_string()
    } else {
        format!("{}; frame-ancestors 'none'", policy.trim_end_matches(';'))
    }
}

fn mime_type(path: &Path) -> &'static str {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The `content` of the first `<meta http-equiv="Content-Security-Policy">` tag.
fn meta_csp(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(n) = lower[from..].find("<meta") {
        let start = from + n + "<meta".len();
        let end = lower[start..].find('>').map_or(html.len(), |e| start + e);
        let attributes = attributes(&html[start..end]);
        let is_csp = attributes
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("http-equiv") && v.eq_ignore_ascii_case("content-security-policy"));
        if is_csp {
            return attributes.into_iter().find(|(k, _)| k.eq_ignore_ascii_case("content")).map(|(_, v)| v);
        }
        from = end;
    }
    None
}

fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = tag.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
    while !rest.is_empty() {
        let name_end = rest.find(|c: char| c.is_whitespace() || c == '=' || c == '/').unwrap_or(rest.len());
        let name = &rest[..name_end];
        rest = rest[name_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (raw, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let close = after[1..].find(q).map_or(after.len(), |n| n + 1);
                    (&after[1..close], after.get(close + 1..).unwrap_or_default())
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            value = decode_entities(raw);
            rest = remaining;
        }
        if !name.is_empty() {
            found.push((name.to_string(), value));
        }
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
    }
    found
}

fn decode_entities(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_from_meta() {
        let html = r#"<!doctype html><html><head><meta charset="utf-8">
            <META HTTP-EQUIV="Content-Security-Policy" content="default-src 'self'; script-src 'self' 'wasm-unsafe-eval' &apos;sha256-x&apos;">
            </head></html>"#;
        let meta = meta_csp(html).unwrap();
        assert_eq!(meta, "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-x'");
        assert_eq!(header_csp(Some(&meta)), format!("{meta}; frame-ancestors 'none'"));
        assert_eq!(header_csp(Some("default-src 'none'; frame-ancestors 'self';")), "default-src 'none'; frame-ancestors 'self';");
        assert_eq!(header_csp(None), DEFAULT_CSP);
        assert_eq!(meta_csp("<meta name=x content=y><p>"), None);
        assert_eq!(meta_csp("<meta http-equiv=content-security-policy content=default-src/>"), Some("default-src/".into()));
        for odd in ["<meta", "<meta =>", "<meta a='", "<meta é=\"", "<meta / / />"] {
            meta_csp(odd);
        }
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%2e%2E"), Some("a..".into()));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(mime_type(Path::new("x/app_bg.WASM")), "application/wasm");
    }
}
