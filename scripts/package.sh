#!/usr/bin/env bash
# Builds the installers into dist/:
#   dist/bitnet-desktop_<version>_amd64.deb                  Linux (dpkg-deb)
#   dist/bitnet-desktop_<version>_windows_amd64-setup.exe    Windows (wails -nsis, MinGW-w64 cgo)
#   dist/bitnet_<version>_windows_amd64.exe                  the CLI for Windows
#
#   scripts/package.sh [all]    both (exits 0 when the .deb is built, even if the
#                               Windows build fails: then dist/WINDOWS-BLOCKER.txt says why)
#   scripts/package.sh deb      only the .deb
#   scripts/package.sh windows  only the Windows installer (installs MinGW-w64 and NSIS with apt)
#
# The version comes from git tags (scripts/version.sh; VERSION=... overrides it)
# and is compiled into both binaries (--version, the app's Settings > About).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHAT="${1:-all}"
case "$WHAT" in all | deb | windows) ;; *)
  echo "usage: scripts/package.sh [all|deb|windows]" >&2
  exit 2
  ;;
esac

bash scripts/setup.sh
source scripts/env.sh

VERSION=$(bash scripts/version.sh)
WINVER=$(bash scripts/version.sh --numeric)
export VERSION
LDFLAGS="-X main.version=${VERSION}"
DIST="$ROOT/dist"
mkdir -p "$DIST"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

log() { printf '== %s\n' "$*"; }
FRONTEND_BUILT=0

# ---------------------------------------------------------------- Linux .deb
build_deb() {
  local start=$SECONDS
  local deb="$DIST/bitnet-desktop_${VERSION}_amd64.deb"
  local work="$WORK/deb"
  local pkg="$work/pkg"
  mkdir -p "$work"

  log "deb: building the app and the CLI (${VERSION})"
  # -skipbindings: frontend/wailsjs is committed (wails generate module); generating
  # it again only reorders its imports.
  # -o: a name of its own in build/bin, so that another build writing
  # build/bin/bitnet-desktop at the same time cannot end up in the package.
  wails build -m -skipbindings -o bitnet-desktop-package -ldflags "$LDFLAGS" >"$work/wails.log" 2>&1 || {
    tail -n 40 "$work/wails.log" >&2
    return 1
  }
  FRONTEND_BUILT=1
  install -Dm755 build/bin/bitnet-desktop-package "$pkg/usr/bin/bitnet-desktop"
  rm -f build/bin/bitnet-desktop-package
  go build -ldflags "$LDFLAGS -s -w" -o "$pkg/usr/bin/bitnet" ./cmd/bitnet
  # Both print their version without a display.
  local b
  for b in bitnet-desktop bitnet; do
    if [ "$("$pkg/usr/bin/$b" --version)" != "$b $VERSION" ]; then
      echo "deb: $b --version prints '$("$pkg/usr/bin/$b" --version)', not '$b $VERSION'" >&2
      return 1
    fi
  done
  install -Dm644 build/linux/bitnet-desktop.desktop "$pkg/usr/share/applications/bitnet-desktop.desktop"
  local size
  for size in 256 512; do
    install -d "$pkg/usr/share/icons/hicolor/${size}x${size}/apps"
    convert build/appicon.png -resize "${size}x${size}" -strip \
      "PNG32:$pkg/usr/share/icons/hicolor/${size}x${size}/apps/bitnet-desktop.png"
  done

  # Depends: computed from the binaries' shared libraries by dpkg-shlibdeps
  # (it wants a debian/control next to it), with the two runtime libraries
  # named explicitly in case it is unavailable.
  local depends=""
  if command -v dpkg-shlibdeps >/dev/null; then
    mkdir -p "$work/src/debian"
    printf 'Source: bitnet-desktop\n\nPackage: bitnet-desktop\nArchitecture: amd64\n' >"$work/src/debian/control"
    depends=$(cd "$work/src" && dpkg-shlibdeps -O -e"$pkg/usr/bin/bitnet-desktop" -e"$pkg/usr/bin/bitnet" 2>"$work/shlibdeps.log" |
      sed -n 's/^shlibs:Depends=//p') || true
    [ -n "$depends" ] || { echo "deb: dpkg-shlibdeps failed:" >&2; cat "$work/shlibdeps.log" >&2; }
  fi
  if [ -z "$depends" ]; then
    depends="libc6, libgtk-3-0, libwebkit2gtk-4.1-0"
  fi
  grep -q 'libgtk-3-0' <<<"$depends" || depends="$depends, libgtk-3-0"
  grep -q 'libwebkit2gtk-4.1-0' <<<"$depends" || depends="$depends, libwebkit2gtk-4.1-0"

  install -d "$pkg/DEBIAN"
  cat >"$pkg/DEBIAN/control" <<EOF
Package: bitnet-desktop
Version: ${VERSION}
Section: utils
Priority: optional
Architecture: amd64
Maintainer: ${DEB_MAINTAINER:-BitNet Desktop contributors <bitnet-desktop@users.noreply.github.com>}
Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
Depends: ${depends}
Description: Chat with BitNet b1.58 2B4T locally on the CPU
 BitNet Desktop runs Microsoft's BitNet b1.58 2B4T (ternary weights) on
 the CPU, with no account and no network once the model is downloaded.
 It contains the desktop app (bitnet-desktop), a command-line tool
 (bitnet: chat, generate, serve an OpenAI-compatible local API) and the
 engine built on ggml's CPU kernels. Needs an x86-64-v3 CPU (AVX2, FMA).
EOF
  rm -f "$DIST"/bitnet-desktop_*_amd64.deb
  dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
  log "deb: $deb ($(du -h "$deb" | cut -f1), $((SECONDS - start))s)"
  echo "   Depends: $depends"
}

