//! What a file browser shows of one layer or of the merged image: the rows of the directories
//! the person opened (or of all of them), or the paths matching a search, each already worded
//! the way a listing prints it. The tree stays with the caller; only the rows asked for are
//! built, so a browser never receives more than a screenful of a large layer at once.

use super::entry::{format_mtime, mode_string, parent_and_name, Entry, EntryKind};
use super::merge::{MergedTree, Node};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Which rows to build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// Directories shown open (normalised paths); the root always is. A list rather than a
    /// set: the browser toggles one at a time and links no ordered-set code for it.
    #[serde(default)]
    pub open: Vec<String>,
    /// Every directory shown open.
    #[serde(default)]
    pub all: bool,
    /// A path substring (ASCII case ignored): when set, the matching paths are listed flat.
    #[serde(default)]
    pub search: String,
}

/// One path as a listing row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The path in the archive (a whiteout's own `.wh.` path), normalised.
    pub path: String,
    /// What to show: the last component, the name a whiteout deletes, or the whole path in
    /// search results.
    pub name: String,
    /// Nesting below the root (0 for search results).
    pub depth: usize,
    /// `file`, `dir`, `symlink`, `hardlink`, `char_device`, `block_device`, `fifo`,
    /// `whiteout` or `opaque`.
    #[serde(rename = "type")]
    pub kind: String,
    /// As `ls -l` writes it: `-rwxr-xr-x`.
    pub mode: String,
    pub uid: u64,
    pub gid: u64,
    /// A file's bytes; for a directory, the bytes of the files under it.
    pub size: u64,
    /// `YYYY-MM-DD HH:MM` UTC; empty for a directory no entry lists.
    pub mtime: String,
    /// The layer (0 = base) whose entry this is; `None` for a directory no entry lists.
    pub layer: Option<usize>,
    /// A link's target, the path a whiteout deletes, or the directory an opaque marker hides.
    pub target: Option<String>,
    /// `major,minor` of a device.
    pub device: Option<String>,
    /// Has children that opening it would show.
    pub dir: bool,
    pub open: bool,
}

/// The rows of a view, at most the limit asked for, and how many the view holds in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rows {
    pub rows: Vec<Row>,
    pub total: usize,
}

fn kind_name(kind: &EntryKind) -> &'static str {
    match kind {
        EntryKind::File => "file",
        EntryKind::Dir => "dir",
        EntryKind::Symlink { .. } => "symlink",
        EntryKind::Hardlink { .. } => "hardlink",
        EntryKind::CharDevice { .. } => "char_device",
        EntryKind::BlockDevice { .. } => "block_device",
        EntryKind::Fifo => "fifo",
        EntryKind::Whiteout { .. } => "whiteout",
        EntryKind::Opaque { .. } => "opaque",
    }
}

/// The fields of a row that come from the entry's kind: its name, link or deletion target,
/// and device numbers.
fn kind_fields(kind: &EntryKind, name: &str) -> (String, Option<String>, Option<String>) {
    match kind {
        EntryKind::Symlink { target } | EntryKind::Hardlink { target } => (name.to_string(), Some(target.clone()), None),
        EntryKind::Whiteout { deleted } => (parent_and_name(deleted).1.to_string(), Some(deleted.clone()), None),
        EntryKind::Opaque { dir } => (name.to_string(), Some(dir.clone()), None),
        EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } => (name.to_string(), None, Some(format!("{major},{minor}"))),
        _ => (name.to_string(), None, None),
    }
}

#[allow(clippy::too_many_arguments)] // One row's worth of fields, each from a different source.
fn row(path: &str, name: &str, depth: usize, kind: &EntryKind, mode: u32, owner: (u64, u64), size: u64, mtime: Option<i64>, layer: Option<usize>) -> Row {
    let (name, target, device) = kind_fields(kind, name);
    Row {
        path: path.to_string(),
        name,
        depth,
        kind: kind_name(kind).to_string(),
        mode: mode_string(kind, mode),
        uid: owner.0,
        gid: owner.1,
        size,
        mtime: mtime.map(format_mtime).unwrap_or_default(),
        layer,
        target,
        device,
        dir: false,
        open: false,
    }
}

