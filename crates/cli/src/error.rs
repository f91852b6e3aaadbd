//! The command's failures: what it was given that cannot be used, or the core's error.

use imagescope_core::error::Error;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A flag combination, a file or standard input that cannot be used as given.
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Core(#[from] Error),
}

impl CliError {
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Input(_) => "usage",
            CliError::Core(e) => e.kind(),
        }
    }

    pub fn code(&self) -> Option<String> {
        match self {
            CliError::Input(_) => None,
            CliError::Core(e) => e.code(),
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            CliError::Input(_) => None,
            CliError::Core(e) => e.registry_error().map(|r| r.status),
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, CliError::Core(e) if e.is_absent())
    }
}
