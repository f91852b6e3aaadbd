//! The image store on the Origin Private File System: the core's [`BlobStore`] over
//! `FileSystemSyncAccessHandle`s, which only a dedicated worker may open.
//!
//! Layout under `imagescope/`: `blobs/<alg>/<hex>` (committed, verified), `ingest/<hex>` and
//! `ingest/<hex>.state` (a download in progress and its hasher state), `images.json` (the
//! metadata). The bindings are declared here rather than through web-sys features, so the
//! page's build is untouched by what only the worker uses.

use imagescope_core::digest::Digest;
use imagescope_core::store::{BlobStore, BlobWriter, ChunkReader, StoreError};
use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::worker::protocol::{EXPORTS_DIR, STORE_DIR};
use imagescope_core::export::{Sink, SinkError};

/// Reads for fsck and export go through the file in chunks of this size.
const READ_CHUNK: f64 = (1 << 20) as f64;
/// Downloads arrive in chunks of tens of KiB; writing them 4 MiB at a time costs far fewer
/// calls into the file system (measured in Chromium: 54 MiB/s in 64 KiB writes, 174 in 4 MiB).
const WRITE_BUFFER: usize = 4 << 20;
const METADATA: &str = "images.json";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(extends = Object)]
    pub type StorageManager;
    #[wasm_bindgen(method, js_name = getDirectory)]
    fn get_directory(this: &StorageManager) -> Promise;
    #[wasm_bindgen(method)]
    fn estimate(this: &StorageManager) -> Promise;
    #[wasm_bindgen(method)]
    fn persisted(this: &StorageManager) -> Promise;
    #[wasm_bindgen(method)]
    fn persist(this: &StorageManager) -> Promise;

    #[wasm_bindgen(extends = Object)]
    #[derive(Clone)]
    pub type DirHandle;
    #[wasm_bindgen(method, js_name = getDirectoryHandle)]
    fn get_directory_handle(this: &DirHandle, name: &str, options: &JsValue) -> Promise;
    #[wasm_bindgen(method, js_name = getFileHandle)]
    fn get_file_handle(this: &DirHandle, name: &str, options: &JsValue) -> Promise;
    #[wasm_bindgen(method, js_name = removeEntry)]
    fn remove_entry(this: &DirHandle, name: &str) -> Promise;
    #[wasm_bindgen(method)]
    fn keys(this: &DirHandle) -> KeyIterator;

    type KeyIterator;
    #[wasm_bindgen(method)]
    fn next(this: &KeyIterator) -> Promise;

    #[wasm_bindgen(extends = Object)]
    pub type FileHandle;
    #[wasm_bindgen(method, js_name = createSyncAccessHandle)]
    fn create_sync_access_handle(this: &FileHandle) -> Promise;
    #[wasm_bindgen(method, js_name = getFile)]
    fn get_file(this: &FileHandle) -> Promise;
    #[wasm_bindgen(method, catch, js_name = move)]
    fn move_to(this: &FileHandle, dir: &DirHandle, name: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(extends = Object)]
    pub type SyncHandle;
    #[wasm_bindgen(method, catch)]
    fn write(this: &SyncHandle, data: &[u8], options: &JsValue) -> Result<f64, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn truncate(this: &SyncHandle, size: f64) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn flush(this: &SyncHandle) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = getSize)]
    fn get_size(this: &SyncHandle) -> Result<f64, JsValue>;
    #[wasm_bindgen(method)]
    fn close(this: &SyncHandle);

    #[wasm_bindgen(extends = Object)]
    pub type File;
    #[wasm_bindgen(method, getter)]
    fn size(this: &File) -> f64;
    #[wasm_bindgen(method)]
    fn slice(this: &File, start: f64, end: f64) -> File;
    #[wasm_bindgen(method, js_name = arrayBuffer)]
    fn array_buffer(this: &File) -> Promise;
}

