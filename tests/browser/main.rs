//! Browser tests in headless Chromium: the fetch transport against the test bed's CORS
//! front, the reducer, the Files view's state, and components that need no storage.
//!
//! `tests/browser/run.sh` starts the test bed and bakes its addresses into the build:
//! `IMAGESCOPE_TEST_CORS_REGISTRY` (anonymous registry behind CORS nginx) and
//! `IMAGESCOPE_TEST_NOCORS_REGISTRY` (a registry front without CORS headers), both `host:port`.
#![cfg(target_arch = "wasm32")]

mod components;
mod files;
mod reducer;
mod transport;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
