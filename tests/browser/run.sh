#!/usr/bin/env bash
# Runs the browser tests in headless Chromium with the test bed's addresses baked in.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
state="$(python3 tests/testbed/testbed.py up | tail -n 1)"
export IMAGESCOPE_TEST_CORS_REGISTRY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registries"]["anon"]["cors"])' "$state")"
export IMAGESCOPE_TEST_NOCORS_REGISTRY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registries"]["basic"]["nocors"])' "$state")"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
# The runner's cross-origin isolation would hide the registries' answers from the page.
export WASM_BINDGEN_TEST_NO_ORIGIN_ISOLATION=1
cargo test --target wasm32-unknown-unknown -p imagescope-web "$@"
