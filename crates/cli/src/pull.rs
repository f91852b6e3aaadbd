//! `imagescope pull` and the store's commands (`images`, `rmi`, `status`, `save`, `fsck`): the
//! CRI ImageService on a directory, with `docker pull`'s output.

use crate::http::{NativeTransport, SystemClock};
use crate::login::{LoginArgs, Network};
use crate::resolve::{self, NativeClient};
use crate::store_fs::FsStore;
use clap::Args;
use imagescope_core::client::{Client, Inspection};
use imagescope_core::error::Error;
use imagescope_core::export::{export_image, Sink, SinkError};
use imagescope_core::platform::Platform;
use imagescope_core::pull::{self, docker_lines, recovery_notice, CancelToken, PullError, PullEvent, PullOptions};
use imagescope_core::reference::Reference;
use imagescope_core::status::human_size;
use imagescope_core::store::{ImageSelector, ImageStore, StoreError};
use imagescope_core::transport::Clock;
use serde_json::json;
use std::cell::Cell;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args, Clone, Debug)]
pub struct StoreDir {
    /// The directory used as the image store [default: $XDG_CACHE_HOME/imagescope or ~/.cache/imagescope].
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
}

impl StoreDir {
    fn open(&self) -> Result<ImageStore<FsStore>, StoreError> {
        let dir = self.store.clone().unwrap_or_else(FsStore::default_dir);
        Ok(ImageStore::new(FsStore::open(&dir)?))
    }
}

#[derive(Args, Clone)]
pub struct PullArgs {
    pub reference: String,
    /// Also save the pulled image as one tar that docker load, podman load and skopeo accept.
    #[arg(long, value_name = "FILE.tar")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreDir,
    /// The platform to pick from an index (os/arch[/variant]); linux/amd64 by default.
    #[arg(long)]
    pub platform: Option<String>,
    /// Pull every platform of an index, not only the chosen one.
    #[arg(long)]
    pub all_platforms: bool,
    /// Pull every tag of the repository (docker's -a).
    #[arg(short = 'a', long)]
    pub all_tags: bool,
    /// Layers downloaded at once.
    #[arg(long, default_value_t = 3)]
    pub jobs: usize,
    /// Decompress each new layer and compare it with the config's rootfs.diff_ids.
    #[arg(long)]
    pub verify_diff_ids: bool,
    #[command(flatten)]
    pub login: LoginArgs,
    #[command(flatten)]
    pub network: Network,
    /// Print the result as JSON on stdout (docker's lines go to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Clone, Debug)]
pub struct ImagesArgs {
    /// Only images this matches: a name (every tag), name:tag, name@digest or an image id.
    #[arg(long, value_name = "REF")]
    pub filter: Option<String>,
    #[command(flatten)]
    pub store: StoreDir,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Clone, Debug)]
pub struct RmiArgs {
    /// A reference or an image id (full, or at least 12 hex characters).
    pub reference: String,
    #[command(flatten)]
    pub store: StoreDir,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Clone, Debug)]
pub struct StatusArgs {
    /// A reference or an image id; prints {"image": null} when it is not stored.
    pub reference: String,
    #[command(flatten)]
    pub store: StoreDir,
}

#[derive(Args, Clone, Debug)]
pub struct SaveArgs {
    pub reference: String,
    #[arg(long, short = 'o', value_name = "FILE.tar")]
    pub output: PathBuf,
    #[command(flatten)]
    pub store: StoreDir,
}

#[derive(Args, Clone, Debug)]
pub struct FsckArgs {
    #[command(flatten)]
    pub store: StoreDir,
    #[arg(long)]
    pub json: bool,
}

fn fail_with(kind: &str, code: Option<String>, message: &str, json_out: bool) -> ExitCode {
    eprintln!("imagescope: {}", message.replace('\n', " "));
    if json_out {
        println!("{}", json!({"error": {"kind": kind, "code": code, "message": message}}));
    }
    ExitCode::FAILURE
}

fn fail_store(e: &StoreError, json_out: bool) -> ExitCode {
    let kind = if matches!(e, StoreError::Quota { .. }) { "quota" } else { "store" };
    fail_with(kind, None, &e.to_string(), json_out)
}

fn fail_pull(e: &PullError, json_out: bool) -> ExitCode {
    fail_with(e.kind(), e.code(), &e.to_string(), json_out)
}

/// The archive file: written under a temporary name and renamed when complete.
struct FileSink {
    out: BufWriter<File>,
}

impl Sink for FileSink {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.out.write_all(bytes).map_err(|e| SinkError(e.to_string()))
    }
}

