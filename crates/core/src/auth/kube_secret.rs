//! Kubernetes image pull Secrets, and the keyring kubelet builds from them to choose the
//! credentials it hands the runtime for each image.

use super::credentials::{decode_base64, redact, AuthConfig};
use super::docker_config::go_field;
use crate::reference::Reference;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;

pub const DOCKER_CONFIG_JSON_TYPE: &str = "kubernetes.io/dockerconfigjson";
pub const DOCKER_CFG_TYPE: &str = "kubernetes.io/dockercfg";
pub const DOCKER_CONFIG_JSON_KEY: &str = ".dockerconfigjson";
pub const DOCKER_CFG_KEY: &str = ".dockercfg";

/// Where kubelet looks for Docker Hub credentials when no key matched the image.
const DEFAULT_REGISTRY_HOST: &str = "index.docker.io";

/// Far more than any Secret needs, small enough that alias expansion cannot exhaust memory.
const MAX_YAML_NODES: usize = 100_000;
const MAX_YAML_DEPTH: usize = 64;

/// The two Secret types kubelet reads credentials from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretType {
    /// `kubernetes.io/dockerconfigjson`: `.dockerconfigjson` holds `{"auths": {…}}`.
    DockerConfigJson,
    /// `kubernetes.io/dockercfg`: `.dockercfg` holds the bare map of registry to credentials.
    DockerCfg,
}

impl SecretType {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretType::DockerConfigJson => DOCKER_CONFIG_JSON_TYPE,
            SecretType::DockerCfg => DOCKER_CFG_TYPE,
        }
    }

    /// The data key the type requires.
    pub fn data_key(self) -> &'static str {
        match self {
            SecretType::DockerConfigJson => DOCKER_CONFIG_JSON_KEY,
            SecretType::DockerCfg => DOCKER_CFG_KEY,
        }
    }
}

/// One registry entry of a pull Secret, as kubelet reads it: only username, password,
/// email and auth, with auth overriding username and password.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryEntry {
    /// The key as written in the Secret (`https://index.docker.io/v1/`, `*.example.com`, …).
    pub key: String,
    pub username: String,
    pub password: String,
    pub email: String,
    /// The username and password came from `auth`.
    pub from_auth: bool,
    /// Fields present in the Secret that kubelet does not read (`identitytoken`, `registrytoken`).
    pub ignored_fields: Vec<&'static str>,
}

impl fmt::Debug for RegistryEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryEntry")
            .field("key", &self.key)
            .field("username", &self.username)
            .field("password", &redact(&self.password))
            .field("email", &self.email)
            .field("from_auth", &self.from_auth)
            .field("ignored_fields", &self.ignored_fields)
            .finish()
    }
}

/// A Secret kubelet can take image pull credentials from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSecret {
    /// `metadata.name`, or where the Secret was in the input when it has none.
    pub name: String,
    pub namespace: Option<String>,
    pub secret_type: SecretType,
    pub entries: Vec<RegistryEntry>,
}

/// A Secret in the input that kubelet would pass over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedSecret {
    pub name: String,
    pub error: SecretError,
}

/// Everything read from one paste: the usable pull Secrets and the ones kubelet would skip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedSecrets {
    pub secrets: Vec<PullSecret>,
    pub skipped: Vec<SkippedSecret>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("nothing to read: paste a Secret in YAML or JSON, such as the output of `kubectl get secret NAME -o yaml`")]
    Empty,
    #[error("this is neither valid YAML nor valid JSON: {detail}")]
    Syntax { detail: String },
    #[error("the YAML nests deeper than {MAX_YAML_DEPTH} levels or expands to more than {MAX_YAML_NODES} nodes, far beyond any Secret; paste the Secret alone")]
    TooComplex,
    #[error("{what} is not a Kubernetes object (a mapping with apiVersion, kind, metadata and data)")]
    NotAnObject { what: String },
    #[error("{what} is {kind}, not a Secret; paste the image pull Secret itself (`kubectl get secret NAME -o yaml`)")]
    NotASecret { what: String, kind: String },
    #[error("secret {name:?} has type {found:?}; kubelet takes image pull credentials only from {DOCKER_CONFIG_JSON_TYPE} (or the legacy {DOCKER_CFG_TYPE}) Secrets and skips this one. Recreate it with `kubectl create secret docker-registry`")]
    WrongType { name: String, found: String },
    #[error("secret {name:?} of type {secret_type} has no {key} under data or stringData, so kubelet skips it{hint}")]
    MissingKey { name: String, secret_type: &'static str, key: &'static str, hint: String },
    #[error("secret {name:?}: data.{key} is not valid base64; values under data must be base64-encoded (or put the plain JSON under stringData)")]
    BadBase64 { name: String, key: String },
    #[error("secret {name:?}: {key} is not valid JSON ({detail}); kubelet fails every pull that uses this Secret")]
    BadJson { name: String, key: String, detail: String },
    #[error("secret {name:?}: {problem}")]
    BadContent { name: String, problem: String },
    #[error("none of the {count} Secrets holds image pull credentials kubelet would use: {reasons}")]
    NoPullSecrets { count: usize, reasons: String },
}

/// Reads one or more Secrets: a single Secret, a `List` of them, or several YAML documents
/// separated by `---`; YAML or JSON. Secrets kubelet would skip are listed in
/// [`ParsedSecrets::skipped`]; when none is usable the reason is the error.
pub fn parse_secrets(input: &str) -> Result<ParsedSecrets, SecretError> {
    let documents = documents(input)?;
    if documents.is_empty() {
        return Err(SecretError::Empty);
    }
    let several = documents.len() > 1;
    let mut objects: Vec<(String, &Map<String, Value>)> = Vec::new();
    for (i, document) in documents.iter().enumerate() {
        let label = if several { format!("document {}", i + 1) } else { "the input".to_string() };
        let Value::Object(object) = document else {
            return Err(SecretError::NotAnObject { what: label });
        };
        match list_items(object) {
            Some(items) => {
                for (j, item) in items.iter().enumerate() {
                    let item_label = format!("item {} of the List in {label}", j + 1);
                    let Value::Object(item) = item else {
                        return Err(SecretError::NotAnObject { what: item_label });
                    };
                    objects.push((item_label, item));
                }
            }
            None => objects.push((label, object)),
        }
    }
    let count = objects.len();
    let mut parsed = ParsedSecrets::default();
    for (label, object) in objects {
        match read_secret(object, &label)? {
            Ok(secret) => parsed.secrets.push(secret),
            Err(skipped) => parsed.skipped.push(skipped),
        }
    }
    if parsed.secrets.is_empty() {
        if parsed.skipped.len() == 1 {
            return Err(parsed.skipped.remove(0).error);
        }
        let reasons: Vec<String> = parsed.skipped.iter().map(|s| s.error.to_string()).collect();
        return Err(SecretError::NoPullSecrets { count, reasons: reasons.join("; ") });
    }
    Ok(parsed)
}

