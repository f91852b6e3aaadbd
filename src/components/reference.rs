use super::use_app_state;
use crate::state::Action;
use imagescope_core::reference::Reference;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The reference box, its live reading, and the Inspect button.
#[component]
pub fn ReferenceForm() -> Html {
    let state = use_app_state();
    let oninput = {
        let dispatcher = state.dispatcher();
        Callback::from(move |e: InputEvent| {
            dispatcher.dispatch(Action::SetInput(
                e.target_unchecked_into::<HtmlInputElement>().value(),
            ))
        })
    };
    let onsubmit = {
        let dispatcher = state.dispatcher();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            dispatcher.dispatch(Action::InspectInput);
        })
    };
    let running = state.running();
    html! {
        <form class="card reference-form" {onsubmit} role="search">
            <label for="ref-input" class="field-label">{ "Image reference" }</label>
            <div class="ref-row">
                <input id="ref-input" data-testid="ref-input" type="text" inputmode="url" autocomplete="off"
                    autocapitalize="off" spellcheck="false" placeholder="alpine, registry.example.com:5000/team/app:v1, ubuntu@sha256:…"
                    value={state.input.clone()} {oninput} aria-describedby="ref-preview" />
                <button type="submit" class="primary" data-testid="inspect-button" disabled={running || state.input.trim().is_empty()}>
                    { if running { "Inspecting…" } else { "Inspect" } }
                </button>
            </div>
            <ReferencePreview input={state.input.clone()} />
        </form>
    }
}

#[derive(Properties, PartialEq)]
pub struct PreviewProps {
    pub input: AttrValue,
}

/// How the typed text reads as a reference, as docker and kubelet would normalise it.
#[component]
pub fn ReferencePreview(props: &PreviewProps) -> Html {
    let input = props.input.trim();
    if input.is_empty() {
        return html! { <div id="ref-preview" class="preview muted">{ "Type a reference: the name is normalised as you type." }</div> };
    }
    match Reference::parse(input) {
        Ok(r) => html! {
            <div id="ref-preview" class="preview" aria-live="polite">
                <div class="canonical"><span class="label">{ "Resolves to" }</span>
                    <code data-testid="canonical-ref">{ r.canonical() }</code></div>
                <dl class="kv compact">
                    <dt>{ "Registry" }</dt><dd><code>{ r.domain().to_string() }</code></dd>
                    <dt>{ "Repository" }</dt><dd><code>{ r.path().to_string() }</code></dd>
                    if let Some(tag) = r.tag() {
                        <dt>{ "Tag" }</dt><dd><code>{ tag.to_string() }</code></dd>
                    }
                    if let Some(digest) = r.digest() {
                        <dt>{ "Digest" }</dt><dd><code class="digest">{ digest.to_string() }</code></dd>
                    }
                </dl>
                if r.default_tag_applied() {
                    <p class="note" data-testid="default-tag">{ "Using default tag: latest" }</p>
                }
            </div>
        },
        Err(e) => html! {
            <div id="ref-preview" class="preview invalid" role="alert" data-testid="ref-error">{ e.to_string() }</div>
        },
    }
}
