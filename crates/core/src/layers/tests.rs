use super::*;
use proptest::prelude::*;

/// One hand-built tar header, so each header form is tested byte for byte.
#[derive(Clone)]
struct Header {
    name: String,
    typeflag: u8,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: i64,
    link: String,
    uname: String,
    gname: String,
    magic: &'static [u8; 8],
    prefix: String,
    dev: (u32, u32),
    base256_size: bool,
}

const POSIX: &[u8; 8] = b"ustar\x0000";
const GNU: &[u8; 8] = b"ustar  \x00";
const V7: &[u8; 8] = &[0; 8];

fn h(name: &str, typeflag: u8) -> Header {
    Header {
        name: name.into(),
        typeflag,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: 1_704_067_200,
        link: String::new(),
        uname: String::new(),
        gname: String::new(),
        magic: POSIX,
        prefix: String::new(),
        dev: (0, 0),
        base256_size: false,
    }
}

fn octal(field: &mut [u8], value: u64) {
    let s = format!("{value:0width$o}\0", width = field.len() - 1);
    field.copy_from_slice(s.as_bytes());
}

fn put(field: &mut [u8], s: &str) {
    field[..s.len()].copy_from_slice(s.as_bytes());
}

impl Header {
    fn block(&self) -> [u8; 512] {
        let mut b = [0u8; 512];
        put(&mut b[..100], &self.name);
        octal(&mut b[100..108], u64::from(self.mode));
        octal(&mut b[108..116], self.uid);
        octal(&mut b[116..124], self.gid);
        if self.base256_size {
            b[124] = 0x80;
            b[128..136].copy_from_slice(&self.size.to_be_bytes());
        } else {
            octal(&mut b[124..136], self.size);
        }
        octal(&mut b[136..148], self.mtime as u64);
        b[156] = self.typeflag;
        put(&mut b[157..257], &self.link);
        b[257..265].copy_from_slice(self.magic);
        put(&mut b[265..297], &self.uname);
        put(&mut b[297..329], &self.gname);
        octal(&mut b[329..337], u64::from(self.dev.0));
        octal(&mut b[337..345], u64::from(self.dev.1));
        put(&mut b[345..500], &self.prefix);
        b[148..156].copy_from_slice(b"        ");
        let sum: u64 = b.iter().map(|&x| u64::from(x)).sum();
        octal(&mut b[148..155], sum);
        b[155] = b' ';
        b
    }
}

/// Appends a header and its contents padded to a whole block.
fn add(tar: &mut Vec<u8>, header: &Header, data: &[u8]) {
    tar.extend_from_slice(&header.block());
    tar.extend_from_slice(data);
    tar.resize(tar.len().div_ceil(512) * 512, 0);
}

fn file(tar: &mut Vec<u8>, name: &str, data: &[u8]) {
    add(tar, &Header { size: data.len() as u64, ..h(name, b'0') }, data);
}

fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    format!("{len}{body}")
}

fn pax(tar: &mut Vec<u8>, typeflag: u8, records: &[(&str, &str)]) {
    let data: String = records.iter().map(|(k, v)| pax_record(k, v)).collect();
    add(tar, &Header { size: data.len() as u64, ..h("PaxHeaders/x", typeflag) }, data.as_bytes());
}

fn end(tar: &mut Vec<u8>) {
    tar.extend_from_slice(&[0; 1024]);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

/// Feeds `blob` in the given piece sizes (cycled) and collects every event.
fn read_in(compression: Compression, capture: Option<Capture>, blob: &[u8], sizes: &[usize]) -> Result<Vec<Event>, LayerError> {
    let mut reader = LayerReader::new(compression, capture);
    let mut events = Vec::new();
    let mut rest = blob;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        reader.feed(&rest[..n], &mut |e| events.push(e))?;
        rest = &rest[n..];
        i += 1;
    }
    reader.finish(&mut |e| events.push(e))?;
    Ok(events)
}

fn read(compression: Compression, blob: &[u8]) -> Result<Vec<Event>, LayerError> {
    read_in(compression, None, blob, &[usize::MAX])
}

