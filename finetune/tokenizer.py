"""The GPT-2 BPE tokenizer: a checkpoint's own, else the bundled one in resources/."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from gpt2gguf.constants import TOKENIZER_DIR

TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "merges.txt")


def _holds_tokenizer(folder: Path) -> bool:
    return (folder / "tokenizer.json").is_file() or (
        (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file()
    )


def tokenizer_dir(checkpoint_dir: str | Path | None = None) -> Path:
    """Return the folder whose tokenizer a checkpoint uses: its own when it holds one
    (tokenizer.json, or vocab.json with merges.txt), else the bundled GPT-2 BPE's.

    The one rule for the trainer, the saved model and the GGUF export alike.
    Raises FileNotFoundError when the bundled tokenizer is needed and missing
    (a broken install).
    """
    if checkpoint_dir is not None and Path(checkpoint_dir).is_dir():
        if _holds_tokenizer(Path(checkpoint_dir)):
            return Path(checkpoint_dir)
    if not _holds_tokenizer(TOKENIZER_DIR):
        raise FileNotFoundError(
            f"the GPT-2 tokenizer is missing ({TOKENIZER_DIR}); "
            "regenerate it with scripts/extract_tokenizer.py"
        )
    return TOKENIZER_DIR


def load_tokenizer(checkpoint_dir: str | Path | None = None) -> Tokenizer:
    """Return the tokenizer of `tokenizer_dir(checkpoint_dir)`.

    Raises FileNotFoundError if there is none (a broken install).
    """
    folder = tokenizer_dir(checkpoint_dir)
    if (folder / "tokenizer.json").is_file():
        return Tokenizer.from_file(str(folder / "tokenizer.json"))
    # A checkpoint saved with only the slow tokenizer's files: GPT-2's byte-level BPE.
    from tokenizers import decoders, models, pre_tokenizers

    tokenizer = Tokenizer(
        models.BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt"))
    )
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer
