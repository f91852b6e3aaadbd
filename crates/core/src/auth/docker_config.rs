//! Docker's `config.json` (and the legacy `.dockercfg` map): which entry docker would use
//! for an image, and why.

use super::credentials::{decode_auth, is_docker_hub, AuthConfig, CredentialsError};
use crate::reference::Reference;
use serde_json::{Map, Value};
use std::fmt;

/// The key `docker login` writes for Docker Hub.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

#[derive(Clone, Default, PartialEq, Eq)]
struct Entry {
    username: String,
    password: String,
    auth: String,
    identity_token: String,
    registry_token: String,
    /// Username and password decoded from `auth`, which docker lets override the fields.
    decoded: Option<(String, String)>,
    notes: Vec<String>,
}

impl Entry {
    fn has_credentials(&self) -> bool {
        !(self.username.is_empty()
            && self.password.is_empty()
            && self.auth.is_empty()
            && self.identity_token.is_empty()
            && self.registry_token.is_empty())
    }

    fn auth_config(&self, key: &str) -> AuthConfig {
        let (username, password) = match &self.decoded {
            Some((u, p)) => (u.clone(), p.clone()),
            None => (self.username.clone(), self.password.clone()),
        };
        AuthConfig {
            username,
            password,
            auth: self.auth.clone(),
            server_address: key.to_string(),
            identity_token: self.identity_token.clone(),
            registry_token: self.registry_token.clone(),
        }
    }
}

/// A parsed docker `config.json`. Holds secrets: its `Debug` shows only keys and helpers.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DockerConfig {
    auths: Vec<(String, Entry)>,
    creds_store: Option<String>,
    cred_helpers: Vec<(String, String)>,
    legacy: bool,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerConfig")
            .field("keys", &self.keys().collect::<Vec<_>>())
            .field("creds_store", &self.creds_store)
            .field("cred_helpers", &self.cred_helpers)
            .field("legacy", &self.legacy)
            .finish()
    }
}

/// How a lookup found (or failed to find) credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// The key docker computes for the registry is in `auths`.
    ExactKey,
    /// A key whose host, once scheme and path are stripped, is the registry (docker's fallback).
    HostnameKey,
    /// Another of Docker Hub's names. Docker itself would not use it; crane, regctl and oras do.
    DockerHubAlias,
    /// `credHelpers` or `credsStore` applies: docker would run a helper program.
    CredentialHelper,
    NoMatch,
}

/// The result of [`DockerConfig::lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The credentials found, with `server_address` set to the key they were stored under.
    pub auth_config: Option<AuthConfig>,
    /// The key in `auths` they came from.
    pub key: Option<String>,
    /// The credential helper docker would run instead (`docker-credential-<helper>`).
    pub helper: Option<String>,
    pub kind: MatchKind,
    pub reason: String,
}

/// A field of a JSON object the way Go's `encoding/json` finds it: exact name first, then
/// any spelling that differs only in case.
pub(crate) fn go_field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

fn string_field(object: &Map<String, Value>, name: &str, path: &str) -> Result<String, CredentialsError> {
    match go_field(object, name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(CredentialsError::ConfigShape { problem: format!("{path}.{name} must be a string") }),
    }
}

/// docker's `ConvertToHostname`: the `host[:port]` of a key, without scheme or path.
fn convert_to_hostname(key: &str) -> &str {
    if let Some(i) = key.find("://") {
        let rest = &key[i + 3..];
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if !host.is_empty() {
            return match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                Some(bare) => bare,
                None => host,
            };
        }
    }
    key.split('/').next().unwrap_or(key)
}

fn parse_entry(key: &str, value: &Value) -> Result<Entry, CredentialsError> {
    let path = format!("auths[{key:?}]");
    let object = match value {
        Value::Object(o) => o,
        Value::Null => return Ok(Entry::default()),
        _ => return Err(CredentialsError::ConfigShape { problem: format!("{path} must be an object such as {{\"auth\": \"…\"}}") }),
    };
    let mut entry = Entry {
        username: string_field(object, "username", &path)?,
        password: string_field(object, "password", &path)?,
        auth: string_field(object, "auth", &path)?,
        identity_token: string_field(object, "identitytoken", &path)?,
        registry_token: string_field(object, "registrytoken", &path)?,
        decoded: None,
        notes: Vec::new(),
    };
    if !entry.auth.trim().is_empty() {
        let decoded = decode_auth(&entry.auth).map_err(|e| match e {
            CredentialsError::MalformedAuth { problem } => CredentialsError::ConfigAuth { key: key.to_string(), problem },
            other => other,
        })?;
        if decoded.username.is_empty() {
            return Err(CredentialsError::ConfigAuth {
                key: key.to_string(),
                problem: "the username before the colon is empty".to_string(),
            });
        }
        if decoded.missing_padding {
            entry.notes.push(
                "its auth lacks base64 padding; imagescope decodes it, but docker refuses to load such a file until the trailing '=' is added"
                    .to_string(),
            );
        }
        if !entry.username.is_empty() && entry.username != decoded.username {
            entry.notes.push(format!(
                "its auth names user {:?}, which overrides the username field {:?} as it does in docker",
                decoded.username, entry.username
            ));
        }
        entry.decoded = Some((decoded.username, decoded.password));
    }
    Ok(entry)
}

