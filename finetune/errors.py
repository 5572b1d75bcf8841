"""Typed errors of writer-finetune. The CLI prints them without a traceback, as one
line, and exits with the error's `exit_code` (finetune.outputs.ExitCode)."""

from __future__ import annotations

from finetune.outputs import ExitCode


class FinetuneError(Exception):
    """Base class: str(err) is a message for people."""

    exit_code = ExitCode.FAILED


class CheckpointError(FinetuneError):
    """A checkpoint dir is missing, unreadable or not a GPT-2."""


class ExportError(FinetuneError):
    """Converting, quantizing or writing a GGUF failed."""


class CorpusError(FinetuneError):
    """Training text is missing, empty, binary or absurd."""


class RefusedError(FinetuneError):
    """A request writer-finetune will not carry out as given: bad settings, or an
    output folder holding a run that neither --resume nor --overwrite was given for."""

    exit_code = ExitCode.REFUSED


class SettingError(RefusedError):
    """One setting is out of its range or of the wrong kind; `name` is the field's."""

    def __init__(self, message: str, name: str):
        super().__init__(message)
        self.name = name


class TextChangedError(RefusedError):
    """--resume onto training text other than the run started on."""

    exit_code = ExitCode.TEXT_CHANGED


class RunLockedError(FinetuneError):
    """Another training run holds the output folder."""

    exit_code = ExitCode.LOCKED
