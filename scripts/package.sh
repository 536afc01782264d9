#!/usr/bin/env bash
# Builds the installers into dist/:
#   dist/bitnet-desktop_<version>_amd64.deb                  Linux (dpkg-deb)
#   dist/bitnet-desktop_<version>_windows_amd64-setup.exe    Windows (wails -nsis, MinGW-w64 cgo)
#   dist/bitnet_<version>_windows_amd64.exe                  the CLI for Windows
#   dist/bitnet-desktop_<version>_arm64.deb                  Linux arm64 (only with `arm64`)
#
#   scripts/package.sh [all]    both (exits 0 when the .deb is built, even if the
#                               Windows build fails: then dist/WINDOWS-BLOCKER.txt says why)
#   scripts/package.sh deb      only the .deb
#   scripts/package.sh windows  only the Windows installer (installs MinGW-w64 and NSIS with apt)
#   scripts/package.sh arm64    only the arm64 .deb: the app and the CLI cross-compiled with
#                               Debian's aarch64 toolchain for ARMv8-A (scripts/env-arm64.sh;
#                               installs the toolchain, qemu-user and arm64 multiarch libraries)
#
# The version comes from git tags (scripts/version.sh; VERSION=... overrides it)
# and is compiled into both binaries (--version, the app's Settings > About).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHAT="${1:-all}"
case "$WHAT" in all | deb | windows | arm64) ;; *)
  echo "usage: scripts/package.sh [all|deb|windows|arm64]" >&2
  exit 2
  ;;
esac

if [ "$WHAT" = arm64 ]; then
  bash scripts/setup.sh arm64
else
  bash scripts/setup.sh
fi
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
# deb_assets PKG: the menu entry and the icons of both packages.
deb_assets() {
  local pkg=$1 size
  install -Dm644 build/linux/bitnet-desktop.desktop "$pkg/usr/share/applications/bitnet-desktop.desktop"
  for size in 256 512; do
    install -d "$pkg/usr/share/icons/hicolor/${size}x${size}/apps"
    convert build/appicon.png -resize "${size}x${size}" -strip \
      "PNG32:$pkg/usr/share/icons/hicolor/${size}x${size}/apps/bitnet-desktop.png"
  done
}

# deb_pack PKG ARCH DEPENDS DEB CPU_LINES: writes PKG/DEBIAN/control (the
# description's last lines, about the CPU, are CPU_LINES) and builds DEB
# (an older package of that architecture in dist/ is removed first).
deb_pack() {
  local pkg=$1 arch=$2 depends=$3 deb=$4 cpu=$5
  install -d "$pkg/DEBIAN"
  cat >"$pkg/DEBIAN/control" <<CONTROL
Package: bitnet-desktop
Version: ${VERSION}
Section: utils
Priority: optional
Architecture: ${arch}
Maintainer: ${DEB_MAINTAINER:-BitNet Desktop contributors <bitnet-desktop@users.noreply.github.com>}
Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
Depends: ${depends}
Description: Chat with BitNet b1.58 2B4T locally on the CPU
 BitNet Desktop runs Microsoft's BitNet b1.58 2B4T (ternary weights) on
 the CPU, with no account and no network once the model is downloaded.
 It contains the desktop app (bitnet-desktop), a command-line tool
 (bitnet: chat, generate, serve an OpenAI-compatible local API) and the
${cpu}
CONTROL
  rm -f "$DIST"/bitnet-desktop_*_"${arch}".deb
  dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
}

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
  deb_assets "$pkg"

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

  deb_pack "$pkg" amd64 "$depends" "$deb" \
    " engine built on ggml's CPU kernels. Needs an x86-64-v3 CPU (AVX2, FMA)."
  log "deb: $deb ($(du -h "$deb" | cut -f1), $((SECONDS - start))s)"
  echo "   Depends: $depends"
}

# ---------------------------------------------------------- Linux arm64 .deb
# The app and the CLI for linux/arm64, cross-compiled (scripts/env-arm64.sh:
# ARMv8-A, NEON; the ternary kernels add the dot product at run time).
# Checked here: file types and the version in both binaries; they cannot run
# on this machine except under qemu-user (tests/arm64/run.sh runs the CLI
# there; the app's WebKitGTK never returns from its library constructors
# under qemu 7.2, before main runs).

