//! The store worker: owns the OPFS image store and runs PullImage, ListImages, ImageStatus,
//! RemoveImage, export and the self-check with the core, answering the page in JSON.
//! Credentials arrive with each pull and live only as long as that pull's client. It also reads
//! pasted `config.json` files and Secrets, so their parsers load only when someone pastes one.

mod files;
pub mod files_protocol;
pub mod protocol;

use crate::fetch::{DateClock, FetchTransport};
use crate::login;
use crate::opfs::{self, OpfsStore, SyncHandleSink};
use imagescope_core::client::Client;
use imagescope_core::digest::{Algorithm, Digest, Hasher};
use imagescope_core::error::Error;
use imagescope_core::export::{archive_name, export_image};
use imagescope_core::platform::Platform;
use imagescope_core::pull::{self, docker_lines, recovery_notice, BlobStatus, CancelToken, PullError, PullEvent, PullOptions};
use imagescope_core::reference::Reference;
use imagescope_core::store::{ImageSelector, ImageStore, StoreError};
use imagescope_core::transport::{Body, Clock, Request, Transport};
use protocol::{Command, CorruptBlob, PlannedTag, PullRequest, Reply};
use futures::future::{select, Either};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::pin::pin;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;

/// A blob's progress (and the overall bar) is reported at most this often.
const PROGRESS_INTERVAL_MS: f64 = 100.0;

#[wasm_bindgen]
extern "C" {
    type WorkerScope;
    #[wasm_bindgen(method, js_name = postMessage)]
    fn post_message(this: &WorkerScope, message: &JsValue);
    #[wasm_bindgen(method, setter)]
    fn set_onmessage(this: &WorkerScope, handler: &js_sys::Function);
}

type Store = Rc<ImageStore<OpfsStore>>;

fn post(reply: &impl serde::Serialize) {
    let text = serde_json::to_string(reply).expect("replies serialize");
    js_sys::global().unchecked_into::<WorkerScope>().post_message(&JsValue::from_str(&text));
}

thread_local! {
    static PULLS: RefCell<BTreeMap<u64, CancelToken>> = const { RefCell::new(BTreeMap::new()) };
}

/// Opens the store, then takes commands. Commands run concurrently; the one `ImageStore`
/// keeps the metadata of all of them.
pub fn start() {
    spawn_local(async {
        let store = OpfsStore::open().await.map(|s| Rc::new(ImageStore::new(s)));
        let handler = Closure::<dyn Fn(JsValue)>::new(move |event: JsValue| {
            let data = js_sys::Reflect::get(&event, &"data".into()).ok().and_then(|d| d.as_string()).unwrap_or_default();
            let Ok(command) = serde_json::from_str::<Command>(&data) else {
                return;
            };
            if let Command::ReadPaste { id, text, reference } = command {
                post(&read_paste(id, &text, &reference));
                return;
            }
            match &store {
                Ok(store) => spawn_local(run(store.clone(), command)),
                Err(message) => post(&Reply::Failed { id: command_id(&command), kind: "store".into(), code: None, message: format!("the browser's private file system is not available: {message}") }),
            }
        });
        js_sys::global().unchecked_into::<WorkerScope>().set_onmessage(handler.as_ref().unchecked_ref());
        handler.forget();
        post(&Reply::Ready);
    });
}

fn command_id(command: &Command) -> u64 {
    match command {
        Command::Pull { id, .. }
        | Command::PlanTags { id, .. }
        | Command::Cancel { id }
        | Command::List { id, .. }
        | Command::Status { id, .. }
        | Command::Remove { id, .. }
        | Command::Export { id, .. }
        | Command::Fsck { id }
        | Command::Estimate { id }
        | Command::HashSpeed { id, .. }
        | Command::ReadSpeed { id, .. }
        | Command::ReadPaste { id, .. }
        | Command::Files { id, .. } => *id,
    }
}

