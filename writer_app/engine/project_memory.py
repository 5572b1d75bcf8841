"""The project memory: n-gram counts over every chapter and the notes, beside the document's.

(Issue 23, "Project memory". Settings: the same switch as the document
n-grams, "Learn names and phrases from the document"; EngineConfig.document_cache.)

A name set up in chapter 1 should be known in chapter 7. The document
n-grams (ngrams.DocumentNgrams) learn only the open chapter, edit by edit;
this memory counts the project's OTHER files (the chapters and the notes
the app names, the open chapter left out, since it is the document) in an
NgramCounts of its own, and the Propose step blends both into the model:

    q = mix(model, project counts, PROJECT_WEIGHTS)      first, weaker
    p = mix(q,     document counts, NgramWeights())       last, on top

Two counts rather than one with per-source weights, because:
- the open chapter weighs most by construction: its blend comes last, so
  its share is taken from what the project's blend left, and its weights
  (tuned on val for one document) stay exactly as they were; with no
  project the chain is byte for byte today's (tests/engine/test_golden.py);
- the two change at different speeds: the document per keystroke
  (incremental, ngrams.py), the project per saved file (a rebuild from the
  files' tokens, kept per file so only a changed file is read and
  tokenized again: a rebuild of counts is a few np.unique calls);
- PROJECT_WEIGHTS make the project's evidence count less than the same
  evidence in the open chapter (a larger gamma): a phrase of chapter 2 is a
  weaker hint for chapter 7 than one three paragraphs up, and a big
  project's unigram is mostly plain English, so its unigram barely moves.

Built off the request path: `update(paths, exclude)` returns at once and a
background thread (in the engine process) reads the files with
core.text_io.read_text_file, tokenizes them and swaps in new counts in one
assignment. A request reads `counts` once per suggestion, so one arriving
mid-build uses the counts it finds (the previous build's, or none). The
thread only tokenizes (llama.cpp's tokenizer reads the vocabulary, never the
context, so the rule "one thread touches the context" holds) and counts
with numpy; both release the GIL for their heavy parts.

Speed (the goal: a 1M-word project in 2 s and 100 MB): a novel's million
words are some 30,000 distinct pieces, so a build tokenizes each distinct
piece once and lays out each text's tokens with numpy, exactly the tokens
the model's tokenizer gives the whole text (project_tokens.py).
`fast_tokenizer` picks the bundled GPT-2 tokenizer (HF tokenizers, in Rust)
when it gives the model's own tokens on PROBE: on the distinct pieces it
takes about half of llama.cpp's time, for about 30 MB held once a project
was opened, and it runs in a thread of its own (Units), without the GIL,
while the build cuts the next files: a build cuts every file first, then
lays out their tokens. Memory: the per-file tokens (uint16) and the counts are what a
build keeps; its temporaries are freed, and `_return_freed_memory` hands
glibc's freed pages back to the system, or the engine would keep them.

Cheap extras of the same pieces: `frequent_names`, capitalised words that
recur in the chapters and are almost never written in lower case (names the
notes forgot), and `sentence_starts`, the capitalised words that start
sentences, counted, for name completion (names.py).
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gpt2gguf.constants import TOKENIZER_DIR
from writer_app.core.project import MAX_FILE_BYTES
from writer_app.core.text_io import TextFileError, read_text_file
from writer_app.engine.ngrams import MAX_CONTEXT, NgramCounts, NgramWeights
from writer_app.engine.project_tokens import (
    BLOCK_CHARS,
    PROBE,
    Units,
    piecewise,
    tokenize_blocks,
)

log = logging.getLogger(__name__)

Tokenize = Callable[[str], Sequence[int]]

# The project's evidence counts less than the open chapter's (module docstring):
# gammas 3x the document's, and the unigram's 10x (it is mostly plain English).
PROJECT_WEIGHTS = NgramWeights(gamma=(3000.0, 120.0, 120.0, 120.0))

# A capitalised word is taken for a name when it appears at least this often in the
# chapters, not after a sentence end, and in lower case at most this share of that.
NAME_MIN_COUNT = 4
NAME_MAX_LOWER_SHARE = 0.05
MAX_FREQUENT_NAMES = 200


@dataclass(frozen=True)
class _Source:
    """One file as last read: its stamp (mtime_ns, size), its tokens, its name counts."""

    stamp: tuple[int, int]
    tokens: np.ndarray
    capitalised: Counter
    lower: Counter
    sentence_starts: Counter


@dataclass(frozen=True)
class _Cut:
    """A file read anew and cut into units; its tokens are laid out once every file is cut."""

    stamp: tuple[int, int]
    ids: np.ndarray
    whole: str | None  # the text, where it is tokenized whole rather than unit by unit
    capitalised: Counter
    lower: Counter
    sentence_starts: Counter


@dataclass(frozen=True)
class BuildReport:
    """What one build did: files counted, read anew, skipped (with why), tokens, seconds."""

    files: int = 0
    read: int = 0
    skipped: tuple[tuple[str, str], ...] = ()
    tokens: int = 0
    seconds: float = 0.0


class ProjectMemory:
    """N-gram counts of a project's files but the open one, built in a background thread.

    `counts` is None until a build finished with at least one token (then
    the Propose step skips it). `update(paths, exclude)` asks for a build;
    the newest request wins, and a build already running finishes first.
    """

    def __init__(self, tokenize: Tokenize | None, n_vocab: int, max_context: int = MAX_CONTEXT):
        self._tokenize = tokenize
        self.n_vocab = n_vocab
        self.max_context = max_context
        self.counts: NgramCounts | None = None
        self.frequent_names: tuple[str, ...] = ()
        # Capitalised words starting sentences in the project, counted: at a sentence start
        # a name is completed only where its letters mostly start it (names.NameIndex).
        self.sentence_starts: Counter = Counter()
        self.last_report = BuildReport()
        self.revision = 0  # bumped by every build that changed the counts
        self._sources: dict[Path, _Source] = {}
        self._latest: tuple[tuple[Path, ...], Path | None] = ((), None)
        self._wanted: tuple[tuple[Path, ...], Path | None] | None = None
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._on_built: Callable[[], None] | None = None

    @property
    def enabled(self) -> bool:
        """Whether the files are tokenized and counted (False: the n-grams are off)."""
        return self._tokenize is not None

    @property
    def paths(self) -> tuple[tuple[Path, ...], Path | None]:
        """The (paths, exclude) of the latest request."""
        return self._latest

    def on_built(self, callback: Callable[[], None] | None) -> None:
        """Call `callback()` (in the build thread) after each build that changed the counts."""
        self._on_built = callback

    def update(self, paths: Sequence[str | os.PathLike], exclude: str | os.PathLike | None = None):
        """Count the files at `paths` but `exclude` (the open chapter), in the background.

        Returns at once. A file unchanged since the last build (same mtime and
        size) is not read again. With the n-grams off, only the paths are kept.
        """
        wanted = (tuple(Path(p) for p in paths), Path(exclude) if exclude is not None else None)
        with self._lock:
            self._latest = wanted
            if not self.enabled:
                return
            self._wanted = wanted
            self._idle.clear()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="project-memory", daemon=True
                )
                self._thread.start()

    def enable(self, tokenize: Tokenize | None) -> None:
        """Count with `tokenize` from now on (None: free the counts); rebuilds the latest paths."""
        self.wait()
        self._tokenize = tokenize
        self._sources = {}
        self.counts, self.frequent_names, self.sentence_starts = None, (), Counter()
        self.revision += 1
        if tokenize is not None and self._latest[0]:
            self.update(*self._latest)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no build is pending or running; return False on timeout.

        writer-bench and tests wait; the engine's requests never do.
        """
        return self._idle.wait(timeout)

    @property
    def building(self) -> bool:
        """Whether a build is pending or running."""
        return not self._idle.is_set()

    def _run(self) -> None:
        while True:
            with self._lock:
                wanted, self._wanted = self._wanted, None
                if wanted is None:
                    self._idle.set()
                    return
            try:
                self.build(*wanted)
            except Exception:  # a bug must not kill the thread silently, nor the engine
                log.exception("the project memory could not be built")
            return_freed_memory()  # the build's temporaries are gone with its frame

    def build(self, paths: Sequence[Path], exclude: Path | None = None) -> BuildReport:
        """Read, tokenize and count `paths` but `exclude` now, in this thread; return the report.

        A file that can't be read is skipped (listed in the report), never raised.
        """
        t0 = time.perf_counter()
        tokenize = self._tokenize
        if isinstance(tokenize, LazyFastTokenizer):
            tokenize = tokenize.resolve()
        if tokenize is None:
            return BuildReport()
        cut: dict[Path, _Source | _Cut] = {}
        skipped = []
        with Units(tokenize if piecewise(tokenize) else None, self.n_vocab) as units:
            for path in paths:
                source, why = self._cut(path, units)
                if source is None:
                    skipped.append((str(path), why))
                else:
                    cut[path] = source
            # Every file cut before any is tokenized: meanwhile Units' thread tokenized the
            # new pieces of each file while the next was cut.
            sources = {path: _tokenized(c, tokenize, units) for path, c in cut.items()}
        read = sum(isinstance(c, _Cut) for c in cut.values())
        del cut  # the units' indices: gone before the counting's peak
        self._sources = sources
        used = [s for p, s in sources.items() if p != exclude]
        counts = NgramCounts(self.n_vocab, self.max_context)
        counts.rebuild([s.tokens for s in used])
        self.counts = counts if counts.total else None
        self.frequent_names = _frequent_names(used)
        self.sentence_starts = Counter()
        for s in used:
            self.sentence_starts.update(s.sentence_starts)
        self.revision += 1
        report = BuildReport(
            files=len(used),
            read=read,
            skipped=tuple(skipped),
            tokens=counts.total,
            seconds=round(time.perf_counter() - t0, 3),
        )
        self.last_report = report
        callback = self._on_built
        if callback is not None:
            callback()
        return report

    def _cut(self, path: Path, units: Units) -> tuple[_Source | _Cut | None, str]:
        """Return the file at `path` as known (unchanged since the last build) or read and
        cut now, or None and why it can't be read."""
        try:
            st = path.stat()
        except OSError as err:
            return None, f"can't be read ({err.strerror})"
        stamp = (st.st_mtime_ns, st.st_size)
        known = self._sources.get(path)
        if known is not None and known.stamp == stamp:
            return known, ""
        try:
            text = read_text_file(path, max_bytes=MAX_FILE_BYTES).text
        except TextFileError as err:
            return None, err.reason
        ids = units.ids(text)
        whole = None if units.tokenizes and units.splits_alike(ids) else text
        return _Cut(stamp, ids, whole, *units.names(ids)), ""

    def nbytes(self) -> int:
        """Approximate memory of the counts and the files' tokens (bytes)."""
        counts = self.counts.nbytes() if self.counts is not None else 0
        return counts + sum(s.tokens.nbytes for s in self._sources.values())


