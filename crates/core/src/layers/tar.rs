//! A tar reader fed bytes in pieces of any size: headers are parsed as their 512 bytes complete
//! and file contents are skipped without being held, so memory stays flat for any layer.

use super::entry::{classify, normalize, Entry, EntryKind};
use super::Event;
use std::collections::BTreeMap;

pub(crate) const BLOCK: usize = 512;
/// GNU long names and PAX records are held whole; real ones are a few KiB at most, and a hostile
/// archive must not make the reader allocate whatever its size field claims.
pub(crate) const MAX_METADATA: u64 = 1024 * 1024;
/// Captured contents reach the caller in events of at most this many bytes.
pub(crate) const CONTENT_PIECE: usize = 32 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TarError {
    #[error("tar header at byte {offset}: checksum mismatch (the header records {recorded:?}, its bytes sum to {computed}); this is not a tar archive or it is corrupt")]
    Checksum { offset: u64, recorded: String, computed: u64 },
    #[error("tar header at byte {offset}: the {field} field {value:?} is not a number")]
    Number { offset: u64, field: &'static str, value: String },
    #[error("tar header at byte {offset}: {what} of {size} bytes exceeds the {limit} bytes allowed")]
    MetadataTooLarge { offset: u64, what: &'static str, size: u64, limit: u64 },
    #[error("PAX extended header at byte {offset} is malformed: {reason}")]
    Pax { offset: u64, reason: String },
    #[error("the tar archive ends in the middle of {what} (after {at} bytes)")]
    Truncated { what: &'static str, at: u64 },
}

/// Which file's contents to hand to the caller while listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// The normalised path (as in [`Entry::path`]) of the regular file wanted.
    pub path: String,
    /// At most this many bytes are handed over (a viewer's prefix); `None` streams the whole file.
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meta {
    LongName,
    LongLink,
    PaxLocal,
    PaxGlobal,
}

impl Meta {
    fn describe(self) -> &'static str {
        match self {
            Meta::LongName => "a GNU long name",
            Meta::LongLink => "a GNU long link name",
            Meta::PaxLocal | Meta::PaxGlobal => "a PAX extended header",
        }
    }
}

enum State {
    Header,
    Skip { remaining: u64 },
    Metadata { meta: Meta, offset: u64, remaining: u64, padding: u64, buf: Vec<u8> },
    Content { remaining: u64, padding: u64, allowance: Option<u64>, truncated: bool },
    End,
}

/// Attributes that PAX records or GNU long-name entries set for the entry that follows them.
#[derive(Default)]
struct Pending {
    long_name: Option<String>,
    long_link: Option<String>,
    pax: BTreeMap<String, String>,
}

pub(crate) struct TarParser {
    header: [u8; BLOCK],
    filled: usize,
    state: State,
    position: u64,
    zero_blocks: u8,
    pending: Pending,
    global: BTreeMap<String, String>,
    capture: Option<Capture>,
    pub(crate) events: Vec<Event>,
    pub(crate) failure: Option<TarError>,
}

fn padding_after(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Octal with optional space/NUL padding, or GNU base-256 (high bit of the first byte set), which
/// carries sizes over 8 GiB and ids or times that octal cannot hold.
fn number(field: &[u8], name: &'static str, offset: u64) -> Result<i64, TarError> {
    let bad = || TarError::Number { offset, field: name, value: text(field) };
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let negative = field[0] & 0x40 != 0;
        let mut value: i128 = if negative { -1 } else { 0 };
        let first = if negative { field[0] } else { field[0] & 0x7f };
        value = (value << 8) | i128::from(first);
        for &b in &field[1..] {
            value = value.checked_mul(256).ok_or_else(bad)? | i128::from(b);
            if value > i128::from(i64::MAX) || value < i128::from(i64::MIN) {
                return Err(bad());
            }
        }
        return i64::try_from(value).map_err(|_| bad());
    }
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ' || b == 0)
        .take_while(|&b| b != b' ' && b != 0)
        .collect();
    let mut value: i64 = 0;
    for d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return Err(bad());
        }
        value = value.checked_mul(8).and_then(|v| v.checked_add(i64::from(d - b'0'))).ok_or_else(bad)?;
    }
    Ok(value)
}

fn unsigned(field: &[u8], name: &'static str, offset: u64) -> Result<u64, TarError> {
    let v = number(field, name, offset)?;
    u64::try_from(v).map_err(|_| TarError::Number { offset, field: name, value: v.to_string() })
}