fn failed(id: u64, kind: &str, code: Option<String>, message: String) -> Reply {
    Reply::Failed { id, kind: kind.to_string(), code, message }
}

fn store_failed(id: u64, e: &StoreError) -> Reply {
    let kind = if matches!(e, StoreError::Quota { .. }) { "quota" } else { "store" };
    failed(id, kind, None, e.to_string())
}

async fn run(store: Store, command: Command) {
    let reply = match command {
        Command::Pull { id, request } => run_pull(&store, id, request).await,
        Command::PlanTags { id, request } => plan_tags(id, &request).await,
        Command::Cancel { id } => {
            if let Some(token) = PULLS.with(|p| p.borrow().get(&id).cloned()) {
                token.cancel();
            }
            return;
        }
        Command::List { id, filter } => {
            let selector = filter.as_deref().map(str::trim).filter(|f| !f.is_empty()).map(ImageSelector::parse);
            match store.list_images(selector.as_ref()).await {
                Ok(images) => Reply::Images { id, images },
                Err(e) => store_failed(id, &e),
            }
        }
        Command::Status { id, selector } => match store.image_status(&selector).await {
            Ok(image) => Reply::Status { id, selector, image },
            Err(e) => store_failed(id, &e),
        },
        Command::Remove { id, selector } => match store.remove_image(&selector).await {
            Ok(r) => Reply::Removed { id, image: r.image, deleted_blobs: r.deleted_blobs.len(), kept_blobs: r.kept_blobs.len() },
            Err(e) => store_failed(id, &e),
        },
        Command::Export { id, selector } => run_export(&store, id, &selector).await,
        Command::Fsck { id } => match store.fsck().await {
            Ok(r) => Reply::Fsck {
                id,
                checked: r.checked,
                bytes: r.bytes,
                corrupt: r.corrupt.iter().map(|(d, a)| CorruptBlob { digest: d.to_string(), actual: a.to_string() }).collect(),
                missing: r.missing.iter().map(Digest::to_string).collect(),
                unreferenced: r.unreferenced.iter().map(Digest::to_string).collect(),
            },
            Err(e) => store_failed(id, &e),
        },
        Command::Estimate { id } => match opfs::estimate().await {
            Ok((usage, quota, persisted)) => Reply::Estimate { id, usage, quota, persisted },
            Err(message) => failed(id, "store", None, message),
        },
        Command::HashSpeed { id, bytes } => hash_speed(id, bytes),
        Command::ReadSpeed { id, url } => read_speed(id, &url).await,
        Command::ReadPaste { id, text, reference } => read_paste(id, &text, &reference),
        Command::Files { id, command } => return files::run(&store, id, command).await,
    };
    post(&reply);
}

