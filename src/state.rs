//! The whole page state, the actions that change it, and the reducer. No I/O here: hooks
//! perform effects and report back with actions, so every transition is testable on its own.

use crate::cors::CorsDiagnosis;
use crate::credentials::{CredentialForm, CredentialKind, Field};
use crate::route::Route;
use imagescope_core::auth::credentials::Credential;
use imagescope_core::client::{Exchange, Inspection, Referrers};
use std::rc::Rc;
use yew::Reducible;

pub use crate::session::{ClientKey, Clients, WebClient};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Follow the system's `prefers-color-scheme`.
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub fn as_attr(self) -> Option<&'static str> {
        match self {
            Theme::System => None,
            Theme::Light => Some("light"),
            Theme::Dark => Some("dark"),
        }
    }

    pub fn from_attr(value: &str) -> Theme {
        match value {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::System,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProxyStatus {
    #[default]
    Unknown,
    Absent,
    /// The page is served by `imagescope serve`, whose `/proxy/` reaches any registry.
    Available,
}

/// A failure as the page shows it: plain words plus the stable hooks tests read.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// `data-kind`: the core's error kind (`registry`, `cors`, `auth`, …).
    pub kind: &'static str,
    /// `data-code`: the registry's code, e.g. `UNAUTHORIZED`.
    pub code: Option<String>,
    pub headline: String,
    pub detail: String,
    pub cors: Option<CorsDiagnosis>,
}

/// A finished inspection, with how it was reached.
#[derive(Debug, Clone)]
pub struct Inspected {
    pub inspection: Inspection,
    pub via_proxy: bool,
    /// Why the credential used was chosen (for pasted files), shown beside the result.
    pub credential_note: Option<String>,
    /// The credential that was accepted, which a pull of this image reuses.
    pub credential: Credential,
    /// The client that resolved it, which tag and referrer listings reuse.
    pub client_key: ClientKey,
}

/// Two inspections show the same thing when they resolved the same documents the same way.
impl PartialEq for Inspected {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.inspection, &other.inspection);
        a.top.digest == b.top.digest
            && a.chosen.as_ref().map(|c| &c.digest) == b.chosen.as_ref().map(|c| &c.digest)
            && a.reference == b.reference
            && self.via_proxy == other.via_proxy
            && self.credential_note == other.credential_note
            && self.client_key == other.client_key
    }
}

