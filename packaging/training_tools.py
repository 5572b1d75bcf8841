"""The bundle's training-tools.json: the training packages it leaves out, pinned to the
releases in the build's environment, and how much disk they take there.

The app reads it (writer_app.training.tools.load_spec) to offer the one-time
install from Model → Train on My Writing…: the size is shown before anything is
downloaded, and pip gets exactly these releases, the ones the bundle was built
and tested with.

    python packaging/training_tools.py [--index-url URL]   # prints the JSON
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# What training imports that the bundle leaves out: finetune's own imports (torch,
# transformers, tokenizers through them, gguf to write the model, tqdm for its log).
PACKAGES = ("torch", "transformers", "gguf", "tqdm")
# torch's CPU builds: PyPI's Linux torch is the CUDA build, several GB.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


class ToolsError(Exception):
    """A training package is not installed where the bundle is built."""


def closure(names) -> dict[str, metadata.Distribution]:
    """Return the installed distributions of `names` and everything they require
    (without extras), by canonical name. Raises ToolsError for a name not installed."""
    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise ToolsError(f"{name} is not installed (pip install -e '.[finetune]')") from None
        found[name] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return found


def installed_bytes(dists) -> int:
    """Return the bytes the distributions' files take: their RECORDs' sizes, and for the
    bytecode pip compiled at install (listed without one) the file's own."""
    total = 0
    for dist in dists:
        for f in dist.files or []:
            if f.size is not None:
                total += f.size
            else:
                path = Path(f.locate())
                total += path.stat().st_size if path.is_file() else 0
    return total


def tools_spec(index_url: str = TORCH_CPU_INDEX) -> dict:
    """Return training-tools.json's content for this environment."""
    pinned = [f"{name}=={metadata.version(name)}" for name in PACKAGES]
    return {
        "requirements": pinned,
        "installed_bytes": installed_bytes(closure(PACKAGES).values()),
        "index_url": index_url,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-url", default=TORCH_CPU_INDEX, help="'' for pip's own")
    args = parser.parse_args(argv)
    try:
        print(json.dumps(tools_spec(args.index_url), indent=1))
    except ToolsError as err:
        print(f"training tools: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
