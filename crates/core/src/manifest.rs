//! Manifests, indexes and image configs: parsing with the checks a careful runtime makes.

use crate::digest::{Algorithm, Digest};
use crate::media_type::{self as mt};
use crate::platform::Platform;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// containerd refuses manifests above this size; a larger body is almost certainly not a manifest.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

pub const ANNOTATION_REFERENCE_TYPE: &str = "vnd.docker.reference.type";
pub const ANNOTATION_REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    /// buildx attestation manifests sit in the index beside the images they describe;
    /// a runtime must never pick one as the image.
    pub fn is_attestation(&self) -> bool {
        self.annotations.get(ANNOTATION_REFERENCE_TYPE).map(String::as_str) == Some("attestation-manifest")
            || self.platform.as_ref().is_some_and(Platform::is_unknown)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ImageManifest {
    /// An OCI artifact stores something other than a runnable image (an SBOM, a signature).
    pub fn is_artifact(&self) -> bool {
        self.artifact_type.is_some()
            || !(self.config.media_type == mt::OCI_CONFIG || self.config.media_type == mt::DOCKER_CONFIG)
    }

    /// `artifactType`, or the config media type when that is how the artifact declares itself.
    pub fn effective_artifact_type(&self) -> Option<&str> {
        match &self.artifact_type {
            Some(t) => Some(t),
            None if self.is_artifact() => Some(&self.config.media_type),
            None => None,
        }
    }
}

/// Docker's first manifest format: layers newest first, history as embedded v1 JSON strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema1Manifest {
    pub schema_version: u32,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub architecture: String,
    pub fs_layers: Vec<Schema1Layer>,
    #[serde(default)]
    pub history: Vec<Schema1History>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema1Layer {
    pub blob_sum: Digest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema1History {
    #[serde(rename = "v1Compatibility")]
    pub v1_compatibility: String,
}

impl Schema1Manifest {
    /// Layer digests oldest first, the order every other format uses.
    pub fn layers_oldest_first(&self) -> Vec<Digest> {
        self.fs_layers.iter().rev().map(|l| l.blob_sum.clone()).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // One per fetch; boxing would only add noise at every match.
pub enum Manifest {
    Index(ImageIndex),
    Image(ImageManifest),
    Schema1 { manifest: Schema1Manifest, signed: bool },
}

/// A manifest as fetched: its bytes, what they are, and the digest that names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    pub raw: Vec<u8>,
    pub manifest: Manifest,
    pub warnings: Vec<String>,
}

impl FetchedManifest {
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.size,
            urls: vec![],
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is {size} bytes, over the {MAX_MANIFEST_BYTES}-byte limit runtimes accept")]
    TooLarge { size: u64 },
    #[error("manifest is not valid JSON of a known kind ({media_type}): {reason}")]
    Invalid { media_type: String, reason: String },
    #[error("the registry sent Content-Type {content_type} but the manifest says mediaType {body_media_type}; refusing a manifest whose type is ambiguous")]
    MediaTypeMismatch { content_type: String, body_media_type: String },
    #[error("unsupported manifest media type {0}")]
    Unsupported(String),
    #[error("manifest digest mismatch: asked for {expected}, the body hashes to {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("manifest digest mismatch: Docker-Content-Digest says {header}, the body hashes to {actual}")]
    HeaderDigestMismatch { header: Digest, actual: Digest },
    #[error("Docker-Content-Digest header {0:?} is not a valid digest")]
    BadHeaderDigest(String),
    #[error("signed schema1 manifest has a malformed signature block: {0}")]
    BadSignature(String),
}

/// What the caller knows that the body must agree with.
#[derive(Debug, Clone, Default)]
pub struct ManifestExpectations<'a> {
    /// The Content-Type the registry sent, if any.
    pub content_type: Option<&'a str>,
    /// The digest the manifest was requested by.
    pub requested_digest: Option<&'a Digest>,
    /// The `Docker-Content-Digest` response header, if the registry sent (and CORS exposed) it.
    pub header_digest: Option<&'a str>,
    /// Used in the schema1 deprecation warning, as docker prints it.
    pub image_name: &'a str,
}

/// Detects the manifest type (Content-Type first, then the body), parses it and checks its digest.
pub fn parse_manifest(body: &[u8], expect: &ManifestExpectations<'_>) -> Result<FetchedManifest, ManifestError> {
    if body.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestError::TooLarge { size: body.len() as u64 });
    }
    let probe: Probe = serde_json::from_slice(body).map_err(|e| ManifestError::Invalid {
        media_type: expect.content_type.map(mt::essence).unwrap_or_default(),
        reason: e.to_string(),
    })?;
    let declared = expect.content_type.map(mt::essence).filter(|t| is_manifest_type(t));
    if let (Some(declared), Some(body_type)) = (&declared, &probe.media_type) {
        // A schema1 body carries no mediaType; any other disagreement is a confused registry or a swap.
        if declared != body_type {
            return Err(ManifestError::MediaTypeMismatch { content_type: declared.clone(), body_media_type: body_type.clone() });
        }
    }
    let media_type = declared.or(probe.media_type.clone()).unwrap_or_else(|| probe.guess());
    let invalid = |e: serde_json::Error| ManifestError::Invalid { media_type: media_type.clone(), reason: e.to_string() };
    let mut warnings = Vec::new();
    let (manifest, digest_input): (Manifest, Vec<u8>) = if mt::is_index(&media_type) {
        (Manifest::Index(serde_json::from_slice(body).map_err(invalid)?), body.to_vec())
    } else if mt::is_image_manifest(&media_type) {
        (Manifest::Image(serde_json::from_slice(body).map_err(invalid)?), body.to_vec())
    } else if mt::is_schema1(&media_type) {
        let manifest: Schema1Manifest = serde_json::from_slice(body).map_err(invalid)?;
        let signed = probe.signatures.is_some();
        let payload = if signed { schema1_signed_payload(body)? } else { body.to_vec() };
        warnings.push(format!(
            "Image {} uses outdated schema1 manifest format. Please upgrade to a schema2 image for better future compatibility. More information at https://docs.docker.com/registry/spec/deprecated-schema-v1/",
            expect.image_name
        ));
        (Manifest::Schema1 { manifest, signed }, payload)
    } else {
        return Err(ManifestError::Unsupported(media_type));
    };
    let header = match expect.header_digest.map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => Some(Digest::parse(h).map_err(|_| ManifestError::BadHeaderDigest(h.to_string()))?),
        None => None,
    };
    let algorithm = expect
        .requested_digest
        .map(Digest::algorithm)
        .or(header.as_ref().map(Digest::algorithm))
        .unwrap_or(Algorithm::Sha256);
    let digest = Digest::of(algorithm, &digest_input);
    if let Some(expected) = expect.requested_digest {
        if *expected != digest {
            return Err(ManifestError::DigestMismatch { expected: expected.clone(), actual: digest });
        }
    }
    if let Some(header) = header {
        let actual = if header.algorithm() == algorithm { digest.clone() } else { Digest::of(header.algorithm(), &digest_input) };
        if header != actual {
            return Err(ManifestError::HeaderDigestMismatch { header, actual });
        }
    }
    Ok(FetchedManifest { media_type, digest, size: body.len() as u64, raw: body.to_vec(), manifest, warnings })
}

