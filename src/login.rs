//! From the credentials panel to the core's credentials: which credential a pull of a given
//! reference uses, and why, in the order a runtime would try them. Pasted files are read the
//! way their consumers read them: a `config.json` as docker does, Secrets as kubelet does.

use crate::credentials::{CredentialForm, CredentialKind};
use crate::state::State;
use crate::worker::protocol::{PasteCandidate, PasteReading, WireCredential};
use crate::worker_client;
use imagescope_core::auth::credentials::{AuthConfig, Credential};
use imagescope_core::auth::docker_config::DockerConfig;
use imagescope_core::auth::kube_secret::{parse_secrets, Keyring};
use imagescope_core::digest::Digest;
use imagescope_core::reference::Reference;
use serde::Serialize;
use yew::UseReducerDispatcher;

/// One credential to try, with the reason it applies to this reference.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub credential: Credential,
    pub reason: String,
    /// Distinguishes clients without holding the secret: a digest of the form and the position.
    pub fingerprint: String,
}

fn fingerprint(form: &CredentialForm, position: usize) -> String {
    let json = serde_json::to_string(form).unwrap_or_default();
    Digest::sha256_of(format!("{position}\n{json}").as_bytes()).to_string()
}

fn auth_config(form: &CredentialForm) -> AuthConfig {
    AuthConfig {
        username: form.username.clone(),
        password: form.password.clone(),
        auth: form.auth.clone(),
        identity_token: form.identity_token.clone(),
        registry_token: form.registry_token.clone(),
        ..Default::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasteKind {
    DockerConfig,
    Secret,
}

/// A JSON object without Kubernetes' `kind`/`apiVersion` is a docker config; anything else
/// (YAML above all) is read as Secrets.
pub fn paste_kind(text: &str) -> PasteKind {
    // As bytes, like every other JSON read: the web app then links one JSON reader, not two.
    match serde_json::from_slice::<serde_json::Value>(text.as_bytes()) {
        Ok(serde_json::Value::Object(o))
            if !["kind", "apiVersion", "items"]
                .iter()
                .any(|k| o.contains_key(*k)) =>
        {
            PasteKind::DockerConfig
        }
        _ => PasteKind::Secret,
    }
}

/// Which entries of a pasted file apply to a reference, which do not, and why.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PasteReport {
    pub source: String,
    /// (entry, why it is used), in the order they would be tried.
    pub matches: Vec<(String, String)>,
    /// (entry, why it does not apply).
    pub rejected: Vec<(String, String)>,
}

struct FileReading {
    report: PasteReport,
    configs: Vec<(AuthConfig, String)>,
}

fn read_file(text: &str, reference: &Reference) -> Result<FileReading, String> {
    if text.trim().is_empty() {
        return Err("Paste a docker config.json or a Kubernetes Secret first.".to_string());
    }
    match paste_kind(text) {
        PasteKind::DockerConfig => {
            let config = DockerConfig::parse(text).map_err(|e| e.to_string())?;
            let lookup = config.lookup(reference);
            let key = lookup
                .key
                .clone()
                .or(lookup.helper.clone())
                .unwrap_or_else(|| "(no entry)".to_string());
            let mut report = PasteReport {
                source: "docker config.json".into(),
                ..Default::default()
            };
            let mut configs = Vec::new();
            match lookup.auth_config {
                Some(auth) => {
                    report.matches.push((key, lookup.reason.clone()));
                    configs.push((auth, lookup.reason));
                }
                None => report.rejected.push((key, lookup.reason)),
            }
            for other in config.keys().filter(|k| Some(*k) != lookup.key.as_deref()) {
                report.rejected.push((
                    other.to_string(),
                    format!("docker uses only the entry for {}", reference.domain()),
                ));
            }
            Ok(FileReading { report, configs })
        }
        PasteKind::Secret => {
            let parsed = parse_secrets(text).map_err(|e| e.to_string())?;
            let lookup = Keyring::new(&parsed.secrets).lookup(reference);
            let mut report = PasteReport {
                source: "Kubernetes Secret".into(),
                ..Default::default()
            };
            let mut configs = Vec::new();
            for m in lookup.matches {
                let label = format!("secret {} · {}", m.secret_name, m.key);
                report.matches.push((label, m.reason.clone()));
                configs.push((
                    m.auth_config,
                    format!(
                        "secret {:?}, entry {:?}: {}",
                        m.secret_name, m.key, m.reason
                    ),
                ));
            }
            for (secret, key, why) in lookup.rejected {
                report
                    .rejected
                    .push((format!("secret {secret} · {key}"), why));
            }
            for skipped in parsed.skipped {
                report.rejected.push((
                    format!("secret {}", skipped.name),
                    skipped.error.to_string(),
                ));
            }
            Ok(FileReading { report, configs })
        }
    }
}

/// What a pasted file yields for `reference`: the panel's explanation and the credentials to
/// try, resolved the way the runtime would. Runs in the worker, so the page's start-up download
/// carries neither the YAML parser nor the config readers.
pub fn read_paste(text: &str, reference: &Reference) -> PasteReading {
    let reading = read_file(text, reference);
    let host = reference.domain();
    let candidates = reading.as_ref().map_err(String::clone).and_then(|reading| {
        if reading.configs.is_empty() {
            let why = reading.report.rejected.first().map_or_else(String::new, |(_, why)| format!(" ({why})"));
            let reason = format!("no entry of the pasted {} applies to {host}, so the pull is anonymous{why}", reading.report.source);
            return Ok(vec![PasteCandidate { credential: WireCredential::Anonymous, reason }]);
        }
        reading
            .configs
            .iter()
            .map(|(config, why)| {
                let resolution = config.resolve(host).map_err(|e| e.to_string())?;
                Ok(PasteCandidate { credential: WireCredential::from(&resolution.credential), reason: format!("{why}; {}", resolution.reason) })
            })
            .collect()
    });
    PasteReading { report: reading.map(|r| r.report), candidates }
}

/// The credentials to try for `reference`, first one first; never empty. An `Err` says, in
/// plain words, why the panel's content cannot be used. A pasted file is read by the worker.
pub async fn candidates(form: &CredentialForm, reference: &Reference, dispatch: &UseReducerDispatcher<State>) -> Result<Vec<Candidate>, String> {
    let form = form.effective();
    if form.kind != CredentialKind::Paste {
        let resolution = auth_config(&form).resolve(reference.domain()).map_err(|e| e.to_string())?;
        return Ok(vec![Candidate { credential: resolution.credential, reason: resolution.reason, fingerprint: fingerprint(&form, 0) }]);
    }
    let reading = worker_client::read_paste(dispatch, form.paste.clone(), reference.canonical()).await?;
    Ok(reading
        .candidates?
        .into_iter()
        .enumerate()
        .map(|(position, c)| Candidate { credential: c.credential.into(), reason: c.reason, fingerprint: fingerprint(&form, position) })
        .collect())
}
