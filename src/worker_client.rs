//! The page's end of the store worker: spawned on first use (a pull, or opening the stored
//! images), so the page's start-up download never includes it. Commands wait in a queue until
//! the worker says it is ready; replies come back as actions.

use crate::files_state::FilesAction;
use crate::opfs;
use crate::pull_state::{Saved, StoreAction};
use crate::state::{Action, State};
use crate::worker::files_protocol::{FilesReply, FILES_REPLY_PREFIX};
use crate::worker::protocol::{Command, PasteReading, Reply};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::platform::spawn_local;
use yew::UseReducerDispatcher;

/// Relative to the page, beside its own files; trunk writes the worker's bundle there.
const WORKER_URL: &str = "worker/boot.js";

#[wasm_bindgen]
extern "C" {
    type Worker;
    #[wasm_bindgen(constructor, catch)]
    fn new(url: &str) -> Result<Worker, JsValue>;
    #[wasm_bindgen(method, js_name = postMessage)]
    fn post_message(this: &Worker, message: &JsValue);
    #[wasm_bindgen(method, setter)]
    fn set_onmessage(this: &Worker, handler: &js_sys::Function);
    #[wasm_bindgen(method, setter)]
    fn set_onerror(this: &Worker, handler: &js_sys::Function);

    #[wasm_bindgen(js_namespace = URL, js_name = createObjectURL)]
    fn create_object_url(file: &opfs::File) -> String;
    #[wasm_bindgen(method, getter, js_name = size)]
    fn byte_size(this: &opfs::File) -> f64;
    /// The same disk-backed bytes under another content type.
    #[wasm_bindgen(method, js_name = slice)]
    fn retyped(this: &opfs::File, start: f64, end: f64, content_type: &str) -> opfs::File;
    #[wasm_bindgen(js_namespace = URL, js_name = revokeObjectURL)]
    fn revoke_object_url(url: &str);

    /// The browser's save dialog where it has one (Chromium); elsewhere the call throws, which
    /// `catch` turns into an `Err`.
    #[wasm_bindgen(catch, js_name = showSaveFilePicker)]
    fn show_save_file_picker(options: &JsValue) -> Result<js_sys::Promise, JsValue>;
    /// A file the person picked on their own disk.
    type PickedFile;
    #[wasm_bindgen(method, getter)]
    fn name(this: &PickedFile) -> String;
    #[wasm_bindgen(method, js_name = createWritable)]
    fn create_writable(this: &PickedFile) -> js_sys::Promise;
    type ByteStream;
    #[wasm_bindgen(method)]
    fn stream(this: &opfs::File) -> ByteStream;
    #[wasm_bindgen(method, js_name = pipeTo)]
    fn pipe_to(this: &ByteStream, destination: &JsValue) -> js_sys::Promise;
}

type Handler = Closure<dyn Fn(JsValue)>;

/// A command whose one reply is awaited rather than dispatched: `wake` resolves the promise
/// the asker waits on, after `reply` is filled (or left empty when the worker failed).
struct Waiter {
    reply: Rc<RefCell<Option<Reply>>>,
    wake: js_sys::Function,
}

struct Connection {
    worker: Worker,
    /// Messages sent before the worker finished loading.
    queue: Option<Vec<String>>,
    /// `onmessage` and `onerror`, kept alive as long as the worker.
    _handlers: (Handler, Handler),
}