def _tokenized(source: _Source | _Cut, tokenize: Tokenize, units: Units) -> _Source:
    """Return `source` with its tokens (a file cut in this build: laid out or tokenized now)."""
    if isinstance(source, _Source):
        return source
    if source.whole is None:
        tokens = units.tokens(source.ids)
    else:
        tokens = tokenize_blocks(tokenize, source.whole, units.dtype)
    return _Source(source.stamp, tokens, source.capitalised, source.lower, source.sentence_starts)


class _BundledTokenizer:
    """The bundled GPT-2 tokenizer (HF tokenizers): `batch(texts)` encodes on all cores."""

    def __init__(self, tokenizer):
        self._tokenizer = tokenizer

    def __call__(self, text: str) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Return the tokens of `texts` (each tokenized on its own, as `self(text)` does), one
        text after the other, and how many tokens each gave.

        The texts go as a few pre-tokenized sequences, not one encoding per text (a piece's
        few tokens cost less than its encoding): about one per core, none of much over
        BLOCK_CHARS characters, as each sequence's tokens come back as one Python list."""
        if not texts:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64)
        ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
        size = max(1, min(BLOCK_CHARS, int(ends[-1]) // (os.cpu_count() or 1)))
        cuts = np.searchsorted(ends, np.arange(size, ends[-1], size), side="right")
        bounds = np.unique(np.concatenate(([0], cuts, [len(texts)]))).tolist()
        encoded = self._tokenizer.encode_batch(
            [texts[lo:hi] for lo, hi in itertools.pairwise(bounds)],
            is_pretokenized=True,
            add_special_tokens=False,
        )
        tokens = np.concatenate([np.array(e.ids, dtype=np.int32) for e in encoded])
        # A token's word id is the text it came from, counted within its sequence.
        text_of = np.concatenate(
            [
                np.array(e.word_ids, dtype=np.int64) + lo
                for lo, e in zip(bounds[:-1], encoded, strict=True)
            ]
        )
        return tokens, np.bincount(text_of, minlength=len(texts))


class LazyFastTokenizer:
    """fast_tokenizer(model_tokenize), chosen at the first build rather than at every model
    load: the bundled tokenizer costs about 30 MB and a file load, which a writer who never
    opens a project should not pay."""

    def __init__(self, model_tokenize: Tokenize):
        self._model_tokenize = model_tokenize
        self._chosen: Tokenize | None = None
        self._lock = threading.Lock()

    def resolve(self) -> Tokenize:
        """Return the tokenizer to count with (made once, from the build thread)."""
        with self._lock:
            if self._chosen is None:
                self._chosen = fast_tokenizer(self._model_tokenize)
            return self._chosen


def fast_tokenizer(model_tokenize: Tokenize) -> Tokenize:
    """Return the bundled GPT-2 tokenizer when it tokenizes PROBE as `model_tokenize` does,
    else `model_tokenize` itself (a model with its own vocabulary)."""
    path = TOKENIZER_DIR / "tokenizer.json"
    try:
        from tokenizers import Tokenizer

        bundled = _BundledTokenizer(Tokenizer.from_file(str(path)))
        if list(bundled(PROBE)) == list(model_tokenize(PROBE)):
            return bundled
    except Exception as err:  # missing or unreadable: the model's own tokenizer does
        log.info("the bundled tokenizer is not used for the project memory: %s", err)
    return model_tokenize


def _malloc_trim() -> Callable[[int], int] | None:
    """Return glibc's malloc_trim, or None (another system, another C library)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def return_freed_memory() -> bool:
    """Hand the memory the C allocator holds free back to the system; return whether it could.

    A build's temporaries (the texts, the units, the n-gram keys before they
    are counted) are some 70 MB for a 1M-word project, freed in many pieces;
    glibc keeps such memory for the process, so without this the engine would
    stay as large as the build's peak, on top of what the memory keeps.
    """
    if _MALLOC_TRIM is None:
        return False
    _MALLOC_TRIM(0)
    return True


def _frequent_names(sources: list[_Source]) -> tuple[str, ...]:
    """Return the capitalised words of `sources` that look like names, most frequent first."""
    capitalised: Counter = Counter()
    lower: Counter = Counter()
    for s in sources:
        capitalised.update(s.capitalised)
        lower.update(s.lower)
    names = [
        (n, word)
        for word, n in capitalised.items()
        if n >= NAME_MIN_COUNT and lower[word.lower()] <= NAME_MAX_LOWER_SHARE * n
    ]
    names.sort(key=lambda item: -item[0])
    return tuple(word for _, word in names[:MAX_FREQUENT_NAMES])


def project_paths(index) -> list[Path]:
    """Return the files a project's memory learns from: its chapters, then its notes
    (a core.project.ProjectIndex; the app and writer-bench both call this)."""
    return [f.path for f in [*index.chapters, *index.notes]]


def name_rows(names) -> list[list[str]]:
    """Return core.project.StoryName's as Engine.set_names takes them: [full, alias, ...]."""
    return [[name.full, *name.aliases] for name in names]
