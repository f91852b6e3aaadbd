#!/usr/bin/env bash
# Builds the app and serves it, with the local demo registries and sample images loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"
export IMAGESCOPE_TESTBED_DIR="${IMAGESCOPE_TESTBED_DIR:-/tmp/imagescope-demo}"
PORT="${PORT:-8080}"

trunk build --release --offline
cargo build --release -q -p imagescope

cleanup() { python3 tests/testbed/testbed.py down >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
python3 tests/testbed/testbed.py up --app-dir "$ROOT/dist" >/dev/null
python3 - "$IMAGESCOPE_TESTBED_DIR/state.json" "$PORT" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
port = sys.argv[2]
r = state["registries"]
print(f"\nimagescope is at http://127.0.0.1:{port}/ (with the registry proxy at /proxy/)")
if state.get("app_origin"):
    print(f"the same app, served cross-origin by nginx: {state['app_origin']}/")
print("\ndemo registries (try these references in the app):")
print(f"  anonymous:  {r['anon']['cors']}/public/hello:1.0   {r['anon']['cors']}/public/multi:v1")
print(f"  Basic auth: {r['basic']['cors']}/private/secret:1.0   user {state['users']['basic']['username']} / {state['users']['basic']['password']}")
print(f"  token auth: {r['token']['cors']}/private/secret:1.0   user {state['users']['token']['username']} / {state['users']['token']['password']}")
print(f"  no CORS headers (shows the diagnosis): {r['basic']['nocors']}/public/hello:1.0")
print("\nCtrl-C stops everything.\n")
PY
# The demo registries live on loopback, which the proxy refuses to reach unless told.
target/release/imagescope serve --listen "127.0.0.1:$PORT" --dist dist --allow-loopback
