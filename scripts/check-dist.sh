#!/usr/bin/env bash
# Fails when the committed dist/ is not what a fresh build of src/ produces: the runner executes
# dist/, so a stale bundle would ship code that no test and no review has seen.
set -euo pipefail
cd "$(dirname "$0")/.."
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
npm run --silent build -- >/dev/null 2>&1 || { echo "check-dist: the build failed; run npm run build to see why." >&2; exit 1; }
# The build writes into dist/ itself; compare it with what git has committed.
if ! git diff --quiet --exit-code -- dist/ || [ -n "$(git ls-files --others --exclude-standard -- dist/)" ]; then
  echo "check-dist: dist/ differs from a fresh build of src/. Run 'npm run build' and commit dist/." >&2
  git --no-pager diff --stat -- dist/ >&2
  git ls-files --others --exclude-standard -- dist/ >&2
  exit 1
fi
echo "check-dist: dist/ equals a fresh build."
