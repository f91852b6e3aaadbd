//! Credentials as a container runtime receives them (the CRI `AuthConfig`) and as the token
//! flow uses them, with containerd's rules for choosing among the fields.

use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Accepts base64 with or without padding: people paste both, and Go clients disagree on
/// which one they write.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent).with_decode_allow_trailing_bits(true),
);

pub(crate) const REDACTED: &str = "<redacted>";

/// Shows whether a secret is set without showing it.
pub(crate) fn redact(secret: &str) -> &'static str {
    if secret.is_empty() {
        ""
    } else {
        REDACTED
    }
}

/// The CRI `AuthConfig` message: what kubelet (or crictl) hands the runtime for one pull.
/// JSON uses the CRI field names (`server_address`, …); the proto3 camelCase names are accepted too.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// base64 of `username:password`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth: String,
    #[serde(alias = "serverAddress", skip_serializing_if = "String::is_empty")]
    pub server_address: String,
    /// An OAuth2 refresh token, exchanged for an access token at the registry's realm.
    #[serde(alias = "identityToken", skip_serializing_if = "String::is_empty")]
    pub identity_token: String,
    /// A ready bearer token for the registry itself.
    #[serde(alias = "registryToken", skip_serializing_if = "String::is_empty")]
    pub registry_token: String,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("username", &self.username)
            .field("password", &redact(&self.password))
            .field("auth", &redact(&self.auth))
            .field("server_address", &self.server_address)
            .field("identity_token", &redact(&self.identity_token))
            .field("registry_token", &redact(&self.registry_token))
            .finish()
    }
}

/// What the token flow authenticates with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token (docker's `identitytoken`); `username` may be empty.
    IdentityToken {
        username: String,
        token: String,
    },
    /// A bearer token sent to the registry as is, with no exchange.
    RegistryToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Anonymous => f.write_str("Anonymous"),
            Credential::Basic { username, password } => {
                f.debug_struct("Basic").field("username", username).field("password", &redact(password)).finish()
            }
            Credential::IdentityToken { username, token } => {
                f.debug_struct("IdentityToken").field("username", username).field("token", &redact(token)).finish()
            }
            Credential::RegistryToken(token) => f.debug_tuple("RegistryToken").field(&redact(token)).finish(),
        }
    }
}

impl Credential {
    /// A short description without secrets, for messages: "anonymous", "username alice", …
    pub fn describe(&self) -> String {
        match self {
            Credential::Anonymous => "anonymous access".to_string(),
            Credential::Basic { username, .. } => format!("the password of {username:?}"),
            Credential::IdentityToken { username, .. } if username.is_empty() => "an identity token".to_string(),
            Credential::IdentityToken { username, .. } => format!("the identity token of {username:?}"),
            Credential::RegistryToken(_) => "a registry token".to_string(),
        }
    }
}

/// The credential chosen from an [`AuthConfig`] and why, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub credential: Credential,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("the auth value is not usable: {problem}; it must be the base64 of username:password, as `printf '%s' 'user:password' | base64` prints it")]
    MalformedAuth { problem: String },
    #[error("this is not valid JSON ({detail}); paste the whole config.json, from the first {{ to the last }}")]
    ConfigSyntax { detail: String },
    #[error("config.json: {problem}")]
    ConfigShape { problem: String },
    #[error("config.json: the auth of {key:?} is not usable ({problem}); docker refuses to load such a file. Replace it with the base64 of username:password")]
    ConfigAuth { key: String, problem: String },
}

/// The two halves of a decoded `auth` value, and what it took to decode it.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodedAuth {
    pub username: String,
    pub password: String,
    /// The value needed base64 padding and had none: Go's padded decoders (docker,
    /// containerd) refuse it.
    pub missing_padding: bool,
    /// NUL bytes were trimmed from the end of the password, as containerd and docker do.
    pub trimmed_nuls: bool,
}