#[derive(Debug, Clone, Default)]
pub enum Outcome {
    #[default]
    Idle,
    Running,
    Done(Rc<Inspected>),
    /// The registry says the image is not there: CRI reports an empty image, not an error.
    Absent {
        canonical: String,
        detail: String,
    },
    Failed(Rc<Failure>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEntry {
    /// A line in the style of `docker pull`'s output.
    Line(String),
    Http {
        exchange: Exchange,
        via_proxy: bool,
    },
}

#[derive(Debug, Clone, Default)]
pub enum Listing<T> {
    #[default]
    Idle,
    Loading,
    Loaded(T),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagList {
    pub tags: Vec<String>,
    /// The next page's URL when the registry sent a `Link`.
    pub next: Option<String>,
    /// "More tags" was asked for and the next page is on its way.
    pub loading_more: bool,
}

#[derive(Clone, Default)]
pub struct State {
    pub input: String,
    pub credentials: CredentialForm,
    /// Keep the credentials in this tab's sessionStorage (never anywhere more lasting).
    pub remember: bool,
    /// What was last asked to be inspected; mirrored in the URL hash.
    pub target: Option<Route>,
    /// Bumped for every inspection asked for; effects and late answers are matched against it.
    pub run: u64,
    pub outcome: Outcome,
    pub log: Vec<LogEntry>,
    pub proxy: ProxyStatus,
    /// Registry hosts the browser could not reach directly, so the proxy is used from the start.
    pub proxied_hosts: Vec<String>,
    /// One client per registry, credential and route, so cached tokens are reused.
    pub clients: Clients,
    pub tags: Listing<TagList>,
    /// Bumped by "list tags" / "more tags"; the tags effect runs on it.
    pub tags_run: u64,
    pub referrers: Listing<Rc<Referrers>>,
    pub referrers_run: u64,
    pub theme: Theme,
    /// The pull and the stored images (the store worker's side of the page).
    pub pulls: crate::pull_state::PullState,
    /// The Files view: a layer's files or the merged filesystem, listed by the store worker.
    pub files: crate::files_state::FilesState,
}

impl PartialEq for State {
    /// Only for props comparisons; the reducer always returns a fresh `Rc` on change.
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

pub enum Action {
    SetInput(String),
    SetCredentialKind(CredentialKind),
    SetCredentialField(Field, String),
    SetRemember(bool),
    /// Inspect `reference` (typed, or from a deep link) for `platform`.
    Inspect(Route),
    /// Inspect what is in the reference box, as the reducer sees it: a submit right after typing
    /// must not use text captured by a render that has not happened yet.
    InspectInput,
    /// The URL hash named a route: inspect it unless it is what is already shown.
    Navigate(Route),
    /// Switch to another platform of the index being shown.
    ChoosePlatform(String),
    ClientReady(ClientKey, Rc<WebClient>),
    Log(Vec<LogEntry>),
    Finished {
        run: u64,
        outcome: Outcome,
    },
    ProxyDetected(bool),
    ProxyNeeded(String),
    LoadTags,
    MoreTags,
    TagsPage {
        run: u64,
        tags: Vec<String>,
        next: Option<String>,
    },
    TagsFailed {
        run: u64,
        message: String,
    },
    LoadReferrers,
    ReferrersLoaded {
        run: u64,
        referrers: Rc<Referrers>,
    },
    ReferrersFailed {
        run: u64,
        message: String,
    },
    SetTheme(Theme),
    ClearLog,
    Store(crate::pull_state::StoreAction),
    Files(crate::files_state::FilesAction),
}

impl State {
    pub fn running(&self) -> bool {
        matches!(self.outcome, Outcome::Running)
    }

    pub fn inspected(&self) -> Option<&Rc<Inspected>> {
        match &self.outcome {
            Outcome::Done(i) => Some(i),
            _ => None,
        }
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::SetInput(input) => next.input = input,
            Action::SetCredentialKind(kind) => next.credentials.kind = kind,
            Action::SetCredentialField(field, value) => next.credentials.set(field, value),
            Action::SetRemember(remember) => next.remember = remember,
            Action::Inspect(route) => {
                let reference = route.reference.trim().to_string();
                if reference.is_empty() {
                    return self;
                }
                next.input = reference.clone();
                next.target = Some(Route {
                    reference,
                    platform: route.platform,
                });
                start_run(&mut next);
            }
            Action::InspectInput => {
                let route = Route {
                    reference: self.input.clone(),
                    platform: None,
                };
                return self.reduce(Action::Inspect(route));
            }
            Action::Navigate(route) => {
                if self.target.as_ref() == Some(&route) {
                    return self;
                }
                return self.reduce(Action::Inspect(route));
            }
            Action::ChoosePlatform(platform) => {
                let Some(target) = &self.target else {
                    return self;
                };
                next.target = Some(Route {
                    reference: target.reference.clone(),
                    platform: Some(platform),
                });
                start_run(&mut next);
            }
            Action::ClientReady(key, client) => {
                next.clients.insert(key, client);
            }
            Action::Log(entries) => next.log.extend(entries),
            Action::Finished { run, outcome } => {
                if run != self.run {
                    return self;
                }
                next.outcome = outcome;
            }
            Action::ProxyDetected(found) => {
                next.proxy = if found {
                    ProxyStatus::Available
                } else {
                    ProxyStatus::Absent
                }
            }
            Action::ProxyNeeded(host) => {
                if next.proxied_hosts.contains(&host) {
                    return self;
                }
                next.proxied_hosts.push(host);
            }
            Action::LoadTags => {
                next.tags = Listing::Loading;
                next.tags_run += 1;
            }
            Action::MoreTags => {
                let Listing::Loaded(
                    list @ TagList {
                        next: Some(_),
                        loading_more: false,
                        ..
                    },
                ) = &self.tags
                else {
                    return self;
                };
                next.tags = Listing::Loaded(TagList {
                    loading_more: true,
                    ..list.clone()
                });
                next.tags_run += 1;
            }
            Action::TagsPage {
                run,
                tags,
                next: next_page,
            } => {
                if run != self.tags_run {
                    return self;
                }
                let mut list = match &self.tags {
                    Listing::Loaded(list) => list.clone(),
                    _ => TagList::default(),
                };
                list.tags.extend(tags);
                list.next = next_page;
                list.loading_more = false;
                next.tags = Listing::Loaded(list);
            }
            Action::TagsFailed { run, message } => {
                if run != self.tags_run {
                    return self;
                }
                next.tags = Listing::Failed(message);
            }
            Action::LoadReferrers => {
                next.referrers = Listing::Loading;
                next.referrers_run += 1;
            }
            Action::ReferrersLoaded { run, referrers } => {
                if run != self.referrers_run {
                    return self;
                }
                next.referrers = Listing::Loaded(referrers);
            }
            Action::ReferrersFailed { run, message } => {
                if run != self.referrers_run {
                    return self;
                }
                next.referrers = Listing::Failed(message);
            }
            Action::SetTheme(theme) => next.theme = theme,
            Action::ClearLog => next.log.clear(),
            Action::Store(action) => next.pulls.apply(action, &mut next.log, js_sys::Date::now()),
            Action::Files(action) => next.files.apply(action),
        }
        Rc::new(next)
    }
}

/// A new inspection also retires listings of the previous image, late answers included.
fn start_run(state: &mut State) {
    state.run += 1;
    state.outcome = Outcome::Running;
    state.tags = Listing::Idle;
    state.tags_run += 1;
    state.referrers = Listing::Idle;
    state.referrers_run += 1;
}
