"""Errors about a model, each worded for a writer, not a programmer."""

from __future__ import annotations


class ModelError(Exception):
    """Base class: anything a model cannot do. str(err) is a message for people."""


class ModelFileError(ModelError):
    """The model file is missing, unreadable, not a GGUF, truncated or not a GPT-2."""


class ModelLoadError(ModelError):
    """llama.cpp refused a file that passed validation (out of memory, unsupported quant...)."""
