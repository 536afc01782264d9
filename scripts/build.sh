#!/usr/bin/env bash
# Builds the desktop app (build/bin/bitnet-desktop) and the CLI (build/bin/bitnet).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
VERSION=$(bash scripts/version.sh)
LDFLAGS="-X main.version=${VERSION}"
wails build -m -ldflags "$LDFLAGS" >/dev/null
go build -ldflags "$LDFLAGS" -o build/bin/bitnet ./cmd/bitnet
echo "built build/bin/bitnet-desktop and build/bin/bitnet (${VERSION})"
