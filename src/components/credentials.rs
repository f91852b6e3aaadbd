use super::{use_app_state, CopyButton};
use crate::credentials::{CredentialKind, Field};
use crate::login::PasteReport;
use crate::state::Action;
use crate::worker_client;
use imagescope_core::auth::docker_config::DOCKER_HUB_KEY;
use imagescope_core::auth::kube_secret::docker_registry_secret_yaml;
use imagescope_core::reference::Reference;
use std::cell::Cell;
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::platform::spawn_local;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
struct TextFieldProps {
    id: AttrValue,
    label: AttrValue,
    value: AttrValue,
    field: Field,
    #[prop_or_default]
    secret: bool,
    #[prop_or_default]
    hint: Option<AttrValue>,
}

#[component]
fn TextField(props: &TextFieldProps) -> Html {
    let state = use_app_state();
    let field = props.field;
    let oninput = {
        let dispatcher = state.dispatcher();
        Callback::from(move |e: InputEvent| {
            dispatcher.dispatch(Action::SetCredentialField(
                field,
                e.target_unchecked_into::<HtmlInputElement>().value(),
            ))
        })
    };
    let hint_id = format!("{}-hint", props.id);
    html! {
        <div class="field">
            <label for={props.id.clone()}>{ props.label.clone() }</label>
            <input id={props.id.clone()} data-testid={props.id.clone()} type={if props.secret { "password" } else { "text" }}
                autocomplete="off" autocapitalize="off" spellcheck="false" value={props.value.clone()} {oninput}
                aria-describedby={props.hint.as_ref().map(|_| hint_id.clone())} />
            if let Some(hint) = &props.hint {
                <p id={hint_id} class="hint">{ hint.clone() }</p>
            }
        </div>
    }
}

/// The worker's reading of the pasted file for `reference`: `None` while it reads. A reading
/// for an older text or reference is dropped when it arrives late.
#[hook]
fn use_paste_report(text: String, reference: Option<String>) -> Option<Result<PasteReport, String>> {
    let state = use_app_state();
    let report = use_state(|| None);
    {
        let report = report.clone();
        use_effect_with((text, reference), move |(text, reference)| {
            report.set(None);
            let current = Rc::new(Cell::new(true));
            if let (false, Some(reference)) = (text.trim().is_empty(), reference.clone()) {
                let (dispatch, text, still) = (state.dispatcher(), text.clone(), current.clone());
                spawn_local(async move {
                    let reading = worker_client::read_paste(&dispatch, text, reference).await;
                    if still.get() {
                        report.set(Some(reading.and_then(|r| r.report)));
                    }
                });
            }
            move || current.set(false)
        });
    }
    (*report).clone()
}