fn entries(events: &[Event]) -> Vec<Entry> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Entry(entry) => Some(entry.clone()),
            _ => None,
        })
        .collect()
}

fn list(tar: &[u8]) -> Vec<Entry> {
    entries(&read(Compression::None, tar).unwrap())
}

#[test]
fn ustar_entry_types() {
    let mut tar = Vec::new();
    add(&mut tar, &Header { mode: 0o755, ..h("./etc/", b'5') }, &[]);
    add(&mut tar, &Header { uid: 1000, gid: 100, uname: "alice".into(), gname: "users".into(), size: 3, mode: 0o4755, ..h("etc/tool", b'0') }, b"abc");
    add(&mut tar, &Header { link: "../bin/busybox".into(), mode: 0o777, ..h("etc/sh", b'2') }, &[]);
    add(&mut tar, &Header { link: "./etc/tool".into(), ..h("etc/tool2", b'1') }, &[]);
    add(&mut tar, &Header { dev: (1, 3), mode: 0o666, ..h("dev/null", b'3') }, &[]);
    add(&mut tar, &Header { dev: (8, 1), mode: 0o660, ..h("dev/sda1", b'4') }, &[]);
    add(&mut tar, &Header { mode: 0o600, ..h("run/fifo", b'6') }, &[]);
    add(&mut tar, &Header { magic: V7, ..h("old/dir/", b'\0') }, &[]);
    add(&mut tar, &Header { magic: V7, size: 1, ..h("/abs", b'\0') }, b"z");
    end(&mut tar);
    let got = list(&tar);
    let kinds: Vec<(&str, EntryKind)> = got.iter().map(|e| (e.path.as_str(), e.kind.clone())).collect();
    assert_eq!(
        kinds,
        vec![
            ("etc", EntryKind::Dir),
            ("etc/tool", EntryKind::File),
            ("etc/sh", EntryKind::Symlink { target: "../bin/busybox".into() }),
            ("etc/tool2", EntryKind::Hardlink { target: "etc/tool".into() }),
            ("dev/null", EntryKind::CharDevice { major: 1, minor: 3 }),
            ("dev/sda1", EntryKind::BlockDevice { major: 8, minor: 1 }),
            ("run/fifo", EntryKind::Fifo),
            ("old/dir", EntryKind::Dir),
            ("abs", EntryKind::File),
        ]
    );
    let tool = &got[1];
    assert_eq!((tool.uid, tool.gid, tool.uname.as_str(), tool.gname.as_str(), tool.size), (1000, 100, "alice", "users", 3));
    assert_eq!((tool.mode_string().as_str(), tool.mtime, tool.offset), ("-rwsr-xr-x", 1_704_067_200, 512));
    assert_eq!(tool.tar_line(), "-rwsr-xr-x alice/users       3 2024-01-01 00:00 etc/tool");
    assert_eq!(got[4].tar_line(), "crw-rw-rw- 0/0             1,3 2024-01-01 00:00 dev/null");
}

#[test]
fn ustar_prefix_joins_the_name_but_gnu_headers_ignore_it() {
    let long_dir = "a".repeat(120);
    let mut tar = Vec::new();
    add(&mut tar, &Header { prefix: long_dir.clone(), ..h("file.txt", b'0') }, &[]);
    add(&mut tar, &Header { prefix: "ignored".into(), magic: GNU, ..h("gnu.txt", b'0') }, &[]);
    end(&mut tar);
    let got = list(&tar);
    assert_eq!(got[0].path, format!("{long_dir}/file.txt"));
    assert_eq!(got[1].path, "gnu.txt");
}

