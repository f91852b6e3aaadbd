use super::{Annotations, CopyButton};
use crate::format::exact_bytes;
use crate::state::Inspected;
use imagescope_core::manifest::{FetchedManifest, Manifest};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ManifestProps {
    pub inspected: Rc<Inspected>,
}

fn kind_of(manifest: &Manifest) -> &'static str {
    match manifest {
        Manifest::Index(_) => "Index (multi-platform)",
        Manifest::Image(m) if m.is_artifact() => "Artifact manifest",
        Manifest::Image(_) => "Image manifest",
        Manifest::Schema1 { signed: true, .. } => "Docker schema 1 (signed)",
        Manifest::Schema1 { .. } => "Docker schema 1",
    }
}

fn annotations_of(manifest: &Manifest) -> std::collections::BTreeMap<String, String> {
    match manifest {
        Manifest::Index(i) => i.annotations.clone(),
        Manifest::Image(m) => m.annotations.clone(),
        Manifest::Schema1 { .. } => Default::default(),
    }
}

/// What the reference names: media type, digest, size, annotations, and any warnings.
#[component]
pub fn ManifestCard(props: &ManifestProps) -> Html {
    let inspection = &props.inspected.inspection;
    let top = &inspection.top;
    let artifact_type = inspection
        .image_manifest()
        .and_then(|m| m.effective_artifact_type().map(str::to_string));
    html! {
        <section class="card" aria-labelledby="manifest-title">
            <h2 id="manifest-title">{ "Manifest" }</h2>
            if !inspection.warnings.is_empty() {
                <ul class="warnings" data-testid="warnings" role="status">
                    { for inspection.warnings.iter().map(|w| html! { <li>{ w.clone() }</li> }) }
                </ul>
            }
            <dl class="kv">
                <dt>{ "Kind" }</dt><dd>{ kind_of(&top.manifest) }</dd>
                <dt>{ "Media type" }</dt><dd><code data-testid="media-type">{ top.media_type.clone() }</code></dd>
                <dt>{ "Digest" }</dt>
                <dd><code class="digest" data-testid="manifest-digest">{ top.digest.to_string() }</code>
                    <CopyButton text={top.digest.to_string()} what="manifest digest" /></dd>
                <dt>{ "Size" }</dt><dd>{ exact_bytes(top.size) }</dd>
                if let Some(t) = artifact_type {
                    <dt>{ "Artifact type" }</dt><dd><code>{ t }</code></dd>
                }
            </dl>
            <Annotations map={annotations_of(&top.manifest)} />
            if let Some(platform_manifest) = &inspection.platform_manifest {
                { platform_manifest_view(platform_manifest) }
            }
        </section>
    }
}

fn platform_manifest_view(m: &FetchedManifest) -> Html {
    html! {
        <div class="sub">
            <h3>{ "Chosen platform manifest" }</h3>
            <dl class="kv">
                <dt>{ "Media type" }</dt><dd><code data-testid="platform-media-type">{ m.media_type.clone() }</code></dd>
                <dt>{ "Digest" }</dt><dd><code class="digest" data-testid="platform-manifest-digest">{ m.digest.to_string() }</code></dd>
                <dt>{ "Size" }</dt><dd>{ exact_bytes(m.size) }</dd>
            </dl>
            <Annotations map={annotations_of(&m.manifest)} />
        </div>
    }
}
