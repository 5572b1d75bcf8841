"""The golden suggestions: fixed requests to the bundled model, and what they gave.

`tests/engine/make_golden.py` ran these cases on the engine as it was before
the suggestion pipeline was split into steps and wrote what came out to
data/golden_suggestions.json; `test_golden.py` runs them again and compares,
so a refactor or a speed-up that changes any suggestion, byte for byte, fails.

llama.cpp's logits differ in their last bits between its CPU kernels: a
build for AVX-512 sums in another order than one for AVX2, and a greedy
suggestion that hangs on a near-tie can take another word. So the file holds
one set of results per kernel set (the instruction sets llama.cpp reports,
`kernels()`), each with the sha256 of the model it was recorded from.

Each group is one fresh Engine on the bundled model (one thread: results
then depend on nothing but the model file) with some settings changed, and a
list of actions run in order, since the engine keeps state between requests
(the prompt window's start, the KV cache, remembered suggestions, the
document's n-gram counts).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

from gpt2gguf.files import file_sha256
from gpt2gguf.llama import cpu_features
from writer_app.engine import Engine, EngineConfig, type_through
from writer_app.engine.config import DEFAULT_CONFIDENCE

GOLDEN_FILE = Path(__file__).parent / "data" / "golden_suggestions.json"

# A story with invented names and repeated phrases: what the document n-grams learn.
STORY = """\
Zyrgalon the ferryman had crossed the Vell river every morning for thirty years. \
He knew its moods the way a shepherd knows his flock.

“You are late again, Zyrgalon,” said Mistress Quellavine from the landing. \
“The tide will not wait for an old man.”

“The tide waits for no one, Mistress Quellavine,” he answered, and he pushed \
the boat out into the grey water of the Vell.

On the far bank the lamps of Thornwick were still burning. Zyrgalon counted \
them as he rowed: seven lamps, as always, and one dark window in the tower of Thornwick.

“Who lives in the tower?” asked the boy who sat in the bow.

Zyrgalon did not answer at once. He rowed until the current of the Vell took \
the boat, and then he said, “Nobody, for thirty years. Nobody at all.”

