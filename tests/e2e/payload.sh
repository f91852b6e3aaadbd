#!/usr/bin/env bash
# Prints the gzip size of what a browser downloads to start the app (html, js, wasm, css)
# against the budget. A size target is a benchmark figure, not a test: it fails only with
# PAYLOAD_STRICT=1, so a run by hand can gate on it while the test command reports it.
set -euo pipefail
dist="${1:-$(dirname "$0")/../../dist}"
budget_kb="${PAYLOAD_BUDGET_KB:-250}"
[ -d "$dist" ] || { echo "payload: no $dist; build first (tests/e2e/build.sh)" >&2; exit 1; }
total=0
printf '%-48s %10s %10s\n' file bytes gzip
while IFS= read -r -d '' f; do
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  total=$((total + gz))
  printf '%-48s %10d %10d\n' "${f#"$dist"/}" "$raw" "$gz"
done < <(find "$dist" -maxdepth 1 -type f \( -name '*.html' -o -name '*.js' -o -name '*.wasm' -o -name '*.css' \) -print0 | sort -z)
kb=$(( (total + 1023) / 1024 ))
printf 'total gzip: %d bytes (%d KB; budget %d KB)\n' "$total" "$kb" "$budget_kb"
if [ "$total" -gt $((budget_kb * 1024)) ]; then
  echo "payload: OVER BUDGET by $((total - budget_kb * 1024)) bytes" >&2
  if [ "${PAYLOAD_STRICT:-0}" = 1 ]; then exit 1; fi
else
  echo "payload: within budget"
fi
