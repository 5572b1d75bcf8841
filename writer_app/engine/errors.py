"""Typed errors of the engine, each worded for a writer, not a programmer."""

from __future__ import annotations


class EngineError(Exception):
    """Base class: anything the engine cannot do. str(err) is a message for people."""


class ModelFileError(EngineError):
    """The model file is missing, unreadable, not a GGUF, truncated or not a GPT-2."""


class ModelLoadError(EngineError):
    """llama.cpp refused a file that passed validation (out of memory, unsupported quant...)."""


class GenerationCancelled(EngineError):
    """A newer request superseded this one."""
