//! One tar that `docker load`, `podman load` and skopeo (`docker-archive:` and `oci-archive:`)
//! all accept: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) with docker's
//! `manifest.json` and `repositories` beside it, the way Docker 25 and later save images.
//!
//! Blobs stream from the [`BlobStore`] to a [`Sink`] chunk by chunk, re-hashed on the way, so an
//! image of any size is exported in constant memory and a damaged blob never reaches a file.

pub mod tar;
#[cfg(test)]
mod tests;

use crate::digest::{Digest, Hasher};
use crate::media_type as mt;
use crate::reference::Reference;
use crate::store::{BlobStore, ChunkReader, ImageRecord, ImageSelector, ImageStore, StoreError};
use serde_json::{json, Value};
use tar::Entry;

const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Every member gets this time, so exporting the same image twice gives the same bytes.
const MTIME: u64 = 0;

/// Where the archive goes: a file, or in the browser a file handle or an OPFS file.
#[allow(async_fn_in_trait)] // Browser futures are not Send; every caller runs on one thread.
pub trait Sink {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("writing the archive failed: {0}")]
pub struct SinkError(pub String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("no stored image matches {0:?}; pull it first (`imagescope images` lists what is stored)")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("stored blob {digest} is damaged (its content hashes to {actual}); the archive is incomplete: remove the image, pull it again and re-export")]
    Corrupt { digest: Digest, actual: Digest },
    #[error("stored blob {digest} holds {actual} bytes where its descriptor says {expected}; the archive is incomplete: remove the image and pull it again")]
    SizeChanged { digest: Digest, expected: u64, actual: u64 },
}

/// The small documents of the archive and the blobs it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub index_json: Value,
    pub manifest_json: Value,
    /// `None` for an image with no tags: docker writes the file only when there are some.
    pub repositories: Option<Value>,
    /// Each blob once, sorted by digest, with its size.
    pub blobs: Vec<(Digest, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub bytes: u64,
    pub blobs: usize,
    pub repo_tags: Vec<String>,
}

/// The file name an export is saved under: `registry/team/hello:1.0` → `hello_1.0.tar`; an
/// untagged image is named by its short id.
pub fn archive_name(repo_tags: &[String], id: &str) -> String {
    let base = match repo_tags.first() {
        Some(tag) => tag.rsplit('/').next().unwrap_or(tag).replace(':', "_"),
        None => id.trim_start_matches("sha256:").chars().take(12).collect(),
    };
    format!("{base}.tar")
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm(), d.hex())
}

/// What to name the image in the archive: the tag asked for when there is one, else every tag.
fn tags_for(record: &ImageRecord, selector: Option<&ImageSelector>) -> Vec<Reference> {
    let all: Vec<Reference> = record.image.repo_tags.iter().filter_map(|t| Reference::parse(t).ok()).collect();
    let asked = selector.and_then(ImageSelector::reference).filter(|r| r.tag().is_some() && r.digest().is_none());
    match asked.filter(|r| all.iter().any(|t| t.name() == r.name() && t.tag() == r.tag())) {
        Some(r) => all.into_iter().filter(|t| t.name() == r.name() && t.tag() == r.tag()).collect(),
        None => all,
    }
}

/// The archive's layout for one stored image, named by `tags`. The docker side
/// (`manifest.json`) always describes the chosen platform; the OCI side points at the whole
/// index only when every platform of it was pulled, and at the chosen manifest otherwise.
pub fn layout(record: &ImageRecord, tags: &[Reference]) -> Layout {
    let chosen = record.chosen();
    let mut blobs: Vec<(Digest, u64)> = Vec::new();
    let mut add = |d: &Digest, size: u64| {
        if !blobs.iter().any(|(b, _)| b == d) {
            blobs.push((d.clone(), size));
        }
    };
    let whole_index = record.all_platforms && mt::is_index(&record.target.media_type);
    let manifests: Vec<_> = if whole_index { record.manifests.iter().collect() } else { vec![chosen] };
    if whole_index {
        add(&record.target.digest, record.target.size);
    }
    for m in &manifests {
        add(&m.descriptor.digest, m.descriptor.size);
        add(&m.config.digest, m.config.size);
        for l in &m.layers {
            add(&l.digest, l.size);
        }
    }
    blobs.sort();

    let top = if whole_index { &record.target } else { &chosen.descriptor };
    let descriptor = |annotations: Value| {
        let mut d = json!({"mediaType": top.media_type, "digest": top.digest, "size": top.size});
        if !whole_index {
            if let Some(p) = &chosen.descriptor.platform {
                d["platform"] = json!(p);
            }
        }
        if !annotations.is_null() {
            d["annotations"] = annotations;
        }
        d
    };
    let entries: Vec<Value> = if tags.is_empty() {
        vec![descriptor(Value::Null)]
    } else {
        tags.iter()
            .map(|t| descriptor(json!({ANNOTATION_IMAGE_NAME: t.canonical(), ANNOTATION_REF_NAME: t.tag_or_latest()})))
            .collect()
    };
    let index_json = json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": entries});

    let repo_tags: Vec<String> = tags.iter().map(Reference::familiar).collect();
    let manifest_json = json!([{
        "Config": blob_path(&chosen.config.digest),
        "RepoTags": repo_tags,
        "Layers": chosen.layers.iter().map(|l| blob_path(&l.digest)).collect::<Vec<_>>(),
    }]);
    // Only the legacy loader read this file, which no current docker has; it names the top
    // layer the way the file always has, by the name of its blob in this archive.
    let repositories = match (tags.is_empty(), chosen.layers.last()) {
        (false, Some(top_layer)) => {
            let mut repos = serde_json::Map::new();
            for t in tags {
                let entry = repos.entry(t.familiar_name()).or_insert_with(|| json!({}));
                entry[t.tag_or_latest()] = json!(top_layer.digest.hex());
            }
            Some(Value::Object(repos))
        }
        _ => None,
    };
    Layout { index_json, manifest_json, repositories, blobs }
}

