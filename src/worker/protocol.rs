//! What the page and the store worker say to each other: one JSON document per message, so
//! both sides share these types and nothing else.

use super::files_protocol::FilesCommand;
use crate::login::PasteReport;
use imagescope_core::auth::credentials::Credential;
use imagescope_core::status::{Image, Int64Value};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A credential as it crosses to the worker, which keeps it in memory for that pull only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireCredential {
    Anonymous,
    Basic { username: String, password: String },
    IdentityToken { username: String, token: String },
    RegistryToken { token: String },
}

impl From<&Credential> for WireCredential {
    fn from(c: &Credential) -> WireCredential {
        match c.clone() {
            Credential::Anonymous => WireCredential::Anonymous,
            Credential::Basic { username, password } => WireCredential::Basic { username, password },
            Credential::IdentityToken { username, token } => WireCredential::IdentityToken { username, token },
            Credential::RegistryToken(token) => WireCredential::RegistryToken { token },
        }
    }
}

impl From<WireCredential> for Credential {
    fn from(c: WireCredential) -> Credential {
        match c {
            WireCredential::Anonymous => Credential::Anonymous,
            WireCredential::Basic { username, password } => Credential::Basic { username, password },
            WireCredential::IdentityToken { username, token } => Credential::IdentityToken { username, token },
            WireCredential::RegistryToken { token } => Credential::RegistryToken(token),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub reference: String,
    /// `os/arch[/variant]`; linux/amd64 when absent.
    pub platform: Option<String>,
    pub credential: WireCredential,
    /// The page's origin when registry requests must go through `imagescope serve`'s proxy.
    pub proxy_origin: Option<String>,
    pub jobs: usize,
    pub all_platforms: bool,
    pub verify_diff_ids: bool,
    /// docker's `--all-tags`: these tags of `reference`'s repository, one after another,
    /// instead of `reference` itself.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A tag `--all-tags` would pull, and the size of its image for the chosen platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedTag {
    pub tag: String,
    pub size: u64,
}

/// A credential a pasted file yields for one reference, and why it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasteCandidate {
    pub credential: WireCredential,
    pub reason: String,
}

/// The worker's reading of a pasted `config.json` or Secret against one reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasteReading {
    pub report: Result<PasteReport, String>,
    /// In the order a runtime tries them; never empty when `Ok`.
    pub candidates: Result<Vec<PasteCandidate>, String>,
}

/// Page → worker. Every command carries an id its replies repeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    Pull { id: u64, request: PullRequest },
    /// What pulling every tag of the request's repository would take, before anything is pulled.
    PlanTags { id: u64, request: PullRequest },
    Cancel { id: u64 },
    List { id: u64, filter: Option<String> },
    Status { id: u64, selector: String },
    Remove { id: u64, selector: String },
    Export { id: u64, selector: String },
    Fsck { id: u64 },
    Estimate { id: u64 },
    /// Hashes `bytes` of generated data with the core's hasher: the ceiling a pull can reach.
    HashSpeed { id: u64, bytes: u64 },
    /// Reads `url` to its end through the pull's fetch path, keeping nothing: the ceiling the
    /// browser's network stack sets.
    ReadSpeed { id: u64, url: String },
    /// Reads a pasted `config.json` or Secret for `reference`; needs no store.
    ReadPaste { id: u64, text: String, reference: String },
    /// The Files view: listings of layers and of the merged image, file contents.
    Files { id: u64, command: FilesCommand },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorruptBlob {
    pub digest: String,
    pub actual: String,
}

/// Worker → page. The page reads replies with [`Reply::parse`] rather than a derived
/// `Deserialize`, which for a tagged enum of this size weighs more in the page's start-up
/// download than the whole store panel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// The worker has opened its store and takes commands.
    Ready,
    /// A pull's event as the core serializes it, with the lines `docker pull` prints for it.
    /// Progress events are thinned to a few per second per blob.
    Event { id: u64, event: serde_json::Value, lines: Vec<String> },
    /// One image is stored; `remaining` more follow when several tags are pulled.
    Pulled { id: u64, image: Image, updated: bool, downloaded_blobs: usize, downloaded_bytes: u64, existing_blobs: usize, remaining: usize },
    /// The tags of `repository` an all-tags pull would store, with the ones it leaves out and why.
    TagPlan { id: u64, repository: String, tags: Vec<PlannedTag>, skipped: Vec<(String, String)>, total: u64 },
    Images { id: u64, images: Vec<Image> },
    /// ImageStatus: `image` is `None` when nothing stored matches (CRI's empty image).
    Status { id: u64, selector: String, image: Option<Image> },
    Removed { id: u64, image: Option<Image>, deleted_blobs: usize, kept_blobs: usize },
    /// The archive is complete in OPFS at `exports/<file>`; the page hands it to the person.
    Exported { id: u64, file: String, download_name: String, bytes: u64, blobs: usize },
    Fsck { id: u64, checked: usize, bytes: u64, corrupt: Vec<CorruptBlob>, missing: Vec<String>, unreferenced: Vec<String> },
    Estimate { id: u64, usage: u64, quota: u64, persisted: bool },
    HashSpeed { id: u64, bytes: u64, millis: f64 },
    ReadSpeed { id: u64, bytes: u64, millis: f64 },
    Failed { id: u64, kind: String, code: Option<String>, message: String },
    Paste { id: u64, reading: PasteReading },
}

