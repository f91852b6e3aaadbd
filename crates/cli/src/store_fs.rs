//! The command's [`BlobStore`]: a directory. Blobs live at `blobs/<alg>/<hex>`, downloads in
//! progress at `ingest/<alg>-<hex>.data` (with the hasher state in `.state`), image records in
//! `images.json`. Every step that makes something visible is a rename, so a crash leaves either
//! the old state or the new one.

use imagescope_core::digest::Digest;
use imagescope_core::store::{BlobStore, BlobWriter, ChunkReader, StoreError};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const READ_CHUNK: usize = 256 * 1024;
const METADATA: &str = "images.json";

pub struct FsStore {
    root: PathBuf,
}

fn io_error(action: &'static str, path: &Path, e: io::Error) -> StoreError {
    if e.kind() == io::ErrorKind::StorageFull || e.kind() == io::ErrorKind::QuotaExceeded {
        return StoreError::Quota { what: path.display().to_string() };
    }
    StoreError::Io { action, what: path.display().to_string(), message: e.to_string() }
}

/// Writes `bytes` to a sibling temporary file and renames it over `path`.
fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut f = File::create(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&temp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&temp);
        io_error("writing", path, e)
    })
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("deleting", path, e)),
        _ => Ok(()),
    }
}

impl FsStore {
    /// Opens (creating when needed) the store in `root`.
    pub fn open(root: &Path) -> Result<FsStore, StoreError> {
        for dir in ["blobs/sha256", "blobs/sha512", "ingest"] {
            let path = root.join(dir);
            fs::create_dir_all(&path).map_err(|e| io_error("creating", &path, e))?;
        }
        Ok(FsStore { root: root.to_path_buf() })
    }

    /// `$XDG_CACHE_HOME/imagescope`, else `~/.cache/imagescope`.
    pub fn default_dir() -> PathBuf {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        cache.join("imagescope")
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs").join(d.algorithm().as_str()).join(d.hex())
    }

    fn ingest_path(&self, d: &Digest, extension: &str) -> PathBuf {
        self.root.join("ingest").join(format!("{}-{}.{extension}", d.algorithm(), d.hex()))
    }
}

pub struct FsWriter {
    file: File,
    data: PathBuf,
    state: PathBuf,
    blob: PathBuf,
}

impl BlobWriter for FsWriter {
    async fn current_len(&mut self) -> Result<u64, StoreError> {
        self.file.metadata().map(|m| m.len()).map_err(|e| io_error("reading", &self.data, e))
    }

    async fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.write_all(bytes))
            .map_err(|e| io_error("writing", &self.data, e))
    }

    async fn truncate(&mut self, len: u64) -> Result<(), StoreError> {
        self.file.set_len(len).map_err(|e| io_error("truncating", &self.data, e))
    }

    async fn save_state(&mut self, state: &[u8]) -> Result<(), StoreError> {
        // The state must never describe bytes the file does not durably hold.
        self.file.sync_data().map_err(|e| io_error("syncing", &self.data, e))?;
        replace_file(&self.state, state)
    }

    async fn load_state(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        match fs::read(&self.state) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("reading", &self.state, e)),
        }
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.file.sync_all().map_err(|e| io_error("syncing", &self.data, e))?;
        fs::rename(&self.data, &self.blob).map_err(|e| io_error("committing", &self.blob, e))?;
        remove_if_present(&self.state)
    }

    async fn abort(self) -> Result<(), StoreError> {
        remove_if_present(&self.data)?;
        remove_if_present(&self.state)
    }
}

pub struct FsReader {
    file: File,
    path: PathBuf,
}

impl ChunkReader for FsReader {
    async fn chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        let mut buf = vec![0u8; READ_CHUNK];
        let n = self.file.read(&mut buf).map_err(|e| io_error("reading", &self.path, e))?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some(buf))
    }
}

impl BlobStore for FsStore {
    type Writer = FsWriter;
    type Reader = FsReader;

    async fn has(&self, digest: &Digest) -> Result<bool, StoreError> {
        Ok(self.blob_path(digest).is_file())
    }

    async fn size(&self, digest: &Digest) -> Result<Option<u64>, StoreError> {
        match fs::metadata(self.blob_path(digest)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("reading", &self.blob_path(digest), e)),
        }
    }

    async fn writer(&self, digest: &Digest) -> Result<FsWriter, StoreError> {
        let data = self.ingest_path(digest, "data");
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&data).map_err(|e| io_error("creating", &data, e))?;
        Ok(FsWriter { file, state: self.ingest_path(digest, "state"), blob: self.blob_path(digest), data })
    }

    async fn reader(&self, digest: &Digest) -> Result<FsReader, StoreError> {
        let path = self.blob_path(digest);
        match File::open(&path) {
            Ok(file) => Ok(FsReader { file, path }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::Missing(digest.clone())),
            Err(e) => Err(io_error("opening", &path, e)),
        }
    }

    async fn delete(&self, digest: &Digest) -> Result<(), StoreError> {
        remove_if_present(&self.blob_path(digest))
    }

    async fn list(&self) -> Result<Vec<Digest>, StoreError> {
        let mut out = Vec::new();
        for alg in ["sha256", "sha512"] {
            let dir = self.root.join("blobs").join(alg);
            let entries = fs::read_dir(&dir).map_err(|e| io_error("listing", &dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| io_error("listing", &dir, e))?;
                if let Ok(d) = Digest::parse(&format!("{alg}:{}", entry.file_name().to_string_lossy())) {
                    out.push(d);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    async fn read_metadata(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.root.join(METADATA);
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("reading", &path, e)),
        }
    }

    async fn write_metadata(&self, bytes: &[u8]) -> Result<(), StoreError> {
        replace_file(&self.root.join(METADATA), bytes)
    }
}
