"""What the engine is told and what it answers: plain dataclasses of JSON-able fields, no Qt.

- `EngineConfig`: every setting of the engine, with its default (here and
  nowhere else). The app keeps one in ui/settings.py's AppSettings (persisted
  with QSettings under these field names), sends it to the engine process
  (client.py / host.py), and writer-bench maps its flags onto one.
  `needs_reload` says which changes need the model loaded again;
  `resolve_confidence` which threshold a model gets (its own, unless set).
- `Suggestion` (with its `SuggestionExtra`) and `RequestStats`: what a
  request gives back, across the engine-process boundary too.

The field names cross the process boundary and live in writers' settings:
`document_cache` is the document n-grams' switch (ngrams.py),
`prompt_tokens_evaluated` counts what the prompt cache (model.PromptCache)
did not hold, `cache_lambda` is the document n-grams' share, `cached` says the
suggestion memo (memo.py) answered. They keep these names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gpt2gguf.metadata import model_confidence

# The threshold of a model that carries no calibrated one: measured on val (README).
DEFAULT_CONFIDENCE = 0.2


@dataclass
class EngineConfig:
    model_path: Path | None = None  # None: the bundled default model
    n_threads: int | None = None  # None: the number of physical cores
    n_gpu_layers: int | None = None  # None: all layers if llama.cpp can offload, else 0
    # llama.cpp's CPU "extra buffer types" (weights repacked for AMX/AArch64 kernels).
    # None: on, except on x86-64 Linux with AMX, where they crash (see gpt2gguf/cpu.py).
    use_extra_bufts: bool | None = None
    n_ctx: int = 512  # prompt + suggestion must fit in this many tokens
    max_words: int = 12  # a suggestion stops after this many words...
    max_sentences: int = 1  # ...or at the end of this many sentences...
    stop_at_paragraph: bool = True  # ...or at a paragraph break
    max_tokens: int = 32  # hard cap on generated tokens per suggestion
    # "Suggestion confidence": a suggestion ends at the last word boundary where
    # the model (document n-grams included) still gives at least this probability that the
    # writer types exactly it next; below it for the first word there is no
    # suggestion. 0 shows everything. None: the model's choice, the value calibrated
    # on held-out text and stored in its file (writer-bench calibrate), else
    # DEFAULT_CONFIDENCE (resolve_confidence).
    confidence: float | None = None
    # The document n-grams: blend the document's own n-gram counts (names,
    # repeated phrases) into the model's probabilities (ngrams.py). The caller
    # reports the document with Engine.set_document / document_changed.
    # (Named before the n-grams were; QSettings keys and the engine process use it.)
    document_cache: bool = True
    alt_temperature: float = 0.8  # alternatives (Alt+]) are sampled
    alt_top_p: float = 0.95
    n_alternatives: int = 3  # suggestions in the Alt+] cycle, the greedy one included
    seed: int = 0
    # Prefix a prompt that starts at the document's start with <|endoftext|>, as
    # documents appear in a training stream joined by it. Off by default: models
    # trained on one text from position 0 (the test fixtures) expect no prefix,
    # and a GPT-2 trained on random cuts of the stream does fine either way.
    # (A prompt of at most one token always gets it: the model needs a token to read.)
    bos_at_document_start: bool = False


# Settings that need a new llama.cpp model/context when they change; the others
# apply to the loaded model. The app and the engine both ask needs_reload().
RELOAD_FIELDS = ("model_path", "n_gpu_layers", "n_ctx", "use_extra_bufts")


def resolve_confidence(
    confidence: float | None, metadata: Mapping[str, object]
) -> tuple[float, str]:
    """Return (threshold, where it came from) for the setting `confidence` and a model's
    metadata (validate.GGUFInfo's): the setting's own value ("setting"), else the model's
    calibrated one ("model"), else DEFAULT_CONFIDENCE ("default")."""
    if confidence is not None:
        return confidence, "setting"
    calibrated = model_confidence(metadata)
    if calibrated is not None:
        return calibrated, "model"
    return DEFAULT_CONFIDENCE, "default"


def needs_reload(old: EngineConfig, new: EngineConfig) -> bool:
    """Return whether going from `old` to `new` needs the model loaded again."""
    return any(getattr(old, name) != getattr(new, name) for name in RELOAD_FIELDS)


@dataclass(frozen=True)
class RequestStats:
    """Figures of one request (Engine.last_stats), also when it gave no suggestion.

    writer-bench times suggestions with them, and they cross the engine-process
    boundary with every reply.
    """

    prompt_tokens_evaluated: int = 0  # tokens llama.cpp evaluated: not in the prompt cache
    generated_tokens: int = 0
    first_token_ms: float = 0.0
    total_ms: float = 0.0
    cache_lambda: float = 0.0  # the document n-grams' mean share of the probabilities
    # The model had a suggestion but the confidence gate cut all of it: the status
    # bar's "nothing confident here yet" (Ctrl+Space shows it anyway, ungated).
    gate_hid: bool = False

    def as_dict(self) -> dict[str, float]:
        """Return the figures as a JSON-ready dict, keyed by field name."""
        return asdict(self)


@dataclass(frozen=True)
class SuggestionExtra:
    """How a suggestion was made, beyond its text: for writer-bench, tests and debugging."""

    # Why generation ended: "eos", "stop_rule", "confidence", "max_tokens",
    # "unhealable" (no token could re-spell the typed text), "stop_when", or "name"
    # (a known name completed the word being typed: steps.NameCompletion).
    stop: str = ""
    healed: str = ""  # the typed text healing took back, which the suggestion re-spells
    prompt_tokens: int = 0  # the prompt's length in tokens
    generated_tokens: int = 0
    window_start: int = 0  # where the prompt window starts in the text before the cursor
    # The gate's confidence at the cut; None when it is off or the request was ungated.
    confidence: float | None = None
    cache_lambda: float = 0.0  # the document n-grams' mean share of the probabilities
    cached: bool = False  # answered from the suggestion memo (memo.py)
    # Why this suggestion (issue 23): the notes' names it completed (full names), and
    # the project memory's mean share of the probabilities (project_memory.py).
    names: tuple[str, ...] = ()
    project_share: float = 0.0
    # Asked for ungated (Ctrl+Space) and it goes past where the gate would have cut:
    # the editor shows it as less sure.
    unsure: bool = False


@dataclass(frozen=True)
class Suggestion:
    """One continuation for the text before the cursor.

    `text` is exactly what Tab would insert. When the prompt was healed
    (the cursor sat mid-word), `text` starts with the rest of that word.
    """

    text: str
    prompt_tokens_evaluated: int = 0  # tokens llama.cpp evaluated: not in the prompt cache
    first_token_ms: float = 0.0
    total_ms: float = 0.0
    extra: SuggestionExtra = field(default_factory=SuggestionExtra, compare=False)
