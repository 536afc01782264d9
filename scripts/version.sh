#!/usr/bin/env bash
# Prints the version of this checkout, from git tags, in a form that is a
# valid Debian version and is used as is by the binaries (--version, About):
#   tag v1.2.3 on HEAD            1.2.3
#   4 commits after v1.2.3        1.2.3+git4.gabcdef0
#   tag v1.3.0-rc1                1.3.0~rc1   (sorts before 1.3.0)
#   no tag (or a non-numeric one) 0.0.0+gitabcdef0
# VERSION in the environment wins (it is sanitised the same way).
#   scripts/version.sh            the version
#   scripts/version.sh --numeric  its first three numbers (1.2.3, 0.0.0): the
#                                 Windows file and installer version
set -euo pipefail
cd "$(dirname "$0")/.."

# `git describe --tags` fails when no tag is reachable (then: 0.0.0+git<hash>).
raw="${VERSION:-$(git describe --tags 2>/dev/null || true)}"
v="${raw#v}"
if [[ "$v" =~ ^([0-9][0-9A-Za-z.+~-]*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
  # git describe: TAG-N-gHASH
  v="${BASH_REMATCH[1]}+git${BASH_REMATCH[2]}.g${BASH_REMATCH[3]}"
elif ! [[ "$v" =~ ^[0-9] ]]; then
  hash=$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
  v="0.0.0+git${hash}"
fi
# A pre-release suffix (-rc1, -beta.2) sorts before the release with "~";
# anything Debian does not allow in a version becomes ".".
base="${v%%+*}"
rest=""
[ "$base" = "$v" ] || rest="+${v#*+}"
base="${base//-/\~}"
v="${base}${rest//-/.}"
v=$(printf '%s' "$v" | tr -c 'A-Za-z0-9.+~' '.')

if [ "${1:-}" = --numeric ]; then
  num=$(printf '%s' "$v" | grep -oE '^[0-9]+(\.[0-9]+){0,2}' || echo 0)
  while [ "$(tr -cd . <<<"$num" | wc -c)" -lt 2 ]; do num="$num.0"; done
  echo "$num"
else
  echo "$v"
fi