fn read_paste(id: u64, text: &str, reference: &str) -> Reply {
    match Reference::parse(reference) {
        Ok(reference) => Reply::Paste { id, reading: login::read_paste(text, &reference) },
        Err(e) => failed(id, "reference", None, e.to_string()),
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Forwards events as they come, but a blob's progress (and the overall bar) only every
/// [`PROGRESS_INTERVAL_MS`], so a fast download does not flood the page with messages. What it
/// holds back goes out once the interval has passed, so a stalled download shows where it stopped.
struct Throttle {
    id: u64,
    last: RefCell<BTreeMap<Option<Digest>, f64>>,
    held: RefCell<BTreeMap<Option<Digest>, PullEvent>>,
}

/// The stream a throttled event belongs to: a blob's progress, or the overall bar (`None`).
fn throttled(event: &PullEvent) -> Option<Option<Digest>> {
    match event {
        PullEvent::Blob { digest, status: BlobStatus::Progress { .. }, .. } => Some(Some(digest.clone())),
        PullEvent::Overall { .. } => Some(None),
        _ => None,
    }
}

impl Throttle {
    fn new(id: u64) -> Throttle {
        Throttle { id, last: RefCell::new(BTreeMap::new()), held: RefCell::new(BTreeMap::new()) }
    }

    fn due(&self, key: &Option<Digest>) -> bool {
        let now = now_ms();
        let mut last = self.last.borrow_mut();
        if last.get(key).is_some_and(|t| now - t < PROGRESS_INTERVAL_MS) {
            return false;
        }
        last.insert(key.clone(), now);
        true
    }

    fn event(&self, event: &PullEvent) {
        match throttled(event) {
            Some(key) if !self.due(&key) => {
                self.held.borrow_mut().insert(key, event.clone());
            }
            Some(key) => {
                self.held.borrow_mut().remove(&key);
                self.send(event);
            }
            None => {
                // A blob that moved on (verifying, complete) must not be shown as in progress again.
                if let PullEvent::Blob { digest, .. } = event {
                    self.held.borrow_mut().remove(&Some(digest.clone()));
                }
                self.send(event);
            }
        }
    }

    fn send(&self, event: &PullEvent) {
        let value = serde_json::to_value(event).expect("events serialize");
        let mut lines = docker_lines(event);
        lines.extend(recovery_notice(event));
        post(&Reply::Event { id: self.id, event: value, lines });
    }

    /// Sends the held-back events whose interval has passed, or all of them when `all`.
    fn release(&self, all: bool) {
        let keys: Vec<_> = self.held.borrow().keys().cloned().collect();
        for key in keys.into_iter().filter(|k| all || self.due(k)) {
            let event = self.held.borrow_mut().remove(&key);
            if let Some(event) = event {
                self.send(&event);
            }
        }
    }
}

async fn run_pull(store: &Store, id: u64, request: PullRequest) -> Reply {
    let token = CancelToken::new();
    PULLS.with(|p| p.borrow_mut().insert(id, token.clone()));
    let throttle = Throttle::new(id);
    let pulling = pin!(pull_images(store, id, &request, &throttle, &token));
    let ticking = pin!(async {
        loop {
            files::sleep(PROGRESS_INTERVAL_MS).await;
            throttle.release(false);
        }
    });
    let result = match select(pulling, ticking).await {
        Either::Left((result, _)) => result,
        Either::Right((_, pulling)) => pulling.await,
    };
    PULLS.with(|p| p.borrow_mut().remove(&id));
    throttle.release(true);
    match result {
        Ok(last) => last,
        Err(e) => failed(id, e.kind(), e.code(), e.to_string()),
    }
}

/// The client, reference and platform a request names.
fn resolve(request: &PullRequest) -> Result<(Client<FetchTransport, DateClock>, Reference, Platform), Error> {
    let reference = Reference::parse(&request.reference)?;
    let platform = request.platform.as_deref().map(Platform::parse).transpose()?.unwrap_or_else(Platform::default_linux_amd64);
    let transport = match &request.proxy_origin {
        Some(origin) => FetchTransport::via_proxy(origin),
        None => FetchTransport::direct(),
    };
    let client = Client::new(transport, DateClock, &reference.endpoint(&[]), request.credential.clone().into())?;
    Ok((client, reference, platform))
}

/// Pulls the reference, or each of the request's tags in turn as docker's `--all-tags` does,
/// stopping at the first failure. Every image but the last is reported as it is stored; the
/// last one's reply is returned.
async fn pull_images(store: &Store, id: u64, request: &PullRequest, throttle: &Throttle, token: &CancelToken) -> Result<Reply, PullError> {
    let (client, reference, platform) = resolve(request)?;
    let references = match request.tags.as_slice() {
        [] => vec![reference],
        tags => tags.iter().map(|t| reference.with_tag(t)).collect::<Result<_, _>>().map_err(Error::Reference)?,
    };
    let mut options = PullOptions::new(DateClock.now());
    options.jobs = request.jobs.max(1);
    options.all_platforms = request.all_platforms;
    options.verify_diff_ids = request.verify_diff_ids;
    let mut replies = Vec::new();
    for (n, reference) in references.iter().enumerate() {
        if let Some(reply) = replies.pop() {
            post(&reply);
        }
        let inspection = client.inspect(reference, &platform).await?;
        let o = pull::pull(&client, store, &inspection, &options, &|e| throttle.event(e), token).await?;
        replies.push(Reply::Pulled {
            id,
            image: o.image,
            updated: o.updated,
            downloaded_blobs: o.downloaded_blobs,
            downloaded_bytes: o.downloaded_bytes,
            existing_blobs: o.existing_blobs,
            remaining: references.len() - n - 1,
        });
    }
    Ok(replies.pop().expect("at least one reference"))
}

async fn plan_tags(id: u64, request: &PullRequest) -> Reply {
    let planned = async {
        let (client, reference, platform) = resolve(request)?;
        let plan = pull::plan_all_tags(&client, &reference, &platform).await?;
        Ok::<_, Error>((reference, plan))
    };
    match planned.await {
        Ok((reference, plan)) => Reply::TagPlan {
            id,
            repository: reference.name(),
            tags: plan
                .images
                .iter()
                .filter_map(|i| Some(PlannedTag { tag: i.reference.tag()?.to_string(), size: i.image.as_ref()?.size }))
                .collect(),
            skipped: plan.skipped,
            total: plan.total_size,
        },
        Err(e) => {
            let e = PullError::from(e);
            failed(id, e.kind(), e.code(), e.to_string())
        }
    }
}

async fn run_export(store: &Store, id: u64, selector: &str) -> Reply {
    let file = format!("{id}.tar");
    let mut sink = match SyncHandleSink::create(store.blobs().root(), &file).await {
        Ok(s) => s,
        Err(message) => return failed(id, "export", None, message),
    };
    let result = export_image(store, selector, &mut sink).await;
    let closed = sink.finish().await;
    match (result, closed) {
        (Ok(summary), Ok(())) => Reply::Exported { id, download_name: archive_name(&summary.repo_tags, selector), file, bytes: summary.bytes, blobs: summary.blobs },
        (Err(e), _) => {
            sink_cleanup(store, &file).await;
            let kind = if matches!(e, imagescope_core::export::ExportError::Store(StoreError::Quota { .. })) { "quota" } else { "export" };
            failed(id, kind, None, e.to_string())
        }
        (Ok(_), Err(message)) => {
            sink_cleanup(store, &file).await;
            failed(id, "export", None, message)
        }
    }
}

async fn sink_cleanup(store: &Store, file: &str) {
    let _ = opfs::remove_export(store.blobs().root(), file).await;
}

/// Hashes generated bytes in the chunk size a download delivers, as a pull would.
fn hash_speed(id: u64, bytes: u64) -> Reply {
    const CHUNK: usize = 64 * 1024;
    let mut chunk = vec![0u8; CHUNK];
    let mut x: u32 = 0x9e37_79b9;
    for b in chunk.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let mut hasher = Hasher::new(Algorithm::Sha256);
    let start = js_sys::Date::now();
    let mut done = 0u64;
    while done < bytes {
        let n = (bytes - done).min(CHUNK as u64) as usize;
        hasher.update(&chunk[..n]);
        done += n as u64;
    }
    let _ = hasher.finalize();
    Reply::HashSpeed { id, bytes, millis: js_sys::Date::now() - start }
}


async fn read_speed(id: u64, url: &str) -> Reply {
    let start = js_sys::Date::now();
    let mut response = match FetchTransport::direct().send(Request::get(url.to_string())).await {
        Ok(r) => r,
        Err(e) => return failed(id, "network", None, e.to_string()),
    };
    let mut bytes = 0u64;
    loop {
        match response.body.chunk().await {
            Ok(Some(chunk)) => bytes += chunk.len() as u64,
            Ok(None) => break,
            Err(e) => return failed(id, "network", None, e.to_string()),
        }
    }
    Reply::ReadSpeed { id, bytes, millis: js_sys::Date::now() - start }
}
