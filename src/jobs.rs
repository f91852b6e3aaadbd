//! The asynchronous work behind the page: inspecting, listing tags, finding referrers. Each job
//! reads a snapshot of the state it needs and reports back only through actions.

use crate::cors::{self, CorsDiagnosis};
use crate::credentials::{CredentialForm, CredentialKind};
use crate::fetch::{DateClock, FetchTransport};
use crate::login::{self, Candidate};
use crate::route::Route;
use crate::session::{ClientKey, Clients, WebClient};
use crate::state::{Action, Failure, Inspected, LogEntry, Outcome, ProxyStatus, State};
use imagescope_core::client::{Client, Inspection};
use imagescope_core::error::Error;
use imagescope_core::platform::Platform;
use imagescope_core::reference::{Endpoint, Reference};
use imagescope_core::status::human_size;
use imagescope_core::tags;
use imagescope_core::transport::TransportError;
use imagescope_core::url::Url;
use std::rc::Rc;
use yew::UseReducerDispatcher;

const TAG_PAGE_SIZE: u32 = 50;

/// What an inspection needs from the state at the moment it starts.
pub struct InspectJob {
    pub run: u64,
    pub route: Route,
    pub form: CredentialForm,
    pub clients: Clients,
    pub proxy: ProxyStatus,
    pub proxied_hosts: Vec<String>,
    pub page_origin: String,
}

impl InspectJob {
    pub fn from_state(state: &State, page_origin: String) -> Option<InspectJob> {
        Some(InspectJob {
            run: state.run,
            route: state.target.clone()?,
            form: state.credentials.clone(),
            clients: state.clients.clone(),
            proxy: state.proxy,
            proxied_hosts: state.proxied_hosts.clone(),
            page_origin,
        })
    }
}

struct Reporter<'a> {
    dispatch: &'a UseReducerDispatcher<State>,
}

impl Reporter<'_> {
    fn lines(&self, lines: impl IntoIterator<Item = String>) {
        let entries: Vec<LogEntry> = lines.into_iter().map(LogEntry::Line).collect();
        if !entries.is_empty() {
            self.dispatch.dispatch(Action::Log(entries));
        }
    }

    fn line(&self, line: impl Into<String>) {
        self.lines([line.into()]);
    }

    /// The HTTP requests `client` made since it had made `before` of them.
    fn exchanges(&self, client: &WebClient, before: usize) {
        let via_proxy = client.transport().is_proxied();
        let entries: Vec<LogEntry> = client
            .exchanges()
            .into_iter()
            .skip(before)
            .map(|exchange| LogEntry::Http {
                exchange,
                via_proxy,
            })
            .collect();
        if !entries.is_empty() {
            self.dispatch.dispatch(Action::Log(entries));
        }
    }
}

pub async fn inspect(job: InspectJob, dispatch: UseReducerDispatcher<State>) {
    let run = job.run;
    let outcome = run_inspection(job, &dispatch).await;
    dispatch.dispatch(Action::Finished { run, outcome });
}

fn failed(failure: Failure) -> Outcome {
    Outcome::Failed(Rc::new(failure))
}

/// The client for this registry, credential and route: the one kept in the state when there is
/// one (its tokens are cached), else a new one that is handed to the state for next time.
pub fn client_for(
    known: &Clients,
    dispatch: &UseReducerDispatcher<State>,
    endpoint: &Endpoint,
    candidate: &Candidate,
    proxy_origin: Option<&str>,
) -> Result<(ClientKey, Rc<WebClient>), Error> {
    let key = ClientKey {
        base: endpoint.base_url(),
        credential: candidate.fingerprint.clone(),
        proxied: proxy_origin.is_some(),
    };
    if let Some(client) = known.get(&key) {
        return Ok((key, client.clone()));
    }
    let transport = match proxy_origin {
        Some(origin) => FetchTransport::via_proxy(origin),
        None => FetchTransport::direct(),
    };
    let client = Rc::new(Client::new(
        transport,
        DateClock,
        endpoint,
        candidate.credential.clone(),
    )?);
    dispatch.dispatch(Action::ClientReady(key.clone(), client.clone()));
    Ok((key, client))
}