impl fmt::Debug for DecodedAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodedAuth")
            .field("username", &self.username)
            .field("password", &redact(&self.password))
            .field("missing_padding", &self.missing_padding)
            .field("trimmed_nuls", &self.trimmed_nuls)
            .finish()
    }
}

/// Base64 with or without padding; line breaks and spaces are ignored because `base64`
/// wraps long output at 76 columns.
pub(crate) fn decode_base64(value: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT_BASE64.decode(compact)
}

/// Whether `value` (whitespace ignored) lacks base64 padding it needs.
pub(crate) fn lacks_padding(value: &str) -> bool {
    let len = value.chars().filter(|c| !c.is_ascii_whitespace()).count();
    !value.trim_end().ends_with('=') && !len.is_multiple_of(4)
}

/// Decodes an `auth` value: base64 (padded or not) of `username:password`, split at the
/// first colon, trailing NULs trimmed from the password.
pub fn decode_auth(auth: &str) -> Result<DecodedAuth, CredentialsError> {
    let malformed = |problem: &str| CredentialsError::MalformedAuth { problem: problem.to_string() };
    if auth.trim().is_empty() {
        return Err(malformed("it is empty"));
    }
    let bytes = decode_base64(auth).map_err(|_| malformed("it is not base64"))?;
    let text = String::from_utf8(bytes).map_err(|_| malformed("it decodes to bytes that are not UTF-8 text"))?;
    let Some((username, password)) = text.split_once(':') else {
        return Err(malformed("it decodes to text without a colon between username and password"));
    };
    let trimmed = password.trim_end_matches('\0');
    Ok(DecodedAuth {
        username: username.to_string(),
        password: trimmed.to_string(),
        missing_padding: lacks_padding(auth),
        trimmed_nuls: trimmed.len() != password.len(),
    })
}

/// The `Authorization` header value for HTTP Basic.
pub fn basic_header(username: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{username}:{password}")))
}

const HUB_HOSTS: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/// Docker Hub goes by several names; they all mean the same registry.
pub(crate) fn is_docker_hub(host: &str) -> bool {
    HUB_HOSTS.iter().any(|h| h.eq_ignore_ascii_case(host))
}

/// The `host[:port]` a server address names, and what was ignored to find it.
struct ServerHost<'a> {
    host: &'a str,
    had_scheme: bool,
    path: &'a str,
}

fn server_host(server_address: &str) -> ServerHost<'_> {
    let trimmed = server_address.trim();
    let (had_scheme, rest) = match trimmed.find("://") {
        Some(i) => (true, &trimmed[i + 3..]),
        None => (false, trimmed),
    };
    let cut = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..cut];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    ServerHost { host, had_scheme, path: &rest[cut..] }
}

impl AuthConfig {
    /// Picks the credential a pull from `registry_host` (`host[:port]` as in the image
    /// reference) uses, following containerd's `ParseAuth` with the differences the reason
    /// names: a scheme-less `server_address` is accepted, Docker Hub's names are one
    /// registry, `registry_token` is supported, and unpadded `auth` is decoded.
    pub fn resolve(&self, registry_host: &str) -> Result<Resolution, CredentialsError> {
        let mut notes = Vec::new();
        if !self.server_address.trim().is_empty() {
            let server = server_host(&self.server_address);
            let same = server.host.eq_ignore_ascii_case(registry_host) || (is_docker_hub(server.host) && is_docker_hub(registry_host));
            if !same {
                let named = if server.host.is_empty() { "no host".to_string() } else { format!("{:?}", server.host) };
                return Ok(Resolution {
                    credential: Credential::Anonymous,
                    reason: format!(
                        "server_address {:?} names {named}, not {registry_host:?}: these credentials belong to another registry, so the pull is anonymous (containerd drops them the same way)",
                        self.server_address
                    ),
                });
            }
            notes.push(self.server_note(&server, registry_host));
        }
        let (credential, why) = self.pick()?;
        notes.insert(0, why);
        if self.server_address.trim().is_empty() && credential != Credential::Anonymous {
            notes.push("no server_address is set, so the runtime uses them for whichever registry the image names".to_string());
        }
        Ok(Resolution { credential, reason: notes.join("; ") })
    }