# target_tree NAME: a copy of the working tree's tracked files (and the
# built front end) in $WORK/NAME, for a build that needs files of its own
# (wails.json). Prints the path.
target_tree() {
  local dir="$WORK/$1"
  mkdir -p "$dir"
  git ls-files -z | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$dir"
  mkdir -p "$dir/frontend/dist"
  cp -a frontend/dist/. "$dir/frontend/dist/"
  echo "$dir"
}

# ------------------------------------------------------------ Windows (NSIS)
WIN_CC=x86_64-w64-mingw32-gcc-posix
WIN_CXX=x86_64-w64-mingw32-g++-posix

install_windows_tools() {
  local missing=()
  command -v "$WIN_CXX" >/dev/null || missing+=(g++-mingw-w64-x86-64-posix)
  command -v makensis >/dev/null || missing+=(nsis)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "windows: installing ${missing[*]}"
  $SUDO apt-get update -qq || echo "windows: apt-get update failed; installing from the current package lists" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The cgo flags of a Windows build: the same AVX2 flags as Linux, plus
# -Wa,-muse-unaligned-vector-move: GCC cannot align the stack to 32 bytes on
# Win64 (GCC bug 54412), so AVX spills with aligned moves (vmovaps) would crash
# at random; the assembler turns them into unaligned moves (same speed).
win_env() {
  env CC="$WIN_CC" CXX="$WIN_CXX" CGO_ENABLED=1 GOOS=windows GOARCH=amd64 \
    CGO_CFLAGS="$CGO_CFLAGS -Wa,-muse-unaligned-vector-move" \
    CGO_CXXFLAGS="$CGO_CXXFLAGS -Wa,-muse-unaligned-vector-move" \
    "$@"
}

build_windows() {
  local start=$SECONDS
  install_windows_tools || { echo "apt-get install g++-mingw-w64-x86-64-posix nsis failed" >"$DIST/windows-build.log"; windows_blocker "$DIST/windows-build.log"; return 1; }
  local log="$DIST/windows-build.log"
  local setup="$DIST/bitnet-desktop_${VERSION}_windows_amd64-setup.exe"
  local cli="$DIST/bitnet_${VERSION}_windows_amd64.exe"
  rm -f "$DIST"/*windows_amd64* "$DIST/WINDOWS-BLOCKER.txt"
  rm -f build/bin/bitnet-desktop-package.exe build/bin/bitnet-desktop-amd64-installer.exe

  # The Windows file and installer versions must be numeric (N.N.N): wails
  # reads them only from wails.json's productVersion. The build runs in a
  # copy of the tree whose wails.json says so; the tracked one is never
  # edited. -trimpath makes the copy's paths irrelevant to Go's build cache.
  if [ "$FRONTEND_BUILT" = 0 ]; then
    (cd frontend && npm run build) >"$log" 2>&1 || { windows_blocker "$log"; return 1; }
  fi
  local tree
  tree=$(target_tree windows)
  sed -i "s/\"productVersion\": *\"[^\"]*\"/\"productVersion\": \"${WINVER}\"/" "$tree/wails.json"

  log "windows: cross-compiling with $WIN_CXX (${VERSION}; log: $log)"
  local ok=1
  # -skipbindings: frontend/wailsjs is committed; generating it would build the app for Linux.
  # -s: the front end is built already (copied into the tree).
  # -o: a name no other build writes (the installer installs it as bitnet-desktop.exe).
  (cd "$tree" && win_env wails build -platform windows/amd64 -nsis -m -trimpath -skipbindings -s \
    -o bitnet-desktop-package.exe -ldflags "$LDFLAGS") >>"$log" 2>&1 || ok=0
  if [ $ok = 1 ]; then
    win_env go build -trimpath -ldflags "$LDFLAGS -s -w" -o "$cli" ./cmd/bitnet >>"$log" 2>&1 || ok=0
  fi
  mkdir -p build/bin
  cp -f "$tree"/build/bin/bitnet-desktop-package.exe "$tree"/build/bin/bitnet-desktop-amd64-installer.exe build/bin/ 2>/dev/null || true

  local installer=build/bin/bitnet-desktop-amd64-installer.exe app=build/bin/bitnet-desktop-package.exe
  if [ $ok = 1 ] && [ ! -s "$installer" ]; then
    echo "wails build exited 0 but wrote no installer (makensis missing?)" >>"$log"
    ok=0
  fi
  if [ $ok = 0 ]; then
    windows_blocker "$log"
    return 1
  fi
  cp "$installer" "$setup"
  local app_type setup_type cli_type
  app_type=$(file -b "$app")
  setup_type=$(file -b "$setup")
  cli_type=$(file -b "$cli")
  echo "   $app (bitnet-desktop.exe in the installer): $app_type"
  echo "   $(basename "$setup"): $setup_type"
  echo "   $(basename "$cli"): $cli_type"
  if ! grep -q 'PE32+ executable.*x86-64' <<<"$app_type" || ! grep -q 'PE32+ executable.*x86-64' <<<"$cli_type" ||
    ! grep -qi 'Nullsoft' <<<"$setup_type"; then
    echo "windows: unexpected file types" >&2
    return 1
  fi
  if ! grep -qaF "$VERSION" "$app" || ! grep -qaF "$VERSION" "$cli"; then
    echo "windows: the binaries do not carry version $VERSION" >&2
    return 1
  fi
  log "windows: $setup ($(du -h "$setup" | cut -f1), $((SECONDS - start))s)"
}

# windows_blocker LOG: writes the first compiler/linker errors to
# dist/WINDOWS-BLOCKER.txt and prints them.
windows_blocker() {
  local f="$DIST/WINDOWS-BLOCKER.txt"
  {
    echo "The Windows amd64 build (wails build -platform windows/amd64 -nsis, cgo with $WIN_CXX,"
    echo "CGO_CFLAGS=\"$CGO_CFLAGS -Wa,-muse-unaligned-vector-move\") failed; no Windows installer was built."
    echo "Version: $VERSION. Full log: dist/windows-build.log"
    echo
    echo "First errors:"
    grep -E '(error|Error|undefined reference|cannot find|fatal)' "$1" | head -n 30 || tail -n 30 "$1"
  } >"$f"
  echo "windows: FAILED, blocker written to $f:" >&2
  sed 's/^/   /' "$f" >&2
}

# build_deb runs under set -e: any failure stops the script (exit 1).
if [ "$WHAT" = all ] || [ "$WHAT" = deb ]; then
  build_deb
fi
win_ok=1
if [ "$WHAT" = all ] || [ "$WHAT" = windows ]; then
  set +e
  build_windows
  win_ok=$?
  set -e
  [ $win_ok = 0 ] && win_ok=1 || win_ok=0
fi
echo
ls -l "$DIST" | sed 1d
[ $win_ok = 1 ] || [ "$WHAT" = all ] || exit 1
[ $win_ok = 1 ] || echo "package: the .deb is built; the Windows build failed (see dist/WINDOWS-BLOCKER.txt)"
exit 0
