use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct CopyProps {
    pub text: AttrValue,
    /// What is copied, for the button's accessible name ("Copy manifest JSON").
    pub what: AttrValue,
}

/// Copies `text` to the clipboard and says so for a moment.
#[component]
pub fn CopyButton(props: &CopyProps) -> Html {
    let copied = use_state(|| false);
    let onclick = {
        let text = props.text.clone();
        let copied = copied.clone();
        Callback::from(move |_| {
            if let Some(window) = web_sys::window() {
                let _ = window.navigator().clipboard().write_text(&text);
                copied.set(true);
            }
        })
    };
    html! {
        <button type="button" class="copy" {onclick} aria-label={format!("Copy {}", props.what)}>
            { if *copied { "Copied" } else { "Copy" } }
        </button>
    }
}