fn list_items(object: &Map<String, Value>) -> Option<&Vec<Value>> {
    let kind = object.get("kind").and_then(Value::as_str)?;
    if !kind.ends_with("List") {
        return None;
    }
    object.get("items").and_then(Value::as_array)
}

fn str_at<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// One object of the input: `Ok(Ok(_))` a usable Secret, `Ok(Err(_))` one kubelet would skip,
/// `Err(_)` one that breaks pulls (kubelet fails them) or could never have been stored.
fn read_secret(object: &Map<String, Value>, label: &str) -> Result<Result<PullSecret, SkippedSecret>, SecretError> {
    let metadata = object.get("metadata").and_then(Value::as_object);
    let name = metadata.and_then(|m| str_at(m, "name")).map_or_else(|| label.to_string(), str::to_string);
    let namespace = metadata.and_then(|m| str_at(m, "namespace")).map(str::to_string);
    let skip = |error: SecretError| Ok(Err(SkippedSecret { name: name.clone(), error }));
    match str_at(object, "kind") {
        Some("Secret") => {}
        Some(kind) => return skip(SecretError::NotASecret { what: label.to_string(), kind: format!("a {kind}") }),
        None if object.contains_key("auths") => {
            return skip(SecretError::NotASecret { what: label.to_string(), kind: "a docker config.json".to_string() })
        }
        None if ["type", "data", "stringData"].iter().any(|k| object.contains_key(*k)) => {}
        None => return skip(SecretError::NotASecret { what: label.to_string(), kind: "an object without a kind".to_string() }),
    }
    let declared = str_at(object, "type").unwrap_or("Opaque");
    let secret_type = match declared {
        DOCKER_CONFIG_JSON_TYPE => SecretType::DockerConfigJson,
        DOCKER_CFG_TYPE => SecretType::DockerCfg,
        other => return skip(SecretError::WrongType { name: name.clone(), found: other.to_string() }),
    };
    let key = secret_type.data_key();
    let Some(content) = secret_content(object, key, &name)? else {
        let other = match secret_type {
            SecretType::DockerConfigJson => DOCKER_CFG_KEY,
            SecretType::DockerCfg => DOCKER_CONFIG_JSON_KEY,
        };
        let hint = if secret_content(object, other, &name).ok().flatten().is_some() {
            format!(" (it has {other}, which belongs to the other type)")
        } else {
            String::new()
        };
        return skip(SecretError::MissingKey { name: name.clone(), secret_type: secret_type.as_str(), key, hint });
    };
    // As bytes, like every other JSON read: the web app then links one JSON reader, not two.
    let json: Value = serde_json::from_slice(content.as_bytes()).map_err(|e| SecretError::BadJson {
        name: name.clone(),
        key: key.to_string(),
        detail: e.to_string(),
    })?;
    let bad = |problem: String| SecretError::BadContent { name: name.clone(), problem };
    let Value::Object(top) = json else {
        return Err(bad(format!("{key} must hold a JSON object; kubelet fails every pull that uses this Secret")));
    };
    let registries = match secret_type {
        SecretType::DockerConfigJson => match go_field(&top, "auths") {
            Some(Value::Object(auths)) => auths.clone(),
            Some(Value::Null) | None => {
                let problem = if top.values().any(Value::is_object) {
                    format!("{key} has no \"auths\" object, so kubelet finds no credentials in it; it looks like the legacy bare map: wrap it as {{\"auths\": …}} or use type {DOCKER_CFG_TYPE}")
                } else {
                    format!("{key} has no \"auths\" object, so kubelet finds no credentials in it")
                };
                return skip(bad(problem));
            }
            Some(_) => return Err(bad(format!("{key}: \"auths\" must be an object; kubelet fails every pull that uses this Secret"))),
        },
        SecretType::DockerCfg => {
            if top.keys().any(|k| k.eq_ignore_ascii_case("auths")) {
                return skip(bad(format!(
                    "{key} holds an \"auths\" object, the {DOCKER_CONFIG_JSON_KEY} layout; kubelet reads \"auths\" as a registry name and finds no credentials. Use type {DOCKER_CONFIG_JSON_TYPE} with key {DOCKER_CONFIG_JSON_KEY}"
                )));
            }
            top
        }
    };
    let mut entries = Vec::new();
    for (registry, value) in &registries {
        entries.push(read_entry(registry, value).map_err(|problem| bad(format!("{key}, entry {registry:?}: {problem}")))?);
    }
    Ok(Ok(PullSecret { name, namespace, secret_type, entries }))
}

/// The text under `stringData[key]` (which wins, as the API server merges it over data) or
/// the decoded `data[key]`; `None` when absent or empty, which kubelet treats alike.
fn secret_content(object: &Map<String, Value>, key: &str, name: &str) -> Result<Option<String>, SecretError> {
    if let Some(text) = object.get("stringData").and_then(Value::as_object).and_then(|d| d.get(key)).and_then(Value::as_str) {
        if !text.is_empty() {
            return Ok(Some(text.to_string()));
        }
    }
    let Some(encoded) = object.get("data").and_then(Value::as_object).and_then(|d| d.get(key)).and_then(Value::as_str) else {
        return Ok(None);
    };
    let bad = || SecretError::BadBase64 { name: name.to_string(), key: key.to_string() };
    let bytes = decode_base64(encoded).map_err(|_| bad())?;
    if bytes.is_empty() {
        return Ok(None);
    }
    let text = String::from_utf8(bytes).map_err(|_| SecretError::BadJson {
        name: name.to_string(),
        key: key.to_string(),
        detail: "it decodes to bytes that are not UTF-8 text".to_string(),
    })?;
    Ok(Some(text))
}

fn read_entry(key: &str, value: &Value) -> Result<RegistryEntry, String> {
    let Value::Object(object) = value else {
        return Err("must be an object such as {\"auth\": \"…\"}; kubelet fails every pull that uses this Secret".to_string());
    };
    let text = |name: &str| -> Result<String, String> {
        match go_field(object, name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("{name} must be a string; kubelet fails every pull that uses this Secret")),
        }
    };
    let mut entry = RegistryEntry {
        key: key.to_string(),
        username: text("username")?,
        password: text("password")?,
        email: text("email")?,
        from_auth: false,
        ignored_fields: Vec::new(),
    };
    for (name, ignored) in [("identitytoken", "identitytoken"), ("registrytoken", "registrytoken")] {
        if go_field(object, name).is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty())) {
            entry.ignored_fields.push(ignored);
        }
    }
    let auth = text("auth")?;
    if !auth.is_empty() {
        let (username, password) = kubelet_decode_auth(&auth)?;
        entry.username = username;
        entry.password = password;
        entry.from_auth = true;
    }
    Ok(entry)
}

