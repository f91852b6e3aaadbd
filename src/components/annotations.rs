use crate::format::safe_link;
use std::collections::BTreeMap;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct AnnotationsProps {
    pub map: BTreeMap<String, String>,
    #[prop_or(AttrValue::Static("Annotations"))]
    pub title: AttrValue,
}

/// Registry-supplied key/value pairs, always as text; a value becomes a link only if it is http(s).
#[component]
pub fn Annotations(props: &AnnotationsProps) -> Html {
    if props.map.is_empty() {
        return html! {};
    }
    html! {
        <div class="kv-block">
            <h4>{ props.title.clone() }</h4>
            <dl class="kv">
                { for props.map.iter().map(|(k, v)| html! {
                    <>
                        <dt>{ k.clone() }</dt>
                        <dd>{ value_view(v) }</dd>
                    </>
                }) }
            </dl>
        </div>
    }
}

pub fn value_view(value: &str) -> Html {
    match safe_link(value) {
        Some(href) => {
            html! { <a href={href.to_string()} rel="noopener noreferrer nofollow" target="_blank">{ value.to_string() }</a> }
        }
        None => html! { <span class="mono">{ value.to_string() }</span> },
    }
}
