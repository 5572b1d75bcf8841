"""The GPT-2 BPE tokenizer, loaded from resources/ or from a checkpoint."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from gpt2gguf.constants import TOKENIZER_DIR


def load_tokenizer(checkpoint_dir: Path | None = None) -> Tokenizer:
    """Return the checkpoint's own tokenizer.json if it has one, else the bundled GPT-2 BPE.

    Raises FileNotFoundError if neither exists (a broken install).
    """
    if checkpoint_dir is not None and (Path(checkpoint_dir) / "tokenizer.json").is_file():
        return Tokenizer.from_file(str(Path(checkpoint_dir) / "tokenizer.json"))
    path = TOKENIZER_DIR / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"the GPT-2 tokenizer is missing ({path}); regenerate it with scripts/extract_tokenizer.py"
        )
    return Tokenizer.from_file(str(path))
