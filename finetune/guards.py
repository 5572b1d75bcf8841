"""The checks before a run writes into its output folder, so that hours of
training are never replaced or mixed up by accident.

- A folder that holds a checkpoint is continued only with --resume and
  replaced only with --overwrite; without either the run is refused.
- --resume continues on the training text the run started on. What that text
  was is kept in OUT/training-text.json: a fingerprint of the files' names,
  sizes and modification times (not their bytes: a corpus can be gigabytes,
  and the token cache reads them anyway). Other text needs --allow-new-text.

The caller holds the folder's lock (finetune.locks) around these.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from finetune import corpus
from finetune.checkpoint import STATE_FILE
from finetune.config import TrainConfig
from finetune.errors import RefusedError, TextChangedError
from gpt2gguf.files import atomic_write

TEXT_FILE = "training-text.json"
# What --overwrite replaces: the old run's training state and the record of it.
# Nothing else in OUT (an exported GGUF, the writer's own files) is touched.
REPLACED = ("checkpoint", "best", "metrics.jsonl", TEXT_FILE)


@dataclass
class TextFingerprint:
    """The training and held-out files a run trains on, in short."""

    digest: str
    files: int
    bytes: int

    def words(self) -> str:
        """Return e.g. "3 files, 12,345 bytes"."""
        return f"{self.files} file{'s' if self.files != 1 else ''}, {self.bytes:,} bytes"


def text_fingerprint(cfg: TrainConfig) -> TextFingerprint:
    """Return the fingerprint of --data and --val-data. Raises CorpusError when
    either names no text files."""
    h = hashlib.blake2b(digest_size=16)
    count = total = 0
    for tag, specs in (("train", cfg.data), ("val", cfg.val_data or [])):
        for path in corpus.find_files(specs) if specs else []:
            st = path.stat()
            # The name, not the whole path: a corpus folder moved elsewhere is the same text.
            h.update(f"{tag}|{path.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
            count, total = count + 1, total + st.st_size
    return TextFingerprint(h.hexdigest(), count, total)


def holds_checkpoint(out: Path) -> bool:
    """Return whether `out` holds a run's checkpoint (what --resume continues)."""
    return (Path(out) / "checkpoint" / STATE_FILE).is_file()


def prepare_output(cfg: TrainConfig) -> None:
    """Check that the run may write into cfg.out, clear what --overwrite replaces,
    and record the training text.

    Raises RefusedError when cfg.out holds a checkpoint and neither --resume nor
    --overwrite is given, TextChangedError when --resume meets other training
    text without --allow-new-text, and CorpusError for data that names no files.
    """
    out = Path(cfg.out)
    saved = holds_checkpoint(out)
    if saved and not (cfg.resume or cfg.overwrite):
        raise RefusedError(
            f"{out} already holds a training run (its checkpoint is in {out / 'checkpoint'}): "
            "continue it with --resume, start over in it with --overwrite, "
            "or give another --out"
        )
    now = text_fingerprint(cfg)
    if cfg.resume and saved:
        before = _read_fingerprint(out)
        if before is not None and before.digest != now.digest:
            if not cfg.allow_new_text:
                raise TextChangedError(
                    f"the training text changed since the run in {out} started "
                    f"({before.words()} then, {now.words()} now): to continue on the new "
                    "text, give --resume --allow-new-text; to start over, --overwrite"
                )
            print(
                f"--allow-new-text: continuing on the new training text ({now.words()})",
                file=sys.stderr,
            )
    if cfg.overwrite:
        for name in REPLACED:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    atomic_write(out / TEXT_FILE, json.dumps(asdict(now), indent=1).encode())


def _read_fingerprint(out: Path) -> TextFingerprint | None:
    """The fingerprint a run recorded, or None for a run from before there was one
    (or a record that cannot be read: then the text is not held against the run)."""
    try:
        return TextFingerprint(**json.loads((out / TEXT_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
