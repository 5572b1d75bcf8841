#!/usr/bin/env bash
# The one device command for the `gpu` profile, and what it needs, prepared here.
#
# A lent GPU comes for 15 minutes, once, bare (torch, transformers, tokenizers
# and numpy only) and offline; the working tree travels (64 MiB at most) and
# at most 8 files of 16 MiB come back. So:
#
#   bash recipes/default-model/gpu_kit.sh prepare --corpus ../shared/corpus
#       here: fills .carry/ (git-ignored) with the corpus, the gguf and diskcache
#       wheels, and this machine's llama_cpp package (x86-64, CPU build: it only
#       quantizes, evaluates and benchmarks; torch trains on the GPU)
#   bash recipes/default-model/gpu_kit.sh device [--profile gpu]
#       there, as the device call's command, with carry [".carry"]: installs the
#       carried packages, runs run.sh, and leaves in $OUT the q8_0 file in
#       15 MB pieces plus results.tar.xz (card, metrics, loss plot, JSON figures)
#   bash recipes/default-model/gpu_kit.sh join DIR
#       here: rejoins DIR/*.part-* into the q8_0 file and unpacks results.tar.xz;
#       then `run.sh --only bench --out DIR --profile gpu --corpus ...` measures
#       latency and KSR here on 2 threads and rewrites DIR/MODEL_CARD.md
#
# `device --profile smoke` runs the same command at a tiny size: run it here
# (OUT=/tmp/kit-out) before spending device minutes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
KIT="$ROOT/.carry"
NAME=writer-default
cmd=${1:-}; shift || true

case "$cmd" in
prepare)
  CORPUS=""
  while [ $# -gt 0 ]; do case "$1" in --corpus) CORPUS=$2; shift 2 ;; *) echo "unknown $1" >&2; exit 2 ;; esac; done
  [ -f "$CORPUS/val.txt.xz" ] || { echo "prepare: --corpus DIR with val.txt.xz and train-*.txt.xz" >&2; exit 2; }
  PY="$ROOT/.venv/bin/python"
  rm -rf "$KIT" && mkdir -p "$KIT/corpus" "$KIT/whl"
  cp "$CORPUS"/train-*.txt.xz "$CORPUS/val.txt.xz" "$CORPUS/MANIFEST.tsv" "$KIT/corpus/"
  "$PY" -m pip download -q --no-deps --only-binary=:all: -d "$KIT/whl" \
    "gguf==$("$PY" -c 'import importlib.metadata as m; print(m.version("gguf"))')" \
    "diskcache==$("$PY" -c 'import importlib.metadata as m; print(m.version("diskcache"))')"
  # The installed llama_cpp package, its duplicate .so copies turned back into
  # links (the wheel stores each library three times), compressed.
  SITE=$("$PY" -c 'import llama_cpp, os; print(os.path.dirname(os.path.dirname(llama_cpp.__file__)))')
  STAGE=$(mktemp -d)
  cp -r "$SITE/llama_cpp" "$STAGE/"
  find "$STAGE/llama_cpp" -name __pycache__ -prune -exec rm -rf {} +
  (cd "$STAGE/llama_cpp/lib" && for f in *.so.*.*; do
     base=${f%%.so.*}.so; major=${f#"$base".}; major=$base.${major%%.*}
     for link in "$base" "$major"; do [ -f "$link" ] && rm "$link" && ln -s "$f" "$link"; done
   done)
  tar -C "$STAGE" -cJf "$KIT/llama_cpp.tar.xz" llama_cpp
  rm -rf "$STAGE"
  du -sh "$KIT"
  echo "The working tree travels too: keep tree + .carry under 64 MiB (move resources/models/*.gguf aside for the call if needed)." >&2
  ;;
device)
  PROFILE=gpu
  while [ $# -gt 0 ]; do case "$1" in --profile) PROFILE=$2; shift 2 ;; *) echo "unknown $1" >&2; exit 2 ;; esac; done
  : "${OUT:?device: \$OUT must name the folder whose files come back}"
  SITE=/tmp/kit-site
  mkdir -p "$SITE"
  tar -C "$SITE" -xJf "$KIT/llama_cpp.tar.xz"
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$KIT"/whl/*.whl
  export PYTHONPATH="$SITE:$ROOT" PYTHONUNBUFFERED=1 PYTHON=python3
  RUN_OUT=/tmp/kit-run
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || true
  set +e
  bash "$HERE/run.sh" --corpus "$KIT/corpus" --out "$RUN_OUT" --profile "$PROFILE" --name "$NAME" --threads 2 2>&1 | tee "$RUN_OUT.log"
  status=${PIPESTATUS[0]}
  set -e
  mkdir -p "$RUN_OUT" && cp "$RUN_OUT.log" "$RUN_OUT/run.log"
  (cd "$RUN_OUT" && tar -cJf "$OUT/results.tar.xz" --ignore-failed-read run.log MODEL_CARD.md results \
     train/metrics.jsonl train/loss_curve.png train/training_summary.json train/MODEL_CARD.md 2>/dev/null || true)
  if [ -f "$RUN_OUT/$NAME-q8_0.gguf" ]; then
    split -b 15M -d "$RUN_OUT/$NAME-q8_0.gguf" "$OUT/$NAME-q8_0.gguf.part-"
    sha256sum "$RUN_OUT/$NAME-q8_0.gguf" | cut -d' ' -f1 > "$OUT/$NAME-q8_0.gguf.sha256"
  fi
  ls -la "$OUT"
  exit "$status"
  ;;
join)
  DIR=${1:?join DIR}
  cat "$DIR/$NAME-q8_0.gguf.part-"* > "$DIR/$NAME-q8_0.gguf"
  [ "$(sha256sum "$DIR/$NAME-q8_0.gguf" | cut -d' ' -f1)" = "$(cat "$DIR/$NAME-q8_0.gguf.sha256")" ] \
    || { echo "join: checksum mismatch" >&2; exit 1; }
  tar -C "$DIR" -xJf "$DIR/results.tar.xz"
  "$ROOT/.venv/bin/python" -c "import sys; from gpt2gguf.validate import validate_gguf; print(validate_gguf(sys.argv[1]))" "$DIR/$NAME-q8_0.gguf"
  ;;
*)
  echo "usage: gpu_kit.sh prepare --corpus DIR | device [--profile gpu|smoke] | join DIR" >&2; exit 2 ;;
esac
