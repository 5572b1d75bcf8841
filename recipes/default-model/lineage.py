"""The default model's lineage: one row per training round, and the rule for shipping one.

    lineage.py round --out OUT --from START.gguf
        after a round's eval: OUT/results/round.json (perplexity before and after)
        and OUT/lineage.json (the start file's lineage plus this round's row)
    lineage.py count --from START.gguf
        prints how many rounds START's lineage holds (run.sh offsets the seed by it)
    lineage.py ship --out OUT --name NAME --to resources/models
        copies OUT's q8_0 file, card, loss curve and lineage into --to, only
        when the round lowered val perplexity; otherwise it ships nothing

The lineage of a shipped model lives beside it as lineage.json, so the next
round, started `--from` that file, extends it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path

from gpt2gguf.files import atomic_write

LINEAGE_FILE = "lineage.json"
# The CPU flags that decide training speed; the rest would only be noise in the card.
SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def load(path: Path) -> dict | list:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def cpu_description() -> tuple[str, list[str]]:
    """(CPU model name, the speed-relevant flags it has) from /proc/cpuinfo."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name") and ":" in line:
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and ":" in line:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores", [f for f in SPEED_FLAGS if f in flags]


def round_row(out: Path, start: Path) -> dict:
    """This round's lineage row, from the files the recipe left in OUT."""
    summary = load(out / "train" / "training_summary.json")
    before = load(out / "results" / "eval-start.json").get("ppl")
    after = load(out / "results" / "eval-q8_0.json").get("ppl")
    cpu, flags = cpu_description()
    return {
        "start": start.name,
        "cpu": cpu,
        "cpu_flags": flags,
        "dtype": summary.get("precision"),
        "minutes": round(summary.get("wall_seconds", 0) / 60, 1),
        "tokens": summary.get("tokens"),
        "val_ppl_before": before,
        "val_ppl_after": after,
        "improved": before is not None and after is not None and after < before,
    }


def cmd_round(args: argparse.Namespace) -> int:
    row = round_row(args.out, args.start)
    rows = rounds_before(args.start)
    (args.out / LINEAGE_FILE).write_text(json.dumps([*rows, row], indent=1) + "\n")
    (args.out / "results" / "round.json").write_text(json.dumps(row, indent=1) + "\n")
    verdict = "improved" if row["improved"] else "did NOT improve"
    print(
        f"round: val perplexity {row['val_ppl_before']} -> {row['val_ppl_after']} ({verdict})",
        file=sys.stderr,
    )
    return 0


def rounds_before(start: Path) -> list:
    previous = load(start.parent / LINEAGE_FILE)
    return list(previous) if isinstance(previous, list) else []


def cmd_count(args: argparse.Namespace) -> int:
    print(len(rounds_before(args.start)))
    return 0


def cmd_ship(args: argparse.Namespace) -> int:
    row = load(args.out / "results" / "round.json")
    if not row.get("improved"):
        print(
            f"not shipped: val perplexity {row.get('val_ppl_before')} -> {row.get('val_ppl_after')} "
            "is no improvement; resources/models is unchanged",
            file=sys.stderr,
        )
        return 0
    files = {
        args.out / f"{args.name}-q8_0.gguf": f"{args.name}-q8_0.gguf",
        args.out / "MODEL_CARD.md": "MODEL_CARD.md",
        args.out / "train" / "loss_curve.png": "loss_curve.png",
        args.out / LINEAGE_FILE: LINEAGE_FILE,
    }
    missing = [str(src) for src in files if not src.is_file()]
    if missing:
        print(f"not shipped: missing {', '.join(missing)}", file=sys.stderr)
        return 1
    for src, name in files.items():
        # Copied beside the target, then renamed: the app never sees half a model.
        with open(src, "rb") as f:
            atomic_write(args.to / name, lambda out, f=f: shutil.copyfileobj(f, out))
    print(
        f"shipped to {args.to}: val perplexity {row['val_ppl_before']} -> {row['val_ppl_after']}",
        file=sys.stderr,
    )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("round", help="write this round's lineage row and round.json")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--from", dest="start", type=Path, required=True)
    c = sub.add_parser("count", help="how many rounds the start file's lineage holds")
    c.add_argument("--from", dest="start", type=Path, required=True)
    s = sub.add_parser("ship", help="copy the round's model into --to if it improved")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--name", required=True)
    s.add_argument("--to", type=Path, required=True)
    args = ap.parse_args()
    return {"round": cmd_round, "count": cmd_count, "ship": cmd_ship}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
