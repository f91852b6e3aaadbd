//! The CRI `ImageService` over a content-addressed blob store: ListImages, ImageStatus and
//! RemoveImage with containerd's rules, plus a self-check that re-hashes every blob.
//!
//! Storage comes in through [`BlobStore`]: the browser keeps blobs in OPFS, the command in a
//! directory, tests and the browser's fallback in [`MemoryStore`]. Every method is async and
//! nothing here needs `Send`, so the same code runs in a Web Worker and under `pollster`.

mod memory;
#[cfg(test)]
mod tests;

pub use memory::{MemoryReader, MemoryStore, MemoryWriter};

use crate::digest::{Digest, Hasher};
use crate::manifest::Descriptor;
use crate::reference::Reference;
use crate::status::Image;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeSet;

/// The version of the metadata document; a store written by a newer layout is refused.
const METADATA_VERSION: u32 = 1;
/// docker prints 12 hex characters as a short id; shorter prefixes match too many images.
const MIN_ID_PREFIX: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("storage failed while {action} {what}: {message}")]
    Io { action: &'static str, what: String, message: String },
    #[error("storage quota exceeded while writing {what}: remove images (rmi) or grant more storage, then pull again")]
    Quota { what: String },
    #[error("blob {0} is not in the store; pull the image again")]
    Missing(Digest),
    #[error("the image metadata is unreadable ({0}); delete the metadata document to start an empty store")]
    Metadata(String),
    #[error("{selector:?} matches {count} images by id prefix; give more of the id")]
    Ambiguous { selector: String, count: usize },
}

/// Chunks of a stored blob, read in order.
#[allow(async_fn_in_trait)] // Browser futures are not Send; every caller runs on one thread.
pub trait ChunkReader {
    /// The next chunk, or `None` at the end of the blob.
    async fn chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError>;
}

/// A blob being written under a temporary name. Nothing is visible under the digest before
/// [`BlobWriter::commit`]; a writer dropped without commit or abort keeps its bytes and state,
/// which is how a download cut off (or a closed tab) resumes.
#[allow(async_fn_in_trait)]
pub trait BlobWriter {
    /// How many bytes the temporary blob holds.
    async fn current_len(&mut self) -> Result<u64, StoreError>;
    async fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), StoreError>;
    async fn truncate(&mut self, len: u64) -> Result<(), StoreError>;
    /// Stores the hasher state of the bytes written so far beside the temporary blob.
    async fn save_state(&mut self, state: &[u8]) -> Result<(), StoreError>;
    async fn load_state(&mut self) -> Result<Option<Vec<u8>>, StoreError>;
    /// Makes the blob visible under its digest in one step, and drops the saved state.
    async fn commit(self) -> Result<(), StoreError>;
    /// Deletes the temporary blob and its state.
    async fn abort(self) -> Result<(), StoreError>;
}

/// Blobs by digest, and one small metadata document.
#[allow(async_fn_in_trait)]
pub trait BlobStore {
    type Writer: BlobWriter;
    type Reader: ChunkReader;
    async fn has(&self, digest: &Digest) -> Result<bool, StoreError>;
    async fn size(&self, digest: &Digest) -> Result<Option<u64>, StoreError>;
    /// Opens the temporary blob for `digest`, creating it or reopening what a previous attempt left.
    async fn writer(&self, digest: &Digest) -> Result<Self::Writer, StoreError>;
    async fn reader(&self, digest: &Digest) -> Result<Self::Reader, StoreError>;
    /// Deletes a committed blob; deleting an absent one is not an error.
    async fn delete(&self, digest: &Digest) -> Result<(), StoreError>;
    /// Every committed blob.
    async fn list(&self) -> Result<Vec<Digest>, StoreError>;
    async fn read_metadata(&self) -> Result<Option<Vec<u8>>, StoreError>;
    /// Replaces the metadata document atomically: a reader sees the old or the new one, never half.
    async fn write_metadata(&self, bytes: &[u8]) -> Result<(), StoreError>;
}

/// Writes a small blob held in memory (a manifest or config already verified) and commits it.
pub async fn put_blob<S: BlobStore>(store: &S, digest: &Digest, bytes: &[u8]) -> Result<(), StoreError> {
    if store.has(digest).await? {
        return Ok(());
    }
    let mut writer = store.writer(digest).await?;
    writer.truncate(0).await?;
    if let Err(e) = writer.write_at(0, bytes).await {
        writer.abort().await?;
        return Err(e);
    }
    writer.commit().await
}

