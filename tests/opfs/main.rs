//! The OPFS blob store in a dedicated worker (the only place sync access handles exist):
//! commit, abort, resume state, reads and the metadata document, on Chromium's real OPFS.
//! Run with the other browser tests: `tests/browser/run.sh`.
#![cfg(target_arch = "wasm32")]

use imagescope_core::digest::Digest;
use imagescope_core::store::{BlobStore, BlobWriter, ChunkReader};
use imagescope_web::opfs::{self, OpfsStore};
use wasm_bindgen_test::wasm_bindgen_test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Bytes unique to a test, so tests sharing the origin's store never touch each other's blobs.
fn content(tag: &str, len: usize) -> (Digest, Vec<u8>) {
    let bytes: Vec<u8> = tag.bytes().cycle().take(len).collect();
    (Digest::sha256_of(&bytes), bytes)
}

async fn read_all(store: &OpfsStore, digest: &Digest) -> Vec<u8> {
    let mut reader = store.reader(digest).await.expect("reader");
    let mut all = Vec::new();
    while let Some(chunk) = reader.chunk().await.expect("chunk") {
        all.extend(chunk);
    }
    all
}

#[wasm_bindgen_test]
async fn a_committed_blob_is_visible_and_reads_back_whole() {
    let store = OpfsStore::open().await.expect("open");
    let (digest, bytes) = content("commit", 3 * 1024 * 1024 + 17);
    assert!(!store.has(&digest).await.unwrap());
    let mut writer = store.writer(&digest).await.unwrap();
    let (head, tail) = bytes.split_at(1_000_000);
    writer.write_at(0, head).await.unwrap();
    writer.write_at(head.len() as u64, tail).await.unwrap();
    assert!(!store.has(&digest).await.unwrap(), "nothing is visible before commit");
    writer.commit().await.unwrap();
    assert!(store.has(&digest).await.unwrap());
    assert_eq!(store.size(&digest).await.unwrap(), Some(bytes.len() as u64));
    assert!(store.list().await.unwrap().contains(&digest));
    assert_eq!(read_all(&store, &digest).await, bytes);
    store.delete(&digest).await.unwrap();
    store.delete(&digest).await.unwrap();
    assert!(!store.has(&digest).await.unwrap());
}

#[wasm_bindgen_test]
async fn a_dropped_writer_keeps_its_bytes_and_state_for_a_resume() {
    let store = OpfsStore::open().await.expect("open");
    let (digest, bytes) = content("resume", 5000);
    let mut writer = store.writer(&digest).await.unwrap();
    writer.write_at(0, &bytes[..1234]).await.unwrap();
    writer.save_state(b"hasher state").await.unwrap();
    writer.write_at(1234, &bytes[1234..2000]).await.unwrap();
    drop(writer);

    let mut again = store.writer(&digest).await.expect("the lock was released");
    assert_eq!(again.current_len().await.unwrap(), 2000);
    assert_eq!(again.load_state().await.unwrap().as_deref(), Some(&b"hasher state"[..]));
    again.truncate(1234).await.unwrap();
    assert_eq!(again.current_len().await.unwrap(), 1234);
    again.write_at(1234, &bytes[1234..]).await.unwrap();
    again.commit().await.unwrap();
    assert_eq!(read_all(&store, &digest).await, bytes);
    let mut fresh = store.writer(&digest).await.unwrap();
    assert_eq!(fresh.load_state().await.unwrap(), None, "commit drops the state");
    fresh.abort().await.unwrap();
    store.delete(&digest).await.unwrap();
}

#[wasm_bindgen_test]
async fn abort_leaves_nothing_behind() {
    let store = OpfsStore::open().await.expect("open");
    let (digest, bytes) = content("abort", 4096);
    let mut writer = store.writer(&digest).await.unwrap();
    writer.write_at(0, &bytes).await.unwrap();
    writer.save_state(b"state").await.unwrap();
    writer.abort().await.unwrap();
    assert!(!store.has(&digest).await.unwrap());
    let ingest = opfs::names(&opfs::directory(store.root(), "ingest").await.unwrap()).await.unwrap();
    assert!(!ingest.iter().any(|n| n.starts_with(digest.hex())), "{ingest:?}");
}

#[wasm_bindgen_test]
async fn metadata_is_replaced_whole() {
    let store = OpfsStore::open().await.expect("open");
    store.write_metadata(br#"{"version":1,"images":[]}"#).await.unwrap();
    store.write_metadata(b"{\"second\":true}").await.unwrap();
    assert_eq!(store.read_metadata().await.unwrap().as_deref(), Some(&b"{\"second\":true}"[..]));
    let names = opfs::names(store.root()).await.unwrap();
    assert!(names.contains(&"images.json".to_string()));
    assert!(!names.contains(&"images.json.tmp".to_string()), "{names:?}");
}
