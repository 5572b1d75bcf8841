#!/usr/bin/env bash
# An A/B of training recipes at equal wall-clock minutes, continuing from one
# model (the shipped default), on this machine:
#
#   bash recipes/default-model/ab.sh --corpus ../shared/corpus --out runs/ab \
#       --from resources/models/writer-default-q8_0.gguf --minutes "3 6"
#
# Every arm starts from --from with the continue profile's settings (compile
# off, a 5-step warmup: arms are short) and the same seed, so the same data
# order; each differs from the first arm (AdamW, 8 layers, cosine) in one thing.
#
# Equal wall-clock minutes on a shared machine: the arms of one length run at
# the same time, one thread each, at the same nice level, so the kernel shares
# the cores out evenly and whatever else runs slows every arm alike. An arm
# that costs more per token (a deeper model, Muon's Newton-Schulz steps) gets
# fewer tokens in its minutes, as it would on a quiet machine. Each length in
# --minutes is a separate run with its schedule fitted to that length, so that
# the ranking can be checked at two lengths. Each result is exported to q8_0
# and scored by the protocol (60 windows x 512 tokens of val, llama.cpp).
# The table goes to OUT/ab.tsv and to stdout. Take no latency figures while
# this runs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CORPUS="" OUT="" FROM="" MINUTES="3 6" ARMS_ONLY=""
while [ $# -gt 0 ]; do
  case $1 in
    --corpus) CORPUS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --from) FROM=$2; shift 2 ;;
    --minutes) MINUTES=$2; shift 2 ;;
    --arms) ARMS_ONLY=$2; shift 2 ;;
    *) echo "usage: ab.sh --corpus DIR --out DIR --from FILE.gguf [--minutes \"3 6\"] [--arms \"NAME ...\"]" >&2; exit 2 ;;
  esac
done
[ -n "$CORPUS" ] && [ -n "$OUT" ] && [ -f "$FROM" ] || {
  echo "ab.sh: needs --corpus DIR, --out DIR and --from FILE.gguf (an existing file)" >&2; exit 2; }

# name|flags that set the arm apart (all else: continue.json)
ARMS=(
  "adamw-8-cosine|--optimizer adamw --schedule cosine"
  "muon-8-cosine|--optimizer muon --schedule cosine"
  "adamw-12-cosine|--optimizer adamw --schedule cosine --grow n_layer=12"
  "adamw-8-wsd|--optimizer adamw --schedule wsd"
)

PY=${PYTHON:-python}
[ -x "$ROOT/.venv/bin/python" ] && PY="$ROOT/.venv/bin/python"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TABLE="$OUT/ab.tsv"
# The continue profile, compiled off: each arm would compile on its own, at
# different moments, and compile time is not training time.
"$PY" -c 'import json, sys; c = json.load(open(sys.argv[1])); c["compile"] = False; json.dump(c, open(sys.argv[2], "w"), indent=1)' \
  "$HERE/continue.json" "$OUT/ab.json"
step() { echo "== $(date +%H:%M:%S) $*" >&2; }
train() {
  OMP_WAIT_POLICY=PASSIVE nice -n 5 "$PY" -m finetune.cli train --config "$OUT/ab.json" \
    --data "$CORPUS"/train-*.txt.xz --val-data "$CORPUS/val.txt.xz" --cache-dir "$OUT/token-cache" \
    --base "$FROM" --no-export --no-samples --threads 1 --warmup-steps 5 --eval-every 1000000 "$@"
}
eval_ppl() {  # FILE.gguf -> perplexity
  "$PY" -m finetune.cli eval "$1" --text "$CORPUS/val.txt.xz" --windows 60 --window-tokens 512 --json \
    | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["ppl"])'
}

if [ ! -f "$OUT/start.ppl" ]; then
  step "the start model by the protocol"
  eval_ppl "$FROM" > "$OUT/start.ppl"
fi
# Tokenize the corpus once, outside every arm's minutes.
step "token cache"
train --out "$OUT/warm" --max-steps 1 --overwrite --eval-every 1000000 > "$OUT/warm.log" 2>&1

[ -f "$TABLE" ] || printf 'minutes\tarm\tsteps\ttokens\tval_ppl_q8_0\n' > "$TABLE"
for minutes in $MINUTES; do
  started=()
  for arm in "${ARMS[@]}"; do
    name=${arm%%|*} flags=${arm#*|}
    [ -z "$ARMS_ONLY" ] || [[ " $ARMS_ONLY " == *" $name "* ]] || continue
    grep -q "^$minutes	$name	" "$TABLE" && continue
    run="$OUT/$minutes-min/$name"
    mkdir -p "$OUT/$minutes-min"
    step "$name, $minutes min (side by side)"
    # shellcheck disable=SC2086  # flags are words
    train --out "$run" --max-minutes "$minutes" --overwrite $flags > "$run.log" 2>&1 &
    started+=("$!:$name")
  done
  for job in "${started[@]}"; do
    pid=${job%%:*} name=${job#*:} run="$OUT/$minutes-min/${job#*:}"
    wait "$pid" || { echo "ab.sh: arm $name failed; see $run.log" >&2; tail -5 "$run.log" >&2; continue; }
    "$PY" -m finetune.cli export "$run/model" --out "$run/model-q8_0.gguf" --quant q8_0 --json > "$run/export.json"
    ppl=$(eval_ppl "$run/model-q8_0.gguf")
    read -r steps tokens < <("$PY" -c 'import json, sys; s = json.load(open(sys.argv[1])); print(s["steps"], s["tokens"])' \
      "$run/training_summary.json")
    printf '%s\t%s\t%s\t%s\t%.2f\n' "$minutes" "$name" "$steps" "$tokens" "$ppl" | tee -a "$TABLE"
  done
done
echo "start model: $(cat "$OUT/start.ppl")"
column -t -s $'\t' "$TABLE"
