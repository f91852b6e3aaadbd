//! PullImage: every blob of a resolved image into a [`BlobStore`], each verified (size and
//! digest, optionally the uncompressed diff_id) before it becomes visible, then recorded in
//! the [`ImageStore`].
//!
//! Layers download concurrently as plain futures (`buffer_unordered`), so the engine needs no
//! threads and no executor of its own: a Web Worker drives it with its event loop, the
//! command with `pollster`. A blob cut off mid-way keeps its bytes and hasher state; the next
//! attempt asks for the rest with `Range` and still checks the final digest.

pub mod diff_id;
pub mod events;
pub mod range;
#[cfg(test)]
mod tests;

pub use events::{docker_lines, progress_bar, recovery_notice, BlobKind, BlobStatus, PullEvent};

use crate::client::{Client, Inspection, CONFIG_LIMIT};
use crate::digest::{Digest, Verifier, VerifyError};
use crate::error::Error;
use crate::manifest::{self, Descriptor, Manifest};
use crate::media_type::Compression;
use crate::platform::Platform;
use crate::reference::Reference;
use crate::status::Image;
use crate::store::{put_blob, BlobStore, BlobWriter, ChunkReader, ImageRecord, ImageStore, StoreError, StoredManifest};
use crate::transport::{Body, Clock, Transport};
use diff_id::{DecompressError, DiffIdHasher};
use futures::stream::{self, StreamExt};
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// Tags listed per page when pulling every tag of a repository.
const TAG_PAGE: u32 = 1000;
const MAX_TAG_PAGES: usize = 1000;

/// Set by the caller (a Cancel button, a worker message). Downloads check it between chunks and
/// race it against every wait on the network, so a stalled registry cannot hold a cancelled pull.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Rc<CancelState>);

