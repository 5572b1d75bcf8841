"""Write this CPU's set of tests/engine/data/golden_suggestions.json from the engine as it is now.

    .venv/bin/python -m tests.engine.make_golden

Run it only when a change is MEANT to change suggestions (a new model, a new
rule), and say so in the commit: test_golden.py exists to catch every other
change. The cases are in golden_cases.py.

The set recorded is the one for the kernels llama.cpp computes with here
(golden_cases.kernels()). Sets of other kernels for the same model are kept;
those of another model are dropped, and named, since they no longer hold. To
record another kernel set on this machine, point LLAMA_CPP_LIB_PATH at a
llama.cpp built for it (for AVX2 on an AVX-512 machine: CMAKE_ARGS="-DGGML_NATIVE=OFF
-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
-DGGML_AVX512=OFF", the wheel built with --no-cache-dir into a folder of its own).
"""

from __future__ import annotations

import json
import sys
import time

from gpt2gguf.constants import default_model_path
from tests.engine.golden_cases import (
    GOLDEN_FILE,
    GROUPS,
    kernels,
    load_golden,
    model_sha256,
    run_group,
)


def main() -> int:
    """Run every golden group on the bundled model and write this CPU's set; return 0."""
    model = default_model_path()
    if model is None:
        print("no bundled model in resources/models", file=sys.stderr)
        return 1
    here, sha = kernels(), model_sha256(model)
    groups = {}
    for name, changes, actions in GROUPS:
        t0 = time.perf_counter()
        groups[name] = run_group(model, changes, actions)
        print(f"{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    sets = load_golden()
    for key in [k for k, s in sets.items() if s["model"] != sha and k != here]:
        print(f"dropped the set of {key}: recorded from another model", file=sys.stderr)
        del sets[key]
    sets[here] = {"model": sha, "groups": groups}
    GOLDEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN_FILE.write_text(
        json.dumps(dict(sorted(sets.items())), indent=1, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    print(f"wrote the set of {here} to {GOLDEN_FILE} ({len(sets)} sets)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
