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

if [ ! -d "$here/node_modules/openai" ] || [ ! -d "$here/node_modules/zod" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi

# A library with more models, which requests select by name: a second one
# (another family), the demo preset for the structured outputs (its answers
# usually end within a few hundred tokens, where the other random models
# rarely close a string) and a base model for /v1/completions.
data=$(mktemp -d)
second=llama-tiny
json_model=demo
base_model=bitnet-tiny
for preset in "$second" "$json_model" "$base_model"; do
  mkdir -p "$data/models/$preset"
  "$bin" synth --preset "$preset" --out "$data/models/$preset/$preset.gguf" >/dev/null
done

# One thread: these models gain nothing from a second one, and two threads
# slow down many times over when other jobs share the cores.
BITNET_DATA_DIR=$data BITNET_API_KEY=$key "$bin" serve --model "$model" --model-id bitnet-b1.58-2b4t --port "$port" \
  --threads 1 >"$log" 2>&1 &
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
  BITNET_JSON_MODEL_ID=$json_model BITNET_BASE_MODEL_ID=$base_model \
  node "$here/test.mjs" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- bitnet serve log ---" >&2
  cat "$log" >&2
fi
exit "$status"