/// `navigator.storage`, in the page or a worker.
pub fn storage() -> Result<StorageManager, String> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).map_err(|e| js_text(&e))?;
    let storage = Reflect::get(&navigator, &"storage".into()).map_err(|e| js_text(&e))?;
    if storage.is_undefined() {
        return Err("this browser has no navigator.storage (a secure context is needed)".into());
    }
    Ok(storage.unchecked_into())
}

/// `(usage, quota, persisted)` as the browser reports them.
pub async fn estimate() -> Result<(u64, u64, bool), String> {
    let storage = storage()?;
    let estimate = JsFuture::from(storage.estimate()).await.map_err(|e| js_text(&e))?;
    let number = |k: &str| Reflect::get(&estimate, &k.into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u64;
    let persisted = JsFuture::from(storage.persisted()).await.ok().and_then(|v| v.as_bool()).unwrap_or(false);
    Ok((number("usage"), number("quota"), persisted))
}

/// Asks the browser to exempt this origin's storage from eviction (Window only).
pub async fn request_persist() -> bool {
    match storage() {
        Ok(s) => JsFuture::from(s.persist()).await.ok().and_then(|v| v.as_bool()).unwrap_or(false),
        Err(_) => false,
    }
}

pub fn js_name(e: &JsValue) -> String {
    Reflect::get(e, &"name".into()).ok().and_then(|v| v.as_string()).unwrap_or_default()
}

pub fn js_text(e: &JsValue) -> String {
    let message = Reflect::get(e, &"message".into()).ok().and_then(|v| v.as_string());
    match message {
        Some(m) => format!("{}: {m}", js_name(e)),
        None => e.as_string().unwrap_or_else(|| format!("{e:?}")),
    }
}

fn is_not_found(e: &JsValue) -> bool {
    js_name(e) == "NotFoundError"
}

fn store_error(action: &'static str, what: &str, e: &JsValue) -> StoreError {
    if js_name(e) == "QuotaExceededError" {
        return StoreError::Quota { what: what.to_string() };
    }
    StoreError::Io { action, what: what.to_string(), message: js_text(e) }
}

fn create_option(create: bool) -> JsValue {
    let options = Object::new();
    let _ = Reflect::set(&options, &"create".into(), &create.into());
    options.into()
}

fn at(offset: u64) -> JsValue {
    let options = Object::new();
    let _ = Reflect::set(&options, &"at".into(), &(offset as f64).into());
    options.into()
}

pub async fn directory(parent: &DirHandle, name: &str) -> Result<DirHandle, JsValue> {
    Ok(JsFuture::from(parent.get_directory_handle(name, &create_option(true))).await?.unchecked_into())
}

/// The file `name` in `dir`; `None` when it does not exist and `create` is false.
pub async fn file(dir: &DirHandle, name: &str, create: bool) -> Result<Option<FileHandle>, JsValue> {
    match JsFuture::from(dir.get_file_handle(name, &create_option(create))).await {
        Ok(h) => Ok(Some(h.unchecked_into())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes `name`; an absent entry is not an error (abort and delete are idempotent).
async fn remove(dir: &DirHandle, name: &str) -> Result<(), JsValue> {
    match JsFuture::from(dir.remove_entry(name)).await {
        Err(e) if !is_not_found(&e) => Err(e),
        _ => Ok(()),
    }
}

async fn open_sync(handle: &FileHandle) -> Result<SyncHandle, JsValue> {
    Ok(JsFuture::from(handle.create_sync_access_handle()).await?.unchecked_into())
}

/// The `File` snapshot of a file handle: read without taking the exclusive sync lock.
pub async fn file_of(handle: &FileHandle) -> Result<File, JsValue> {
    Ok(JsFuture::from(handle.get_file()).await?.unchecked_into())
}

pub async fn root() -> Result<DirHandle, String> {
    let top: DirHandle = JsFuture::from(storage()?.get_directory()).await.map_err(|e| js_text(&e))?.unchecked_into();
    directory(&top, STORE_DIR).await.map_err(|e| js_text(&e))
}

/// Every name in `dir`.
pub async fn names(dir: &DirHandle) -> Result<Vec<String>, JsValue> {
    let iterator = dir.keys();
    let mut names = Vec::new();
    loop {
        let step = JsFuture::from(iterator.next()).await?;
        if Reflect::get(&step, &"done".into())?.as_bool().unwrap_or(true) {
            return Ok(names);
        }
        if let Some(name) = Reflect::get(&step, &"value".into())?.as_string() {
            names.push(name);
        }
    }
}

/// Writes all of `bytes` at `offset`. Chromium reports a full quota on this path by returning a
/// count other than the length (its negative file error code, read as unsigned) rather than
/// throwing, so a short write is turned into the `QuotaExceededError` the spec describes.
fn write_all(sync: &SyncHandle, bytes: &[u8], offset: u64) -> Result<(), JsValue> {
    let written = sync.write(bytes, &at(offset))?;
    if written as usize == bytes.len() {
        return Ok(());
    }
    let error = js_sys::Error::new(&format!("only {written} of {} bytes could be written", bytes.len()));
    error.set_name("QuotaExceededError");
    Err(error.into())
}

/// Writes `bytes` as the whole content of `name` through a sync handle, then closes it.
async fn write_whole(dir: &DirHandle, name: &str, bytes: &[u8]) -> Result<(), JsValue> {
    let handle = file(dir, name, true).await?.expect("created");
    let sync = open_sync(&handle).await?;
    let written = sync.truncate(0.0).and_then(|_| write_all(&sync, bytes, 0)).and_then(|_| sync.flush());
    sync.close();
    written
}

/// Writes `bytes` under `<name>.tmp`, then moves that over `name`: a worker stopped at any point
/// (a closed tab) leaves the old file or the new one, never a torn one.
async fn replace_whole(dir: &DirHandle, name: &str, bytes: &[u8]) -> Result<(), JsValue> {
    let tmp = temporary(name);
    if let Err(e) = write_whole(dir, &tmp, bytes).await {
        let _ = remove(dir, &tmp).await;
        return Err(e);
    }
    rename(dir, &tmp, dir, name).await
}

fn temporary(name: &str) -> String {
    format!("{name}.tmp")
}

/// Moves `name` from `from` to `to` under `target`, replacing what is there. `move()` is one
/// step where the browser has it; elsewhere the bytes are copied and the source removed.
async fn rename(from: &DirHandle, name: &str, to: &DirHandle, target: &str) -> Result<(), JsValue> {
    let source = file(from, name, false).await?.ok_or_else(|| JsValue::from_str("the file to move is gone"))?;
    if let Ok(moving) = source.move_to(to, target) {
        if JsFuture::from(moving).await.is_ok() {
            return Ok(());
        }
    }
    let snapshot = file_of(&source).await?;
    let destination = file(to, target, true).await?.expect("created");
    let sync = open_sync(&destination).await?;
    let copied = copy_into(&snapshot, &sync).await;
    sync.close();
    copied?;
    remove(from, name).await
}

async fn copy_into(source: &File, sync: &SyncHandle) -> Result<(), JsValue> {
    sync.truncate(0.0)?;
    let size = source.size();
    let mut position = 0.0;
    while position < size {
        let end = (position + READ_CHUNK).min(size);
        let buffer = JsFuture::from(source.slice(position, end).array_buffer()).await?;
        write_all(sync, &Uint8Array::new(&buffer).to_vec(), position as u64)?;
        position = end;
    }
    sync.flush()
}

/// The store's directories, opened once.
#[derive(Clone)]
pub struct OpfsStore {
    root: DirHandle,
    blobs: DirHandle,
    ingest: DirHandle,
}

impl OpfsStore {
    pub async fn open() -> Result<OpfsStore, String> {
        let root = root().await?;
        let blobs = directory(&root, "blobs").await.map_err(|e| js_text(&e))?;
        let ingest = directory(&root, "ingest").await.map_err(|e| js_text(&e))?;
        Ok(OpfsStore { root, blobs, ingest })
    }

    pub fn root(&self) -> &DirHandle {
        &self.root
    }

    async fn algorithm_dir(&self, digest: &Digest) -> Result<DirHandle, StoreError> {
        let name = digest.algorithm().as_str();
        directory(&self.blobs, name).await.map_err(|e| store_error("opening", name, &e))
    }

    async fn blob_file(&self, digest: &Digest) -> Result<Option<File>, StoreError> {
        let dir = self.algorithm_dir(digest).await?;
        let what = digest.to_string();
        match file(&dir, digest.hex(), false).await.map_err(|e| store_error("opening", &what, &e))? {
            Some(h) => Ok(Some(file_of(&h).await.map_err(|e| store_error("reading", &what, &e))?)),
            None => Ok(None),
        }
    }
}

/// A download in progress: `ingest/<hex>` held open through one sync handle.
pub struct OpfsWriter {
    store: OpfsStore,
    digest: Digest,
    handle: Option<SyncHandle>,
    /// Bytes accepted but not yet written, which belong at `pending_at`.
    pending: Vec<u8>,
    pending_at: u64,
}

impl OpfsWriter {
    fn state_name(&self) -> String {
        format!("{}.state", self.digest.hex())
    }

    /// The state and any copy of it a stopped worker left half-written.
    async fn remove_state(&self, what: &'static str) -> Result<(), StoreError> {
        let name = self.state_name();
        remove(&self.store.ingest, &temporary(&name)).await.map_err(|e| store_error(what, &self.digest.to_string(), &e))?;
        remove(&self.store.ingest, &name).await.map_err(|e| store_error(what, &self.digest.to_string(), &e))
    }

    fn sync(&self) -> &SyncHandle {
        self.handle.as_ref().expect("open until commit or abort")
    }

    fn write_pending(&mut self) -> Result<(), JsValue> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let written = write_all(self.sync(), &self.pending, self.pending_at);
        self.pending.clear();
        written
    }

    /// Writes what is buffered; on failure the error is handled like any other write's.
    async fn settle(&mut self) -> Result<(), StoreError> {
        match self.write_pending() {
            Ok(()) => Ok(()),
            Err(e) => Err(self.failed("writing", e).await),
        }
    }

    /// Closes the handle and deletes the partial blob and its state.
    async fn discard(&mut self) -> Result<(), StoreError> {
        self.pending.clear();
        if let Some(h) = self.handle.take() {
            h.close();
        }
        let what = self.digest.to_string();
        remove(&self.store.ingest, self.digest.hex()).await.map_err(|e| store_error("deleting", &what, &e))?;
        self.remove_state("deleting").await
    }

    /// A full disk leaves nothing half-written behind: the partial blob goes at once, so the
    /// space is back and a later pull starts this blob clean.
    async fn failed(&mut self, action: &'static str, e: JsValue) -> StoreError {
        let error = store_error(action, &self.digest.to_string(), &e);
        if matches!(error, StoreError::Quota { .. }) {
            let _ = self.discard().await;
        }
        error
    }
}

impl Drop for OpfsWriter {
    /// A writer dropped mid-way (cancel, a failed pull) keeps its bytes for a resume, but must
    /// release the exclusive lock so the next attempt can open the file.
    fn drop(&mut self) {
        if self.handle.is_some() {
            let _ = self.write_pending();
        }
        if let Some(h) = self.handle.take() {
            let _ = h.flush();
            h.close();
        }
    }
}

impl BlobWriter for OpfsWriter {
    async fn current_len(&mut self) -> Result<u64, StoreError> {
        self.settle().await?;
        match self.sync().get_size() {
            Ok(n) => Ok(n as u64),
            Err(e) => Err(self.failed("measuring", e).await),
        }
    }

    async fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let contiguous = offset == self.pending_at + self.pending.len() as u64;
        // Written out before it would outgrow its allocation, so the buffer never reallocates.
        if !self.pending.is_empty() && (!contiguous || self.pending.len() + bytes.len() > WRITE_BUFFER) {
            self.settle().await?;
        }
        if self.pending.is_empty() {
            self.pending_at = offset;
        }
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= WRITE_BUFFER {
            self.settle().await?;
        }
        Ok(())
    }

    async fn truncate(&mut self, len: u64) -> Result<(), StoreError> {
        self.settle().await?;
        match self.sync().truncate(len as f64) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.failed("truncating", e).await),
        }
    }

    /// The data is flushed first, so a saved state never covers bytes that are not on disk.
    async fn save_state(&mut self, state: &[u8]) -> Result<(), StoreError> {
        self.settle().await?;
        if let Err(e) = self.sync().flush() {
            return Err(self.failed("flushing", e).await);
        }
        let name = self.state_name();
        match replace_whole(&self.store.ingest, &name, state).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.failed("saving the state of", e).await),
        }
    }

    async fn load_state(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        let what = self.digest.to_string();
        let Some(handle) = file(&self.store.ingest, &self.state_name(), false).await.map_err(|e| store_error("opening", &what, &e))? else {
            return Ok(None);
        };
        let snapshot = file_of(&handle).await.map_err(|e| store_error("reading", &what, &e))?;
        let buffer = JsFuture::from(snapshot.array_buffer()).await.map_err(|e| store_error("reading", &what, &e))?;
        Ok(Some(Uint8Array::new(&buffer).to_vec()))
    }

    async fn commit(mut self) -> Result<(), StoreError> {
        let what = self.digest.to_string();
        self.settle().await?;
        if let Some(h) = self.handle.take() {
            let flushed = h.flush();
            h.close();
            flushed.map_err(|e| store_error("flushing", &what, &e))?;
        }
        let dir = self.store.algorithm_dir(&self.digest).await?;
        rename(&self.store.ingest, self.digest.hex(), &dir, self.digest.hex()).await.map_err(|e| store_error("committing", &what, &e))?;
        self.remove_state("deleting the state of").await
    }

    async fn abort(mut self) -> Result<(), StoreError> {
        self.discard().await
    }
}

