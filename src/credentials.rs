//! The credentials panel's model: what the person typed or pasted. Turning it into the
//! core's credentials (and matching pasted files against a reference) happens in `login`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CredentialKind {
    #[default]
    Anonymous,
    Password,
    /// The `auth` field of a docker `config.json`: base64 of `user:password`.
    AuthString,
    IdentityToken,
    RegistryToken,
    /// A pasted docker `config.json` or Kubernetes Secret.
    Paste,
}

impl CredentialKind {
    pub const ALL: [CredentialKind; 6] = [
        CredentialKind::Anonymous,
        CredentialKind::Password,
        CredentialKind::AuthString,
        CredentialKind::IdentityToken,
        CredentialKind::RegistryToken,
        CredentialKind::Paste,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CredentialKind::Anonymous => "None",
            CredentialKind::Password => "Username + password",
            CredentialKind::AuthString => "auth string",
            CredentialKind::IdentityToken => "Identity token",
            CredentialKind::RegistryToken => "Registry token",
            CredentialKind::Paste => "Paste config.json / Secret",
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            CredentialKind::Anonymous => "none",
            CredentialKind::Password => "password",
            CredentialKind::AuthString => "auth",
            CredentialKind::IdentityToken => "identity-token",
            CredentialKind::RegistryToken => "registry-token",
            CredentialKind::Paste => "paste",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Username,
    Password,
    Auth,
    IdentityToken,
    RegistryToken,
    Paste,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CredentialForm {
    pub kind: CredentialKind,
    pub username: String,
    pub password: String,
    pub auth: String,
    pub identity_token: String,
    pub registry_token: String,
    pub paste: String,
}

impl CredentialForm {
    pub fn set(&mut self, field: Field, value: String) {
        match field {
            Field::Username => self.username = value,
            Field::Password => self.password = value,
            Field::Auth => self.auth = value,
            Field::IdentityToken => self.identity_token = value,
            Field::RegistryToken => self.registry_token = value,
            Field::Paste => self.paste = value,
        }
    }

    /// Only the fields the chosen kind uses, so a stale password never rides along.
    pub fn effective(&self) -> CredentialForm {
        let mut out = CredentialForm {
            kind: self.kind,
            ..Default::default()
        };
        match self.kind {
            CredentialKind::Anonymous => {}
            CredentialKind::Password => {
                out.username = self.username.clone();
                out.password = self.password.clone();
            }
            CredentialKind::AuthString => out.auth = self.auth.trim().to_string(),
            CredentialKind::IdentityToken => {
                out.username = self.username.clone();
                out.identity_token = self.identity_token.trim().to_string();
            }
            CredentialKind::RegistryToken => {
                out.registry_token = self.registry_token.trim().to_string()
            }
            CredentialKind::Paste => out.paste = self.paste.clone(),
        }
        out
    }
}
