//! The Files view as the page shows it, and how the worker's answers change it. `State` holds
//! one [`FilesState`]; its actions arrive wrapped in `Action::Files`. Rows come ready from the
//! worker: the page keeps only the ones on screen.

use crate::pull_state::Phase;
use crate::worker::files_protocol::{FilesReply, Summary};
use imagescope_core::layers::{Change, Row, View};
use std::rc::Rc;

/// The text viewer: one file's contents, or why it cannot be shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Viewer {
    pub path: String,
    pub text: Option<Rc<str>>,
    pub problem: Option<String>,
}

/// A file being saved, then offered as a download.
#[derive(Debug, Clone, PartialEq)]
pub struct Saving {
    pub path: String,
    pub name: Option<String>,
    pub bytes: u64,
    pub url: Option<String>,
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LayerChanges {
    pub layer: usize,
    pub changes: Rc<Vec<Change>>,
    pub total: usize,
}

/// One open listing: a layer's files, or the image's merged filesystem.
#[derive(Debug, Clone, PartialEq)]
pub struct FileListing {
    pub id: u64,
    /// The inspection it belongs to.
    pub run: u64,
    /// The layer listed (an index), or `None` for the merged filesystem.
    pub layer: Option<usize>,
    pub phase: Phase,
    /// The layer being read and where from (`store` or `registry`).
    pub reading: usize,
    pub source: String,
    pub done: u64,
    pub total: u64,
    pub entries: u64,
    pub view: View,
    pub rows: Rc<Vec<Row>>,
    /// Rows the view holds, of which `rows` are the first.
    pub row_total: usize,
    pub summary: Option<Rc<Summary>>,
    pub changes: Option<LayerChanges>,
    pub viewer: Option<Viewer>,
    pub saving: Option<Saving>,
    pub problem: Option<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilesState {
    pub listing: Option<FileListing>,
}

pub enum FilesAction {
    Opened { id: u64, run: u64, layer: Option<usize>, total: u64 },
    /// A new view was asked for; its rows follow.
    Viewing(View),
    Reading(String),
    Saving(String),
    Downloaded { url: Option<String>, problem: Option<String> },
    CloseViewer,
    Close,
    Reply(FilesReply),
}

impl FilesState {
    pub fn apply(&mut self, action: FilesAction) {
        match action {
            FilesAction::Opened { id, run, layer, total } => self.listing = Some(FileListing::new(id, run, layer, total)),
            FilesAction::Close => self.listing = None,
            action => {
                if let Some(listing) = self.listing.as_mut() {
                    listing.apply(action);
                }
            }
        }
    }
}

impl FileListing {
    fn new(id: u64, run: u64, layer: Option<usize>, total: u64) -> FileListing {
        FileListing {
            id,
            run,
            layer,
            phase: Phase::Running,
            reading: layer.unwrap_or(0),
            source: String::new(),
            done: 0,
            total,
            entries: 0,
            view: View::default(),
            rows: Rc::default(),
            row_total: 0,
            summary: None,
            changes: None,
            viewer: None,
            saving: None,
            problem: None,
        }
    }

    /// Everything but opening and closing, which replace the listing as a whole.
    fn apply(&mut self, action: FilesAction) {
        match action {
            FilesAction::Viewing(view) => self.view = view,
            FilesAction::Reading(path) => self.viewer = Some(Viewer { path, text: None, problem: None }),
            FilesAction::Saving(path) => self.saving = Some(Saving { path, name: None, bytes: 0, url: None, problem: None }),
            FilesAction::Downloaded { url, problem } => {
                if let Some(saving) = self.saving.as_mut() {
                    saving.url = url;
                    saving.problem = problem;
                }
            }
            FilesAction::CloseViewer => self.viewer = None,
            FilesAction::Reply(reply) => self.reply(reply),
            FilesAction::Opened { .. } | FilesAction::Close => {}
        }
    }

    fn reply(&mut self, reply: FilesReply) {
        match reply {
            FilesReply::FilesProgress { id, layer, source, done, total, entries, finished } if id == self.id => {
                (self.reading, self.source, self.done, self.total, self.entries) = (layer, source, done, total, entries);
                if finished {
                    self.phase = Phase::Done;
                }
            }
            FilesReply::FilesRows { id, rows, total } if id == self.id => {
                self.rows = Rc::new(rows);
                self.row_total = total;
            }
            FilesReply::FilesSummary { id, summary } if id == self.id => self.summary = Some(Rc::new(summary)),
            FilesReply::FilesChanges { id, layer, changes, total } if id == self.id => {
                self.changes = Some(LayerChanges { layer, changes: Rc::new(changes), total });
            }
            FilesReply::FileText { id, path, text } if id == self.id => {
                if let Some(viewer) = self.viewer.as_mut().filter(|v| v.path == path) {
                    viewer.text = Some(text.into());
                }
            }
            FilesReply::FileSaved { id, path, download_name, bytes, .. } if id == self.id => {
                if let Some(saving) = self.saving.as_mut().filter(|s| s.path == path) {
                    saving.name = Some(download_name);
                    saving.bytes = bytes;
                }
            }
            FilesReply::FilesFailed { id, kind, path, message } if id == self.id => match (kind.as_str(), path) {
                ("read", Some(path)) => {
                    if let Some(viewer) = self.viewer.as_mut().filter(|v| v.path == path) {
                        viewer.problem = Some(message);
                    }
                }
                ("save", Some(path)) => {
                    if let Some(saving) = self.saving.as_mut().filter(|s| s.path == path) {
                        saving.problem = Some(message);
                    }
                }
                ("view" | "changes", _) => self.problem = Some((kind, message)),
                _ => {
                    self.phase = if kind == "cancelled" { Phase::Cancelled } else { Phase::Failed };
                    self.problem = Some((kind, message));
                }
            },
            _ => {}
        }
    }
}
