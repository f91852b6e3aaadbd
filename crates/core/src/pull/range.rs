//! `Content-Range` on a 206 answer, and whether it is the rest of the blob that was asked for.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    pub first: u64,
    pub last: u64,
    /// The full length; `None` for `*` (unknown).
    pub total: Option<u64>,
}

/// Parses `bytes <first>-<last>/<total|*>` (RFC 9110 §14.4).
pub fn parse_content_range(value: &str) -> Option<ContentRange> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.trim().split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    let (first, last) = (number(first)?, number(last)?);
    let total = match total.trim() {
        "*" => None,
        t => Some(number(t)?),
    };
    if last < first || total.is_some_and(|t| last >= t) {
        return None;
    }
    Some(ContentRange { first, last, total })
}

/// Why a 206 answer cannot continue a blob of `size` bytes from `offset`; `None` when it can.
pub fn range_mismatch(header: Option<&str>, offset: u64, size: u64) -> Option<String> {
    let Some(value) = header else {
        return Some("a 206 answer without Content-Range".into());
    };
    match parse_content_range(value) {
        None => Some(format!("an unreadable Content-Range {value:?}")),
        Some(r) if r.first != offset || r.last + 1 != size || r.total.is_some_and(|t| t != size) => {
            Some(format!("Content-Range {value:?} where bytes {offset}-{}/{size} were asked for", size.saturating_sub(1)))
        }
        Some(_) => None,
    }
}
