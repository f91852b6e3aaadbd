use super::CopyButton;
use crate::format::exact_bytes;
use imagescope_core::status::Image;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct StatusProps {
    pub image: Image,
}

/// The CRI ImageStatus, laid out like `crictl inspecti`.
#[component]
pub fn StatusCard(props: &StatusProps) -> Html {
    let image = &props.image;
    let user = match (&image.uid, image.username.as_str()) {
        (Some(uid), _) => Some(format!("uid {}", uid.value)),
        (None, "") => None,
        (None, name) => Some(name.to_string()),
    };
    html! {
        <section class="card status" aria-labelledby="status-title">
            <h2 id="status-title">{ "ImageStatus" }</h2>
            <dl class="kv status-grid">
                <dt>{ "IMAGE ID" }</dt>
                <dd data-testid="image-id" data-id={image.id.clone()}>
                    <code class="short-id">{ image.short_id().to_string() }</code>
                    <code class="digest full-id">{ image.id.clone() }</code>
                    <CopyButton text={image.id.clone()} what="image ID" />
                </dd>
                <dt>{ "repo_tags" }</dt>
                <dd>
                    <ul class="plain" data-testid="repo-tags">
                        { for image.repo_tags.iter().map(|t| html! { <li><code>{ t.clone() }</code></li> }) }
                    </ul>
                    if image.repo_tags.is_empty() {
                        <span class="muted">{ "none (pulled by digest)" }</span>
                    }
                </dd>
                <dt>{ "repo_digests" }</dt>
                <dd>
                    <ul class="plain" data-testid="repo-digests">
                        { for image.repo_digests.iter().map(|d| html! { <li><code class="digest">{ d.clone() }</code></li> }) }
                    </ul>
                </dd>
                <dt>{ "size" }</dt>
                <dd data-testid="image-size" data-bytes={image.size.to_string()}>
                    <strong>{ image.human_size() }</strong>
                    <span class="muted">{ format!(" ({})", exact_bytes(image.size)) }</span>
                </dd>
                if let Some(user) = user {
                    <dt>{ "user" }</dt>
                    <dd><code>{ user }</code></dd>
                }
            </dl>
            <p class="footnote">{ "Size is what containerd reports: the index, manifest, config and compressed layers together." }</p>
        </section>
    }
}
