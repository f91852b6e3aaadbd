//! PullImage on the image being shown: options, the pull button, per-layer and overall
//! progress, Cancel, and what went wrong.

use super::use_app_state;
use crate::fetch::page_origin;
use crate::opfs;
use crate::pull_state::{ActivePull, LayerProgress, Phase, StoreAction, TagPlan};
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
        <div data-testid="pull-progress" data-state={pull.phase.as_attr()} data-pull-id={pull.id.to_string()} data-stored={pull.stored.to_string()}
            data-done-bytes={pull.done.to_string()} data-total-bytes={pull.total.to_string()} data-millis={(elapsed as u64).to_string()}>
            <p>
                <code>{ pull.reference.clone() }</code>{ " " }
                <progress max={pull.total.max(1).to_string()} value={pull.done.to_string()}></progress>
                { format!(" {} of {} {}", human_size(pull.done), human_size(pull.total), rate(pull.done, elapsed)) }
                if pull.images > 1 {
                    { format!(" · {} of {} images stored", pull.stored, pull.images) }
                }
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

/// What an all-tags pull would store, for the person to confirm before anything is downloaded.
fn tag_plan(plan: &TagPlan, running: bool, confirm: Callback<MouseEvent>, dismiss: Callback<MouseEvent>) -> Html {
    let state = match (&plan.problem, &plan.tags) {
        (Some(_), _) => "failed",
        (None, Some(_)) => "ready",
        (None, None) => "planning",
    };
    html! {
        <div class="tag-plan" data-testid="tag-plan" data-state={state} data-count={plan.tags.as_ref().map_or(0, Vec::len).to_string()}
            data-total-bytes={plan.total.to_string()}>
            if let Some(problem) = &plan.problem {
                <p class="error" role="alert">{ format!("Could not list the tags of {}: {problem}", plan.repository) }</p>
            } else if let Some(tags) = &plan.tags {
                <p>
                    { format!("{} tags of {}: {} ({} bytes) counting each tag's image in full; layers the tags share are downloaded and stored once. ", tags.len(), plan.repository, human_size(plan.total), plan.total) }
                    if !tags.is_empty() {
                        <button type="button" class="primary" data-testid="pull-tags-confirm" disabled={running} onclick={confirm}>{ format!("Pull {} tags", tags.len()) }</button>
                    }
                </p>
                <ul class="plain small">
                    { for tags.iter().map(|t| html! { <li data-testid="planned-tag" data-tag={t.tag.clone()}><code>{ t.tag.clone() }</code>{ format!(" {}", human_size(t.size)) }</li> }) }
                    { for plan.skipped.iter().map(|(tag, why)| html! { <li class="muted" data-testid="skipped-tag" data-tag={tag.clone()}><code>{ tag.clone() }</code>{ format!(" skipped: {why}") }</li> }) }
                </ul>
            } else {
                <p class="muted">{ format!("Reading the tags of {} and the size of each…", plan.repository) }</p>
            }
            <button type="button" data-testid="tag-plan-dismiss" onclick={dismiss}>{ "Dismiss" }</button>
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
    let repository = inspected.inspection.reference.name();
    let request = {
        let state = state.clone();
        let credential = WireCredential::from(&inspected.credential);
        let proxy_origin = inspected.via_proxy.then(page_origin);
        move |reference: String, tags: Vec<String>| PullRequest {
            reference,
            platform: state.target.as_ref().and_then(|t| t.platform.clone()),
            credential: credential.clone(),
            proxy_origin: proxy_origin.clone(),
            jobs: state.pulls.jobs,
            all_platforms: state.pulls.all_platforms,
            verify_diff_ids: state.pulls.verify_diff_ids,
            tags,
        }
    };
    let start = {
        let dispatch = state.dispatcher();
        move |request: PullRequest, label: String, images: usize, size: u64| {
            let dispatch = dispatch.clone();
            spawn_local(async move {
                if size >= LARGE_PULL {
                    opfs::request_persist().await;
                }
                let id = worker_client::send(&dispatch, |id| Command::Pull { id, request });
                dispatch.dispatch(Action::Store(StoreAction::PullStarted { id, reference: label, now_ms: js_sys::Date::now(), images }));
            });
        }
    };
    let on_pull = {
        let (request, start) = (request.clone(), start.clone());
        let typed = state.target.as_ref().map_or_else(|| inspected.inspection.reference.canonical(), |t| t.reference.clone());
        Callback::from(move |_| start(request(typed.clone(), vec![]), typed.clone(), 1, image.size))
    };
    let on_plan = {
        let (dispatch, request, repository) = (state.dispatcher(), request.clone(), repository.clone());
        Callback::from(move |_| {
            let request = request(repository.clone(), vec![]);
            let id = worker_client::send(&dispatch, |id| Command::PlanTags { id, request });
            dispatch.dispatch(Action::Store(StoreAction::PlanStarted { id, repository: repository.clone() }));
        })
    };
    let on_pull_tags = {
        let plan = pulls.tag_plan.clone();
        Callback::from(move |_| {
            if let Some(TagPlan { repository, tags: Some(tags), total, .. }) = &plan {
                let label = format!("{repository} (all {} tags)", tags.len());
                start(request(repository.clone(), tags.iter().map(|t| t.tag.clone()).collect()), label, tags.len(), *total);
            }
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
    let dismiss = {
        let d = dispatcher.clone();
        Callback::from(move |_| d.dispatch(Action::Store(StoreAction::DismissPlan)))
    };
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
                <button type="button" data-testid="pull-all-tags" disabled={pulls.running()} onclick={on_plan}
                    title={format!("docker pull --all-tags {repository}")}>{ "All tags…" }</button>
            </p>
            if let Some(plan) = &pulls.tag_plan {
                { tag_plan(plan, pulls.running(), on_pull_tags, dismiss) }
            }
            if let Some(pull) = &pulls.pull {
                { progress(pull, on_cancel) }
            }
        </section>
    }
}