async fn write_document<W: Sink>(sink: &mut W, path: &str, value: &Value, written: &mut u64) -> Result<(), ExportError> {
    let bytes = serde_json::to_vec(value).expect("json serializes");
    write_member(sink, &Entry::file(path, bytes.len() as u64, MTIME), &bytes, written).await
}

async fn write_member<W: Sink>(sink: &mut W, entry: &Entry, body: &[u8], written: &mut u64) -> Result<(), ExportError> {
    let header = tar::header(entry);
    sink.write(&header).await?;
    sink.write(body).await?;
    let pad = tar::padding(body.len() as u64);
    sink.write(&vec![0; pad]).await?;
    *written += (header.len() + body.len() + pad) as u64;
    Ok(())
}

/// Writes the archive for `layout`, reading every blob from `store`.
pub async fn write_archive<S: BlobStore, W: Sink>(store: &S, layout: &Layout, sink: &mut W) -> Result<u64, ExportError> {
    let mut written = 0u64;
    for dir in ["blobs/", "blobs/sha256/"] {
        write_member(sink, &Entry::directory(dir, MTIME), &[], &mut written).await?;
    }
    for (digest, size) in &layout.blobs {
        let header = tar::header(&Entry::file(blob_path(digest), *size, MTIME));
        sink.write(&header).await?;
        written += header.len() as u64;
        let mut reader = store.reader(digest).await?;
        let mut hasher = Hasher::new(digest.algorithm());
        while let Some(chunk) = reader.chunk().await? {
            if hasher.bytes_hashed() + chunk.len() as u64 > *size {
                return Err(ExportError::SizeChanged { digest: digest.clone(), expected: *size, actual: hasher.bytes_hashed() + chunk.len() as u64 });
            }
            hasher.update(&chunk);
            sink.write(&chunk).await?;
        }
        if hasher.bytes_hashed() != *size {
            return Err(ExportError::SizeChanged { digest: digest.clone(), expected: *size, actual: hasher.bytes_hashed() });
        }
        let actual = hasher.finalize();
        if actual != *digest {
            return Err(ExportError::Corrupt { digest: digest.clone(), actual });
        }
        let pad = tar::padding(*size);
        sink.write(&vec![0; pad]).await?;
        written += size + pad as u64;
    }
    write_document(sink, "index.json", &layout.index_json, &mut written).await?;
    write_document(sink, "manifest.json", &layout.manifest_json, &mut written).await?;
    write_document(sink, "oci-layout", &json!({"imageLayoutVersion": "1.0.0"}), &mut written).await?;
    if let Some(repositories) = &layout.repositories {
        write_document(sink, "repositories", repositories, &mut written).await?;
    }
    sink.write(&tar::trailer()).await?;
    Ok(written + tar::trailer().len() as u64)
}

/// Saves the stored image `selector` names (a reference or an id) as one archive.
pub async fn export_image<S: BlobStore, W: Sink>(store: &ImageStore<S>, selector: &str, sink: &mut W) -> Result<ExportSummary, ExportError> {
    let selector = ImageSelector::parse(selector);
    let record = store.find(&selector).await?.ok_or_else(|| ExportError::NotFound(selector.as_str().to_string()))?;
    let tags = tags_for(&record, Some(&selector));
    let plan = layout(&record, &tags);
    let bytes = write_archive(store.blobs(), &plan, sink).await?;
    Ok(ExportSummary { bytes, blobs: plan.blobs.len(), repo_tags: tags.iter().map(Reference::familiar).collect() })
}