fn save_to(store: &ImageStore<FsStore>, selector: &str, output: &Path) -> Result<String, String> {
    let partial = output.with_extension("tar.partial");
    let file = File::create(&partial).map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    let mut sink = FileSink { out: BufWriter::new(file) };
    let written = pollster::block_on(export_image(store, selector, &mut sink)).map_err(|e| e.to_string()).and_then(|summary| {
        sink.out.flush().map_err(|e| format!("writing {}: {e}", partial.display()))?;
        std::fs::rename(&partial, output).map_err(|e| format!("cannot rename {} to {}: {e}", partial.display(), output.display()))?;
        Ok(format!("Saved {} ({} blobs, {} bytes) to {}", summary.repo_tags.join(", "), summary.blobs, summary.bytes, output.display()))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// Prints docker's lines as events arrive; on a terminal also one live line with the bytes done.
struct Printer {
    to_stderr: bool,
    live: bool,
    live_shown: Cell<bool>,
}

impl Printer {
    fn line(&self, text: &str) {
        if self.live_shown.replace(false) {
            print!("\r\x1b[K");
        }
        if self.to_stderr {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    }

    fn event(&self, event: &PullEvent) {
        for line in docker_lines(event) {
            self.line(&line);
        }
        if let Some(notice) = recovery_notice(event) {
            eprintln!("imagescope: {notice}");
        }
        match event {
            PullEvent::Overall { done, total } if self.live && *total > 0 => {
                print!("\r\x1b[KDownloading {}", pull::progress_bar(*done, *total));
                let _ = std::io::stdout().flush();
                self.live_shown.set(true);
            }
            _ => {}
        }
    }
}

fn pull_one(client: &NativeClient, store: &ImageStore<FsStore>, inspection: &Inspection, args: &PullArgs, printer: &Printer) -> Result<serde_json::Value, PullError> {
    let mut options = PullOptions::new(SystemClock.now());
    options.jobs = args.jobs;
    options.all_platforms = args.all_platforms;
    options.verify_diff_ids = args.verify_diff_ids;
    let outcome = pollster::block_on(pull::pull(client, store, inspection, &options, &|e| printer.event(e), &CancelToken::new()))?;
    Ok(json!({
        "reference": inspection.reference.canonical(),
        "digest": inspection.top.digest,
        "image": outcome.image,
        "updated": outcome.updated,
        "downloaded_blobs": outcome.downloaded_blobs,
        "downloaded_bytes": outcome.downloaded_bytes,
        "existing_blobs": outcome.existing_blobs,
    }))
}

/// `imagescope pull REF`: PullImage into the store, printing what `docker pull` prints.
pub fn run(args: &PullArgs) -> ExitCode {
    let reference = match Reference::parse(&args.reference) {
        Ok(r) => r,
        Err(e) => return crate::fail(&Error::Reference(e).into(), args.json),
    };
    let store = match args.store.open() {
        Ok(s) => s,
        Err(e) => return fail_store(&e, args.json),
    };
    let printer = Printer { to_stderr: args.json, live: !args.json && std::io::stdout().is_terminal(), live_shown: Cell::new(false) };
    let results = if args.all_tags { pull_all_tags(&reference, &store, args, &printer) } else { pull_reference(&reference, &store, args, &printer) };
    let results = match results {
        Ok(r) => r,
        Err(code) => return code,
    };
    if let Some(output) = &args.output {
        let selector = if args.all_tags { reference.name() } else { reference.full() };
        let selector = match reference.default_tag_applied() && !args.all_tags {
            true => format!("{}:latest", reference.name()),
            false => selector,
        };
        match save_to(&store, &selector, output) {
            Ok(line) => printer.line(&line),
            Err(message) => return fail_with("export", None, &message, args.json),
        }
    }
    if args.json {
        let value = if args.all_tags { json!({"images": results}) } else { results.into_iter().next().unwrap_or_default() };
        println!("{}", serde_json::to_string_pretty(&value).expect("json"));
    }
    ExitCode::SUCCESS
}

fn pull_reference(reference: &Reference, store: &ImageStore<FsStore>, args: &PullArgs, printer: &Printer) -> Result<Vec<serde_json::Value>, ExitCode> {
    let resolved = resolve::inspect(reference, args.platform.as_deref(), &args.login, &args.network).map_err(|e| crate::fail(&e, args.json))?;
    for warning in &resolved.inspection.warnings {
        eprintln!("imagescope: warning: {warning}");
    }
    let result = pull_one(&resolved.client, store, &resolved.inspection, args, printer).map_err(|e| fail_pull(&e, args.json))?;
    Ok(vec![result])
}

fn pull_all_tags(reference: &Reference, store: &ImageStore<FsStore>, args: &PullArgs, printer: &Printer) -> Result<Vec<serde_json::Value>, ExitCode> {
    if reference.tag().is_some() || reference.digest().is_some() {
        return Err(fail_with("reference", None, "tag can't be used with --all-tags/-a", args.json));
    }
    let platform = match args.platform.as_deref().map(Platform::parse).transpose() {
        Ok(p) => p.unwrap_or_else(Platform::default_linux_amd64),
        Err(e) => return Err(crate::fail(&Error::Platform(e).into(), args.json)),
    };
    let candidates = args.login.candidates(reference).map_err(|e| crate::fail(&e, args.json))?;
    let endpoint = reference.endpoint(&args.network.hosts());
    let client = Client::new(NativeTransport::new(), SystemClock, &endpoint, candidates[0].credential.clone()).map_err(|e| crate::fail(&e.into(), args.json))?;
    let plan = pollster::block_on(pull::plan_all_tags(&client, reference, &platform)).map_err(|e| crate::fail(&e.into(), args.json))?;
    for (tag, why) in &plan.skipped {
        eprintln!("imagescope: skipping tag {tag}: {why}");
    }
    printer.line(&format!("Pulling {} tags of {} ({} in all)", plan.images.len(), reference.familiar_name(), human_size(plan.total_size)));
    let mut results = Vec::new();
    for inspection in &plan.images {
        results.push(pull_one(&client, store, inspection, args, printer).map_err(|e| fail_pull(&e, args.json))?);
    }
    Ok(results)
}

/// `imagescope images`: ListImages, as crictl shows it.
pub fn images(args: &ImagesArgs) -> ExitCode {
    let store = match args.store.open() {
        Ok(s) => s,
        Err(e) => return fail_store(&e, args.json),
    };
    let filter = args.filter.as_deref().map(ImageSelector::parse);
    let list = match pollster::block_on(store.list_images(filter.as_ref())) {
        Ok(l) => l,
        Err(e) => return fail_store(&e, args.json),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json!({"images": list})).expect("json"));
        return ExitCode::SUCCESS;
    }
    println!("{:<50} {:<20} {:<13} {:>8}", "IMAGE", "TAG", "IMAGE ID", "SIZE");
    for image in &list {
        let rows: Vec<(String, String)> = if image.repo_tags.is_empty() {
            let name = image.repo_digests.first().and_then(|d| d.split_once('@')).map_or("<none>", |(n, _)| n);
            vec![(name.to_string(), "<none>".to_string())]
        } else {
            image.repo_tags.iter().map(|t| t.rsplit_once(':').map_or((t.clone(), String::new()), |(n, tag)| (n.to_string(), tag.to_string()))).collect()
        };
        for (name, tag) in rows {
            println!("{name:<50} {tag:<20} {:<13} {:>8}", image.short_id(), image.human_size());
        }
    }
    ExitCode::SUCCESS
}

/// `imagescope rmi`: RemoveImage. Removing what is not stored succeeds, as CRI requires.
pub fn rmi(args: &RmiArgs) -> ExitCode {
    let store = match args.store.open() {
        Ok(s) => s,
        Err(e) => return fail_store(&e, args.json),
    };
    let removal = match pollster::block_on(store.remove_image(&args.reference)) {
        Ok(r) => r,
        Err(e) => return fail_store(&e, args.json),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&removal).expect("json"));
        return ExitCode::SUCCESS;
    }
    match &removal.image {
        None => eprintln!("imagescope: {} is not stored; nothing to remove", args.reference),
        Some(image) => {
            for tag in &image.repo_tags {
                println!("Untagged: {tag}");
            }
            for digest in &image.repo_digests {
                println!("Untagged: {digest}");
            }
            for blob in &removal.deleted_blobs {
                println!("Deleted: {blob}");
            }
        }
    }
    ExitCode::SUCCESS
}

