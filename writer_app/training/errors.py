"""The one error type of the training package: str(err) is a message for people."""

from __future__ import annotations


class TrainingError(Exception):
    """Training cannot start or go on, for a reason the writer can act on."""
