//! `imagescope ls`: the files of one layer as `tar -tvf` lists them, or the merged filesystem of
//! the image with dive-like figures per layer, read while the blobs stream in.

use crate::error::CliError;
use crate::login::{LoginArgs, Network};
use crate::resolve::{self, NativeClient};
use imagescope_core::digest::{Digest, Verifier, VerifyError};
use imagescope_core::error::Error;
use imagescope_core::layers::{Entry, EntryKind, Event, ImageSummary, LayerError, LayerReader, MergedTree};
use imagescope_core::manifest::Descriptor;
use imagescope_core::media_type::Compression;
use imagescope_core::reference::Reference;
use imagescope_core::transport::Body;
use serde_json::{json, Value};
use std::process::ExitCode;

#[derive(clap::Args, Clone)]
pub struct LsArgs {
    /// The image whose files to list.
    reference: String,
    /// List only this layer, counted from 1 = the base layer (the bottom line of `docker history`).
    #[arg(long, value_name = "N")]
    layer: Option<usize>,
    /// Print the merged filesystem (the default without --layer; with it, the image as of that layer).
    #[arg(long)]
    merged: bool,
    #[arg(long)]
    json: bool,
    /// The platform to pick from an index (os/arch[/variant]); linux/amd64 by default.
    #[arg(long)]
    platform: Option<String>,
    #[command(flatten)]
    login: LoginArgs,
    #[command(flatten)]
    network: Network,
}

#[derive(Debug, thiserror::Error)]
enum LsError {
    #[error(transparent)]
    Resolve(#[from] CliError),
    #[error(transparent)]
    Core(#[from] Error),
    #[error("--layer {given}: the image has {count} layers, numbered from 1 (the base layer)")]
    NoSuchLayer { given: usize, count: usize },
    #[error("{0} has no layers to list (only image manifests have them)")]
    NotAnImage(String),
    #[error("layer {number} ({digest}) has media type {media_type}, which is not a tar layer")]
    NotTar { number: usize, digest: Digest, media_type: String },
    #[error("layer {number} ({digest}): {source}")]
    Layer { number: usize, digest: Digest, source: LayerError },
    #[error("layer {number}: {source}")]
    Verify { number: usize, source: VerifyError },
}

impl LsError {
    fn kind(&self) -> &'static str {
        match self {
            LsError::Resolve(e) => e.kind(),
            LsError::Core(e) => e.kind(),
            LsError::NoSuchLayer { .. } => "usage",
            LsError::NotAnImage(_) | LsError::NotTar { .. } => "manifest",
            LsError::Layer { .. } => "layer",
            LsError::Verify { .. } => "blob",
        }
    }
}

pub fn run(args: &LsArgs) -> ExitCode {
    match list(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(LsError::Resolve(e)) => crate::fail(&e, args.json),
        Err(LsError::Core(e)) => crate::fail(&e.into(), args.json),
        Err(e) => {
            eprintln!("imagescope: {e}");
            if args.json {
                println!("{}", json!({"error": {"kind": e.kind(), "code": null, "status": null, "message": e.to_string()}}));
            }
            ExitCode::FAILURE
        }
    }
}

fn list(args: &LsArgs) -> Result<(), LsError> {
    let reference = Reference::parse(&args.reference).map_err(Error::from)?;
    let resolved = resolve::inspect(&reference, args.platform.as_deref(), &args.login, &args.network)?;
    let layers = resolved
        .inspection
        .image_manifest()
        .map(|m| m.layers.clone())
        .ok_or_else(|| LsError::NotAnImage(reference.canonical()))?;
    let repository = reference.path();
    let client = &resolved.client;
    match args.layer {
        Some(n) if n == 0 || n > layers.len() => Err(LsError::NoSuchLayer { given: n, count: layers.len() }),
        Some(n) if !args.merged => one_layer(client, repository, &layers[n - 1], n, args.json),
        up_to => merged(client, repository, &layers[..up_to.unwrap_or(layers.len())], args.json),
    }
}

/// Streams one layer blob through the reader, checking its digest, and hands each entry on as
/// soon as its header is decoded.
fn stream_layer(client: &NativeClient, repository: &str, layer: &Descriptor, number: usize, on_entry: &mut dyn FnMut(Entry)) -> Result<u64, LsError> {
    let digest = &layer.digest;
    let compression = Compression::of_layer(&layer.media_type).ok_or_else(|| LsError::NotTar {
        number,
        digest: digest.clone(),
        media_type: layer.media_type.clone(),
    })?;
    let layer_error = |source| LsError::Layer { number, digest: digest.clone(), source };
    let mut response = pollster::block_on(client.open_blob(repository, digest, None))?;
    let mut verifier = Verifier::new(digest.clone(), layer.size);
    let mut reader = LayerReader::new(compression, None);
    let mut on_event = |event| {
        if let Event::Entry(entry) = event {
            on_entry(entry);
        }
    };
    while let Some(chunk) = pollster::block_on(response.body.chunk()).map_err(Error::from)? {
        verifier.update(&chunk).map_err(|source| LsError::Verify { number, source })?;
        reader.feed(&chunk, &mut on_event).map_err(layer_error)?;
    }
    reader.finish(&mut on_event).map_err(layer_error)?;
    verifier.finish().map_err(|source| LsError::Verify { number, source })?;
    Ok(reader.tar_bytes())
}

fn compression_name(layer: &Descriptor) -> &'static str {
    Compression::of_layer(&layer.media_type).map(Compression::as_str).unwrap_or("unknown")
}

