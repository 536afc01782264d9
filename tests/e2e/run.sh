#!/usr/bin/env bash
# End-to-end test of the desktop app against the real Go backend, under Xvfb.
#
#   tests/e2e/run.sh OUTDIR
#
# Builds the front end and the Wails dev binary, makes a synthetic model and
# serves it on a local HTTP server (the app "downloads" it through
# BITNET_DOWNLOAD_URL), starts Xvfb, and runs e2e.mjs (playwright-core with
# Debian's chromium), which drives the app through onboarding, download,
# chat, stop, regenerate, restart and Spanish, then issue 10's checks: long
# pastes (new and existing chat, Truncate to fit), failed and busy sends,
# the context meter, the header under search, a port in use (settings and
# start-up), an offline download, bad imports (drop and the native dialog,
# answered with xdotool) and a whitespace-only answer; then the model library
# (catalog, imports, Use, answers labelled with their model, the offer to
# switch, Delete, a base model). Then it builds the production binary,
# screenshots its real window and checks the picture is not blank.
# Screenshots go to OUTDIR/screenshots, logs to OUTDIR/e2e/. The last line is
# "N passed, N failed"; the exit status is non-zero if anything failed.
#
# E2E_SKIP_BUILD=1 reuses frontend/dist and the binaries in build/bin.
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
shots="$out/screenshots"
logs="$out/e2e"
# Other suites may write to OUTDIR/screenshots too: remove only this suite's files.
mkdir -p "$shots"
rm -f "$shots"/[0-9][0-9]-*.png "$shots"/es-*.png "$shots"/e2e-fail-*.png "$shots"/production-window.png
rm -rf "$logs"
mkdir -p "$logs"
cd "$root"
source scripts/env.sh
export DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent

start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/bitnet-e2e.XXXXXX")
pidfile="$work/pids" # every process to stop at the end, one PID a line
: >"$pidfile"

cleanup() {
  local pids pid
  pids=$(tac "$pidfile" 2>/dev/null)
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do # up to 5 s
    local alive=0
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bg LOG CMD...: starts CMD in the background and records its PID.
bg() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  echo $! >>"$pidfile"
  LAST_PID=$!
}

fatal() {
  echo "e2e: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

# --- dependencies and builds
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "e2e: installing npm packages"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || fatal "npm ci failed"
fi
if [ "${E2E_SKIP_BUILD:-}" != 1 ]; then
  if [ ! -d frontend/node_modules ]; then
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error) || fatal "npm ci in frontend failed"
  fi
  echo "e2e: building the front end"
  (cd frontend && npm run build) >"$logs/build-frontend.log" 2>&1 || { tail -n 30 "$logs/build-frontend.log" >&2; fatal "front-end build failed"; }
  echo "e2e: building the dev binary"
  go build -tags dev,webkit2_41 -o build/bin/bitnet-desktop-dev . >"$logs/build-dev.log" 2>&1 ||
    { tail -n 30 "$logs/build-dev.log" >&2; fatal "dev build failed"; }
fi
echo "e2e: builds done ($((SECONDS - start)) s)"

# --- the models and the server of the first one
# The "demo" preset answers with visible text long enough to watch it stream and stop it.
go run ./cmd/bitnet synth --preset demo --out "$work/model.gguf" >"$logs/synth.log" 2>&1 ||
  { cat "$logs/synth.log" >&2; fatal "synth failed"; }
# The "small" preset answers only whitespace (the blank-answer check imports it).
go run ./cmd/bitnet synth --preset small --out "$work/small.gguf" >>"$logs/synth.log" 2>&1 ||
  { cat "$logs/synth.log" >&2; fatal "synth of the small preset failed"; }
# The model library's checks import a second chat model (Falcon3's format) and a base model.
for preset in falcon3-tiny bitnet-tiny; do
  go run ./cmd/bitnet synth --preset "$preset" --out "$work/$preset.gguf" >>"$logs/synth.log" 2>&1 ||
    { cat "$logs/synth.log" >&2; fatal "synth of the $preset preset failed"; }
done
bg "$logs/model-server.log" node "$here/model-server.mjs" "$work/model.gguf" "$work/server.port" "${E2E_DOWNLOAD_SECONDS:-4}"
for _ in $(seq 1 100); do [ -s "$work/server.port" ] && break; sleep 0.1; done
[ -s "$work/server.port" ] || { cat "$logs/model-server.log" >&2; fatal "the model server did not start"; }
server="http://127.0.0.1:$(cat "$work/server.port")"

# --- Xvfb (it picks a free display and writes its number to fd 3)
exec 3>"$work/display"
bg "$logs/xvfb.log" Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp
exec 3>&-
for _ in $(seq 1 100); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || { cat "$logs/xvfb.log" >&2; fatal "Xvfb did not start"; }
export DISPLAY=":$(head -n 1 "$work/display")"
echo "e2e: model server $server, Xvfb $DISPLAY"

