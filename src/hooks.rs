//! Every side effect of the page lives here; components only render state and dispatch.

use crate::fetch::{detect_proxy, page_origin};
use crate::jobs::{self, InspectJob, ListingJob};
use crate::route::{format_hash, parse_hash};
use crate::state::{Action, Listing, ProxyStatus, State, TagList, Theme};
use crate::storage;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::platform::spawn_local;
use yew::prelude::*;

pub type StateHandle = UseReducerHandle<State>;

fn location_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Deep links: inspect what the hash names on load and whenever the hash changes (links,
/// back and forward); keep the hash in step with what is being inspected.
#[hook]
pub fn use_hash_route(state: &StateHandle) {
    {
        let dispatcher = state.dispatcher();
        use_effect_with((), move |_| {
            if let Some(route) = parse_hash(&location_hash()) {
                dispatcher.dispatch(Action::Navigate(route));
            }
            let listener = Closure::<dyn Fn()>::new(move || {
                if let Some(route) = parse_hash(&location_hash()) {
                    dispatcher.dispatch(Action::Navigate(route));
                }
            });
            let window = web_sys::window();
            if let Some(w) = &window {
                let _ = w.add_event_listener_with_callback(
                    "hashchange",
                    listener.as_ref().unchecked_ref(),
                );
            }
            move || {
                if let Some(w) = &window {
                    let _ = w.remove_event_listener_with_callback(
                        "hashchange",
                        listener.as_ref().unchecked_ref(),
                    );
                }
            }
        });
    }
    use_effect_with(state.target.clone(), |target| {
        if let Some(target) = target {
            let wanted = format_hash(target);
            if location_hash() != wanted {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().set_hash(&wanted);
                }
            }
        }
    });
}

/// Runs an inspection for every new `run`, once it is known whether a proxy is there to fall back on.
#[hook]
pub fn use_inspection(state: &StateHandle) {
    let proxy_known = state.proxy != ProxyStatus::Unknown;
    let state = state.clone();
    use_effect_with((state.run, proxy_known), move |(run, proxy_known)| {
        if *run > 0 && *proxy_known {
            if let Some(job) = InspectJob::from_state(&state, page_origin()) {
                spawn_local(jobs::inspect(job, state.dispatcher()));
            }
        }
    });
}

fn listing_job(state: &State, run: u64) -> Option<ListingJob> {
    let inspected = state.inspected()?;
    let client = state.clients.get(&inspected.client_key)?.clone();
    let reference = inspected.inspection.reference.clone();
    Some(ListingJob {
        run,
        client,
        reference,
        next: None,
        subject: Some(inspected.inspection.top.digest.clone()),
    })
}

/// Tag pages and referrers, fetched when asked for with the client that resolved the image.
#[hook]
pub fn use_listings(state: &StateHandle) {
    {
        let state = state.clone();
        use_effect_with(state.tags_run, move |run| {
            let next = match &state.tags {
                Listing::Loading => None,
                Listing::Loaded(TagList {
                    next: Some(next),
                    loading_more: true,
                    ..
                }) => Some(next.clone()),
                _ => return,
            };
            if let Some(job) = listing_job(&state, *run) {
                spawn_local(jobs::list_tags(
                    ListingJob { next, ..job },
                    state.dispatcher(),
                ));
            }
        });
    }
    let state = state.clone();
    use_effect_with(state.referrers_run, move |run| {
        if matches!(state.referrers, Listing::Loading) {
            if let Some(job) = listing_job(&state, *run) {
                spawn_local(jobs::find_referrers(job, state.dispatcher()));
            }
        }
    });
}

/// Asks once whether `imagescope serve` (and so its registry proxy) is serving this page.
#[hook]
pub fn use_proxy_detection(state: &StateHandle) {
    let dispatcher = state.dispatcher();
    use_effect_with((), move |_| {
        spawn_local(async move {
            dispatcher.dispatch(Action::ProxyDetected(detect_proxy().await));
        });
    });
}

/// The state a page starts from: credentials come back from sessionStorage only if they were
/// put there with "remember in this tab"; the theme choice from localStorage.
pub fn initial_state() -> State {
    let mut state = State {
        theme: storage::load_theme(),
        ..State::default()
    };
    if let Some(form) = storage::load_credentials() {
        state.credentials = form;
        state.remember = true;
    }
    state
}

#[hook]
pub fn use_session_credentials(state: &StateHandle) {
    use_effect_with(
        (state.credentials.clone(), state.remember),
        |(form, remember)| {
            storage::store_credentials(form, *remember);
        },
    );
}

pub fn system_prefers_dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
}

/// The theme: the system's unless the person chose one, applied as `data-theme` on `<html>`
/// and remembered (it is no secret).
#[hook]
pub fn use_theme(state: &StateHandle) {
    use_effect_with(state.theme, |theme| {
        let root = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element());
        if let Some(root) = root {
            let _ = match theme.as_attr() {
                Some(value) => root.set_attribute("data-theme", value),
                None => root.remove_attribute("data-theme"),
            };
        }
        storage::store_theme(*theme);
    });
}

/// The theme actually showing, for the toggle's label.
pub fn effective_dark(theme: Theme) -> bool {
    match theme {
        Theme::Dark => true,
        Theme::Light => false,
        Theme::System => system_prefers_dark(),
    }
}