#[test]
fn gnu_long_names_and_links() {
    let long_name = format!("{}/name.txt", "d".repeat(300));
    let long_link = format!("{}/target", "t".repeat(200));
    let mut tar = Vec::new();
    let name_data = format!("{long_name}\0");
    add(&mut tar, &Header { size: name_data.len() as u64, magic: GNU, ..h("././@LongLink", b'L') }, name_data.as_bytes());
    let link_data = format!("{long_link}\0");
    add(&mut tar, &Header { size: link_data.len() as u64, magic: GNU, ..h("././@LongLink", b'K') }, link_data.as_bytes());
    add(&mut tar, &Header { magic: GNU, link: "short".into(), ..h("truncated-name", b'2') }, &[]);
    add(&mut tar, &Header { magic: GNU, ..h("after", b'0') }, &[]);
    end(&mut tar);
    let got = list(&tar);
    assert_eq!(got[0].path, long_name);
    assert_eq!(got[0].kind, EntryKind::Symlink { target: long_link });
    assert_eq!(got[0].offset, 512 * 2 + 1024, "the entry's own header, after both metadata entries");
    assert_eq!(got[1].path, "after", "long names apply to one entry only");
}

#[test]
fn pax_local_and_global_headers() {
    let mut tar = Vec::new();
    pax(&mut tar, b'g', &[("uname", "builder"), ("mtime", "1600000000")]);
    let long = format!("{}/é.txt", "p".repeat(150));
    pax(&mut tar, b'x', &[("path", &long), ("size", "5"), ("uid", "4294967296"), ("gid", "7"), ("mtime", "1700000000.75")]);
    add(&mut tar, &Header { size: 99, ..h("short-name", b'0') }, b"hello");
    pax(&mut tar, b'x', &[("linkpath", "/a/very/long/target"), ("uname", "")]);
    add(&mut tar, &Header { uname: "fromheader".into(), ..h("link", b'2') }, &[]);
    add(&mut tar, &h("plain", b'0'), &[]);
    end(&mut tar);
    let got = list(&tar);
    assert_eq!(got.len(), 3);
    assert_eq!((got[0].path.as_str(), got[0].size, got[0].uid, got[0].gid, got[0].mtime), (long.as_str(), 5, 4_294_967_296, 7, 1_700_000_000));
    assert_eq!(got[0].uname, "builder");
    assert_eq!(got[1].kind, EntryKind::Symlink { target: "/a/very/long/target".into() });
    assert_eq!(got[1].uname, "fromheader", "an empty local value falls back to the header");
    assert_eq!((got[2].uname.as_str(), got[2].mtime), ("builder", 1_600_000_000), "global records last");
}

#[test]
fn base256_size() {
    let data = vec![7u8; 700];
    let mut tar = Vec::new();
    add(&mut tar, &Header { size: 700, base256_size: true, ..h("big", b'0') }, &data);
    file(&mut tar, "next", b"n");
    end(&mut tar);
    let got = list(&tar);
    assert_eq!((got[0].size, got[1].path.as_str()), (700, "next"));
}

#[test]
fn bad_checksum_is_a_clear_error() {
    let mut tar = Vec::new();
    file(&mut tar, "ok", b"x");
    file(&mut tar, "broken", b"y");
    tar[1024 + 10] ^= 1;
    end(&mut tar);
    let err = read(Compression::None, &tar).unwrap_err();
    assert!(matches!(err, LayerError::Tar(TarError::Checksum { offset: 1024, .. })), "{err:?}");
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
    let err = read(Compression::None, b"this is not a tar archive at all, just some text that goes on".repeat(10).as_slice()).unwrap_err();
    assert!(matches!(err, LayerError::Tar(TarError::Checksum { offset: 0, .. })), "{err:?}");
}

#[test]
fn hostile_metadata_sizes_are_refused() {
    let mut tar = Vec::new();
    add(&mut tar, &Header { size: 1 << 40, base256_size: true, ..h("x", b'x') }, &[]);
    let err = read(Compression::None, &tar).unwrap_err();
    assert!(matches!(err, LayerError::Tar(TarError::MetadataTooLarge { .. })), "{err:?}");
}