fn one_layer(client: &NativeClient, repository: &str, layer: &Descriptor, number: usize, json_out: bool) -> Result<(), LsError> {
    eprintln!("imagescope: layer {number} {} ({}, {} bytes)", layer.digest, compression_name(layer), layer.size);
    let mut entries = Vec::new();
    let tar_bytes = stream_layer(client, repository, layer, number, &mut |entry| {
        if json_out {
            entries.push(entry);
        } else {
            println!("{}", entry.tar_line());
        }
    })?;
    if json_out {
        let v = json!({
            "layer": number,
            "digest": layer.digest.to_string(),
            "media_type": layer.media_type,
            "size": layer.size,
            "tar_size": tar_bytes,
            "entries": entries,
        });
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
    }
    Ok(())
}

fn merged(client: &NativeClient, repository: &str, layers: &[Descriptor], json_out: bool) -> Result<(), LsError> {
    let mut tree = MergedTree::new();
    for (index, layer) in layers.iter().enumerate() {
        let number = index + 1;
        eprintln!("imagescope: reading layer {number}/{} {} ({}, {} bytes)", layers.len(), layer.digest, compression_name(layer), layer.size);
        tree.begin_layer(index).expect("layers are applied in order");
        stream_layer(client, repository, layer, number, &mut |entry| {
            tree.apply(index, &entry).expect("layers are applied in order");
        })?;
    }
    let summary = tree.summary();
    if json_out {
        println!("{}", serde_json::to_string_pretty(&merged_json(&tree, &summary, layers)).expect("json"));
    } else {
        print!("{}", merged_text(&tree, &summary, layers));
    }
    Ok(())
}

/// Layers are numbered from 1 here, as on the command line.
fn layer_number(index: Option<usize>) -> Value {
    index.map_or(Value::Null, |i| json!(i + 1))
}

fn merged_json(tree: &MergedTree, summary: &ImageSummary, layers: &[Descriptor]) -> Value {
    let entries: Vec<Value> = tree
        .entries()
        .into_iter()
        .map(|e| {
            let mut v = serde_json::to_value(&e).expect("json");
            v["layer"] = layer_number(e.layer);
            v["mode_string"] = json!(e.mode_string());
            v
        })
        .collect();
    let per_layer: Vec<Value> = summary
        .layers
        .iter()
        .zip(layers)
        .map(|(s, d)| {
            let mut v = serde_json::to_value(s).expect("json");
            v["layer"] = layer_number(Some(s.layer));
            v["digest"] = json!(d.digest.to_string());
            v["media_type"] = json!(d.media_type);
            v["changes"] = serde_json::to_value(tree.changes(s.layer)).expect("json");
            v
        })
        .collect();
    json!({
        "entries": entries,
        "layers": per_layer,
        "file_bytes": summary.file_bytes,
        "final_bytes": summary.final_bytes,
        "wasted_bytes": summary.wasted_bytes,
        "efficiency": summary.efficiency,
    })
}

fn merged_text(tree: &MergedTree, summary: &ImageSummary, layers: &[Descriptor]) -> String {
    let mut out = String::new();
    out.push_str(&format!("{:<10} {:<11} {:>12} {:>5}  PATH\n", "MODE", "UID/GID", "SIZE", "LAYER"));
    for e in tree.entries() {
        let name = match &e.kind {
            EntryKind::Dir => format!("{}/", e.path),
            EntryKind::Symlink { target } => format!("{} -> {target}", e.path),
            EntryKind::Hardlink { target } => format!("{} link to {target}", e.path),
            _ => e.path.clone(),
        };
        let size = match e.kind {
            EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } => format!("{major},{minor}"),
            _ => e.size.to_string(),
        };
        let layer = e.layer.map_or("-".to_string(), |l| (l + 1).to_string());
        out.push_str(&format!("{:<10} {:<11} {size:>12} {layer:>5}  {name}\n", e.mode_string(), format!("{}/{}", e.uid, e.gid)));
    }
    out.push('\n');
    out.push_str(&format!(
        "{:>5}  {:<19} {:<12} {:>7} {:>7} {:>7} {:>7} {:>12} {:>12}\n",
        "LAYER", "DIGEST", "COMPRESSION", "ENTRIES", "ADDED", "CHANGED", "DELETED", "FILE BYTES", "WASTED"
    ));
    for (s, d) in summary.layers.iter().zip(layers) {
        let digest: String = d.digest.to_string().chars().take(19).collect();
        out.push_str(&format!(
            "{:>5}  {digest:<19} {:<12} {:>7} {:>7} {:>7} {:>7} {:>12} {:>12}\n",
            s.layer + 1,
            compression_name(d),
            s.entries,
            s.added,
            s.changed,
            s.deleted,
            s.file_bytes,
            s.wasted_bytes
        ));
    }
    out.push_str(&format!(
        "\n{} paths; file bytes in all layers: {}, in the image: {}, wasted: {}; efficiency {:.2}%\n",
        summary.entries,
        summary.file_bytes,
        summary.final_bytes,
        summary.wasted_bytes,
        summary.efficiency * 100.0
    ));
    out
}