thread_local! {
    static CONNECTION: RefCell<Option<Connection>> = const { RefCell::new(None) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
    /// The object URL of the last download (an export or a saved file).
    static DOWNLOAD_URL: RefCell<Option<String>> = const { RefCell::new(None) };
    static WAITING: RefCell<BTreeMap<u64, Waiter>> = const { RefCell::new(BTreeMap::new()) };
    /// Exports under way whose archive goes into a file the person picked, by command id.
    static SAVE_TARGETS: RefCell<BTreeMap<u64, PickedFile>> = const { RefCell::new(BTreeMap::new()) };
}

fn wake(waiter: Waiter, reply: Option<Reply>) {
    *waiter.reply.borrow_mut() = reply;
    let _ = waiter.wake.call0(&JsValue::NULL);
}

fn connect(dispatch: &UseReducerDispatcher<State>) -> Result<Connection, String> {
    let worker = Worker::new(WORKER_URL).map_err(|e| opfs::js_text(&e))?;
    let on_message = {
        let dispatch = dispatch.clone();
        Closure::<dyn Fn(JsValue)>::new(move |event: JsValue| {
            let data = js_sys::Reflect::get(&event, &"data".into()).ok().and_then(|d| d.as_string()).unwrap_or_default();
            if data.starts_with(FILES_REPLY_PREFIX) {
                if let Some(reply) = FilesReply::parse(&data) {
                    files_received(&dispatch, reply);
                }
            } else if let Some(reply) = Reply::parse(&data) {
                received(&dispatch, reply);
            }
        })
    };
    let on_error = {
        let dispatch = dispatch.clone();
        Closure::<dyn Fn(JsValue)>::new(move |event: JsValue| {
            let message = js_sys::Reflect::get(&event, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_else(|| "the store worker failed to load".into());
            for waiter in WAITING.with(|w| std::mem::take(&mut *w.borrow_mut())).into_values() {
                wake(waiter, None);
            }
            dispatch.dispatch(Action::Store(StoreAction::WorkerFailed(message)));
        })
    };
    worker.set_onmessage(on_message.as_ref().unchecked_ref());
    worker.set_onerror(on_error.as_ref().unchecked_ref());
    Ok(Connection { worker, queue: Some(Vec::new()), _handlers: (on_message, on_error) })
}

fn received(dispatch: &UseReducerDispatcher<State>, reply: Reply) {
    if let Reply::Failed { id, .. } = &reply {
        SAVE_TARGETS.with(|t| t.borrow_mut().remove(id));
    }
    if let Reply::Paste { id, .. } | Reply::Failed { id, .. } = &reply {
        if let Some(waiter) = WAITING.with(|w| w.borrow_mut().remove(id)) {
            wake(waiter, Some(reply));
            return;
        }
    }
    match &reply {
        Reply::Ready => {
            CONNECTION.with(|c| {
                if let Some(conn) = c.borrow_mut().as_mut() {
                    for message in conn.queue.take().unwrap_or_default() {
                        conn.worker.post_message(&JsValue::from_str(&message));
                    }
                }
            });
            return;
        }
        Reply::Exported { id, file, download_name, .. } => spawn_local(save(dispatch.clone(), *id, file.clone(), download_name.clone())),
        _ => {}
    }
    dispatch.dispatch(Action::Store(StoreAction::Reply(reply)));
}

/// Hands `exports/<file>` to the person as `name`: an object URL of the OPFS file (disk-backed,
/// not read into memory) clicked as a download. One such URL lives at a time, as one export
/// file does; the previous one is revoked only now, since an immediate revoke would cancel the
/// download in some browsers.
async fn offer_download(file: &str, name: &str) -> Result<String, String> {
    let exported = opfs::exported_file(file).await?;
    // As bytes, so the browser keeps the name as given instead of adding an extension it guessed.
    let url = create_object_url(&exported.retyped(0.0, exported.byte_size(), "application/octet-stream"));
    if let Some(old) = DOWNLOAD_URL.with(|u| u.replace(Some(url.clone()))) {
        revoke_object_url(&old);
    }
    let anchor = web_sys::window().and_then(|w| w.document()).and_then(|d| d.create_element("a").ok());
    if let Some(anchor) = anchor {
        let _ = anchor.set_attribute("href", &url);
        let _ = anchor.set_attribute("download", name);
        if let Ok(a) = anchor.dyn_into::<web_sys::HtmlElement>() {
            a.click();
        }
    }
    Ok(url)
}

/// Streams `exports/<file>` into the picked file, disk to disk, then drops the OPFS copy. The
/// browser writes to a temporary file and replaces the picked one only when the stream has
/// ended, so a failure leaves nothing half-written there.
async fn write_picked(target: &PickedFile, file: &str) -> Result<(), String> {
    let exported = opfs::exported_file(file).await?;
    let writable = JsFuture::from(target.create_writable()).await.map_err(|e| opfs::js_text(&e))?;
    JsFuture::from(exported.stream().pipe_to(&writable)).await.map_err(|e| format!("writing {} failed: {}", target.name(), opfs::js_text(&e)))?;
    opfs::remove_export(&opfs::root().await?, file).await
}

async fn save(dispatch: UseReducerDispatcher<State>, id: u64, file: String, name: String) {
    let saved = match SAVE_TARGETS.with(|t| t.borrow_mut().remove(&id)) {
        Some(target) => write_picked(&target, &file).await.map(|()| Saved::File(target.name())),
        None => offer_download(&file, &name).await.map(Saved::Download),
    };
    dispatch.dispatch(Action::Store(StoreAction::ExportSaved { id, saved }));
}

/// Exports the stored image `selector`: into a file the person picks where the browser has a
/// save dialog, else as a download. Runs inside the click, since the dialog needs one.
pub fn export(dispatch: &UseReducerDispatcher<State>, selector: String, suggested_name: &str) {
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"suggestedName".into(), &suggested_name.into());
    let picking = match show_save_file_picker(&options) {
        Ok(picking) => picking,
        Err(_) => return start_export(dispatch, selector, None),
    };
    let dispatch = dispatch.clone();
    spawn_local(async move {
        match JsFuture::from(picking).await {
            Ok(target) => start_export(&dispatch, selector, Some(target.unchecked_into())),
            // The person closed the dialog: there is nothing to save.
            Err(e) if opfs::js_name(&e) == "AbortError" => {}
            // The dialog is refused here (a sandboxed frame, a policy): a download still works.
            Err(_) => start_export(&dispatch, selector, None),
        }
    });
}

fn start_export(dispatch: &UseReducerDispatcher<State>, selector: String, target: Option<PickedFile>) {
    let id = send(dispatch, |id| Command::Export { id, selector: selector.clone() });
    // The reply comes as a later event, so registering after posting misses nothing.
    if let Some(target) = target {
        SAVE_TARGETS.with(|t| t.borrow_mut().insert(id, target));
    }
    dispatch.dispatch(Action::Store(StoreAction::ExportStarted { id, selector }));
}

/// A saved file is offered as a download as soon as the worker has written it.
fn files_received(dispatch: &UseReducerDispatcher<State>, reply: FilesReply) {
    if let FilesReply::FileSaved { file, download_name, .. } = &reply {
        let (dispatch, file, name) = (dispatch.clone(), file.clone(), download_name.clone());
        spawn_local(async move {
            let (url, problem) = match offer_download(&file, &name).await {
                Ok(url) => (Some(url), None),
                Err(message) => (None, Some(message)),
            };
            dispatch.dispatch(Action::Files(FilesAction::Downloaded { url, problem }));
        });
    }
    dispatch.dispatch(Action::Files(FilesAction::Reply(reply)));
}

/// Posts the command `make` builds around a fresh id, starting the worker if needed.
fn deliver(dispatch: &UseReducerDispatcher<State>, make: impl FnOnce(u64) -> Command) -> (u64, Result<(), String>) {
    let id = NEXT_ID.with(|n| n.replace(n.get() + 1));
    let text = serde_json::to_string(&make(id)).expect("commands serialize");
    let sent = CONNECTION.with(|c| {
        let mut slot = c.borrow_mut();
        if slot.is_none() {
            *slot = Some(connect(dispatch)?);
        }
        let conn = slot.as_mut().expect("connected");
        match &mut conn.queue {
            Some(queue) => queue.push(text),
            None => conn.worker.post_message(&JsValue::from_str(&text)),
        }
        Ok(())
    });
    (id, sent)
}

/// Sends a command whose replies come back as actions, and returns the id they will carry.
pub fn send(dispatch: &UseReducerDispatcher<State>, make: impl FnOnce(u64) -> Command) -> u64 {
    let (id, sent) = deliver(dispatch, make);
    if let Err(message) = sent {
        dispatch.dispatch(Action::Store(StoreAction::WorkerFailed(message)));
    }
    id
}

/// Sends the command and waits for its one reply; `Err` when the worker could not run it.
async fn ask(dispatch: &UseReducerDispatcher<State>, make: impl FnOnce(u64) -> Command) -> Result<Reply, String> {
    let reply = Rc::new(RefCell::new(None));
    let mut resolve = None;
    let woken = js_sys::Promise::new(&mut |r, _| resolve = Some(r));
    let waiter = Waiter { reply: reply.clone(), wake: resolve.expect("the executor runs at once") };
    let (id, sent) = deliver(dispatch, make);
    sent?;
    // Replies arrive as later events, so registering after posting misses none.
    WAITING.with(|w| w.borrow_mut().insert(id, waiter));
    let _ = JsFuture::from(woken).await;
    let answer = reply.borrow_mut().take();
    match answer {
        Some(Reply::Failed { message, .. }) => Err(message),
        Some(reply) => Ok(reply),
        None => Err("the worker that reads pasted files could not start".into()),
    }
}

/// The worker's reading of a pasted `config.json` or Secret for `reference`.
pub async fn read_paste(dispatch: &UseReducerDispatcher<State>, text: String, reference: String) -> Result<PasteReading, String> {
    match ask(dispatch, |id| Command::ReadPaste { id, text, reference }).await? {
        Reply::Paste { reading, .. } => Ok(reading),
        _ => Err("the worker answered something else".into()),
    }
}