#[test]
fn truncation_is_reported() {
    let mut tar = Vec::new();
    file(&mut tar, "a", &[1; 2000]);
    end(&mut tar);
    for cut in [100, 1000] {
        let err = read(Compression::None, &tar[..cut]).unwrap_err();
        assert!(matches!(err, LayerError::Tar(TarError::Truncated { .. })), "{cut}: {err:?}");
    }
    assert_eq!(list(&tar[..512 + 2048]).len(), 1, "a missing end-of-archive marker is tolerated");
    let gz = gzip(&tar);
    let err = read(Compression::Gzip, &gz[..gz.len() / 2]).unwrap_err();
    assert!(matches!(err, LayerError::Truncated("gzip")), "{err:?}");
    let err = read(Compression::Gzip, &gz[..gz.len() - 4]).unwrap_err();
    assert!(err.to_string().contains("truncated or corrupt"), "{err:?}");
    let zst = zstd(&tar);
    let err = read(Compression::Zstd, &zst[..zst.len() - 3]).unwrap_err();
    assert!(matches!(err, LayerError::Truncated("zstd")), "{err:?}");
    assert!(read(Compression::Gzip, &[]).is_err());
    assert!(read(Compression::Zstd, &[]).is_err());
}

#[test]
fn padding_and_garbage_after_the_end_are_ignored() {
    let mut tar = Vec::new();
    file(&mut tar, "a", b"1");
    end(&mut tar);
    let mut padded = tar.clone();
    padded.extend_from_slice(&[0xAB; 9000]);
    assert_eq!(list(&padded).len(), 1);
    let mut gz = gzip(&tar);
    gz.extend_from_slice(&[0; 64]);
    assert_eq!(entries(&read(Compression::Gzip, &gz).unwrap()).len(), 1);
}

#[test]
fn concatenated_gzip_members() {
    let mut first = Vec::new();
    file(&mut first, "one", b"1");
    let mut second = Vec::new();
    file(&mut second, "two", b"22");
    end(&mut second);
    let blob = [gzip(&first), gzip(&second)].concat();
    let names: Vec<String> = entries(&read(Compression::Gzip, &blob).unwrap()).into_iter().map(|e| e.path).collect();
    assert_eq!(names, ["one", "two"]);
}

#[test]
fn corrupt_gzip_is_an_error() {
    let mut tar = Vec::new();
    file(&mut tar, "a", &[5; 5000]);
    end(&mut tar);
    let mut gz = gzip(&tar);
    let n = gz.len();
    gz[n - 6] ^= 0xff;
    assert!(read(Compression::Gzip, &gz).is_err(), "a wrong CRC must not pass");
}

#[test]
fn zstd_frames_skippable_frames_and_checksums() {
    let blob = include_bytes!("testdata/frames.tar.zst");
    let got = entries(&read_in(Compression::Zstd, None, blob, &[1, 7, 100]).unwrap());
    let names: Vec<&str> = got.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(names, ["z", "z/d", "z/d/big.txt", "z/d/link", "z/d/a.txt"]);
    assert_eq!(got[2].size, 300_000);
    let mut corrupt = blob.to_vec();
    // The first frame (232 bytes) ends with its content checksum.
    corrupt[231] ^= 0x55;
    let err = read(Compression::Zstd, &corrupt).unwrap_err();
    assert!(matches!(err, LayerError::Zstd(ZstdError::Checksum { .. })), "{err:?}");
    let err = read(Compression::Zstd, b"not zstd at all").unwrap_err();
    assert!(matches!(err, LayerError::Zstd(ZstdError::Magic(_))), "{err:?}");
}

