//! Registry authentication: challenges, credentials and the token flow.

pub mod challenge;
pub mod credentials;
pub mod docker_config;
pub mod kube_secret;
pub mod token;
