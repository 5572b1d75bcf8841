#!/usr/bin/env bash
# The default model, from corpus to shippable files, in one command:
#
#   bash recipes/default-model/run.sh --corpus ../shared/corpus --out runs/default --profile cpu
#
# Profiles (a settings file each, beside this script):
#   smoke  the whole path at a tiny size on a small slice of the corpus, minutes on a CPU
#   cpu    sized for a 2-core machine: about 95 minutes of training
#   gpu    sized for one H100: at most 8 minutes of wall time, tokenizing and export included
#   cpu-bf16  the cpu profile at 8 layers, bf16 and compiled, for CPUs with AVX-512 bf16 or AMX
#   continue  a round that continues a model: use with --from (below)
#
# Continuing the shipped model instead of starting from scratch:
#
#   bash recipes/default-model/run.sh --corpus ../shared/corpus --out runs/round2 \
#       --profile continue --from resources/models/writer-default-q8_0.gguf [--ship]
#
# --from FILE.gguf trains from that model (writer-finetune train --base FILE),
# scores FILE by the same protocol first, and writes results/round.json with
# the perplexity before and after. --ship then copies the new q8_0 file, its
# card, loss curve and lineage into resources/models/ -- only if val perplexity
# improved; otherwise it ships nothing and says so.
#
# Flags after -- go to writer-finetune train and override the profile's (for example
# -- --max-minutes 112 --lr 6e-4).
#
# --corpus holds train-*.txt.xz and val.txt.xz (see the corpus README). val is
# never trained on: it only scores the model. Everything is written under --out:
#   train/            the writer-finetune train run (checkpoints, metrics.jsonl, loss_curve.png)
#   <name>-f32.gguf, <name>-q8_0.gguf, <name>-q4_k_m.gguf   (each verified against PyTorch)
#   results/*.json    export, eval and writer-bench figures (calibrate.json: the
#                     q8_0's suggestion confidence, chosen on the val passage and
#                     stored in the file, which ksr and the app then use)
#   MODEL_CARD.md     all of it
# The script stops at the first step that fails. Re-running it resumes training
# from the last checkpoint (a finished run is not retrained).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CORPUS="" OUT="" PROFILE="" NAME="writer-default" THREADS=2 ONLY="" FROM="" SHIP=""
TRAIN_EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; TRAIN_EXTRA=("$@"); break ;;
    --only) ONLY=$2; shift 2 ;;
    --corpus) CORPUS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --profile) PROFILE=$2; shift 2 ;;
    --name) NAME=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --from) FROM=$2; shift 2 ;;
    --ship) SHIP=1; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$CORPUS" ] && [ -n "$OUT" ] && [ -n "$PROFILE" ] || {
  echo "usage: run.sh --corpus DIR --out DIR --profile smoke|cpu|cpu-bf16|gpu|continue [--from FILE.gguf [--ship]] [--name NAME] [--threads N] [--only bench] [-- TRAIN FLAGS]" >&2; exit 2; }
CONFIG="$HERE/$PROFILE.json"
[ -f "$CONFIG" ] || { echo "run.sh: no profile '$PROFILE' ($CONFIG)" >&2; exit 2; }
[ -f "$CORPUS/val.txt.xz" ] || { echo "run.sh: $CORPUS/val.txt.xz not found" >&2; exit 2; }
ls "$CORPUS"/train-*.txt.xz >/dev/null 2>&1 || { echo "run.sh: no $CORPUS/train-*.txt.xz" >&2; exit 2; }
if [ -n "$FROM" ]; then
  [ -f "$FROM" ] || { echo "run.sh: --from $FROM: no such file" >&2; exit 2; }
  FROM=$(cd "$(dirname "$FROM")" && pwd)/$(basename "$FROM")
elif [ "$PROFILE" = continue ]; then
  echo "run.sh: the continue profile needs --from FILE.gguf (the model to continue)" >&2; exit 2
fi
[ -z "$SHIP" ] || [ -n "$FROM" ] || { echo "run.sh: --ship needs --from (it ships only an improvement)" >&2; exit 2; }

# Training: OpenMP threads that wait passively instead of spinning. On a small,
# busy machine spinning threads steal the time slices their partners need
# (measured here: 181 -> 430-670 training tokens/s on 2 shared cores). Only
# for training: llama.cpp's many short graph nodes per token want the default.
TRAIN_OMP=${OMP_WAIT_POLICY:-PASSIVE}
PY=${PYTHON:-python}
[ -x "$ROOT/.venv/bin/python" ] && PY="$ROOT/.venv/bin/python"
mkdir -p "$OUT/results"
OUT=$(cd "$OUT" && pwd)
step() { echo "== $(date +%H:%M:%S) $*" >&2; }

TRAIN_DATA=("$CORPUS"/train-*.txt.xz)
EVAL_WINDOWS=60 PASSAGE_CHARS=3000 BENCH_LIMIT=()
if [ "$PROFILE" = smoke ]; then
  # A small slice (the first 400 kB of the first shard), fewer eval windows and
  # a shorter bench passage, so that the whole path runs in a few minutes.
  mkdir -p "$OUT/slice"
  xz -dc "${TRAIN_DATA[0]}" | head -c 400000 > "$OUT/slice/train.txt" || true
  TRAIN_DATA=("$OUT/slice/train.txt")
  EVAL_WINDOWS=6 PASSAGE_CHARS=600 BENCH_LIMIT=(--max-requests 20)
