//! imagescope in the browser: a Yew app over the protocol core, talking to registries with `fetch`.

pub mod app;
pub mod components;
pub mod cors;
pub mod credentials;
pub mod fetch;
pub mod files_state;
pub mod format;
pub mod hooks;
pub mod jobs;
pub mod login;
pub mod opfs;
pub mod pull_state;
pub mod route;
pub mod session;
pub mod state;
pub mod storage;
pub mod worker;
pub mod worker_client;

/// Mounts the app on `<body>`.
pub fn run() {
    yew::Renderer::<app::App>::new().render();
}
