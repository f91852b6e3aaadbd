//! What a pull reports while it runs, and the lines `docker pull` prints for the same moments.

use crate::digest::Digest;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobKind {
    Manifest,
    Config,
    Layer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BlobStatus {
    /// Queued for download (docker's "Pulling fs layer").
    Waiting { size: u64 },
    /// Already stored: not fetched again.
    AlreadyExists { size: u64 },
    /// The request went out; `resumed_from` > 0 when it continues a partial download.
    Downloading { size: u64, resumed_from: u64 },
    Progress { done: u64, size: u64 },
    /// The connection failed mid-blob; the next request asks for the rest with `Range`.
    Retrying { from: u64, reason: String },
    /// The registry ignored or mangled a Range request, so the blob starts over from byte 0.
    Restarted { reason: String },
    /// All bytes are in; size and digest are being checked.
    Verifying,
    /// Verified and committed under its digest.
    Downloaded,
    /// Decompressing to compare with the config's diff_id.
    CheckingDiffId,
    /// Done with this blob.
    Complete,
    Failed { message: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PullEvent {
    /// No tag or digest was given, so `latest` is pulled.
    UsingDefaultTag,
    PullingFrom { tag_or_digest: String, repository: String },
    Blob { digest: Digest, kind: BlobKind, #[serde(flatten)] status: BlobStatus },
    /// Bytes of every blob this pull downloads: done so far, and in all.
    Overall { done: u64, total: u64 },
    Done { digest: Digest, updated: bool, familiar: String, canonical: String },
}

/// The lines `docker pull` prints for `event`, exactly; empty for events it shows only as a
/// progress bar, or not at all.
pub fn docker_lines(event: &PullEvent) -> Vec<String> {
    match event {
        PullEvent::UsingDefaultTag => vec!["Using default tag: latest".into()],
        PullEvent::PullingFrom { tag_or_digest, repository } => vec![format!("{tag_or_digest}: Pulling from {repository}")],
        PullEvent::Blob { digest, kind: BlobKind::Layer, status } => {
            let text = match status {
                BlobStatus::Waiting { .. } => "Pulling fs layer",
                BlobStatus::AlreadyExists { .. } => "Already exists",
                BlobStatus::Verifying => "Verifying Checksum",
                BlobStatus::Downloaded => "Download complete",
                BlobStatus::Complete => "Pull complete",
                _ => return vec![],
            };
            vec![format!("{}: {text}", digest.short())]
        }
        PullEvent::Blob { .. } | PullEvent::Overall { .. } => vec![],
        PullEvent::Done { digest, updated, familiar, canonical } => {
            let status = if *updated { "Downloaded newer image for" } else { "Image is up to date for" };
            vec![format!("Digest: {digest}"), format!("Status: {status} {familiar}"), canonical.clone()]
        }
    }
}

/// What docker does not print but a person debugging a pull wants to see: a lost connection
/// resumed, a blob started over, a download resumed from stored bytes.
pub fn recovery_notice(event: &PullEvent) -> Option<String> {
    let PullEvent::Blob { digest, status, .. } = event else {
        return None;
    };
    let short = digest.short();
    match status {
        BlobStatus::Retrying { from, reason } => Some(format!("{short}: connection lost ({reason}); resuming from byte {from}")),
        BlobStatus::Restarted { reason } => Some(format!("{short}: starting over from byte 0: {reason}")),
        BlobStatus::Downloading { resumed_from, size } if *resumed_from > 0 => Some(format!("{short}: resuming at byte {resumed_from} of {size}")),
        _ => None,
    }
}

/// docker's progress bar text for a layer: `Downloading  [=====>      ]  1.2MB/3.4MB`.
pub fn progress_bar(done: u64, size: u64) -> String {
    const WIDTH: u64 = 50;
    let filled = (done.min(size) * WIDTH).checked_div(size).unwrap_or(WIDTH);
    let mut bar = "=".repeat(filled as usize);
    if filled < WIDTH {
        bar.push('>');
        bar.push_str(&" ".repeat((WIDTH - filled - 1) as usize));
    }
    format!("[{bar}] {:>7}/{}", crate::status::human_size(done), crate::status::human_size(size))
}
