#!/usr/bin/env bash
# Runs test.mjs (the official openai npm client) against a real `bitnet serve`.
#
#   tests/openai-client/run.sh BITNET_BINARY MODEL_FILE [PORT]
#
# Installs the client (npm ci) if needed, starts the server with an API key,
# waits for /health (the model may need converting first), runs the checks
# and stops the server. The exit status is test.mjs's.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BITNET_BINARY MODEL_FILE [PORT]" >&2
  exit 2
fi
bin=$1
model=$2
port=${3:-18723}
here=$(cd "$(dirname "$0")" && pwd)
key=openai-client-test-key
log=$(mktemp)

if [ ! -d "$here/node_modules/openai" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi

# A library with a second model (another family), which requests can select.
data=$(mktemp -d)
second=llama-tiny
mkdir -p "$data/models/$second"
"$bin" synth --preset llama-tiny --out "$data/models/$second/$second.gguf" >/dev/null

BITNET_DATA_DIR=$data BITNET_API_KEY=$key "$bin" serve --model "$model" --model-id bitnet-b1.58-2b4t --port "$port" >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$log" "$data"
}
trap cleanup EXIT

health="http://127.0.0.1:$port/health"
for _ in $(seq 1 600); do # up to 5 minutes
  if node -e "fetch('$health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "bitnet serve exited early:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.5
done

status=0
BITNET_API_BASE="http://127.0.0.1:$port/v1" BITNET_API_KEY=$key BITNET_SECOND_MODEL_ID=$second \
  node "$here/test.mjs" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- bitnet serve log ---" >&2
  cat "$log" >&2
fi
exit "$status"