/// An image manifest that was pulled, with what it references.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredManifest {
    /// The manifest's descriptor; `platform` is set when it was chosen from an index.
    pub descriptor: Descriptor,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// One stored image: the CRI `Image` fields and every blob it holds on to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The CRI fields: id is the config digest of the chosen manifest (containerd's image id).
    #[serde(flatten)]
    pub image: Image,
    /// What the reference named: an index, or the image manifest itself.
    pub target: Descriptor,
    /// The image manifests pulled, the chosen one first.
    pub manifests: Vec<StoredManifest>,
    /// Whether every entry of the target index was pulled, so the index itself can be exported.
    #[serde(default)]
    pub all_platforms: bool,
    /// Every blob the image references (target, manifests, configs, layers), sorted.
    pub blobs: Vec<Digest>,
    /// Seconds since the epoch, as the caller passed it.
    pub pulled_at: u64,
}

impl ImageRecord {
    /// The manifest whose config is the image id.
    pub fn chosen(&self) -> &StoredManifest {
        &self.manifests[0]
    }

    /// Every blob the record names, recomputed from its descriptors.
    pub fn referenced_blobs(&self) -> Vec<Digest> {
        let mut all = BTreeSet::new();
        all.insert(self.target.digest.clone());
        for m in &self.manifests {
            all.insert(m.descriptor.digest.clone());
            all.insert(m.config.digest.clone());
            all.extend(m.layers.iter().map(|l| l.digest.clone()));
        }
        all.into_iter().collect()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Metadata {
    version: u32,
    images: Vec<ImageRecord>,
}

/// What a ListImages filter, ImageStatus or RemoveImage names: an image id (full, or a prefix
/// of at least 12 hex characters) or a reference, matched the way the CRI runtimes do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSelector {
    raw: String,
    reference: Option<Reference>,
    /// Whether the input gave a tag or digest: a bare name filters every tag of the repository.
    explicit: bool,
}

impl ImageSelector {
    pub fn parse(input: &str) -> ImageSelector {
        let raw = input.trim().to_string();
        // `sha256:<hex>` would parse as the repository `sha256` with a hex tag.
        let reference = if raw.starts_with("sha256:") { None } else { Reference::parse(&raw).ok() };
        let explicit = reference.as_ref().is_some_and(|r| r.tag().is_some() || r.digest().is_some());
        ImageSelector { raw, reference, explicit }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn reference(&self) -> Option<&Reference> {
        self.reference.as_ref()
    }

    /// The id hex this selector could be a prefix of, when it looks like one.
    fn id_prefix(&self) -> Option<&str> {
        let hex = self.raw.strip_prefix("sha256:").unwrap_or(&self.raw);
        let looks = hex.len() >= MIN_ID_PREFIX && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        looks.then_some(hex)
    }

    fn id_matches(&self, record: &ImageRecord) -> bool {
        self.id_prefix().is_some_and(|p| record.image.id.strip_prefix("sha256:").is_some_and(|h| h.starts_with(p)))
    }

    /// ImageStatus and RemoveImage: exactly the tag (`latest` when none), the digest, or the id.
    fn names_exactly(&self, record: &ImageRecord) -> bool {
        match &self.reference {
            Some(r) if r.digest().is_some() => record.image.repo_digests.iter().any(|d| *d == format!("{}@{}", r.name(), r.digest().expect("checked"))),
            Some(r) => record.image.repo_tags.iter().any(|t| *t == format!("{}:{}", r.name(), r.tag_or_latest())),
            None => false,
        }
    }

    /// ListImages: a bare repository name matches all of its tags and digests, as crictl's filter does.
    fn filter_matches(&self, record: &ImageRecord) -> bool {
        if self.id_matches(record) {
            return true;
        }
        match &self.reference {
            Some(r) if !self.explicit => {
                let name = r.name();
                let of_name = |s: &String, sep: char| s.rsplit_once(sep).is_some_and(|(n, _)| n == name);
                record.image.repo_tags.iter().any(|t| of_name(t, ':')) || record.image.repo_digests.iter().any(|d| of_name(d, '@'))
            }
            Some(_) => self.names_exactly(record),
            None => false,
        }
    }
}

/// Result of re-hashing every blob.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FsckReport {
    pub checked: usize,
    pub bytes: u64,
    /// Blobs whose content does not hash to their name: (name, what the content hashes to).
    pub corrupt: Vec<(Digest, Digest)>,
    /// Blobs an image references that are not stored.
    pub missing: Vec<Digest>,
    /// Blobs no image references (left by an interrupted or failed pull).
    pub unreferenced: Vec<Digest>,
}

impl FsckReport {
    pub fn is_clean(&self) -> bool {
        self.corrupt.is_empty() && self.missing.is_empty()
    }
}

/// What removing an image did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Removal {
    /// The removed image, `None` when nothing matched (RemoveImage is idempotent).
    pub image: Option<Image>,
    pub deleted_blobs: Vec<Digest>,
    /// Blobs of the removed image kept because another image references them.
    pub kept_blobs: Vec<Digest>,
}

