# Shared by the shell suites (source it after setting TMP, a scratch
# directory): pass/fail/check count checks, finish prints the
# "N passed, N failed" line CI reads and exits with the verdict.
PASSED=0
FAILED=0

pass() { echo "ok   - $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL - $1${2:+: $2}"; FAILED=$((FAILED + 1)); }
# check NAME CMD...: one check, passes when CMD exits 0.
check() {
  local name=$1; shift
  if "$@" >"$TMP/check.log" 2>&1; then pass "$name"; else fail "$name" "$(tail -n 5 "$TMP/check.log" | tr '\n' ' ')"; fi
}
finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit
}