# --- the browser tests (e2e.mjs starts and restarts the app itself)
data="$work/data"
mkdir -p "$data"
# A copy of the front end for -assetdir, so that a rebuild of frontend/dist
# during the run does not pull the files from under the dev server.
[ -f frontend/dist/index.html ] || fatal "frontend/dist/index.html missing (run without E2E_SKIP_BUILD)"
cp -r frontend/dist "$work/dist"
E2E_OUT="$logs" E2E_SHOTS="$shots" E2E_ROOT="$root" E2E_ASSETS="$work/dist" E2E_APP="$root/build/bin/bitnet-desktop-dev" E2E_DATA_DIR="$data" \
  E2E_MODEL_URL="$server/model.gguf" E2E_LOG_URL="$server/__log" E2E_PIDFILE="$pidfile" \
  E2E_MODEL_FILE="$work/model.gguf" E2E_SMALL_MODEL="$work/small.gguf" \
  E2E_LIB_CHAT_MODEL="$work/falcon3-tiny.gguf" E2E_LIB_BASE_MODEL="$work/bitnet-tiny.gguf" \
  node "$here/e2e.mjs" >"$logs/e2e-mjs.log" 2>&1 &
node_pid=$!
echo "$node_pid" >>"$pidfile"
tail --pid="$node_pid" -n +1 -f "$logs/e2e-mjs.log" &
tail_pid=$!
wait "$node_pid"
wait "$tail_pid"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/e2e-mjs.log" | tail -n 1)
passed=$(echo "${line:-0 passed, 1 failed}" | awk '{print $1}')
failed=$(echo "${line:-0 passed, 1 failed}" | awk '{print $3}')
[ -n "$line" ] || echo "FAIL e2e.mjs printed no result line"

# --- 7. the production binary's real window
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
echo "== 7. production window"
prod_ok=1
if [ "${E2E_SKIP_BUILD:-}" != 1 ]; then
  go build -tags desktop,production,webkit2_41 -o build/bin/bitnet-desktop . >"$logs/build-production.log" 2>&1 ||
    { tail -n 30 "$logs/build-production.log"; prod_ok=0; }
fi
if [ "$prod_ok" = 1 ] && [ -x build/bin/bitnet-desktop ]; then
  ok "production binary built"
  prod_data="$work/prod-data"
  mkdir -p "$prod_data"
  BITNET_DATA_DIR="$prod_data" bg "$logs/production.log" build/bin/bitnet-desktop
  prod_pid=$LAST_PID
  # (A plain loop rather than --sync: xdotool can fail with BadWindow when
  # another window comes and goes during the search.)
  : >"$work/wid"
  for _ in $(seq 1 150); do # up to 30 s
    timeout 5 xdotool search --onlyvisible --name '^BitNet Desktop$' >"$work/wid" 2>>"$logs/xdotool.log" && [ -s "$work/wid" ] && break
    kill -0 "$prod_pid" 2>/dev/null || break
    sleep 0.2
  done
  if [ -s "$work/wid" ]; then
    ok "the production window maps (window $(head -n 1 "$work/wid"))"
    # Wait until the page has painted: more than 10 colours, and the same picture twice.
    png="$shots/production-window.png"
    prev=""
    colors=0
    for _ in $(seq 1 60); do # up to about 30 s
      sleep 0.5
      import -window root "$work/shot.png" 2>/dev/null || continue
      colors=$(identify -format %k "$work/shot.png" 2>/dev/null || echo 0)
      sig=$(identify -format %# "$work/shot.png" 2>/dev/null || echo x)
      if [ "$colors" -gt 10 ] && [ "$sig" = "$prev" ]; then break; fi
      prev=$sig
    done
    cp "$work/shot.png" "$png" 2>/dev/null
    if [ "${colors:-0}" -gt 10 ]; then
      ok "production window screenshot is not blank ($colors colours): $png"
    else
      fail "production window screenshot looks blank ($colors colours): $png"
    fi
  else
    fail "the production window did not map within 30 s; log: $(tail -n 5 "$logs/production.log")"
  fi
  kill -TERM "$prod_pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$prod_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$prod_pid" 2>/dev/null; then
    fail "the production app is still running 10 s after SIGTERM"
  else
    wait "$prod_pid"
    rc=$?
    if [ "$rc" = 0 ] && grep -q "shutdown complete" "$logs/production.log"; then
      ok "the production app shuts down cleanly on SIGTERM"
    else
      fail "the production app did not shut down cleanly on SIGTERM (exit $rc; log: $(tail -n 3 "$logs/production.log" | tr '\n' ' '))"
    fi
  fi
else
  fail "production build failed (see $logs/build-production.log)"
fi

echo "e2e: total $((SECONDS - start)) s; screenshots in $shots"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
