#!/usr/bin/env bash
# Runs every test suite: Go (unit, race, fuzz), the front end (Vitest), the
# OpenAI client against `bitnet serve`, the desktop end-to-end run under
# Xvfb, the installers, and the linux/arm64 build under qemu. Prints one
# "N passed, N failed" line at the end.
#   scripts/test.sh            everything
#   scripts/test.sh go         only the Go suites (also: web, api, cli, e2e, package, arm64)
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
source scripts/env.sh

ONLY="${1:-all}"
OUT="${TEST_OUT:-$PWD/build/test}"
mkdir -p "$OUT"
PASSED=0
FAILED=0
FAILED_SUITES=()

# count FILE: adds the passes and failures of a `go test -v` log.
count_go() {
  local p f
  p=$(grep -cE '^\s*--- PASS' "$1" || true)
  f=$(grep -cE '^\s*--- FAIL' "$1" || true)
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
  echo "  $p passed, $f failed"
}

# suite NAME CMD...: runs a suite, logging to $OUT/NAME.log.
suite() {
  local name=$1; shift
  echo "== $name"
  local start=$SECONDS
  if "$@" >"$OUT/$name.log" 2>&1; then
    echo "  ok ($((SECONDS - start))s)"
    return 0
  fi
  echo "  FAILED ($((SECONDS - start))s); last lines of $OUT/$name.log:"
  tail -n 40 "$OUT/$name.log" | sed 's/^/    /'
  FAILED_SUITES+=("$name")
  return 1
}

# plain_count FILE: adds an "N passed, N failed" line printed by a suite.
plain_count() {
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
  if [ -n "$line" ]; then
    PASSED=$((PASSED + $(echo "$line" | awk '{print $1}')))
    FAILED=$((FAILED + $(echo "$line" | awk '{print $3}')))
    echo "  $line"
  else
    FAILED=$((FAILED + 1))
  fi
}

want() { [ "$ONLY" = all ] || [ "$ONLY" = "$1" ]; }

mkdir -p frontend/dist
[ -e frontend/dist/index.html ] || [ -e frontend/dist/.gitkeep ] || touch frontend/dist/.gitkeep

if want go; then
  suite gofmt bash -c 'test -z "$(gofmt -l $(git ls-files "*.go"))" || { gofmt -l $(git ls-files "*.go"); exit 1; }' || FAILED=$((FAILED + 1))
  suite govet go vet ./... || FAILED=$((FAILED + 1))
  suite gotest go test -v -count=1 -timeout 20m ./...
  count_go "$OUT/gotest.log"
  # The race detector on the concurrent packages that do not link ggml
  # (linking it under -race rebuilds the C kernels).
  RACE_PKGS=$(go list -f '{{if not (or .CgoFiles (eq .Name "main"))}}{{.ImportPath}}{{end}}' -deps ./... 2>/dev/null | grep bitnet-desktop || true)
  RACE_PKGS=$(for p in $RACE_PKGS; do go list -deps "$p" | grep -q ollama/ml/backend/ggml || echo "$p"; done)
  suite gorace go test -race -v -count=1 $RACE_PKGS
  count_go "$OUT/gorace.log"
  # A short fuzzing run of the GGUF validator. The budgets are counts of
  # executions (about 20 s and 10 s here), not durations: Go 1.26's fuzz
  # coordinator can report "context deadline exceeded" when a -fuzztime
  # duration ends while a worker is busy although nothing failed
  # (go.dev/issue/75804, fixed in Go 1.27). No minimizing, for the same
  # reason.
  suite gofuzz go test ./engine/gguf -run '^$' -fuzz FuzzRead -fuzztime "${FUZZTIME:-200000x}" -fuzzminimizetime 0 && PASSED=$((PASSED + 1)) || FAILED=$((FAILED + 1))
  # The JSON Schema compiler (schemas come from API clients) and the JSON
  # matcher (token bytes from any vocabulary).
  for target in FuzzCompile FuzzJSONObject; do
    suite "gofuzz-$target" go test ./engine/grammar -run '^$' -fuzz "^$target\$" -fuzztime "${FUZZTIME_GRAMMAR:-200000x}" -fuzzminimizetime 0 && PASSED=$((PASSED + 1)) || FAILED=$((FAILED + 1))
  done
fi

if want web; then
  suite vitest bash -c 'cd frontend && npm test'
  plain_count "$OUT/vitest.log"
  suite tsc bash -c 'cd frontend && npm run typecheck' && PASSED=$((PASSED + 1)) || FAILED=$((FAILED + 1))
fi

if want api; then
  go build -o build/bin/bitnet ./cmd/bitnet
  build/bin/bitnet synth --preset tiny --out "$OUT/tiny.gguf" >/dev/null
  suite openai-client bash tests/openai-client/run.sh build/bin/bitnet "$OUT/tiny.gguf"
  plain_count "$OUT/openai-client.log"
fi

if want cli; then
  go build -o build/bin/bitnet ./cmd/bitnet
  suite cli-chat bash tests/cli/chat-tmux.sh build/bin/bitnet "$OUT"
  plain_count "$OUT/cli-chat.log"
fi

if want e2e && [ -f tests/e2e/run.sh ]; then
  suite e2e bash tests/e2e/run.sh "$OUT"
  plain_count "$OUT/e2e.log"
fi

# The Linux installer: builds the .deb, installs it with apt-get, starts the
# installed app under Xvfb (screenshot in $OUT/screenshots), removes it.
if want package; then
  if [ "$(id -u)" = 0 ]; then
    suite package bash tests/package/run.sh "$OUT"
    plain_count "$OUT/package.log"
  else
    echo "== package: skipped (installs the .deb: run as root, as CI does)"
  fi
fi

# The linux/arm64 build under qemu-user: the NEON kernels bit for bit at both
# levels, the engine against the reference, the CLI's tokens against amd64's,
# the arm64 .deb (tests/arm64/run.sh; about 4 minutes with a warm build
# cache, plus 3 for ggml's first arm64 compile). ARM64=0 skips it.
if want arm64 && [ "${ARM64:-1}" != 0 ]; then
  if [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then
    suite arm64 bash tests/arm64/run.sh "$OUT"
    plain_count "$OUT/arm64.log"
  else
    echo "== arm64: skipped (installs a cross toolchain and arm64 packages: run as root, as CI does)"
  fi
fi

echo
if [ ${#FAILED_SUITES[@]} -gt 0 ]; then
  echo "failed suites: ${FAILED_SUITES[*]}"
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ ${#FAILED_SUITES[@]} -eq 0 ]