pub(super) fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_string)
}

pub(super) fn number(v: &Value, key: &str) -> Option<u64> {
    v.get(key)?.as_u64()
}

fn texts(v: &Value, key: &str) -> Option<Vec<String>> {
    v.get(key)?.as_array()?.iter().map(|t| t.as_str().map(str::to_string)).collect()
}

fn image(v: &Value) -> Option<Image> {
    Some(Image {
        id: text(v, "id")?,
        repo_tags: texts(v, "repo_tags")?,
        repo_digests: texts(v, "repo_digests")?,
        size: number(v, "size")?,
        uid: v.get("uid").and_then(|u| u.get("value")?.as_i64()).map(|value| Int64Value { value }),
        username: text(v, "username").unwrap_or_default(),
        pinned: v.get("pinned").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn pairs(v: &Value, key: &str) -> Option<Vec<(String, String)>> {
    v.get(key)?.as_array()?.iter().map(|p| Some((p.get(0)?.as_str()?.to_string(), p.get(1)?.as_str()?.to_string()))).collect()
}

/// serde's `Result`: `{"Ok": …}` or `{"Err": "why"}`.
fn result<T>(v: &Value, ok: impl FnOnce(&Value) -> Option<T>) -> Option<Result<T, String>> {
    match v.get("Ok") {
        Some(value) => ok(value).map(Ok),
        None => v.get("Err")?.as_str().map(|e| Err(e.to_string())),
    }
}

fn wire_credential(v: &Value) -> Option<WireCredential> {
    Some(match v.get("type")?.as_str()? {
        "anonymous" => WireCredential::Anonymous,
        "basic" => WireCredential::Basic { username: text(v, "username")?, password: text(v, "password")? },
        "identity_token" => WireCredential::IdentityToken { username: text(v, "username")?, token: text(v, "token")? },
        "registry_token" => WireCredential::RegistryToken { token: text(v, "token")? },
        _ => return None,
    })
}

fn paste_reading(v: &Value) -> Option<PasteReading> {
    let report = result(v.get("report")?, |r| Some(PasteReport { source: text(r, "source")?, matches: pairs(r, "matches")?, rejected: pairs(r, "rejected")? }))?;
    let candidates = result(v.get("candidates")?, |list| {
        list.as_array()?.iter().map(|c| Some(PasteCandidate { credential: wire_credential(c.get("credential")?)?, reason: text(c, "reason")? })).collect()
    })?;
    Some(PasteReading { report, candidates })
}

fn optional_image(v: &Value) -> Option<Option<Image>> {
    match v.get("image")? {
        Value::Null => Some(None),
        i => image(i).map(Some),
    }
}

impl Reply {
    /// Reads what the worker's `Serialize` wrote; `None` for anything else.
    pub fn parse(json: &str) -> Option<Reply> {
        let v: Value = serde_json::from_str(json).ok()?;
        let id = number(&v, "id").unwrap_or(0);
        let count = |key| number(&v, key).map(|n| n as usize);
        Some(match v.get("reply")?.as_str()? {
            "ready" => Reply::Ready,
            "event" => Reply::Event { id, event: v.get("event")?.clone(), lines: texts(&v, "lines")? },
            "pulled" => Reply::Pulled {
                id,
                image: image(v.get("image")?)?,
                updated: v.get("updated")?.as_bool()?,
                downloaded_blobs: count("downloaded_blobs")?,
                downloaded_bytes: number(&v, "downloaded_bytes")?,
                existing_blobs: count("existing_blobs")?,
                remaining: count("remaining")?,
            },
            "tag_plan" => Reply::TagPlan {
                id,
                repository: text(&v, "repository")?,
                tags: v.get("tags")?.as_array()?.iter().map(|t| Some(PlannedTag { tag: text(t, "tag")?, size: number(t, "size")? })).collect::<Option<_>>()?,
                skipped: pairs(&v, "skipped")?,
                total: number(&v, "total")?,
            },
            "images" => Reply::Images { id, images: v.get("images")?.as_array()?.iter().map(image).collect::<Option<_>>()? },
            "status" => Reply::Status { id, selector: text(&v, "selector")?, image: optional_image(&v)? },
            "removed" => Reply::Removed { id, image: optional_image(&v)?, deleted_blobs: count("deleted_blobs")?, kept_blobs: count("kept_blobs")? },
            "exported" => Reply::Exported { id, file: text(&v, "file")?, download_name: text(&v, "download_name")?, bytes: number(&v, "bytes")?, blobs: count("blobs")? },
            "fsck" => Reply::Fsck {
                id,
                checked: count("checked")?,
                bytes: number(&v, "bytes")?,
                corrupt: v.get("corrupt")?.as_array()?.iter().map(|c| Some(CorruptBlob { digest: text(c, "digest")?, actual: text(c, "actual")? })).collect::<Option<_>>()?,
                missing: texts(&v, "missing")?,
                unreferenced: texts(&v, "unreferenced")?,
            },
            "estimate" => Reply::Estimate { id, usage: number(&v, "usage")?, quota: number(&v, "quota")?, persisted: v.get("persisted")?.as_bool()? },
            "hash_speed" => Reply::HashSpeed { id, bytes: number(&v, "bytes")?, millis: v.get("millis")?.as_f64()? },
            "read_speed" => Reply::ReadSpeed { id, bytes: number(&v, "bytes")?, millis: v.get("millis")?.as_f64()? },
            "failed" => Reply::Failed { id, kind: text(&v, "kind")?, code: text(&v, "code"), message: text(&v, "message")? },
            "paste" => Reply::Paste { id, reading: paste_reading(v.get("reading")?)? },
            _ => return None,
        })
    }
}

/// Where the store lives in the origin's private file system, and its exports beside it.
pub const STORE_DIR: &str = "imagescope";
pub const EXPORTS_DIR: &str = "exports";

#[cfg(test)]
mod tests {
    use super::*;

    fn image(tags: &[&str], uid: Option<i64>) -> Image {
        Image {
            id: "sha256:0123".into(),
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            repo_digests: vec!["r/x@sha256:4567".into()],
            size: 2864,
            uid: uid.map(|value| Int64Value { value }),
            username: if uid.is_some() { String::new() } else { "nobody".into() },
            pinned: false,
        }
    }

    #[test]
    fn every_reply_reads_back_as_it_was_written() {
        let replies = vec![
            Reply::Ready,
            Reply::Event { id: 1, event: serde_json::json!({"event": "overall", "done": 1, "total": 2}), lines: vec!["a: Pull complete".into()] },
            Reply::Pulled { id: 2, image: image(&["r/x:1"], Some(0)), updated: true, downloaded_blobs: 2, downloaded_bytes: 436, existing_blobs: 1, remaining: 0 },
            Reply::Pulled { id: 2, image: image(&["r/x:2"], None), updated: false, downloaded_blobs: 0, downloaded_bytes: 0, existing_blobs: 3, remaining: 4 },
            Reply::TagPlan {
                id: 2,
                repository: "r/x".into(),
                tags: vec![PlannedTag { tag: "1".into(), size: 2864 }, PlannedTag { tag: "2".into(), size: 10 }],
                skipped: vec![("sha256-00".into(), "a referrers fallback tag".into())],
                total: 2874,
            },
            Reply::TagPlan { id: 3, repository: "r/y".into(), tags: vec![], skipped: vec![], total: 0 },
            Reply::Images { id: 3, images: vec![image(&[], None), image(&["r/x:1", "r/x:2"], Some(1000))] },
            Reply::Status { id: 4, selector: "r/x:1".into(), image: None },
            Reply::Status { id: 5, selector: "r/x:1".into(), image: Some(image(&["r/x:1"], None)) },
            Reply::Removed { id: 6, image: None, deleted_blobs: 0, kept_blobs: 0 },
            Reply::Exported { id: 7, file: "7.tar".into(), download_name: "x_1.tar".into(), bytes: 10240, blobs: 4 },
            Reply::Fsck { id: 8, checked: 4, bytes: 99, corrupt: vec![CorruptBlob { digest: "sha256:a".into(), actual: "sha256:b".into() }], missing: vec!["sha256:c".into()], unreferenced: vec![] },
            Reply::Estimate { id: 9, usage: 1, quota: 2, persisted: false },
            Reply::HashSpeed { id: 10, bytes: 1 << 20, millis: 4.5 },
            Reply::ReadSpeed { id: 10, bytes: 1 << 20, millis: 3.5 },
            Reply::Failed { id: 11, kind: "quota".into(), code: None, message: "full".into() },
            Reply::Failed { id: 12, kind: "registry".into(), code: Some("DENIED".into()), message: "no".into() },
            Reply::Paste { id: 13, reading: PasteReading { report: Err("not JSON".into()), candidates: Err("not JSON".into()) } },
            Reply::Paste {
                id: 14,
                reading: PasteReading {
                    report: Ok(PasteReport { source: "Kubernetes Secret".into(), matches: vec![("secret a · r.io".into(), "host matches".into())], rejected: vec![("secret b · q.io".into(), "other host".into())] }),
                    candidates: Ok(vec![
                        PasteCandidate { credential: WireCredential::Basic { username: "u".into(), password: "p".into() }, reason: "first".into() },
                        PasteCandidate { credential: WireCredential::IdentityToken { username: String::new(), token: "t".into() }, reason: "second".into() },
                        PasteCandidate { credential: WireCredential::RegistryToken { token: "r".into() }, reason: "third".into() },
                        PasteCandidate { credential: WireCredential::Anonymous, reason: "none applies".into() },
                    ]),
                },
            },
        ];
        for reply in replies {
            let json = serde_json::to_string(&reply).unwrap();
            assert_eq!(Reply::parse(&json), Some(reply), "{json}");
        }
        assert_eq!(Reply::parse(r#"{"reply":"unknown"}"#), None);
    }
}
