//! The Files view: one layer's files or the image's merged filesystem as a collapsible tree,
//! a path search, each layer's changes and wasted bytes, a text viewer and single-file saves.
//! The store worker reads, merges and searches; this only shows the rows it sends.

use super::use_app_state;
use crate::fetch::page_origin;
use crate::files_state::{FileListing, FilesAction, LayerChanges, Saving, Viewer};
use crate::hooks::StateHandle;
use crate::pull_state::Phase;
use crate::state::{Action, Inspected};
use crate::worker::files_protocol::{FilesCommand, LayerBlob, Registry, Summary};
use crate::worker::protocol::{Command, WireCredential};
use crate::worker_client;
use imagescope_core::layers::{ChangeKind, Row, View};
use imagescope_core::status::human_size;
use web_sys::{Element, HtmlElement, HtmlInputElement};
use yew::prelude::*;

fn send(state: &StateHandle, id: u64, command: FilesCommand) {
    worker_client::send(&state.dispatcher(), |_| Command::Files { id, command });
}

/// Starts listing layer `layer` (an index) of the image shown, or with `None` its merged
/// filesystem, reading blobs with the credential and route the inspection used.
pub fn open_files(state: &StateHandle, inspected: &Inspected, layer: Option<usize>) {
    let Some(manifest) = inspected.inspection.image_manifest() else { return };
    let reference = &inspected.inspection.reference;
    let registry = Registry { reference: reference.canonical(), credential: WireCredential::from(&inspected.credential), proxy_origin: inspected.via_proxy.then(page_origin) };
    let layers: Vec<LayerBlob> = manifest.layers.iter().map(|l| LayerBlob { digest: l.digest.to_string(), media_type: l.media_type.clone(), size: l.size }).collect();
    let total = layers.iter().enumerate().filter(|(i, _)| layer.is_none_or(|l| l == *i)).map(|(_, l)| l.size).sum();
    let dispatch = state.dispatcher();
    let id = worker_client::send(&dispatch, |id| Command::Files { id, command: FilesCommand::Open { registry, layers, layer, view: View::default() } });
    dispatch.dispatch(Action::Files(FilesAction::Opened { id, run: state.run, layer, total }));
}

/// Asks the worker for the rows of `view`.
fn show(state: &StateHandle, id: u64, view: View) {
    state.dispatch(Action::Files(FilesAction::Viewing(view.clone())));
    send(state, id, FilesCommand::View { view });
}

fn phase_words(listing: &FileListing) -> String {
    let what = match listing.source.as_str() {
        "store" => " from this browser's storage",
        "registry" => " from the registry",
        _ => "",
    };
    match listing.phase {
        Phase::Running => format!("Reading layer {}{what}…", listing.reading + 1),
        Phase::Done => "Done.".to_string(),
        Phase::Cancelled => "Stopped.".to_string(),
        Phase::Failed => "Reading failed.".to_string(),
    }
}

/// A row's note after its name: where a link points, or what a deletion removes.
fn note(r: &Row) -> (&'static str, String) {
    let target = r.target.as_deref().unwrap_or_default();
    match r.kind.as_str() {
        "symlink" => ("muted", format!(" → {target}")),
        "hardlink" => ("muted", format!(" link to {target}")),
        "whiteout" => ("badge danger", "deleted (whiteout)".into()),
        "opaque" => ("badge danger", format!("opaque: hides what lower layers put in /{target}")),
        _ => ("", String::new()),
    }
}

const FILE_COLUMNS: &[&str] = &["Name", "Mode", "uid/gid", "Size", "Modified (UTC)", "Layer", ""];
const LAYER_COLUMNS: &[&str] = &["Layer", "Entries", "Added", "Changed", "Deleted", "Wasted", ""];

fn layer_number(layer: Option<usize>) -> String {
    layer.map_or_else(|| "–".into(), |l| (l + 1).to_string())
}

