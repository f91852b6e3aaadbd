//! Resolving an image with the credentials a runtime would try, shared by every command that
//! needs the image itself (inspect, pull, ls).

use crate::error::CliError;
use crate::http::{NativeTransport, SystemClock};
use crate::login::{Candidate, LoginArgs, Network};
use imagescope_core::client::{Client, Inspection};
use imagescope_core::error::Error;
use imagescope_core::platform::Platform;
use imagescope_core::reference::Reference;

pub type NativeClient = Client<NativeTransport, SystemClock>;

pub struct Resolved {
    pub inspection: Inspection,
    /// The client that succeeded, with its token cache warm for the blob requests that follow.
    pub client: NativeClient,
    pub candidate: Candidate,
}

/// Inspects `reference`, trying each matching credential in turn on UNAUTHORIZED/DENIED the way
/// kubelet tries each pull secret.
pub fn inspect(reference: &Reference, platform: Option<&str>, login: &LoginArgs, network: &Network) -> Result<Resolved, CliError> {
    let platform = platform.map(Platform::parse).transpose().map_err(Error::from)?.unwrap_or_else(Platform::default_linux_amd64);
    let candidates = login.candidates(reference)?;
    let endpoint = reference.endpoint(&network.hosts());
    let count = candidates.len();
    let mut last_error = None;
    for (n, candidate) in candidates.into_iter().enumerate() {
        let client = Client::new(NativeTransport::new(), SystemClock, &endpoint, candidate.credential.clone()).map_err(CliError::from)?;
        match pollster::block_on(client.inspect(reference, &platform)) {
            Ok(inspection) => return Ok(Resolved { inspection, client, candidate }),
            Err(e) if n + 1 < count && matches!(e.code().as_deref(), Some("UNAUTHORIZED" | "DENIED")) => {
                eprintln!("imagescope: {} was refused ({e}); trying the next matching credential", candidate.reason);
                last_error = Some(e.into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_error.expect("at least one candidate is always tried"))
}
