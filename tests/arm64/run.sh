#!/usr/bin/env bash
# The linux/arm64 build, checked under emulation (qemu-user) on this amd64
# machine. Correctness only: emulation says nothing about arm64 speed, and
# nothing here measures it.
#   1. engine/kernel's tests, cross-compiled, under qemu-aarch64 with two CPU
#      models: cortex-a53 (ARMv8.0, no dot product: the neon level) and max
#      (dot product: neon-dotprod, and neon again). Each run asserts the level
#      it detected (BITNET_TEST_KERNEL), then checks every kernel bit for bit
#      against integer arithmetic, every tile shape.
#   2. engine/runner's reference tests (a subset) under both CPU models: the
#      engine against the float64 reference, batch and decode paths, with the
#      NEON kernels and with ggml's.
#   3. `bitnet generate --json` on tiny models of the three families: the arm64
#      CLI under both CPU models gives the tokens of the amd64 CLI, converts
#      the files to the same bytes, names the kernel level it ran, and refuses
#      a level the CPU lacks.
#   4. scripts/package.sh arm64: the .deb's control (Architecture, Depends as
#      dpkg-shlibdeps computed them for arm64), contents, file types, every
#      library of both binaries found among the arm64 packages, and the CLI's
#      --version under qemu. (The app itself cannot start under qemu 7.2:
#      WebKitGTK's library constructors never return there.)
#   5. macOS on paper (docs/platforms.md): go vet for darwin/arm64 of every
#      package that does not need cgo (those that link ggml need a macOS SDK).
#   tests/arm64/run.sh OUTDIR
# Prints "N passed, N failed" at the end; exits non-zero if a check failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT="${1:-$ROOT/build/test}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

. tests/checks.sh

# The two CPU models and the level each must detect.
CPUS=(cortex-a53 max)
declare -A LEVEL=([cortex-a53]=neon [max]=neon-dotprod)

if ! bash scripts/setup.sh arm64 >"$OUT/arm64-setup.log" 2>&1; then
  fail "scripts/setup.sh arm64" "$(tail -n 5 "$OUT/arm64-setup.log" | tr '\n' ' ')"
  finish
fi
source scripts/env.sh
VERSION=$(bash scripts/version.sh)
LDFLAGS="-X main.version=${VERSION}"

# --- build: the amd64 CLI (the reference for the tokens), then the arm64
# test binaries and CLI (one ggml compile, shared through Go's cache).
start=$SECONDS
check "amd64 CLI built" go build -ldflags "$LDFLAGS" -o "$TMP/bitnet-amd64" ./cmd/bitnet
(
  source scripts/env-arm64.sh
  go test -c -o "$TMP/kernel.test" ./engine/kernel &&
    go test -c -o "$TMP/runner.test" ./engine/runner &&
    go build -ldflags "$LDFLAGS" -o "$TMP/bitnet" ./cmd/bitnet
) >"$OUT/arm64-build.log" 2>&1
if [ $? = 0 ]; then
  pass "arm64 kernel.test, runner.test and CLI cross-compiled ($((SECONDS - start))s)"
else
  fail "arm64 cross-compile" "see $OUT/arm64-build.log"
  grep -E 'error|undefined' "$OUT/arm64-build.log" | head -n 20
  finish
fi
check "the arm64 binaries are ARM aarch64 ELF" \
  bash -c "file -b '$TMP/kernel.test' '$TMP/runner.test' '$TMP/bitnet' | grep -c 'ARM aarch64' | grep -qx 3"

# go_under_qemu NAME CPU LOG TESTBIN ARGS...: runs a Go test binary under
# qemu-aarch64 in its package folder, adds its --- PASS/--- FAIL lines to
# the counts (subtests included, as scripts/test.sh counts `go test -v`).
go_under_qemu() {
  local name=$1 cpu=$2 log=$3 bin=$4 dir=$5; shift 5
  local start=$SECONDS rc p f
  (cd "$dir" && BITNET_TEST_KERNEL=${LEVEL[$cpu]} qemu-aarch64 -cpu "$cpu" "$bin" -test.v -test.count=1 "$@") >"$log" 2>&1
  rc=$?
  p=$(grep -cE '^\s*--- PASS' "$log")
  f=$(grep -cE '^\s*--- FAIL' "$log")
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  if [ $rc != 0 ] && [ "$f" = 0 ]; then
    FAILED=$((FAILED + 1))
  fi
  echo "$( [ $rc = 0 ] && echo "ok  " || echo FAIL) - $name under qemu -cpu $cpu: $p passed, $f failed ($((SECONDS - start))s; $log)"
  [ $rc = 0 ] || grep -E '^\s*--- FAIL|_test.go:[0-9]+:' "$log" | head -n 20
}