async fn run_inspection(job: InspectJob, dispatch: &UseReducerDispatcher<State>) -> Outcome {
    let report = Reporter { dispatch };
    let reference = match Reference::parse(&job.route.reference) {
        Ok(r) => r,
        Err(e) => return failed(failure_of(&Error::Reference(e), None)),
    };
    let platform = match job
        .route
        .platform
        .as_deref()
        .map(Platform::parse)
        .transpose()
    {
        Ok(p) => p.unwrap_or_else(Platform::default_linux_amd64),
        Err(e) => return failed(failure_of(&Error::Platform(e), None)),
    };
    if reference.default_tag_applied() {
        report.line("Using default tag: latest");
    }
    report.line(format!(
        "{}: Inspecting {} on {} for {platform}",
        what_of(&reference),
        reference.path(),
        reference.domain()
    ));
    let candidates = match login::candidates(&job.form, &reference, dispatch).await {
        Ok(c) => c,
        Err(detail) => {
            let headline = "The credentials given cannot be used.".to_string();
            return failed(Failure {
                kind: "credentials",
                code: None,
                headline,
                detail,
                cors: None,
            });
        }
    };
    let endpoint = reference.endpoint(&[]);
    let host = reference.domain().to_string();
    let proxy_available = job.proxy == ProxyStatus::Available;
    let mut proxied = proxy_available && job.proxied_hosts.contains(&host);
    if proxied {
        report.line(format!("Going through imagescope serve's proxy for {host}: the browser blocked direct requests to it earlier"));
    }
    let mut clients = job.clients;
    let mut position = 0;
    loop {
        let candidate = &candidates[position];
        if job.form.kind != CredentialKind::Anonymous {
            report.line(format!(
                "Credentials: {} ({})",
                candidate.credential.describe(),
                candidate.reason
            ));
        }
        let proxy_origin = proxied.then_some(job.page_origin.as_str());
        let (key, client) = match client_for(&clients, dispatch, &endpoint, candidate, proxy_origin)
        {
            Ok(c) => c,
            Err(e) => return failed(failure_of(&e, None)),
        };
        clients.insert(key.clone(), client.clone());
        let before = client.exchanges().len();
        let result = client.inspect(&reference, &platform).await;
        report.exchanges(&client, before);
        let error = match result {
            Ok(inspection) => {
                report.lines(summary_lines(&inspection));
                let credential_note =
                    (job.form.kind == CredentialKind::Paste).then(|| candidate.reason.clone());
                return Outcome::Done(Rc::new(Inspected {
                    inspection,
                    via_proxy: proxied,
                    credential_note,
                    credential: candidate.credential.clone(),
                    client_key: key,
                }));
            }
            Err(e) => e,
        };
        if error.is_absent() {
            report.line(format!(
                "Error response from registry: manifest for {} not found: {}",
                reference.canonical(),
                error
            ));
            return Outcome::Absent {
                canonical: reference.canonical(),
                detail: error.to_string(),
            };
        }
        if blocked_url(&error).is_some() && !proxied && proxy_available {
            report.line(format!(
                "The browser blocked the request to {host} (no CORS access); retrying through imagescope serve's proxy on {}",
                job.page_origin
            ));
            dispatch.dispatch(Action::ProxyNeeded(host.clone()));
            proxied = true;
            continue;
        }
        let refused = matches!(error.code().as_deref(), Some("UNAUTHORIZED" | "DENIED"));
        if refused && position + 1 < candidates.len() {
            report.line(format!(
                "{} was refused ({}); trying the next matching credential",
                candidate.credential.describe(),
                error
            ));
            position += 1;
            continue;
        }
        report.line(format!("Error: {error}"));
        let diagnosis = match blocked_url(&error) {
            Some(url) => {
                let last = client
                    .exchanges()
                    .into_iter()
                    .rev()
                    .find(|e| e.status.is_none());
                let had_authorization = last.as_ref().is_some_and(|e| e.auth != "none");
                let token_service = last.as_ref().is_some_and(|e| e.purpose == "token");
                Some(
                    cors::diagnose(
                        &url,
                        &job.page_origin,
                        had_authorization,
                        token_service,
                        proxy_available,
                    )
                    .await,
                )
            }
            None => None,
        };
        return failed(failure_of(&error, diagnosis));
    }
}

fn what_of(reference: &Reference) -> String {
    match (reference.tag(), reference.digest()) {
        (Some(tag), _) => tag.to_string(),
        (None, Some(digest)) => digest.to_string(),
        (None, None) => "latest".to_string(),
    }
}

