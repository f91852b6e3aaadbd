//! The filesystem a runtime sees once every layer is applied, with the OCI image-spec rules:
//! a whiteout removes a lower path and everything under it; an opaque marker hides what lower
//! layers put in its directory but keeps what its own layer puts there; a non-directory
//! replaces a directory with all its children; a directory over a directory merges.

use super::entry::{mode_string, normalize, parent_and_name, Entry, EntryKind};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Never a whiteout or opaque marker: those only remove nodes.
    #[serde(flatten)]
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// A file's size; a hardlink's is its target's (they share one inode); 0 otherwise.
    pub size: u64,
    pub mtime: i64,
    /// The layer whose entry last wrote this path; `None` for a directory no layer lists,
    /// which exists only because something under it does.
    pub layer: Option<usize>,
    #[serde(skip)]
    children: BTreeMap<String, Node>,
}

impl Node {
    fn implied_dir() -> Node {
        Node { kind: EntryKind::Dir, mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, layer: None, children: BTreeMap::new() }
    }

    fn from_entry(layer: usize, entry: &Entry) -> Node {
        Node {
            kind: entry.kind.clone(),
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
            size: entry.size,
            mtime: entry.mtime,
            layer: Some(layer),
            children: BTreeMap::new(),
        }
    }

    pub fn is_dir(&self) -> bool {
        self.kind == EntryKind::Dir
    }

    /// Children in name order.
    pub fn children(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.children.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.get(name)
    }

    /// Bytes of the regular files in this subtree, each inode once (hardlinks add nothing).
    pub fn total_size(&self) -> u64 {
        let own = if self.kind == EntryKind::File { self.size } else { 0 };
        own + self.children.values().map(Node::total_size).sum::<u64>()
    }

    /// Entries in this subtree, this node excluded.
    pub fn count(&self) -> usize {
        self.children.values().map(|c| 1 + c.count()).sum()
    }

    pub fn mode_string(&self) -> String {
        mode_string(&self.kind, self.mode)
    }
}

/// One path of the merged filesystem, flattened for listings and JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergedEntry {
    pub path: String,
    #[serde(flatten)]
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// A file's size; for a directory the total of the files under it.
    pub size: u64,
    pub mtime: i64,
    pub layer: Option<usize>,
}

impl MergedEntry {
    pub fn mode_string(&self) -> String {
        mode_string(&self.kind, self.mode)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The path did not exist in the layers below.
    Added,
    /// The path existed below and this layer wrote it again (directories only when their mode
    /// or owner changed: layers restate parent directories all the time).
    Changed,
    /// A whiteout or opaque marker removed the path written below.
    Deleted,
}

/// What one layer did to one path, compared with the layers below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub path: String,
    pub change: ChangeKind,
    /// The file's size for additions and changes; for deletions the file bytes removed.
    pub size: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LayerSummary {
    pub layer: usize,
    /// Tar entries, whiteouts included.
    pub entries: u64,
    /// Bytes of regular files the layer carries.
    pub file_bytes: u64,
    pub added: u64,
    pub changed: u64,
    pub deleted: u64,
    pub added_bytes: u64,
    pub changed_bytes: u64,
    pub deleted_bytes: u64,
    /// Bytes of files this layer wrote that are not in the final image: a later layer (or a
    /// later entry of this one) overwrote or deleted them.
    pub wasted_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageSummary {
    pub layers: Vec<LayerSummary>,
    /// File bytes across all layers.
    pub file_bytes: u64,
    /// File bytes of the merged filesystem.
    pub final_bytes: u64,
    pub wasted_bytes: u64,
    /// `1 - wasted / file_bytes`: 1.0 when no layer carries bytes a later one throws away.
    pub efficiency: f64,
    pub entries: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("an entry of layer {given} arrived after layer {current} began: layers apply oldest first")]
    OutOfOrder { given: usize, current: usize },
}

#[derive(Default)]
struct LayerState {
    summary: LayerSummary,
    changes: Vec<Change>,
}

/// The merged filesystem, built entry by entry as layers are read, oldest layer first.
#[derive(Default)]
pub struct MergedTree {
    root: Node,
    layers: Vec<LayerState>,
}

impl Default for Node {
    fn default() -> Node {
        Node::implied_dir()
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() { name.to_string() } else { format!("{parent}/{name}") }
}

/// Adds every file of a dropped subtree to the waste of the layer that wrote it.
fn waste(node: &Node, layers: &mut [LayerState]) -> u64 {
    let mut bytes = 0;
    if node.kind == EntryKind::File {
        if let Some(l) = node.layer {
            layers[l].summary.wasted_bytes += node.size;
        }
        bytes += node.size;
    }
    bytes + node.children.values().map(|c| waste(c, layers)).sum::<u64>()
}

/// Removes from `node`'s subtree what layers below `layer` wrote, keeping what `layer` itself
/// wrote (and the directories leading to it). Returns whether `node` stays, and the file bytes
/// removed.
fn prune_lower(node: &mut Node, layer: usize, layers: &mut [LayerState]) -> (bool, u64) {
    let mut removed = 0;
    let mut kept_child = false;
    node.children.retain(|_, child| {
        let (keep, bytes) = prune_lower(child, layer, layers);
        removed += bytes;
        kept_child |= keep;
        keep
    });
    if node.layer == Some(layer) || kept_child {
        return (true, removed);
    }
    (false, removed + waste(node, layers))
}

impl MergedTree {
    pub fn new() -> MergedTree {
        MergedTree::default()
    }

