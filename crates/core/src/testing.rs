//! Helpers shared by the unit tests of several modules.

use crate::digest::Digest;
use crate::manifest::Descriptor;
use std::collections::BTreeMap;

/// The descriptor a registry would list for `bytes`.
pub fn descriptor(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: Digest::sha256_of(bytes),
        size: bytes.len() as u64,
        urls: vec![],
        annotations: BTreeMap::new(),
        platform: None,
        artifact_type: None,
    }
}

/// Drives a store or export future to completion, as the command does.
pub fn run<F: std::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}
