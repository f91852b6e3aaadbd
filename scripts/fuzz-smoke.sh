#!/usr/bin/env bash
# A short run of every fuzz target: enough to catch a panic on common shapes of bad input.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-15}"
for target in reference challenge manifest credentials tar_listing; do
  echo "fuzz $target for ${seconds}s"
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 | tail -n 2
done
