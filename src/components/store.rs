//! The stored images: ListImages with a filter, ImageStatus, RemoveImage, export, storage use
//! and the self-check. Opening it starts the store worker.

use super::use_app_state;
use crate::pull_state::{PullState, Saved, StoreAction};
use crate::state::Action;
use crate::worker::protocol::Command;
use crate::worker_client;
use imagescope_core::export::archive_name;
use imagescope_core::status::{human_size, Image};
use web_sys::HtmlInputElement;
use yew::prelude::*;

fn status_view(pulls: &PullState) -> Html {
    let Some((selector, image)) = &pulls.status else {
        return html! {};
    };
    match image {
        Some(image) => html! {
            <div data-testid="store-status" data-present="true" data-id={image.id.clone()} data-bytes={image.size.to_string()}>
                <p>{ format!("ImageStatus of {selector}:") }</p>
                <dl class="kv">
                    <dt>{ "id" }</dt><dd><code>{ image.id.clone() }</code></dd>
                    <dt>{ "repo_tags" }</dt><dd>{ for image.repo_tags.iter().map(|t| html! { <div><code>{ t.clone() }</code></div> }) }</dd>
                    <dt>{ "repo_digests" }</dt><dd>{ for image.repo_digests.iter().map(|d| html! { <div><code class="digest">{ d.clone() }</code></div> }) }</dd>
                    <dt>{ "size" }</dt><dd>{ format!("{} ({} bytes)", image.human_size(), image.size) }</dd>
                </dl>
            </div>
        },
        None => html! {
            <p data-testid="store-status" data-present="false">{ format!("{selector}: not present (ImageStatus returns an empty image)") }</p>
        },
    }
}

fn fsck_view(pulls: &PullState) -> Html {
    if pulls.fsck_running {
        return html! { <p class="muted">{ "Re-hashing every stored blob…" }</p> };
    }
    let Some(report) = &pulls.fsck else {
        return html! {};
    };
    html! {
        <div data-testid="fsck-result" data-checked={report.checked.to_string()} data-corrupt={report.corrupt.len().to_string()} data-missing={report.missing.len().to_string()}>
            <p>{ format!("Self-check: {} blobs ({}) re-hashed; {} damaged, {} missing, {} unreferenced.",
                report.checked, human_size(report.bytes), report.corrupt.len(), report.missing.len(), report.unreferenced.len()) }</p>
            <ul class="plain">
                { for report.corrupt.iter().map(|c| html! { <li data-testid="fsck-corrupt"><code>{ c.digest.clone() }</code>{ " hashes to " }<code>{ c.actual.clone() }</code></li> }) }
            </ul>
        </div>
    }
}

fn export_view(pulls: &PullState) -> Html {
    let Some(export) = &pulls.export else {
        return html! {};
    };
    let (state, body) = match (&export.problem, &export.saved, &export.name) {
        (Some(problem), _, _) => ("failed", html! { <span class="error">{ problem.clone() }</span> }),
        (None, Some(Saved::Download(url)), Some(name)) => (
            "ready",
            html! { <a data-testid="export-link" href={url.clone()} download={name.clone()}>{ format!("{name} ({})", human_size(export.bytes)) }</a> },
        ),
        (None, Some(Saved::File(chosen)), _) => ("saved", html! { { format!("Saved to {chosen} ({}).", human_size(export.bytes)) } }),
        _ => ("running", html! { { format!("Exporting {}…", export.selector) } }),
    };
    html! { <p data-testid="export-status" data-state={state}>{ body }</p> }
}

#[component]
fn ImageRow(props: &RowProps) -> Html {
    let state = use_app_state();
    let image = &props.image;
    let command = |make: fn(u64, String) -> Command| {
        let dispatch = state.dispatcher();
        let id = image.id.clone();
        Callback::from(move |_: MouseEvent| {
            worker_client::send(&dispatch, |n| make(n, id.clone()));
        })
    };
    let on_status = command(|id, selector| Command::Status { id, selector });
    let on_remove = command(|id, selector| Command::Remove { id, selector });
    let on_export = {
        let dispatch = state.dispatcher();
        let (id, name) = (image.id.clone(), archive_name(&image.repo_tags, &image.id));
        Callback::from(move |_: MouseEvent| worker_client::export(&dispatch, id.clone(), &name))
    };
    html! {
        <tr data-testid="stored-image-row" data-id={image.id.clone()} data-bytes={image.size.to_string()}>
            <td><code title={image.id.clone()}>{ image.short_id().to_string() }</code></td>
            <td>{ for image.repo_tags.iter().map(|t| html! { <div><code>{ t.clone() }</code></div> }) }</td>
            <td>{ for image.repo_digests.iter().map(|d| html! { <div><code class="digest">{ d.clone() }</code></div> }) }</td>
            <td>{ image.human_size() }</td>
            <td>
                <button type="button" data-testid="row-status-button" onclick={on_status}>{ "Status" }</button>
                <button type="button" data-testid="export-button" onclick={on_export}>{ "Save .tar" }</button>
                <button type="button" data-testid="remove-button" onclick={on_remove}>{ "Remove" }</button>
            </td>
        </tr>
    }
}

