//! What the command prints: JSON with CRI field names, and human text that reads like crictl.

use imagescope_core::client::{Exchange, Inspection};
use imagescope_core::manifest::Descriptor;
use imagescope_core::reference::Reference;
use imagescope_core::status::human_size;
use serde_json::{json, Value};

pub fn reference_json(input: &str, r: &Reference, plain_http: &[&str]) -> Value {
    json!({
        "input": input,
        "canonical": r.canonical(),
        "full": r.full(),
        "name": r.name(),
        "familiar": r.familiar(),
        "familiar_name": r.familiar_name(),
        "domain": r.domain(),
        "path": r.path(),
        "tag": r.tag(),
        "digest": r.digest().map(ToString::to_string),
        "default_tag_applied": r.default_tag_applied(),
        "endpoint": r.endpoint(plain_http).base_url(),
    })
}

pub fn reference_text(r: &Reference, plain_http: &[&str]) -> String {
    let mut out = String::new();
    if r.default_tag_applied() {
        out.push_str("Using default tag: latest\n");
    }
    let rows = [
        ("Canonical", r.canonical()),
        ("Familiar", r.familiar()),
        ("Registry", r.domain().to_string()),
        ("Repository", r.path().to_string()),
        ("Tag", r.tag().unwrap_or("").to_string()),
        ("Digest", r.digest().map(ToString::to_string).unwrap_or_default()),
        ("Endpoint", r.endpoint(plain_http).base_url()),
    ];
    for (k, v) in rows.iter().filter(|(_, v)| !v.is_empty()) {
        out.push_str(&format!("{:<11} {v}\n", format!("{k}:")));
    }
    out
}

fn descriptor_json(d: &Descriptor) -> Value {
    json!({
        "media_type": d.media_type,
        "digest": d.digest.to_string(),
        "size": d.size,
        "platform": d.platform.as_ref().map(ToString::to_string),
        "attestation": d.is_attestation(),
        "artifact_type": d.artifact_type,
        "annotations": d.annotations,
    })
}

pub fn inspection_json(input: &str, i: &Inspection, credential: &str, exchanges: &[Exchange], plain_http: &[&str]) -> Value {
    let manifest = i.image_manifest();
    let diff_ids: Vec<String> = i
        .config
        .as_ref()
        .and_then(|c| c.parsed.rootfs.as_ref())
        .map(|r| r.diff_ids.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    let layers: Vec<Value> = manifest
        .map(|m| {
            m.layers
                .iter()
                .enumerate()
                .map(|(n, l)| {
                    let mut v = descriptor_json(l);
                    v["diff_id"] = json!(diff_ids.get(n));
                    v
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "image": i.image,
        "reference": reference_json(input, &i.reference, plain_http),
        "manifest": {"media_type": i.top.media_type, "digest": i.top.digest.to_string(), "size": i.top.size},
        "platforms": i.index().map(|idx| idx.manifests.iter().map(descriptor_json).collect::<Vec<_>>()),
        "chosen": i.chosen.as_ref().map(descriptor_json),
        "image_manifest": i.platform_manifest.as_ref().map(|p| json!({"media_type": p.media_type, "digest": p.digest.to_string(), "size": p.size})),
        "artifact_type": manifest.and_then(|m| m.effective_artifact_type()),
        "subject": manifest.and_then(|m| m.subject.as_ref()).map(descriptor_json),
        "annotations": manifest.map(|m| &m.annotations),
        "config_descriptor": i.config.as_ref().map(|c| descriptor_json(&c.descriptor)),
        "config": i.config.as_ref().map(|c| &c.parsed),
        "layers": layers,
        "warnings": i.warnings,
        "credential": credential,
        "requests": exchanges,
    })
}

pub fn inspection_text(i: &Inspection, credential: &str) -> String {
    let mut out = String::new();
    if i.reference.default_tag_applied() {
        out.push_str("Using default tag: latest\n");
    }
    for w in &i.warnings {
        out.push_str(&format!("Warning: {w}\n"));
    }
    out.push_str(&format!("Reference:   {}\n", i.reference.canonical()));
    out.push_str(&format!("Credentials: {credential}\n"));
    out.push_str(&format!("Manifest:    {} {} ({} bytes)\n", i.top.digest, i.top.media_type, i.top.size));
    if let Some(index) = i.index() {
        out.push_str("Platforms:\n");
        for d in &index.manifests {
            let platform = d.platform.as_ref().map_or_else(|| "(none)".to_string(), ToString::to_string);
            let mark = if i.chosen.as_ref() == Some(d) { "*" } else if d.is_attestation() { "a" } else { " " };
            out.push_str(&format!("  {mark} {platform:<16} {} {:>8}\n", d.digest, human_size(d.size)));
        }
    }
    if let Some(image) = &i.image {
        let (name, tag) = image
            .repo_tags
            .first()
            .and_then(|t| t.rsplit_once(':'))
            .map_or_else(|| (i.reference.name(), "<none>".to_string()), |(n, t)| (n.to_string(), t.to_string()));
        out.push_str(&format!("\n{:<40} {:<16} {:<14} {}\n", "IMAGE", "TAG", "IMAGE ID", "SIZE"));
        out.push_str(&format!("{name:<40} {tag:<16} {:<14} {}\n\n", image.short_id(), image.human_size()));
        out.push_str(&format!("ID:          {}\n", image.id));
        out.push_str(&format!("RepoTags:    {}\n", image.repo_tags.join(", ")));
        out.push_str(&format!("RepoDigests: {}\n", image.repo_digests.join(", ")));
        out.push_str(&format!("Size:        {} bytes\n", image.size));
    }
    if let Some(m) = i.image_manifest() {
        if let Some(t) = m.effective_artifact_type() {
            out.push_str(&format!("Artifact:    {t}\n"));
        }
        out.push_str("Layers:\n");
        for l in &m.layers {
            out.push_str(&format!("  {} {:>8}  {}\n", l.digest, human_size(l.size), l.media_type));
        }
    }
    out
}
