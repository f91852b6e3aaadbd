//! The Files view's work in the store worker: listing one layer, or the merged filesystem of
//! all of them, while their blobs stream in (from the store when it holds them, else from the
//! registry as the page reached it); rows for the view the page asks for; one layer's changes;
//! one file's contents for the viewer or for a download. Only listings are kept in memory:
//! blob and file bytes pass through a piece at a time.

use super::files_protocol::{FilesCommand, FilesReply, LayerBlob, Registry, Summary};
use super::{post, Store};
use crate::fetch::{DateClock, FetchBody, FetchTransport};
use crate::opfs::{self, OpfsReader, SyncHandleSink};
use futures::future::{select, AbortHandle, Abortable, Either};
use imagescope_core::client::Client;
use imagescope_core::digest::{Digest, DigestError, Verifier, VerifyError};
use imagescope_core::error::Error;
use imagescope_core::export::Sink;
use imagescope_core::layers::{Capture, EntryKind, Event, LayerError, LayerReader, LayerTree, MergedTree, View};
use imagescope_core::media_type::Compression;
use imagescope_core::reference::Reference;
use imagescope_core::store::{BlobStore, ChunkReader, StoreError};
use imagescope_core::transport::Body;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::pin::pin;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// Rows sent for one view; the page says how many more there are and offers search.
const ROW_LIMIT: usize = 2000;
const CHANGE_LIMIT: usize = 2000;
/// While a listing streams, its progress and rows are sent at most this often.
const UPDATE_INTERVAL_MS: f64 = 200.0;
/// The largest file the text viewer opens; larger ones are saved instead.
const TEXT_LIMIT: u64 = 4 * 1024 * 1024;
/// File contents are decoded from at most this many blob bytes at a time, so even a highly
/// compressed stretch reaches the viewer or the file in bounded pieces.
const CONTENT_FEED: usize = 16 * 1024;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, millis: i32) -> i32;
}

