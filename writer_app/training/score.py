"""Score the base and the trained model on the writer's held-out text, the same way.

Run as a process by the app when training ends (it loads llama.cpp, which the
app's own process never does):

    python -m writer_app.training.score BASE.gguf TRAINED.gguf val.txt --threads N

prints {"before": {...}, "after": {...}}: each `writer-finetune eval`'s result
(perplexity by the project's one protocol, finetune/evaluate.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

WINDOWS = 20  # of 512 tokens: enough for a held-out tenth of a short novel


def main(argv: list[str] | None = None) -> int:
    """Print the JSON scores of both models; exit 1 with a message on failure."""
    from finetune.errors import FinetuneError
    from finetune.evaluate import gguf_perplexity, read_eval_text

    p = argparse.ArgumentParser(prog="python -m writer_app.training.score")
    p.add_argument("base", type=Path)
    p.add_argument("trained", type=Path)
    p.add_argument("text", type=Path)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    try:
        text = read_eval_text(args.text)
        result = {
            key: gguf_perplexity(path, text, windows=WINDOWS, n_threads=args.threads)
            for key, path in (("before", args.base), ("after", args.trained))
        }
    except FinetuneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