/// kubelet's reading of `auth`: padded base64 when it ends in `=`, unpadded otherwise, split
/// at the first colon. Unlike containerd it trims no NUL bytes.
fn kubelet_decode_auth(auth: &str) -> Result<(String, String), String> {
    let failure = "auth is not the base64 of username:password; kubelet fails every pull that uses this Secret";
    let padded = auth.trim().ends_with('=');
    let compact: String = auth.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if padded && !compact.len().is_multiple_of(4) {
        return Err(failure.to_string());
    }
    let bytes = decode_base64(auth).map_err(|_| failure.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| failure.to_string())?;
    let (username, password) = text.split_once(':').ok_or_else(|| failure.to_string())?;
    Ok((username.to_string(), password.to_string()))
}

/// The input as JSON values, one per document. JSON is tried first when the input looks like
/// JSON, for its clearer errors; everything else is YAML.
fn documents(input: &str) -> Result<Vec<Value>, SecretError> {
    let trimmed = input.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(SecretError::Empty);
    }
    if trimmed.starts_with('{') {
        // As bytes, like every other JSON read: the web app then links one JSON reader, not two.
        match serde_json::from_slice::<Value>(trimmed.as_bytes()) {
            Ok(value) => return Ok(vec![value]),
            Err(json_error) => {
                return yaml_documents(trimmed).map_err(|yaml_error| match yaml_error {
                    SecretError::Syntax { .. } => SecretError::Syntax { detail: json_error.to_string() },
                    other => other,
                })
            }
        }
    }
    yaml_documents(trimmed)
}

enum Frame {
    Sequence { items: Vec<Value>, anchor: usize, nodes: usize },
    Mapping { map: Map<String, Value>, key: Option<String>, anchor: usize, nodes: usize },
}

/// Builds JSON values from YAML events, with every scalar as a string (or null), aliases
/// expanded within a node budget, and nesting bounded.
struct YamlBuilder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    documents: Vec<Value>,
}

fn yaml_scalar(text: &str, style: ScalarStyle) -> Value {
    let is_null = matches!(text, "" | "~" | "null" | "Null" | "NULL");
    if style == ScalarStyle::Plain && is_null {
        Value::Null
    } else {
        Value::String(text.to_string())
    }
}

impl YamlBuilder {
    fn charge(&mut self, nodes: usize) -> Result<(), SecretError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_YAML_NODES {
            return Err(SecretError::TooComplex);
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame) -> Result<(), SecretError> {
        if self.stack.len() >= MAX_YAML_DEPTH {
            return Err(SecretError::TooComplex);
        }
        self.charge(1)?;
        self.stack.push(frame);
        Ok(())
    }

    /// Places a finished node in its parent (or makes it the document).
    fn complete(&mut self, value: Value, nodes: usize, anchor: usize) -> Result<(), SecretError> {
        if anchor > 0 {
            self.anchors.insert(anchor, (value.clone(), nodes));
        }
        match self.stack.last_mut() {
            None => self.documents.push(value),
            Some(Frame::Sequence { items, nodes: total, .. }) => {
                items.push(value);
                *total += nodes;
            }
            Some(Frame::Mapping { map, key, nodes: total, .. }) => {
                *total += nodes;
                match key.take() {
                    Some(k) => {
                        map.insert(k, value);
                    }
                    None => {
                        let k = match value {
                            Value::String(s) => s,
                            Value::Null => String::new(),
                            _ => {
                                return Err(SecretError::Syntax {
                                    detail: "a mapping key is itself a list or mapping, which no Secret has".to_string(),
                                })
                            }
                        };
                        *key = Some(k);
                    }
                }
            }
        }
        Ok(())
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), SecretError> {
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(()),
            Event::DocumentStart(_) => {
                self.anchors.clear();
                Ok(())
            }
            Event::Scalar(text, style, anchor, _) => {
                self.charge(1)?;
                self.complete(yaml_scalar(&text, style), 1, anchor)
            }
            Event::Alias(id) => {
                let undefined = || SecretError::Syntax { detail: "an alias refers to an anchor that is not defined before it".to_string() };
                let nodes = self.anchors.get(&id).map(|(_, n)| *n).ok_or_else(undefined)?;
                self.charge(nodes)?;
                let value = self.anchors.get(&id).map(|(v, _)| v.clone()).ok_or_else(undefined)?;
                self.complete(value, nodes, 0)
            }
            Event::SequenceStart(anchor, _) => self.open(Frame::Sequence { items: Vec::new(), anchor, nodes: 1 }),
            Event::MappingStart(anchor, _) => self.open(Frame::Mapping { map: Map::new(), key: None, anchor, nodes: 1 }),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Sequence { items, anchor, nodes }) => self.complete(Value::Array(items), nodes, anchor),
                Some(Frame::Mapping { map, anchor, nodes, .. }) => self.complete(Value::Object(map), nodes, anchor),
                None => Ok(()),
            },
        }
    }
}

fn yaml_documents(input: &str) -> Result<Vec<Value>, SecretError> {
    let mut builder = YamlBuilder { stack: Vec::new(), anchors: HashMap::new(), nodes: 0, documents: Vec::new() };
    for item in Parser::new_from_str(input) {
        let (event, _) = item.map_err(|e| SecretError::Syntax { detail: e.to_string() })?;
        builder.event(event)?;
    }
    Ok(builder.documents.into_iter().filter(|d| !d.is_null()).collect())
}

/// A registry entry placed in the keyring under the key kubelet derives from it.
#[derive(Clone)]
struct KeyedCredential {
    index_key: String,
    secret_name: String,
    entry: RegistryEntry,
}

/// kubelet's keyring for the Secrets of one pod: keys normalised as kubelet does, tried
/// longest first.
#[derive(Clone)]
pub struct Keyring {
    /// Distinct keys, reverse-sorted so that more specific paths come first.
    index: Vec<String>,
    credentials: Vec<KeyedCredential>,
    /// Entries kubelet drops when it builds the keyring: (secret, key, why).
    unusable: Vec<(String, String, String)>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("index", &self.index).field("unusable", &self.unusable).finish()
    }
}

/// One credential kubelet would try for an image, in the order it tries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyringMatch {
    pub secret_name: String,
    /// The key as written in the Secret.
    pub key: String,
    /// What kubelet sends the runtime: username and password only.
    pub auth_config: AuthConfig,
    pub reason: String,
}

/// The outcome of [`Keyring::lookup`]: what kubelet would try, and why every other key
/// does not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyringLookup {
    pub matches: Vec<KeyringMatch>,
    /// (secret name, key as written, why it does not apply).
    pub rejected: Vec<(String, String, String)>,
}

