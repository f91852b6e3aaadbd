//! Any bytes as a pasted docker config.json or Kubernetes Secret: parsing and the lookups
//! that follow must return, never panic.

#![no_main]

use imagescope_core::auth::docker_config::DockerConfig;
use imagescope_core::auth::kube_secret::{parse_secrets, Keyring};
use libfuzzer_sys::fuzz_target;

const HOSTS: [&str; 4] = ["docker.io", "registry.example.com:5000", "a.example.com", "[::1]:5000"];
const IMAGES: [&str; 3] = ["docker.io/library/busybox", "registry.example.com:5000/team/app", "a.example.com/x"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = DockerConfig::parse(text) {
        for host in HOSTS {
            if let Some(auth_config) = config.lookup_host(host).auth_config {
                let _ = auth_config.resolve(host);
            }
        }
    }
    if let Ok(parsed) = parse_secrets(text) {
        let keyring = Keyring::new(&parsed.secrets);
        for image in IMAGES {
            let _ = keyring.lookup_image(image);
        }
    }
});
