#![no_main]
//! Manifest bodies come straight from registries: parsing must never panic, and whatever
//! parses must name itself by a digest that a second parse of the same bytes agrees with.

use imagescope_core::manifest::{parse_config, parse_manifest, ManifestExpectations};
use imagescope_core::media_type::MANIFEST_ACCEPT;
use imagescope_core::registry_error::RegistryError;
use imagescope_core::tags;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (selector, body) = data.split_first().map_or((0, data), |(s, rest)| (*s, rest));
    let content_type = MANIFEST_ACCEPT.get(selector as usize % (MANIFEST_ACCEPT.len() + 1)).copied();
    let expect = ManifestExpectations { content_type, image_name: "fuzz", ..Default::default() };
    if let Ok(first) = parse_manifest(body, &expect) {
        let again = ManifestExpectations { requested_digest: Some(&first.digest), ..expect.clone() };
        let second = parse_manifest(body, &again).expect("a manifest that parsed once parses by its own digest");
        assert_eq!(first.digest, second.digest);
        if let imagescope_core::manifest::Manifest::Index(index) = &first.manifest {
            let _ = index.select(&imagescope_core::platform::Platform::default_linux_amd64());
        }
    }
    let _ = parse_config(body);
    let _ = tags::parse_page(body);
    let e = RegistryError::from_response("GET", "u", 400 + u16::from(selector % 100), &[], body, 0);
    let _ = (e.to_string(), e.explanation(), e.code());
});
