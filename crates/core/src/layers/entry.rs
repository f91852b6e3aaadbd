//! One file of a layer as its tar header describes it, and how listings render it.

use serde::{Deserialize, Serialize};

/// What a tar entry is. Whiteouts are deletions, never files: OCI layers delete a lower path with
/// an empty `.wh.<name>` file and hide a lower directory's contents with `.wh..wh..opq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    /// `target` exactly as stored: symlinks may be relative to their directory.
    Symlink { target: String },
    /// `target` normalised like every path: hardlinks name another entry of the archive.
    Hardlink { target: String },
    CharDevice { major: u32, minor: u32 },
    BlockDevice { major: u32, minor: u32 },
    Fifo,
    /// Deletes `deleted` (and everything under it) from the layers below.
    Whiteout { deleted: String },
    /// Hides everything the layers below put in `dir`; this layer's own entries there stay.
    Opaque { dir: String },
}

impl EntryKind {
    /// The first letter of `ls -l` (and of `tar -tv`, which writes `h` for a hardlink).
    pub fn letter(&self) -> char {
        match self {
            EntryKind::File | EntryKind::Whiteout { .. } | EntryKind::Opaque { .. } => '-',
            EntryKind::Dir => 'd',
            EntryKind::Symlink { .. } => 'l',
            EntryKind::Hardlink { .. } => 'h',
            EntryKind::CharDevice { .. } => 'c',
            EntryKind::BlockDevice { .. } => 'b',
            EntryKind::Fifo => 'p',
        }
    }