# --- 1. the kernels, bit for bit, at both NEON levels
for cpu in "${CPUS[@]}"; do
  go_under_qemu "engine/kernel" "$cpu" "$OUT/arm64-kernel-$cpu.log" "$TMP/kernel.test" engine/kernel
  check "kernel tests under $cpu detected ${LEVEL[$cpu]}" grep -q "detected ${LEVEL[$cpu]} of" "$OUT/arm64-kernel-$cpu.log"
done
check "neon-dotprod was tested bit for bit (under max)" grep -q -- '--- PASS: TestMatMulExact/neon-dotprod/' "$OUT/arm64-kernel-max.log"
check "neon was tested bit for bit (under cortex-a53 and max)" \
  bash -c "grep -q -- '--- PASS: TestMatMulExact/neon/' '$OUT/arm64-kernel-cortex-a53.log' && grep -q -- '--- PASS: TestMatMulExact/neon/' '$OUT/arm64-kernel-max.log'"

# --- 2. the engine against the float64 reference (a subset: the whole
# package takes about 15 minutes under qemu). Under max: every case of the
# batch comparison, the decode path (f16 and q8_0 caches), two families with the kernels; under
# cortex-a53: the plain NEON kernel's cases.
go_under_qemu "engine/runner reference tests" max "$OUT/arm64-runner-max.log" "$TMP/runner.test" engine/runner \
  -test.run '^(TestKernelLevel|TestEngineMatchesReference|TestDecodeMatchesReference|TestFamilyLogits|TestFusedProjectionsExact)$/^(exact.*|rounded.*|kernel=.*|llama-tiny|bitnet-tiny)$/^kernel=auto$'
go_under_qemu "engine/runner reference tests (plain NEON)" cortex-a53 "$OUT/arm64-runner-cortex-a53.log" "$TMP/runner.test" engine/runner \
  -test.run '^(TestKernelLevel|TestEngineMatchesReference)$/neon_kernel'

# --- 3. generate --json: the arm64 CLI's tokens equal the amd64 CLI's
PRESETS=(tiny llama-tiny bitnet-tiny) # the bitnet-b1.58 (2B4T), llama and bitnet families
for preset in "${PRESETS[@]}"; do
  "$TMP/bitnet-amd64" synth --preset "$preset" --seed 5 --out "$TMP/$preset.gguf" >/dev/null
done
# The arm64 CLI under qemu, with the CPU model in QEMU_CPU.
printf '#!/bin/sh\nexec qemu-aarch64 "%s" "$@"\n' "$TMP/bitnet" >"$TMP/bitnet-arm64"
chmod +x "$TMP/bitnet-arm64"
gen() { # gen BIN CACHE MODEL ARGS...: prints the JSON of a greedy generation
  local bin=$1 cache=$2 model=$3; shift 3
  "$bin" generate --model "$model" --cache-dir "$cache" --temperature 0 --max-tokens 8 --threads 2 --json "$@"
}
tokens() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["prompt_token_ids"], d["token_ids"])' "$1"; }
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
start=$SECONDS
for preset in "${PRESETS[@]}"; do
  for mode in chat raw; do
    args=(--prompt "The quick brown fox jumps over the lazy dog")
    [ $mode = raw ] && args+=(--raw)
    want="$TMP/$preset-$mode-amd64.json"
    gen "$TMP/bitnet-amd64" "$TMP/cache-amd64" "$TMP/$preset.gguf" "${args[@]}" >"$want" 2>"$TMP/err" ||
      { fail "$preset $mode: amd64 generate" "$(tail -n 3 "$TMP/err")"; continue; }
    for cpu in "${CPUS[@]}"; do
      got="$TMP/$preset-$mode-$cpu.json"
      if ! QEMU_CPU=$cpu gen "$TMP/bitnet-arm64" "$TMP/cache-$cpu" "$TMP/$preset.gguf" "${args[@]}" >"$got" 2>"$TMP/err"; then
        fail "$preset $mode under $cpu: generate" "$(tail -n 3 "$TMP/err")"
        continue
      fi
      if [ "$(tokens "$got")" = "$(tokens "$want")" ]; then
        pass "$preset $mode under $cpu: the prompt and generated tokens of amd64 ($(field "$want" token_ids | tr -d ' '))"
      else
        fail "$preset $mode under $cpu: tokens" "arm64 $(tokens "$got"), amd64 $(tokens "$want")"
      fi
      check "$preset $mode under $cpu: kernel ${LEVEL[$cpu]}" test "$(field "$got" kernel)" = "${LEVEL[$cpu]}"
    done
  done
done
for cpu in "${CPUS[@]}"; do
  check "the converted files under $cpu equal amd64's byte for byte" \
    bash -c "cd '$TMP/cache-amd64' && sha256sum * >'$TMP/sums' && cd '$TMP/cache-$cpu' && sha256sum -c --quiet '$TMP/sums' && [ \$(ls | wc -l) = \$(ls '$TMP/cache-amd64' | wc -l) ]"
