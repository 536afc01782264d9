#!/usr/bin/env bash
# Builds the Linux .deb (scripts/package.sh deb), installs it with apt-get
# like a user would, checks both binaries' --version, starts the installed
# app under Xvfb, screenshots its window (OUTDIR/screenshots/deb-window.png,
# and deb-about.png: Settings > About with the version),
# then removes the package. Runs as root (a CI machine): it installs into /usr.
# Then builds the Windows installer (scripts/package.sh windows) and checks the
# file types (PACKAGE_WINDOWS=0 skips that part).
#   tests/package/run.sh OUTDIR
# Prints "N passed, N failed" at the end; exits non-zero if a check failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT="${1:-$ROOT/build/test}"
mkdir -p "$OUT/screenshots"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d)
APP_PID=""
XVFB_PID=""

cleanup() {
  [ -z "$APP_PID" ] || kill "$APP_PID" 2>/dev/null
  [ -z "$XVFB_PID" ] || kill "$XVFB_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

. tests/checks.sh

if [ "$(id -u)" != 0 ]; then
  echo "tests/package: must run as root (it installs the .deb)" >&2
  fail "running as root"
  finish
fi

# --- build
start=$SECONDS
if bash scripts/package.sh deb >"$OUT/package-deb.log" 2>&1; then
  pass "scripts/package.sh deb ($((SECONDS - start))s)"
else
  fail "scripts/package.sh deb" "see $OUT/package-deb.log"
  tail -n 30 "$OUT/package-deb.log"
  finish
fi
VERSION=$(bash scripts/version.sh)
DEB="dist/bitnet-desktop_${VERSION}_amd64.deb"
check "the .deb is named after the version ($DEB)" test -s "$DEB"
[ -s "$DEB" ] || finish

# --- its metadata and contents
dpkg-deb -f "$DEB" Package Version Architecture Depends >"$OUT/deb-control.txt"
dpkg-deb -c "$DEB" >"$OUT/deb-contents.txt"
cat "$OUT/deb-control.txt"
check "control: Version is $VERSION" grep -qx "Version: $VERSION" "$OUT/deb-control.txt"
check "control: Depends has libgtk-3-0 and libwebkit2gtk-4.1-0" \
  bash -c "grep '^Depends:' '$OUT/deb-control.txt' | grep -q 'libgtk-3-0' && grep '^Depends:' '$OUT/deb-control.txt' | grep -q 'libwebkit2gtk-4.1-0'"
for f in /usr/bin/bitnet-desktop /usr/bin/bitnet /usr/share/applications/bitnet-desktop.desktop \
  /usr/share/icons/hicolor/256x256/apps/bitnet-desktop.png /usr/share/icons/hicolor/512x512/apps/bitnet-desktop.png; do
  check "contents: $f" grep -q " \.$f\$" "$OUT/deb-contents.txt"
done

# --- install it as a user would (apt resolves the Depends)
apt-get remove -y -qq bitnet-desktop >/dev/null 2>&1
start=$SECONDS
if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$DEB" >"$OUT/apt-install.log" 2>&1; then
  pass "apt-get install ./$DEB ($((SECONDS - start))s)"
else
  fail "apt-get install ./$DEB" "$(tail -n 5 "$OUT/apt-install.log" | tr '\n' ' ')"
  finish
fi
check "dpkg: bitnet-desktop $VERSION installed" \
  bash -c "dpkg-query -W -f='\${Status} \${Version}' bitnet-desktop | grep -qx 'install ok installed $VERSION'"
check "bitnet --version prints $VERSION" bash -c "[ \"\$(/usr/bin/bitnet --version)\" = 'bitnet $VERSION' ]"
check "bitnet-desktop --version prints $VERSION" \
  bash -c "[ \"\$(/usr/bin/bitnet-desktop --version)\" = 'bitnet-desktop $VERSION' ]"
check "the .desktop entry starts bitnet-desktop with its icon" \
  bash -c "grep -qx 'Exec=bitnet-desktop' /usr/share/applications/bitnet-desktop.desktop && grep -qx 'Icon=bitnet-desktop' /usr/share/applications/bitnet-desktop.desktop"
check "icons are 256x256 and 512x512 PNGs" bash -c "
  identify -format '%w %h' /usr/share/icons/hicolor/256x256/apps/bitnet-desktop.png | grep -qx '256 256' &&
  identify -format '%w %h' /usr/share/icons/hicolor/512x512/apps/bitnet-desktop.png | grep -qx '512 512'"

# --- start the installed app under Xvfb and take a screenshot
Xvfb -displayfd 5 -screen 0 1280x800x24 -nolisten tcp 5>"$TMP/display" >"$TMP/xvfb.log" 2>&1 &
XVFB_PID=$!
for _ in $(seq 50); do [ -s "$TMP/display" ] && break; sleep 0.1; done
export DISPLAY=":$(head -n 1 "$TMP/display")"
export DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent
mkdir -p "$TMP/data"
(cd "$TMP" && exec env BITNET_DATA_DIR="$TMP/data" /usr/bin/bitnet-desktop) >"$OUT/deb-app.log" 2>&1 &
APP_PID=$!
if timeout 30 xdotool search --sync --onlyvisible --name '^BitNet Desktop$' >"$TMP/wid" 2>/dev/null; then
  pass "the installed app opens its window under Xvfb"
else
  fail "the installed app opens its window under Xvfb" "$(tail -n 5 "$OUT/deb-app.log" | tr '\n' ' ')"
fi
# The window maps before WebKit has painted the page, and the page paints a
# placeholder before the Go side answers: retake the screenshot until it has
# more than a few colours (the UI, not a blank window) and has stopped changing.
SHOT="$OUT/screenshots/deb-window.png"
colors=0
same=0
rm -f "$SHOT"
for _ in $(seq 60); do
  sleep 0.5
  [ -f "$SHOT" ] && cp "$SHOT" "$TMP/previous.png"
  import -window root "$SHOT" 2>/dev/null || continue
  colors=$(convert "$SHOT" -format '%k' info: 2>/dev/null || echo 0)
  if [ "$colors" -gt 64 ] && [ -f "$TMP/previous.png" ] &&
    [ "$(compare -metric AE "$SHOT" "$TMP/previous.png" null: 2>&1 | cut -d' ' -f1)" = 0 ]; then
    same=$((same + 1))
    [ "$same" -ge 2 ] && break # unchanged for 1 s
  else
    same=0
  fi
done
check "screenshot $SHOT is not blank ($colors colours)" test "$colors" -gt 64
check "the app is still running" kill -0 "$APP_PID"
# Settings > About shows the version: click the gear (bottom of the sidebar of
# the 1200x800 window), scroll the dialog down, screenshot it for review.
WID=$(head -n 1 "$TMP/wid")
ABOUT="$OUT/screenshots/deb-about.png"
if [ -n "$WID" ]; then
  xdotool mousemove --window "$WID" 243 771 click 1 2>/dev/null
  sleep 1
  xdotool mousemove --window "$WID" 600 450 click --repeat 20 --delay 50 5 2>/dev/null
  sleep 1
  import -window root "$ABOUT" 2>/dev/null
fi
check "Settings opens ($ABOUT differs from the main window)" \
  bash -c "[ \"\$(compare -metric AE '$SHOT' '$ABOUT' null: 2>&1 | cut -d' ' -f1)\" -gt 10000 ]"
kill -TERM "$APP_PID" 2>/dev/null
exited=0
for _ in $(seq 50); do kill -0 "$APP_PID" 2>/dev/null || { exited=1; break; }; sleep 0.1; done
check "the app exits on SIGTERM" test "$exited" = 1
[ "$exited" = 1 ] || kill -KILL "$APP_PID" 2>/dev/null
wait "$APP_PID" 2>/dev/null
APP_PID=""
check "its data went to BITNET_DATA_DIR" test -n "$(ls -A "$TMP/data")"
kill "$XVFB_PID" 2>/dev/null
wait "$XVFB_PID" 2>/dev/null
XVFB_PID=""

# --- remove it
check "apt-get remove -y bitnet-desktop" env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq bitnet-desktop
check "removal deletes both binaries" bash -c "[ ! -e /usr/bin/bitnet-desktop ] && [ ! -e /usr/bin/bitnet ]"

# --- the Windows installer: cross-compiled with MinGW-w64, ggml included
# (about 5 min cold, most of it compiling ggml). PACKAGE_WINDOWS=0 skips it.
if [ "${PACKAGE_WINDOWS:-1}" != 0 ]; then
  start=$SECONDS
  if bash scripts/package.sh windows >"$OUT/package-windows.log" 2>&1; then
    pass "scripts/package.sh windows ($((SECONDS - start))s)"
  else
    fail "scripts/package.sh windows" "see $OUT/package-windows.log and dist/WINDOWS-BLOCKER.txt"
    tail -n 30 "$OUT/package-windows.log"
  fi
  SETUP="dist/bitnet-desktop_${VERSION}_windows_amd64-setup.exe"
  WINCLI="dist/bitnet_${VERSION}_windows_amd64.exe"
  WINAPP=build/bin/bitnet-desktop-package.exe # installed as bitnet-desktop.exe
  for f in "$SETUP" "$WINAPP" "$WINCLI"; do
    [ -e "$f" ] && echo "$f: $(file -b "$f")"
  done
  check "windows installer built ($SETUP, NSIS)" bash -c "file -b '$SETUP' | grep -q 'Nullsoft Installer'"
  check "windows app is PE32+ x86-64 (GUI)" bash -c "file -b '$WINAPP' | grep -q 'PE32+ executable (GUI) x86-64'"
  check "windows CLI is PE32+ x86-64 (console)" bash -c "file -b '$WINCLI' | grep -q 'PE32+ executable (console) x86-64'"
  # libstdc++, libgcc and winpthreads are linked statically (ollama's cgo flags):
  # the programs need no MinGW DLLs next to them.
  check "windows binaries import only system DLLs" bash -c "
    ! x86_64-w64-mingw32-objdump -p '$WINAPP' '$WINCLI' | grep 'DLL Name' |
      grep -viE 'DLL Name: (kernel32|advapi32|msvcrt|user32|ole32|oleaut32|shell32|gdi32|ws2_32|winmm|bcrypt|ntdll|shlwapi|comctl32|comdlg32|version|uxtheme|dwmapi)\.dll'"
  check "windows binaries carry version $VERSION" \
    bash -c "grep -qaF '$VERSION' '$WINAPP' && grep -qaF '$VERSION' '$WINCLI'"
fi

finish