/// A URL split the way Go's `net/url` splits it, with the checks that make it fail.
struct GoUrl {
    host: String,
    path: String,
}

fn is_host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:[]<>\"%".contains(c) || !c.is_ascii()
}

fn parse_go_url(raw: &str) -> Result<GoUrl, String> {
    if raw.chars().any(|c| c.is_ascii_control()) {
        return Err("it contains a control character".to_string());
    }
    let rest = raw.split_once("://").map_or(raw, |(_, r)| r);
    let rest = rest.split('#').next().unwrap_or_default();
    let rest = rest.split('?').next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(bad) = host.chars().find(|c| !is_host_char(*c)) {
        return Err(format!("{bad:?} cannot appear in a host name"));
    }
    let port = if let Some(bracketed) = host.strip_prefix('[') {
        let Some(close) = bracketed.find(']') else {
            return Err("the host opens a '[' it never closes".to_string());
        };
        let after = &bracketed[close + 1..];
        if !after.is_empty() && !after.starts_with(':') {
            return Err("only a port may follow an IPv6 address in brackets".to_string());
        }
        after.strip_prefix(':')
    } else {
        host.rsplit_once(':').map(|(_, p)| p)
    };
    if let Some(port) = port {
        if !port.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("the port {port:?} is not a number"));
        }
    }
    Ok(GoUrl { host: host.to_string(), path: percent_decode(path)? })
}

fn percent_decode(path: &str) -> Result<String, String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                return Err("its path has a '%' that is not followed by two hex digits".to_string());
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// kubelet's key for a Secret entry: `https://` prepended when there is no scheme, then host
/// plus path with a leading `/v1/` or `/v2/` reduced to `/`.
fn kubelet_key(key: &str) -> Result<String, String> {
    let value = if key.starts_with("https://") || key.starts_with("http://") { key.to_string() } else { format!("https://{key}") };
    let parsed = parse_go_url(&value)?;
    let mut path = parsed.path.as_str();
    if path.starts_with("/v2/") || path.starts_with("/v1/") {
        path = &path[3..];
    }
    Ok(if path.is_empty() || path == "/" { parsed.host } else { format!("{}{path}", parsed.host) })
}

/// Go's `net.SplitHostPort`, falling back to the whole host and no port, as kubelet does.
fn split_host_port(host: &str) -> (&str, &str) {
    if let Some(bracketed) = host.strip_prefix('[') {
        if let Some(close) = bracketed.find(']') {
            if let Some(port) = bracketed[close + 1..].strip_prefix(':') {
                return (&bracketed[..close], port);
            }
        }
        return (host, "");
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p),
        _ => (host, ""),
    }
}

/// Whether `c` is in the character class starting right after `[` at `p[start]`; returns the
/// verdict and the index after the closing `]`, or `None` for a malformed class.
fn match_class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut ranges = 0;
    loop {
        if p.get(i) == Some(&']') && ranges > 0 {
            return Some((matched != negated, i + 1));
        }
        let (lo, next) = class_char(p, i)?;
        i = next;
        let mut hi = lo;
        if p.get(i) == Some(&'-') {
            let (h, next) = class_char(p, i + 1)?;
            hi = h;
            i = next;
        }
        if lo <= c && c <= hi {
            matched = true;
        }
        ranges += 1;
    }
}

fn class_char(p: &[char], i: usize) -> Option<(char, usize)> {
    match p.get(i)? {
        '-' | ']' => None,
        '\\' => p.get(i + 1).map(|c| (*c, i + 2)),
        c => Some((*c, i + 1)),
    }
}

/// Go's `filepath.Match` for one host label: `*`, `?`, `[…]` classes and `\` escapes. A
/// malformed pattern matches nothing, as kubelet ignores the error.
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                '?' if s[si] != '/' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                '?' => {}
                '[' => match match_class(&p, pi + 1, s[si]) {
                    None => return false,
                    Some((true, next)) => {
                        pi = next;
                        si += 1;
                        continue;
                    }
                    Some((false, _)) => {}
                },
                '\\' => match p.get(pi + 1) {
                    None => return false,
                    Some(c) if *c == s[si] => {
                        pi += 2;
                        si += 1;
                        continue;
                    }
                    Some(_) => {}
                },
                c if c == s[si] => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, ss)) if s[ss] != '/' => {
                star = Some((sp, ss + 1));
                pi = sp + 1;
                si = ss + 1;
            }
            _ => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// kubelet's `URLsMatch` of a keyring key against an image name, explained either way.
fn key_matches(index_key: &str, image: &str) -> Result<String, String> {
    let glob = parse_go_url(&format!("https://{index_key}"))?;
    let target = parse_go_url(&format!("https://{image}")).map_err(|e| format!("the image name cannot be read as a URL: {e}"))?;
    let (glob_host, glob_port) = split_host_port(&glob.host);
    let (target_host, target_port) = split_host_port(&target.host);
    if glob_port != target_port {
        let show = |p: &str| if p.is_empty() { "no port".to_string() } else { format!("port {p}") };
        return Err(format!("it has {} and the image has {}; ports must match exactly", show(glob_port), show(target_port)));
    }
    let glob_labels: Vec<&str> = glob_host.split('.').collect();
    let target_labels: Vec<&str> = target_host.split('.').collect();
    if glob_labels.len() != target_labels.len() {
        return Err(format!(
            "{glob_host} has {} dot-separated labels and {target_host} has {}; the counts must be equal (a * stands for exactly one label)",
            glob_labels.len(),
            target_labels.len()
        ));
    }
    if !target.path.starts_with(&glob.path) {
        return Err(format!("its path {:?} is not a prefix of the image path {:?}", glob.path, target.path));
    }
    if let Some((g, t)) = glob_labels.iter().zip(&target_labels).find(|(g, t)| !glob_match(g, t)) {
        return Err(format!("host label {g:?} does not match {t:?}"));
    }
    let mut why = format!("{glob_host} matches {target_host}");
    if glob_labels.iter().any(|l| l.contains(['*', '?', '['])) {
        why = format!("the pattern {glob_host} matches {target_host} label by label");
    }
    if !glob_port.is_empty() {
        why.push_str(&format!(", port {glob_port} is the same"));
    }
    if !glob.path.is_empty() {
        why.push_str(&format!(", and {:?} is a prefix of the image path {:?}", glob.path, target.path));
        let boundary = glob.path.ends_with('/') || target.path.len() == glob.path.len() || target.path[glob.path.len()..].starts_with('/');
        if !boundary {
            why.push_str(" (kubelet compares paths as plain strings, not path segments)");
        }
    }
    Ok(why)
}

/// kubelet's `isDefaultRegistryMatch`: whether an image name pulls from Docker Hub.
fn is_default_registry_match(image: &str) -> bool {
    let mut parts = image.splitn(2, '/');
    let first = parts.next().unwrap_or_default();
    if first.is_empty() {
        return false;
    }
    if parts.next().is_none() {
        return true;
    }
    first == "docker.io" || first == "index.docker.io" || !first.contains(['.', ':'])
}