#[test]
fn capture_a_prefix_or_a_whole_file() {
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let mut tar = Vec::new();
    file(&mut tar, "etc/before", b"x");
    file(&mut tar, "./var/log/big.log", &body);
    file(&mut tar, "etc/after", b"y");
    file(&mut tar, "empty", b"");
    end(&mut tar);
    let collect = |events: &[Event]| -> (Vec<u8>, Vec<bool>) {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for e in events {
            match e {
                Event::Content(b) => {
                    assert!(b.len() <= 32 * 1024);
                    bytes.extend_from_slice(b)
                }
                Event::ContentEnd { truncated } => ends.push(*truncated),
                Event::Entry(_) => {}
            }
        }
        (bytes, ends)
    };
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let blob = match compression {
            Compression::None => tar.clone(),
            Compression::Gzip => gzip(&tar),
            Compression::Zstd => zstd(&tar),
        };
        let whole = Capture { path: "var/log/big.log".into(), limit: None };
        let events = read_in(compression, Some(whole), &blob, &[4096]).unwrap();
        assert_eq!(collect(&events), (body.clone(), vec![false]));
        assert_eq!(entries(&events).len(), 4);
        let prefix = Capture { path: "var/log/big.log".into(), limit: Some(1000) };
        let events = read_in(compression, Some(prefix), &blob, &[333]).unwrap();
        assert_eq!(collect(&events), (body[..1000].to_vec(), vec![true]));
        let exact = Capture { path: "var/log/big.log".into(), limit: Some(100_000) };
        assert_eq!(collect(&read_in(compression, Some(exact), &blob, &[333]).unwrap()).1, vec![false]);
        let empty = Capture { path: "empty".into(), limit: Some(10) };
        assert_eq!(collect(&read_in(compression, Some(empty), &blob, &[333]).unwrap()), (vec![], vec![false]));
    }
}

#[test]
fn whiteouts_are_deletions() {
    let mut tar = Vec::new();
    file(&mut tar, "data/.wh.old.txt", b"");
    file(&mut tar, "cache/.wh..wh..opq", b"");
    end(&mut tar);
    let got = list(&tar);
    assert_eq!(got[0].kind, EntryKind::Whiteout { deleted: "data/old.txt".into() });
    assert_eq!(got[1].kind, EntryKind::Opaque { dir: "cache".into() });
    assert!(got.iter().all(|e| e.kind.is_deletion()));
    assert!(got[0].tar_line().ends_with("data/.wh.old.txt  [whiteout: deletes data/old.txt]"));
}

#[test]
fn entries_serialise_with_a_type_tag() {
    let got = list(&{
        let mut tar = Vec::new();
        add(&mut tar, &Header { link: "b".into(), ..h("a", b'2') }, &[]);
        tar
    });
    let v = serde_json::to_value(&got[0]).unwrap();
    assert_eq!((v["type"].as_str(), v["target"].as_str(), v["path"].as_str()), (Some("symlink"), Some("b"), Some("a")));
    let back: Entry = serde_json::from_value(v).unwrap();
    assert_eq!(back, got[0]);
}

fn sample_tar() -> Vec<u8> {
    let mut tar = Vec::new();
    pax(&mut tar, b'x', &[("path", &"long/".repeat(40)), ("mtime", "1.5")]);
    add(&mut tar, &h("ignored", b'5'), &[]);
    for i in 0..40 {
        let body: Vec<u8> = (0..i * 97).map(|j| (j * 7 + i) as u8).collect();
        file(&mut tar, &format!("dir{}/file{i}", i % 3), &body);
        add(&mut tar, &Header { link: format!("file{i}"), ..h(&format!("dir{}/link{i}", i % 3), b'2') }, &[]);
    }
    file(&mut tar, "dir1/.wh.file4", b"");
    end(&mut tar);
    tar
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_chunking_gives_the_same_listing(sizes in prop::collection::vec(1usize..3000, 1..12), which in 0usize..3) {
        let tar = sample_tar();
        let (compression, blob) = match which {
            0 => (Compression::None, tar.clone()),
            1 => (Compression::Gzip, gzip(&tar)),
            _ => (Compression::Zstd, zstd(&tar)),
        };
        let capture = || Some(Capture { path: "dir2/file38".into(), limit: Some(2000) });
        let whole = read_in(compression, capture(), &blob, &[usize::MAX]).unwrap();
        let chunked = read_in(compression, capture(), &blob, &sizes).unwrap();
        let content = |events: &[Event]| events.iter().filter_map(|e| match e { Event::Content(b) => Some(b.clone()), _ => None }).collect::<Vec<_>>().concat();
        prop_assert_eq!(entries(&whole), entries(&chunked));
        prop_assert_eq!(content(&whole), content(&chunked));
        prop_assert_eq!(entries(&whole).len(), 82);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096), which in 0usize..3) {
        let compression = [Compression::None, Compression::Gzip, Compression::Zstd][which];
        let _ = read_in(compression, None, &bytes, &[usize::MAX]);
    }
}