/// A committed blob read through a `File` snapshot, one chunk at a time.
pub struct OpfsReader {
    file: File,
    position: f64,
    what: String,
}

impl ChunkReader for OpfsReader {
    async fn chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        let size = self.file.size();
        if self.position >= size {
            return Ok(None);
        }
        let end = (self.position + READ_CHUNK).min(size);
        let buffer = JsFuture::from(self.file.slice(self.position, end).array_buffer()).await.map_err(|e| store_error("reading", &self.what, &e))?;
        self.position = end;
        Ok(Some(Uint8Array::new(&buffer).to_vec()))
    }
}

impl BlobStore for OpfsStore {
    type Writer = OpfsWriter;
    type Reader = OpfsReader;

    async fn has(&self, digest: &Digest) -> Result<bool, StoreError> {
        let dir = self.algorithm_dir(digest).await?;
        Ok(file(&dir, digest.hex(), false).await.map_err(|e| store_error("opening", &digest.to_string(), &e))?.is_some())
    }

    async fn size(&self, digest: &Digest) -> Result<Option<u64>, StoreError> {
        Ok(self.blob_file(digest).await?.map(|f| f.size() as u64))
    }

    async fn writer(&self, digest: &Digest) -> Result<OpfsWriter, StoreError> {
        let what = digest.to_string();
        let handle = file(&self.ingest, digest.hex(), true).await.map_err(|e| store_error("creating", &what, &e))?.expect("created");
        let sync = open_sync(&handle).await.map_err(|e| store_error("opening", &what, &e))?;
        Ok(OpfsWriter { store: self.clone(), digest: digest.clone(), handle: Some(sync), pending: Vec::with_capacity(WRITE_BUFFER), pending_at: 0 })
    }