impl Keyring {
    /// The keyring kubelet builds from a pod's `imagePullSecrets`, in their order.
    pub fn new(secrets: &[PullSecret]) -> Keyring {
        let mut credentials = Vec::new();
        let mut unusable = Vec::new();
        for secret in secrets {
            for entry in &secret.entries {
                match kubelet_key(&entry.key) {
                    Ok(index_key) => {
                        credentials.push(KeyedCredential { index_key, secret_name: secret.name.clone(), entry: entry.clone() })
                    }
                    Err(e) => unusable.push((
                        secret.name.clone(),
                        entry.key.clone(),
                        format!("kubelet cannot read the key as a URL ({e}) and ignores it"),
                    )),
                }
            }
        }
        let mut index: Vec<String> = credentials.iter().map(|c| c.index_key.clone()).collect();
        index.sort_unstable_by(|a, b| b.cmp(a));
        index.dedup();
        Keyring { index, credentials, unusable }
    }

    /// The credentials kubelet would try for `reference`, in order, and why the others do not apply.
    pub fn lookup(&self, reference: &Reference) -> KeyringLookup {
        self.lookup_image(&reference.name())
    }

    /// As [`Keyring::lookup`] for an image name as kubelet sees it: `domain/path`, e.g.
    /// `docker.io/library/busybox`.
    pub fn lookup_image(&self, image: &str) -> KeyringLookup {
        let mut matches = Vec::new();
        let mut rejected = self.unusable.clone();
        for index_key in &self.index {
            let outcome = key_matches(index_key, image);
            for credential in self.credentials.iter().filter(|c| &c.index_key == index_key) {
                match &outcome {
                    Ok(why) => matches.push(self.matched(credential, why)),
                    Err(why) => {
                        rejected.push((credential.secret_name.clone(), credential.entry.key.clone(), self.rejection(credential, why)))
                    }
                }
            }
        }
        if matches.is_empty() && is_default_registry_match(image) {
            let hub: Vec<&KeyedCredential> = self.credentials.iter().filter(|c| c.index_key == DEFAULT_REGISTRY_HOST).collect();
            if !hub.is_empty() {
                rejected.retain(|(secret, key, _)| !hub.iter().any(|c| &c.secret_name == secret && &c.entry.key == key));
                let why = format!(
                    "no key matched {image}, which is a Docker Hub image, so kubelet falls back to the credentials stored for {DEFAULT_REGISTRY_HOST}"
                );
                matches = hub.into_iter().map(|c| self.matched(c, &why)).collect();
            }
        }
        KeyringLookup { matches, rejected }
    }

    fn rejection(&self, credential: &KeyedCredential, why: &str) -> String {
        let mut reason = String::new();
        if credential.index_key != credential.entry.key {
            reason.push_str(&format!("kubelet reads the key as {:?}; ", credential.index_key));
        }
        reason.push_str(why);
        reason
    }

    fn matched(&self, credential: &KeyedCredential, why: &str) -> KeyringMatch {
        let entry = &credential.entry;
        let mut reason = String::new();
        if credential.index_key != entry.key {
            reason.push_str(&format!("kubelet reads the key {:?} as {:?}; ", entry.key, credential.index_key));
        }
        reason.push_str(why);
        if entry.from_auth {
            reason.push_str("; the username and password come from auth, which overrides any username and password fields");
        }
        if entry.username.is_empty() && entry.password.is_empty() {
            reason.push_str("; the entry holds no username or password, so this attempt is anonymous");
        }
        if !entry.ignored_fields.is_empty() {
            reason.push_str(&format!("; kubelet ignores {} in Secrets, so the runtime never sees it", entry.ignored_fields.join(" and ")));
        }
        KeyringMatch {
            secret_name: credential.secret_name.clone(),
            key: entry.key.clone(),
            auth_config: AuthConfig { username: entry.username.clone(), password: entry.password.clone(), ..AuthConfig::default() },
            reason,
        }
    }
}

/// Go's `encoding/json` string encoding, which also escapes `<`, `>`, `&`, U+2028 and U+2029.
fn go_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether a plain YAML scalar would be read back as something other than a string by the
/// YAML 1.1 rules kubectl's printer follows.
fn resolves_to_non_string(s: &str) -> bool {
    const WORDS: [&str; 26] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON",
        "off", "Off", "OFF", "null", "Null", "NULL", "~",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    let Some(first) = s.chars().next() else { return true };
    if !(first.is_ascii_digit() || first == '-' || first == '+' || first == '.') {
        return false;
    }
    let unsigned = s.trim_start_matches(['-', '+']).replace('_', "");
    let lower = unsigned.to_ascii_lowercase();
    let radix_int =
        |prefix: &str, radix: u32| lower.strip_prefix(prefix).is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_digit(radix)));
    let decimal = !unsigned.is_empty() && unsigned.chars().all(|c| c.is_ascii_digit());
    let date = {
        let parts: Vec<&str> = s.split('-').collect();
        parts.len() == 3
            && parts[0].len() == 4
            && parts.iter().all(|p| !p.is_empty() && p.len() <= 4 && p.chars().all(|c| c.is_ascii_digit()))
    };
    decimal || radix_int("0x", 16) || radix_int("0o", 8) || radix_int("0b", 2) || is_float(s) || date
}

/// Whether `s` is a float: an optional sign, then digits with an optional point (a digit on at
/// least one side) and an optional exponent, or `inf`, `infinity` or `nan` in any case.
/// Checked by hand because `str::parse::<f64>` links the float parser and its tables.
fn is_float(s: &str) -> bool {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if ["inf", "infinity", "nan"].iter().any(|word| unsigned.eq_ignore_ascii_case(word)) {
        return true;
    }
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['-', '+']).unwrap_or(e))),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    digits(whole)
        && digits(fraction)
        && !(whole.is_empty() && fraction.is_empty())
        && exponent.is_none_or(|e| !e.is_empty() && digits(e))
}

/// A YAML scalar as kubectl prints it: plain when that reads back as the same string,
/// double-quoted otherwise.
fn yaml_string(s: &str) -> String {
    let plain_chars = s.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
    let plain_start = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if plain_chars && plain_start && !resolves_to_non_string(s) {
        s.to_string()
    } else {
        go_json_string(s)
    }
}