/// Resolves after `millis`.
pub(super) async fn sleep(millis: f64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, millis as i32);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error(transparent)]
    Client(#[from] Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("layer digest {0}")]
    Digest(#[from] DigestError),
    #[error("layer {number} ({digest}) has media type {media_type}, which is not a tar layer")]
    NotTar { number: usize, digest: String, media_type: String },
    #[error("layer {number} ({digest}): {source}")]
    Layer { number: usize, digest: Digest, source: LayerError },
    #[error("layer {number}: {source}")]
    Verify { number: usize, source: VerifyError },
    #[error("the image has {count} layers; there is no layer {number}")]
    NoSuchLayer { number: usize, count: usize },
    #[error("this listing was closed; open the files again")]
    Closed,
    #[error("reading was stopped; what was listed so far stays")]
    Cancelled,
    #[error("{0} is not in the listing")]
    NotListed(String),
    #[error("{path} is a {kind}, not a file with contents of its own")]
    NotAFile { path: String, kind: &'static str },
    #[error("{path} is {size} bytes: the viewer opens text files up to {limit} bytes; save it instead")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("{0} is not text (it holds binary data); save it instead")]
    Binary(String),
    #[error("{path} is not in the archive of layer {number}")]
    NotInArchive { path: String, number: usize },
    #[error("changes are worked out against the layers below, so they need the whole image: open its filesystem")]
    NeedsImage,
    #[error("saving the file failed: {0}")]
    Save(String),
}

impl FilesError {
    /// The page's `data-kind` for a failed listing.
    fn kind(&self) -> &'static str {
        match self {
            FilesError::Client(e) => e.kind(),
            FilesError::Store(StoreError::Quota { .. }) => "quota",
            FilesError::Store(_) | FilesError::Save(_) => "store",
            FilesError::Verify { .. } => "blob",
            FilesError::Cancelled => "cancelled",
            FilesError::Digest(_) | FilesError::NotTar { .. } | FilesError::NoSuchLayer { .. } => "manifest",
            _ => "layer",
        }
    }
}

struct Layer {
    digest: Digest,
    media_type: String,
    size: u64,
}

impl Layer {
    /// How the blob is compressed; a layer that is no tar (an SBOM, say) has no files to list.
    fn compression(&self, index: usize) -> Result<Compression, FilesError> {
        Compression::of_layer(&self.media_type).ok_or_else(|| FilesError::NotTar { number: index + 1, digest: self.digest.to_string(), media_type: self.media_type.clone() })
    }
}

enum Listing {
    Layer(LayerTree),
    Image(MergedTree),
}

type WorkerClient = Client<FetchTransport, DateClock>;

/// One open listing: what it reads from, what it has listed, and how to stop its work.
struct Session {
    client: WorkerClient,
    repository: String,
    layers: Vec<Layer>,
    /// The layer listed, or `None` for the merged filesystem.
    layer: Option<usize>,
    listing: RefCell<Listing>,
    view: RefCell<View>,
    reading: RefCell<Option<AbortHandle>>,
    /// Reads and saves under way, which closing the listing aborts.
    transfers: RefCell<BTreeMap<u64, AbortHandle>>,
    /// Numbers transfers and the files saved.
    counter: Cell<u64>,
}

thread_local! {
    static SESSIONS: RefCell<BTreeMap<u64, Rc<Session>>> = const { RefCell::new(BTreeMap::new()) };
}

fn session(id: u64) -> Result<Rc<Session>, FilesError> {
    SESSIONS.with(|s| s.borrow().get(&id).cloned()).ok_or(FilesError::Closed)
}

fn failed(id: u64, kind: &str, path: Option<String>, error: &FilesError) -> FilesReply {
    FilesReply::FilesFailed { id, kind: kind.to_string(), path, message: error.to_string() }
}

pub async fn run(store: &Store, id: u64, command: FilesCommand) {
    let reply = match command {
        FilesCommand::Open { registry, layers, layer, view } => {
            match open(id, &registry, &layers, layer, view) {
                Ok(session) => list(store, id, &session).await,
                Err(e) => post(&failed(id, e.kind(), None, &e)),
            }
            return;
        }
        FilesCommand::View { view } => match session(id) {
            Ok(s) => {
                *s.view.borrow_mut() = view;
                s.rows(id)
            }
            Err(e) => failed(id, "view", None, &e),
        },
        FilesCommand::Changes { layer } => match session(id).and_then(|s| s.changes(id, layer)) {
            Ok(reply) => reply,
            Err(e) => failed(id, "changes", None, &e),
        },
        FilesCommand::Read { path } => {
            let read = match session(id) {
                Ok(s) => s.transfer(read_text(store, id, &s, &path)).await,
                Err(e) => Err(e),
            };
            read.unwrap_or_else(|e| failed(id, "read", Some(path), &e))
        }
        FilesCommand::Save { path } => {
            let saved = match session(id) {
                Ok(s) => s.transfer(save(store, id, &s, &path)).await,
                Err(e) => Err(e),
            };
            saved.unwrap_or_else(|e| failed(id, "save", Some(path), &e))
        }
        FilesCommand::Cancel => {
            if let Ok(s) = session(id) {
                s.stop_reading();
            }
            return;
        }
        FilesCommand::Close => {
            if let Some(s) = SESSIONS.with(|s| s.borrow_mut().remove(&id)) {
                s.stop_reading();
                s.transfers.borrow().values().for_each(AbortHandle::abort);
            }
            return;
        }
    };
    post(&reply);
}

fn open(id: u64, registry: &Registry, blobs: &[LayerBlob], layer: Option<usize>, view: View) -> Result<Rc<Session>, FilesError> {
    let reference = Reference::parse(&registry.reference).map_err(Error::Reference)?;
    let transport = match &registry.proxy_origin {
        Some(origin) => FetchTransport::via_proxy(origin),
        None => FetchTransport::direct(),
    };
    let client = Client::new(transport, DateClock, &reference.endpoint(&[]), registry.credential.clone().into())?;
    let layers = blobs
        .iter()
        .map(|b| Ok(Layer { digest: Digest::parse(&b.digest)?, media_type: b.media_type.clone(), size: b.size }))
        .collect::<Result<Vec<_>, FilesError>>()?;
    let listing = match layer {
        Some(i) if i >= layers.len() => return Err(FilesError::NoSuchLayer { number: i + 1, count: layers.len() }),
        Some(i) => Listing::Layer(LayerTree::new(i)),
        None => Listing::Image(MergedTree::new()),
    };
    let session = Rc::new(Session {
        client,
        repository: reference.path().to_string(),
        layers,
        layer,
        listing: RefCell::new(listing),
        view: RefCell::new(view),
        reading: RefCell::new(None),
        transfers: RefCell::new(BTreeMap::new()),
        counter: Cell::new(0),
    });
    SESSIONS.with(|s| s.borrow_mut().insert(id, session.clone()));
    Ok(session)
}

/// A layer blob as it is read: from the store (verified when it was stored) or from the
/// registry, verified on the way.
enum Blob {
    Stored(OpfsReader),
    Fetched { body: FetchBody, verifier: Box<Verifier>, number: usize },
}

impl Blob {
    async fn open(store: &Store, session: &Session, index: usize) -> Result<Blob, FilesError> {
        let layer = &session.layers[index];
        if store.blobs().has(&layer.digest).await? {
            return Ok(Blob::Stored(store.blobs().reader(&layer.digest).await?));
        }
        let response = session.client.open_blob(&session.repository, &layer.digest, None).await?;
        Ok(Blob::Fetched { body: response.body, verifier: Box::new(Verifier::new(layer.digest.clone(), layer.size)), number: index + 1 })
    }

    fn source(&self) -> &'static str {
        match self {
            Blob::Stored(_) => "store",
            Blob::Fetched { .. } => "registry",
        }
    }

    async fn chunk(&mut self) -> Result<Option<Vec<u8>>, FilesError> {
        match self {
            Blob::Stored(reader) => Ok(reader.chunk().await?),
            Blob::Fetched { body, verifier, number } => {
                let chunk = body.chunk().await.map_err(Error::from)?;
                if let Some(bytes) = &chunk {
                    verifier.update(bytes).map_err(|source| FilesError::Verify { number: *number, source })?;
                }
                Ok(chunk)
            }
        }
    }

    /// Reads what is left of a registry blob and checks the digest of the whole of it.
    async fn verify(mut self) -> Result<(), FilesError> {
        if let Blob::Stored(_) = self {
            return Ok(());
        }
        while self.chunk().await?.is_some() {}
        match self {
            Blob::Stored(_) => Ok(()),
            Blob::Fetched { verifier, number, .. } => verifier.finish().map_err(|source| FilesError::Verify { number, source }),
        }
    }
}

