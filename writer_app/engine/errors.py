"""Typed errors of the engine, each worded for a writer, not a programmer.

The model-file errors come from the GPT-2 GGUF contract, so the engine's base
class is the contract's: a `ModelFileError` is an `EngineError`.
"""

from __future__ import annotations

from gpt2gguf.errors import ModelError as EngineError
from gpt2gguf.errors import ModelFileError, ModelLoadError

__all__ = ["EngineError", "GenerationCancelled", "ModelFileError", "ModelLoadError"]


class GenerationCancelled(EngineError):
    """A newer request superseded this one."""

    @classmethod
    def superseded(cls) -> GenerationCancelled:
        """Return the error every cancelled request raises (one wording for all)."""
        return cls("a newer request superseded this one")
