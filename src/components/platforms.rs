use crate::format::exact_bytes;
use imagescope_core::digest::Digest;
use imagescope_core::manifest::{Descriptor, ANNOTATION_REFERENCE_DIGEST};
use imagescope_core::platform::Platform;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct PlatformListProps {
    pub entries: Vec<Descriptor>,
    /// The entry being shown.
    pub chosen: Option<Digest>,
    pub onchoose: Callback<String>,
}

fn platform_text(d: &Descriptor) -> String {
    d.platform.as_ref().map_or_else(
        || Platform::default_linux_amd64().to_string(),
        Platform::to_string,
    )
}

/// Every entry of an index; images switch with one click, attestations are marked and inert.
#[component]
pub fn PlatformList(props: &PlatformListProps) -> Html {
    html! {
        <section class="card" aria-labelledby="platforms-title">
            <h2 id="platforms-title">{ "Platforms" }</h2>
            <ul class="platforms">
                { for props.entries.iter().map(|entry| {
                    let platform = platform_text(entry);
                    let current = props.chosen.as_ref() == Some(&entry.digest);
                    let attestation = entry.is_attestation();
                    let onclick = {
                        let onchoose = props.onchoose.clone();
                        let platform = platform.clone();
                        Callback::from(move |_| onchoose.emit(platform.clone()))
                    };
                    let describes = entry.annotations.get(ANNOTATION_REFERENCE_DIGEST).cloned();
                    html! {
                        <li>
                            <button type="button" class={classes!("platform", current.then_some("current"), attestation.then_some("attestation"))}
                                data-testid="platform-option" data-platform={platform.clone()} data-digest={entry.digest.to_string()}
                                aria-pressed={if current { "true" } else { "false" }} disabled={attestation} {onclick}>
                                <span class="platform-name">{ platform }</span>
                                if attestation {
                                    <span class="badge">{ "attestation" }</span>
                                }
                                if current {
                                    <span class="badge accent">{ "shown" }</span>
                                }
                                <code class="digest small">{ entry.digest.to_string() }</code>
                                <span class="muted small">{ format!("{} · {}", exact_bytes(entry.size), entry.media_type) }</span>
                                if let Some(subject) = describes {
                                    <span class="muted small">{ format!("describes {subject}") }</span>
                                }
                            </button>
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}