fn verify_checksum(block: &[u8; BLOCK], offset: u64) -> Result<(), TarError> {
    let recorded = unsigned(&block[148..156], "checksum", offset).ok();
    let spaces = 8 * u64::from(b' ');
    let unsigned_sum: u64 = block[..148].iter().chain(&block[156..]).map(|&b| u64::from(b)).sum::<u64>() + spaces;
    // Some old tars summed signed chars; both sums are accepted, as GNU tar does.
    let signed_sum: i64 = block[..148].iter().chain(&block[156..]).map(|&b| i64::from(b as i8)).sum::<i64>() + spaces as i64;
    match recorded {
        Some(r) if r == unsigned_sum || i64::try_from(r).is_ok_and(|r| r == signed_sum) => Ok(()),
        _ => Err(TarError::Checksum { offset, recorded: text(&block[148..156]).trim().to_string(), computed: unsigned_sum }),
    }
}

/// PAX records: `"<length> <key>=<value>\n"`, the length counting the whole record.
fn parse_pax(data: &[u8], offset: u64) -> Result<Vec<(String, String)>, TarError> {
    let bad = |reason: &str| TarError::Pax { offset, reason: reason.to_string() };
    let mut records = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        let space = rest.iter().position(|&b| b == b' ').ok_or_else(|| bad("a record has no length"))?;
        let length: usize = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("a record length is not a decimal number"))?;
        if length <= space + 1 || length > rest.len() {
            return Err(bad("a record length runs past the header"));
        }
        let record = &rest[space + 1..length];
        let record = record.strip_suffix(b"\n").ok_or_else(|| bad("a record does not end with a newline"))?;
        let equals = record.iter().position(|&b| b == b'=').ok_or_else(|| bad("a record has no '='"))?;
        let key = String::from_utf8_lossy(&record[..equals]).into_owned();
        let value = String::from_utf8_lossy(&record[equals + 1..]).into_owned();
        records.push((key, value));
        rest = &rest[length..];
    }
    Ok(records)
}

impl TarParser {
    pub(crate) fn new(capture: Option<Capture>) -> TarParser {
        TarParser {
            header: [0; BLOCK],
            filled: 0,
            state: State::Header,
            position: 0,
            zero_blocks: 0,
            pending: Pending::default(),
            global: BTreeMap::new(),
            capture,
            events: Vec::new(),
            failure: None,
        }
    }

    /// Uncompressed tar bytes seen so far.
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    /// Whether the end-of-archive blocks have been read.
    pub(crate) fn ended(&self) -> bool {
        matches!(self.state, State::End)
    }

