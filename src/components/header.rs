use super::use_app_state;
use crate::hooks::effective_dark;
use crate::state::{Action, ProxyStatus, Theme};
use yew::prelude::*;

#[component]
pub fn Header() -> Html {
    let state = use_app_state();
    let dark = effective_dark(state.theme);
    let toggle = {
        let dispatcher = state.dispatcher();
        Callback::from(move |_| {
            dispatcher.dispatch(Action::SetTheme(if dark {
                Theme::Light
            } else {
                Theme::Dark
            }))
        })
    };
    html! {
        <header class="topbar">
            <div class="brand">
                <span class="logo" aria-hidden="true">{ "◳" }</span>
                <div>
                    <h1>{ "imagescope" }</h1>
                    <p class="tagline">{ "See what a container runtime sees when it pulls an image." }</p>
                </div>
            </div>
            <div class="topbar-actions">
                if state.proxy == ProxyStatus::Available {
                    <span class="pill" title="This page is served by imagescope serve; registries without CORS are reached through its proxy">{ "proxy available" }</span>
                }
                <button type="button" class="theme-toggle" onclick={toggle} data-testid="theme-toggle"
                    aria-label={ if dark { "Switch to the light theme" } else { "Switch to the dark theme" } }>
                    { if dark { "☀ Light" } else { "☾ Dark" } }
                </button>
            </div>
        </header>
    }
}
