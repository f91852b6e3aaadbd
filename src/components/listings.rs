use super::{use_app_state, Annotations};
use crate::format::exact_bytes;
use crate::route::{format_hash, Route};
use crate::state::{Action, Listing, TagList};
use imagescope_core::client::ReferrersSource;
use yew::prelude::*;

/// The repository's tags, a page at a time; each opens an inspection of that tag.
#[component]
pub fn TagsCard() -> Html {
    let state = use_app_state();
    let Some(inspected) = state.inspected() else {
        return html! {};
    };
    let reference = &inspected.inspection.reference;
    let name = reference.name();
    let load = {
        let dispatcher = state.dispatcher();
        Callback::from(move |_| dispatcher.dispatch(Action::LoadTags))
    };
    let more = {
        let dispatcher = state.dispatcher();
        Callback::from(move |_| dispatcher.dispatch(Action::MoreTags))
    };
    let body = match &state.tags {
        Listing::Idle => {
            html! { <button type="button" onclick={load} data-testid="tags-button">{ "List tags" }</button> }
        }
        Listing::Loading => html! { <p class="muted" role="status">{ "Listing tags…" }</p> },
        Listing::Failed(message) => {
            html! { <p class="inline-error" role="alert">{ message.clone() }</p> }
        }
        Listing::Loaded(TagList {
            tags,
            next,
            loading_more,
        }) => html! {
            <>
                <p class="muted">{ format!("{} tags{}", tags.len(), if next.is_some() { " so far" } else { "" }) }</p>
                <ul class="tags" data-testid="tag-list">
                    { for tags.iter().map(|tag| {
                        let href = format_hash(&Route { reference: format!("{name}:{tag}"), platform: None });
                        html! { <li><a href={href} data-testid="tag">{ tag.clone() }</a></li> }
                    }) }
                </ul>
                if next.is_some() {
                    <button type="button" onclick={more} disabled={*loading_more} data-testid="more-tags">
                        { if *loading_more { "Loading…" } else { "More tags" } }
                    </button>
                }
            </>
        },
    };
    html! {
        <section class="card" aria-labelledby="tags-title">
            <h2 id="tags-title">{ "Tags" }</h2>
            { body }
        </section>
    }
}

/// Signatures, SBOMs and attestations that point at this image.
#[component]
pub fn ReferrersCard() -> Html {
    let state = use_app_state();
    let Some(inspected) = state.inspected() else {
        return html! {};
    };
    let load = {
        let dispatcher = state.dispatcher();
        Callback::from(move |_| dispatcher.dispatch(Action::LoadReferrers))
    };
    let subject = inspected.inspection.top.digest.to_string();
    let body = match &state.referrers {
        Listing::Idle => {
            html! { <button type="button" onclick={load} data-testid="referrers-button">{ "Find referrers" }</button> }
        }
        Listing::Loading => {
            html! { <p class="muted" role="status">{ "Looking for referrers…" }</p> }
        }
        Listing::Failed(message) => {
            html! { <p class="inline-error" role="alert">{ message.clone() }</p> }
        }
        Listing::Loaded(found) => {
            let how = match found.source {
                ReferrersSource::Api => "found with the referrers API",
                ReferrersSource::TagSchema => {
                    "found with the tag-schema fallback (the registry has no referrers API)"
                }
                ReferrersSource::None => {
                    "none found, neither with the referrers API nor with the tag-schema fallback"
                }
            };
            html! {
                <>
                    <p class="muted">{ format!("{} referrer(s) of {subject}: {how}", found.descriptors.len()) }</p>
                    <ul class="referrers" data-testid="referrer-list">
                        { for found.descriptors.iter().map(|d| html! {
                            <li data-testid="referrer" data-digest={d.digest.to_string()}>
                                <code>{ d.artifact_type.clone().unwrap_or_else(|| d.media_type.clone()) }</code>
                                <code class="digest small">{ d.digest.to_string() }</code>
                                <span class="muted small">{ exact_bytes(d.size) }</span>
                                <Annotations map={d.annotations.clone()} />
                            </li>
                        }) }
                    </ul>
                </>
            }
        }
    };
    html! {
        <section class="card" aria-labelledby="referrers-title">
            <h2 id="referrers-title">{ "Referrers" }</h2>
            { body }
        </section>
    }
}
