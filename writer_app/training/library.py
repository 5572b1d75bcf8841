"""The trained models: one folder each under the user data dir, with a JSON card.

<data dir>/models/<run>/card.json   date, base, data size, score, the GGUF
<data dir>/models/<run>/data/       the training texts and the held-out val.txt
<data dir>/models/<run>/train/      writer-finetune's --out (metrics.jsonl, the GGUF)

The library is private, as the whole data folder is (core/paths.py): folders
0700, cards 0600. Cards are read through the state-file guard: a damaged one
is moved aside (card.json.bad-...) and the writer told, and the other models
are still listed.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from gpt2gguf.constants import default_model_path
from writer_app.core.paths import data_dir, private_dir, private_file
from writer_app.core.state_files import read_state
from writer_app.training.errors import TrainingError

CARD = "card.json"


def models_dir() -> Path:
    """Return the folder that holds one folder per trained model."""
    return data_dir() / "models"


def new_run_dir(now: float | None = None) -> Path:
    """Return a new, not yet existing run folder named for the time, e.g. 2026-11-28-1730.

    The library folder itself is made (private, 0700) if it is missing; raises OSError if
    it cannot be.
    """
    private_dir(models_dir())
    stamp = time.strftime("%Y-%m-%d-%H%M", time.localtime(now))
    run = models_dir() / stamp
    n = 2
    while run.exists():
        run = models_dir() / f"{stamp}-{n}"
        n += 1
    return run


@dataclass
class ModelCard:
    """What the library says of one trained model (card.json)."""

    gguf: str  # relative to the run folder
    created: str  # local time, "2026-11-28 17:30"
    base: str  # the model it was trained from
    train_words: int
    val_words: int
    minutes: float
    ppl_before: float | None = None  # the base, on the held-out text (llama.cpp protocol)
    ppl_after: float | None = None  # the trained model, same text, same protocol
    files: list[str] = field(default_factory=list)  # the writer's texts it learnt from
    folder: Path | None = None  # set when read back; not stored

    @property
    def gguf_path(self) -> Path:
        """Return the trained GGUF's absolute path."""
        return (self.folder or Path()) / self.gguf

    @property
    def better(self) -> bool:
        """Whether the trained model scores lower perplexity than its base."""
        return (
            self.ppl_before is not None
            and self.ppl_after is not None
            and self.ppl_after < self.ppl_before
        )

    def summary(self) -> str:
        """Return a one-line description for people."""
        score = (
            f"perplexity {self.ppl_before:.1f} → {self.ppl_after:.1f}"
            if self.ppl_before is not None and self.ppl_after is not None
            else "not scored"
        )
        return (
            f"{self.created} · from {Path(self.base).name} · "
            f"{self.train_words + self.val_words:,} words · {score}"
        )


def write_card(run: Path, card: ModelCard) -> Path:
    """Write card.json into the run folder (atomically); return its path."""
    data = {k: v for k, v in asdict(card).items() if k != "folder"}
    path = run / CARD
    private_file(path, json.dumps(data, indent=1).encode())
    return path


# The type of every stored field: a card that says otherwise is damaged.
CARD_TYPES = {
    "gguf": str,
    "created": str,
    "base": str,
    "train_words": int,
    "val_words": int,
    "minutes": (int, float),
    "ppl_before": (int, float, type(None)),
    "ppl_after": (int, float, type(None)),
    "files": list,
}


def read_card(run: Path) -> ModelCard:
    """Return the card of a run folder. Raises TrainingError if it is missing or damaged."""
    try:
        return _parse_card(run, (run / CARD).read_bytes())
    except (OSError, ValueError, TypeError, RecursionError) as exc:
        raise TrainingError(f"{run / CARD} cannot be read: {exc}") from exc


def _parse_card(run: Path, raw: bytes) -> ModelCard:
    # Raises ValueError or TypeError for anything a card must not be.
    data = json.loads(raw.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("a card is a JSON object")
    for name, kind in CARD_TYPES.items():
        if name in data and (not isinstance(data[name], kind) or isinstance(data[name], bool)):
            raise TypeError(f"{name} has the wrong type ({type(data[name]).__name__})")
    if not all(isinstance(f, str) for f in data.get("files", [])):
        raise TypeError("files must be file names")
    card = ModelCard(**{f.name: data[f.name] for f in fields(ModelCard) if f.name in data})
    card.folder = run
    return card


def list_models(root: Path | None = None) -> list[ModelCard]:
    """Return the trained models whose GGUF exists, newest first.

    Never raises: a damaged card is moved aside and reported (core/state_files.py),
    and a run without a card (still training) is skipped.
    """
    root = root or models_dir()
    cards = []
    for run in sorted(root.glob("*/"), reverse=True) if root.is_dir() else []:
        card = read_state(
            run / CARD,
            lambda raw, run=run: _parse_card(run, raw),
            f"the card of the trained model {run.name}",
        )
        if card is not None and card.gguf_path.is_file():
            cards.append(card)
    return cards


def delete_model(card: ModelCard, in_use: Path | None) -> None:
    """Delete a trained model's folder.

    Raises TrainingError, deleting nothing, for the bundled default model, for
    the model in use (`in_use`: switch back first), and for anything outside
    the library.
    """
    target = card.gguf_path.resolve()
    bundled = default_model_path()
    if bundled is not None and target == bundled.resolve():
        raise TrainingError("The bundled default model cannot be deleted.")
    if in_use is not None and target == Path(in_use).resolve():
        raise TrainingError(
            "This is the model in use: switch to another model first, then delete it."
        )
    discard_run(card.folder or target.parent, in_use)


def discard_run(run: Path, in_use: Path | None) -> None:
    """Delete a run's folder: its models, its training state and its copies of the
    writer's texts (never the writer's own files, which stay where they are).

    Raises TrainingError, deleting nothing, for a folder outside the library and
    when the model in use (`in_use`) is inside it.
    """
    folder = Path(run).resolve()
    if folder.parent != models_dir().resolve():
        raise TrainingError(f"{folder} is not in the library of trained models; not deleted.")
    if in_use is not None and folder in Path(in_use).resolve().parents:
        raise TrainingError(
            "This run's model is the one in use: switch to another model in "
            "Settings → Model first, then discard it."
        )
    shutil.rmtree(folder)
