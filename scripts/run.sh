#!/usr/bin/env bash
# Sets up (if needed), builds and starts BitNet Desktop.
#   scripts/run.sh          build the production binary and start it
#   scripts/run.sh dev      start `wails dev` (live reload; browser at http://localhost:34115)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
if [ "${1:-}" = dev ]; then
  exec wails dev -m
fi
bash scripts/build.sh
exec ./build/bin/bitnet-desktop