fn is_manifest_type(t: &str) -> bool {
    mt::is_index(t) || mt::is_image_manifest(t) || mt::is_schema1(t)
}

/// Just enough of any manifest body to tell what it is.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    #[serde(default)]
    config: Option<serde_json::Value>,
    #[serde(default)]
    signatures: Option<serde_json::Value>,
}

impl Probe {
    /// Registries that send `application/json` or nothing leave the body to say what it is.
    fn guess(&self) -> String {
        let t = if self.schema_version == Some(1) {
            if self.signatures.is_some() { mt::DOCKER_MANIFEST_V1_SIGNED } else { mt::DOCKER_MANIFEST_V1 }
        } else if self.manifests.is_some() {
            mt::OCI_INDEX
        } else if self.config.is_some() {
            mt::OCI_MANIFEST
        } else {
            "application/octet-stream"
        };
        t.to_string()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JwsProtected {
    format_length: usize,
    format_tail: String,
}

#[derive(Deserialize)]
struct JwsSignature {
    protected: String,
}

#[derive(Deserialize)]
struct SignedBody {
    signatures: Vec<JwsSignature>,
}

/// The bytes a signed schema1 manifest's digest covers: the JSON before the signature block,
/// closed again by the `formatTail` each signature's protected header carries.
fn schema1_signed_payload(body: &[u8]) -> Result<Vec<u8>, ManifestError> {
    let bad = |m: &str| ManifestError::BadSignature(m.to_string());
    let signed: SignedBody = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
    let first = signed.signatures.first().ok_or_else(|| bad("no signatures"))?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let protected = b64.decode(first.protected.trim_end_matches('=')).map_err(|e| bad(&format!("protected header: {e}")))?;
    let protected: JwsProtected = serde_json::from_slice(&protected).map_err(|e| bad(&format!("protected header: {e}")))?;
    let tail = b64.decode(protected.format_tail.trim_end_matches('=')).map_err(|e| bad(&format!("formatTail: {e}")))?;
    if protected.format_length > body.len() {
        return Err(bad("formatLength is past the end of the manifest"));
    }
    let mut payload = body[..protected.format_length].to_vec();
    payload.extend_from_slice(&tail);
    Ok(payload)
}

/// Why no entry of an index could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no image for platform {wanted} in the index; it offers: {}", if available.is_empty() { "nothing runnable".to_string() } else { available.join(", ") })]
pub struct NoMatchingPlatform {
    pub wanted: String,
    pub available: Vec<String>,
}

impl ImageIndex {
    /// The first image entry for `wanted`, the rule the image spec gives. Entries without a
    /// platform count as linux/amd64; attestations are never chosen.
    pub fn select(&self, wanted: &Platform) -> Result<&Descriptor, NoMatchingPlatform> {
        let default = Platform::default_linux_amd64();
        self.manifests
            .iter()
            .filter(|d| !d.is_attestation())
            .find(|d| wanted.matches(d.platform.as_ref().unwrap_or(&default)))
            .ok_or_else(|| NoMatchingPlatform {
                wanted: wanted.to_string(),
                available: self
                    .manifests
                    .iter()
                    .filter(|d| !d.is_attestation())
                    .map(|d| d.platform.as_ref().map_or_else(|| "(no platform)".to_string(), Platform::to_string))
                    .collect(),
            })
    }
}

/// The image config (`application/vnd.oci.image.config.v1+json` and Docker's equivalent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(rename = "os.version", default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<RuntimeConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<RootFs>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

/// The part of the config a container starts from. Field names are Docker's, capitalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RootFs {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

impl History {
    /// The history line as a Dockerfile instruction: builders record `/bin/sh -c #(nop) CMD …`
    /// for metadata steps and `/bin/sh -c apt-get …` for RUN.
    pub fn dockerfile_line(&self) -> String {
        let raw = self.created_by.as_deref().unwrap_or("").trim();
        if let Some(rest) = raw.strip_prefix("/bin/sh -c #(nop)") {
            return rest.trim().to_string();
        }
        if let Some(rest) = raw.strip_prefix("/bin/sh -c ") {
            return format!("RUN {}", rest.trim());
        }
        if let Some(rest) = raw.strip_prefix("|") {
            // BuildKit prefixes RUN lines that use build args with "|<count> ARG=… ".
            if let Some(pos) = rest.find("/bin/sh -c ") {
                return format!("RUN {}", rest[pos + "/bin/sh -c ".len()..].trim());
            }
        }
        raw.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("image config is not valid JSON: {0}")]
pub struct ConfigError(pub String);

pub fn parse_config(body: &[u8]) -> Result<ImageConfig, ConfigError> {
    serde_json::from_slice(body).map_err(|e| ConfigError(e.to_string()))
}

#[cfg(test)]
mod tests;
