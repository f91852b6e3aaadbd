//! `/v2/<name>/tags/list` pages and the `Link` header that chains them.

use crate::url::Url;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TagPage {
    #[serde(default)]
    pub name: String,
    /// Some registries (Nexus) send `null` or omit the list for an empty repository.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<Option<String>>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagsError {
    #[error("tag list is not valid JSON: {0}")]
    Invalid(String),
    #[error("Link header {0:?} is malformed")]
    BadLink(String),
    #[error("refusing to follow a tag-list Link to another origin ({to}); the listing came from {from}")]
    CrossOrigin { from: String, to: String },
}

pub fn parse_page(body: &[u8]) -> Result<TagPage, TagsError> {
    serde_json::from_slice(body).map_err(|e| TagsError::Invalid(e.to_string()))
}

/// The first-page URL: `n` bounds the page (ECR rejects more than 1000), `last` is exclusive.
pub fn first_page_url(base: &Url, repository: &str, n: Option<u32>, last: Option<&str>) -> Result<Url, TagsError> {
    let url = base
        .join(&format!("/v2/{repository}/tags/list"))
        .map_err(|e| TagsError::BadLink(e.to_string()))?;
    let n_text = n.map(|n| n.to_string());
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let Some(n) = &n_text {
        pairs.push(("n", n));
    }
    if let Some(last) = last {
        pairs.push(("last", last));
    }
    Ok(if pairs.is_empty() { url } else { url.with_query_pairs(&pairs) })
}

/// The `rel="next"` target of a `Link` header, resolved against the URL that returned it.
/// Only the same origin is followed: a registry must not steer the client (and its token) elsewhere.
pub fn next_page(current: &Url, link_header: Option<&str>) -> Result<Option<Url>, TagsError> {
    let Some(header) = link_header.map(str::trim).filter(|h| !h.is_empty()) else { return Ok(None) };
    for link in split_links(header) {
        let link = link.trim();
        let bad = || TagsError::BadLink(header.to_string());
        let rest = link.strip_prefix('<').ok_or_else(bad)?;
        let (target, params) = rest.split_once('>').ok_or_else(bad)?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel") && v.trim().trim_matches('"').split_whitespace().any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        if !is_next {
            continue;
        }
        let next = current.join(target.trim()).map_err(|_| bad())?;
        if !next.same_origin(current) {
            return Err(TagsError::CrossOrigin { from: current.origin(), to: next.origin() });
        }
        return Ok(Some(next));
    }
    Ok(None)
}

/// Splits on commas outside `<…>` and quotes, since URLs in a Link may themselves contain commas.
fn split_links(header: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut in_angle, mut in_quote) = (0, false, false);
    for (i, c) in header.char_indices() {
        match c {
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            '"' if !in_angle => in_quote = !in_quote,
            ',' if !in_angle && !in_quote => {
                out.push(&header[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&header[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn pages_parse() {
        let cases: Vec<(&str, Vec<&str>)> = vec![
            (r#"{"name":"a/b","tags":["1","2"]}"#, vec!["1", "2"]),
            (r#"{"name":"a/b","tags":null}"#, vec![]),
            (r#"{"name":"a/b"}"#, vec![]),
            (r#"{"name":"a/b","tags":["1",null,""]}"#, vec!["1"]),
        ];
        for (body, tags) in cases {
            assert_eq!(parse_page(body.as_bytes()).unwrap().tags, tags, "{body}");
        }
        for bad in [&b"{\"tags\": 5}"[..], b"\"x\"", b"not json"] {
            assert!(parse_page(bad).is_err());
        }
    }

    #[test]
    fn first_page_query() {
        let base = url("https://r.example.com");
        assert_eq!(first_page_url(&base, "x/y", None, None).unwrap().to_string(), "https://r.example.com/v2/x/y/tags/list");
        assert_eq!(first_page_url(&base, "x/y", Some(2), Some("b")).unwrap().to_string(), "https://r.example.com/v2/x/y/tags/list?n=2&last=b");
        assert_eq!(first_page_url(&base, "x/y", Some(0), None).unwrap().to_string(), "https://r.example.com/v2/x/y/tags/list?n=0");
    }

    #[test]
    fn link_following() {
        let current = url("https://r.example.com/v2/x/tags/list?n=2");
        let ok: Vec<(Option<&str>, Option<&str>)> = vec![
            (None, None),
            (Some(""), None),
            (Some(r#"</v2/x/tags/list?last=b&n=2>; rel="next""#), Some("https://r.example.com/v2/x/tags/list?last=b&n=2")),
            (Some(r#"<https://r.example.com/v2/x/tags/list?last=b&n=2>; rel=next"#), Some("https://r.example.com/v2/x/tags/list?last=b&n=2")),
            (Some(r#"</v2/x/tags/list?last=a>; rel="prev", </v2/x/tags/list?last=c,d>; rel="next""#), Some("https://r.example.com/v2/x/tags/list?last=c,d")),
            (Some(r#"</v2/x/tags/list?last=a>; rel="prev""#), None),
            (Some(r#"<https://r.example.com:443/v2/x/tags/list?last=b>; REL="next""#), Some("https://r.example.com:443/v2/x/tags/list?last=b")),
        ];
        for (header, want) in ok {
            let got = next_page(&current, header).unwrap().map(|u| u.to_string());
            assert_eq!(got.as_deref(), want, "{header:?}");
        }
        assert!(matches!(
            next_page(&current, Some(r#"<https://evil.example.net/v2/x/tags/list>; rel="next""#)),
            Err(TagsError::CrossOrigin { .. })
        ));
        assert!(matches!(next_page(&current, Some(r#"<http://r.example.com/v2/x/tags/list>; rel="next""#)), Err(TagsError::CrossOrigin { .. })));
        assert!(matches!(next_page(&current, Some("rel=next")), Err(TagsError::BadLink(_))));
    }
}
