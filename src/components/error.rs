use super::CopyButton;
use crate::cors::{CorsCause, CorsDiagnosis};
use crate::state::Failure;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ErrorProps {
    pub failure: Rc<Failure>,
}

/// A failure in plain words, with the registry's own message and code kept underneath.
#[component]
pub fn ErrorView(props: &ErrorProps) -> Html {
    let f = &props.failure;
    html! {
        <section class="card error" role="alert" data-testid="error" data-kind={f.kind} data-code={f.code.clone()}>
            <h2>
                { "Inspection failed" }
                if let Some(code) = &f.code {
                    <span class="badge danger">{ code.clone() }</span>
                }
            </h2>
            <p class="headline">{ f.headline.clone() }</p>
            <p class="detail mono">{ f.detail.clone() }</p>
            if let Some(diagnosis) = &f.cors {
                <CorsDiagnosisView diagnosis={diagnosis.clone()} />
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct CorsProps {
    pub diagnosis: CorsDiagnosis,
}

/// What the browser refused, and three ways to make the registry reachable from a page.
#[component]
pub fn CorsDiagnosisView(props: &CorsProps) -> Html {
    let d = &props.diagnosis;
    let registry_config = d.registry_config();
    let nginx_config = d.nginx_config();
    let missing = match d.cause {
        CorsCause::MixedContent => "Serve this page over http, or the registry over https.",
        CorsCause::Unreachable => "Check that the address is right and reachable from this computer; if it is, the server also needs the CORS headers below.",
        CorsCause::MissingAllowOrigin => "Missing: the Access-Control-Allow-Origin response header (and Access-Control-Expose-Headers for Docker-Content-Digest and WWW-Authenticate).",
        CorsCause::PreflightRejected => "Missing: a 2xx answer to the OPTIONS preflight with Access-Control-Allow-Headers: Authorization, Accept.",
    };
    html! {
        <div class="cors" data-testid="cors-diagnosis" data-cause={format!("{:?}", d.cause)}>
            <h3>{ "Why the browser blocked it" }</h3>
            <p>{ format!("Blocked request: {}", d.url) }</p>
            <p><strong>{ missing }</strong></p>
            <h4>{ "Fix 1: let the registry send CORS headers (distribution config.yml)" }</h4>
            <div class="snippet">
                <CopyButton text={registry_config.clone()} what="registry configuration" />
                <pre tabindex="0"><code>{ registry_config }</code></pre>
            </div>
            <p class="muted">{ "A registry with authentication answers preflights with 401 even then; put a front like the one below before it." }</p>
            <h4>{ "Fix 2: an nginx front that answers OPTIONS itself" }</h4>
            <div class="snippet">
                <CopyButton text={nginx_config.clone()} what="nginx configuration" />
                <pre tabindex="0"><code>{ nginx_config }</code></pre>
            </div>
            <h4>{ "Fix 3: run imagescope serve" }</h4>
            <div class="snippet">
                <CopyButton text={d.serve_command()} what="command" />
                <pre tabindex="0"><code>{ d.serve_command() }</code></pre>
            </div>
            <p class="muted">
                { "It serves this page with a same-origin proxy for registries that send no CORS headers; open the address it prints." }
                if d.proxy_available {
                    { " This page already has that proxy, but the request failed through it too." }
                }
            </p>
        </div>
    }
}