/// Where a listing stands, and when the page last heard of it.
struct Progress {
    layer: usize,
    source: &'static str,
    done: u64,
    total: u64,
    entries: u64,
    sent_ms: f64,
    /// Bytes were read since the page last heard.
    unsent: bool,
}

impl Session {
    fn rows(&self, id: u64) -> FilesReply {
        let view = self.view.borrow();
        let rows = match &*self.listing.borrow() {
            Listing::Layer(tree) => tree.rows(&view, ROW_LIMIT),
            Listing::Image(tree) => tree.rows(&view, ROW_LIMIT),
        };
        FilesReply::FilesRows { id, rows: rows.rows, total: rows.total }
    }

    fn changes(&self, id: u64, layer: usize) -> Result<FilesReply, FilesError> {
        let Listing::Image(tree) = &*self.listing.borrow() else {
            return Err(FilesError::NeedsImage);
        };
        let all = tree.changes(layer);
        Ok(FilesReply::FilesChanges { id, layer, changes: all.iter().take(CHANGE_LIMIT).cloned().collect(), total: all.len() })
    }

    fn update(&self, id: u64, progress: &Progress, finished: bool) {
        post(&FilesReply::FilesProgress {
            id,
            layer: progress.layer,
            source: progress.source.to_string(),
            done: progress.done,
            total: progress.total,
            entries: progress.entries,
            finished,
        });
        post(&self.rows(id));
    }

