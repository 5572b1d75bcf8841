"""The document n-grams: token n-gram counts over the whole document, blended into the model.

(Settings: "Learn names and phrases from the document"; EngineConfig.document_cache.
Not to be confused with the prompt cache, llama.cpp's KV cache of the last
prompt (model.PromptCache), nor with the suggestion memo (memo.SuggestionMemo).)

A small GPT-2 cannot know a story's invented names or the phrases its writer
repeats, and its 512-token window forgets them after a page. DocumentNgrams counts
the document's token n-grams (a context of up to MAX_CONTEXT tokens and the
token after it) over the WHOLE document and mixes them into the model's
next-token probabilities (`NgramWeights.mix`):

    p = (1-λ)·p_model + λ·p_ngrams

built order by order, from the document's unigram up to the longest context
seen (q_-1 = p_model, q_k = (1-w_k)·q_{k-1} + w_k·counts_k/n). The weight
of a context of k tokens comes from its evidence e = n/u, how often it
occurred (n) per different token that followed it (u):

    w_k = e^a / (e^a + γ_k·exp(-β·(H - H0)))     (a = 1 for the unigram)

with H the entropy of the model's own distribution. A context seen three
times and always followed by the same token (" Zy" -> "rg" in "Zyrgalon")
takes a good share; one followed by anything (" the") barely moves the
model; the less sure the model is, the more the document counts. On val a
context seen once is right about 15% of the time, three times about 70%:
hence a > 1. a, γ, β were tuned for perplexity on val (README).

Incremental: the document is held as chunks (a paragraph with the line
breaks that end it), each tokenized on its own; the n-grams run over the
chunks' tokens one after the other. An edit re-tokenizes only the chunks it
touches and moves only the n-grams whose tokens changed, so typing in a
500,000-word novel costs what it costs in a short story. Counts live in
sorted numpy arrays (12 bytes per distinct n-gram: about 15 MB for 500,000
words) plus a dict of recent changes, merged in now and then.

Chunk boundaries depend only on the two characters around them, so the
chunks, their tokens and the counts after any series of edits are exactly
those of a rebuild from the final text (tests/engine/test_ngrams.py checks it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

MAX_CONTEXT = 3  # n-grams of up to 4 tokens
MERGE_AT = 16384  # pending n-gram changes merged into the sorted arrays past this many
COMPARE_BLOCK = 65536  # characters compared at once when diffing a synced text
# A chunk ends after a run of line breaks: a paragraph with the break(s) that close it.
CHUNK_BOUNDARY = re.compile(r"(?<=\n)(?=[^\n])")

# A blend's part with at most this many tokens is added in a Python loop (Blend.add_into).
SMALL_PART = 16

Tokenize = Callable[[str], Sequence[int]]
_NO_IDS = np.empty(0, dtype=np.int64)  # followers() of a context never seen
_NO_COUNTS = np.empty(0, dtype=np.int32)
_MINUS_ONE = np.array([-1.0])  # the writer's own token taken back from the unigram's counts


@dataclass(frozen=True)
class Blend:
    """What one source's n-grams do to a distribution p: the result is keep·p plus,
    for each part (ids, counts, scale), scale·counts added at ids.

    NgramWeights.blend computes it without touching the vocabulary, so that the
    engine can fold `keep` into the softmax's own normalisation (one pass over
    the vocabulary for the model, the project and the document together) and
    add the few entries the document knows (`add_into`).
    """

    keep: float = 1.0
    parts: tuple[tuple[np.ndarray, np.ndarray, float], ...] = ()

    @property
    def share(self) -> float:
        """λ, the share of the result the n-grams contributed (0.0: no evidence here)."""
        return 1.0 - self.keep

    def add_into(self, probs: np.ndarray, factor: float = 1.0) -> None:
        """Add factor·scale·counts at each part's ids to `probs`, in float64, rounded once.

        A context seen a few times has a handful of followers: a Python loop over
        them costs less than numpy's fancy indexing (a few µs per call), to the
        same bits (a float32 read as float64, the same float64 sum, one rounding).
        """
        for ids, counts, scale in self.parts:
            step = factor * scale
            if len(ids) <= SMALL_PART:
                for token, count in zip(ids.tolist(), counts.tolist(), strict=True):
                    probs[token] = float(probs[token]) + step * count
            else:
                probs[ids] = probs[ids] + step * counts


@dataclass(frozen=True)
class NgramWeights:
    """How far the document's n-gram counts move the model (see the module docstring).

    A context of k tokens gets half the weight when its evidence, raised to
    `power` (k = 0, the document's unigram: not raised), equals gamma[k] and
    the model's entropy is `pivot` nats; each nat more multiplies the bar by
    exp(-beta). Tuned for perplexity on val (README, "Suggestion quality").
    """

    gamma: tuple[float, ...] = (300.0, 40.0, 40.0, 40.0)
    power: float = 1.75
    beta: float = 0.4
    pivot: float = 4.0

    def mix(
        self,
        probs: np.ndarray,
        counts: NgramCounts,
        context: Sequence[int],
        entropy: float | None = None,
        exclude: int | None = None,
    ) -> float:
        """Blend the document's n-grams into `probs` (the model's next-token probabilities) in place.

        The other arguments are `blend`'s. Returns λ, the share of the result
        the n-grams contributed (0.0 when the document holds no evidence here).
        One pass over the vocabulary per call: the engine, mixing two sources
        per token, folds them into its softmax instead (sampling.blend_into).
        """
        blend = self.blend(counts, context, entropy, exclude)
        if blend.parts:
            probs *= blend.keep
            blend.add_into(probs)
        return blend.share

    def blend(
        self,
        counts: NgramCounts,
        context: Sequence[int],
        entropy: float | None = None,
        exclude: int | None = None,
    ) -> Blend:
        """Return what mixing `counts` after `context` does to the model's probabilities.

        `context` is the token stream before the next token (its last
        max_context tokens are used); `entropy` is the model's (None: the pivot).
        `exclude`: a token of which one occurrence after this context is not
        evidence (the writer's own half-typed word, which the document holds
        because it was just typed).
        """
        scale = 1.0 if entropy is None else math.exp(-self.beta * (entropy - self.pivot))
        orders = []  # (weight, ids, counts, their sum), from the unigram up
        total, distinct, own = counts.total, counts.distinct, 0
        if exclude is not None:
            held = int(counts.unigram[exclude])
            if held:
                own, total, distinct = 1, total - 1, distinct - (held == 1)
        if total > 0:
            ids, cnt = counts.unigram_support()
            orders.append((self._weight(0, total, distinct, scale), ids, cnt, total))
        for k, (ids, cnt) in enumerate(counts.suffix_followers(context), start=1):
            if exclude is not None:
                at = np.flatnonzero(ids == exclude)
                if len(at):
                    cnt = cnt.copy()
                    cnt[at[0]] -= 1
                    ids, cnt = ids[cnt > 0], cnt[cnt > 0]
                    if len(ids) == 0:
                        break  # as if never seen: the longer contexts held only this one too
            n = int(cnt.sum())
            orders.append((self._weight(k, n, len(ids), scale), ids, cnt, n))
        if not orders:
            return Blend()
        # q_k = (1-w_k)·q_{k-1} + w_k·ngrams_k from q_{-1} = model: the model keeps
        # the product of all (1-w), each order its w times the (1-w) of those above it.
        keep = 1.0
        for w, *_ in orders:
            keep *= 1.0 - w
        parts = []
        above = 1.0
        for w, ids, cnt, n in reversed(orders):
            parts.append((ids, cnt, w * above / n))
            above *= 1.0 - w
        if own and total > 0:  # the unigram (the last part) counted the writer's own token
            parts.append((np.array([exclude]), _MINUS_ONE, parts[-1][2]))
        return Blend(keep, tuple(parts))

    def _weight(self, k: int, n: int, u: int, scale: float) -> float:
        evidence = n / u if k == 0 else (n / u) ** self.power
        return evidence / (evidence + self.gamma[min(k, len(self.gamma) - 1)] * scale)


class NgramCounts:
    """Counts of token n-grams (context of 1..max_context tokens + next token) and unigrams.

    `add(tokens, sign)` counts (sign=+1) or uncounts (-1) the n-grams of one
    token sequence; `followers(context)` returns what followed a context.
    """

    def __init__(self, n_vocab: int, max_context: int = MAX_CONTEXT):
        self.n_vocab = n_vocab
        self.bits = max(16, (n_vocab - 1).bit_length())
        # A key packs the context and the next token into 64 bits.
        self.max_context = max(0, min(max_context, 64 // self.bits - 1))
        self.unigram = np.zeros(n_vocab, dtype=np.int64)
        self.total = 0  # tokens counted
        self.distinct = 0  # different tokens among them
        self._keys = [np.empty(0, dtype=np.uint64) for _ in range(self.max_context + 1)]
        self._counts = [np.empty(0, dtype=np.int32) for _ in range(self.max_context + 1)]
        # Recent changes, per context length: packed context -> {next token: count change}.
        self._pending: list[dict[int, dict[int, int]]] = [{} for _ in range(self.max_context + 1)]
        self._n_pending = 0
        self._support: tuple[np.ndarray, np.ndarray] | None = None  # unigram_support()'s

    # ----- updates -----------------------------------------------------------------
    def add(self, tokens: Sequence[int], sign: int = 1, lo: int = 0, hi: int | None = None) -> None:
        """Count (sign=+1) or uncount (-1) the n-grams of `tokens` whose last token is at lo..hi-1.

        Contexts never reach before tokens[0]: a sequence is counted on its own.
        """
        hi = len(tokens) if hi is None else hi
        bits = self.bits
        self._support = None
        for i in range(lo, hi):
            nxt = int(tokens[i])
            before = int(self.unigram[nxt])
            self.unigram[nxt] = before + sign
            self.distinct += int(before == 0) - int(before + sign == 0)
            ctx = 0
            for k in range(1, min(self.max_context, i) + 1):
                ctx |= int(tokens[i - k]) << (bits * (k - 1))
                table = self._pending[k].setdefault(ctx, {})
                value = table.get(nxt, 0) + sign
                if value:
                    table[nxt] = value
                    self._n_pending += 1
                else:
                    del table[nxt]
                    if not table:
                        del self._pending[k][ctx]
        self.total += sign * (hi - lo)
        if self._n_pending > MERGE_AT:
            self.merge()

    def rebuild(self, sequences: Sequence[np.ndarray]) -> None:
        """Replace all counts by those of `sequences` (each counted on its own), vectorized.

        One order at a time, each n-gram packed into one uint64, sorted in place and
        run-length counted: a 1M-word project's peak is one order's keys (about 10 MB)
        and its counts, never a copy of all sequences or index arrays per order.
        """
        self.__init__(self.n_vocab, self.max_context)
        seqs = [np.asarray(s) for s in sequences if len(s)]
        for s in seqs:
            self.unigram += np.bincount(s, minlength=self.n_vocab)
        self.total = sum(len(s) for s in seqs)
        self.distinct = int(np.count_nonzero(self.unigram))
        for k in range(1, self.max_context + 1):
            keys = np.empty(sum(max(0, len(s) - k) for s in seqs), dtype=np.uint64)
            at = 0
            for s in seqs:  # contexts stop at a sequence's start: each is packed on its own
                n = len(s) - k
                if n <= 0:
                    continue
                part = keys[at : at + n]
                part[:] = s[k:]
                for j in range(1, k + 1):  # the context, nearest token in the low bits
                    part |= s[k - j : len(s) - j].astype(np.uint64) << np.uint64(self.bits * j)
                at += n
            self._keys[k], self._counts[k] = self._count_sorted(keys)

    @staticmethod
    def _count_sorted(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sort `keys` in place; return its distinct values and how often each occurs (int32):
        np.unique's work without its copy of the input."""
        if not len(keys):
            return keys, np.empty(0, dtype=np.int32)
        keys.sort()
        first = np.empty(len(keys), dtype=bool)
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        del first
        return keys[starts], np.diff(starts, append=len(keys)).astype(np.int32)

    def merge(self) -> None:
        """Fold the pending changes into the sorted arrays (a few ms for a novel)."""
        for k in range(1, self.max_context + 1):
            items = [
                ((ctx << self.bits) | nxt, value)
                for ctx, table in self._pending[k].items()
                for nxt, value in table.items()
            ]
            if not items:
                continue
            dkeys = np.array([key for key, _ in items], dtype=np.uint64)
            dvals = np.array([value for _, value in items], dtype=np.int64)
            order = np.argsort(dkeys)
            dkeys, dvals = dkeys[order], dvals[order]
            keys, counts = self._keys[k], self._counts[k]
            at = np.searchsorted(keys, dkeys)
            found = at < len(keys)
            found[found] = keys[at[found]] == dkeys[found]
            counts = counts.copy()
            counts[at[found]] += dvals[found]
            new = ~found
            keys = np.insert(keys, at[new], dkeys[new])
            counts = np.insert(counts, at[new], dvals[new])
            live = counts != 0
            self._keys[k], self._counts[k] = keys[live], counts[live]
            self._pending[k] = {}
        self._n_pending = 0

    # ----- queries -----------------------------------------------------------------
    def unigram_support(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (ids, counts as float64) of the tokens counted at least once.

        Kept until the next add() or rebuild(): one per edit, read per generated token.
        """
        if self._support is None:
            ids = np.flatnonzero(self.unigram)
            self._support = (ids, self.unigram[ids].astype(np.float64))
        return self._support

    def followers(self, context: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Return (token ids, counts) of what followed `context` (1..max_context tokens), maybe empty."""
        k = len(context)
        ctx = 0
        for j in range(1, k + 1):
            ctx |= int(context[k - j]) << (self.bits * (j - 1))
        return self._followers(k, ctx)

    def suffix_followers(self, context: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Return followers() of the last 1, 2, ... max_context tokens of `context`, up to the
        first never seen (a longer context cannot have been seen if a shorter one was not).

        One call per generated token: each context packs the shorter one's key.
        """
        out = []
        ctx = 0
        for k in range(1, min(self.max_context, len(context)) + 1):
            ctx |= int(context[len(context) - k]) << (self.bits * (k - 1))
            ids, cnt = self._followers(k, ctx)
            if not len(ids):
                break
            out.append((ids, cnt))
        return out

    def _followers(self, k: int, ctx: int) -> tuple[np.ndarray, np.ndarray]:
        """followers() of the context of `k` tokens packed into `ctx`."""
        bits, keys = self.bits, self._keys[k]
        lo = hi = 0
        if len(keys):
            first, past = ctx << bits, (ctx + 1) << bits
            if past < (1 << 64):  # both ends in one search: this runs per generated token
                lo, hi = keys.searchsorted(np.array((first, past), dtype=np.uint64)).tolist()
            else:
                lo, hi = int(keys.searchsorted(np.uint64(first))), len(keys)
        pending = self._pending[k].get(ctx)
        if lo == hi:
            if not pending:
                return _NO_IDS, _NO_COUNTS
            # Seen only since the last merge (a short document: always): the changes are
            # the counts, all positive (a count that fell to zero leaves the table).
            n = len(pending)
            return (
                np.fromiter(pending.keys(), dtype=np.int64, count=n),
                np.fromiter(pending.values(), dtype=np.int64, count=n),
            )
        ids = (keys[lo:hi] & np.uint64((1 << bits) - 1)).astype(np.int64)
        cnt = self._counts[k][lo:hi]
        if pending:
            p_ids = np.fromiter(pending.keys(), dtype=np.int64, count=len(pending))
            p_cnt = np.fromiter(pending.values(), dtype=np.int64, count=len(pending))
            at = np.searchsorted(ids, p_ids)  # ids are sorted: they come from sorted keys
            found = at < len(ids)
            found[found] = ids[at[found]] == p_ids[found]
            cnt = cnt.copy()
            cnt[at[found]] += p_cnt[found]
            ids = np.concatenate((ids, p_ids[~found]))
            cnt = np.concatenate((cnt, p_cnt[~found]))
            live = cnt > 0
            ids, cnt = ids[live], cnt[live]
        return ids, cnt

    def as_dict(self) -> dict[tuple[int, ...], int]:
        """Return every n-gram count as {(context..., next): count}, unigrams as {(next,): count}."""
        out = {(int(t),): int(c) for t, c in enumerate(self.unigram) if c}
        for k in range(1, self.max_context + 1):
            for key, c in zip(self._keys[k].tolist(), self._counts[k].tolist(), strict=True):
                out[self._unpack(key, k)] = c
            for ctx, table in self._pending[k].items():
                for nxt, value in table.items():
                    gram = self._unpack((ctx << self.bits) | nxt, k)
                    total = out.get(gram, 0) + value
                    if total:
                        out[gram] = total
                    else:
                        out.pop(gram, None)
        return out

    def _unpack(self, key: int, k: int) -> tuple[int, ...]:
        low = (1 << self.bits) - 1
        tokens = [(key >> (self.bits * j)) & low for j in range(k, -1, -1)]
        return tuple(tokens)

    def nbytes(self) -> int:
        """Approximate memory held by the arrays (bytes); pending changes not included."""
        arrays = [self.unigram, *self._keys, *self._counts]
        return sum(a.nbytes for a in arrays)


def split_chunks(text: str) -> list[str]:
    """Return `text` cut after each run of line breaks (paragraphs with their breaks)."""
    return CHUNK_BOUNDARY.split(text) if text else []


class DocumentNgrams:
    """The document as chunks, their tokens, and the n-gram counts over all of them.

    `edit(start, removed, inserted)` applies one change (offsets in Python
    characters, i.e. code points); `set_text(text)` syncs to a full text by
    editing only what differs. With tokenize=None only the text is kept
    (the n-grams are off): `enable(tokenize)` counts it when it is turned on.
    """

    def __init__(
        self,
        tokenize: Tokenize | None,
        n_vocab: int,
        text: str = "",
        max_context: int = MAX_CONTEXT,
    ):
        self._tokenize = tokenize
        self.counts = NgramCounts(n_vocab, max_context)
        self._chunks: list[str] = split_chunks(text)
        self._starts = np.cumsum([0] + [len(c) for c in self._chunks[:-1]]).astype(np.int64)
        if not self._chunks:
            self._starts = np.zeros(0, dtype=np.int64)
        self._tokens: list[np.ndarray] = []
        self.revision = 0  # bumped by every edit that changed the text
        if tokenize is not None:
            self._recount()

    @property
    def enabled(self) -> bool:
        """Whether the text is tokenized and counted (False: only the text is kept)."""
        return self._tokenize is not None

    def enable(self, tokenize: Tokenize | None) -> None:
        """Count with `tokenize` from now on (None: stop counting and free the counts)."""
        self._tokenize = tokenize
        if tokenize is None:
            self.counts = NgramCounts(self.counts.n_vocab, self.counts.max_context)
            self._tokens = []
        else:
            self._recount()

    def _recount(self) -> None:
        self._tokens = [self._encode(c) for c in self._chunks]
        self.counts.rebuild([np.concatenate(self._tokens)] if self._tokens else [])

    def _encode(self, chunk: str) -> np.ndarray:
        return np.asarray(self._tokenize(chunk), dtype=np.int32)

    def __len__(self) -> int:
        return int(self._starts[-1]) + len(self._chunks[-1]) if self._chunks else 0

    @property
    def text(self) -> str:
        """The whole document (joins the chunks: O(length))."""
        return "".join(self._chunks)

    def edit(self, start: int, removed: int, inserted: str) -> None:
        """Replace `removed` characters at `start` by `inserted`.

        Re-tokenizes only the chunks the change touches and updates only the
        n-grams whose tokens changed. Raises ValueError when the range is
        outside the document (the caller lost track: sync with set_text).
        """
        size = len(self)
        if start < 0 or removed < 0 or start + removed > size:
            raise ValueError(
                f"edit at {start} removing {removed} is outside a document of {size} characters"
            )
        if not removed and not inserted:
            return
        self.revision += 1
        if not self._chunks:
            self._replace(0, 0, inserted)
            return
        # A boundary at p depends on text[p-1] and text[p], so the chunks holding
        # start-1 .. start+removed are the only ones whose split can change.
        first = self._chunk_at(max(0, start - 1))
        last = self._chunk_at(min(start + removed, size - 1))
        base = int(self._starts[first])
        old = "".join(self._chunks[first : last + 1])
        new = old[: start - base] + inserted + old[start - base + removed :]
        self._replace(first, last + 1, new)

    def set_text(self, text: str) -> bool:
        """Make the document `text`, editing only the span that differs from the current one.

        Returns whether anything changed.
        """
        current = self.text
        if current == text:
            return False
        prefix = _common_prefix(current, text)
        suffix = _common_suffix(current, text, min(len(current), len(text)) - prefix)
        self.edit(prefix, len(current) - prefix - suffix, text[prefix : len(text) - suffix])
        return True

    def _chunk_at(self, pos: int) -> int:
        return int(np.searchsorted(self._starts, pos, side="right")) - 1

    def _replace(self, first: int, stop: int, new_text: str) -> None:
        """Replace chunks first..stop-1 by the chunks of `new_text`, updating the counts."""
        new_chunks = split_chunks(new_text)
        base = int(self._starts[first]) if first < len(self._starts) else 0
        old_len = sum(len(c) for c in self._chunks[first:stop])
        if self.enabled:
            # The n-grams run across chunks: the max_context tokens on either side
            # are the context of the changed tokens and the tokens they are context for.
            k = self.counts.max_context
            before, after = self._tokens_before(first, k), self._tokens_after(stop, k)
            new_tokens = [self._encode(c) for c in new_chunks]
            old_seq = np.concatenate([before, *self._tokens[first:stop], after])
            new_seq = np.concatenate([before, *new_tokens, after])
            self._recount_changed(old_seq, new_seq)
            self._tokens[first:stop] = new_tokens
        self._chunks[first:stop] = new_chunks
        lengths = np.array([len(c) for c in new_chunks], dtype=np.int64)
        new_starts = (
            base + np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(lengths) else lengths
        )
        tail = self._starts[stop:] + (len(new_text) - old_len)
        self._starts = np.concatenate((self._starts[:first], new_starts, tail)).astype(np.int64)

    def _tokens_before(self, chunk: int, n: int) -> np.ndarray:
        """Return the last `n` tokens of the chunks before `chunk` (fewer at the start)."""
        parts = []
        while n > 0 and chunk > 0:
            chunk -= 1
            part = self._tokens[chunk][-n:]
            parts.append(part)
            n -= len(part)
        return np.concatenate(parts[::-1]) if parts else np.empty(0, dtype=np.int32)

    def _tokens_after(self, chunk: int, n: int) -> np.ndarray:
        """Return the first `n` tokens of the chunks from `chunk` on (fewer at the end)."""
        parts = []
        while n > 0 and chunk < len(self._tokens):
            part = self._tokens[chunk][:n]
            parts.append(part)
            n -= len(part)
            chunk += 1
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)

    def _recount_changed(self, old: np.ndarray, new: np.ndarray) -> None:
        """Move the counts from `old` to `new`, token sequences that share their ends.

        A typed character usually changes the last token or two of a chunk, so
        only the n-grams ending in the changed span, or max_context tokens after
        it, move; the shared start (at least the context before the chunks) stays.
        """
        k = self.counts.max_context
        p = _common_prefix_tokens(old, new)
        s = _common_prefix_tokens(old[p:][::-1], new[p:][::-1])
        if p == len(old) == len(new):
            return
        self.counts.add(old, -1, p, min(len(old), len(old) - s + k))
        self.counts.add(new, +1, p, min(len(new), len(new) - s + k))


def _common_prefix(a: str, b: str) -> int:
    """Return the length of the common prefix of `a` and `b`.

    Compares blocks (C-speed slice equality), then bisects the first block that differs.
    """
    n = min(len(a), len(b))
    lo = 0
    while lo < n and a[lo : lo + COMPARE_BLOCK] == b[lo : lo + COMPARE_BLOCK]:
        lo += COMPARE_BLOCK
    hi = min(n, lo + COMPARE_BLOCK)
    while lo < hi:  # a[:lo] == b[:lo]; the first difference is before hi
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return min(lo, n)


def _common_suffix(a: str, b: str, limit: int) -> int:
    """Return the length of the common suffix of `a` and `b`, at most `limit`."""
    la, lb = len(a), len(b)
    lo = 0
    while lo < limit:
        step = min(COMPARE_BLOCK, limit - lo)
        if a[la - lo - step : la - lo] != b[lb - lo - step : lb - lo]:
            break
        lo += step
    hi = min(limit, lo + COMPARE_BLOCK)
    while lo < hi:  # the last lo characters agree; the first difference is within hi
        mid = (lo + hi + 1) // 2
        if a[la - mid : la - lo] == b[lb - mid : lb - lo]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_prefix_tokens(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if len(diff) else n