#[derive(Properties, PartialEq)]
struct RowProps {
    image: Image,
}

#[component]
pub fn StorePanel() -> Html {
    let state = use_app_state();
    let pulls = &state.pulls;
    {
        let dispatch = state.dispatcher();
        let filter = pulls.filter.clone();
        use_effect_with((pulls.open, pulls.generation, filter), move |(open, _, filter)| {
            if *open {
                let filter = Some(filter.clone()).filter(|f| !f.trim().is_empty());
                worker_client::send(&dispatch, |id| Command::List { id, filter });
                worker_client::send(&dispatch, |id| Command::Estimate { id });
            }
        });
    }
    let dispatcher = state.dispatcher();
    let on_toggle = {
        let d = dispatcher.clone();
        let open = pulls.open;
        Callback::from(move |_| d.dispatch(Action::Store(StoreAction::SetOpen(!open))))
    };
    let on_filter = {
        let d = dispatcher.clone();
        Callback::from(move |e: InputEvent| d.dispatch(Action::Store(StoreAction::SetFilter(e.target_unchecked_into::<HtmlInputElement>().value()))))
    };
    let status_input = use_node_ref();
    let on_status = {
        let d = dispatcher.clone();
        let input = status_input.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let selector = input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            if !selector.trim().is_empty() {
                worker_client::send(&d, |id| Command::Status { id, selector: selector.trim().to_string() });
            }
        })
    };
    let on_fsck = {
        let d = dispatcher;
        Callback::from(move |_| {
            d.dispatch(Action::Store(StoreAction::FsckStarted));
            worker_client::send(&d, |id| Command::Fsck { id });
        })
    };
    html! {
        <section class="card store" aria-labelledby="store-title" data-testid="store-panel" data-open={pulls.open.to_string()}>
            <div class="card-head">
                <h2 id="store-title">{ "Stored images" }</h2>
                <button type="button" data-testid="store-toggle" aria-expanded={pulls.open.to_string()} onclick={on_toggle}>
                    { if pulls.open { "Hide" } else { "Show" } }
                </button>
            </div>
            if pulls.open {
                if let Some((usage, quota, persisted)) = pulls.estimate {
                    <p class="muted small" data-testid="storage-estimate" data-usage={usage.to_string()} data-quota={quota.to_string()} data-persisted={persisted.to_string()}>
                        { format!("Storage used {} of {} the browser reports{}", human_size(usage), human_size(quota), if persisted { " (persistent)" } else { " (may be evicted under pressure)" }) }
                    </p>
                }
                <p>
                    <input type="search" placeholder="filter: name, name:tag, name@digest or id" data-testid="store-filter"
                        value={pulls.filter.clone()} oninput={on_filter} />
                </p>
                if let Some(images) = &pulls.images {
                    if images.is_empty() {
                        <p class="muted" data-testid="store-empty">{ "No stored images." }</p>
                    } else {
                        <div class="table-wrap">
                            <table class="layers stored-images" data-testid="stored-images">
                                <thead><tr><th>{ "IMAGE ID" }</th><th>{ "repo_tags" }</th><th>{ "repo_digests" }</th><th>{ "size" }</th><th></th></tr></thead>
                                <tbody>{ for images.iter().map(|i| html! { <ImageRow key={i.id.clone()} image={i.clone()} /> }) }</tbody>
                            </table>
                        </div>
                    }
                }
                { export_view(pulls) }
                <form class="store-status-form" onsubmit={on_status}>
                    <input type="text" ref={status_input} placeholder="ImageStatus of a reference or id" data-testid="status-input" />
                    <button type="submit" data-testid="status-button">{ "ImageStatus" }</button>
                </form>
                { status_view(pulls) }
                <p><button type="button" data-testid="fsck-button" onclick={on_fsck}>{ "Self-check (re-hash every blob)" }</button></p>
                { fsck_view(pulls) }
                if let Some(problem) = &pulls.problem {
                    <p class="error" role="alert" data-testid="store-error" data-kind={problem.kind.clone()}>{ problem.message.clone() }</p>
                }
            }
        </section>
    }
}