    pub fn root(&self) -> &Node {
        &self.root
    }

    /// The node at a path (normalised here, so `./etc/` finds `etc`); `""` is the root.
    pub fn get(&self, path: &str) -> Option<&Node> {
        let path = normalize(path);
        let mut node = &self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            node = node.children.get(part)?;
        }
        Some(node)
    }

    /// Layers seen so far, including empty ones announced through [`MergedTree::begin_layer`].
    pub fn layer_count(&self) -> usize {
        self.layers.len()
    }

    /// Makes sure layer `layer` (and every one before it) has a summary, even with no entries.
    pub fn begin_layer(&mut self, layer: usize) -> Result<(), MergeError> {
        let current = self.layers.len();
        if current > 0 && layer + 1 < current {
            return Err(MergeError::OutOfOrder { given: layer, current: current - 1 });
        }
        while self.layers.len() <= layer {
            let index = self.layers.len();
            self.layers.push(LayerState { summary: LayerSummary { layer: index, ..LayerSummary::default() }, changes: Vec::new() });
        }
        Ok(())
    }

    /// Applies one entry of layer `layer` (0 = the base layer). Entries of a layer may come in
    /// any order; layers must come oldest first.
    pub fn apply(&mut self, layer: usize, entry: &Entry) -> Result<(), MergeError> {
        self.begin_layer(layer)?;
        self.layers[layer].summary.entries += 1;
        match &entry.kind {
            EntryKind::Whiteout { deleted } => {
                if let Some(bytes) = self.remove_lower(deleted, layer) {
                    self.record(layer, deleted.clone(), ChangeKind::Deleted, bytes);
                }
            }
            EntryKind::Opaque { dir } => {
                let names: Vec<String> = match self.get(dir) {
                    Some(node) if node.is_dir() => node.children.keys().cloned().collect(),
                    _ => Vec::new(),
                };
                for name in names {
                    let path = join(dir, &name);
                    if let Some(bytes) = self.remove_lower(&path, layer) {
                        self.record(layer, path, ChangeKind::Deleted, bytes);
                    }
                }
            }
            _ => self.write(layer, entry),
        }
        Ok(())
    }

    fn record(&mut self, layer: usize, path: String, change: ChangeKind, size: u64) {
        let summary = &mut self.layers[layer].summary;
        let (count, bytes) = match change {
            ChangeKind::Added => (&mut summary.added, &mut summary.added_bytes),
            ChangeKind::Changed => (&mut summary.changed, &mut summary.changed_bytes),
            ChangeKind::Deleted => (&mut summary.deleted, &mut summary.deleted_bytes),
        };
        *count += 1;
        *bytes += size;
        self.layers[layer].changes.push(Change { path, change, size });
    }

    /// Removes what lower layers wrote at `path`; `Some(file bytes)` when anything went.
    fn remove_lower(&mut self, path: &str, layer: usize) -> Option<u64> {
        let (parent, name) = parent_and_name(path);
        if name.is_empty() {
            return None;
        }
        let layers = &mut self.layers;
        let mut node = &mut self.root;
        for part in parent.split('/').filter(|p| !p.is_empty()) {
            node = node.children.get_mut(part)?;
        }
        let child = node.children.get_mut(name)?;
        let before = child.count() + 1;
        let (keep, bytes) = prune_lower(child, layer, layers);
        let after = if keep { child.count() + 1 } else { 0 };
        if !keep {
            node.children.remove(name);
        }
        (after < before).then_some(bytes)
    }