// ---- the merged filesystem ----

fn entry(path: &str, kind: EntryKind, size: u64) -> Entry {
    Entry {
        path: normalize(path),
        kind,
        mode: 0o644,
        uid: 0,
        gid: 0,
        uname: String::new(),
        gname: String::new(),
        size,
        mtime: 0,
        offset: 0,
    }
}

fn f(path: &str, size: u64) -> Entry {
    entry(path, EntryKind::File, size)
}

fn d(path: &str) -> Entry {
    Entry { mode: 0o755, ..entry(path, EntryKind::Dir, 0) }
}

fn wh(path: &str) -> Entry {
    let (parent, name) = entry::parent_and_name(path);
    entry(&format!("{parent}/.wh.{name}"), EntryKind::Whiteout { deleted: path.into() }, 0)
}

fn opq(dir: &str) -> Entry {
    entry(&format!("{dir}/.wh..wh..opq"), EntryKind::Opaque { dir: dir.into() }, 0)
}

fn merge(layers: &[Vec<Entry>]) -> MergedTree {
    let mut tree = MergedTree::new();
    for (i, layer) in layers.iter().enumerate() {
        tree.begin_layer(i).unwrap();
        for e in layer {
            tree.apply(i, e).unwrap();
        }
    }
    tree
}

fn paths(tree: &MergedTree) -> Vec<(String, Option<usize>)> {
    tree.entries().into_iter().map(|e| (e.path, e.layer)).collect()
}

fn p(list: &[(&str, usize)]) -> Vec<(String, Option<usize>)> {
    list.iter().map(|(s, l)| (s.to_string(), Some(*l))).collect()
}

#[test]
fn whiteout_removes_a_path_and_everything_under_it() {
    let tree = merge(&[
        vec![d("a"), f("a/x", 10), d("a/sub"), f("a/sub/y", 20), f("keep", 1)],
        vec![wh("a/x"), wh("a/sub"), wh("never-existed")],
    ]);
    assert_eq!(paths(&tree), p(&[("a", 0), ("keep", 0)]));
    let s = tree.summary();
    assert_eq!((s.layers[1].deleted, s.layers[1].deleted_bytes), (2, 30));
    assert_eq!((s.layers[0].wasted_bytes, s.wasted_bytes, s.file_bytes, s.final_bytes), (30, 30, 31, 1));
    assert!((s.efficiency - 1.0 / 31.0).abs() < 1e-9);
}

#[test]
fn opaque_hides_lower_contents_but_keeps_its_own_layer_in_any_order() {
    for opaque_first in [true, false] {
        let own = vec![d("o"), f("o/new", 3)];
        let layer = if opaque_first { [vec![opq("o")], own].concat() } else { [own, vec![opq("o")]].concat() };
        let tree = merge(&[vec![d("o"), f("o/a", 1), d("o/deep"), f("o/deep/b", 2)], layer]);
        assert_eq!(paths(&tree), p(&[("o", 1), ("o/new", 1)]), "opaque first: {opaque_first}");
        let changes = tree.changes(1);
        assert!(changes.iter().any(|c| c.path == "o/deep" && c.change == ChangeKind::Deleted && c.size == 2), "{changes:?}");
    }
}

#[test]
fn opaque_keeps_same_layer_entries_nested_under_lower_directories() {
    let tree = merge(&[vec![d("o"), d("o/sub"), f("o/sub/old", 5)], vec![f("o/sub/new", 6), opq("o")]]);
    assert_eq!(paths(&tree), p(&[("o", 0), ("o/sub", 0), ("o/sub/new", 1)]));
}

#[test]
fn whiteout_in_the_same_layer_only_hits_lower_layers() {
    let tree = merge(&[vec![f("x", 1)], vec![f("x", 2), wh("x")]]);
    assert_eq!(paths(&tree), p(&[("x", 1)]));
}

