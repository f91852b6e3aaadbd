use super::CopyButton;
use crate::format::indent_json;
use yew::prelude::*;

#[derive(Clone, PartialEq)]
pub struct RawDocument {
    pub title: AttrValue,
    pub text: AttrValue,
}

#[derive(Properties, PartialEq)]
pub struct RawProps {
    pub documents: Vec<RawDocument>,
}

/// The exact JSON documents the registry sent; copying gives the bytes the digests are over.
#[component]
pub fn RawJson(props: &RawProps) -> Html {
    html! {
        <section class="card" aria-labelledby="raw-title">
            <h2 id="raw-title">{ "Raw JSON" }</h2>
            { for props.documents.iter().map(|doc| html! {
                <details class="raw">
                    <summary>{ doc.title.clone() }</summary>
                    <div class="raw-actions"><CopyButton text={doc.text.clone()} what={doc.title.clone()} /></div>
                    <pre tabindex="0"><code>{ indent_json(&doc.text) }</code></pre>
                </details>
            }) }
        </section>
    }
}
