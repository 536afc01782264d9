#!/usr/bin/env bash
# Installs what building, running and testing BitNet Desktop needs on a
# Debian/Ubuntu machine: system packages, the wails CLI, npm packages.
#   scripts/setup.sh          the amd64 build, the app and the tests
#   scripts/setup.sh arm64    also the linux/arm64 cross build: Debian's aarch64
#                             toolchain, qemu-user, and the arm64 multiarch
#                             libraries (libc for dpkg-shlibdeps and qemu; GTK 3
#                             and WebKitGTK 4.1 for the app)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# installed PKG...: the packages of PKG... that are not installed (NAME or
# NAME:ARCH), one a line.
installed_missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"
  done
}

PKGS=(build-essential pkg-config libgtk-3-dev libwebkit2gtk-4.1-dev xvfb xauth xfonts-base
      xdotool x11-utils imagemagick chromium fonts-noto-color-emoji nodejs npm dpkg-dev tmux)
missing=($(installed_missing "${PKGS[@]}"))
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

if [ "${1:-}" = arm64 ]; then
  # The cross toolchain and qemu come from the native architecture; the
  # libraries the arm64 binaries link and run with are arm64 packages
  # (multiarch). Debian 12 cannot install libsoup-3.0-dev:arm64 and
  # libwebkit2gtk-4.1-dev:arm64 next to the amd64 ones (their GObject
  # introspection dependencies need python3:arm64): the runtime libraries
  # are installed instead, with the amd64 -dev packages' headers (the same
  # files: Multi-Arch: same) and two .pc files scripts/package.sh writes.
  ARM_PKGS=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user file
            libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64
            libgtk-3-dev:arm64 libjavascriptcoregtk-4.1-dev:arm64
            libwebkit2gtk-4.1-0:arm64 libsoup-3.0-0:arm64)
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "setup: adding the arm64 architecture to dpkg (multiarch)"
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -qq
  fi
  missing=($(installed_missing "${ARM_PKGS[@]}"))
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    # The arm64 libraries must be the versions of their amd64 twins: a
    # stale package list would offer older ones.
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  echo "setup: arm64 cross build ready"
fi