#[test]
fn non_directory_replaces_a_directory_and_its_children() {
    let tree = merge(&[
        vec![d("a"), f("a/x", 4), f("b", 8)],
        vec![entry("a", EntryKind::Symlink { target: "elsewhere".into() }, 0), d("b"), f("b/y", 1)],
    ]);
    assert_eq!(paths(&tree), p(&[("a", 1), ("b", 1), ("b/y", 1)]));
    let s = tree.summary();
    assert_eq!((s.layers[0].wasted_bytes, s.layers[1].changed, s.layers[1].added), (12, 2, 1));
}

#[test]
fn directories_merge_and_record_the_last_writer() {
    let tree = merge(&[vec![d("etc"), f("etc/a", 1)], vec![d("etc"), f("etc/b", 2)], vec![Entry { mode: 0o700, ..d("etc") }]]);
    assert_eq!(paths(&tree), p(&[("etc", 2), ("etc/a", 0), ("etc/b", 1)]));
    let s = tree.summary();
    assert_eq!((s.layers[1].added, s.layers[1].changed), (1, 0), "restating a directory is not a change");
    assert_eq!(s.layers[2].changed, 1, "a new mode is");
    assert_eq!(tree.get("./etc/").unwrap().total_size(), 3);
    assert_eq!(tree.get("etc").unwrap().mode_string(), "drwx------");
}

#[test]
fn overwritten_files_are_waste_of_the_lower_layer() {
    let tree = merge(&[vec![f("f", 100), f("g", 5)], vec![f("f", 30)], vec![f("f", 7), f("g", 5)]]);
    let s = tree.summary();
    let wasted: Vec<u64> = s.layers.iter().map(|l| l.wasted_bytes).collect();
    assert_eq!(wasted, [105, 30, 0]);
    assert_eq!((s.file_bytes, s.final_bytes, s.wasted_bytes), (147, 12, 135));
    let changed: Vec<u64> = s.layers.iter().map(|l| l.changed).collect();
    assert_eq!(changed, [0, 1, 2]);
}

#[test]
fn hardlinks_point_at_their_target_and_count_once() {
    let tree = merge(&[vec![d("bin"), f("bin/cp", 50), entry("bin/ln", EntryKind::Hardlink { target: "bin/cp".into() }, 0)]]);
    let ln = tree.get("bin/ln").unwrap();
    assert_eq!((ln.kind.clone(), ln.size), (EntryKind::Hardlink { target: "bin/cp".into() }, 50));
    assert_eq!(tree.get("bin").unwrap().total_size(), 50);
}

#[test]
fn implied_parents_and_files_replaced_by_directories() {
    let tree = merge(&[vec![f("a", 3), f("x/y/z", 1)], vec![f("a/b", 2)]]);
    let all = tree.entries();
    let get = |path: &str| all.iter().find(|e| e.path == path).unwrap().clone();
    assert_eq!((get("x").layer, get("x").kind), (None, EntryKind::Dir));
    assert_eq!((get("a").layer, get("a").kind, get("a").size), (Some(1), EntryKind::Dir, 2));
    assert_eq!(tree.summary().layers[0].wasted_bytes, 3);
}

#[test]
fn search_and_empty_layers() {
    let mut tree = merge(&[vec![d("usr"), d("usr/share"), f("usr/share/README", 1), f("readme.md", 2)], vec![]]);
    let found: Vec<String> = tree.search("ReadMe", 10).into_iter().map(|e| e.path).collect();
    assert_eq!(found, ["readme.md", "usr/share/README"]);
    assert_eq!(tree.search("e", 2).len(), 2);
    assert_eq!(tree.summary().layers.len(), 2);
    assert_eq!(tree.apply(0, &f("late", 1)), Err(MergeError::OutOfOrder { given: 0, current: 1 }));
    tree.begin_layer(1).unwrap();
}

#[test]
fn root_entries_update_the_root() {
    let tree = merge(&[vec![Entry { mode: 0o700, ..d("./") }, f("a", 1)]]);
    assert_eq!(tree.root().mode, 0o700);
    assert_eq!(tree.root().layer, Some(0));
    assert_eq!(tree.summary().entries, 1);
}
