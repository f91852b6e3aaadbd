#!/usr/bin/env bash
# Builds the app into dist/ the way it ships (release, offline, wasm-opt -Oz) and reports its payload.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export PATH="$root/tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
command -v wasm-opt >/dev/null || { echo "build: wasm-opt missing; run scripts/setup.sh" >&2; exit 1; }
trunk build --release --offline
"$root/tests/e2e/payload.sh" "$root/dist"