    /// Consumes all of `data`, queueing events; a malformed archive stops the reader for good.
    pub(crate) fn push(&mut self, mut data: &[u8]) -> Result<(), TarError> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        while !data.is_empty() {
            let used = match self.step(data) {
                Ok(n) => n,
                Err(e) => {
                    self.failure = Some(e.clone());
                    return Err(e);
                }
            };
            self.position += used as u64;
            data = &data[used..];
        }
        Ok(())
    }

    /// The input ended: fine at a header boundary (with or without the end-of-archive blocks).
    pub(crate) fn finish(&self) -> Result<(), TarError> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        let at = self.position;
        match &self.state {
            State::End => Ok(()),
            State::Header if self.filled == 0 => Ok(()),
            State::Header => Err(TarError::Truncated { what: "a header", at }),
            State::Metadata { meta, .. } => Err(TarError::Truncated { what: meta.describe(), at }),
            State::Skip { .. } | State::Content { .. } => Err(TarError::Truncated { what: "a file's contents", at }),
        }
    }

    fn step(&mut self, data: &[u8]) -> Result<usize, TarError> {
        match &mut self.state {
            State::End => Ok(data.len()),
            State::Skip { remaining } => {
                let n = data.len().min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.state = State::Header;
                }
                Ok(n)
            }
            State::Content { remaining, padding, allowance, truncated } => {
                let n = data.len().min(usize::try_from(*remaining).unwrap_or(usize::MAX)).min(CONTENT_PIECE);
                let give = match allowance {
                    Some(left) => {
                        let g = n.min(usize::try_from(*left).unwrap_or(usize::MAX));
                        *left -= g as u64;
                        if g < n {
                            *truncated = true;
                        }
                        g
                    }
                    None => n,
                };
                if give > 0 {
                    self.events.push(Event::Content(data[..give].to_vec()));
                }
                *remaining -= n as u64;
                if *remaining == 0 {
                    let (padding, truncated) = (*padding, *truncated);
                    self.events.push(Event::ContentEnd { truncated });
                    self.state = if padding == 0 { State::Header } else { State::Skip { remaining: padding } };
                }
                Ok(n)
            }
            State::Metadata { remaining, padding, buf, .. } => {
                let n = data.len().min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                buf.extend_from_slice(&data[..n]);
                *remaining -= n as u64;
                if *remaining == 0 {
                    let padding = *padding;
                    let State::Metadata { meta, offset, buf, .. } = std::mem::replace(&mut self.state, State::Header) else {
                        unreachable!("matched above")
                    };
                    self.absorb(meta, offset, &buf)?;
                    if padding > 0 {
                        self.state = State::Skip { remaining: padding };
                    }
                }
                Ok(n)
            }
            State::Header => {
                let n = (BLOCK - self.filled).min(data.len());
                self.header[self.filled..self.filled + n].copy_from_slice(&data[..n]);
                self.filled += n;
                if self.filled == BLOCK {
                    self.filled = 0;
                    let offset = self.position + n as u64 - BLOCK as u64;
                    self.header_complete(offset)?;
                }
                Ok(n)
            }
        }
    }

    fn absorb(&mut self, meta: Meta, offset: u64, buf: &[u8]) -> Result<(), TarError> {
        match meta {
            Meta::LongName => self.pending.long_name = Some(text(buf)),
            Meta::LongLink => self.pending.long_link = Some(text(buf)),
            Meta::PaxLocal => self.pending.pax.extend(parse_pax(buf, offset)?),
            Meta::PaxGlobal => {
                for (k, v) in parse_pax(buf, offset)? {
                    if v.is_empty() {
                        self.global.remove(&k);
                    } else {
                        self.global.insert(k, v);
                    }
                }
            }
        }
        Ok(())
    }

    /// A PAX value for the next entry: local records beat global ones, and an empty local value
    /// cancels both so the header field applies.
    fn pax(&self, key: &str) -> Option<&str> {
        match self.pending.pax.get(key) {
            Some(v) if v.is_empty() => None,
            Some(v) => Some(v),
            None => self.global.get(key).map(String::as_str),
        }
    }

    fn pax_number(&self, key: &'static str, offset: u64) -> Result<Option<u64>, TarError> {
        self.pax(key)
            .map(|v| v.parse::<u64>().map_err(|_| TarError::Pax { offset, reason: format!("{key}={v} is not a number") }))
            .transpose()
    }

    fn header_complete(&mut self, offset: u64) -> Result<(), TarError> {
        let block = self.header;
        if block.iter().all(|&b| b == 0) {
            self.zero_blocks += 1;
            if self.zero_blocks == 2 {
                self.state = State::End;
            }
            return Ok(());
        }
        self.zero_blocks = 0;
        verify_checksum(&block, offset)?;
        let typeflag = block[156];
        let header_size = unsigned(&block[124..136], "size", offset)?;
        let meta = match typeflag {
            b'L' => Some(Meta::LongName),
            b'K' => Some(Meta::LongLink),
            b'x' => Some(Meta::PaxLocal),
            b'g' => Some(Meta::PaxGlobal),
            _ => None,
        };
        if let Some(meta) = meta {
            if header_size > MAX_METADATA {
                return Err(TarError::MetadataTooLarge { offset, what: meta.describe(), size: header_size, limit: MAX_METADATA });
            }
            self.state = if header_size == 0 {
                self.absorb(meta, offset, &[])?;
                State::Header
            } else {
                State::Metadata { meta, offset, remaining: header_size, padding: padding_after(header_size), buf: Vec::with_capacity(header_size as usize) }
            };
            return Ok(());
        }

        let size = match self.pax_number("size", offset)? {
            Some(s) => s,
            None => header_size,
        };
        let posix_ustar = &block[257..263] == b"ustar\0";
        let raw_name = match (self.pending.long_name.take(), self.pax("path")) {
            (_, Some(p)) => p.to_string(),
            (Some(long), None) => long,
            (None, None) => {
                let name = text(&block[..100]);
                let prefix = if posix_ustar { text(&block[345..500]) } else { String::new() };
                if prefix.is_empty() { name } else { format!("{prefix}/{name}") }
            }
        };
        let link = match (self.pending.long_link.take(), self.pax("linkpath")) {
            (_, Some(l)) => l.to_string(),
            (Some(long), None) => long,
            (None, None) => text(&block[157..257]),
        };
        let device = |at: usize, name: &'static str| -> Result<u32, TarError> {
            let v = unsigned(&block[at..at + 8], name, offset)?;
            u32::try_from(v).map_err(|_| TarError::Number { offset, field: name, value: v.to_string() })
        };
        let listed_size = match typeflag {
            // Old GNU sparse files store their real size past the sparse map.
            b'S' => unsigned(&block[483..495], "realsize", offset)?,
            _ => size,
        };
        let kind = match typeflag {
            b'1' => Some(EntryKind::Hardlink { target: normalize(&link) }),
            b'2' => Some(EntryKind::Symlink { target: link }),
            b'3' => Some(EntryKind::CharDevice { major: device(329, "devmajor")?, minor: device(337, "devminor")? }),
            b'4' => Some(EntryKind::BlockDevice { major: device(329, "devmajor")?, minor: device(337, "devminor")? }),
            b'5' | b'D' => Some(EntryKind::Dir),
            b'6' => Some(EntryKind::Fifo),
            // A volume label or a multi-volume continuation names no file of the layer.
            b'V' | b'M' => None,
            b'0' | b'\0' | b'7' if raw_name.ends_with('/') => Some(EntryKind::Dir),
            // POSIX: an unknown type is read as a regular file.
            _ => Some(EntryKind::File),
        };
        let mode = unsigned(&block[100..108], "mode", offset)? as u32 & 0o7777;
        let uid = match self.pax_number("uid", offset)? {
            Some(v) => v,
            None => unsigned(&block[108..116], "uid", offset)?,
        };
        let gid = match self.pax_number("gid", offset)? {
            Some(v) => v,
            None => unsigned(&block[116..124], "gid", offset)?,
        };
        let mtime = match self.pax("mtime") {
            // PAX times may carry a fraction; listings show whole seconds.
            Some(v) => v
                .split('.')
                .next()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| TarError::Pax { offset, reason: format!("mtime={v} is not a time") })?,
            None => number(&block[136..148], "mtime", offset)?,
        };
        let uname = self.pax("uname").map(str::to_string).unwrap_or_else(|| text(&block[265..297]));
        let gname = self.pax("gname").map(str::to_string).unwrap_or_else(|| text(&block[297..329]));
        self.pending = Pending::default();

        let padding = padding_after(size);
        let Some(kind) = kind else {
            self.skip(size + padding);
            return Ok(());
        };
        let path = normalize(&raw_name);
        let kind = classify(&path, kind);
        let size_shown = if kind == EntryKind::File { listed_size } else { 0 };
        let entry = Entry { path, kind, mode, uid, gid, uname, gname, size: size_shown, mtime, offset };
        let captured = entry.kind == EntryKind::File && self.capture.as_ref().is_some_and(|c| c.path == entry.path);
        self.events.push(Event::Entry(entry));
        if captured {
            let allowance = self.capture.as_ref().and_then(|c| c.limit);
            if size == 0 {
                self.events.push(Event::ContentEnd { truncated: false });
                self.skip(padding);
            } else {
                self.state = State::Content { remaining: size, padding, allowance, truncated: false };
            }
        } else {
            self.skip(size + padding);
        }
        Ok(())
    }

    fn skip(&mut self, bytes: u64) {
        self.state = if bytes == 0 { State::Header } else { State::Skip { remaining: bytes } };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_and_base256_numbers() {
        let cases: [(&[u8], i64); 7] = [
            (b"0000644\0", 0o644),
            (b"  755 \0\0", 0o755),
            (b"\0\0\0\0\0\0\0\0", 0),
            (b"00000000017\0", 0o17),
            (&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00], 256),
            (&[0x80, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0], 8 * 1024 * 1024 * 1024),
            (&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe], -2),
        ];
        for (field, want) in cases {
            assert_eq!(number(field, "size", 0).unwrap(), want, "{field:?}");
        }
        assert!(matches!(number(b"12a4\0", "mode", 7), Err(TarError::Number { offset: 7, field: "mode", .. })));
        assert!(number(&[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "size", 0).is_err());
    }

    #[test]
    fn pax_records() {
        let data = b"30 mtime=1700000000.123456789\n20 path=a/b c=d.txt\n";
        let r = parse_pax(data, 0).unwrap();
        assert_eq!(r, vec![("mtime".into(), "1700000000.123456789".into()), ("path".into(), "a/b c=d.txt".into())]);
        for bad in [&b"8 path=a\n"[..], b"x path=a\n", b"10 patha\n\n", b"9 path=ab"] {
            assert!(parse_pax(bad, 3).is_err(), "{bad:?}");
        }
    }
}
