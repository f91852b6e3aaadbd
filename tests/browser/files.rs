//! The Files view's messages and state: every reply reads back as the worker wrote it, and how
//! the worker's answers fill a listing, and which answers it ignores.

use imagescope_core::layers::{Change, ChangeKind, LayerSummary, Row, View};
use imagescope_web::files_state::{FilesAction, FilesState};
use imagescope_web::pull_state::Phase;
use imagescope_web::worker::files_protocol::{FilesCommand, FilesReply, LayerBlob, Registry, Summary, FILES_REPLY_PREFIX};
use imagescope_web::worker::protocol::WireCredential;
use wasm_bindgen_test::wasm_bindgen_test;

fn opened(id: u64) -> FilesState {
    let mut s = FilesState::default();
    s.apply(FilesAction::Opened { id, run: 3, layer: Some(1), total: 900 });
    s
}

fn row(path: &str) -> Row {
    Row {
        path: path.into(),
        name: path.into(),
        depth: 0,
        kind: "file".into(),
        mode: "-rw-r--r--".into(),
        uid: 0,
        gid: 0,
        size: 4,
        mtime: "2024-01-01 00:00".into(),
        layer: Some(1),
        target: None,
        device: None,
        dir: false,
        open: false,
    }
}

fn failed(id: u64, kind: &str, path: Option<&str>) -> FilesAction {
    FilesAction::Reply(FilesReply::FilesFailed { id, kind: kind.into(), path: path.map(String::from), message: format!("{kind} failed") })
}

#[wasm_bindgen_test]
fn progress_and_rows_fill_the_listing_until_it_is_finished() {
    let mut s = opened(7);
    let progress = |done, finished| FilesAction::Reply(FilesReply::FilesProgress { id: 7, layer: 1, source: "registry".into(), done, total: 900, entries: done / 100, finished });
    s.apply(progress(300, false));
    s.apply(FilesAction::Reply(FilesReply::FilesRows { id: 7, rows: vec![row("a")], total: 1 }));
    let l = s.listing.clone().unwrap();
    assert_eq!((l.phase, l.done, l.entries, l.source.as_str(), l.rows.len()), (Phase::Running, 300, 3, "registry", 1));
    s.apply(progress(900, true));
    s.apply(FilesAction::Reply(FilesReply::FilesRows { id: 7, rows: vec![row("a"), row("b")], total: 5 }));
    let l = s.listing.unwrap();
    assert_eq!((l.phase, l.rows.len(), l.row_total), (Phase::Done, 2, 5));
}

#[wasm_bindgen_test]
fn answers_about_another_listing_are_ignored() {
    let mut s = opened(7);
    let before = s.clone();
    s.apply(FilesAction::Reply(FilesReply::FilesRows { id: 6, rows: vec![row("old")], total: 1 }));
    s.apply(failed(6, "layer", None));
    assert_eq!(s, before);
    s.apply(FilesAction::Close);
    assert_eq!(s.listing, None);
    s.apply(FilesAction::Reply(FilesReply::FilesRows { id: 7, rows: vec![row("late")], total: 1 }));
    assert_eq!(s.listing, None, "a closed listing stays closed");
}

#[wasm_bindgen_test]
fn failures_land_where_they_belong() {
    let mut s = opened(7);
    s.apply(FilesAction::Reading("etc/a".into()));
    s.apply(failed(7, "read", Some("etc/a")));
    s.apply(FilesAction::Saving("bin/x".into()));
    s.apply(failed(7, "save", Some("bin/x")));
    let l = s.listing.clone().unwrap();
    assert_eq!(l.viewer.unwrap().problem.as_deref(), Some("read failed"));
    assert_eq!(l.saving.unwrap().problem.as_deref(), Some("save failed"));
    assert_eq!((l.phase, l.problem), (Phase::Running, None), "the listing itself goes on");

    s.apply(failed(7, "cancelled", None));
    assert_eq!(s.listing.as_ref().unwrap().phase, Phase::Cancelled);
    let mut t = opened(8);
    t.apply(failed(8, "blob", None));
    let l = t.listing.unwrap();
    assert_eq!((l.phase, l.problem), (Phase::Failed, Some(("blob".into(), "blob failed".into()))));
}

#[wasm_bindgen_test]
fn the_viewer_shows_only_the_file_asked_for_last() {
    let mut s = opened(7);
    s.apply(FilesAction::Reading("etc/a".into()));
    s.apply(FilesAction::Reading("etc/b".into()));
    s.apply(FilesAction::Reply(FilesReply::FileText { id: 7, path: "etc/a".into(), text: "A".into() }));
    assert_eq!(s.listing.as_ref().unwrap().viewer.as_ref().unwrap().text, None);
    s.apply(FilesAction::Reply(FilesReply::FileText { id: 7, path: "etc/b".into(), text: "B".into() }));
    assert_eq!(s.listing.as_ref().unwrap().viewer.as_ref().unwrap().text.as_deref(), Some("B"));
    s.apply(FilesAction::CloseViewer);
    assert_eq!(s.listing.as_ref().unwrap().viewer, None);
}

