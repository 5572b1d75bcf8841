#!/usr/bin/env bash
# Behaviour and speed before and after a change, taking turns in one run (a noisy machine
# hits both sides alike): writer-bench latency and the editor's keystrokes twice each,
# then writer-bench quality once each (its figures do not depend on timing).
#
#   bash benchmarks/before_after.sh REV [TEXT]      # REV: the "before" commit, e.g. 41b113a
#
# TEXT defaults to runs/quality/val-passage.txt (python benchmarks/val_texts.py makes it).
# The before side is a git worktree in /tmp using this checkout's .venv; results are JSON
# files in $OUT (default /tmp/before-after), one per side, round and measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
REV=${1:?usage: bash benchmarks/before_after.sh REV [TEXT]}
TEXT=$(realpath "${2:-runs/quality/val-passage.txt}")
MODEL=$(realpath resources/models/writer-default-q8_0.gguf)
OUT=${OUT:-/tmp/before-after}
OLD=$(mktemp -d /tmp/before-XXXX)
git worktree add -q --detach "$OLD" "$REV"
ln -s "$PWD/.venv" "$OLD/.venv"
trap 'git worktree remove --force "$OLD"' EXIT
mkdir -p "$OUT"
for round in 1 2; do
  for side in before after; do
    dir=$PWD; [ $side = before ] && dir=$OLD
    (cd "$dir" && QT_QPA_PLATFORM=offscreen .venv/bin/python -m writer_app.bench latency \
      --model "$MODEL" --text "$TEXT" --threads 2 --json > "$OUT/latency-$side-$round.json")
    (cd "$dir" && QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/editor_keystrokes.py \
      --sizes-mb 0.01 3 --keys 200 > "$OUT/keys-$side-$round.json")
  done
done
for side in before after; do
  dir=$PWD; [ $side = before ] && dir=$OLD
  (cd "$dir" && .venv/bin/python -m writer_app.bench quality --model "$MODEL" --text "$TEXT" \
    --threads 2 --json > "$OUT/quality-$side.json")
done
echo "results in $OUT"
