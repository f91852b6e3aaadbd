//! Credential flags → the credentials to try, in the order a runtime would try them.

use clap::Args;
use imagescope_core::auth::credentials::{AuthConfig, Credential};
use imagescope_core::auth::docker_config::DockerConfig;
use imagescope_core::auth::kube_secret::{parse_secrets, Keyring};
use crate::error::CliError;
use imagescope_core::error::Error;
use imagescope_core::reference::Reference;
use std::io::Read;
use std::path::PathBuf;

#[derive(Args, Clone, Default)]
pub struct LoginArgs {
    /// CRI AuthConfig.username; the password is read from stdin (--password-stdin).
    #[arg(long)]
    pub username: Option<String>,
    /// Read the password from standard input (like `docker login --password-stdin`).
    #[arg(long)]
    pub password_stdin: bool,
    /// CRI AuthConfig.auth: base64 of `user:password`, as in a docker config.json.
    #[arg(long)]
    pub auth: Option<String>,
    /// CRI AuthConfig.identity_token: an OAuth2 refresh token exchanged for access tokens.
    #[arg(long)]
    pub identity_token: Option<String>,
    /// CRI AuthConfig.registry_token: a bearer token sent to the registry as is.
    #[arg(long)]
    pub registry_token: Option<String>,
    /// CRI AuthConfig.server_address: the registry these credentials are for.
    #[arg(long)]
    pub server_address: Option<String>,
    /// A docker config.json to take credentials from, as docker would.
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<PathBuf>,
    /// A Kubernetes image pull Secret (YAML or JSON; repeatable), matched the way kubelet does.
    #[arg(long, value_name = "FILE")]
    pub pull_secret: Vec<PathBuf>,
}

/// One credential to try, and the sentence that says where it came from.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub credential: Credential,
    pub reason: String,
}

fn usage(message: impl Into<String>) -> CliError {
    CliError::Input(message.into())
}

fn read_file(path: &PathBuf) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
}

impl LoginArgs {
    fn has_auth_config(&self) -> bool {
        self.username.is_some() || self.password_stdin || self.auth.is_some() || self.identity_token.is_some() || self.registry_token.is_some()
    }

    fn auth_config(&self) -> Result<AuthConfig, CliError> {
        let password = if self.password_stdin {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| usage(format!("cannot read the password from stdin: {e}")))?;
            text.trim_end_matches(['\r', '\n']).to_string()
        } else {
            String::new()
        };
        if self.password_stdin && self.username.is_none() {
            return Err(usage("--password-stdin needs --username"));
        }
        Ok(AuthConfig {
            username: self.username.clone().unwrap_or_default(),
            password,
            auth: self.auth.clone().unwrap_or_default(),
            server_address: self.server_address.clone().unwrap_or_default(),
            identity_token: self.identity_token.clone().unwrap_or_default(),
            registry_token: self.registry_token.clone().unwrap_or_default(),
        })
    }

    /// The credentials to try for `reference`: never empty (anonymous when nothing applies).
    pub fn candidates(&self, reference: &Reference) -> Result<Vec<Candidate>, CliError> {
        let sources = [self.has_auth_config(), self.docker_config.is_some(), !self.pull_secret.is_empty()];
        if sources.iter().filter(|s| **s).count() > 1 {
            return Err(usage("give credentials one way: AuthConfig flags, --docker-config or --pull-secret"));
        }
        if self.has_auth_config() {
            let resolution = self.auth_config()?.resolve(reference.domain()).map_err(Error::from)?;
            return Ok(vec![Candidate { credential: resolution.credential, reason: resolution.reason }]);
        }
        if let Some(path) = &self.docker_config {
            let config = DockerConfig::parse(&read_file(path)?).map_err(Error::from)?;
            let lookup = config.lookup(reference);
            if let Some(helper) = &lookup.helper {
                return Err(usage(format!(
                    "{}: docker would run the credential helper docker-credential-{helper}, which cannot run here; pass --username/--password-stdin or --auth instead",
                    path.display()
                )));
            }
            return Ok(vec![match lookup.auth_config {
                Some(auth) => {
                    let resolution = auth.resolve(reference.domain()).map_err(Error::from)?;
                    Candidate { credential: resolution.credential, reason: format!("{} ({})", lookup.reason, resolution.reason) }
                }
                None => Candidate { credential: Credential::Anonymous, reason: lookup.reason },
            }]);
        }
        if !self.pull_secret.is_empty() {
            let mut secrets = Vec::new();
            for path in &self.pull_secret {
                let parsed = parse_secrets(&read_file(path)?).map_err(|e| usage(format!("{}: {e}", path.display())))?;
                for skipped in &parsed.skipped {
                    eprintln!("imagescope: {}: kubelet would skip secret {:?}: {}", path.display(), skipped.name, skipped.error);
                }
                secrets.extend(parsed.secrets);
            }
            let lookup = Keyring::new(&secrets).lookup(reference);
            for (secret, key, why) in &lookup.rejected {
                eprintln!("imagescope: secret {secret:?} key {key:?} does not apply: {why}");
            }
            if lookup.matches.is_empty() {
                return Ok(vec![Candidate {
                    credential: Credential::Anonymous,
                    reason: format!("no pull secret entry matches {}; pulling anonymously as kubelet would", reference.name()),
                }]);
            }
            return lookup
                .matches
                .into_iter()
                .map(|m| {
                    let resolution = m.auth_config.resolve(reference.domain()).map_err(Error::from)?;
                    Ok(Candidate { credential: resolution.credential, reason: format!("secret {:?} key {:?}: {}", m.secret_name, m.key, m.reason) })
                })
                .collect();
        }
        Ok(vec![Candidate { credential: Credential::Anonymous, reason: "anonymous (no credentials given)".into() }])
    }
}

#[derive(Args, Clone, Default)]
pub struct Network {
    /// Talk plain http to this registry host (host or host:port). Loopback hosts always use http.
    #[arg(long = "plain-http", value_name = "HOST")]
    pub plain_http: Vec<String>,
}

impl Network {
    pub fn hosts(&self) -> Vec<&str> {
        self.plain_http.iter().map(String::as_str).collect()
    }
}