#[derive(Debug, Default)]
struct CancelState {
    cancelled: Cell<bool>,
    /// Tasks parked in [`CancelToken::unless_cancelled`], woken by a cancel.
    waiting: RefCell<Vec<Waker>>,
}

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    pub fn cancel(&self) {
        self.0.cancelled.set(true);
        for waker in self.0.waiting.take() {
            waker.wake();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.get()
    }

    /// `future`'s output, or `None` as soon as the token is cancelled; `future` is then dropped
    /// unfinished (which, for a response body, stops the download).
    pub async fn unless_cancelled<F: Future>(&self, future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        poll_fn(|cx| {
            if self.is_cancelled() {
                return Poll::Ready(None);
            }
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            let mut waiting = self.0.waiting.borrow_mut();
            if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
                waiting.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullOptions {
    /// Layers downloaded at once (docker's default is 3).
    pub jobs: usize,
    /// Every entry of an index instead of the chosen platform only.
    pub all_platforms: bool,
    /// Decompress each new layer and compare its sha256 with the config's `rootfs.diff_ids`.
    pub verify_diff_ids: bool,
    /// Seconds since the epoch, recorded as the pull time.
    pub now: u64,
    /// Save the hasher state every this many bytes, bounding what a resume after a closed tab
    /// fetches again (a retry within the pull continues from the last byte). Each save flushes
    /// the blob file, so saving less often pulls faster.
    pub checkpoint_bytes: u64,
    /// How often one blob's download is resumed after its connection failed, within one pull.
    pub retries: u32,
}

impl PullOptions {
    pub fn new(now: u64) -> PullOptions {
        PullOptions { jobs: 3, all_platforms: false, verify_diff_ids: false, now, checkpoint_bytes: 32 * 1024 * 1024, retries: 2 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Registry(#[from] Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("layer {digest} failed verification: {source}; nothing of it was stored")]
    Verify { digest: Digest, source: VerifyError },
    #[error("layer {digest}: the download broke off at byte {offset} of {size} ({message}); pull again to resume from there")]
    Interrupted { digest: Digest, offset: u64, size: u64, message: String },
    #[error("layer {digest} decompresses to {actual}, but the config's rootfs.diff_ids[{index}] is {expected}; the image is inconsistent and was not stored")]
    DiffId { digest: Digest, index: usize, expected: Digest, actual: Digest },
    #[error("layer {digest} cannot be decompressed to check its diff_id: {source}")]
    Decompress { digest: Digest, source: DecompressError },
    #[error("{0} is a schema1 image, which no current runtime pulls; push it again as a schema2 or OCI image")]
    Schema1(String),
    #[error("{reference} is {reason}, not a runnable image")]
    NotAnImage { reference: String, reason: String },
    #[error("the pull was cancelled; the bytes already downloaded are kept and the next pull resumes from them")]
    Cancelled,
}

impl PullError {
    /// A stable word for the kind of failure (the page's `data-kind`, the command's JSON).
    pub fn kind(&self) -> &'static str {
        match self {
            PullError::Registry(e) => e.kind(),
            PullError::Store(StoreError::Quota { .. }) => "quota",
            PullError::Store(_) => "store",
            PullError::Verify { .. } => "blob",
            PullError::Interrupted { .. } => "network",
            PullError::DiffId { .. } | PullError::Decompress { .. } => "diff_id",
            PullError::Schema1(_) | PullError::NotAnImage { .. } => "manifest",
            PullError::Cancelled => "cancelled",
        }
    }

    pub fn code(&self) -> Option<String> {
        match self {
            PullError::Registry(e) => e.code(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PullOutcome {
    pub image: Image,
    pub record: ImageRecord,
    /// A name now points at this image that did not before (docker's "Downloaded newer image").
    pub updated: bool,
    pub downloaded_blobs: usize,
    pub downloaded_bytes: u64,
    pub existing_blobs: usize,
}

/// An image manifest to pull, with its config already fetched and verified.
struct Planned {
    stored: StoredManifest,
    raw: Vec<u8>,
    config_raw: Vec<u8>,
    diff_ids: Vec<Digest>,
}

struct LayerJob {
    descriptor: Descriptor,
    /// The diff_id to compare with, when asked to and the config lists one.
    diff_id: Option<(usize, Digest)>,
}

struct Engine<'a, T: Transport, K: Clock, S: BlobStore> {
    client: &'a Client<T, K>,
    store: &'a ImageStore<S>,
    repository: &'a str,
    options: &'a PullOptions,
    observer: &'a dyn Fn(&PullEvent),
    cancel: &'a CancelToken,
    done: Cell<u64>,
    total: Cell<u64>,
}

/// Pulls the image `inspection` resolved: its manifests, configs and layers into `store`, then
/// records it. Events go to `observer` as they happen; `cancel` stops it between chunks.
pub async fn pull<T: Transport, K: Clock, S: BlobStore>(
    client: &Client<T, K>,
    store: &ImageStore<S>,
    inspection: &Inspection,
    options: &PullOptions,
    observer: &dyn Fn(&PullEvent),
    cancel: &CancelToken,
) -> Result<PullOutcome, PullError> {
    let reference = &inspection.reference;
    if reference.default_tag_applied() {
        observer(&PullEvent::UsingDefaultTag);
    }
    let tag_or_digest = reference.digest().map_or_else(|| reference.tag_or_latest().to_string(), Digest::to_string);
    observer(&PullEvent::PullingFrom { tag_or_digest, repository: reference.path().to_string() });
    let image = inspection.image.clone().ok_or_else(|| PullError::Schema1(reference.canonical()))?;
    if let Some(artifact) = inspection.image_manifest().and_then(|m| m.effective_artifact_type()) {
        return Err(PullError::NotAnImage { reference: reference.canonical(), reason: format!("an artifact of type {artifact}") });
    }
    let planned = plan_manifests(client, inspection, options.all_platforms).await?;
    if cancel.is_cancelled() {
        return Err(PullError::Cancelled);
    }

    let blobs = store.blobs();
    put_blob(blobs, &inspection.top.digest, &inspection.top.raw).await?;
    for p in &planned {
        put_blob(blobs, &p.stored.descriptor.digest, &p.raw).await?;
        put_blob(blobs, &p.stored.config.digest, &p.config_raw).await?;
    }

    let mut seen = BTreeSet::new();
    let mut todo = Vec::new();
    let mut existing = 0;
    for p in &planned {
        for (i, layer) in p.stored.layers.iter().enumerate() {
            if !seen.insert(layer.digest.clone()) {
                continue;
            }
            let event = |status| PullEvent::Blob { digest: layer.digest.clone(), kind: BlobKind::Layer, status };
            if blobs.has(&layer.digest).await? {
                existing += 1;
                observer(&event(BlobStatus::AlreadyExists { size: layer.size }));
                continue;
            }
            observer(&event(BlobStatus::Waiting { size: layer.size }));
            let diff_id = if options.verify_diff_ids { p.diff_ids.get(i).map(|d| (i, d.clone())) } else { None };
            todo.push(LayerJob { descriptor: layer.clone(), diff_id });
        }
    }

    let engine = Engine {
        client,
        store,
        repository: reference.path(),
        options,
        observer,
        cancel,
        done: Cell::new(0),
        total: Cell::new(todo.iter().map(|j| j.descriptor.size).sum()),
    };
    engine.overall();
    let downloaded_blobs = todo.len();
    let results = stream::iter(todo.into_iter().map(|job| engine.layer(job))).buffer_unordered(options.jobs.max(1));
    futures::pin_mut!(results);
    while let Some(result) = results.next().await {
        result?;
    }

    let manifests: Vec<StoredManifest> = planned.into_iter().map(|p| p.stored).collect();
    let mut all = BTreeSet::from([inspection.top.digest.clone()]);
    for m in &manifests {
        all.insert(m.descriptor.digest.clone());
        all.insert(m.config.digest.clone());
        all.extend(m.layers.iter().map(|l| l.digest.clone()));
    }
    let record = ImageRecord {
        image: image.clone(),
        target: inspection.top.descriptor(),
        all_platforms: options.all_platforms && inspection.index().is_some(),
        manifests,
        blobs: all.into_iter().collect(),
        pulled_at: options.now,
    };
    let updated = store.add_image(record.clone()).await?;
    let familiar = match reference.default_tag_applied() {
        true => reference.with_tag("latest").map(|r| r.familiar()).unwrap_or_else(|_| reference.familiar()),
        false => reference.familiar(),
    };
    observer(&PullEvent::Done { digest: inspection.top.digest.clone(), updated, familiar, canonical: reference.canonical() });
    Ok(PullOutcome { image, record, updated, downloaded_blobs, downloaded_bytes: engine.done.get(), existing_blobs: existing })
}

/// The chosen image manifest, and with `all_platforms` every other entry of the index, each
/// with its config fetched (manifests and configs are small and verified as they arrive).
async fn plan_manifests<T: Transport, K: Clock>(client: &Client<T, K>, inspection: &Inspection, all_platforms: bool) -> Result<Vec<Planned>, PullError> {
    let reference = &inspection.reference;
    let chosen = inspection.platform_manifest.as_ref().unwrap_or(&inspection.top);
    let (Some(m), Some(config)) = (inspection.image_manifest(), &inspection.config) else {
        return Err(PullError::Schema1(reference.canonical()));
    };
    let mut descriptor = inspection.chosen.clone().unwrap_or_else(|| chosen.descriptor());
    descriptor.annotations.clear();
    let mut planned = vec![Planned {
        stored: StoredManifest { descriptor, config: m.config.clone(), layers: m.layers.clone() },
        raw: chosen.raw.clone(),
        config_raw: config.raw.clone(),
        diff_ids: config.parsed.rootfs.as_ref().map(|r| r.diff_ids.clone()).unwrap_or_default(),
    }];
    let Some(index) = inspection.index().filter(|_| all_platforms) else {
        return Ok(planned);
    };
    for entry in index.manifests.iter().filter(|e| e.digest != chosen.digest) {
        let fetched = client.manifest(reference, &entry.digest.to_string(), Some(&entry.media_type)).await?;
        if fetched.size != entry.size {
            return Err(Error::Unexpected {
                what: "platform manifest",
                url: entry.digest.to_string(),
                reason: format!("the index says {} bytes, the registry sent {}", entry.size, fetched.size),
            }
            .into());
        }
        let Manifest::Image(m) = &fetched.manifest else {
            return Err(PullError::NotAnImage { reference: format!("{}@{}", reference.name(), entry.digest), reason: "an index inside an index".into() });
        };
        let config_raw = client.blob(reference.path(), &m.config, CONFIG_LIMIT).await?;
        let diff_ids = manifest::parse_config(&config_raw).ok().and_then(|c| c.rootfs).map(|r| r.diff_ids).unwrap_or_default();
        let mut descriptor = entry.clone();
        descriptor.annotations.clear();
        planned.push(Planned {
            stored: StoredManifest { descriptor, config: m.config.clone(), layers: m.layers.clone() },
            raw: fetched.raw,
            config_raw,
            diff_ids,
        });
    }
    Ok(planned)
}

impl<T: Transport, K: Clock, S: BlobStore> Engine<'_, T, K, S> {
    fn emit(&self, digest: &Digest, status: BlobStatus) {
        (self.observer)(&PullEvent::Blob { digest: digest.clone(), kind: BlobKind::Layer, status });
    }

    fn overall(&self) {
        (self.observer)(&PullEvent::Overall { done: self.done.get(), total: self.total.get() });
    }

    fn add_done(&self, bytes: u64, sign: bool) {
        let d = self.done.get();
        self.done.set(if sign { d + bytes } else { d.saturating_sub(bytes) });
        self.overall();
    }

    async fn layer(&self, job: LayerJob) -> Result<(), PullError> {
        let digest = job.descriptor.digest.clone();
        let result = self.download(&job.descriptor).await;
        let result = match result {
            Ok(()) => self.check_diff_id(&job).await,
            Err(e) => Err(e),
        };
        match &result {
            Ok(()) => self.emit(&digest, BlobStatus::Complete),
            Err(e) => self.emit(&digest, BlobStatus::Failed { message: e.to_string() }),
        }
        result
    }

    /// Where a previous attempt left this blob: a verifier restored from the saved state and the
    /// offset to continue from, or a fresh start when there is nothing usable.
    async fn resume_point(&self, writer: &mut S::Writer, descriptor: &Descriptor) -> Result<(Verifier, u64), PullError> {
        let fresh = || Verifier::new(descriptor.digest.clone(), descriptor.size);
        let restored = match writer.load_state().await? {
            Some(state) => Verifier::restore(&state, descriptor.digest.clone(), descriptor.size).ok(),
            None => None,
        };
        let on_disk = writer.current_len().await?;
        match restored {
            // Bytes written after the last checkpoint were never hashed into it: drop them.
            Some(v) if v.bytes_seen() <= on_disk && v.bytes_seen() > 0 => {
                let offset = v.bytes_seen();
                writer.truncate(offset).await?;
                Ok((v, offset))
            }
            _ => {
                writer.truncate(0).await?;
                Ok((fresh(), 0))
            }
        }
    }

    async fn download(&self, descriptor: &Descriptor) -> Result<(), PullError> {
        let digest = &descriptor.digest;
        let size = descriptor.size;
        let mut writer = self.store.blobs().writer(digest).await?;
        let (mut verifier, mut offset) = self.resume_point(&mut writer, descriptor).await?;
        self.add_done(offset, true);
        let mut retries_left = self.options.retries;
        let mut checkpointed = offset;
        'attempt: loop {
            if self.cancel.is_cancelled() {
                writer.save_state(&verifier.save_state()).await?;
                return Err(PullError::Cancelled);
            }
            if offset == size {
                break;
            }
            self.emit(digest, BlobStatus::Downloading { size, resumed_from: offset });
            let Some(opened) = self.cancel.unless_cancelled(self.client.open_blob(self.repository, digest, Some(offset))).await else {
                writer.save_state(&verifier.save_state()).await?;
                return Err(PullError::Cancelled);
            };
            let mut response = match opened {
                Ok(r) => r,
                Err(Error::Transport(e)) if retries_left > 0 => {
                    retries_left -= 1;
                    self.emit(digest, BlobStatus::Retrying { from: offset, reason: e.to_string() });
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let restart = match response.status {
                206 => range::range_mismatch(response.header("content-range"), offset, size),
                _ if offset > 0 => Some("the registry answered the Range request with the whole blob".to_string()),
                _ => None,
            };
            if let Some(reason) = restart {
                self.emit(digest, BlobStatus::Restarted { reason: reason.clone() });
                self.add_done(offset, false);
                writer.truncate(0).await?;
                verifier = Verifier::new(digest.clone(), size);
                offset = 0;
                checkpointed = 0;
                if response.status == 206 {
                    continue;
                }
            }
            let expected_length = size - offset;
            if let Some(length) = response.content_length().filter(|l| *l != expected_length) {
                writer.abort().await?;
                return Err(Error::Unexpected { what: "blob", url: response.url, reason: format!("Content-Length is {length} where {expected_length} bytes were expected") }.into());
            }
            loop {
                let Some(read) = self.cancel.unless_cancelled(response.body.chunk()).await else {
                    writer.save_state(&verifier.save_state()).await?;
                    return Err(PullError::Cancelled);
                };
                let chunk = match read {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => break 'attempt,
                    Err(e) => {
                        writer.save_state(&verifier.save_state()).await?;
                        if retries_left == 0 {
                            return Err(PullError::Interrupted { digest: digest.clone(), offset, size, message: e.to_string() });
                        }
                        retries_left -= 1;
                        self.emit(digest, BlobStatus::Retrying { from: offset, reason: e.to_string() });
                        continue 'attempt;
                    }
                };
                if let Err(source) = verifier.update(&chunk) {
                    writer.abort().await?;
                    return Err(PullError::Verify { digest: digest.clone(), source });
                }
                if let Err(e) = writer.write_at(offset, &chunk).await {
                    writer.abort().await?;
                    return Err(e.into());
                }
                offset += chunk.len() as u64;
                self.add_done(chunk.len() as u64, true);
                self.emit(digest, BlobStatus::Progress { done: offset, size });
                if offset - checkpointed >= self.options.checkpoint_bytes {
                    writer.save_state(&verifier.save_state()).await?;
                    checkpointed = offset;
                }
                if self.cancel.is_cancelled() {
                    writer.save_state(&verifier.save_state()).await?;
                    return Err(PullError::Cancelled);
                }
            }
        }
        self.emit(digest, BlobStatus::Verifying);
        if let Err(source) = verifier.finish() {
            writer.abort().await?;
            return Err(PullError::Verify { digest: digest.clone(), source });
        }
        writer.commit().await?;
        self.emit(digest, BlobStatus::Downloaded);
        Ok(())
    }

    /// Reads the committed layer back through its decompressor. A mismatch deletes the blob
    /// (unless another image holds it), so nothing inconsistent stays behind.
    async fn check_diff_id(&self, job: &LayerJob) -> Result<(), PullError> {
        let Some((index, expected)) = &job.diff_id else { return Ok(()) };
        let digest = &job.descriptor.digest;
        let Some(compression) = Compression::of_layer(&job.descriptor.media_type) else { return Ok(()) };
        self.emit(digest, BlobStatus::CheckingDiffId);
        let mut reader = self.store.blobs().reader(digest).await?;
        let mut hasher = DiffIdHasher::new(compression);
        let mut outcome = Ok(());
        while let Some(chunk) = reader.chunk().await? {
            if let Err(source) = hasher.update(&chunk) {
                outcome = Err(PullError::Decompress { digest: digest.clone(), source });
                break;
            }
        }
        if outcome.is_ok() {
            outcome = match hasher.finish() {
                Ok(actual) if actual == *expected => return Ok(()),
                Ok(actual) => Err(PullError::DiffId { digest: digest.clone(), index: *index, expected: expected.clone(), actual }),
                Err(source) => Err(PullError::Decompress { digest: digest.clone(), source }),
            };
        }
        if !self.store.is_referenced(digest).await? {
            self.store.blobs().delete(digest).await?;
        }
        outcome
    }
}

/// Every tag of a repository resolved for `platform`, as `docker pull --all-tags` does before
/// pulling: what will be pulled, what cannot be, and the total size.
#[derive(Debug, Clone)]
pub struct TagPlan {
    pub images: Vec<Inspection>,
    /// Tags left out, and why (referrer fallback tags, artifacts, schema1, unresolvable).
    pub skipped: Vec<(String, String)>,
    pub total_size: u64,
}

pub async fn plan_all_tags<T: Transport, K: Clock>(client: &Client<T, K>, reference: &Reference, platform: &Platform) -> Result<TagPlan, Error> {
    let mut tags = client.all_tags(reference.path(), TAG_PAGE, MAX_TAG_PAGES).await?;
    tags.sort();
    tags.dedup();
    let untagged = Reference::parse(&reference.name())?;
    let mut plan = TagPlan { images: vec![], skipped: vec![], total_size: 0 };
    for tag in tags {
        if is_digest_tag(&tag) {
            plan.skipped.push((tag, "a referrers fallback tag".into()));
            continue;
        }
        let tagged = untagged.with_tag(&tag)?;
        match client.inspect(&tagged, platform).await {
            Ok(i) if i.image_manifest().is_some_and(|m| m.is_artifact()) => plan.skipped.push((tag, "an artifact, not an image".into())),
            Ok(i) => match &i.image {
                Some(image) => {
                    plan.total_size += image.size;
                    plan.images.push(i);
                }
                None => plan.skipped.push((tag, "a schema1 image".into())),
            },
            Err(e) => plan.skipped.push((tag, e.to_string())),
        }
    }
    Ok(plan)
}

/// `sha256-<64 hex>`: how the referrers tag schema names an index of referrers.
fn is_digest_tag(tag: &str) -> bool {
    tag.split_once('-').is_some_and(|(alg, hex)| (alg == "sha256" && hex.len() == 64 || alg == "sha512" && hex.len() == 128) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}