/// The CRI ImageService over a [`BlobStore`]. Holds the metadata in memory once read, so
/// several pulls running at once in one worker never lose each other's records.
pub struct ImageStore<S: BlobStore> {
    blobs: S,
    metadata: RefCell<Option<Metadata>>,
}

impl<S: BlobStore> ImageStore<S> {
    pub fn new(blobs: S) -> ImageStore<S> {
        ImageStore { blobs, metadata: RefCell::new(None) }
    }

    pub fn blobs(&self) -> &S {
        &self.blobs
    }

    async fn load(&self) -> Result<(), StoreError> {
        if self.metadata.borrow().is_some() {
            return Ok(());
        }
        let loaded = match self.blobs.read_metadata().await? {
            None => Metadata { version: METADATA_VERSION, images: vec![] },
            Some(bytes) => {
                let m: Metadata = serde_json::from_slice(&bytes).map_err(|e| StoreError::Metadata(e.to_string()))?;
                if m.version != METADATA_VERSION {
                    return Err(StoreError::Metadata(format!("version {} is not the supported version {METADATA_VERSION}", m.version)));
                }
                m
            }
        };
        let mut slot = self.metadata.borrow_mut();
        if slot.is_none() {
            *slot = Some(loaded);
        }
        Ok(())
    }

    async fn save(&self) -> Result<(), StoreError> {
        let bytes = {
            let slot = self.metadata.borrow();
            serde_json::to_vec_pretty(slot.as_ref().expect("loaded before saving")).expect("metadata serializes")
        };
        self.blobs.write_metadata(&bytes).await
    }

    fn with_records<R>(&self, f: impl FnOnce(&[ImageRecord]) -> R) -> R {
        f(&self.metadata.borrow().as_ref().expect("loaded").images)
    }

    /// Every record, in the order they were first stored.
    pub async fn records(&self) -> Result<Vec<ImageRecord>, StoreError> {
        self.load().await?;
        Ok(self.with_records(<[ImageRecord]>::to_vec))
    }

    /// ListImages: every image, or those the filter matches (name, name:tag, name@digest, id).
    pub async fn list_images(&self, filter: Option<&ImageSelector>) -> Result<Vec<Image>, StoreError> {
        self.load().await?;
        Ok(self.with_records(|records| {
            records.iter().filter(|r| filter.is_none_or(|f| f.filter_matches(r))).map(|r| r.image.clone()).collect()
        }))
    }

    /// The record an ImageStatus or RemoveImage request names.
    pub async fn find(&self, selector: &ImageSelector) -> Result<Option<ImageRecord>, StoreError> {
        self.load().await?;
        self.with_records(|records| {
            if let Some(r) = records.iter().find(|r| selector.names_exactly(r) || r.image.id == selector.raw) {
                return Ok(Some(r.clone()));
            }
            let by_prefix: Vec<&ImageRecord> = records.iter().filter(|r| selector.id_matches(r)).collect();
            match by_prefix.as_slice() {
                [] => Ok(None),
                [one] => Ok(Some((*one).clone())),
                many => Err(StoreError::Ambiguous { selector: selector.raw.clone(), count: many.len() }),
            }
        })
    }

    /// ImageStatus: `None` when the image is not stored, which CRI reports as an empty image.
    pub async fn image_status(&self, selector: &str) -> Result<Option<Image>, StoreError> {
        Ok(self.find(&ImageSelector::parse(selector)).await?.map(|r| r.image))
    }