/// The manifest `kubectl create secret docker-registry NAME --docker-server=SERVER
/// --docker-username=USER --docker-password=PASSWORD [--docker-email=EMAIL]
/// [--namespace=NS] --dry-run=client -o yaml` prints: keys in kubectl's (alphabetical)
/// order, `.dockerconfigjson` encoded as kubectl encodes it. Kubernetes 1.33 and later print
/// no `creationTimestamp: null`, which older kubectl versions added under metadata.
pub fn docker_registry_secret_yaml(
    name: &str,
    namespace: Option<&str>,
    server: &str,
    username: &str,
    password: &str,
    email: Option<&str>,
) -> String {
    let mut fields = Vec::new();
    if !username.is_empty() {
        fields.push(format!("\"username\":{}", go_json_string(username)));
    }
    if !password.is_empty() {
        fields.push(format!("\"password\":{}", go_json_string(password)));
    }
    if let Some(email) = email.filter(|e| !e.is_empty()) {
        fields.push(format!("\"email\":{}", go_json_string(email)));
    }
    let auth = STANDARD.encode(format!("{username}:{password}"));
    fields.push(format!("\"auth\":{}", go_json_string(&auth)));
    let config = format!("{{\"auths\":{{{}:{{{}}}}}}}", go_json_string(server), fields.join(","));
    let mut yaml = String::new();
    yaml.push_str("apiVersion: v1\ndata:\n");
    yaml.push_str(&format!("  {DOCKER_CONFIG_JSON_KEY}: {}\n", STANDARD.encode(config)));
    yaml.push_str("kind: Secret\nmetadata:\n");
    yaml.push_str(&format!("  name: {}\n", yaml_string(name)));
    if let Some(namespace) = namespace {
        yaml.push_str(&format!("  namespace: {}\n", yaml_string(namespace)));
    }
    yaml.push_str(&format!("type: {DOCKER_CONFIG_JSON_TYPE}\n"));
    yaml
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    fn secret_yaml(name: &str, config: &str) -> String {
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n", b64(config))
    }

    fn keyring(input: &str) -> Keyring {
        Keyring::new(&parse_secrets(input).unwrap_or_else(|e| panic!("{e}")).secrets)
    }

    fn users(lookup: &KeyringLookup) -> Vec<String> {
        lookup.matches.iter().map(|m| m.auth_config.username.clone()).collect()
    }

    #[test]
    fn reads_dockerconfigjson_secrets_in_yaml_and_json() {
        let config = format!(r#"{{"auths":{{"registry.example.com":{{"auth":"{}","email":"a@example.com"}}}}}}"#, b64("alice:pw"));
        let yaml = secret_yaml("regcred", &config);
        let json = format!(
            r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"regcred","namespace":"team"}},"type":"kubernetes.io/dockerconfigjson","data":{{".dockerconfigjson":"{}"}}}}"#,
            b64(&config)
        );
        for input in [yaml.as_str(), json.as_str()] {
            let parsed = parse_secrets(input).unwrap();
            assert_eq!(parsed.secrets.len(), 1);
            let s = &parsed.secrets[0];
            assert_eq!(s.name, "regcred");
            assert_eq!(s.secret_type, SecretType::DockerConfigJson);
            assert_eq!(s.entries.len(), 1);
            let e = &s.entries[0];
            assert_eq!(
                (e.key.as_str(), e.username.as_str(), e.password.as_str(), e.email.as_str()),
                ("registry.example.com", "alice", "pw", "a@example.com")
            );
            assert!(e.from_auth);
        }
        assert_eq!(parse_secrets(&json).unwrap().secrets[0].namespace.as_deref(), Some("team"));
    }

    #[test]
    fn reads_legacy_dockercfg_and_string_data() {
        let legacy = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: old\ntype: kubernetes.io/dockercfg\ndata:\n  .dockercfg: {}\n",
            b64(r#"{"https://index.docker.io/v1/":{"username":"u","password":"p","email":"e@x"}}"#)
        );
        let parsed = parse_secrets(&legacy).unwrap();
        assert_eq!(parsed.secrets[0].secret_type, SecretType::DockerCfg);
        assert_eq!(parsed.secrets[0].entries[0].username, "u");

        let string_data = "kind: Secret\nmetadata: {name: plain}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '{\"auths\":{\"r.example.com\":{\"username\":\"u\",\"password\":\"p\"}}}'\n";
        let parsed = parse_secrets(string_data).unwrap();
        assert_eq!(parsed.secrets[0].entries[0].password, "p");
    }

    #[test]
    fn reads_lists_and_multi_document_yaml() {
        let one = secret_yaml("one", r#"{"auths":{"a.example.com":{"username":"u1","password":"p"}}}"#);
        let two = secret_yaml("two", r#"{"auths":{"b.example.com":{"username":"u2","password":"p"}}}"#);
        let docs = format!("---\n{one}---\n{two}...\n");
        let parsed = parse_secrets(&docs).unwrap();
        assert_eq!(parsed.secrets.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["one", "two"]);

        let list = format!(
            r#"{{"apiVersion":"v1","kind":"List","items":[{{"kind":"Secret","metadata":{{"name":"opaque"}},"type":"Opaque","data":{{}}}},{{"kind":"Secret","metadata":{{"name":"pull"}},"type":"kubernetes.io/dockerconfigjson","data":{{".dockerconfigjson":"{}"}}}}]}}"#,
            b64(r#"{"auths":{"r":{"username":"u","password":"p"}}}"#)
        );
        let parsed = parse_secrets(&list).unwrap();
        assert_eq!(parsed.secrets.len(), 1);
        assert_eq!(parsed.secrets[0].name, "pull");
        assert_eq!(parsed.skipped.len(), 1);
        assert!(matches!(parsed.skipped[0].error, SecretError::WrongType { .. }));
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "nothing to read"),
            ("kind: Secret\nmetadata: {name: x}\ntype: Opaque\ndata: {}\n".into(), "has type \"Opaque\""),
            ("kind: Secret\nmetadata: {name: x}\ndata: {}\n".into(), "has type \"Opaque\""),
            ("kind: Secret\nmetadata: {name: x}\ntype: kubernetes.io/dockerconfigjson\ndata: {}\n".into(), "has no .dockerconfigjson"),
            (
                format!("kind: Secret\nmetadata: {{name: x}}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockercfg: {}\n", b64("{}")),
                "belongs to the other type",
            ),
            (
                "kind: Secret\nmetadata: {name: x}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: '%%%'\n".into(),
                "not valid base64",
            ),
            (
                format!(
                    "kind: Secret\nmetadata: {{name: x}}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n",
                    b64("{not json")
                ),
                "not valid JSON",
            ),
            (secret_yaml("x", r#"{"r.example.com":{"auth":"dTpw"}}"#), "legacy bare map"),
            (secret_yaml("x", r#"{"auths":{"r":{"auth":"bm9jb2xvbg=="}}}"#), "not the base64 of username:password"),
            (secret_yaml("x", r#"{"auths":{"r":{"auth":"%%"}}}"#), "kubelet fails every pull"),
            (secret_yaml("x", r#"{"auths":{"r":{"username":5}}}"#), "username must be a string"),
            (secret_yaml("x", r#"{"auths":[]}"#), "\"auths\" must be an object"),
            (secret_yaml("x", "[]"), "must hold a JSON object"),
            ("kind: Pod\nmetadata: {name: p}\n".into(), "is a Pod, not a Secret"),
            (r#"{"auths":{}}"#.into(), "docker config.json"),
            ("- a\n- b\n".into(), "not a Kubernetes object"),
            ("kind: Secret\nmetadata: [unclosed\n".into(), "neither valid YAML nor valid JSON"),
            (r#"{"kind": "Secret", "#.into(), "neither valid YAML nor valid JSON"),
            (
                format!(
                    "kind: Secret\nmetadata: {{name: x}}\ntype: kubernetes.io/dockercfg\ndata:\n  .dockercfg: {}\n",
                    b64(r#"{"auths":{"r":{}}}"#)
                ),
                "the .dockerconfigjson layout",
            ),
            (
                "kind: Secret\nmetadata: {name: a}\ntype: Opaque\n---\nkind: Secret\nmetadata: {name: b}\ntype: Opaque\n".into(),
                "none of the 2 Secrets",
            ),
        ];
        for (input, part) in cases {
            let err = parse_secrets(&input).unwrap_err();
            assert!(err.to_string().contains(part), "{input:?}: {err}");
        }
    }

    #[test]
    fn yaml_bombs_and_deep_nesting_are_refused() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 { "a".to_string() } else { format!("b{}", i - 1) };
            bomb.push_str(&format!(
                "b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        assert_eq!(parse_secrets(&bomb), Err(SecretError::TooComplex));
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(parse_secrets(&deep), Err(SecretError::TooComplex));
    }

    #[test]
    fn yaml_aliases_within_budget_work() {
        let config = b64(r#"{"auths":{"r.example.com":{"username":"u","password":"p"}}}"#);
        let input = format!("kind: Secret\nmetadata: {{name: x}}\ntype: &t kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: &c {config}\nstringData: {{}}\nextra: [*t, *c]\n");
        assert_eq!(parse_secrets(&input).unwrap().secrets[0].entries[0].username, "u");
    }

    #[test]
    fn kubelet_key_normalisation() {
        for (key, want) in [
            ("https://index.docker.io/v1/", "index.docker.io"),
            ("index.docker.io", "index.docker.io"),
            ("registry.example.com/v2/", "registry.example.com"),
            ("registry.example.com/v2/team", "registry.example.com/team"),
            ("http://registry.example.com:5000/", "registry.example.com:5000"),
            ("registry.example.com/team/", "registry.example.com/team/"),
            ("*.example.com", "*.example.com"),
            ("HTTPS://Upper.example.com", "HTTPS://Upper.example.com"),
        ] {
            assert_eq!(kubelet_key(key).as_deref(), Ok(want), "{key}");
        }
        for bad in ["registry.example.com:port", "bad host.example.com", "r.example.com/%zz", "[::1"] {
            assert!(kubelet_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn glob_labels_match_exactly_one_label() {
        let k = keyring(&secret_yaml("s", r#"{"auths":{"*.example.com":{"username":"glob","password":"p"}}}"#));
        assert_eq!(users(&k.lookup_image("a.example.com/app")), ["glob"]);
        let deeper = k.lookup_image("a.b.example.com/app");
        assert!(deeper.matches.is_empty());
        assert!(deeper.rejected[0].2.contains("labels"), "{:?}", deeper.rejected);
        assert!(k.lookup_image("example.com/app").matches.is_empty());
        assert!(k.lookup_image("a.example.org/app").matches.is_empty());
    }

    #[test]
    fn ports_and_path_prefixes_must_match() {
        let k = keyring(&secret_yaml("s", r#"{"auths":{"example.com:5000/ns":{"username":"ns","password":"p"}}}"#));
        assert_eq!(users(&k.lookup_image("example.com:5000/ns/app")), ["ns"]);
        let no_port = k.lookup_image("example.com/ns/app");
        assert!(no_port.matches.is_empty());
        assert!(no_port.rejected[0].2.contains("ports must match"), "{:?}", no_port.rejected);
        let other_path = k.lookup_image("example.com:5000/other/app");
        assert!(other_path.rejected[0].2.contains("not a prefix"), "{:?}", other_path.rejected);
        let sibling = k.lookup_image("example.com:5000/nsfoo/app");
        assert_eq!(users(&sibling), ["ns"]);
        assert!(sibling.matches[0].reason.contains("plain strings"), "{}", sibling.matches[0].reason);
    }

    #[test]
    fn longer_keys_come_first_and_all_matches_are_kept() {
        let a = secret_yaml(
            "first",
            r#"{"auths":{"quay.io":{"username":"host","password":"p"},"quay.io/team":{"username":"team","password":"p"},"quay.io/team/app":{"username":"app","password":"p"}}}"#,
        );
        let b = secret_yaml("second", r#"{"auths":{"https://quay.io/v1/":{"username":"host2","password":"p"}}}"#);
        let k = keyring(&format!("{a}---\n{b}"));
        let found = k.lookup_image("quay.io/team/app");
        assert_eq!(users(&found), ["app", "team", "host", "host2"]);
        assert_eq!(found.matches[3].secret_name, "second");
        assert!(found.matches[3].reason.contains("reads the key \"https://quay.io/v1/\" as \"quay.io\""), "{}", found.matches[3].reason);
        assert_eq!(users(&k.lookup_image("quay.io/other/app")), ["host", "host2"]);
    }

    #[test]
    fn docker_hub_falls_back_to_index_docker_io() {
        let k = keyring(&secret_yaml("hub", &format!(r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{}"}}}}}}"#, b64("alice:pw"))));
        let found = k.lookup_image("docker.io/library/busybox");
        assert_eq!(users(&found), ["alice"]);
        assert!(found.matches[0].reason.contains("falls back"), "{}", found.matches[0].reason);
        assert!(found.rejected.is_empty(), "{:?}", found.rejected);
        assert!(k.lookup_image("ghcr.io/owner/app").matches.is_empty());

        let direct = keyring(&secret_yaml("hub", r#"{"auths":{"docker.io":{"username":"d","password":"p"}}}"#));
        let found = direct.lookup_image("docker.io/library/busybox");
        assert_eq!(users(&found), ["d"]);
        assert!(!found.matches[0].reason.contains("falls back"));
    }

    #[test]
    fn kubelet_reads_only_username_password_email_auth() {
        let k = keyring(&secret_yaml(
            "s",
            &format!(
                r#"{{"auths":{{"r.example.com":{{"username":"field","password":"x","auth":"{}","identitytoken":"tok","registrytoken":"rt"}}}}}}"#,
                b64("fromauth:pw")
            ),
        ));
        let found = k.lookup_image("r.example.com/app");
        let m = &found.matches[0];
        assert_eq!(m.auth_config, AuthConfig { username: "fromauth".into(), password: "pw".into(), ..AuthConfig::default() });
        assert!(m.reason.contains("overrides"), "{}", m.reason);
        assert!(m.reason.contains("ignores identitytoken and registrytoken"), "{}", m.reason);
        let unpadded = keyring(&secret_yaml("s", &format!(r#"{{"auths":{{"r":{{"auth":"{}"}}}}}}"#, b64("u:pwx").trim_end_matches('='))));
        assert_eq!(unpadded.lookup_image("r/app").matches[0].auth_config.password, "pwx");
    }

    #[test]
    fn unreadable_keys_are_rejected_with_a_reason() {
        let k = keyring(&secret_yaml(
            "s",
            r#"{"auths":{"bad host":{"username":"u","password":"p"},"r.example.com":{"username":"v","password":"p"}}}"#,
        ));
        let found = k.lookup_image("r.example.com/app");
        assert_eq!(users(&found), ["v"]);
        assert!(
            found.rejected.iter().any(|(s, key, why)| s == "s" && key == "bad host" && why.contains("ignores it")),
            "{:?}",
            found.rejected
        );
    }

    #[test]
    fn filepath_match_semantics() {
        for (pattern, name, want) in [
            ("*", "abc", true),
            ("*", "", true),
            ("a*c", "abbbc", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[a-c]x", "bx", true),
            ("[^a-c]x", "bx", false),
            ("[!a]x", "!x", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("[", "a", false),
            ("[]a]", "a", false),
            ("reg*", "registry", true),
            ("*try", "registry", true),
            ("*z*", "registry", false),
        ] {
            assert_eq!(glob_match(pattern, name), want, "{pattern} vs {name}");
        }
    }

    #[test]
    fn split_host_port_like_go() {
        assert_eq!(split_host_port("example.com:5000"), ("example.com", "5000"));
        assert_eq!(split_host_port("example.com"), ("example.com", ""));
        assert_eq!(split_host_port("[::1]:5000"), ("::1", "5000"));
        assert_eq!(split_host_port("[::1]"), ("[::1]", ""));
        assert_eq!(split_host_port("::1"), ("::1", ""));
        assert_eq!(split_host_port("example.com:"), ("example.com", ""));
    }

    #[test]
    fn kubectl_create_secret_docker_registry_output() {
        let yaml =
            docker_registry_secret_yaml("regcred", None, "https://index.docker.io/v1/", "alice", "s3cret", Some("alice@example.com"));
        let config = r#"{"auths":{"https://index.docker.io/v1/":{"username":"alice","password":"s3cret","email":"alice@example.com","auth":"YWxpY2U6czNjcmV0"}}}"#;
        assert_eq!(
            yaml,
            format!("apiVersion: v1\ndata:\n  .dockerconfigjson: {}\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\n", b64(config))
        );
        let with_ns = docker_registry_secret_yaml("regcred", Some("team"), "r.example.com:5000", "u", "<p&>", None);
        let want = r#"{"auths":{"r.example.com:5000":{"username":"u","password":"\u003cp\u0026\u003e","auth":"dTo8cCY+"}}}"#;
        assert!(with_ns.contains(&format!(".dockerconfigjson: {}\n", b64(want))), "{with_ns}");
        assert!(with_ns.contains("metadata:\n  name: regcred\n  namespace: team\ntype:"), "{with_ns}");
        let round = parse_secrets(&with_ns).unwrap();
        let entry = &round.secrets[0].entries[0];
        assert_eq!((entry.username.as_str(), entry.password.as_str()), ("u", "<p&>"));
        assert_eq!(round.secrets[0].namespace.as_deref(), Some("team"));
    }

    #[test]
    fn kubectl_quotes_names_yaml_would_misread() {
        for (name, printed) in [
            ("regcred", "regcred"),
            ("123", "\"123\""),
            ("yes", "\"yes\""),
            ("null", "\"null\""),
            ("1e3", "\"1e3\""),
            ("0x1f", "\"0x1f\""),
            ("2024-01-02", "\"2024-01-02\""),
            ("1.2.3", "1.2.3"),
            ("1.5", "\"1.5\""),
            ("1.", "\"1.\""),
            ("1e-3", "\"1e-3\""),
            ("2E10", "\"2E10\""),
            ("1e", "1e"),
            ("1.5e", "1.5e"),
            ("1e3.5", "1e3.5"),
            ("a-b.c", "a-b.c"),
            ("-x", "\"-x\""),
            ("has space", "\"has space\""),
        ] {
            let yaml = docker_registry_secret_yaml(name, None, "r", "u", "p", None);
            assert!(yaml.contains(&format!("  name: {printed}\n")), "{name}: {yaml}");
        }
    }

    #[test]
    fn float_check_agrees_with_the_float_parser() {
        for s in [
            "1", "1.", ".5", "1.5", "-1.5", "+.5e-3", "1e3", "1E+3", "1e", "e3", ".", "-", "+", "", "1.2.3", "1e3.5", "1..2", "1e-",
            "inf", "-inf", "+Infinity", "NaN", "-nan", "infinit", "0x1p3", "1_0", "1.5x", "--1", "١",
        ] {
            assert_eq!(is_float(s), s.parse::<f64>().is_ok(), "{s:?}");
        }
    }

    #[test]
    fn go_json_escapes() {
        assert_eq!(go_json_string("a\"b\\c\n\u{1}<>&\u{2028}é"), r#""a\"b\\c\n\u0001\u003c\u003e\u0026\u2028é""#);
    }

    #[test]
    fn debug_redacts_passwords() {
        let parsed = parse_secrets(&secret_yaml("s", r#"{"auths":{"r":{"username":"u","password":"hunter2"}}}"#)).unwrap();
        let k = Keyring::new(&parsed.secrets);
        let shown = format!("{parsed:?} {k:?} {:?}", k.lookup_image("r/app"));
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,200}") {
            let _ = parse_secrets(&s);
        }

        #[test]
        fn glob_never_panics(p in "[a-c*?\\[\\]^!\\\\-]{0,12}", n in "[a-c/-]{0,12}") {
            let _ = glob_match(&p, &n);
        }

        #[test]
        fn keys_never_panic(k in "\\PC{0,40}", image in "[a-z0-9.:/-]{1,40}") {
            let keyring = Keyring::new(&[PullSecret {
                name: "s".into(),
                namespace: None,
                secret_type: SecretType::DockerConfigJson,
                entries: vec![RegistryEntry { key: k, username: "u".into(), password: "p".into(), email: String::new(), from_auth: false, ignored_fields: Vec::new() }],
            }]);
            let _ = keyring.lookup_image(&image);
        }
    }
}
