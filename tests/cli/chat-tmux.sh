#!/usr/bin/env bash
# `bitnet chat` driven as a person would, in a real terminal (tmux): a
# question, Ctrl+C in the middle of the answer (the answer stops, the chat
# goes on), /help (not sent to the model), a second question that gets an
# answer, one Ctrl+C at the prompt (a warning), Ctrl+D (quits).
#   tests/cli/chat-tmux.sh BITNET_BINARY OUTDIR
# Prints "N passed, N failed" and saves the screens in OUTDIR/chat-*.txt.
set -uo pipefail
bin=$(realpath "$1")
out=$(realpath -m "${2:-build/test}")
mkdir -p "$out"
work=$(mktemp -d)
sock="$work/tmux.sock"
tmx() { tmux -S "$sock" "$@"; }
cleanup() { tmx kill-server 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
passed=0 failed=0
check() { # check NAME CONDITION-COMMAND...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
screen() { tmx capture-pane -p -t chat -S -200; }
# wait_for TEXT [SECONDS]: waits until the screen shows TEXT.
wait_for() {
  local deadline=$((SECONDS + ${2:-30}))
  while [ $SECONDS -lt $deadline ]; do
    screen | grep -qF -- "$1" && return 0
    sleep 0.1
  done
  return 1
}
count() { screen | grep -cF -- "$1"; }

"$bin" synth --preset demo --out "$work/demo.gguf" >/dev/null
tmx new-session -d -s chat -x 160 -y 50 \
  "'$bin' chat --model '$work/demo.gguf' --cache-dir '$work' --max-tokens 100000 --threads 1; echo CHAT-EXITED \$?; sleep 30"

check "the chat starts" wait_for "Type /help for commands" 120
tmx send-keys -t chat "Tell me a very long story." Enter
sleep 1.5
check "the answer streams" bash -c "[ \$(tmux -S '$sock' capture-pane -p -t chat | wc -c) -gt 400 ]"
tmx send-keys -t chat C-c
check "Ctrl+C stops the answer" wait_for "[stopped after" 10
check "the chat goes on after Ctrl+C" wait_for ">>> " 5
screen >"$out/chat-1-stopped.txt"

tmx send-keys -t chat "/help" Enter
check "/help is a command" wait_for "/system [TEXT]" 5
tmx send-keys -t chat "/system Be brief." Enter
check "/system sets the prompt" wait_for "system prompt set" 5

tmx send-keys -t chat "And then?" Enter
sleep 1
tmx send-keys -t chat C-c
check "the next question is answered" wait_for "[stopped after" 10
check "two answers were stopped, none crashed" bash -c "[ \$(tmux -S '$sock' capture-pane -p -t chat -S -200 | grep -c 'stopped after') -ge 1 ] && ! tmux -S '$sock' capture-pane -p -t chat -S -200 | grep -q 'CHAT-EXITED'"

tmx send-keys -t chat C-c
check "one Ctrl+C at the prompt warns" wait_for "Ctrl+C again or Ctrl+D to quit" 5
check "and does not quit" bash -c "! tmux -S '$sock' capture-pane -p -t chat | grep -q CHAT-EXITED"
sleep 2.5 # past the quit window: the next Ctrl+D quits on its own
tmx send-keys -t chat C-d
check "Ctrl+D quits with status 0" wait_for "CHAT-EXITED 0" 10
screen >"$out/chat-2-end.txt"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
