//! The registry protocol core of imagescope.
//!
//! Pure functions over bytes and small state machines: no clock, no network, no browser.
//! I/O reaches this crate through [`transport::Transport`], so the browser app and the
//! native command share every line of protocol logic.

pub mod auth;
pub mod client;
pub mod digest;
pub mod error;
pub mod export;
pub mod layers;
pub mod manifest;
pub mod media_type;
pub mod platform;
pub mod pull;
pub mod reference;
pub mod registry_error;
pub mod status;
pub mod store;
pub mod tags;
#[cfg(test)]
mod testing;
pub mod transport;
pub mod url;