    fn write(&mut self, layer: usize, entry: &Entry) {
        let path = entry.path.as_str();
        let mut new = Node::from_entry(layer, entry);
        if let EntryKind::Hardlink { target } = &entry.kind {
            if let Some(t) = self.get(target) {
                new.size = if t.kind == EntryKind::File { t.size } else { 0 };
            }
        }
        if path.is_empty() {
            if new.is_dir() {
                let children = std::mem::take(&mut self.root.children);
                self.root = Node { children, ..new };
            }
            return;
        }
        let size = if new.kind == EntryKind::File { new.size } else { 0 };
        self.layers[layer].summary.file_bytes += size;
        let (parent, name) = parent_and_name(path);
        let layers = &mut self.layers;
        let mut node = &mut self.root;
        for part in parent.split('/').filter(|p| !p.is_empty()) {
            let child = node.children.entry(part.to_string()).or_insert_with(Node::implied_dir);
            if !child.is_dir() {
                // Extracting `a/b` over a file `a` replaces the file with a directory.
                waste(child, layers);
                *child = Node { layer: Some(layer), ..Node::implied_dir() };
            }
            node = child;
        }
        let change = match node.children.get_mut(name) {
            None => {
                node.children.insert(name.to_string(), new);
                Some(ChangeKind::Added)
            }
            Some(old) => {
                let lower = old.layer.is_none_or(|l| l < layer);
                let visible_change = !(old.is_dir() && new.is_dir()) || (old.mode, old.uid, old.gid) != (new.mode, new.uid, new.gid);
                if old.is_dir() && new.is_dir() {
                    let children = std::mem::take(&mut old.children);
                    *old = Node { children, ..new };
                } else {
                    waste(old, layers);
                    *old = new;
                }
                (lower && visible_change).then_some(ChangeKind::Changed)
            }
        };
        if let Some(change) = change {
            self.record(layer, path.to_string(), change, size);
        }
    }

    /// What layer `layer` added, changed and deleted, in archive order.
    pub fn changes(&self, layer: usize) -> &[Change] {
        self.layers.get(layer).map(|l| l.changes.as_slice()).unwrap_or(&[])
    }

    /// Every path of the merged filesystem, parents before children, names sorted.
    pub fn entries(&self) -> Vec<MergedEntry> {
        let mut out = Vec::new();
        flatten(&self.root, "", &mut |_| true, &mut out, usize::MAX);
        out
    }

    /// Paths containing `needle` (ASCII case ignored), at most `limit` of them, in tree order.
    pub fn search(&self, needle: &str, limit: usize) -> Vec<MergedEntry> {
        let needle = needle.to_ascii_lowercase();
        let mut out = Vec::new();
        flatten(&self.root, "", &mut |p: &str| p.to_ascii_lowercase().contains(&needle), &mut out, limit);
        out
    }

    /// Per-layer summaries and the image's efficiency figures.
    pub fn summary(&self) -> ImageSummary {
        let layers: Vec<LayerSummary> = self.layers.iter().map(|l| l.summary.clone()).collect();
        let file_bytes: u64 = layers.iter().map(|l| l.file_bytes).sum();
        let wasted_bytes: u64 = layers.iter().map(|l| l.wasted_bytes).sum();
        let efficiency = if file_bytes == 0 { 1.0 } else { 1.0 - wasted_bytes as f64 / file_bytes as f64 };
        ImageSummary { layers, file_bytes, final_bytes: self.root.total_size(), wasted_bytes, efficiency, entries: self.root.count() }
    }
}

fn flatten(node: &Node, path: &str, keep: &mut dyn FnMut(&str) -> bool, out: &mut Vec<MergedEntry>, limit: usize) {
    for (name, child) in &node.children {
        if out.len() >= limit {
            return;
        }
        let child_path = join(path, name);
        if keep(&child_path) {
            out.push(MergedEntry {
                path: child_path.clone(),
                kind: child.kind.clone(),
                mode: child.mode,
                uid: child.uid,
                gid: child.gid,
                size: if child.is_dir() { child.total_size() } else { child.size },
                mtime: child.mtime,
                layer: child.layer,
            });
        }
        flatten(child, &child_path, keep, out, limit);
    }
}