impl DockerConfig {
    /// Parses `config.json`, or a legacy `.dockercfg` (a bare map of registry to credentials).
    /// An `auth` that does not decode is an error, as it is for docker.
    pub fn parse(text: &str) -> Result<DockerConfig, CredentialsError> {
        // As bytes, like every other JSON read: the web app then links one JSON reader, not two.
        let value: Value = serde_json::from_slice(text.as_bytes()).map_err(|e| CredentialsError::ConfigSyntax { detail: e.to_string() })?;
        let Value::Object(top) = value else {
            return Err(CredentialsError::ConfigShape {
                problem: "the top level must be a JSON object such as {\"auths\": {…}}".to_string(),
            });
        };
        if go_field(&top, "apiVersion").is_some() || go_field(&top, "kind").is_some() {
            return Err(CredentialsError::ConfigShape {
                problem: "this is a Kubernetes object, not a docker config.json; read it as a Secret instead".to_string(),
            });
        }
        let mut config = DockerConfig::default();
        match go_field(&top, "credsStore") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::String(s)) => config.creds_store = Some(s.clone()),
            Some(_) => return Err(CredentialsError::ConfigShape { problem: "credsStore must be a string".to_string() }),
        }
        match go_field(&top, "credHelpers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(helpers)) => {
                for (registry, helper) in helpers {
                    let Value::String(helper) = helper else {
                        return Err(CredentialsError::ConfigShape {
                            problem: format!("credHelpers[{registry:?}] must be the name of a helper, a string"),
                        });
                    };
                    config.cred_helpers.push((registry.clone(), helper.clone()));
                }
            }
            Some(_) => {
                return Err(CredentialsError::ConfigShape {
                    problem: "credHelpers must be an object mapping registry to helper name".to_string(),
                })
            }
        }
        let auths = match go_field(&top, "auths") {
            Some(Value::Object(auths)) => Some(auths),
            None | Some(Value::Null) => None,
            Some(_) => {
                return Err(CredentialsError::ConfigShape {
                    problem: "auths must be an object mapping registry to credentials".to_string(),
                })
            }
        };
        let legacy = auths.is_none()
            && config.creds_store.is_none()
            && config.cred_helpers.is_empty()
            && !top.is_empty()
            && top.values().all(Value::is_object);
        config.legacy = legacy;
        let source = if legacy { Some(&top) } else { auths };
        if let Some(source) = source {
            for (key, value) in source {
                config.auths.push((key.clone(), parse_entry(key, value)?));
            }
        }
        Ok(config)
    }

    /// The keys of `auths`.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.auths.iter().map(|(k, _)| k.as_str())
    }

    pub fn creds_store(&self) -> Option<&str> {
        self.creds_store.as_deref()
    }

    /// `credHelpers`: registry → helper name.
    pub fn cred_helpers(&self) -> &[(String, String)] {
        &self.cred_helpers
    }

    /// Whether this was a legacy `.dockercfg` map rather than a `config.json`.
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// The credentials docker would use to pull `reference`, and why.
    pub fn lookup(&self, reference: &Reference) -> Lookup {
        self.lookup_host(reference.domain())
    }

    /// As [`DockerConfig::lookup`], for a registry given as `host[:port]`.
    pub fn lookup_host(&self, host: &str) -> Lookup {
        let docker_key = if host == "docker.io" || host == "index.docker.io" { DOCKER_HUB_KEY } else { host };
        let helper = self
            .cred_helpers
            .iter()
            .find(|(registry, _)| registry == docker_key)
            .map(|(_, h)| (h.clone(), "credHelpers"))
            .or_else(|| self.creds_store.clone().map(|h| (h, "credsStore")));
        let found = self.find(host, docker_key);
        if let Some((helper, source)) = helper {
            return self.helper_lookup(docker_key, helper, source, found);
        }
        match found {
            Some((kind, index, how)) => self.found(kind, index, how),
            None => self.not_found(host, docker_key),
        }
    }

    /// The entry docker would read from the file (or, for Docker Hub, the alias the other
    /// clients read): kind, index in `auths`, and how it matched.
    fn find(&self, host: &str, docker_key: &str) -> Option<(MatchKind, usize, String)> {
        if let Some(i) = self.auths.iter().position(|(k, _)| k == docker_key) {
            return Some((MatchKind::ExactKey, i, format!("the key {docker_key:?} is the one docker looks up for {host}")));
        }
        if docker_key != DOCKER_HUB_KEY {
            if let Some(i) = self.auths.iter().position(|(k, _)| convert_to_hostname(k) == docker_key) {
                let key = &self.auths[i].0;
                return Some((
                    MatchKind::HostnameKey,
                    i,
                    format!("the key {key:?} names host {docker_key} once its scheme and path are stripped, which docker accepts"),
                ));
            }
        }
        if is_docker_hub(host) {
            let alias = self
                .auths
                .iter()
                .position(|(k, _)| k == DOCKER_HUB_KEY)
                .or_else(|| self.auths.iter().position(|(k, _)| is_docker_hub(convert_to_hostname(k))));
            if let Some(i) = alias {
                let key = &self.auths[i].0;
                return Some((
                    MatchKind::DockerHubAlias,
                    i,
                    format!(
                        "the key {key:?} is another name of Docker Hub; docker itself looks up only {docker_key:?} for {host} and would not use it, while crane, regctl and oras do"
                    ),
                ));
            }
        }
        None
    }

    fn found(&self, kind: MatchKind, index: usize, how: String) -> Lookup {
        let (key, entry) = &self.auths[index];
        let mut reason = how;
        if !entry.has_credentials() {
            reason.push_str("; the entry holds no credentials, so the pull is anonymous");
        }
        for note in &entry.notes {
            reason.push_str("; ");
            reason.push_str(note);
        }
        Lookup { auth_config: Some(entry.auth_config(key)), key: Some(key.clone()), helper: None, kind, reason }
    }

    fn helper_lookup(&self, docker_key: &str, helper: String, source: &str, found: Option<(MatchKind, usize, String)>) -> Lookup {
        let mut reason = format!(
            "docker would ask the credential helper docker-credential-{helper} (from {source}) for {docker_key}; helpers are programs on your computer and cannot run here. Run `echo {docker_key} | docker-credential-{helper} get` and enter its Username and Secret as username and password (a Username of <token> means the Secret is an identity token), or enter a username and password or access token yourself"
        );
        let inline = found.filter(|(_, i, _)| self.auths[*i].1.has_credentials());
        let Some((_, index, how)) = inline else {
            return Lookup { auth_config: None, key: None, helper: Some(helper), kind: MatchKind::CredentialHelper, reason };
        };
        let (key, entry) = &self.auths[index];
        reason.push_str(&format!(
            ". The file also holds credentials under {key:?} ({how}); docker ignores them while a helper applies, imagescope uses them"
        ));
        Lookup {
            auth_config: Some(entry.auth_config(key)),
            key: Some(key.clone()),
            helper: Some(helper),
            kind: MatchKind::CredentialHelper,
            reason,
        }
    }

    fn not_found(&self, host: &str, docker_key: &str) -> Lookup {
        let reason = if self.auths.is_empty() {
            "the file holds no credentials (auths is empty), so the pull is anonymous".to_string()
        } else {
            let keys: Vec<String> = self.auths.iter().map(|(k, _)| format!("{k:?} (host {})", convert_to_hostname(k))).collect();
            format!(
                "no entry applies to {host}: docker looks for the key {docker_key:?} or a key whose host is exactly {docker_key} (ports must match too); the keys here are {}. The pull is anonymous",
                keys.join(", ")
            )
        };
        Lookup { auth_config: None, key: None, helper: None, kind: MatchKind::NoMatch, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::credentials::Credential;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    fn config(json: &str) -> DockerConfig {
        DockerConfig::parse(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn reference(s: &str) -> Reference {
        Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn docker_hub_key_serves_every_hub_name() {
        let c = config(&format!(r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{}"}}}}}}"#, b64("alice:pw")));
        for (image, kind) in [
            ("busybox", MatchKind::ExactKey),
            ("docker.io/library/busybox", MatchKind::ExactKey),
            ("index.docker.io/library/busybox", MatchKind::ExactKey),
            ("registry-1.docker.io/library/busybox", MatchKind::DockerHubAlias),
        ] {
            let found = c.lookup(&reference(image));
            assert_eq!(found.kind, kind, "{image}: {}", found.reason);
            let ac = found.auth_config.unwrap();
            assert_eq!((ac.username.as_str(), ac.password.as_str()), ("alice", "pw"));
            assert_eq!(ac.server_address, DOCKER_HUB_KEY);
        }
    }

    #[test]
    fn keys_with_scheme_and_path_serve_their_host() {
        let c = config(&format!(
            r#"{{"auths":{{"https://registry.example.com/v2/":{{"auth":"{}"}},"other.example.com:5000":{{"username":"u","password":"p"}}}}}}"#,
            b64("bob:pw")
        ));
        let found = c.lookup(&reference("registry.example.com/team/app:v1"));
        assert_eq!(found.kind, MatchKind::HostnameKey);
        assert_eq!(found.key.as_deref(), Some("https://registry.example.com/v2/"));
        assert!(found.reason.contains("scheme and path are stripped"), "{}", found.reason);
        let found = c.lookup(&reference("other.example.com:5000/app"));
        assert_eq!(found.kind, MatchKind::ExactKey);
        let ac = found.auth_config.unwrap();
        assert_eq!((ac.username.as_str(), ac.password.as_str()), ("u", "p"));
        let missing = c.lookup(&reference("other.example.com/app"));
        assert_eq!(missing.kind, MatchKind::NoMatch);
        assert!(missing.reason.contains("ports must match"), "{}", missing.reason);
        assert!(missing.reason.contains("other.example.com:5000"), "{}", missing.reason);
    }

    #[test]
    fn auth_with_and_without_padding() {
        let padded = b64("alice:pw");
        assert!(padded.ends_with('='));
        let unpadded = padded.trim_end_matches('=');
        for value in [padded.as_str(), unpadded] {
            let c = config(&format!(r#"{{"auths":{{"r.example.com":{{"auth":"{value}"}}}}}}"#));
            let found = c.lookup_host("r.example.com");
            let ac = found.auth_config.unwrap();
            assert_eq!((ac.username.as_str(), ac.password.as_str()), ("alice", "pw"));
            assert_eq!(found.reason.contains("padding"), value == unpadded, "{}", found.reason);
        }
    }

    #[test]
    fn password_with_colons_and_trailing_nul() {
        let c = config(&format!(
            r#"{{"auths":{{"a.example.com":{{"auth":"{}"}},"b.example.com":{{"auth":"{}"}}}}}}"#,
            b64("alice:pa:ss:word"),
            b64("bob:pw\0")
        ));
        let a = c.lookup_host("a.example.com").auth_config.unwrap();
        assert_eq!((a.username.as_str(), a.password.as_str()), ("alice", "pa:ss:word"));
        let b = c.lookup_host("b.example.com").auth_config.unwrap();
        assert_eq!(b.password, "pw");
    }

    #[test]
    fn identity_and_registry_tokens_reach_the_token_flow() {
        let c = config(&format!(
            r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{}","identitytoken":"refresh"}},"r.example.com":{{"registrytoken":"bearer-tok"}}}}}}"#,
            b64("alice:")
        ));
        let hub = c.lookup_host("docker.io").auth_config.unwrap();
        assert_eq!(
            hub.resolve("docker.io").unwrap().credential,
            Credential::IdentityToken { username: "alice".into(), token: "refresh".into() }
        );
        let r = c.lookup_host("r.example.com").auth_config.unwrap();
        assert_eq!(r.resolve("r.example.com").unwrap().credential, Credential::RegistryToken("bearer-tok".into()));
    }

    #[test]
    fn credential_helpers_are_explained() {
        let c = config(r#"{"auths":{"https://index.docker.io/v1/":{}},"credsStore":"desktop"}"#);
        let found = c.lookup_host("docker.io");
        assert_eq!(found.kind, MatchKind::CredentialHelper);
        assert_eq!(found.helper.as_deref(), Some("desktop"));
        assert!(found.auth_config.is_none());
        assert!(found.reason.contains("docker-credential-desktop"), "{}", found.reason);
        assert!(found.reason.contains("cannot run here"), "{}", found.reason);

        let c = config(&format!(
            r#"{{"auths":{{"r.example.com":{{"auth":"{}"}}}},"credHelpers":{{"123.dkr.ecr.us-east-1.amazonaws.com":"ecr-login"}}}}"#,
            b64("u:p")
        ));
        let ecr = c.lookup_host("123.dkr.ecr.us-east-1.amazonaws.com");
        assert_eq!(ecr.helper.as_deref(), Some("ecr-login"));
        assert!(ecr.reason.contains("credHelpers"), "{}", ecr.reason);
        assert_eq!(c.lookup_host("r.example.com").kind, MatchKind::ExactKey);

        let c = config(&format!(r#"{{"auths":{{"r.example.com":{{"auth":"{}"}}}},"credsStore":"pass"}}"#, b64("u:p")));
        let both = c.lookup_host("r.example.com");
        assert_eq!(both.kind, MatchKind::CredentialHelper);
        assert_eq!(both.auth_config.unwrap().username, "u");
        assert!(both.reason.contains("docker ignores them"), "{}", both.reason);
    }

    #[test]
    fn hub_aliases_and_legacy_maps() {
        let c = config(r#"{"auths":{"docker.io":{"username":"u","password":"p"}}}"#);
        let found = c.lookup_host("docker.io");
        assert_eq!(found.kind, MatchKind::DockerHubAlias);
        assert!(found.reason.contains("would not use it"), "{}", found.reason);

        let legacy = config(&format!(r#"{{"https://index.docker.io/v1/":{{"auth":"{}","email":"a@b.c"}}}}"#, b64("u:p")));
        assert!(legacy.is_legacy());
        assert_eq!(legacy.lookup_host("docker.io").kind, MatchKind::ExactKey);
    }

    #[test]
    fn field_names_ignore_case_like_go() {
        let c = config(r#"{"Auths":{"r.example.com":{"Username":"u","PASSWORD":"p"}}}"#);
        let ac = c.lookup_host("r.example.com").auth_config.unwrap();
        assert_eq!((ac.username.as_str(), ac.password.as_str()), ("u", "p"));
    }

    #[test]
    fn empty_entries_and_empty_files() {
        let c = config(r#"{"auths":{"r.example.com":{}}}"#);
        let found = c.lookup_host("r.example.com");
        assert!(found.reason.contains("no credentials"), "{}", found.reason);
        let empty = config("{}");
        assert!(empty.lookup_host("r.example.com").reason.contains("auths is empty"));
    }

    #[test]
    fn malformed_files_are_errors_that_name_the_problem() {
        let cases = [
            ("{", "not valid JSON"),
            ("[]", "top level"),
            (r#"{"auths":[]}"#, "auths must be an object"),
            (r#"{"auths":{"r":"x"}}"#, "must be an object"),
            (r#"{"auths":{"r":{"username":1}}}"#, "username must be a string"),
            (r#"{"auths":{"r":{"auth":"%%%"}}}"#, "not base64"),
            (r#"{"auths":{"r":{"auth":"bm9jb2xvbg=="}}}"#, "without a colon"),
            (r#"{"auths":{"r":{"auth":"OnB3"}}}"#, "username before the colon is empty"),
            (r#"{"credsStore":1}"#, "credsStore must be a string"),
            (r#"{"credHelpers":{"r":1}}"#, "credHelpers"),
            (r#"{"apiVersion":"v1","kind":"Secret"}"#, "Kubernetes object"),
        ];
        for (json, part) in cases {
            let err = DockerConfig::parse(json).unwrap_err();
            assert!(err.to_string().contains(part), "{json}: {err}");
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let c = config(&format!(r#"{{"auths":{{"r":{{"auth":"{}","identitytoken":"idtok"}}}}}}"#, b64("alice:hunter2")));
        let shown = format!("{c:?} {:?}", c.lookup_host("r"));
        assert!(!shown.contains("hunter2") && !shown.contains("idtok") && !shown.contains(&b64("alice:hunter2")), "{shown}");
    }

    #[test]
    fn convert_to_hostname_matches_docker() {
        for (key, host) in [
            ("https://index.docker.io/v1/", "index.docker.io"),
            ("http://r.example.com:5000/v2/", "r.example.com:5000"),
            ("r.example.com/team", "r.example.com"),
            ("r.example.com", "r.example.com"),
            ("https://[::1]/v2/", "::1"),
            ("https://[::1]:5000/v2/", "[::1]:5000"),
            ("https://user@r.example.com", "r.example.com"),
        ] {
            assert_eq!(convert_to_hostname(key), host, "{key}");
        }
    }
}