    pub fn is_deletion(&self) -> bool {
        matches!(self, EntryKind::Whiteout { .. } | EntryKind::Opaque { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Normalised: no leading `/` or `./`, no empty or `.` components, no trailing `/`; the
    /// archive's root directory is `""`.
    pub path: String,
    #[serde(flatten)]
    pub kind: EntryKind,
    /// Permission bits with setuid, setgid and sticky (`0o7777` at most).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: String,
    pub gname: String,
    /// Bytes of contents (the real size of a sparse file); 0 for everything but regular files.
    pub size: u64,
    /// Seconds since the Unix epoch.
    pub mtime: i64,
    /// Where this entry's own header starts in the uncompressed tar.
    pub offset: u64,
}

/// Strips what makes two spellings of one path differ (`./a//b/`, `/a/b`).
pub fn normalize(path: &str) -> String {
    path.split('/').filter(|c| !c.is_empty() && *c != ".").collect::<Vec<_>>().join("/")
}

pub(crate) fn parent_and_name(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() { name.to_string() } else { format!("{parent}/{name}") }
}

pub(crate) const OPAQUE_MARKER: &str = ".wh..wh..opq";
const WHITEOUT_PREFIX: &str = ".wh.";
/// AUFS keeps its own bookkeeping under this prefix; those names are not whiteouts of anything.
const AUFS_META_PREFIX: &str = ".wh..wh.";

/// Turns whiteout files into deletions; everything else keeps the kind its header gave.
pub(crate) fn classify(path: &str, kind: EntryKind) -> EntryKind {
    let (parent, name) = parent_and_name(path);
    if name == OPAQUE_MARKER {
        EntryKind::Opaque { dir: parent.to_string() }
    } else if name.starts_with(WHITEOUT_PREFIX) && !name.starts_with(AUFS_META_PREFIX) && name.len() > WHITEOUT_PREFIX.len() {
        EntryKind::Whiteout { deleted: join(parent, &name[WHITEOUT_PREFIX.len()..]) }
    } else {
        kind
    }
}

/// `-rwxr-xr-x`, with `s`/`S` for setuid/setgid and `t`/`T` for sticky, as `ls -l` writes them.
pub fn mode_string(kind: &EntryKind, mode: u32) -> String {
    let mut s = String::with_capacity(10);
    s.push(kind.letter());
    let triplets = [(6, 0o4000, 's', 'S'), (3, 0o2000, 's', 'S'), (0, 0o1000, 't', 'T')];
    for (shift, special, with_x, without_x) in triplets {
        let bits = (mode >> shift) & 0o7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let x = bits & 1 != 0;
        s.push(match (mode & special != 0, x) {
            (true, true) => with_x,
            (true, false) => without_x,
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// `YYYY-MM-DD HH:MM` in UTC (tar -tv's layout), from days-since-epoch arithmetic: no clock or
/// time-zone database is needed.
pub fn format_mtime(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    // Shift the epoch to 0000-03-01 so leap days fall at the end of each 400-year era.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

impl Entry {
    pub fn mode_string(&self) -> String {
        mode_string(&self.kind, self.mode)
    }

    /// `uname/gname`, falling back to the numeric ids as tar does when names are absent.
    pub fn owner(&self) -> String {
        let user = if self.uname.is_empty() { self.uid.to_string() } else { self.uname.clone() };
        let group = if self.gname.is_empty() { self.gid.to_string() } else { self.gname.clone() };
        format!("{user}/{group}")
    }

    /// The name as a listing shows it: directories end in `/`, the root is `./`.
    pub fn display_path(&self) -> String {
        match (&self.kind, self.path.is_empty()) {
            (_, true) => "./".to_string(),
            (EntryKind::Dir, false) => format!("{}/", self.path),
            _ => self.path.clone(),
        }
    }

    /// One line as `tar -tvf` prints it (times in UTC), whiteouts marked as the deletions they are.
    pub fn tar_line(&self) -> String {
        let size = match self.kind {
            EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } => format!("{major},{minor}"),
            _ => self.size.to_string(),
        };
        let owner = self.owner();
        // GNU tar pads owner and size to one 19-column field that only grows.
        let pad = 19usize.saturating_sub(owner.len() + size.len()).max(1);
        let tail = match &self.kind {
            EntryKind::Symlink { target } => format!(" -> {target}"),
            EntryKind::Hardlink { target } => format!(" link to {target}"),
            EntryKind::Whiteout { deleted } => format!("  [whiteout: deletes {deleted}]"),
            EntryKind::Opaque { dir } => format!("  [opaque: hides lower contents of {}]", if dir.is_empty() { "/" } else { dir }),
            _ => String::new(),
        };
        format!("{} {owner}{:pad$}{size} {} {}{tail}", self.mode_string(), "", format_mtime(self.mtime), self.display_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_like_ls() {
        let cases = [
            (EntryKind::File, 0o644, "-rw-r--r--"),
            (EntryKind::File, 0o4755, "-rwsr-xr-x"),
            (EntryKind::File, 0o4644, "-rwSr--r--"),
            (EntryKind::File, 0o2750, "-rwxr-s---"),
            (EntryKind::File, 0o2740, "-rwxr-S---"),
            (EntryKind::Dir, 0o1777, "drwxrwxrwt"),
            (EntryKind::Dir, 0o1776, "drwxrwxrwT"),
            (EntryKind::Symlink { target: "x".into() }, 0o777, "lrwxrwxrwx"),
            (EntryKind::Hardlink { target: "x".into() }, 0o755, "hrwxr-xr-x"),
            (EntryKind::CharDevice { major: 1, minor: 3 }, 0o666, "crw-rw-rw-"),
            (EntryKind::BlockDevice { major: 8, minor: 0 }, 0o660, "brw-rw----"),
            (EntryKind::Fifo, 0o600, "prw-------"),
            (EntryKind::File, 0, "----------"),
        ];
        for (kind, mode, want) in cases {
            assert_eq!(mode_string(&kind, mode), want, "{mode:o}");
        }
    }

    #[test]
    fn utc_dates() {
        let cases = [
            (0, "1970-01-01 00:00"),
            (1_704_067_200, "2024-01-01 00:00"),
            (951_782_400 + 3600 * 13 + 60 * 7, "2000-02-29 13:07"),
            (-1, "1969-12-31 23:59"),
            (4_102_444_800, "2100-01-01 00:00"),
            (253_402_300_799, "9999-12-31 23:59"),
        ];
        for (t, want) in cases {
            assert_eq!(format_mtime(t), want, "{t}");
        }
    }

    #[test]
    fn paths_normalise_and_whiteouts_classify() {
        for (raw, want) in [("./etc/", "etc"), ("/usr//bin/./x", "usr/bin/x"), ("./", ""), ("a", "a"), (".", "")] {
            assert_eq!(normalize(raw), want, "{raw}");
        }
        assert_eq!(classify("data/.wh.gone.txt", EntryKind::File), EntryKind::Whiteout { deleted: "data/gone.txt".into() });
        assert_eq!(classify(".wh.top", EntryKind::File), EntryKind::Whiteout { deleted: "top".into() });
        assert_eq!(classify("opaque/.wh..wh..opq", EntryKind::File), EntryKind::Opaque { dir: "opaque".into() });
        assert_eq!(classify(".wh..wh..opq", EntryKind::File), EntryKind::Opaque { dir: "".into() });
        assert_eq!(classify("a/.wh..wh.plnk", EntryKind::Dir), EntryKind::Dir);
        assert_eq!(classify("a/.wh.", EntryKind::File), EntryKind::File);
        assert_eq!(classify("a/x.wh.y", EntryKind::File), EntryKind::File);
    }

    #[test]
    fn tar_lines() {
        let e = |path: &str, kind, mode, size| Entry {
            path: path.into(),
            kind,
            mode,
            uid: 0,
            gid: 0,
            uname: String::new(),
            gname: String::new(),
            size,
            mtime: 1_704_067_200,
            offset: 0,
        };
        assert_eq!(e("etc/platform", EntryKind::File, 0o644, 12).tar_line(), "-rw-r--r-- 0/0              12 2024-01-01 00:00 etc/platform");
        assert_eq!(e("bin/sh", EntryKind::Symlink { target: "busybox".into() }, 0o777, 0).tar_line(), "lrwxrwxrwx 0/0               0 2024-01-01 00:00 bin/sh -> busybox");
        assert_eq!(e("bin/ln", EntryKind::Hardlink { target: "bin/cp".into() }, 0o755, 0).tar_line(), "hrwxr-xr-x 0/0               0 2024-01-01 00:00 bin/ln link to bin/cp");
        assert_eq!(e("etc", EntryKind::Dir, 0o755, 0).tar_line(), "drwxr-xr-x 0/0               0 2024-01-01 00:00 etc/");
        assert_eq!(e("dev/null", EntryKind::CharDevice { major: 1, minor: 3 }, 0o666, 0).tar_line(), "crw-rw-rw- 0/0             1,3 2024-01-01 00:00 dev/null");
        assert_eq!(
            e("a/.wh.b", EntryKind::Whiteout { deleted: "a/b".into() }, 0o644, 0).tar_line(),
            "-rw-r--r-- 0/0               0 2024-01-01 00:00 a/.wh.b  [whiteout: deletes a/b]"
        );
        let mut named = e("x", EntryKind::File, 0o600, 1);
        named.uname = "root".into();
        named.gname = "wheel".into();
        assert_eq!(named.owner(), "root/wheel");
    }
}
