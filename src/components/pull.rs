//! PullImage on the image being shown: options, the pull button, per-layer and overall
//! progress, Cancel, and what went wrong.

use super::use_app_state;
use crate::fetch::page_origin;
use crate::opfs;
use crate::pull_state::{ActivePull, LayerProgress, Phase, StoreAction};
use crate::state::Action;
use crate::worker::protocol::{Command, PullRequest, WireCredential};
use crate::worker_client;
use imagescope_core::status::human_size;
use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;

/// Above this the browser is asked to keep the origin's storage (`persist()`) before pulling.
const LARGE_PULL: u64 = 64 * 1024 * 1024;

fn rate(bytes: u64, millis: f64) -> String {
    if millis <= 0.0 {
        return String::new();
    }
    format!("{}/s", human_size((bytes as f64 * 1000.0 / millis) as u64))
}

fn layer_row(layer: &LayerProgress, now_ms: f64) -> Html {
    let short = layer.digest.trim_start_matches("sha256:").chars().take(12).collect::<String>();
    let active = matches!(layer.status.as_str(), "downloading" | "progress" | "retrying");
    let speed = if active { rate(layer.done.saturating_sub(layer.resumed_from), now_ms - layer.started_ms) } else { String::new() };
    html! {
        <li class="pull-layer" data-testid="pull-layer" data-digest={layer.digest.clone()} data-status={layer.status.clone()}
            data-done-bytes={layer.done.to_string()}>
            <code>{ short }</code>
            <progress max={layer.size.max(1).to_string()} value={layer.done.to_string()}></progress>
            <span class="small">{ format!("{} / {} {} {}", human_size(layer.done), human_size(layer.size), layer.status.replace('_', " "), speed) }</span>
        </li>
    }
}

fn progress(pull: &ActivePull, cancel: Callback<MouseEvent>) -> Html {
    let now = pull.finished_ms.unwrap_or_else(js_sys::Date::now);
    let elapsed = now - pull.started_ms;
    html! {
        <div data-testid="pull-progress" data-state={pull.phase.as_attr()} data-pull-id={pull.id.to_string()}
            data-done-bytes={pull.done.to_string()} data-total-bytes={pull.total.to_string()} data-millis={(elapsed as u64).to_string()}>
            <p>
                <code>{ pull.reference.clone() }</code>{ " " }
                <progress max={pull.total.max(1).to_string()} value={pull.done.to_string()}></progress>
                { format!(" {} of {} {}", human_size(pull.done), human_size(pull.total), rate(pull.done, elapsed)) }
                if pull.phase == Phase::Running {
                    <button type="button" data-testid="pull-cancel" onclick={cancel}>{ "Cancel" }</button>
                }
            </p>
            <ul class="plain">{ for pull.layers.iter().map(|l| layer_row(l, now)) }</ul>
            if let Some(problem) = &pull.problem {
                <p class="error" role="alert" data-testid="pull-error" data-kind={problem.kind.clone()} data-code={problem.code.clone().unwrap_or_default()}>
                    { problem.message.clone() }
                </p>
            }
        </div>
    }
}

/// The pull card, shown under an inspected image.
#[component]
pub fn PullPanel() -> Html {
    let state = use_app_state();
    let Some(inspected) = state.inspected().cloned() else {
        return html! {};
    };
    let Some(image) = inspected.inspection.image.clone() else {
        return html! {};
    };
    let pulls = &state.pulls;
    let on_pull = {
        let state = state.clone();
        Callback::from(move |_| {
            let reference = inspected.inspection.reference.clone();
            let typed = state.target.as_ref().map_or_else(|| reference.canonical(), |t| t.reference.clone());
            let platform = state.target.as_ref().and_then(|t| t.platform.clone());
            let request = PullRequest {
                reference: typed.clone(),
                platform,
                credential: WireCredential::from(&inspected.credential),
                proxy_origin: inspected.via_proxy.then(page_origin),
                jobs: state.pulls.jobs,
                all_platforms: state.pulls.all_platforms,
                verify_diff_ids: state.pulls.verify_diff_ids,
            };
            let dispatch = state.dispatcher();
            let large = image.size >= LARGE_PULL;
            spawn_local(async move {
                if large {
                    opfs::request_persist().await;
                }
                let id = worker_client::send(&dispatch, |id| Command::Pull { id, request });
                dispatch.dispatch(Action::Store(StoreAction::PullStarted { id, reference: typed, now_ms: js_sys::Date::now() }));
            });
        })
    };
    let on_cancel = {
        let state = state.clone();
        let id = pulls.pull.as_ref().map(|p| p.id);
        Callback::from(move |_| {
            if let Some(id) = id {
                worker_client::send(&state.dispatcher(), |_| Command::Cancel { id });
            }
        })
    };
    let dispatcher = state.dispatcher();
    let on_jobs = {
        let d = dispatcher.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlInputElement>().value();
            d.dispatch(Action::Store(StoreAction::SetJobs(value.parse().unwrap_or(3))));
        })
    };
    let on_all = {
        let d = dispatcher.clone();
        Callback::from(move |e: Event| d.dispatch(Action::Store(StoreAction::SetAllPlatforms(e.target_unchecked_into::<HtmlInputElement>().checked()))))
    };
    let on_verify = {
        let d = dispatcher;
        Callback::from(move |e: Event| d.dispatch(Action::Store(StoreAction::SetVerifyDiffIds(e.target_unchecked_into::<HtmlInputElement>().checked()))))
    };
    html! {
        <section class="card pull" aria-labelledby="pull-title">
            <div class="card-head">
                <h2 id="pull-title">{ "Pull" }</h2>
                <span class="muted small">{ format!("into this browser's storage ({})", human_size(image.size)) }</span>
            </div>
            <p class="pull-options">
                <label>{ "Layers in parallel " }
                    <input type="number" min="1" max="16" data-testid="pull-jobs" value={pulls.jobs.to_string()} onchange={on_jobs} />
                </label>
                <label><input type="checkbox" data-testid="pull-all-platforms" checked={pulls.all_platforms} onchange={on_all} />{ " all platforms" }</label>
                <label><input type="checkbox" data-testid="pull-verify-diff-ids" checked={pulls.verify_diff_ids} onchange={on_verify} />{ " verify diff_ids" }</label>
                <button type="button" class="primary" data-testid="pull-button" disabled={pulls.running()} onclick={on_pull}>{ "Pull" }</button>
            </p>
            if let Some(pull) = &pulls.pull {
                { progress(pull, on_cancel) }
            }
        </section>
    }
}