/// Table cells, each labelled with its column for the phone layout, which has no header row.
fn cells(head: &[&'static str], texts: Vec<String>) -> Html {
    head.iter().skip(1).zip(texts).map(|(label, t)| html! { <td data-label={*label}>{ t }</td> }).collect()
}

fn head(titles: &[&'static str]) -> Html {
    html! { <thead><tr>{ for titles.iter().map(|t| html! { <th scope="col">{ *t }</th> }) }</tr></thead> }
}

/// A button the section's one click handler acts on, by its `data-op`.
fn op(op: &'static str, label: String, testid: &'static str) -> Html {
    html! { <button type="button" data-op={op} data-testid={testid}>{ label }</button> }
}

fn row_view(r: &Row) -> Html {
    let (note_class, note_text) = note(r);
    let name = if r.kind == "dir" { format!("{}/", r.name) } else { r.name.clone() };
    html! {
        <tr data-testid="file-row" class={r.kind.clone()} data-path={r.path.clone()} data-bytes={r.size.to_string()}
            data-layer={r.layer.map(|l| (l + 1).to_string())} data-kind={r.kind.clone()} data-target={r.target.clone()}>
            <td class="fname">
                <svg class="indent" width={(r.depth * 16).to_string()} height="1" aria-hidden="true"></svg>
                if r.dir {
                    <button type="button" class="toggle" data-op="toggle" aria-expanded={r.open.to_string()} aria-label={format!("{} {}", r.path, if r.open { "(close)" } else { "(open)" })}>
                        { if r.open { "▾" } else { "▸" } }
                    </button>
                } else {
                    <span class="toggle"></span>
                }
                <span class="name">{ name }</span><span class={note_class}>{ note_text }</span>
            </td>
            { cells(FILE_COLUMNS, vec![r.mode.clone(), format!("{}/{}", r.uid, r.gid), r.device.clone().unwrap_or_else(|| human_size(r.size)), r.mtime.clone(), layer_number(r.layer)]) }
            <td class="actions">
                if matches!(r.kind.as_str(), "file" | "hardlink") {
                    { op("view", "View".into(), "file-view") }{ op("save", "Save".into(), "file-save") }
                }
            </td>
        </tr>
    }
}

/// `(file_bytes - wasted) / file_bytes` as `99.5%`, in integers: the page links no float formatting.
fn efficiency(s: &Summary) -> String {
    if s.file_bytes == 0 {
        return "100%".into();
    }
    let per_mille = (s.file_bytes - s.wasted_bytes.min(s.file_bytes)) * 1000 / s.file_bytes;
    format!("{}.{}%", per_mille / 10, per_mille % 10)
}

fn summary_view(s: &Summary) -> Html {
    let count = |n: u64, bytes: u64| format!("{n} ({})", human_size(bytes));
    html! {
        <div class="files-summary">
            <p data-testid="files-efficiency" data-file-bytes={s.file_bytes.to_string()} data-final-bytes={s.final_bytes.to_string()} data-wasted-bytes={s.wasted_bytes.to_string()}>
                { format!("{} paths. Files in all layers: {}; in the image: {}; wasted on files later layers replaced or deleted: {} (efficiency {}).",
                    s.entries, human_size(s.file_bytes), human_size(s.final_bytes), human_size(s.wasted_bytes), efficiency(s)) }
            </p>
            <div class="table-wrap">
                <table class="layers files-layers">
                    { head(LAYER_COLUMNS) }
                    <tbody>
                        { for s.layers.iter().map(|l| html! {
                            <tr data-testid="layer-summary" data-layer={(l.layer + 1).to_string()} data-deleted={l.deleted.to_string()} data-wasted-bytes={l.wasted_bytes.to_string()}>
                                <td>{ l.layer + 1 }</td>
                                { cells(LAYER_COLUMNS, vec![l.entries.to_string(), count(l.added, l.added_bytes), count(l.changed, l.changed_bytes), count(l.deleted, l.deleted_bytes), human_size(l.wasted_bytes)]) }
                                <td>{ op("changes", format!("Changes in {}", l.layer + 1), "layer-changes-button") }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
        </div>
    }
}

fn changes_view(c: &LayerChanges) -> Html {
    let word = |k: ChangeKind| match k {
        ChangeKind::Added => "added",
        ChangeKind::Changed => "changed",
        ChangeKind::Deleted => "deleted",
    };
    let more = c.total - c.changes.len().min(c.total);
    html! {
        <div class="changes" data-testid="layer-changes" data-layer={(c.layer + 1).to_string()} data-total={c.total.to_string()}>
            <h3>{ format!("What layer {} added, changed and deleted: {} paths{}", c.layer + 1, c.total, if more > 0 { format!(", the first {} shown", c.changes.len()) } else { String::new() }) }</h3>
            <ul class="plain">
                { for c.changes.iter().map(|ch| html! {
                    <li data-testid="change-row" data-path={ch.path.clone()} data-change={word(ch.change)} data-bytes={ch.size.to_string()}>
                        <span class={classes!("badge", word(ch.change))}>{ word(ch.change) }</span>{ format!(" {} ({})", ch.path, human_size(ch.size)) }
                    </li>
                }) }
            </ul>
        </div>
    }
}

fn viewer_view(v: &Viewer, node: NodeRef) -> Html {
    let (state, body) = match (&v.text, &v.problem) {
        (_, Some(problem)) => ("failed", html! { <p class="error" role="alert">{ problem.clone() }</p> }),
        (Some(text), None) => ("ready", html! { <pre class="file-text" tabindex="0">{ text.to_string() }</pre> }),
        (None, None) => ("loading", html! { <p class="muted" role="status">{ "Reading the file from its layer…" }</p> }),
    };
    html! {
        <section class="viewer" data-testid="file-viewer" data-path={v.path.clone()} data-state={state} aria-label={format!("Contents of {}", v.path)} tabindex="-1" ref={node}>
            <div class="card-head"><h3>{ v.path.clone() }</h3>{ op("close-viewer", "Close viewer".into(), "file-viewer-close") }</div>
            { body }
        </section>
    }
}

fn saving_view(s: &Saving) -> Html {
    let (state, body) = match (&s.problem, &s.url, &s.name) {
        (Some(problem), _, _) => ("failed", html! { <span class="error">{ problem.clone() }</span> }),
        (None, Some(url), Some(name)) => ("ready", html! { <a href={url.clone()} download={name.clone()}>{ format!("Saved {name} ({})", human_size(s.bytes)) }</a> }),
        _ => ("running", html! { { format!("Saving {}…", s.path) } }),
    };
    html! { <p data-testid="file-save-status" data-path={s.path.clone()} data-state={state} role="status">{ body }</p> }
}

/// What a click on one of the section's buttons asks for, from its `data-op` and the row or
/// layer it sits in.
fn clicked(state: &StateHandle, listing: &FileListing, e: MouseEvent) {
    let Some(button) = e.target_dyn_into::<Element>().and_then(|t| t.closest("button[data-op]").ok().flatten()) else { return };
    let row = button.closest("tr").ok().flatten();
    let attr = |name: &str| row.as_ref().and_then(|r| r.get_attribute(name)).unwrap_or_default();
    let id = listing.id;
    let files = |action| state.dispatch(Action::Files(action));
    match button.get_attribute("data-op").unwrap_or_default().as_str() {
        "cancel" => send(state, id, FilesCommand::Cancel),
        "close" => files(FilesAction::Close),
        "open-all" => show(state, id, View { all: true, ..View::default() }),
        "close-all" => show(state, id, View::default()),
        "toggle" => {
            let mut view = listing.view.clone();
            if view.all {
                // Closing one folder of "open all" keeps the others open.
                view.open = listing.rows.iter().filter(|r| r.open).map(|r| r.path.clone()).collect();
            }
            let path = attr("data-path");
            let before = view.open.len();
            view.open.retain(|p| *p != path);
            if view.open.len() == before {
                view.open.push(path);
            }
            view.all = false;
            show(state, id, view);
        }
        "view" => {
            files(FilesAction::Reading(attr("data-path")));
            send(state, id, FilesCommand::Read { path: attr("data-path") });
        }
        "save" => {
            files(FilesAction::Saving(attr("data-path")));
            send(state, id, FilesCommand::Save { path: attr("data-path") });
        }
        "changes" => {
            if let Some(layer) = attr("data-layer").parse::<usize>().ok().and_then(|n| n.checked_sub(1)) {
                send(state, id, FilesCommand::Changes { layer });
            }
        }
        "close-viewer" => files(FilesAction::CloseViewer),
        _ => {}
    }
}

/// The open listing, shown under the layers of the image it belongs to.
#[component]
pub fn FilesPanel() -> Html {
    let state = use_app_state();
    let heading = use_node_ref();
    let viewer = use_node_ref();
    let listing = state.files.listing.clone().filter(|l| l.run == state.run);
    let id = listing.as_ref().map(|l| l.id);
    {
        let heading = heading.clone();
        let state = state.clone();
        use_effect_with(id, move |id| {
            if let Some(h) = heading.cast::<HtmlElement>() {
                let _ = h.focus();
            }
            // Whatever replaces or closes this listing, the worker forgets it.
            let id = *id;
            move || {
                if let Some(id) = id {
                    send(&state, id, FilesCommand::Close);
                }
            }
        });
    }
    {
        let viewer = viewer.clone();
        let shown = listing.as_ref().and_then(|l| l.viewer.as_ref()).map(|v| v.path.clone());
        use_effect_with(shown, move |_| {
            if let Some(v) = viewer.cast::<HtmlElement>() {
                let _ = v.focus();
            }
        });
    }
    let Some(listing) = listing else {
        return html! {};
    };
    let on_click = {
        let (state, listing) = (state.clone(), listing.clone());
        Callback::from(move |e: MouseEvent| clicked(&state, &listing, e))
    };
    let on_search = {
        let (state, id, view) = (state.clone(), listing.id, listing.view.clone());
        Callback::from(move |e: InputEvent| show(&state, id, View { search: e.target_unchecked_into::<HtmlInputElement>().value(), ..view.clone() }))
    };
    let title = match listing.layer {
        Some(i) => format!("Files of layer {}", i + 1),
        None => "Filesystem: all layers merged".to_string(),
    };
    let worker_problem = state.pulls.problem.as_ref().filter(|p| p.kind == "worker" && listing.phase == Phase::Running).map(|p| ("worker".to_string(), p.message.clone()));
    let shown = listing.rows.len();
    html! {
        <section class="card files" aria-labelledby="files-title" data-testid="files-view" data-state={listing.phase.as_attr()}
            data-layer={listing.layer.map(|l| (l + 1).to_string())} data-source={listing.source.clone()}
            data-done-bytes={listing.done.to_string()} data-total-bytes={listing.total.to_string()} data-entries={listing.entries.to_string()}
            data-rows={listing.row_total.to_string()} onclick={on_click}>
            <div class="card-head">
                <h2 id="files-title" tabindex="-1" ref={heading}>{ title }</h2>
                if listing.phase == Phase::Running {
                    { op("cancel", "Stop".into(), "files-cancel") }
                }
                { op("close", "Close".into(), "files-close") }
            </div>
            <p class="files-progress">
                <progress max={listing.total.max(1).to_string()} value={listing.done.to_string()} aria-label="Blob bytes read"></progress>
                { format!(" {} of {} · {} entries · ", human_size(listing.done), human_size(listing.total), listing.entries) }
                <span role="status">{ phase_words(&listing) }</span>
            </p>
            if let Some((kind, message)) = listing.problem.clone().or(worker_problem) {
                <p class={if kind == "cancelled" { "notice" } else { "error" }} role="alert" data-testid="files-error" data-kind={kind.clone()}>{ message }</p>
            }
            if let Some(summary) = &listing.summary {
                { summary_view(summary) }
            }
            if let Some(changes) = &listing.changes {
                { changes_view(changes) }
            }
            if let Some(v) = &listing.viewer {
                { viewer_view(v, viewer) }
            }
            if let Some(s) = &listing.saving {
                { saving_view(s) }
            }
            <div class="files-tools">
                <input type="search" data-testid="file-search" aria-label="Search paths (substring)" placeholder="Search paths, e.g. bin/ or .conf"
                    value={listing.view.search.clone()} oninput={on_search} />
                { op("open-all", "Open all".into(), "files-open-all") }
                { op("close-all", "Close all".into(), "files-close-all") }
            </div>
            <div class="table-wrap">
                <table class="layers file-table">
                    { head(FILE_COLUMNS) }
                    <tbody>{ for listing.rows.iter().map(row_view) }</tbody>
                </table>
            </div>
            <p class="muted small" data-testid="files-more">
                { match (listing.row_total > shown, shown) {
                    (true, _) => format!("Showing the first {shown} of {} rows: search, or close folders, to see the others.", listing.row_total),
                    (false, 0) if listing.phase != Phase::Running => "Nothing to show.".to_string(),
                    _ => String::new(),
                } }
            </p>
        </section>
    }
}
