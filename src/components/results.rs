use super::{
    open_files, use_app_state, ConfigCard, ErrorView, FilesPanel, HistoryCard, LayerTable,
    ManifestCard, PlatformList, RawDocument, RawJson, ReferrersCard, StatusCard, TagsCard,
};
use crate::state::{Action, Inspected, Outcome};
use imagescope_core::manifest::Manifest;
use std::rc::Rc;
use yew::prelude::*;

/// Whatever the last inspection produced.
#[component]
pub fn Results() -> Html {
    let state = use_app_state();
    match &state.outcome {
        Outcome::Idle => html! {
            <section class="card empty-state">
                <h2>{ "Nothing inspected yet" }</h2>
                <p>{ "Type an image reference above and press Inspect. Private images need credentials; pasted config.json files and Kubernetes Secrets are matched the way docker and kubelet match them." }</p>
            </section>
        },
        Outcome::Running => html! {
            <section class="card loading" role="status" aria-live="polite" data-testid="inspecting">
                <span class="spinner" aria-hidden="true"></span>{ " Resolving the image…" }
            </section>
        },
        Outcome::Absent { canonical, detail } => html! {
            <section class="card absent" role="status" data-testid="image-absent">
                <h2>{ "Image not present" }</h2>
                <p>{ format!("{canonical} is not on the registry: ImageStatus would return an empty image, and a pull would fail with \"not found\".") }</p>
                <p class="detail mono">{ detail.clone() }</p>
            </section>
        },
        Outcome::Failed(failure) => html! { <ErrorView failure={failure.clone()} /> },
        Outcome::Done(inspected) => html! { <InspectedView inspected={inspected.clone()} /> },
    }
}

#[derive(Properties, PartialEq)]
struct InspectedProps {
    inspected: Rc<Inspected>,
}

fn raw_documents(inspected: &Inspected) -> Vec<RawDocument> {
    let i = &inspected.inspection;
    let text = |bytes: &[u8]| AttrValue::from(String::from_utf8_lossy(bytes).into_owned());
    let mut docs = vec![RawDocument {
        title: if i.index().is_some() {
            "Index".into()
        } else {
            "Manifest".into()
        },
        text: text(&i.top.raw),
    }];
    if let Some(p) = &i.platform_manifest {
        docs.push(RawDocument {
            title: "Platform manifest".into(),
            text: text(&p.raw),
        });
    }
    if let Some(c) = &i.config {
        docs.push(RawDocument {
            title: "Config".into(),
            text: text(&c.raw),
        });
    }
    docs
}

#[component]
fn InspectedView(props: &InspectedProps) -> Html {
    let state = use_app_state();
    let inspected = &props.inspected;
    let i = &inspected.inspection;
    let on_choose = {
        let dispatcher = state.dispatcher();
        Callback::from(move |platform: String| {
            dispatcher.dispatch(Action::ChoosePlatform(platform))
        })
    };
    let on_browse = {
        let state = state.clone();
        let inspected = inspected.clone();
        Callback::from(move |layer: Option<usize>| open_files(&state, &inspected, layer))
    };
    let manifest = i.image_manifest();
    let diff_ids = i
        .config
        .as_ref()
        .and_then(|c| c.parsed.rootfs.as_ref())
        .map(|r| r.diff_ids.clone())
        .unwrap_or_default();
    let schema1_layers = match &i.top.manifest {
        Manifest::Schema1 { manifest, .. } => manifest.layers_oldest_first(),
        _ => vec![],
    };
    html! {
        <div class="results" data-testid="results">
            if inspected.via_proxy {
                <p class="notice" role="status" data-testid="proxy-notice">
                    { format!("The browser could not reach {} directly (no CORS access), so this went through imagescope serve's proxy.", i.reference.domain()) }
                </p>
            }
            if let Some(note) = &inspected.credential_note {
                <p class="notice" data-testid="credential-note">{ format!("Credentials: {note}") }</p>
            }
            <div class="grid-2">
                if let Some(image) = &i.image {
                    <StatusCard image={image.clone()} />
                }
                <ManifestCard inspected={inspected.clone()} />
            </div>
            if let Some(index) = i.index() {
                <PlatformList entries={index.manifests.clone()} chosen={i.chosen.as_ref().map(|c| c.digest.clone())} onchoose={on_choose} />
            }
            if let Some(m) = manifest {
                <LayerTable layers={m.layers.clone()} diff_ids={diff_ids} onbrowse={(!m.is_artifact()).then_some(on_browse)} />
                <FilesPanel />
            }
            if !schema1_layers.is_empty() {
                <section class="card">
                    <h2>{ "Layers (schema 1)" }</h2>
                    <ul class="plain">{ for schema1_layers.iter().map(|d| html! { <li><code class="digest">{ d.to_string() }</code></li> }) }</ul>
                </section>
            }
            if manifest.is_some_and(|m| !m.is_artifact()) {
                <ConfigCard inspected={inspected.clone()} />
                <HistoryCard inspected={inspected.clone()} />
            }
            <div class="grid-2">
                <TagsCard />
                <ReferrersCard />
            </div>
            <RawJson documents={raw_documents(inspected)} />
        </div>
    }
}
