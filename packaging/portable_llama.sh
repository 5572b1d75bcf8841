#!/usr/bin/env bash
# Build llama-cpp-python as a portable CPU wheel for the desktop bundle, once per
# version and flags, and install it into .venv.
#
#   bash packaging/portable_llama.sh            # then: python packaging/build.py
#
# The default install compiles llama.cpp with GGML_NATIVE: for the build
# host's own instructions (AVX-512 on some machines), so the bundle could die
# with SIGILL on an older CPU. This build makes one CPU backend per
# instruction level (x64, sse42, sandybridge, haswell, skylakex, icelake,
# alderlake, sapphirerapids, zen4...), each a libggml-cpu-<variant>.so that
# ggml loads at run time after scoring the CPU; gpt2gguf.llama.load_cpu_variants()
# makes llama-cpp-python load them (it does not by itself: abetlen/llama-cpp-python#2069).
#
# It took 22 minutes on 2 cores. The wheel is kept in build/wheels/<version>-<flags hash>/,
# never in pip's cache (--no-cache-dir), so the compile happens once per version and flags.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
VERSION=${LLAMA_CPP_PYTHON_VERSION:-$("$PY" -c 'import llama_cpp; print(llama_cpp.__version__)')}
FLAGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON"
KEY=$(printf '%s' "$FLAGS" | sha256sum | cut -c1-12)
WHEELS="build/wheels/llama-cpp-python-$VERSION-$KEY"

if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  mkdir -p "$WHEELS"
  printf '%s\n' "$FLAGS" > "$WHEELS/FLAGS"
  echo "compiling llama-cpp-python $VERSION with $FLAGS (about 20 minutes on 2 cores)" >&2
  start=$(date +%s)
  CMAKE_ARGS="$FLAGS" "$PY" -m pip wheel --no-cache-dir --no-deps --no-binary llama-cpp-python \
    --wheel-dir "$WHEELS" "llama-cpp-python==$VERSION"
  echo "compiled in $(( $(date +%s) - start )) s" | tee "$WHEELS/BUILD_TIME" >&2
fi
"$PY" -m pip install --no-deps --force-reinstall "$WHEELS"/llama_cpp_python-*.whl

# The variants must sit beside libllama.so (llama_cpp/lib), where the bundle's
# spec and load_cpu_variants() look; move any the wheel put elsewhere.
LIB=$("$PY" -c 'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("llama_cpp").origin).parent / "lib")')
VENV=$("$PY" -c 'import sys; print(sys.prefix)')
find "$VENV" -name 'libggml-cpu-*.so' -not -path "$LIB/*" -exec cp -v {} "$LIB/" \;
ls "$LIB"/libggml-cpu-*.so >/dev/null || { echo "no CPU variants were built" >&2; exit 1; }
"$PY" -c 'from gpt2gguf.llama import cpu_variant; print("CPU variant on this host:", cpu_variant())'
