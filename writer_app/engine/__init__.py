"""The completion engine: suggestions from a GPT-2 GGUF via llama.cpp. Imports no Qt.

    from writer_app.engine import Engine, EngineConfig
    with Engine(EngineConfig(model_path=path)) as engine:
        suggestion = engine.suggest("The dragon flew over the")

One Engine is used from one thread only (see engine.py).
"""

from writer_app.engine.config import EngineConfig, Suggestion
from writer_app.engine.engine import Engine
from writer_app.engine.errors import (
    EngineError,
    GenerationCancelled,
    ModelFileError,
    ModelLoadError,
)
from writer_app.engine.typethrough import type_through

__all__ = [
    "Engine",
    "EngineConfig",
    "Suggestion",
    "EngineError",
    "GenerationCancelled",
    "ModelFileError",
    "ModelLoadError",
    "type_through",
]