done
echo "   (generate comparisons: $((SECONDS - start))s)"
# The arm64 CLI refuses levels the CPU lacks, with the reason.
for c in "cortex-a53 neon-dotprod" "max avx2" "max avx512"; do
  set -- $c
  QEMU_CPU=$1 gen "$TMP/bitnet-arm64" "$TMP/cache-$1" "$TMP/tiny.gguf" --prompt hi --kernel "$2" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  check "--kernel $2 under $1 is refused (exit $rc: $(head -c 120 "$TMP/err"))" \
    bash -c "[ $rc != 0 ] && grep -q 'cannot run the' '$TMP/err'"
done
QEMU_CPU=cortex-a53 gen "$TMP/bitnet-arm64" "$TMP/cache-cortex-a53" "$TMP/tiny.gguf" --prompt hi --kernel neon >"$TMP/out" 2>"$TMP/err"
check "--kernel neon under cortex-a53 runs the neon kernel" test "$(field "$TMP/out" kernel 2>/dev/null)" = neon

# --- 4. the arm64 .deb
start=$SECONDS
if bash scripts/package.sh arm64 >"$OUT/package-arm64.log" 2>&1; then
  pass "scripts/package.sh arm64 ($((SECONDS - start))s)"
else
  fail "scripts/package.sh arm64" "see $OUT/package-arm64.log"
  tail -n 30 "$OUT/package-arm64.log"
  finish
fi
DEB="dist/bitnet-desktop_${VERSION}_arm64.deb"
check "the arm64 .deb is named after the version ($DEB)" test -s "$DEB"
[ -s "$DEB" ] || finish
dpkg-deb -f "$DEB" Package Version Architecture Depends >"$OUT/deb-arm64-control.txt"
dpkg-deb -c "$DEB" >"$OUT/deb-arm64-contents.txt"
cat "$OUT/deb-arm64-control.txt"
check "control: Architecture arm64, Version $VERSION" \
  bash -c "grep -qx 'Architecture: arm64' '$OUT/deb-arm64-control.txt' && grep -qx 'Version: $VERSION' '$OUT/deb-arm64-control.txt'"
check "control: Depends (dpkg-shlibdeps, arm64) has libc6, libstdc++6, libgtk-3-0, libwebkit2gtk-4.1-0" \
  bash -c "grep '^Depends:' '$OUT/deb-arm64-control.txt' | grep 'libc6 ' | grep 'libstdc++6' | grep 'libgtk-3-0' | grep -q 'libwebkit2gtk-4.1-0'"
for f in /usr/bin/bitnet-desktop /usr/bin/bitnet /usr/share/applications/bitnet-desktop.desktop \
  /usr/share/icons/hicolor/256x256/apps/bitnet-desktop.png /usr/share/icons/hicolor/512x512/apps/bitnet-desktop.png; do
  check "contents: $f" grep -q " \.$f\$" "$OUT/deb-arm64-contents.txt"
done
dpkg-deb -x "$DEB" "$TMP/deb"
for b in bitnet-desktop bitnet; do
  t=$(file -b "$TMP/deb/usr/bin/$b")
  echo "   $b: $t"
  check "$b is an arm64 executable" bash -c "grep -q 'ELF 64-bit LSB .*ARM aarch64.*interpreter /lib/ld-linux-aarch64.so.1' <<<'$t'"
  # ld.so lists the libraries it would load without running any of them
  # (no library constructors: the app's WebKitGTK cannot start under qemu).
  qemu-aarch64 -E LD_TRACE_LOADED_OBJECTS=1 "$TMP/deb/usr/bin/$b" >"$TMP/libs-$b" 2>&1
  check "every library of $b is found among the arm64 packages ($(grep -c '=>' "$TMP/libs-$b") libraries)" \
    bash -c "grep -q '=> /' '$TMP/libs-$b' && ! grep -q 'not found' '$TMP/libs-$b'"
done
check "bitnet-desktop carries version $VERSION" grep -qaF "$VERSION" "$TMP/deb/usr/bin/bitnet-desktop"
for cpu in "${CPUS[@]}"; do
  check "bitnet --version under $cpu prints $VERSION" \
    bash -c "[ \"\$(qemu-aarch64 -cpu $cpu '$TMP/deb/usr/bin/bitnet' --version)\" = 'bitnet $VERSION' ]"
done

# --- 5. darwin/arm64: the packages that need no cgo compile and vet clean
pure=()
for p in $(go list ./...); do
  [ -z "$(GOOS=darwin GOARCH=arm64 CGO_ENABLED=1 go list -deps -test -f '{{if .CgoFiles}}{{.ImportPath}}{{end}}' "$p" 2>/dev/null)" ] && pure+=("$p")
done
check "GOOS=darwin GOARCH=arm64 go vet of the ${#pure[@]} packages without cgo" \
  env GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 go vet "${pure[@]}"

finish