    async fn reader(&self, digest: &Digest) -> Result<OpfsReader, StoreError> {
        let file = self.blob_file(digest).await?.ok_or_else(|| StoreError::Missing(digest.clone()))?;
        Ok(OpfsReader { file, position: 0.0, what: digest.to_string() })
    }

    async fn delete(&self, digest: &Digest) -> Result<(), StoreError> {
        let dir = self.algorithm_dir(digest).await?;
        remove(&dir, digest.hex()).await.map_err(|e| store_error("deleting", &digest.to_string(), &e))
    }

    async fn list(&self) -> Result<Vec<Digest>, StoreError> {
        let algorithms = names(&self.blobs).await.map_err(|e| store_error("listing", "blobs", &e))?;
        let mut all = Vec::new();
        for algorithm in algorithms {
            let dir = directory(&self.blobs, &algorithm).await.map_err(|e| store_error("listing", &algorithm, &e))?;
            for hex in names(&dir).await.map_err(|e| store_error("listing", &algorithm, &e))? {
                if let Ok(d) = Digest::parse(&format!("{algorithm}:{hex}")) {
                    all.push(d);
                }
            }
        }
        all.sort();
        Ok(all)
    }

    async fn read_metadata(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(handle) = file(&self.root, METADATA, false).await.map_err(|e| store_error("opening", METADATA, &e))? else {
            return Ok(None);
        };
        let snapshot = file_of(&handle).await.map_err(|e| store_error("reading", METADATA, &e))?;
        let buffer = JsFuture::from(snapshot.array_buffer()).await.map_err(|e| store_error("reading", METADATA, &e))?;
        Ok(Some(Uint8Array::new(&buffer).to_vec()))
    }

