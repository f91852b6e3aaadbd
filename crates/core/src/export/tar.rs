//! Tar headers, byte for byte: ustar, with a PAX extended header for what ustar cannot hold.

/// Every header and every file body is padded to this.
pub const BLOCK: usize = 512;
/// The largest size an 11-digit octal field holds.
const MAX_OCTAL_SIZE: u64 = 0o77_777_777_777;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
}

/// One archive member's metadata. Owner, group and time are fixed so the same image always
/// gives the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub mtime: u64,
}

impl Entry {
    pub fn file(path: impl Into<String>, size: u64, mtime: u64) -> Entry {
        Entry { path: path.into(), kind: EntryKind::File, size, mode: 0o644, mtime }
    }

    pub fn directory(path: impl Into<String>, mtime: u64) -> Entry {
        let mut path = path.into();
        if !path.ends_with('/') {
            path.push('/');
        }
        Entry { path, kind: EntryKind::Directory, size: 0, mode: 0o755, mtime }
    }
}

/// The header blocks for `entry`: one ustar block, preceded by a PAX header when the path
/// does not fit ustar's name/prefix split or the size does not fit its octal field.
pub fn header(entry: &Entry) -> Vec<u8> {
    let split = split_path(&entry.path);
    let mut records = Vec::new();
    if split.is_none() {
        records.push(pax_record("path", &entry.path));
    }
    if entry.size > MAX_OCTAL_SIZE {
        records.push(pax_record("size", &entry.size.to_string()));
    }
    let mut out = Vec::with_capacity(BLOCK * 3);
    if !records.is_empty() {
        let body: Vec<u8> = records.concat();
        let pax = Entry { path: "PaxHeaders/entry".into(), kind: EntryKind::File, size: body.len() as u64, mode: 0o644, mtime: entry.mtime };
        out.extend_from_slice(&ustar_block(&pax, ("", "PaxHeaders/entry"), b'x', body.len() as u64));
        out.extend_from_slice(&body);
        out.resize(out.len() + padding(body.len() as u64), 0);
    }
    let (prefix, name) = split.unwrap_or(("", tail(&entry.path, 100)));
    let typeflag = match entry.kind {
        EntryKind::File => b'0',
        EntryKind::Directory => b'5',
    };
    let size_field = if entry.size > MAX_OCTAL_SIZE { 0 } else { entry.size };
    out.extend_from_slice(&ustar_block(entry, (prefix, name), typeflag, size_field));
    out
}

/// Zero bytes that bring a body of `size` bytes to a block boundary.
pub fn padding(size: u64) -> usize {
    let rem = (size % BLOCK as u64) as usize;
    if rem == 0 {
        0
    } else {
        BLOCK - rem
    }
}

/// Two zero blocks end an archive.
pub fn trailer() -> [u8; BLOCK * 2] {
    [0; BLOCK * 2]
}

/// ustar splits a long path at a `/` into a prefix of at most 155 bytes and a name of at most 100.
fn split_path(path: &str) -> Option<(&str, &str)> {
    if path.len() <= 100 {
        return Some(("", path));
    }
    let bytes = path.as_bytes();
    // A directory's trailing slash is part of its name, so it cannot be the split point.
    let search_end = path.len() - usize::from(path.ends_with('/'));
    (0..search_end).rev().filter(|i| bytes[*i] == b'/').find_map(|i| {
        let (prefix, name) = (&path[..i], &path[i + 1..]);
        (prefix.len() <= 155 && name.len() <= 100 && !name.is_empty()).then_some((prefix, name))
    })
}

/// The last bytes of `s` that fit `max`, on a character boundary: what old readers see
/// of a name the PAX header carries in full.
fn tail(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// A PAX record: `"<length> <key>=<value>\n"`, where the length counts itself.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while len.to_string().len() + body.len() != len {
        len = len.to_string().len() + body.len();
    }
    format!("{len}{body}").into_bytes()
}

fn ustar_block(entry: &Entry, (prefix, name): (&str, &str), typeflag: u8, size: u64) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    put(&mut b[0..100], name.as_bytes());
    octal(&mut b[100..108], u64::from(entry.mode));
    octal(&mut b[108..116], 0);
    octal(&mut b[116..124], 0);
    octal(&mut b[124..136], size);
    octal(&mut b[136..148], entry.mtime);
    b[148..156].fill(b' ');
    b[156] = typeflag;
    put(&mut b[257..263], b"ustar\0");
    put(&mut b[263..265], b"00");
    put(&mut b[265..269], b"root");
    put(&mut b[297..301], b"root");
    octal(&mut b[329..337], 0);
    octal(&mut b[337..345], 0);
    put(&mut b[345..500], prefix.as_bytes());
    let sum: u32 = b.iter().map(|x| u32::from(*x)).sum();
    let field = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(field.as_bytes());
    b
}

fn put(field: &mut [u8], value: &[u8]) {
    field[..value.len()].copy_from_slice(value);
}

/// Zero-padded octal filling the field but its last byte, which stays NUL.
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let s = format!("{value:0width$o}");
    field[..width].copy_from_slice(&s.as_bytes()[s.len() - width..]);
    field[width] = 0;
}
