//! The pull and the stored images as the page shows them, and how worker replies change them.
//! `State` holds one [`PullState`]; its actions arrive wrapped in `Action::Store`.

use crate::state::LogEntry;
use crate::worker::protocol::{CorruptBlob, PlannedTag, Reply};
use imagescope_core::status::Image;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct LayerProgress {
    pub digest: String,
    /// The core's blob status word (`waiting`, `progress`, `complete`, …).
    pub status: String,
    pub done: u64,
    pub size: u64,
    /// Where this download started (a resume starts past 0) and when, for the rate.
    pub resumed_from: u64,
    pub started_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    Done,
    Failed,
    Cancelled,
}

impl Phase {
    pub fn as_attr(self) -> &'static str {
        match self {
            Phase::Running => "running",
            Phase::Done => "done",
            Phase::Failed => "failed",
            Phase::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub kind: String,
    pub code: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivePull {
    pub id: u64,
    pub reference: String,
    pub phase: Phase,
    pub layers: Vec<LayerProgress>,
    pub done: u64,
    pub total: u64,
    pub started_ms: f64,
    pub finished_ms: Option<f64>,
    pub problem: Option<Problem>,
    /// Images this pull stores (several for all tags) and how many are stored so far.
    pub images: usize,
    pub stored: usize,
}

/// What pulling every tag of a repository would take, shown for the person to confirm.
#[derive(Debug, Clone, PartialEq)]
pub struct TagPlan {
    pub id: u64,
    pub repository: String,
    /// `None` while the tags are still being read.
    pub tags: Option<Vec<PlannedTag>>,
    pub skipped: Vec<(String, String)>,
    pub total: u64,
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FsckSummary {
    pub checked: usize,
    pub bytes: u64,
    pub corrupt: Vec<CorruptBlob>,
    pub missing: Vec<String>,
    pub unreferenced: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub id: u64,
    pub selector: String,
    pub name: Option<String>,
    pub bytes: u64,
    pub saved: Option<Saved>,
    pub problem: Option<String>,
}

/// Where a finished export went.
#[derive(Debug, Clone, PartialEq)]
pub enum Saved {
    /// Offered as a download through this object URL.
    Download(String),
    /// Written into the file the person picked, named so.
    File(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PullState {
    pub jobs: usize,
    pub all_platforms: bool,
    pub verify_diff_ids: bool,
    pub pull: Option<ActivePull>,
    /// The stored-images panel is open (and so the worker is running).
    pub open: bool,
    pub filter: String,
    pub images: Option<Vec<Image>>,
    /// Bumped whenever the store changed, so the list is read again.
    pub generation: u64,
    /// The last ImageStatus asked for: the selector and what came back.
    pub status: Option<(String, Option<Image>)>,
    pub estimate: Option<(u64, u64, bool)>,
    pub fsck: Option<FsckSummary>,
    pub fsck_running: bool,
    pub export: Option<Export>,
    pub tag_plan: Option<TagPlan>,
    pub problem: Option<Problem>,
}

impl Default for PullState {
    fn default() -> PullState {
        PullState {
            jobs: 3,
            all_platforms: false,
            verify_diff_ids: false,
            pull: None,
            open: false,
            filter: String::new(),
            images: None,
            generation: 0,
            status: None,
            estimate: None,
            fsck: None,
            fsck_running: false,
            export: None,
            tag_plan: None,
            problem: None,
        }
    }
}

pub enum StoreAction {
    SetJobs(usize),
    SetAllPlatforms(bool),
    SetVerifyDiffIds(bool),
    SetFilter(String),
    SetOpen(bool),
    /// A pull of `images` images (one, or every planned tag) has been sent.
    PullStarted { id: u64, reference: String, now_ms: f64, images: usize },
    PlanStarted { id: u64, repository: String },
    DismissPlan,
    ExportStarted { id: u64, selector: String },
    FsckStarted,
    ExportSaved { id: u64, saved: Result<Saved, String> },
    Reply(Reply),
    WorkerFailed(String),
}

fn number(value: &Value, key: &str) -> u64 {
    value.get(key).and_then(Value::as_u64).unwrap_or(0)
}

impl PullState {
    pub fn running(&self) -> bool {
        self.pull.as_ref().is_some_and(|p| p.phase == Phase::Running)
    }

    /// Applies `action`; lines for the activity log go to `log`.
    pub fn apply(&mut self, action: StoreAction, log: &mut Vec<LogEntry>, now_ms: f64) {
        match action {
            StoreAction::SetJobs(jobs) => self.jobs = jobs.clamp(1, 16),
            StoreAction::SetAllPlatforms(on) => self.all_platforms = on,
            StoreAction::SetVerifyDiffIds(on) => self.verify_diff_ids = on,
            StoreAction::SetFilter(filter) => self.filter = filter,
            StoreAction::SetOpen(open) => self.open = open,
            StoreAction::PullStarted { id, reference, now_ms, images } => {
                self.tag_plan = None;
                self.pull = Some(ActivePull {
                    id,
                    reference,
                    phase: Phase::Running,
                    layers: vec![],
                    done: 0,
                    total: 0,
                    started_ms: now_ms,
                    finished_ms: None,
                    problem: None,
                    images,
                    stored: 0,
                });
            }
            StoreAction::PlanStarted { id, repository } => {
                self.tag_plan = Some(TagPlan { id, repository, tags: None, skipped: vec![], total: 0, problem: None });
            }
            StoreAction::DismissPlan => self.tag_plan = None,
            StoreAction::ExportStarted { id, selector } => {
                self.export = Some(Export { id, selector, name: None, bytes: 0, saved: None, problem: None });
            }
            StoreAction::FsckStarted => {
                self.fsck_running = true;
                self.fsck = None;
            }
            StoreAction::ExportSaved { id, saved } => {
                if let Some(export) = self.export.as_mut().filter(|e| e.id == id) {
                    match saved {
                        Ok(saved) => export.saved = Some(saved),
                        Err(message) => export.problem = Some(message),
                    }
                }
            }
            StoreAction::WorkerFailed(message) => {
                log.push(LogEntry::Line(format!("Error: {message}")));
                self.problem = Some(Problem { kind: "worker".into(), code: None, message });
                if let Some(pull) = self.pull.as_mut().filter(|p| p.phase == Phase::Running) {
                    pull.phase = Phase::Failed;
                }
            }
            StoreAction::Reply(reply) => self.reply(reply, log, now_ms),
        }
    }

    fn pull_mut(&mut self, id: u64) -> Option<&mut ActivePull> {
        self.pull.as_mut().filter(|p| p.id == id)
    }

    fn reply(&mut self, reply: Reply, log: &mut Vec<LogEntry>, now_ms: f64) {
        match reply {
            Reply::Ready => {}
            Reply::Event { id, event, lines } => {
                log.extend(lines.into_iter().map(LogEntry::Line));
                if let Some(pull) = self.pull_mut(id) {
                    pull.event(&event, now_ms);
                }
            }
            Reply::Pulled { id, image, downloaded_blobs, existing_blobs, remaining, .. } => {
                log.push(LogEntry::Line(format!("Stored {} ({downloaded_blobs} layers downloaded, {existing_blobs} already stored)", image.repo_tags.first().unwrap_or(&image.id))));
                if let Some(pull) = self.pull_mut(id) {
                    pull.stored += 1;
                    pull.done = pull.total;
                    if remaining == 0 {
                        pull.phase = Phase::Done;
                        pull.finished_ms = Some(now_ms);
                    }
                }
                self.open = true;
                self.generation += 1;
            }
            Reply::Images { images, .. } => self.images = Some(images),
            Reply::Status { selector, image, .. } => self.status = Some((selector, image)),
            Reply::Removed { image, deleted_blobs, kept_blobs, .. } => {
                let line = match &image {
                    Some(i) => format!("Deleted: {} ({deleted_blobs} blobs deleted, {kept_blobs} kept for other images)", i.id),
                    None => "Nothing to remove: no stored image matches".to_string(),
                };
                log.push(LogEntry::Line(line));
                if let (Some((_, Some(shown))), Some(removed)) = (&self.status, &image) {
                    if shown.id == removed.id {
                        self.status = None;
                    }
                }
                self.generation += 1;
            }
            Reply::Exported { id, download_name, bytes, blobs, .. } => {
                log.push(LogEntry::Line(format!("Saved {download_name} ({blobs} blobs, {bytes} bytes)")));
                if let Some(export) = self.export.as_mut().filter(|e| e.id == id) {
                    export.name = Some(download_name);
                    export.bytes = bytes;
                }
            }
            Reply::Fsck { checked, bytes, corrupt, missing, unreferenced, .. } => {
                self.fsck_running = false;
                for c in &corrupt {
                    log.push(LogEntry::Line(format!("Self-check: {} is damaged (its content hashes to {})", c.digest, c.actual)));
                }
                self.fsck = Some(FsckSummary { checked, bytes, corrupt, missing, unreferenced });
            }
            Reply::Estimate { usage, quota, persisted, .. } => self.estimate = Some((usage, quota, persisted)),
            // Benchmark figures and pasted-file readings go to whoever asked, not to the panels.
            Reply::HashSpeed { .. } | Reply::ReadSpeed { .. } | Reply::Paste { .. } => {}
            Reply::TagPlan { id, repository, tags, skipped, total } => {
                if let Some(plan) = self.tag_plan.as_mut().filter(|p| p.id == id) {
                    *plan = TagPlan { id, repository, tags: Some(tags), skipped, total, problem: None };
                }
            }
            Reply::Failed { id, kind, code, message } => {
                log.push(LogEntry::Line(format!("Error: {message}")));
                if let Some(plan) = self.tag_plan.as_mut().filter(|p| p.id == id) {
                    plan.problem = Some(message);
                    return;
                }
                let problem = Problem { kind: kind.clone(), code, message: message.clone() };
                if let Some(pull) = self.pull_mut(id) {
                    pull.phase = if kind == "cancelled" { Phase::Cancelled } else { Phase::Failed };
                    pull.finished_ms = Some(now_ms);
                    pull.problem = Some(problem);
                    self.generation += 1;
                    return;
                }
                if let Some(export) = self.export.as_mut().filter(|e| e.id == id) {
                    export.problem = Some(message);
                    return;
                }
                self.fsck_running = false;
                self.problem = Some(problem);
            }
        }
    }
}

impl ActivePull {
    fn event(&mut self, event: &Value, now_ms: f64) {
        match event.get("event").and_then(Value::as_str) {
            Some("overall") => {
                self.done = number(event, "done");
                self.total = number(event, "total");
            }
            Some("blob") if event.get("kind").and_then(Value::as_str) == Some("layer") => {
                let digest = event.get("digest").and_then(Value::as_str).unwrap_or_default().to_string();
                let status = event.get("status").and_then(Value::as_str).unwrap_or_default().to_string();
                let index = match self.layers.iter().position(|l| l.digest == digest) {
                    Some(i) => i,
                    None => {
                        self.layers.push(LayerProgress { digest, status: String::new(), done: 0, size: 0, resumed_from: 0, started_ms: now_ms });
                        self.layers.len() - 1
                    }
                };
                let layer = &mut self.layers[index];
                match status.as_str() {
                    "waiting" | "already_exists" => {
                        layer.size = number(event, "size");
                        if status == "already_exists" {
                            layer.done = layer.size;
                        }
                    }
                    "downloading" => {
                        layer.size = number(event, "size");
                        layer.resumed_from = number(event, "resumed_from");
                        layer.done = layer.resumed_from;
                        layer.started_ms = now_ms;
                    }
                    "progress" => layer.done = number(event, "done"),
                    "downloaded" | "complete" => layer.done = layer.size,
                    _ => {}
                }
                layer.status = status;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(tag: &str) -> Image {
        Image { id: format!("sha256:{tag}"), repo_tags: vec![format!("r/x:{tag}")], repo_digests: vec![], size: 10, uid: None, username: String::new(), pinned: false }
    }

    fn pulled(id: u64, tag: &str, remaining: usize) -> StoreAction {
        StoreAction::Reply(Reply::Pulled { id, image: image(tag), updated: true, downloaded_blobs: 1, downloaded_bytes: 10, existing_blobs: 0, remaining })
    }

    #[test]
    fn an_all_tags_pull_runs_until_the_last_image_is_stored() {
        let (mut state, mut log) = (PullState::default(), vec![]);
        state.apply(StoreAction::PlanStarted { id: 1, repository: "r/x".into() }, &mut log, 0.0);
        let plan = state.tag_plan.clone().unwrap();
        assert_eq!((plan.tags, plan.problem), (None, None));
        let tags = vec![PlannedTag { tag: "1".into(), size: 10 }, PlannedTag { tag: "2".into(), size: 10 }];
        let reply = Reply::TagPlan { id: 1, repository: "r/x".into(), tags: tags.clone(), skipped: vec![("sha256-0".into(), "a referrers fallback tag".into())], total: 20 };
        // A reply to an older plan leaves the shown one alone.
        state.apply(StoreAction::Reply(Reply::TagPlan { id: 0, repository: "r/old".into(), tags: vec![], skipped: vec![], total: 0 }), &mut log, 0.0);
        assert_eq!(state.tag_plan.as_ref().unwrap().tags, None);
        state.apply(StoreAction::Reply(reply), &mut log, 0.0);
        assert_eq!(state.tag_plan.as_ref().unwrap().tags, Some(tags));

        state.apply(StoreAction::PullStarted { id: 2, reference: "r/x (all 2 tags)".into(), now_ms: 0.0, images: 2 }, &mut log, 0.0);
        assert_eq!(state.tag_plan, None, "the plan is done with once its pull starts");
        state.apply(pulled(2, "1", 1), &mut log, 5.0);
        let pull = state.pull.clone().unwrap();
        assert_eq!((pull.phase, pull.stored, pull.finished_ms), (Phase::Running, 1, None));
        state.apply(pulled(2, "2", 0), &mut log, 9.0);
        let pull = state.pull.clone().unwrap();
        assert_eq!((pull.phase, pull.stored, pull.finished_ms), (Phase::Done, 2, Some(9.0)));
        assert_eq!(state.generation, 2, "each stored image refreshes the list");
    }

    #[test]
    fn a_failed_plan_is_shown_on_the_plan_not_the_store() {
        let (mut state, mut log) = (PullState::default(), vec![]);
        state.apply(StoreAction::PlanStarted { id: 4, repository: "r/x".into() }, &mut log, 0.0);
        state.apply(StoreAction::Reply(Reply::Failed { id: 4, kind: "registry".into(), code: Some("NAME_UNKNOWN".into()), message: "no such repository".into() }), &mut log, 0.0);
        assert_eq!(state.tag_plan.as_ref().unwrap().problem.as_deref(), Some("no such repository"));
        assert_eq!(state.problem, None);
        state.apply(StoreAction::DismissPlan, &mut log, 0.0);
        assert_eq!(state.tag_plan, None);
    }
}
