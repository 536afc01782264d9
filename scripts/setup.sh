#!/usr/bin/env bash
# Installs what building, running and testing BitNet Desktop needs on a
# Debian/Ubuntu machine: system packages, the wails CLI, npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
PKGS=(build-essential pkg-config libgtk-3-dev libwebkit2gtk-4.1-dev xvfb xauth xfonts-base
      xdotool x11-utils imagemagick chromium fonts-noto-color-emoji nodejs npm dpkg-dev tmux)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Node from the machine (e.g. a newer one in /usr/local) counts.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null; then
  echo "setup: Go 1.26 or newer is needed (https://go.dev/dl/)" >&2
  exit 1
fi
if ! command -v wails >/dev/null || ! wails version 2>/dev/null | grep -q "${WAILS_VERSION}"; then
  echo "setup: installing the wails CLI ${WAILS_VERSION}"
  go install "github.com/wailsapp/wails/v2/cmd/wails@${WAILS_VERSION}"
fi

if [ ! -d frontend/node_modules ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup: done"