fn blocked_url(error: &Error) -> Option<String> {
    match error {
        Error::Transport(TransportError::Blocked { url, .. }) => Some(url.clone()),
        _ => None,
    }
}

/// Lines in the style of `docker pull`, for what an inspection resolved.
fn summary_lines(inspection: &Inspection) -> Vec<String> {
    let mut lines = vec![format!("Digest: {}", inspection.top.digest)];
    if let Some(chosen) = &inspection.chosen {
        let platform = chosen
            .platform
            .as_ref()
            .map_or_else(|| "linux/amd64".to_string(), |p| p.to_string());
        lines.push(format!("Platform: {platform} ({})", chosen.digest));
    }
    if let Some(manifest) = inspection.image_manifest() {
        lines.push(format!("Config: {}", manifest.config.digest));
        for layer in &manifest.layers {
            lines.push(format!(
                "{}: Layer {} ({})",
                layer.digest.short(),
                human_size(layer.size),
                layer.media_type
            ));
        }
    }
    for warning in &inspection.warnings {
        lines.push(format!("Warning: {warning}"));
    }
    match &inspection.image {
        Some(image) => lines.push(format!(
            "Status: Image resolved: {} (IMAGE ID {}, {})",
            inspection.reference.canonical(),
            image.short_id(),
            image.human_size()
        )),
        None => lines.push(format!(
            "Status: {} has no ImageStatus (schema1 images are not pulled by current runtimes)",
            inspection.reference.canonical()
        )),
    }
    lines
}

/// Plain words for a failure, keeping the kind and registry code for the page's hooks.
pub fn failure_of(error: &Error, cors: Option<CorsDiagnosis>) -> Failure {
    let headline = if let Some(diagnosis) = &cors {
        diagnosis.headline()
    } else if let Some(registry) = error.registry_error() {
        registry.explanation()
    } else {
        match error.kind() {
            "reference" => "This is not a valid image reference.".to_string(),
            "credentials" => "The credentials given cannot be used.".to_string(),
            "auth" => "Logging in to the registry failed.".to_string(),
            "network" => "The request to the registry failed.".to_string(),
            "platform" => "No image for the platform asked for.".to_string(),
            "blob" => "A blob from the registry did not match its digest or size.".to_string(),
            "tags" => "The tag list could not be read.".to_string(),
            _ => "The registry sent something that is not a valid image manifest.".to_string(),
        }
    };
    Failure {
        kind: error.kind(),
        code: error.code(),
        headline,
        detail: error.to_string(),
        cors,
    }
}

/// What the tags and referrers jobs need: the client that resolved the image being shown.
pub struct ListingJob {
    pub run: u64,
    pub client: Rc<WebClient>,
    pub reference: Reference,
    pub next: Option<String>,
    pub subject: Option<imagescope_core::digest::Digest>,
}

pub async fn list_tags(job: ListingJob, dispatch: UseReducerDispatcher<State>) {
    let report = Reporter {
        dispatch: &dispatch,
    };
    let repository = job.reference.path().to_string();
    let url = match &job.next {
        Some(next) => Url::parse(next).map_err(Error::from),
        None => tags::first_page_url(job.client.base(), &repository, Some(TAG_PAGE_SIZE), None)
            .map_err(Error::from),
    };
    let before = job.client.exchanges().len();
    let result = match url {
        Ok(url) => job.client.tags_page(&repository, &url).await,
        Err(e) => Err(e),
    };
    report.exchanges(&job.client, before);
    let run = job.run;
    match result {
        Ok((page, next)) => dispatch.dispatch(Action::TagsPage {
            run,
            tags: page.tags,
            next: next.map(|u| u.to_string()),
        }),
        Err(e) => dispatch.dispatch(Action::TagsFailed {
            run,
            message: e.to_string(),
        }),
    }
}

pub async fn find_referrers(job: ListingJob, dispatch: UseReducerDispatcher<State>) {
    let report = Reporter {
        dispatch: &dispatch,
    };
    let Some(subject) = job.subject else { return };
    let before = job.client.exchanges().len();
    let result = job.client.referrers(&job.reference, &subject).await;
    report.exchanges(&job.client, before);
    let run = job.run;
    match result {
        Ok(referrers) => dispatch.dispatch(Action::ReferrersLoaded {
            run,
            referrers: Rc::new(referrers),
        }),
        Err(e) => dispatch.dispatch(Action::ReferrersFailed {
            run,
            message: e.to_string(),
        }),
    }
}