    /// The progress and rows so far, while reading goes on.
    fn send(&self, id: u64, progress: &mut Progress) {
        progress.sent_ms = js_sys::Date::now();
        progress.unsent = false;
        self.update(id, progress, false);
    }

    fn stop_reading(&self) {
        if let Some(handle) = self.reading.borrow_mut().take() {
            handle.abort();
        }
    }

    fn next(&self) -> u64 {
        self.counter.set(self.counter.get() + 1);
        self.counter.get()
    }

    /// Runs a read or save that closing the listing aborts.
    async fn transfer<T>(&self, work: impl std::future::Future<Output = Result<T, FilesError>>) -> Result<T, FilesError> {
        let (handle, registration) = AbortHandle::new_pair();
        let key = self.next();
        self.transfers.borrow_mut().insert(key, handle);
        let result = Abortable::new(work, registration).await;
        self.transfers.borrow_mut().remove(&key);
        result.unwrap_or(Err(FilesError::Closed))
    }

    /// The layer whose archive holds `path`'s contents, the archive path to capture (a
    /// hardlink's target) and its size.
    fn locate(&self, path: &str) -> Result<(usize, String, u64), FilesError> {
        let not_a_file = |kind: &EntryKind| FilesError::NotAFile { path: path.to_string(), kind: kind_word(kind) };
        match &*self.listing.borrow() {
            Listing::Layer(tree) => {
                let layer = self.layer.expect("a layer listing names its layer");
                let entry = tree.get(path).ok_or_else(|| FilesError::NotListed(path.to_string()))?;
                match &entry.kind {
                    EntryKind::File => Ok((layer, entry.path.clone(), entry.size)),
                    EntryKind::Hardlink { target } => Ok((layer, target.clone(), tree.get(target).map_or(0, |t| t.size))),
                    kind => Err(not_a_file(kind)),
                }
            }
            Listing::Image(tree) => {
                let node = tree.get(path).ok_or_else(|| FilesError::NotListed(path.to_string()))?;
                match (&node.kind, node.layer) {
                    (EntryKind::File, Some(layer)) => Ok((layer, path.to_string(), node.size)),
                    (EntryKind::Hardlink { target }, Some(layer)) => Ok((layer, target.clone(), node.size)),
                    (kind, _) => Err(not_a_file(kind)),
                }
            }
        }
    }
}

fn kind_word(kind: &EntryKind) -> &'static str {
    match kind {
        EntryKind::Dir => "directory",
        EntryKind::Symlink { .. } => "symbolic link (open its target)",
        EntryKind::CharDevice { .. } | EntryKind::BlockDevice { .. } => "device",
        EntryKind::Fifo => "named pipe",
        EntryKind::Whiteout { .. } | EntryKind::Opaque { .. } => "deletion",
        EntryKind::File | EntryKind::Hardlink { .. } => "file",
    }
}

/// Streams the listing's layers, answering the page as it goes; a cancel keeps what was listed.
async fn list(store: &Store, id: u64, session: &Rc<Session>) {
    let (handle, registration) = AbortHandle::new_pair();
    *session.reading.borrow_mut() = Some(handle);
    let indexes: Vec<usize> = match session.layer {
        Some(i) => vec![i],
        None => (0..session.layers.len()).collect(),
    };
    let total = indexes.iter().map(|&i| session.layers[i].size).sum();
    let mut progress = Progress { layer: indexes.first().copied().unwrap_or(0), source: "registry", done: 0, total, entries: 0, sent_ms: 0.0, unsent: false };
    let read = Abortable::new(read_layers(store, id, session, &indexes, &mut progress), registration).await;
    session.reading.borrow_mut().take();
    let outcome = read.unwrap_or(Err(FilesError::Cancelled));
    session.update(id, &progress, outcome.is_ok());
    match outcome {
        Ok(()) => {
            if let Listing::Image(tree) = &*session.listing.borrow() {
                let s = tree.summary();
                let summary = Summary { layers: s.layers, file_bytes: s.file_bytes, final_bytes: s.final_bytes, wasted_bytes: s.wasted_bytes, entries: s.entries as u64 };
                post(&FilesReply::FilesSummary { id, summary });
            }
        }
        Err(e) => post(&failed(id, e.kind(), None, &e)),
    }
}