/// A tree the rows are read from: children in name order.
trait Browsable {
    fn children(&self) -> impl Iterator<Item = (&str, &Self)>;
}

/// Builds the row of a node from its path, name and depth.
type MakeRow<'a, T> = &'a dyn Fn(&T, &str, &str, usize) -> Row;

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() { name.to_string() } else { format!("{parent}/{name}") }
}

/// What a walk looks for: the view's open directories as a set, and its search in lowercase.
struct Wanted<'a> {
    open: BTreeSet<&'a str>,
    all: bool,
    needle: String,
    limit: usize,
}

fn rows_of<T: Browsable>(root: &T, make: MakeRow<T>, view: &View, limit: usize) -> Rows {
    let wanted = Wanted { open: view.open.iter().map(String::as_str).collect(), all: view.all, needle: view.search.trim().to_ascii_lowercase(), limit };
    let mut out = Rows::default();
    walk(root, make, "", 0, &wanted, &mut out);
    out
}

fn walk<T: Browsable>(node: &T, make: MakeRow<T>, path: &str, depth: usize, wanted: &Wanted, out: &mut Rows) {
    let needle = wanted.needle.as_str();
    let searching = !needle.is_empty();
    for (name, child) in node.children() {
        let child_path = join(path, name);
        let has_children = child.children().next().is_some();
        let open = has_children && !searching && (wanted.all || wanted.open.contains(child_path.as_str()));
        if !searching || child_path.to_ascii_lowercase().contains(needle) {
            out.total += 1;
            if out.rows.len() < wanted.limit {
                let mut r = make(child, &child_path, name, depth);
                if searching {
                    r.name = child_path.clone();
                    r.depth = 0;
                }
                r.dir = has_children && !searching;
                r.open = open;
                out.rows.push(r);
            }
        }
        if searching || open {
            walk(child, make, &child_path, depth + 1, wanted, out);
        }
    }
}

impl Browsable for Node {
    fn children(&self) -> impl Iterator<Item = (&str, &Node)> {
        Node::children(self)
    }
}

fn merged_row(node: &Node, path: &str, name: &str, depth: usize) -> Row {
    let size = if node.is_dir() { node.total_size() } else { node.size };
    let mtime = node.layer.map(|_| node.mtime);
    row(path, name, depth, &node.kind, node.mode, (node.uid, node.gid), size, mtime, node.layer)
}

impl MergedTree {
    /// The rows of `view`, at most `limit` of them, in tree order.
    pub fn rows(&self, view: &View, limit: usize) -> Rows {
        rows_of(self.root(), &merged_row, view, limit)
    }
}

#[derive(Default)]
struct LayerNode {
    /// `None` for a directory the archive does not list, which exists only because something
    /// under it does.
    entry: Option<Entry>,
    children: BTreeMap<String, LayerNode>,
}

impl LayerNode {
    /// Bytes of the regular files in this subtree (hardlinks add nothing: they share an inode).
    fn file_bytes(&self) -> u64 {
        let own = self.entry.as_ref().filter(|e| e.kind == EntryKind::File).map_or(0, |e| e.size);
        own + self.children.values().map(LayerNode::file_bytes).sum::<u64>()
    }
}

/// The entries of one layer as a directory tree, whiteouts and opaque markers included as the
/// deletions they are. An archive that lists a path twice shows its last entry, as extraction
/// would leave it.
pub struct LayerTree {
    layer: usize,
    root: LayerNode,
    entries: u64,
    deletions: u64,
}

impl LayerTree {
    /// An empty tree for layer `layer` (0 = base), the layer its rows name.
    pub fn new(layer: usize) -> LayerTree {
        LayerTree { layer, root: LayerNode::default(), entries: 0, deletions: 0 }
    }

    pub fn add(&mut self, entry: Entry) {
        self.entries += 1;
        if entry.kind.is_deletion() {
            self.deletions += 1;
        }
        let mut node = &mut self.root;
        for part in entry.path.split('/').filter(|p| !p.is_empty()) {
            node = node.children.entry(part.to_string()).or_default();
        }
        node.entry = Some(entry);
    }

