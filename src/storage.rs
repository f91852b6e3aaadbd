//! The only places the app keeps anything: credentials in this tab's sessionStorage when the
//! person asks for it, and the theme choice (not a secret) in localStorage.

use crate::credentials::CredentialForm;
use crate::state::Theme;
use web_sys::Storage;

const CREDENTIALS_KEY: &str = "imagescope.credentials";
const THEME_KEY: &str = "imagescope.theme";

fn session() -> Option<Storage> {
    web_sys::window()?.session_storage().ok()?
}

fn local() -> Option<Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn load_credentials() -> Option<CredentialForm> {
    let text = session()?.get_item(CREDENTIALS_KEY).ok()??;
    // As bytes, like every other JSON read: the web app then links one JSON reader, not two.
    serde_json::from_slice(text.as_bytes()).ok()
}

/// Stores the form only while "remember in this tab" is ticked; unticking forgets it at once.
pub fn store_credentials(form: &CredentialForm, remember: bool) {
    let Some(storage) = session() else { return };
    if remember {
        if let Ok(text) = serde_json::to_string(&form.effective()) {
            let _ = storage.set_item(CREDENTIALS_KEY, &text);
        }
    } else {
        let _ = storage.remove_item(CREDENTIALS_KEY);
    }
}

pub fn load_theme() -> Theme {
    local()
        .and_then(|s| s.get_item(THEME_KEY).ok().flatten())
        .map_or(Theme::System, |v| Theme::from_attr(&v))
}

pub fn store_theme(theme: Theme) {
    let Some(storage) = local() else { return };
    let _ = match theme.as_attr() {
        Some(value) => storage.set_item(THEME_KEY, value),
        None => storage.remove_item(THEME_KEY),
    };
}