# arm64_pkgconfig DIR: the .pc files of WebKitGTK 4.1 and libsoup 3 for
# arm64 in DIR, made from the amd64 ones (the arm64 -dev packages cannot be
# installed next to them in Debian 12: scripts/setup.sh). Their headers are
# the amd64 packages' (Multi-Arch: same, so identical files); the libraries
# are the arm64 runtime packages', which must be the same versions.
arm64_pkgconfig() {
  local dir=$1 pair pc lib dev run vdev vrun
  mkdir -p "$dir/lib"
  for pair in webkit2gtk-4.1:libwebkit2gtk-4.1 libsoup-3.0:libsoup-3.0; do
    pc=${pair%%:*}
    lib=${pair#*:}
    dev="$lib-dev"
    run="$lib-0"
    vdev=$(dpkg-query -W -f='${Version}' "$dev:amd64")
    vrun=$(dpkg-query -W -f='${Version}' "$run:arm64")
    if [ "$vdev" != "$vrun" ]; then
      echo "arm64: $dev:amd64 is $vdev but $run:arm64 is $vrun (apt-get update, then scripts/setup.sh arm64)" >&2
      return 1
    fi
    ln -sf "/usr/lib/aarch64-linux-gnu/$lib.so.0" "$dir/lib/$lib.so"
    # Requires.private and Libs.private matter only to a static link (and
    # libsoup's name sysprof-capture-4, whose arm64 -dev package cannot be
    # installed either).
    sed -e "s|^libdir=.*|libdir=$dir/lib|" -e '/^Requires.private:/d' -e '/^Libs.private:/d' \
      "/usr/lib/x86_64-linux-gnu/pkgconfig/$pc.pc" >"$dir/$pc.pc"
  done
}

build_deb_arm64() {
  local start=$SECONDS
  local deb="$DIST/bitnet-desktop_${VERSION}_arm64.deb"
  local work="$WORK/deb-arm64"
  local pkg="$work/pkg"
  mkdir -p "$work"
  if [ "$FRONTEND_BUILT" = 0 ]; then
    log "arm64: building the front end"
    (cd frontend && npm run build) >"$work/frontend.log" 2>&1 || {
      tail -n 40 "$work/frontend.log" >&2
      return 1
    }
    FRONTEND_BUILT=1
  fi
  arm64_pkgconfig "$work/pkgconfig"
  log "arm64: cross-compiling the app and the CLI (${VERSION})"
  # The app is built with go build and the tags `wails build` uses on Linux
  # (desktop, production, wails.json's webkit2_41), not with wails: wails
  # adds -I<tree>/build to CGO_CXXFLAGS, which makes Go compile ggml once
  # more instead of sharing it with the CLI and the arm64 test binaries.
  # -s -w as wails' production builds.
  (
    export ARM64_PKGCONFIG="$work/pkgconfig"
    source scripts/env-arm64.sh
    go build -tags desktop,production,webkit2_41 -ldflags "$LDFLAGS -s -w" -o "$pkg/usr/bin/bitnet-desktop" . &&
      go build -ldflags "$LDFLAGS -s -w" -o "$pkg/usr/bin/bitnet" ./cmd/bitnet
  ) >"$work/build.log" 2>&1 || {
    grep -E 'error|undefined|cannot find' "$work/build.log" | head -n 30 >&2 || tail -n 30 "$work/build.log" >&2
    return 1
  }
  local b t
  for b in bitnet-desktop bitnet; do
    t=$(file -b "$pkg/usr/bin/$b")
    echo "   $b: $t"
    grep -q 'ELF 64-bit LSB .*ARM aarch64' <<<"$t" || { echo "arm64: $b is not an arm64 ELF binary" >&2; return 1; }
    grep -qaF "$VERSION" "$pkg/usr/bin/$b" || { echo "arm64: $b does not carry version $VERSION" >&2; return 1; }
  done
  deb_assets "$pkg"

  # Depends: dpkg-shlibdeps reads the binaries' architecture and finds their
  # libraries among the installed arm64 packages (multiarch): the arm64
  # package's own dependencies, computed as for amd64. No fallback list
  # here: a guessed one would go unchecked.
  mkdir -p "$work/src/debian"
  printf 'Source: bitnet-desktop\n\nPackage: bitnet-desktop\nArchitecture: arm64\n' >"$work/src/debian/control"
  local depends
  depends=$(cd "$work/src" && dpkg-shlibdeps -O -e"$pkg/usr/bin/bitnet-desktop" -e"$pkg/usr/bin/bitnet" 2>"$work/shlibdeps.log" |
    sed -n 's/^shlibs:Depends=//p') || true
  if ! grep -q 'libwebkit2gtk-4.1-0' <<<"$depends" || ! grep -q 'libgtk-3-0' <<<"$depends"; then
    echo "arm64: dpkg-shlibdeps gave '$depends':" >&2
    cat "$work/shlibdeps.log" >&2
    return 1
  fi

  deb_pack "$pkg" arm64 "$depends" "$deb" \
    " engine built on ggml's CPU kernels. Runs on any 64-bit ARM CPU (ARMv8-A);
 the ternary kernels use the ARMv8.2 dot product where the CPU has it."
  log "arm64: $deb ($(du -h "$deb" | cut -f1), $((SECONDS - start))s)"
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
# The arm64 .deb is not part of `all`: it needs a cross toolchain and a few
# hundred arm64 packages (scripts/setup.sh arm64). tests/arm64/run.sh builds
# and checks it.
if [ "$WHAT" = arm64 ]; then
  build_deb_arm64
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
