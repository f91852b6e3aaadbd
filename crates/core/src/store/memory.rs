//! A complete [`BlobStore`] in memory: the store the core's own tests run on, and
//! the browser's fallback when no persistent storage is granted.

use super::{BlobStore, BlobWriter, ChunkReader, StoreError};
use crate::digest::Digest;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Reads hand out chunks of this size, like a file read would.
const READ_CHUNK: usize = 64 * 1024;

#[derive(Default)]
struct Partial {
    bytes: Vec<u8>,
    state: Option<Vec<u8>>,
}

#[derive(Default)]
struct Inner {
    blobs: BTreeMap<Digest, Rc<Vec<u8>>>,
    ingest: BTreeMap<Digest, Partial>,
    metadata: Option<Vec<u8>>,
    /// Total bytes allowed in blobs and partials; `None` for no limit.
    quota: Option<u64>,
}

impl Inner {
    fn used(&self) -> u64 {
        self.blobs.values().map(|b| b.len() as u64).sum::<u64>() + self.ingest.values().map(|p| p.bytes.len() as u64).sum::<u64>()
    }
}

/// Clones share the same contents, so a writer or reader outlives the borrow that made it.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Rc<RefCell<Inner>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// A store that refuses writes past `bytes` in total, as a browser quota does.
    pub fn with_quota(bytes: u64) -> MemoryStore {
        let store = MemoryStore::default();
        store.inner.borrow_mut().quota = Some(bytes);
        store
    }

    /// Bytes held by committed blobs and partial downloads.
    pub fn used(&self) -> u64 {
        self.inner.borrow().used()
    }

    /// Digests with a partial download waiting to be resumed.
    pub fn partials(&self) -> Vec<Digest> {
        self.inner.borrow().ingest.keys().cloned().collect()
    }

    /// Replaces a committed blob's bytes, as a failing disk would; for fsck's tests.
    pub fn overwrite(&self, digest: &Digest, bytes: Vec<u8>) {
        self.inner.borrow_mut().blobs.insert(digest.clone(), Rc::new(bytes));
    }
}

pub struct MemoryWriter {
    inner: Rc<RefCell<Inner>>,
    digest: Digest,
}

impl MemoryWriter {
    fn with<R>(&self, f: impl FnOnce(&mut Partial) -> R) -> R {
        let mut inner = self.inner.borrow_mut();
        f(inner.ingest.entry(self.digest.clone()).or_default())
    }
}

impl BlobWriter for MemoryWriter {
    async fn current_len(&mut self) -> Result<u64, StoreError> {
        Ok(self.with(|p| p.bytes.len() as u64))
    }

    async fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        let current = inner.ingest.get(&self.digest).map_or(0, |p| p.bytes.len() as u64);
        let end = offset + bytes.len() as u64;
        if let Some(quota) = inner.quota {
            if inner.used() + end.saturating_sub(current) > quota {
                return Err(StoreError::Quota { what: self.digest.to_string() });
            }
        }
        let partial = inner.ingest.entry(self.digest.clone()).or_default();
        let start = offset as usize;
        if partial.bytes.len() < start + bytes.len() {
            partial.bytes.resize(start + bytes.len(), 0);
        }
        partial.bytes[start..start + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    async fn truncate(&mut self, len: u64) -> Result<(), StoreError> {
        self.with(|p| p.bytes.truncate(len as usize));
        Ok(())
    }

    async fn save_state(&mut self, state: &[u8]) -> Result<(), StoreError> {
        self.with(|p| p.state = Some(state.to_vec()));
        Ok(())
    }

    async fn load_state(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.with(|p| p.state.clone()))
    }

    async fn commit(self) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        let partial = inner.ingest.remove(&self.digest).unwrap_or_default();
        inner.blobs.insert(self.digest.clone(), Rc::new(partial.bytes));
        Ok(())
    }

    async fn abort(self) -> Result<(), StoreError> {
        self.inner.borrow_mut().ingest.remove(&self.digest);
        Ok(())
    }
}

pub struct MemoryReader {
    bytes: Rc<Vec<u8>>,
    position: usize,
}

impl ChunkReader for MemoryReader {
    async fn chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        if self.position >= self.bytes.len() {
            return Ok(None);
        }
        let end = (self.position + READ_CHUNK).min(self.bytes.len());
        let chunk = self.bytes[self.position..end].to_vec();
        self.position = end;
        Ok(Some(chunk))
    }
}

impl BlobStore for MemoryStore {
    type Writer = MemoryWriter;
    type Reader = MemoryReader;

    async fn has(&self, digest: &Digest) -> Result<bool, StoreError> {
        Ok(self.inner.borrow().blobs.contains_key(digest))
    }

    async fn size(&self, digest: &Digest) -> Result<Option<u64>, StoreError> {
        Ok(self.inner.borrow().blobs.get(digest).map(|b| b.len() as u64))
    }

    async fn writer(&self, digest: &Digest) -> Result<MemoryWriter, StoreError> {
        self.inner.borrow_mut().ingest.entry(digest.clone()).or_default();
        Ok(MemoryWriter { inner: self.inner.clone(), digest: digest.clone() })
    }

    async fn reader(&self, digest: &Digest) -> Result<MemoryReader, StoreError> {
        let bytes = self.inner.borrow().blobs.get(digest).cloned().ok_or_else(|| StoreError::Missing(digest.clone()))?;
        Ok(MemoryReader { bytes, position: 0 })
    }

    async fn delete(&self, digest: &Digest) -> Result<(), StoreError> {
        self.inner.borrow_mut().blobs.remove(digest);
        Ok(())
    }

    async fn list(&self) -> Result<Vec<Digest>, StoreError> {
        Ok(self.inner.borrow().blobs.keys().cloned().collect())
    }

    async fn read_metadata(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.inner.borrow().metadata.clone())
    }

    async fn write_metadata(&self, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.borrow_mut().metadata = Some(bytes.to_vec());
        Ok(())
    }
}