elif [ "$PROFILE" = gpu ]; then
  # The device's minutes go to training: a short bench there, and the full one
  # here afterwards, on the returned file (run.sh --only bench).
  PASSAGE_CHARS=1000 BENCH_LIMIT=(--max-requests 60)
fi
[ "$ONLY" = bench ] && PASSAGE_CHARS=3000 BENCH_LIMIT=()

if [ "$ONLY" != bench ]; then
START=()
if [ -n "$FROM" ]; then
  START=(--base "$FROM")
  # Windows are drawn from (seed, step): a round with the seed of the round before would
  # read the same windows again. Each round's seed is the profile's plus the number of
  # rounds the start file's lineage already holds (a --seed after -- still wins).
  ROUNDS=$("$PY" "$HERE/lineage.py" count --from "$FROM")
  SEED=$(( $("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("seed", 1337))' "$CONFIG") + ROUNDS ))
  START+=(--seed "$SEED")
  if [ ! -f "$OUT/results/eval-start.json" ]; then
    step "0/5 eval the start file by the protocol ($EVAL_WINDOWS windows x 512 tokens)"
    "$PY" -m finetune.cli eval "$FROM" --text "$CORPUS/val.txt.xz" --windows "$EVAL_WINDOWS" \
      --window-tokens 512 --json > "$OUT/results/eval-start.json"
  fi
fi
step "1/5 train ($PROFILE${FROM:+, from $FROM})"
OMP_WAIT_POLICY=$TRAIN_OMP nice -n 5 "$PY" -m finetune.cli train --config "$CONFIG" --data "${TRAIN_DATA[@]}" \
  --val-data "$CORPUS/val.txt.xz" --out "$OUT/train" --cache-dir "$OUT/token-cache" \
  --name "$NAME" --resume "${START[@]}" "${TRAIN_EXTRA[@]}"

step "2/5 export f32, q8_0, q4_k_m (each verified)"
for q in f32 q8_0 q4_k_m; do
  "$PY" -m finetune.cli export "$OUT/train/model" --out "$OUT/$NAME-$q.gguf" --quant "$q" \
    --name "$NAME" --license "MIT (weights); trained on public-domain text" --json > "$OUT/results/export-$q.json"
done

step "3/5 eval on val by the protocol ($EVAL_WINDOWS windows x 512 tokens, spread evenly)"
# All cores: perplexity is not a latency figure.
for q in f32 q8_0 q4_k_m; do
  "$PY" -m finetune.cli eval "$OUT/$NAME-$q.gguf" --text "$CORPUS/val.txt.xz" --windows "$EVAL_WINDOWS" \
    --window-tokens 512 --json > "$OUT/results/eval-$q.json"
done
if [ -n "$FROM" ]; then
  # This round's row of the lineage: start file, CPU, dtype, minutes, tokens, ppl before/after.
  "$PY" "$HERE/lineage.py" round --out "$OUT" --from "$FROM"
fi
fi

step "4/5 writer-bench calibrate --write, latency and ksr (q8_0, $THREADS threads, val passage)"
VAL_PASSAGE="$OUT/results/val-passage.txt"
"$PY" - "$CORPUS/val.txt.xz" "$VAL_PASSAGE" "$PASSAGE_CHARS" <<'PYEOF'
import lzma, sys
from gpt2gguf.constants import EOS_TEXT
# A passage of about PASSAGE_CHARS characters from the middle of val, cut at paragraph starts.
n = int(sys.argv[3])
text = lzma.open(sys.argv[1], "rt", encoding="utf-8").read().replace(EOS_TEXT, "")
mid = text.find("\n\n", len(text) // 2) + 2
end = text.rfind("\n\n", mid, mid + n)
open(sys.argv[2], "w", encoding="utf-8").write(text[mid:end if end > mid else mid + n])
PYEOF
# The q8_0's own suggestion confidence: the most ksr_word with acceptance >= 0.45 on the
# passage, stored in the file (GGUF metadata), so ksr below and the app use it.
"$PY" -m writer_app.bench calibrate --model "$OUT/$NAME-q8_0.gguf" --text "$VAL_PASSAGE" \
  --threads "$THREADS" --chars "$PASSAGE_CHARS" --write --json > "$OUT/results/calibrate.json"
"$PY" -m writer_app.bench latency --model "$OUT/$NAME-q8_0.gguf" --text "$VAL_PASSAGE" --threads "$THREADS" \
  --n-ctx 512 --json "${BENCH_LIMIT[@]}" > "$OUT/results/latency.json"
"$PY" -m writer_app.bench ksr --model "$OUT/$NAME-q8_0.gguf" --text "$VAL_PASSAGE" --threads "$THREADS" \
  --json > "$OUT/results/ksr.json"

step "5/5 MODEL_CARD.md"
"$PY" "$HERE/make_card.py" --out "$OUT" --name "$NAME" --profile "$PROFILE" --corpus "$CORPUS"
if [ -n "$SHIP" ]; then
  step "6/6 ship to resources/models if val perplexity improved"
  "$PY" "$HERE/lineage.py" ship --out "$OUT" --name "$NAME" --to "$ROOT/resources/models"
fi
step "done: $OUT/MODEL_CARD.md"