    fn server_note(&self, server: &ServerHost<'_>, registry_host: &str) -> String {
        let mut note = format!("server_address {:?} names {registry_host}", self.server_address);
        let mut differences = Vec::new();
        if !server.had_scheme {
            differences
                .push("containerd parses a server_address without a scheme as having no host and would drop these credentials".to_string());
        }
        if !server.path.is_empty() && server.path != "/" {
            differences.push(format!("its path {:?} is ignored", server.path));
        }
        if server.had_scheme && is_docker_hub(registry_host) && !server.host.eq_ignore_ascii_case("registry-1.docker.io") {
            differences.push(format!(
                "{} is Docker Hub, but containerd compares server_address with the host it contacts, registry-1.docker.io, and would drop these credentials",
                server.host
            ));
        }
        if !differences.is_empty() {
            note.push_str(" (");
            note.push_str(&differences.join("; "));
            note.push(')');
        }
        note
    }

    fn pick(&self) -> Result<(Credential, String), CredentialsError> {
        if !self.username.is_empty() {
            if self.password.is_empty() && !self.identity_token.is_empty() {
                return Ok((
                    Credential::IdentityToken { username: self.username.clone(), token: self.identity_token.clone() },
                    format!(
                        "identity token of {:?}: the password is empty, so the identity token is exchanged for access (containerd would send the username with an empty password instead)",
                        self.username
                    ),
                ));
            }
            let why = if self.password.is_empty() {
                format!("username {:?} with an empty password", self.username)
            } else {
                format!("username {:?} and password", self.username)
            };
            return Ok((Credential::Basic { username: self.username.clone(), password: self.password.clone() }, why));
        }
        if !self.identity_token.is_empty() {
            return Ok((
                Credential::IdentityToken { username: String::new(), token: self.identity_token.clone() },
                "identity token (no username is set), exchanged for an access token at the registry's token endpoint".to_string(),
            ));
        }
        if !self.registry_token.is_empty() {
            return Ok((
                Credential::RegistryToken(self.registry_token.clone()),
                "registry token, sent to the registry as a Bearer token with no exchange (containerd ignores registry_token and would pull anonymously)".to_string(),
            ));
        }
        if !self.auth.trim().is_empty() {
            let decoded = decode_auth(&self.auth)?;
            let mut why = format!("auth decodes to username {:?} and a password", decoded.username);
            if decoded.username.is_empty() {
                why = "auth decodes to an empty username and a password".to_string();
            }
            if decoded.missing_padding {
                why.push_str(" (the value lacks base64 padding: containerd and docker reject it, so add the trailing '=')");
            }
            if decoded.trimmed_nuls {
                why.push_str(" (trailing NUL bytes were trimmed from the password, as containerd does)");
            }
            return Ok((Credential::Basic { username: decoded.username, password: decoded.password }, why));
        }
        Ok((Credential::Anonymous, "every field is empty, so the pull is anonymous".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(u: &str, p: &str) -> Credential {
        Credential::Basic { username: u.into(), password: p.into() }
    }

    #[test]
    fn containerd_rules_with_our_extensions() {
        let b64 = |s: &str| STANDARD.encode(s);
        let cases: Vec<(AuthConfig, &str, Credential, &str)> = vec![
            (AuthConfig::default(), "r.example.com", Credential::Anonymous, "anonymous"),
            (
                AuthConfig {
                    server_address: "https://reg.example.com".into(),
                    username: "u".into(),
                    password: "p".into(),
                    ..Default::default()
                },
                "reg.example.com",
                basic("u", "p"),
                "names reg.example.com",
            ),
            (
                AuthConfig { server_address: "reg.example.com".into(), username: "u".into(), password: "p".into(), ..Default::default() },
                "reg.example.com",
                basic("u", "p"),
                "without a scheme",
            ),
            (
                AuthConfig {
                    server_address: "https://reg.example.com/v1/".into(),
                    username: "u".into(),
                    password: "p".into(),
                    ..Default::default()
                },
                "reg.example.com",
                basic("u", "p"),
                "path \"/v1/\" is ignored",
            ),
            (
                AuthConfig {
                    server_address: "https://other.example.com".into(),
                    username: "u".into(),
                    password: "p".into(),
                    ..Default::default()
                },
                "reg.example.com",
                Credential::Anonymous,
                "another registry",
            ),
            (
                AuthConfig {
                    server_address: "https://reg.example.com:5000".into(),
                    username: "u".into(),
                    password: "p".into(),
                    ..Default::default()
                },
                "reg.example.com",
                Credential::Anonymous,
                "another registry",
            ),
            (
                AuthConfig {
                    server_address: "https://index.docker.io/v1/".into(),
                    username: "u".into(),
                    password: "p".into(),
                    ..Default::default()
                },
                "docker.io",
                basic("u", "p"),
                "containerd compares server_address with the host it contacts",
            ),
            (
                AuthConfig {
                    server_address: "https://registry-1.docker.io".into(),
                    username: "u".into(),
                    password: "p".into(),
                    ..Default::default()
                },
                "docker.io",
                basic("u", "p"),
                "registry-1.docker.io",
            ),
            (
                AuthConfig {
                    username: "u".into(),
                    password: "p".into(),
                    identity_token: "id".into(),
                    auth: b64("x:y"),
                    ..Default::default()
                },
                "r",
                basic("u", "p"),
                "username \"u\" and password",
            ),
            (
                AuthConfig { identity_token: "id".into(), auth: b64("x:y"), ..Default::default() },
                "r",
                Credential::IdentityToken { username: String::new(), token: "id".into() },
                "identity token",
            ),
            (
                AuthConfig { username: "u".into(), identity_token: "id".into(), ..Default::default() },
                "r",
                Credential::IdentityToken { username: "u".into(), token: "id".into() },
                "password is empty",
            ),
            (
                AuthConfig { registry_token: "rt".into(), auth: b64("x:y"), ..Default::default() },
                "r",
                Credential::RegistryToken("rt".into()),
                "containerd ignores registry_token",
            ),
            (AuthConfig { auth: b64("alice:s3:cr:et"), ..Default::default() }, "r", basic("alice", "s3:cr:et"), "\"alice\""),
            (AuthConfig { auth: b64("alice:pw\0\0"), ..Default::default() }, "r", basic("alice", "pw"), "NUL"),
            (
                AuthConfig { auth: b64("alice:pwx").trim_end_matches('=').to_string(), ..Default::default() },
                "r",
                basic("alice", "pwx"),
                "no server_address",
            ),
            (AuthConfig { auth: "YWxpY2U6cHc".into(), ..Default::default() }, "r", basic("alice", "pw"), "lacks base64 padding"),
            (AuthConfig { auth: b64(":pw"), ..Default::default() }, "r", basic("", "pw"), "empty username"),
            (AuthConfig { auth: format!("{}\n", b64("alice:pw")), ..Default::default() }, "r", basic("alice", "pw"), "alice"),
            (AuthConfig { username: "u".into(), ..Default::default() }, "r", basic("u", ""), "empty password"),
        ];
        for (config, host, want, reason_part) in cases {
            let got = config.resolve(host).unwrap_or_else(|e| panic!("{config:?}: {e}"));
            assert_eq!(got.credential, want, "{config:?}");
            assert!(got.reason.contains(reason_part), "{config:?}: reason {:?} lacks {reason_part:?}", got.reason);
        }
    }

    #[test]
    fn malformed_auth_is_an_error_not_anonymity() {
        for bad in ["not base64!", &STANDARD.encode("no-colon-here"), &STANDARD.encode([0xff, 0xfe, b':', b'x'])] {
            let config = AuthConfig { auth: bad.to_string(), ..Default::default() };
            let err = config.resolve("r").unwrap_err();
            assert!(matches!(err, CredentialsError::MalformedAuth { .. }), "{bad}: {err:?}");
            assert!(err.to_string().contains("base64 of username:password"), "{err}");
        }
    }

    #[test]
    fn errors_never_echo_the_secret() {
        let config = AuthConfig { auth: STANDARD.encode("hunter2hunter2"), ..Default::default() };
        let err = config.resolve("r").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn debug_redacts_every_secret() {
        let config = AuthConfig {
            username: "alice".into(),
            password: "pw-secret".into(),
            auth: "YXV0aC1zZWNyZXQ=".into(),
            server_address: "https://r".into(),
            identity_token: "id-secret".into(),
            registry_token: "rt-secret".into(),
        };
        let shown = format!("{config:?}");
        for secret in ["pw-secret", "YXV0aC1zZWNyZXQ=", "id-secret", "rt-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("alice") && shown.contains(REDACTED));
        for credential in [
            basic("alice", "pw-secret"),
            Credential::IdentityToken { username: "alice".into(), token: "id-secret".into() },
            Credential::RegistryToken("rt-secret".into()),
        ] {
            let shown = format!("{credential:?}");
            assert!(!shown.contains("secret"), "{shown}");
        }
        let decoded = decode_auth(&STANDARD.encode("alice:pw-secret")).unwrap();
        assert!(!format!("{decoded:?}").contains("pw-secret"));
        let resolution = config.resolve("r").unwrap();
        assert!(!format!("{resolution:?}").contains("pw-secret"));
    }

    #[test]
    fn json_uses_the_cri_names_and_accepts_camel_case() {
        let config =
            AuthConfig { username: "u".into(), server_address: "https://r".into(), identity_token: "i".into(), ..Default::default() };
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(json, r#"{"username":"u","server_address":"https://r","identity_token":"i"}"#);
        let parsed: AuthConfig =
            serde_json::from_str(r#"{"serverAddress":"https://r","registryToken":"t","auth":"a","password":"p"}"#).unwrap();
        assert_eq!(parsed.server_address, "https://r");
        assert_eq!(parsed.registry_token, "t");
        assert_eq!(parsed.auth, "a");
        let round: AuthConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(round, config);
    }

    #[test]
    fn basic_header_encodes_user_colon_password() {
        assert_eq!(basic_header("user", "pass"), "Basic dXNlcjpwYXNz");
        assert_eq!(basic_header("", ""), "Basic Og==");
        assert_eq!(basic_header("a", "b:c"), format!("Basic {}", STANDARD.encode("a:b:c")));
    }

    #[test]
    fn decode_auth_reports_padding_and_nuls() {
        let d = decode_auth("dXNlcjpwYXNz").unwrap();
        assert_eq!((d.username.as_str(), d.password.as_str(), d.missing_padding), ("user", "pass", false));
        let d = decode_auth("dXNlcjpw").unwrap();
        assert!(!d.missing_padding);
        let d = decode_auth("dXNlcjpwYQ").unwrap();
        assert_eq!((d.password.as_str(), d.missing_padding), ("pa", true));
        let d = decode_auth("dXNlcjpwYQ==").unwrap();
        assert!(!d.missing_padding);
        let d = decode_auth(&STANDARD.encode("u:p\0")).unwrap();
        assert!(d.trimmed_nuls);
        assert_eq!(d.password, "p");
    }

    #[test]
    fn describe_names_no_secret() {
        assert_eq!(Credential::Anonymous.describe(), "anonymous access");
        assert!(!basic("alice", "pw").describe().contains("pw"));
        assert!(!Credential::RegistryToken("secret-value".into()).describe().contains("secret-value"));
    }
}