/// The blob's next chunk; when it is slow to come, the page first hears what was read before,
/// so a stalled download never hides entries already listed.
async fn next_chunk(blob: &mut Blob, id: u64, session: &Session, progress: &mut Progress) -> Result<Option<Vec<u8>>, FilesError> {
    let next = pin!(blob.chunk());
    if !progress.unsent {
        return next.await;
    }
    let wait = (progress.sent_ms + UPDATE_INTERVAL_MS - js_sys::Date::now()).max(0.0);
    match select(next, pin!(sleep(wait))).await {
        Either::Left((chunk, _)) => chunk,
        Either::Right(((), next)) => {
            session.send(id, progress);
            next.await
        }
    }
}

async fn read_layers(store: &Store, id: u64, session: &Session, indexes: &[usize], progress: &mut Progress) -> Result<(), FilesError> {
    for &index in indexes {
        let layer = &session.layers[index];
        let layer_error = |source| FilesError::Layer { number: index + 1, digest: layer.digest.clone(), source };
        if let Listing::Image(tree) = &mut *session.listing.borrow_mut() {
            tree.begin_layer(index).expect("layers are read in order");
        }
        let compression = layer.compression(index)?;
        let mut blob = Blob::open(store, session, index).await?;
        progress.layer = index;
        progress.source = blob.source();
        session.update(id, progress, false);
        let mut reader = LayerReader::new(compression, None);
        let seen = Cell::new(0u64);
        let mut add = |event| {
            if let Event::Entry(entry) = event {
                seen.set(seen.get() + 1);
                match &mut *session.listing.borrow_mut() {
                    Listing::Layer(tree) => tree.add(entry),
                    Listing::Image(tree) => tree.apply(index, &entry).expect("layers are read in order"),
                }
            }
        };
        while let Some(chunk) = next_chunk(&mut blob, id, session, progress).await? {
            reader.feed(&chunk, &mut add).map_err(layer_error)?;
            progress.done += chunk.len() as u64;
            progress.entries += seen.take();
            progress.unsent = true;
            if js_sys::Date::now() - progress.sent_ms >= UPDATE_INTERVAL_MS {
                session.send(id, progress);
            }
        }
        reader.finish(&mut add).map_err(layer_error)?;
        progress.entries += seen.take();
        blob.verify().await?;
    }
    Ok(())
}

/// Where captured contents go: memory for the viewer, a file for a download.
enum Target {
    Text(Vec<u8>),
    File(SyncHandleSink),
}

impl Target {
    async fn put(&mut self, bytes: &[u8]) -> Result<(), FilesError> {
        match self {
            Target::Text(buffer) => {
                buffer.extend_from_slice(bytes);
                Ok(())
            }
            Target::File(sink) => sink.write(bytes).await.map_err(|e| FilesError::Save(e.to_string())),
        }
    }
}

/// A file's contents handed over: the blob, read up to just past them, and whether `limit`
/// cut them short.
struct Captured {
    blob: Blob,
    bytes: u64,
    truncated: bool,
}