The boy looked back at the tower of Thornwick. A light moved behind the dark window.
"""

LONG_FILLER = " ".join(f"Stone {i} lay on the road to the north." for i in range(120))

# (name, config changes, actions). Actions:
#   ("suggest", text)                   the greedy suggestion, streamed
#   ("alternatives", text, n, seed)     the Alt+] list
#   ("set_document", text)              the whole document
#   ("edit", start, removed, inserted)  one edit of it
#   ("prefetch", text)                  remembered, then suggested
#   ("type_through", text, n)           suggest, type its first n characters, ask again
#   ("stop_when", text, words)          a caller that stops listening after `words` words
GROUPS: list[tuple[str, dict, list[tuple]]] = [
    (
        "gate on, empty document",
        {},
        [
            ("suggest", "The old man walked slowly down the"),
            ("suggest", "The old man walked slowly down the ro"),
            ("suggest", "The old man walked slowly down the road "),
            ("suggest", "It was a cold night in the middle of winter."),
            ("suggest", "It was a cold night in the middle of winter. "),
            ("suggest", "Once upon a time there was a king who had three"),
            ("suggest", "Once upon a time there was a king who had three daugh"),
            ("suggest", "“Where are you going?” she asked.\n\n“"),
            ("suggest", "“I do not know,” he said, “but I"),
            ("suggest", "The knight drew his sword, and"),
            ("suggest", "Chapter I\n\n"),
            ("suggest", ""),
            ("alternatives", "The old man walked slowly down the", 3, 0),
        ],
    ),
    (
        "gate off",
        {"confidence": 0.0},
        [
            ("suggest", "The old man walked slowly down the"),
            ("suggest", "She opened the door and saw"),
            ("suggest", "She opened the door and saw a strange"),
            ("suggest", "The sun was setting behind the hills when the trav"),
            ("suggest", "“Come here,” said the wizard. “"),
            ("suggest", "He looked at her; she"),
            ("suggest", "There were three things he feared: the dark, the sea, and"),
            ("alternatives", "She opened the door and saw", 3, 0),
            ("alternatives", "The king's daughter was", 4, 7),
            ("stop_when", "The sun was setting behind the", 2),
            ("prefetch", "In the morning the boy went to the"),
        ],
    ),
    (
        "document n-grams on, fed a story",
        {},
        [
            ("set_document", STORY),
            ("suggest", STORY[: STORY.index("the ferryman") - 1] + "\n\nZyr"),
            ("suggest", STORY + "\nZyrgalon"),
            ("suggest", STORY + "\nMistress Quel"),
            ("suggest", STORY + "\nThe lamps of Thorn"),
            ("suggest", STORY + "\n“Nobody"),
            ("edit", len(STORY), 0, "\nThe ferryman rowed back across the Vell"),
            ("suggest", STORY + "\nThe ferryman rowed back across the Vell"),
            ("alternatives", STORY + "\nZyrgalon looked at the", 3, 0),
        ],
    ),
    (
        "document n-grams on, gate off",
        {"confidence": 0.0},
        [
            ("set_document", STORY),
            ("suggest", STORY + "\nThe boy asked Zyrgalon about the"),
            ("suggest", STORY + "\nIn the tower of"),
            ("suggest", STORY + "\nMistress"),
            ("type_through", STORY + "\nThe boy asked Zyrgalon about the", 3),
        ],
    ),
    (
        "document n-grams off",
        {"document_cache": False},
        [
            ("set_document", STORY),
            ("suggest", STORY + "\nZyrgalon"),
            ("suggest", STORY + "\nMistress Quel"),
        ],
    ),
    (
        "a low gate",
        {"confidence": 0.03},
        [
            ("suggest", "The old man walked slowly down the"),
            ("suggest", "She opened the door and saw"),
            ("suggest", "“Come here,” said the wizard. “"),
            ("suggest", "He looked at her; she"),
            ("suggest", "The sun was setting behind the hills when the trav"),
            ("stop_when", "In the morning the boy went to the", 1),
            ("alternatives", "She opened the door and", 3, 3),
        ],
    ),
    (
        "type-through and a long text",
        {"confidence": 0.02},
        [
            ("type_through", "The old man walked slowly down the", 4),
            ("type_through", "It was a dark and stormy", 2),
            ("suggest", LONG_FILLER + " At the end of the road"),
            ("suggest", LONG_FILLER + " At the end of the road there was a"),
            ("suggest", LONG_FILLER + " At the end of the road there was a small hou"),
        ],
    ),
]


def _suggestion(s) -> dict | None:
    if s is None:
        return None
    return {
        "text": s.text,
        "stop": s.extra.stop,
        "healed": s.extra.healed,
        "generated_tokens": s.extra.generated_tokens,
        "window_start": s.extra.window_start,
        "confidence": s.extra.confidence,
        "cache_lambda": s.extra.cache_lambda,
    }


def _run_action(engine: Engine, action: tuple) -> dict:
    kind, *args = action
    if kind == "suggest":
        pieces: list[str] = []
        s = engine.suggest(args[0], on_token=pieces.append)
        return {"suggestion": _suggestion(s), "streamed": "".join(pieces)}
    if kind == "alternatives":
        text, n, seed = args
        return {"alternatives": [a.text for a in engine.alternatives(text, n, seed=seed)]}
    if kind == "set_document":
        engine.set_document(args[0])
        return {}
    if kind == "edit":
        engine.document_changed(*args)
        return {}
    if kind == "prefetch":
        engine.prefetch(args[0])
        return {"suggestion": _suggestion(engine.suggest(args[0]))}
    if kind == "type_through":
        text, n = args
        first = engine.suggest(text)
        if first is None:
            return {"first": None}
        typed = first.text[:n]
        left = type_through(first.text, typed)
        then = engine.suggest(text + typed)
        return {"first": _suggestion(first), "left": left, "then": _suggestion(then)}
    if kind == "stop_when":
        text, words = args
        s = engine.suggest(text, stop_when=lambda t: len(t.split()) >= words)
        return {"suggestion": _suggestion(s)}
    raise ValueError(f"unknown golden action {kind!r}")


def run_group(model_path: Path, changes: dict, actions: list[tuple]) -> list[dict]:
    """Return what each action of one group gave, on a fresh engine."""
    # The gate pinned at the old default: the golden texts record the engine's
    # behaviour, not the threshold a model's calibration stores in its file.
    base = EngineConfig(model_path=model_path, n_threads=1, confidence=DEFAULT_CONFIDENCE)
    config = dataclasses.replace(base, **changes)
    with Engine(config) as engine:
        return [
            {"action": [repr(a) for a in action[:1]] + [_short(a) for a in action[1:]]}
            | _run_action(engine, action)
            for action in actions
        ]


def _short(value) -> str | int:
    """An action argument as the JSON file shows it (long texts by their ends)."""
    if isinstance(value, str) and len(value) > 80:
        return f"…{value[-60:]} ({len(value)} characters)"
    return value


def kernels() -> str:
    """Return the instruction sets llama.cpp computes with in this process
    ("SSE3 SSSE3 AVX AVX2 F16C FMA BMI2 LLAMAFILE OPENMP REPACK"): what keys a golden set."""
    return " ".join(cpu_features())


@functools.cache
def model_sha256(model_path: Path) -> str:
    """Return the sha256 of a model file, in hex (once per file and process)."""
    return file_sha256(model_path)


def load_golden() -> dict[str, dict]:
    """Return the stored golden sets, by kernels(): each {"model": sha256, "groups": {name: results}}."""
    if not GOLDEN_FILE.exists():
        return {}
    return json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))
