#!/bin/sh
# A stand-in for an external transcriber (the "command" backend): checks its audio argument and
# writes WebVTT to $ATELIER_TRANSCRIBE_OUTPUT, or a broken SRT when asked to.
set -eu
mode=$1
audio=$2
[ -s "$audio" ] || { echo "no audio at $audio" >&2; exit 3; }
case $mode in
vtt)
  printf 'WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nhello from %s\n' "$ATELIER_TRANSCRIBE_LANG" > "$ATELIER_TRANSCRIBE_OUTPUT" ;;
stdout)
  printf '1\n00:00:01,000 --> 00:00:02,000\nsrt on stdout\n' ;;
broken)
  printf '1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 --> 00:00:0x,000\nbad\n' > "$ATELIER_TRANSCRIBE_OUTPUT" ;;
fail)
  echo "model not found" >&2; exit 2 ;;
esac
