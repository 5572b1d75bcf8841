"""Typed errors of writer-finetune. The CLI prints them without a traceback."""

from __future__ import annotations


class FinetuneError(Exception):
    """Base class: str(err) is a message for people."""


class CheckpointError(FinetuneError):
    """A checkpoint dir is missing, unreadable or not a GPT-2."""


class ExportError(FinetuneError):
    """Converting, quantizing or writing a GGUF failed."""


class CorpusError(FinetuneError):
    """Training text is missing, empty, binary or absurd."""
