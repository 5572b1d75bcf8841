"""GPT-2's constants, and where the bundled tokenizer and default model live.

The project is installed in editable mode (see README.md), so resources/ sits
beside the packages at the repository root.
"""

from __future__ import annotations

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parents[1] / "resources"
TOKENIZER_DIR = RESOURCES_DIR / "tokenizer"
MODELS_DIR = RESOURCES_DIR / "models"

# GPT-2's <|endoftext|>: documents are joined with it, and it is BOS and EOS.
EOS_TOKEN_ID = 50256
EOS_TEXT = "<|endoftext|>"
GPT2_VOCAB_SIZE = 50257


def default_model_path() -> Path | None:
    """Return the bundled default model (the q8_0 GGUF in resources/models), or None."""
    found = sorted(MODELS_DIR.glob("*-q8_0.gguf"))
    return found[0] if found else None
