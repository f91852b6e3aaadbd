use super::Annotations;
use crate::state::Inspected;
use imagescope_core::status::human_size;
use std::collections::BTreeMap;
use std::rc::Rc;
use yew::prelude::*;

/// Config and history read straight from the inspection: no copies of registry documents.
#[derive(Properties, PartialEq)]
pub struct InspectedProps {
    pub inspected: Rc<Inspected>,
}

fn list(values: &[String]) -> Html {
    html! { <ul class="plain mono">{ for values.iter().map(|v| html! { <li>{ v.clone() }</li> }) }</ul> }
}

fn keys(map: &BTreeMap<String, serde_json::Value>) -> Vec<String> {
    map.keys().cloned().collect()
}

/// Docker's exec form, the way a Dockerfile would spell it.
fn exec_form(values: &[String]) -> String {
    serde_json::to_string(values).unwrap_or_default()
}

/// The image config: what a container started from this image gets.
#[component]
pub fn ConfigCard(props: &InspectedProps) -> Html {
    let Some(c) = props
        .inspected
        .inspection
        .config
        .as_ref()
        .map(|c| &c.parsed)
    else {
        return html! {};
    };
    let default_runtime = Default::default();
    let runtime = c.config.as_ref().unwrap_or(&default_runtime);
    let platform = match c.variant.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{}/{}/{v}", c.os, c.architecture),
        None => format!("{}/{}", c.os, c.architecture),
    };
    let row = |label: &'static str, value: Option<Html>| match value {
        Some(v) => html! { <><dt>{ label }</dt><dd>{ v }</dd></> },
        None => html! {},
    };
    let text = |v: Option<String>| {
        v.filter(|s| !s.is_empty())
            .map(|s| html! { <code>{ s }</code> })
    };
    html! {
        <section class="card" aria-labelledby="config-title">
            <h2 id="config-title">{ "Config" }</h2>
            <dl class="kv">
                <dt>{ "Platform" }</dt><dd><code data-testid="config-platform">{ platform }</code></dd>
                { row("OS version", text(c.os_version.clone())) }
                { row("Created", text(c.created.clone())) }
                { row("Author", text(c.author.clone())) }
                { row("User", text(runtime.user.clone())) }
                { row("Working dir", text(runtime.working_dir.clone())) }
                { row("Entrypoint", runtime.entrypoint.as_deref().map(|v| html! { <code>{ exec_form(v) }</code> })) }
                { row("Cmd", runtime.cmd.as_deref().map(|v| html! { <code>{ exec_form(v) }</code> })) }
                { row("Env", runtime.env.as_deref().filter(|v| !v.is_empty()).map(list)) }
                { row("Exposed ports", runtime.exposed_ports.as_ref().filter(|m| !m.is_empty()).map(|m| list(&keys(m)))) }
                { row("Volumes", runtime.volumes.as_ref().filter(|m| !m.is_empty()).map(|m| list(&keys(m)))) }
                { row("Stop signal", text(runtime.stop_signal.clone())) }
            </dl>
            <Annotations map={runtime.labels.clone().unwrap_or_default()} title="Labels" />
        </section>
    }
}

/// The build history as Dockerfile-like lines; steps that made no layer are marked.
#[component]
pub fn HistoryCard(props: &InspectedProps) -> Html {
    let inspection = &props.inspected.inspection;
    let history = inspection
        .config
        .as_ref()
        .map_or(&[][..], |c| &c.parsed.history[..]);
    if history.is_empty() {
        return html! {};
    }
    let mut layers = inspection
        .image_manifest()
        .map_or(&[][..], |m| &m.layers[..])
        .iter();
    html! {
        <section class="card" aria-labelledby="history-title">
            <h2 id="history-title">{ "History" }</h2>
            <ol class="history">
                { for history.iter().map(|h| {
                    let layer = if h.empty_layer { None } else { layers.next() };
                    html! {
                        <li class={classes!("history-step", h.empty_layer.then_some("empty"))} data-testid="history-step">
                            <code class="instruction">{ h.dockerfile_line() }</code>
                            <span class="history-meta">
                                if h.empty_layer {
                                    <span class="badge">{ "empty layer" }</span>
                                } else if let Some(layer) = layer {
                                    <span class="badge accent" title={layer.digest.to_string()}>{ format!("{} · {}", layer.digest.short(), human_size(layer.size)) }</span>
                                }
                                if let Some(created) = &h.created {
                                    <span class="muted small">{ created.clone() }</span>
                                }
                                if let Some(comment) = h.comment.as_ref().filter(|c| !c.is_empty()) {
                                    <span class="muted small">{ comment.clone() }</span>
                                }
                            </span>
                        </li>
                    }
                }) }
            </ol>
        </section>
    }
}