/// Streams layer `index` until the contents of `path` (an archive path) have all gone to `target`.
async fn capture(store: &Store, session: &Session, index: usize, path: &str, limit: Option<u64>, target: &mut Target) -> Result<Captured, FilesError> {
    let layer = &session.layers[index];
    let layer_error = |source| FilesError::Layer { number: index + 1, digest: layer.digest.clone(), source };
    let compression = layer.compression(index)?;
    let mut blob = Blob::open(store, session, index).await?;
    let mut reader = LayerReader::new(compression, Some(Capture { path: path.to_string(), limit }));
    let pieces = RefCell::new(Vec::new());
    let end = Cell::new(None);
    let mut on_event = |event| match event {
        Event::Content(piece) => pieces.borrow_mut().push(piece),
        Event::ContentEnd { truncated } => end.set(Some(truncated)),
        Event::Entry(_) => {}
    };
    let mut bytes = 0u64;
    loop {
        let chunk = blob.chunk().await?;
        let parts: Vec<&[u8]> = chunk.as_deref().map_or_else(Vec::new, |c| c.chunks(CONTENT_FEED).collect());
        for part in parts {
            reader.feed(part, &mut on_event).map_err(layer_error)?;
            let taken = pieces.take();
            for piece in taken {
                bytes += piece.len() as u64;
                target.put(&piece).await?;
            }
            if end.get().is_some() {
                break;
            }
        }
        if chunk.is_none() {
            reader.finish(&mut on_event).map_err(layer_error)?;
            for piece in pieces.take() {
                bytes += piece.len() as u64;
                target.put(&piece).await?;
            }
        }
        match end.get() {
            Some(truncated) => return Ok(Captured { blob, bytes, truncated }),
            None if chunk.is_none() => return Err(FilesError::NotInArchive { path: path.to_string(), number: index + 1 }),
            None => {}
        }
    }
}

async fn read_text(store: &Store, id: u64, session: &Session, path: &str) -> Result<FilesReply, FilesError> {
    let (index, archive_path, size) = session.locate(path)?;
    let too_large = |size| FilesError::TooLarge { path: path.to_string(), size, limit: TEXT_LIMIT };
    if size > TEXT_LIMIT {
        return Err(too_large(size));
    }
    let mut target = Target::Text(Vec::with_capacity(size as usize));
    let captured = capture(store, session, index, &archive_path, Some(TEXT_LIMIT), &mut target).await?;
    if captured.truncated {
        return Err(too_large(captured.bytes));
    }
    let Target::Text(bytes) = target else { unreachable!("reads go to memory") };
    let text = String::from_utf8(bytes).ok().filter(|t| !t.contains('\0')).ok_or_else(|| FilesError::Binary(path.to_string()))?;
    Ok(FilesReply::FileText { id, path: path.to_string(), text })
}

/// The last component of a path, for the name of a download.
fn download_name(path: &str) -> String {
    match path.rsplit('/').next() {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => "file".to_string(),
    }
}

/// Writes the file into `exports/` a piece at a time, then checks the rest of the blob's
/// digest when it came from the registry, so what is handed over is what the image holds.
async fn save(store: &Store, id: u64, session: &Session, path: &str) -> Result<FilesReply, FilesError> {
    let (index, archive_path, _) = session.locate(path)?;
    let file = format!("{id}-{}.file", session.next());
    let root = store.blobs().root();
    let mut target = Target::File(SyncHandleSink::create(root, &file).await.map_err(FilesError::Save)?);
    let written = match capture(store, session, index, &archive_path, None, &mut target).await {
        Ok(captured) => captured.blob.verify().await.map(|()| captured.bytes),
        Err(e) => Err(e),
    };
    let Target::File(mut sink) = target else { unreachable!("saves go to a file") };
    let closed = sink.finish().await.map_err(FilesError::Save);
    match written.and_then(|bytes| closed.map(|()| bytes)) {
        Ok(bytes) => Ok(FilesReply::FileSaved { id, path: path.to_string(), file, download_name: download_name(path), bytes }),
        Err(e) => {
            let _ = opfs::remove_export(root, &file).await;
            Err(e)
        }
    }
}
