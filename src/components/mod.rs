//! The page's components. Containers read the shared state from context and dispatch actions;
//! leaves take plain props, so they can be rendered and tested on their own.

mod activity;
mod annotations;
mod config;
mod copy;
mod credentials;
mod error;
mod files;
mod header;
mod layers;
mod listings;
mod manifest;
mod platforms;
mod pull;
mod raw;
mod reference;
mod results;
mod status;
mod store;

pub use activity::{ActivityLog, LogLine};
pub use annotations::Annotations;
pub use config::{ConfigCard, HistoryCard, InspectedProps};
pub use copy::CopyButton;
pub use credentials::{CredentialsPanel, PasteReportView};
pub use error::{CorsDiagnosisView, CorsProps, ErrorProps, ErrorView};
pub use files::{open_files, FilesPanel};
pub use header::Header;
pub use layers::{LayerProps, LayerTable};
pub use listings::{ReferrersCard, TagsCard};
pub use manifest::ManifestCard;
pub use platforms::PlatformList;
pub use pull::PullPanel;
pub use raw::{RawDocument, RawJson};
pub use reference::{PreviewProps, ReferenceForm, ReferencePreview};
pub use results::Results;
pub use status::{StatusCard, StatusProps};
pub use store::StorePanel;

use crate::hooks::StateHandle;
use yew::prelude::*;

/// The shared state; every container sits under the provider in `App`.
#[hook]
pub fn use_app_state() -> StateHandle {
    use_context::<StateHandle>().expect("components are rendered inside App's state provider")
}
