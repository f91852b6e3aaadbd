//! The error of a registry operation: what went wrong, with the registry's status and codes kept.

use crate::auth::challenge::ChallengeError;
use crate::auth::credentials::CredentialsError;
use crate::auth::token::AuthError;
use crate::digest::{Digest, VerifyError};
use crate::manifest::{ConfigError, ManifestError, NoMatchingPlatform};
use crate::platform::PlatformError;
use crate::reference::ReferenceError;
use crate::registry_error::RegistryError;
use crate::tags::TagsError;
use crate::transport::TransportError;
use crate::url::UrlError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("{0}")]
    Registry(Box<RegistryError>),
    #[error("{} answered 401 Unauthorized without a readable WWW-Authenticate header, so there is no way to log in; if this is a browser, the registry must list WWW-Authenticate in Access-Control-Expose-Headers", .0.url)]
    ChallengeMissing(Box<RegistryError>),
    #[error("malformed WWW-Authenticate header from {url}: {source}")]
    Challenge { url: String, source: ChallengeError },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("blob {digest}: {source}")]
    Blob { digest: Digest, source: VerifyError },
    #[error("blob {digest} is {size} bytes, more than the {limit} bytes allowed for it here")]
    BlobTooLarge { digest: Digest, size: u64, limit: u64 },
    #[error(transparent)]
    NoPlatform(#[from] NoMatchingPlatform),
    #[error(transparent)]
    Tags(#[from] TagsError),
    #[error("invalid registry URL: {0}")]
    Url(#[from] UrlError),
    #[error("{what} from {url} is not what was expected: {reason}")]
    Unexpected { what: &'static str, url: String, reason: String },
}

impl From<RegistryError> for Error {
    fn from(e: RegistryError) -> Error {
        Error::Registry(Box::new(e))
    }
}

impl Error {
    /// A stable word for the kind of failure (the page's `data-kind`, the command's JSON).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Reference(_) => "reference",
            Error::Platform(_) => "platform",
            Error::Credentials(_) => "credentials",
            Error::Registry(_) => "registry",
            Error::ChallengeMissing(_) | Error::Challenge { .. } | Error::Auth(_) => "auth",
            Error::Transport(TransportError::Blocked { .. }) => "cors",
            Error::Transport(_) => "network",
            Error::Manifest(_) | Error::Config(_) | Error::Unexpected { .. } => "manifest",
            Error::Blob { .. } | Error::BlobTooLarge { .. } => "blob",
            Error::NoPlatform(_) => "platform",
            Error::Tags(_) => "tags",
            Error::Url(_) => "reference",
        }
    }

    /// The registry's error code (`MANIFEST_UNKNOWN`, `UNAUTHORIZED`, …) when there is one.
    pub fn code(&self) -> Option<String> {
        match self {
            Error::Registry(e) | Error::ChallengeMissing(e) => e.code(),
            _ => None,
        }
    }

    pub fn registry_error(&self) -> Option<&RegistryError> {
        match self {
            Error::Registry(e) | Error::ChallengeMissing(e) => Some(e),
            _ => None,
        }
    }

    /// The image is not there: CRI's ImageStatus reports that as an empty image, not a failure.
    pub fn is_absent(&self) -> bool {
        matches!(self, Error::Registry(e) if e.status == 404 && (e.has_code("MANIFEST_UNKNOWN") || e.has_code("NAME_UNKNOWN")))
    }
}