    /// Entries read so far, whiteouts included.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Whiteouts and opaque markers read so far.
    pub fn deletions(&self) -> u64 {
        self.deletions
    }

    /// Bytes of the regular files of the layer.
    pub fn file_bytes(&self) -> u64 {
        self.root.file_bytes()
    }

    /// The entry at a normalised path.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        let mut node = &self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            node = node.children.get(part)?;
        }
        node.entry.as_ref()
    }

    /// The rows of `view`, at most `limit` of them, in tree order.
    pub fn rows(&self, view: &View, limit: usize) -> Rows {
        let make = |node: &LayerNode, path: &str, name: &str, depth: usize| match &node.entry {
            Some(e) => {
                let size = if e.kind == EntryKind::Dir { node.file_bytes() } else { e.size };
                row(path, name, depth, &e.kind, e.mode, (e.uid, e.gid), size, Some(e.mtime), Some(self.layer))
            }
            None => row(path, name, depth, &EntryKind::Dir, 0o755, (0, 0), node.file_bytes(), None, None),
        };
        rows_of(&self.root, &make, view, limit)
    }
}

impl Browsable for LayerNode {
    fn children(&self) -> impl Iterator<Item = (&str, &LayerNode)> {
        self.children.iter().map(|(k, v)| (k.as_str(), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: EntryKind, mode: u32, size: u64) -> Entry {
        Entry { path: path.into(), kind, mode, uid: 0, gid: 0, uname: String::new(), gname: String::new(), size, mtime: 1_704_067_200, offset: 0 }
    }

    fn dir(path: &str) -> Entry {
        entry(path, EntryKind::Dir, 0o755, 0)
    }

    fn file(path: &str, size: u64) -> Entry {
        entry(path, EntryKind::File, 0o644, size)
    }

    /// A layer like the test bed's second `tree` layer, plus links, a device and a path whose
    /// parent the archive never lists.
    fn layer() -> LayerTree {
        let mut tree = LayerTree::new(1);
        for e in [
            dir("data"),
            entry("data/.wh.gone.txt", EntryKind::Whiteout { deleted: "data/gone.txt".into() }, 0o644, 0),
            dir("opaque"),
            entry("opaque/.wh..wh..opq", EntryKind::Opaque { dir: "opaque".into() }, 0o644, 0),
            file("opaque/c.txt", 19),
            dir("etc"),
            file("etc/config.txt", 10),
            entry("etc/link", EntryKind::Symlink { target: "config.txt".into() }, 0o777, 0),
            entry("etc/hard", EntryKind::Hardlink { target: "etc/config.txt".into() }, 0o644, 0),
            entry("dev/null", EntryKind::CharDevice { major: 1, minor: 3 }, 0o666, 0),
        ] {
            tree.add(e);
        }
        tree
    }

    /// Depth, name and type of each row.
    type Shown<'a> = Vec<(usize, &'a str, &'a str)>;

    fn names(rows: &Rows) -> Shown<'_> {
        rows.rows.iter().map(|r| (r.depth, r.name.as_str(), r.kind.as_str())).collect()
    }

    fn open(paths: &[&str]) -> View {
        View { open: paths.iter().map(|p| p.to_string()).collect(), ..View::default() }
    }

    #[test]
    fn views_of_a_layer() {
        let tree = layer();
        let all = View { all: true, ..View::default() };
        let search = |s: &str| View { search: s.into(), ..View::default() };
        let cases: Vec<(View, Shown, usize)> = vec![
            (View::default(), vec![(0, "data", "dir"), (0, "dev", "dir"), (0, "etc", "dir"), (0, "opaque", "dir")], 4),
            (open(&["etc"]), vec![(0, "data", "dir"), (0, "dev", "dir"), (0, "etc", "dir"), (1, "config.txt", "file"), (1, "hard", "hardlink"), (1, "link", "symlink"), (0, "opaque", "dir")], 7),
            (open(&["data", "opaque/.wh..wh..opq"]), vec![(0, "data", "dir"), (1, "gone.txt", "whiteout"), (0, "dev", "dir"), (0, "etc", "dir"), (0, "opaque", "dir")], 5),
            (all.clone(), vec![
                (0, "data", "dir"), (1, "gone.txt", "whiteout"), (0, "dev", "dir"), (1, "null", "char_device"),
                (0, "etc", "dir"), (1, "config.txt", "file"), (1, "hard", "hardlink"), (1, "link", "symlink"),
                (0, "opaque", "dir"), (1, ".wh..wh..opq", "opaque"), (1, "c.txt", "file"),
            ], 11),
            (search("CONFIG"), vec![(0, "etc/config.txt", "file")], 1),
            (search(" txt "), vec![(0, "data/.wh.gone.txt", "whiteout"), (0, "etc/config.txt", "file"), (0, "opaque/c.txt", "file")], 3),
            (search("nothing"), vec![], 0),
        ];
        for (view, want, total) in cases {
            let got = tree.rows(&view, 100);
            assert_eq!(names(&got), want, "{view:?}");
            assert_eq!(got.total, total, "{view:?}");
        }
        let limited = tree.rows(&all, 3);
        assert_eq!((limited.rows.len(), limited.total), (3, 11));
    }

    #[test]
    fn layer_rows_carry_what_a_listing_prints() {
        let tree = layer();
        let rows = tree.rows(&View { all: true, ..View::default() }, 100).rows;
        let by_path = |p: &str| rows.iter().find(|r| r.path == p).unwrap_or_else(|| panic!("{p}"));
        let whiteout = by_path("data/.wh.gone.txt");
        assert_eq!((whiteout.target.as_deref(), whiteout.layer, whiteout.dir), (Some("data/gone.txt"), Some(1), false));
        let opaque = by_path("opaque/.wh..wh..opq");
        assert_eq!(opaque.target.as_deref(), Some("opaque"));
        let etc = by_path("etc");
        assert_eq!((etc.size, etc.mode.as_str(), etc.mtime.as_str(), etc.dir, etc.open), (10, "drwxr-xr-x", "2024-01-01 00:00", true, true));
        assert_eq!(by_path("etc/hard").target.as_deref(), Some("etc/config.txt"));
        assert_eq!(by_path("etc/hard").size, 0, "a hardlink's bytes belong to its target");
        assert_eq!(by_path("etc/link").mode, "lrwxrwxrwx");
        assert_eq!(by_path("dev/null").device.as_deref(), Some("1,3"));
        let implied = by_path("dev");
        assert_eq!((implied.layer, implied.mtime.as_str()), (None, ""), "no entry lists dev/");
        assert_eq!((tree.entries(), tree.deletions(), tree.file_bytes()), (10, 2, 29));
        assert_eq!(tree.get("etc/config.txt").map(|e| e.size), Some(10));
        assert_eq!(tree.get("dev"), None);
    }

    #[test]
    fn a_path_listed_twice_shows_its_last_entry() {
        let mut tree = LayerTree::new(0);
        tree.add(file("a", 1));
        tree.add(file("a", 5));
        let rows = tree.rows(&View::default(), 10);
        assert_eq!((rows.total, rows.rows[0].size), (1, 5));
        assert_eq!(tree.entries(), 2);
    }

    #[test]
    fn merged_rows_name_the_last_writer_and_sum_directories() {
        let mut merged = MergedTree::new();
        for (layer, e) in [(0, dir("etc")), (0, file("etc/a", 3)), (0, file("etc/b", 4)), (1, file("etc/a", 7)), (1, file("usr/x", 2))] {
            merged.apply(layer, &e).unwrap();
        }
        let rows = merged.rows(&View { all: true, ..View::default() }, 100).rows;
        let got: Vec<(&str, u64, Option<usize>, &str)> = rows.iter().map(|r| (r.path.as_str(), r.size, r.layer, r.mtime.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("etc", 11, Some(0), "2024-01-01 00:00"),
                ("etc/a", 7, Some(1), "2024-01-01 00:00"),
                ("etc/b", 4, Some(0), "2024-01-01 00:00"),
                ("usr", 2, None, ""),
                ("usr/x", 2, Some(1), "2024-01-01 00:00"),
            ]
        );
        let found = merged.rows(&View { search: "/A".into(), ..View::default() }, 100);
        assert_eq!(names(&found), vec![(0, "etc/a", "file")]);
    }
}