/// Where credentials are typed or pasted. They stay in memory unless "remember in this tab" is ticked.
#[component]
pub fn CredentialsPanel() -> Html {
    let state = use_app_state();
    let form = &state.credentials;
    let reference = Reference::parse(state.input.trim()).ok();
    let pasted = form.kind == CredentialKind::Paste;
    let paste_report = use_paste_report(if pasted { form.paste.clone() } else { String::new() }, reference.as_ref().map(Reference::canonical));
    let kinds = CredentialKind::ALL.iter().map(|&kind| {
        let dispatcher = state.dispatcher();
        let onchange = Callback::from(move |_| dispatcher.dispatch(Action::SetCredentialKind(kind)));
        let id = format!("cred-kind-{}", kind.id());
        html! {
            <label class={classes!("seg", (form.kind == kind).then_some("on"))} for={id.clone()}>
                <input type="radio" name="cred-kind" id={id.clone()} data-testid={id} checked={form.kind == kind} {onchange} />
                { kind.label() }
            </label>
        }
    });
    let on_paste = {
        let dispatcher = state.dispatcher();
        Callback::from(move |e: InputEvent| {
            dispatcher.dispatch(Action::SetCredentialField(
                Field::Paste,
                e.target_unchecked_into::<HtmlTextAreaElement>().value(),
            ))
        })
    };
    let on_remember = {
        let dispatcher = state.dispatcher();
        Callback::from(move |e: Event| {
            dispatcher.dispatch(Action::SetRemember(
                e.target_unchecked_into::<HtmlInputElement>().checked(),
            ))
        })
    };
    let fields = match form.kind {
        CredentialKind::Anonymous => {
            html! { <p class="muted">{ "Anonymous pull: no Authorization is sent unless the registry hands out an anonymous token." }</p> }
        }
        CredentialKind::Password => html! {
            <div class="field-row">
                <TextField id="cred-username" label="Username" value={form.username.clone()} field={Field::Username} />
                <TextField id="cred-password" label="Password" value={form.password.clone()} field={Field::Password} secret=true />
            </div>
        },
        CredentialKind::AuthString => html! {
            <TextField id="cred-auth" label="auth" value={form.auth.clone()} field={Field::Auth} secret=true
                hint="The auth value of a config.json entry: base64 of username:password." />
        },
        CredentialKind::IdentityToken => html! {
            <div class="field-row">
                <TextField id="cred-username" label="Username (optional)" value={form.username.clone()} field={Field::Username} />
                <TextField id="cred-identity-token" label="Identity token" value={form.identity_token.clone()} field={Field::IdentityToken} secret=true
                    hint="An OAuth2 refresh token (docker's identitytoken), exchanged for an access token." />
            </div>
        },
        CredentialKind::RegistryToken => html! {
            <TextField id="cred-registry-token" label="Registry token" value={form.registry_token.clone()} field={Field::RegistryToken} secret=true
                hint="A bearer token sent to the registry as is." />
        },
        CredentialKind::Paste => html! {
            <div class="field">
                <label for="cred-paste">{ "docker config.json or Kubernetes Secret (YAML or JSON)" }</label>
                <textarea id="cred-paste" data-testid="cred-paste" rows="8" spellcheck="false" autocomplete="off"
                    value={form.paste.clone()} oninput={on_paste}
                    placeholder={r#"{"auths": {"registry.example.com": {"auth": "…"}}}   or the output of: kubectl get secret regcred -o yaml"#} />
                if !form.paste.trim().is_empty() {
                    { match (&reference, paste_report) {
                        (Some(r), Some(Ok(report))) => html! { <PasteReportView report={report} reference={r.canonical()} /> },
                        (Some(_), Some(Err(message))) => html! { <p class="inline-error" role="alert" data-testid="paste-error">{ message }</p> },
                        (Some(_), None) => html! { <p class="muted" aria-live="polite">{ "Reading the pasted file…" }</p> },
                        (None, _) => html! { <p class="muted">{ "Type a valid reference to see which entry applies." }</p> },
                    } }
                }
            </div>
        },
    };
    let open = form.kind != CredentialKind::Anonymous;
    html! {
        <details class="card credentials" open={open}>
            <summary><h2>{ "Credentials" }</h2><span class="muted small">{ format!("· {}", form.kind.label()) }</span></summary>
            <fieldset class="segmented">
                <legend class="visually-hidden">{ "Kind of credentials" }</legend>
                { for kinds }
            </fieldset>
            { fields }
            <label class="check">
                <input type="checkbox" data-testid="cred-remember" checked={state.remember} onchange={on_remember} />
                { "Remember in this tab" }
                <span class="muted small">{ " (sessionStorage, cleared when the tab closes; never put in the URL or logs)" }</span>
            </label>
            if matches!(form.kind, CredentialKind::Password | CredentialKind::AuthString) {
                <SecretYaml />
            }
        </details>
    }
}

#[derive(Properties, PartialEq)]
pub struct PasteReportProps {
    pub report: PasteReport,
    pub reference: AttrValue,
}

/// Which entry of a pasted file applies to the reference, and why the others do not.
#[component]
pub fn PasteReportView(props: &PasteReportProps) -> Html {
    let r = &props.report;
    html! {
        <div class="paste-report" data-testid="paste-report" aria-live="polite">
            <p>{ format!("Read as a {} for {}:", r.source, props.reference) }</p>
            if r.matches.is_empty() {
                <p class="warn-text" data-testid="paste-no-match">{ "No entry applies: the pull would be anonymous." }</p>
            }
            <ul class="plain">
                { for r.matches.iter().enumerate().map(|(i, (entry, why))| html! {
                    <li class="match" data-testid="paste-match">
                        <span class="badge accent">{ if i == 0 { "used".to_string() } else { format!("then #{}", i + 1) } }</span>
                        <code>{ entry.clone() }</code><span class="why">{ why.clone() }</span>
                    </li>
                }) }
                { for r.rejected.iter().map(|(entry, why)| html! {
                    <li class="nomatch" data-testid="paste-rejected">
                        <span class="badge">{ "not used" }</span>
                        <code>{ entry.clone() }</code><span class="why">{ why.clone() }</span>
                    </li>
                }) }
            </ul>
        </div>
    }
}

/// The `kubernetes.io/dockerconfigjson` Secret `kubectl create secret docker-registry` would make.
#[component]
fn SecretYaml() -> Html {
    let state = use_app_state();
    let name = use_state(|| "regcred".to_string());
    let shown = use_state(|| false);
    let form = state.credentials.effective();
    let (username, password) = match form.kind {
        CredentialKind::AuthString => imagescope_core::auth::credentials::decode_auth(&form.auth)
            .map(|d| (d.username.clone(), d.password.clone()))
            .unwrap_or_default(),
        _ => (form.username.clone(), form.password.clone()),
    };
    let server = match Reference::parse(state.input.trim()) {
        Ok(r) if r.domain() == "docker.io" => DOCKER_HUB_KEY.to_string(),
        Ok(r) => r.domain().to_string(),
        Err(_) => String::new(),
    };
    let ready = !username.is_empty() && !server.is_empty();
    let toggle = {
        let shown = shown.clone();
        Callback::from(move |_| shown.set(!*shown))
    };
    let on_name = {
        let name = name.clone();
        Callback::from(move |e: InputEvent| {
            name.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let yaml = docker_registry_secret_yaml(&name, None, &server, &username, &password, None);
    html! {
        <div class="secret-yaml">
            <button type="button" onclick={toggle} disabled={!ready} data-testid="secret-yaml-button" aria-expanded={if *shown { "true" } else { "false" }}>
                { if *shown { "Hide Secret YAML" } else { "Generate Kubernetes Secret YAML" } }
            </button>
            if !ready {
                <span class="muted small">{ " needs a valid reference and a username" }</span>
            }
            if *shown && ready {
                <div class="field">
                    <label for="secret-name">{ "Secret name" }</label>
                    <input id="secret-name" type="text" value={(*name).clone()} oninput={on_name} />
                </div>
                <div class="snippet">
                    <CopyButton text={yaml.clone()} what="Secret YAML" />
                    <pre tabindex="0" data-testid="secret-yaml"><code>{ yaml }</code></pre>
                </div>
                <p class="muted small">{ format!("For the registry {server}; use it as imagePullSecrets: [{{name: {}}}].", *name) }</p>
            }
        </div>
    }
}
