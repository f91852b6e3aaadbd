#!/usr/bin/env bash
# Runs every test of imagescope: native unit and table tests, the command against the real
# registry test bed, fuzz smoke runs, the wasm build and the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"
export CHROMEDRIVER=/usr/bin/chromedriver
export IMAGESCOPE_BIN="$ROOT/target/debug/imagescope"
export IMAGESCOPE_TESTBED_DIR="${IMAGESCOPE_TESTBED_DIR:-/tmp/imagescope-testbed-$$}"
mkdir -p test-output

step() { printf '\n== %s\n' "$*"; }
cleanup() { python3 tests/testbed/testbed.py down >/dev/null 2>&1 || true; }
trap cleanup EXIT

step "layer boundary: the core crate depends on nothing from the browser"
if cargo tree -p imagescope-core -e normal --target all --prefix none | grep -E '^(web-sys|js-sys|wasm-bindgen) '; then
  echo "imagescope-core must not depend on browser crates" >&2
  exit 1
fi
echo "ok: no web-sys, js-sys or wasm-bindgen under imagescope-core"

step "the core builds for wasm32-unknown-unknown"
cargo build -q -p imagescope-core --target wasm32-unknown-unknown

step "registry test bed"
python3 tests/testbed/testbed.py up --with-large
python3 tests/testbed/testbed.py check

step "native tests (core tables and properties, command against the test bed)"
cargo build -q -p imagescope
cargo test --workspace --exclude imagescope-web
# The web crate's pure modules (routes, formatting, worker messages) test natively too.
cargo test -p imagescope-web --lib

step "fuzz smoke runs"
bash scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-15}"

step "browser app: release build and payload budget"
bash tests/e2e/build.sh

step "browser tests in headless Chromium (wasm-bindgen-test)"
bash tests/browser/run.sh

step "end-to-end: the built app served by nginx, driven in headless Chromium"
node --test --test-reporter=spec tests/e2e/
echo "screenshots: $ROOT/test-output/screenshots/"

step "pull benchmark, smoke run (figures only; the full run is: node tests/e2e/bench.mjs)"
node tests/e2e/bench.mjs --smoke

step "file-listing benchmark, smoke run (figures only; the full run is: node tests/e2e/files-bench.mjs)"
node tests/e2e/files-bench.mjs --smoke

step "all tests passed"
