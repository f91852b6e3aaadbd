//! What the page and the store worker say about the files inside layers. The Files view's
//! commands travel in one `Command::Files`; the worker's answers are read with
//! [`FilesReply::parse`], a hand-written reader for the same reason as `Reply::parse`.

use super::protocol::{number, text, WireCredential};
use imagescope_core::layers::{Change, ChangeKind, LayerSummary, Row, View};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A layer blob as its descriptor names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerBlob {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
}

/// How to reach the registry for blobs the store does not hold: as the page reached it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    pub reference: String,
    pub credential: WireCredential,
    /// The page's origin when registry requests go through `imagescope serve`'s proxy.
    pub proxy_origin: Option<String>,
}

/// Page → worker, inside `Command::Files { id, command }`. `Open`'s id names the listing; every
/// other command carries the id of the listing it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FilesCommand {
    /// Lists layer `layer` (an index into `layers`), or with `None` the merged filesystem of
    /// all `layers`, oldest first, answering with rows of `view` as the blobs stream in.
    Open { registry: Registry, layers: Vec<LayerBlob>, layer: Option<usize>, view: View },
    /// Rows for another view of the listing.
    View { view: View },
    /// What one layer added, changed and deleted (merged listings only).
    Changes { layer: usize },
    /// A text file's contents, for the viewer.
    Read { path: String },
    /// One file's contents into a file the page hands to the person.
    Save { path: String },
    /// Stops reading; what was listed so far stays browsable.
    Cancel,
    /// Stops reading and forgets the listing.
    Close,
}

/// The image's figures once a merged listing is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub layers: Vec<LayerSummary>,
    /// File bytes across all layers, in the merged filesystem, and thrown away on the way.
    pub file_bytes: u64,
    pub final_bytes: u64,
    pub wasted_bytes: u64,
    /// Paths of the merged filesystem.
    pub entries: u64,
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum FilesReply {
    /// Reading goes on in layer `layer` (an index), from `source` (`store` or `registry`):
    /// blob bytes read of all the listing's layers, entries so far; `finished` once all is read.
    FilesProgress { id: u64, layer: usize, source: String, done: u64, total: u64, entries: u64, finished: bool },
    /// The rows of the view last asked for, and how many the view holds.
    FilesRows { id: u64, rows: Vec<Row>, total: usize },
    FilesSummary { id: u64, summary: Summary },
    /// The first of a layer's changes, in archive order, and how many there are.
    FilesChanges { id: u64, layer: usize, changes: Vec<Change>, total: usize },
    FileText { id: u64, path: String, text: String },
    /// The file is complete in OPFS at `exports/<file>`; the page hands it to the person.
    FileSaved { id: u64, path: String, file: String, download_name: String, bytes: u64 },
    /// `kind` is `cancelled`, `read`, `save` or what the listing failed on; `path` names the
    /// file of a failed read or save.
    FilesFailed { id: u64, kind: String, path: Option<String>, message: String },
}

/// Every [`FilesReply`] starts so, which lets the page route a message without parsing it twice.
pub const FILES_REPLY_PREFIX: &str = "{\"reply\":\"file";

fn flag(v: &Value, key: &str) -> Option<bool> {
    v.get(key)?.as_bool()
}

fn row(v: &Value) -> Option<Row> {
    Some(Row {
        path: text(v, "path")?,
        name: text(v, "name")?,
        depth: number(v, "depth")? as usize,
        kind: text(v, "type")?,
        mode: text(v, "mode")?,
        uid: number(v, "uid")?,
        gid: number(v, "gid")?,
        size: number(v, "size")?,
        mtime: text(v, "mtime")?,
        layer: number(v, "layer").map(|l| l as usize),
        target: text(v, "target"),
        device: text(v, "device"),
        dir: flag(v, "dir")?,
        open: flag(v, "open")?,
    })
}

fn change(v: &Value) -> Option<Change> {
    let change = match v.get("change")?.as_str()? {
        "added" => ChangeKind::Added,
        "changed" => ChangeKind::Changed,
        "deleted" => ChangeKind::Deleted,
        _ => return None,
    };
    Some(Change { path: text(v, "path")?, change, size: number(v, "size")? })
}

fn layer_summary(v: &Value) -> Option<LayerSummary> {
    let n = |key| number(v, key);
    Some(LayerSummary {
        layer: n("layer")? as usize,
        entries: n("entries")?,
        file_bytes: n("file_bytes")?,
        added: n("added")?,
        changed: n("changed")?,
        deleted: n("deleted")?,
        added_bytes: n("added_bytes")?,
        changed_bytes: n("changed_bytes")?,
        deleted_bytes: n("deleted_bytes")?,
        wasted_bytes: n("wasted_bytes")?,
    })
}

fn list<T>(v: &Value, key: &str, item: fn(&Value) -> Option<T>) -> Option<Vec<T>> {
    v.get(key)?.as_array()?.iter().map(item).collect()
}

impl FilesReply {
    /// Reads what the worker's `Serialize` wrote; `None` for anything else.
    pub fn parse(json: &str) -> Option<FilesReply> {
        let v: Value = serde_json::from_str(json).ok()?;
        let id = number(&v, "id")?;
        let count = |key| number(&v, key).map(|n| n as usize);
        Some(match v.get("reply")?.as_str()? {
            "files_progress" => FilesReply::FilesProgress {
                id,
                layer: count("layer")?,
                source: text(&v, "source")?,
                done: number(&v, "done")?,
                total: number(&v, "total")?,
                entries: number(&v, "entries")?,
                finished: flag(&v, "finished")?,
            },
            "files_rows" => FilesReply::FilesRows { id, rows: list(&v, "rows", row)?, total: count("total")? },
            "files_summary" => {
                let s = v.get("summary")?;
                FilesReply::FilesSummary {
                    id,
                    summary: Summary {
                        layers: list(s, "layers", layer_summary)?,
                        file_bytes: number(s, "file_bytes")?,
                        final_bytes: number(s, "final_bytes")?,
                        wasted_bytes: number(s, "wasted_bytes")?,
                        entries: number(s, "entries")?,
                    },
                }
            }
            "files_changes" => FilesReply::FilesChanges { id, layer: count("layer")?, changes: list(&v, "changes", change)?, total: count("total")? },
            "file_text" => FilesReply::FileText { id, path: text(&v, "path")?, text: text(&v, "text")? },
            "file_saved" => FilesReply::FileSaved { id, path: text(&v, "path")?, file: text(&v, "file")?, download_name: text(&v, "download_name")?, bytes: number(&v, "bytes")? },
            "files_failed" => FilesReply::FilesFailed { id, kind: text(&v, "kind")?, path: text(&v, "path"), message: text(&v, "message")? },
            _ => return None,
        })
    }
}
