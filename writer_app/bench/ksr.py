"""Keystroke savings (KSR): the writer types a text and takes what the suggestions offer.

The writer types the text character by character; whenever no live
suggestion agrees with the typed text a request is made. A suggestion equal
to the upcoming text is taken with Tab (one keystroke); else, as in the
editor, each Ctrl+Right takes its next word when the upcoming text has that
whole word. ksr = 1 - keystrokes / characters, for Tab only and for Tab +
words. The document is what the writer has typed so far (it feeds the
document cache). Also counted: shown (requests that gave a suggestion),
acceptance_rate (accepted / shown), words_shown, words_accepted and
mean_accepted_chars (characters per acceptance).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from writer_app.engine import Engine, type_through
from writer_app.engine.config import resolve_confidence

WORD_WITH_SPACE = re.compile(r"\s*\S+")

# What the simulated writer asks: the same engine call the app makes, plus the
# upcoming text (only the KSR simulation's suggest function uses it).
SuggestFn = Callable[[str, str], "str | None"]


@dataclass
class KsrCount:
    """Outcome of one simulated typing of a text."""

    chars: int = 0
    keystrokes: int = 0
    suggestions: int = 0  # requests made
    shown: int = 0  # requests that gave a suggestion (not None, not empty)
    accepted: int = 0  # suggestions taken (Tab, or Ctrl+Right for some of their words)
    words_shown: int = 0  # words in the suggestions shown
    words_accepted: int = 0  # words taken with Tab or Ctrl+Right
    chars_accepted: int = 0  # characters taken with Tab or Ctrl+Right

    @property
    def ksr(self) -> float:
        """1 - keystrokes/chars: the share of keystrokes the suggestions saved."""
        return 1.0 - self.keystrokes / self.chars if self.chars else 0.0

    @property
    def acceptance_rate(self) -> float:
        """accepted / shown: the share of suggestions shown that the writer took, wholly or in part."""
        return self.accepted / self.shown if self.shown else 0.0

    @property
    def mean_accepted_chars(self) -> float:
        """Characters taken per accepted suggestion."""
        return self.chars_accepted / self.accepted if self.accepted else 0.0

    def summary(self) -> dict:
        """Return the counts and the rates, rounded, as a JSON-ready dict."""
        return {
            **asdict(self),
            "ksr": round(self.ksr, 4),
            "acceptance_rate": round(self.acceptance_rate, 4),
            "mean_accepted_chars": round(self.mean_accepted_chars, 2),
        }


def next_word_length(suggestion: str, upcoming: str) -> int:
    """Return how many characters one Ctrl+Right takes from `suggestion`: its next word
    with the whitespace before it, when the upcoming text has that same whole word; else 0.

    A word is whole when the upcoming text also ends it there (whitespace or end follows),
    so " over" is not taken for " overhead".
    """
    m = WORD_WITH_SPACE.match(suggestion)
    if m is None or not upcoming.startswith(m.group()):
        return 0
    end = m.end()
    return end if end == len(upcoming) or upcoming[end].isspace() else 0


def simulate_writer(text: str, suggest: SuggestFn, *, word_accept: bool) -> KsrCount:
    """Type `text` with suggestions and count keystrokes; return the KsrCount.

    `suggest(text_before, upcoming)` returns a suggestion or None. Tab takes a
    suggestion that equals the upcoming text; with `word_accept`, each
    Ctrl+Right takes the suggestion's next word if it matches a whole word of
    the text. A suggestion stays live while typed characters agree with it
    (type-through); a new request is made whenever none is live. `accepted`
    counts suggestions taken, wholly or in part, once each however many words
    were taken from them; `shown` the requests that gave one, and
    `words_shown` their words.
    """
    count = KsrCount(chars=len(text))
    i = 0
    live: str | None = None
    taken = False  # a word of the live suggestion was taken: it is counted as accepted already
    while i < len(text):
        if not live:
            live, taken = suggest(text[:i], text[i:]), False
            count.suggestions += 1
            if live:
                count.shown += 1
                count.words_shown += len(WORD_WITH_SPACE.findall(live))
        upcoming = text[i:]
        if live and upcoming.startswith(live):
            count.keystrokes += 1  # Tab
            count.accepted += 0 if taken else 1
            count.words_accepted += len(WORD_WITH_SPACE.findall(live))
            count.chars_accepted += len(live)
            i += len(live)
            live = None
            continue
        length = next_word_length(live, upcoming) if live and word_accept else 0
        if length:
            count.keystrokes += 1  # Ctrl+Right
            count.accepted += 0 if taken else 1
            count.words_accepted += 1
            count.chars_accepted += length
            taken = True
            i += length
            live = live[length:]  # the rest stays shown, as in the editor
            continue
        count.keystrokes += 1  # type one character
        live = type_through(live, text[i]) if live else None
        i += 1
    return count


def stop_once_diverged(upcoming: str) -> Callable[[str], bool]:
    """Return a stop_when for Engine.suggest: true once the suggestion so far
    disagrees with `upcoming` in a non-space character.

    Nothing after that point can be accepted (Tab needs all of it, Ctrl+Right
    stops at the first wrong word), so stopping there gives the same
    keystrokes as the full suggestion, only sooner. The disagreeing character
    is kept so the suggestion still disagrees after shaping strips spaces.
    """

    def stop(text: str) -> bool:
        n = min(len(text), len(upcoming))
        d = next((j for j in range(n) if text[j] != upcoming[j]), n)
        return d < len(text) and not text[d:].isspace()

    return stop


def engine_suggest_fn(
    engine: Engine,
    memo: dict[int, str | None] | None = None,
    *,
    fast: bool = False,
    prefix: str = "",
) -> SuggestFn:
    """Return a SuggestFn calling engine.suggest as the app does: the document is
    what the writer has typed so far (Engine.set_document), the cursor at its end.

    With `fast`, generation stops once the suggestion disagrees with the text
    (stop_once_diverged): the same keystrokes, shown and accepted counts, but
    words_shown then counts only the words generated. Results are remembered by
    cursor position in `memo`: the Tab-only and the Tab + words runs type the
    same text, so they share most requests. `prefix` is text the document holds
    before the typed text (writer-bench --paste: the notes and earlier chapters).
    """
    memo = {} if memo is None else memo

    def suggest(before: str, upcoming: str) -> str | None:
        key = len(before)
        if key not in memo:
            document = prefix + before
            engine.set_document(document)
            stop = stop_once_diverged(upcoming) if fast else None
            s = engine.suggest(document, stop_when=stop)
            memo[key] = s.text if s is not None else None
        return memo[key]

    return suggest


def type_both_ways(
    engine: Engine, text: str, *, fast: bool, label: str = "ksr", prefix: str = ""
) -> tuple[KsrCount, KsrCount, int]:
    """Type `text` with Tab only, then with Tab + Ctrl+Right, through `engine`.

    Returns (tab, word, engine_requests): the two counts and how many requests
    reached the engine (the two runs share the ones made at the same place).
    Progress, prefixed with `label`, goes to stderr.
    """
    memo: dict[int, str | None] = {}
    print(f"{label}: Tab only...", file=sys.stderr)
    fn = engine_suggest_fn(engine, memo, fast=fast, prefix=prefix)
    tab = simulate_writer(text, fn, word_accept=False)
    print(f"{label}: Tab + Ctrl+Right...", file=sys.stderr)
    word = simulate_writer(text, fn, word_accept=True)
    return tab, word, len(memo)


def ksr_figures(tab: KsrCount, word: KsrCount) -> dict:
    """Return the keystroke-savings and acceptance figures of a Tab-only and a
    Tab + Ctrl+Right run (the acceptance figures are those of the app's keys: the latter)."""
    return {
        "ksr_tab": round(tab.ksr, 4),
        "ksr_word": round(word.ksr, 4),
        "suggestions": word.suggestions,
        "shown": word.shown,
        "accepted": word.accepted,
        "acceptance_rate": round(word.acceptance_rate, 4),
        "words_shown": word.words_shown,
        "words_accepted": word.words_accepted,
        "mean_accepted_chars": round(word.mean_accepted_chars, 2),
    }


def confidence_used(engine) -> dict:
    """Return the threshold an Engine (or RemoteEngine) gates with and where it came from:
    --confidence ("setting"), the model's calibrated value ("model"), else the default."""
    value, source = resolve_confidence(engine.config.confidence, engine.info.metadata)
    return {"confidence": value, "confidence_source": source}


def ksr_report(engine: Engine, text: str, *, fast: bool = False, prefix: str = "") -> dict:
    """Run the KSR simulation (Tab only, then Tab + words) on `text`, after `prefix`
    (--paste); return the report."""
    t0 = time.perf_counter()
    tab, word, requests = type_both_ways(engine, text, fast=fast, prefix=prefix)
    return {
        "benchmark": "ksr",
        "model": str(engine.config.model_path),
        "model_name": engine.model_name,
        "backend": engine.backend,
        "threads": engine.n_threads,
        **confidence_used(engine),
        "document_cache": engine.config.document_cache,
        "chars": len(text),
        **ksr_figures(tab, word),
        "tab_only": tab.summary(),
        "tab_and_words": word.summary(),
        "engine_requests": requests,
        "fast": fast,
        "seconds": round(time.perf_counter() - t0, 1),
    }
