use super::use_app_state;
use crate::format::redact_url;
use crate::state::{Action, LogEntry};
use yew::prelude::*;

/// What happened, like `docker pull` prints it, with every HTTP request the page made.
/// Exchanges never carry secrets: only the method, URL, status and auth scheme are recorded.
#[component]
pub fn ActivityLog() -> Html {
    let state = use_app_state();
    let clear = {
        let dispatcher = state.dispatcher();
        Callback::from(move |_| dispatcher.dispatch(Action::ClearLog))
    };
    let requests = state
        .log
        .iter()
        .filter(|e| matches!(e, LogEntry::Http { .. }))
        .count();
    html! {
        <section class="card activity" aria-labelledby="activity-title">
            <div class="card-head">
                <h2 id="activity-title">{ "Activity" }</h2>
                <span class="muted small" data-testid="request-count" data-count={requests.to_string()}>{ format!("{requests} HTTP requests") }</span>
                <button type="button" class="ghost" onclick={clear} disabled={state.log.is_empty()}>{ "Clear" }</button>
            </div>
            if state.log.is_empty() {
                <p class="muted">{ "Nothing yet. Inspect an image to see each step and request." }</p>
            } else {
                <ol class="log" data-testid="activity-log" aria-live="polite">
                    { for state.log.iter().map(|entry| html! { <LogLine entry={entry.clone()} /> }) }
                </ol>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct LogLineProps {
    pub entry: LogEntry,
}

#[component]
pub fn LogLine(props: &LogLineProps) -> Html {
    match &props.entry {
        LogEntry::Line(text) => html! { <li class="log-line">{ text.clone() }</li> },
        LogEntry::Http {
            exchange,
            via_proxy,
        } => {
            let status = exchange
                .status
                .map_or_else(|| "blocked".to_string(), |s| s.to_string());
            let class = match exchange.status {
                None => "bad",
                Some(s) if s >= 400 && s != 401 => "bad",
                Some(401) => "warn",
                _ => "ok",
            };
            html! {
                <li class="log-http" data-testid="log-request" data-method={exchange.method.clone()} data-status={status.clone()} data-auth={exchange.auth}>
                    <span class="method">{ exchange.method.clone() }</span>
                    <span class="url">{ redact_url(&exchange.url) }</span>
                    <span class={classes!("status", class)}>{ status }</span>
                    <span class="auth">{ format!("auth: {}", exchange.auth) }</span>
                    <span class="purpose muted">{ exchange.purpose }</span>
                    if *via_proxy {
                        <span class="badge">{ "via proxy" }</span>
                    }
                </li>
            }
        }
    }
}