/// `imagescope status`: ImageStatus from the store, as JSON; an absent image is `{"image": null}`.
pub fn status(args: &StatusArgs) -> ExitCode {
    let store = match args.store.open() {
        Ok(s) => s,
        Err(e) => return fail_store(&e, true),
    };
    match pollster::block_on(store.image_status(&args.reference)) {
        Ok(image) => {
            println!("{}", serde_json::to_string_pretty(&json!({ "image": image })).expect("json"));
            ExitCode::SUCCESS
        }
        Err(e) => fail_store(&e, true),
    }
}

/// `imagescope save`: a stored image as one tar.
pub fn save(args: &SaveArgs) -> ExitCode {
    let store = match args.store.open() {
        Ok(s) => s,
        Err(e) => return fail_store(&e, false),
    };
    match save_to(&store, &args.reference, &args.output) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => fail_with("export", None, &message, false),
    }
}

/// `imagescope fsck`: re-hashes every stored blob; exits non-zero when one is damaged or missing.
pub fn fsck(args: &FsckArgs) -> ExitCode {
    let store = match args.store.open() {
        Ok(s) => s,
        Err(e) => return fail_store(&e, args.json),
    };
    let report = match pollster::block_on(store.fsck()) {
        Ok(r) => r,
        Err(e) => return fail_store(&e, args.json),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    } else {
        println!("Checked {} blobs ({} bytes)", report.checked, report.bytes);
        for (name, actual) in &report.corrupt {
            println!("DAMAGED {name}: content hashes to {actual}");
        }
        for name in &report.missing {
            println!("MISSING {name}");
        }
        for name in &report.unreferenced {
            println!("UNREFERENCED {name}");
        }
    }
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        eprintln!("imagescope: the store has damaged or missing blobs; remove the affected images (rmi) and pull them again");
        ExitCode::FAILURE
    }
}
