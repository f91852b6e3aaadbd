#!/usr/bin/env bash
# Installs what imagescope needs to build, serve and test, skipping whatever is already present.
# Safe to run again: every step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

DEBIAN_PACKAGES=(docker-registry nginx-light skopeo chromium chromium-driver apache2-utils
  openssl curl jq zstd umoci podman ca-certificates pkg-config)
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package starts a registry on :5000 as a service; the test bed runs its own instances.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  $SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
if [ -z "${IMAGESCOPE_KEEP_SYSTEM_SERVICES:-}" ]; then
  pkill -f '^/usr/bin/docker-registry serve /etc/docker/registry/config.yml' 2>/dev/null || true
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
if ! "$CARGO_BIN/trunk" --version 2>/dev/null | grep -q '0.21.14'; then
  log "building trunk 0.21.14 (about 20 minutes, once)"
  cargo install trunk --version 0.21.14 --locked
fi
if ! "$CARGO_BIN/wasm-bindgen" --version 2>/dev/null | grep -q '0.2.130'; then
  log "building wasm-bindgen-cli 0.2.130"
  # --locked fails here: its lockfile pins a webpki-roots the registry does not serve.
  cargo install wasm-bindgen-cli --version 0.2.130
fi

if ! rustup toolchain list | grep -q '^nightly'; then
  log "the nightly toolchain (for cargo fuzz) is missing; fuzz smoke runs need it" 
  exit 1
fi
if ! "$CARGO_BIN/cargo-fuzz" --version >/dev/null 2>&1; then
  log "building cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if [ ! -x tools/node_modules/.bin/wasm-opt ] || [ ! -d tools/node_modules/terser ]; then
  log "installing wasm-opt (binaryen 132) and terser from npm"
  mkdir -p tools
  (cd tools && npm install --no-audit --no-fund --silent)
fi
log "ready"
