#!/usr/bin/env bash
# Set up everything on a fresh machine: a .venv with the app, the training
# extra and the test tools. llama-cpp-python builds from source (about 5
# minutes on 2 cores). For a GPU build, export CMAKE_ARGS="-DGGML_CUDA=on"
# (or "-DGGML_METAL=on") first.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -d .venv ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --upgrade pip >/dev/null
# Pin torch first: an unpinned torch pulls a multi-GB CUDA build.
.venv/bin/python -m pip install "torch==2.13.0"
.venv/bin/python -m pip install -e ".[finetune,dev]"
echo "installed: run .venv/bin/writer-app" >&2