    /// Records a pulled image. Its tags move here from any other image (a re-pulled tag follows
    /// the new content); an image left without tags stays listed by its digests and id until
    /// removed by id, as containerd keeps it. Returns whether any name now points somewhere new
    /// (docker's "Downloaded newer image" rather than "Image is up to date").
    pub async fn add_image(&self, record: ImageRecord) -> Result<bool, StoreError> {
        self.load().await?;
        let updated = {
            let mut slot = self.metadata.borrow_mut();
            let images = &mut slot.as_mut().expect("loaded").images;
            let names: Vec<&String> = if record.image.repo_tags.is_empty() { record.image.repo_digests.iter().collect() } else { record.image.repo_tags.iter().collect() };
            let updated = !images.iter().any(|r| r.image.id == record.image.id && names.iter().all(|n| r.image.repo_tags.contains(n) || r.image.repo_digests.contains(n)));
            for other in images.iter_mut().filter(|r| r.image.id != record.image.id) {
                other.image.repo_tags.retain(|t| !record.image.repo_tags.contains(t));
                other.image.repo_digests.retain(|d| !record.image.repo_digests.contains(d));
            }
            match images.iter_mut().find(|r| r.image.id == record.image.id) {
                Some(existing) => merge(existing, record),
                None => images.push(record),
            }
            updated
        };
        self.save().await?;
        Ok(updated)
    }

    /// RemoveImage: idempotent. Removes the image the selector names with all its tags and
    /// digests, then deletes each of its blobs that no remaining image references.
    pub async fn remove_image(&self, selector: &str) -> Result<Removal, StoreError> {
        let Some(record) = self.find(&ImageSelector::parse(selector)).await? else {
            return Ok(Removal::default());
        };
        let still_referenced: BTreeSet<Digest> = {
            let mut slot = self.metadata.borrow_mut();
            let images = &mut slot.as_mut().expect("loaded").images;
            images.retain(|r| r.image.id != record.image.id);
            images.iter().flat_map(|r| r.blobs.iter().cloned()).collect()
        };
        self.save().await?;
        let mut removal = Removal { image: Some(record.image.clone()), ..Removal::default() };
        for blob in &record.blobs {
            if still_referenced.contains(blob) {
                removal.kept_blobs.push(blob.clone());
            } else {
                self.blobs.delete(blob).await?;
                removal.deleted_blobs.push(blob.clone());
            }
        }
        Ok(removal)
    }

    /// Whether any stored image references `digest`.
    pub async fn is_referenced(&self, digest: &Digest) -> Result<bool, StoreError> {
        self.load().await?;
        Ok(self.with_records(|records| records.iter().any(|r| r.blobs.contains(digest))))
    }

    /// Re-hashes every stored blob against its name, and checks every referenced blob is there.
    pub async fn fsck(&self) -> Result<FsckReport, StoreError> {
        self.load().await?;
        let referenced: BTreeSet<Digest> = self.with_records(|records| records.iter().flat_map(|r| r.blobs.iter().cloned()).collect());
        let stored = self.blobs.list().await?;
        let mut report = FsckReport::default();
        for digest in &stored {
            let mut reader = self.blobs.reader(digest).await?;
            let mut hasher = Hasher::new(digest.algorithm());
            while let Some(chunk) = reader.chunk().await? {
                hasher.update(&chunk);
            }
            report.checked += 1;
            report.bytes += hasher.bytes_hashed();
            let actual = hasher.finalize();
            if actual != *digest {
                report.corrupt.push((digest.clone(), actual));
            }
            if !referenced.contains(digest) {
                report.unreferenced.push(digest.clone());
            }
        }
        let stored: BTreeSet<&Digest> = stored.iter().collect();
        report.missing = referenced.iter().filter(|d| !stored.contains(d)).cloned().collect();
        Ok(report)
    }
}

/// The same image pulled again, maybe by another name or with more platforms.
fn merge(existing: &mut ImageRecord, new: ImageRecord) {
    for t in new.image.repo_tags {
        if !existing.image.repo_tags.contains(&t) {
            existing.image.repo_tags.push(t);
        }
    }
    for d in new.image.repo_digests {
        if !existing.image.repo_digests.contains(&d) {
            existing.image.repo_digests.push(d);
        }
    }
    for m in new.manifests {
        if !existing.manifests.iter().any(|e| e.descriptor.digest == m.descriptor.digest) {
            existing.manifests.push(m);
        }
    }
    existing.all_platforms = (existing.all_platforms && existing.target == new.target) || new.all_platforms;
    existing.target = new.target;
    existing.image.size = new.image.size;
    existing.image.uid = new.image.uid;
    existing.image.username = new.image.username;
    existing.pulled_at = new.pulled_at;
    let mut blobs: BTreeSet<Digest> = existing.blobs.iter().cloned().collect();
    blobs.extend(new.blobs);
    blobs.extend(existing.referenced_blobs());
    existing.blobs = blobs.into_iter().collect();
}