    async fn write_metadata(&self, bytes: &[u8]) -> Result<(), StoreError> {
        replace_whole(&self.root, METADATA, bytes).await.map_err(|e| store_error("writing", METADATA, &e))
    }
}

/// The export archive, written straight to `exports/<name>` through a sync handle, so an
/// image of any size passes through the worker one chunk at a time.
pub struct SyncHandleSink {
    sync: Option<SyncHandle>,
    written: u64,
}

impl SyncHandleSink {
    /// Creates `exports/<name>`, removing earlier exports first: each is handed to the person
    /// once, and keeping them would only eat the quota the store needs.
    pub async fn create(root: &DirHandle, name: &str) -> Result<SyncHandleSink, String> {
        let exports = directory(root, EXPORTS_DIR).await.map_err(|e| js_text(&e))?;
        for old in names(&exports).await.map_err(|e| js_text(&e))? {
            let _ = remove(&exports, &old).await;
        }
        let handle = file(&exports, name, true).await.map_err(|e| js_text(&e))?.expect("created");
        let sync = open_sync(&handle).await.map_err(|e| js_text(&e))?;
        sync.truncate(0.0).map_err(|e| js_text(&e))?;
        Ok(SyncHandleSink { sync: Some(sync), written: 0 })
    }

    pub async fn finish(&mut self) -> Result<(), String> {
        let Some(sync) = self.sync.take() else { return Ok(()) };
        let flushed = sync.flush();
        sync.close();
        flushed.map_err(|e| js_text(&e))
    }
}

impl Drop for SyncHandleSink {
    fn drop(&mut self) {
        if let Some(sync) = self.sync.take() {
            sync.close();
        }
    }
}

impl Sink for SyncHandleSink {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        let sync = self.sync.as_ref().ok_or_else(|| SinkError("the archive is already closed".into()))?;
        write_all(sync, bytes, self.written).map_err(|e| SinkError(js_text(&e)))?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

pub async fn remove_export(root: &DirHandle, name: &str) -> Result<(), String> {
    let exports = directory(root, EXPORTS_DIR).await.map_err(|e| js_text(&e))?;
    remove(&exports, name).await.map_err(|e| js_text(&e))
}

/// The exported archive as a disk-backed `File`, for the page to hand to the person.
pub async fn exported_file(name: &str) -> Result<File, String> {
    let exports = directory(&root().await?, EXPORTS_DIR).await.map_err(|e| js_text(&e))?;
    let handle = file(&exports, name, false).await.map_err(|e| js_text(&e))?.ok_or_else(|| format!("the export {name} is gone"))?;
    file_of(&handle).await.map_err(|e| js_text(&e))
}