#[wasm_bindgen_test]
fn views_changes_and_saved_files_are_kept() {
    let mut s = opened(7);
    let view = View { all: true, ..View::default() };
    s.apply(FilesAction::Viewing(view.clone()));
    s.apply(FilesAction::Reply(FilesReply::FilesChanges { id: 7, layer: 1, changes: vec![Change { path: "x".into(), change: ChangeKind::Deleted, size: 9 }], total: 4 }));
    s.apply(FilesAction::Saving("bin/x".into()));
    s.apply(FilesAction::Reply(FilesReply::FileSaved { id: 7, path: "bin/x".into(), file: "7-1.file".into(), download_name: "x".into(), bytes: 12 }));
    s.apply(FilesAction::Downloaded { url: Some("blob:x".into()), problem: None });
    let l = s.listing.unwrap();
    assert_eq!(l.view, view);
    let changes = l.changes.unwrap();
    assert_eq!((changes.layer, changes.total, changes.changes.len()), (1, 4, 1));
    let saving = l.saving.unwrap();
    assert_eq!((saving.name.as_deref(), saving.bytes, saving.url.as_deref()), (Some("x"), 12, Some("blob:x")));
}

#[wasm_bindgen_test]
fn every_files_reply_reads_back_as_it_was_written() {
    let summary = LayerSummary { layer: 1, entries: 7, file_bytes: 30, added: 1, changed: 2, deleted: 3, added_bytes: 4, changed_bytes: 5, deleted_bytes: 6, wasted_bytes: 10 };
    let replies = vec![
        FilesReply::FilesProgress { id: 1, layer: 2, source: "store".into(), done: 10, total: 20, entries: 3, finished: false },
        FilesReply::FilesRows { id: 2, rows: vec![row("etc/a"), Row { kind: "whiteout".into(), target: Some("etc/b".into()), layer: None, ..row("etc/.wh.b") }], total: 9 },
        FilesReply::FilesRows { id: 3, rows: vec![Row { kind: "char_device".into(), device: Some("1,3".into()), dir: true, open: true, ..row("dev/null") }], total: 1 },
        FilesReply::FilesSummary { id: 4, summary: Summary { layers: vec![summary.clone(), LayerSummary::default()], file_bytes: 30, final_bytes: 20, wasted_bytes: 10, entries: 5 } },
        FilesReply::FilesChanges {
            id: 5,
            layer: 1,
            changes: vec![
                Change { path: "a".into(), change: ChangeKind::Added, size: 1 },
                Change { path: "b".into(), change: ChangeKind::Changed, size: 2 },
                Change { path: "c".into(), change: ChangeKind::Deleted, size: 3 },
            ],
            total: 3,
        },
        FilesReply::FileText { id: 6, path: "etc/a".into(), text: "version=3\n\"quoted\" ünïcode".into() },
        FilesReply::FileSaved { id: 7, path: "etc/a".into(), file: "7-1.file".into(), download_name: "a".into(), bytes: 12 },
        FilesReply::FilesFailed { id: 8, kind: "read".into(), path: Some("bin/x".into()), message: "binary".into() },
        FilesReply::FilesFailed { id: 9, kind: "cancelled".into(), path: None, message: "stopped".into() },
    ];
    for reply in replies {
        let json = serde_json::to_string(&reply).unwrap();
        assert!(json.starts_with(FILES_REPLY_PREFIX), "{json}");
        assert_eq!(FilesReply::parse(&json), Some(reply), "{json}");
    }
    assert_eq!(FilesReply::parse(r#"{"reply":"files_rows","id":1}"#), None);
    assert_eq!(FilesReply::parse(r#"{"reply":"ready"}"#), None);
}

#[wasm_bindgen_test]
fn commands_round_trip() {
    let open = FilesCommand::Open {
        registry: Registry { reference: "r/x:1".into(), credential: WireCredential::Anonymous, proxy_origin: None },
        layers: vec![LayerBlob { digest: "sha256:00".into(), media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(), size: 3 }],
        layer: Some(0),
        view: View { open: vec!["etc".to_string()], all: false, search: String::new() },
    };
    for command in [open, FilesCommand::View { view: View::default() }, FilesCommand::Changes { layer: 2 }, FilesCommand::Read { path: "a".into() }, FilesCommand::Save { path: "a".into() }, FilesCommand::Cancel, FilesCommand::Close] {
        let json = serde_json::to_string(&command).unwrap();
        assert_eq!(serde_json::from_str::<FilesCommand>(&json).unwrap(), command, "{json}");
    }
}
