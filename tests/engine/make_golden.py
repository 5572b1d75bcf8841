"""Write tests/engine/data/golden_suggestions.json from the engine as it is now.

    .venv/bin/python -m tests.engine.make_golden

Run it only when a change is MEANT to change suggestions (a new model, a new
rule), and say so in the commit: test_golden.py exists to catch every other
change. The cases are in golden_cases.py.
"""

from __future__ import annotations

import json
import sys
import time

from gpt2gguf.constants import default_model_path
from tests.engine.golden_cases import GOLDEN_FILE, GROUPS, run_group


def main() -> int:
    """Run every golden group on the bundled model and write the JSON file; return 0."""
    model = default_model_path()
    if model is None:
        print("no bundled model in resources/models", file=sys.stderr)
        return 1
    results = {}
    for name, changes, actions in GROUPS:
        t0 = time.perf_counter()
        results[name] = run_group(model, changes, actions)
        print(f"{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    GOLDEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN_FILE.write_text(
        json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {GOLDEN_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
