//! Any UTF-8 string as a `WWW-Authenticate` header: parsing must return, never panic, and
//! what parses has lowercased schemes and keys.

#![no_main]

use imagescope_core::auth::challenge::{parse_all, parse_www_authenticate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|header: &str| {
    if let Ok(challenges) = parse_www_authenticate(header) {
        assert!(!challenges.is_empty(), "a parsed header holds a challenge: {header:?}");
        for challenge in &challenges {
            assert_eq!(challenge.scheme(), challenge.scheme().to_ascii_lowercase());
            assert!(challenge.params().iter().all(|(k, _)| *k == k.to_ascii_lowercase()));
            let _ = (challenge.realm(), challenge.service(), challenge.scope(), challenge.error(), challenge.token68());
        }
    }
    let lines: Vec<&str> = header.split('\n').collect();
    let _ = parse_all(&lines);
});
