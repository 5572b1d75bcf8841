"""The steps of the suggestion chain (pipeline.py), in the order the Engine chains them:

    Cancel -> Heal -> Pick -> Gate -> EndOfText -> Spell -> Stop -> StopWhen -> Finish
    -> NameCompletion -> Propose

Per token, the `before` hooks run (Cancel, Heal, Pick: choose the token),
then the `after` hooks (Gate ... Propose: what the token does). Propose
starts the chain with the first distribution and ends each token by
evaluating it and proposing the next; Gate and Finish shape the suggestion
at the end; NameCompletion may then put a known name in place of the
model's suggestion (names.py).

The confidence gate: a suggestion is right only if the writer types every
one of its tokens and then ends the word, so its confidence at a word
boundary is the product of its tokens' probabilities times the probability
that the next token does not continue the word (during healing, a token's
probability is taken among the tokens that can re-spell the typed text).
The suggestion ends at the last boundary whose confidence is at least the
threshold; generation stops as soon as the product falls below it, because
no later boundary can pass. No passing boundary: no suggestion.

An ungated request (Ctrl+Space: the writer asked) keeps the gate measuring but
never cutting: the suggestion ends only by the stop rules, and the Engine marks
it unsure where it goes past the last passing boundary.
"""

from __future__ import annotations

import numpy as np

from writer_app.engine import healing, shaping
from writer_app.engine.config import EngineConfig
from writer_app.engine.model import LlamaModel
from writer_app.engine.names import COMPLETED_WORD, NameIndex
from writer_app.engine.ngrams import Blend, DocumentNgrams, NgramCounts, NgramWeights
from writer_app.engine.pipeline import Draft, Step
from writer_app.engine.sampling import (
    NextToken,
    Softmax,
    blend_into,
    greedy_pick,
    softmax_into,
)
from writer_app.engine.sampling import Pick as PickFunction


class Cancel(Step):
    """Stop (GenerationCancelled) as soon as the request is stale."""

    def before(self, draft: Draft) -> bool:
        draft.request.check()
        return False


class Heal(Step):
    """While typed text is still to be re-spelt, only tokens that agree with it may come."""

    def __init__(self, vocab: healing.Vocabulary):
        self.vocab = vocab

    def before(self, draft: Draft) -> bool:
        if not draft.required:
            draft.allowed = None
            return False
        draft.allowed = self.vocab.allowed(draft.required)
        if len(draft.allowed) == 0:  # no token can spell it (odd vocabularies)
            draft.reason = "unhealable"
            return True
        return False


class Pick(Step):
    """Choose the token: greedy (from the logits when the best one is clear) or `pick`."""

    def __init__(self, pieces: list[bytes], pick: PickFunction = greedy_pick):
        self.pieces = pieces
        self.pick = pick

    def before(self, draft: Draft) -> bool:
        nxt = draft.next
        if self.pick is greedy_pick:
            token = nxt.greedy(draft.allowed)
        else:
            token = self.pick(nxt.probs, draft.allowed)
        draft.token, draft.piece = token, self.pieces[token]
        if draft.first_ms is None:
            draft.first_ms = draft.request.ms()
        return False


class Gate(Step):
    """The confidence gate (module docstring): cuts offered at word ends, and when to give up.

    `confidence` is the product of the probabilities of the tokens so far;
    `cuts` the word boundaries that passed, in order, as (offset in the
    suggestion text, confidence there). A threshold of 0 turns it off;
    `cut=False` (an ungated request) keeps it measuring but never cutting.
    `hid` says, at the end, whether it cut a suggestion down to nothing.
    """

    def __init__(self, threshold: float, ends_word: np.ndarray, *, cut: bool = True):
        self.threshold = threshold
        self.ends_word = ends_word  # 1.0 for each token that cannot continue the word before it
        self.cut = cut
        self.confidence = 1.0
        self.cuts: list[tuple[int, float]] = []
        self.hid = False
        self._given_up_on = b""  # the token the gate gave up at

    @property
    def on(self) -> bool:
        """Whether the gate cuts the suggestion (the other steps ask this)."""
        return self.threshold > 0 and self.cut

    def after(self, draft: Draft) -> bool:
        if self.threshold <= 0:
            return False
        nxt, token, allowed = draft.next, draft.token, draft.allowed
        p = nxt.prob(token)
        if allowed is not None:  # among the tokens that can re-spell the typed text
            p /= max(float(nxt.probs[allowed].sum()), 1e-30)
        if not draft.required and draft.text.strip() and self.ends_word[token]:
            at = len(draft.text)
            confidence = self.confidence * float(np.dot(nxt.probs, self.ends_word))
            if confidence >= self.threshold:
                self.cuts.append((at, confidence))
            if self.on and draft.stop_at is not None and at >= draft.stop_at:
                # The caller stopped listening at stop_at; this boundary decided
                # whether the suggestion reaches past it (boundaries only lose
                # confidence), which is all the caller needs.
                return True
        self.confidence *= p
        # Hopeless: no later boundary can pass. (An end of text is EndOfText's to stop.)
        if self.on and draft.piece and self.confidence < self.threshold:
            draft.reason, self._given_up_on = "confidence", draft.piece
            return True
        return False

    def last_cut(self, limit: int) -> tuple[int, float] | None:
        """Return the last passing cut at or before `limit` (offset, confidence), or None."""
        passing = [cut for cut in self.cuts if cut[0] <= limit]
        return passing[-1] if passing else None

    def sure(self, text: str) -> str:
        """Return the part of `text` the gate already lets through (all of it when off)."""
        if not self.on:
            return text
        last = self.last_cut(len(text))
        return text[: last[0]] if last is not None else ""

    def _piece_text(self) -> str:
        return self._given_up_on.decode("utf-8", errors="ignore")

    def passes(self, text: str) -> bool:
        """Return whether the gate lets all of `text` through (always, when its threshold is 0)."""
        if self.threshold <= 0:
            return True
        last = self.last_cut(len(text))
        return not text[last[0] if last is not None else 0 :].strip()

    def end(self, draft: Draft) -> None:
        if self.on:
            last = self.last_cut(len(draft.text))
            # Cut to nothing, or given up on a first word (not on a line break, which
            # the stop rules would have ended with nothing): the gate hid a suggestion.
            self.hid = last is None and bool((draft.text + self._piece_text()).strip())
            draft.text, draft.confidence = (
                (draft.text[: last[0]], last[1]) if last is not None else ("", None)
            )


class EndOfText(Step):
    """<|endoftext|> (or another special token, whose text is empty) ends the suggestion."""

    def after(self, draft: Draft) -> bool:
        if not draft.piece:
            draft.reason = "eos"
            return True
        return False


class Spell(Step):
    """The token joins the suggestion; healing's typed text is re-spelt by it."""

    def after(self, draft: Draft) -> bool:
        draft.n_generated += 1
        draft.out += draft.piece
        draft.context.append(draft.token)
        if draft.required:
            draft.required = healing.consume(draft.required, draft.piece) or b""
        return False


class Stop(Step):
    """The suggestion's text so far, cut by the stop rules (shaping.find_stop), streamed."""

    def __init__(self, config: EngineConfig, gate: Gate):
        self.config = config
        self.gate = gate

    def after(self, draft: Draft) -> bool:
        if draft.required:
            return False
        cfg, prompt = self.config, draft.prompt
        raw = draft.out[len(prompt.removed) :].decode("utf-8", errors="ignore")
        text = shaping.fix_leading_whitespace(prompt.text_before, raw)
        cut = shaping.find_stop(
            text,
            max_words=cfg.max_words,
            max_sentences=cfg.max_sentences,
            stop_at_paragraph=cfg.stop_at_paragraph,
            text_before=prompt.text_before,
        )
        if cut is not None:
            text, draft.reason = text[:cut], "stop_rule"
        draft.text = text
        on_token = draft.request.on_token
        if on_token is not None:
            sure = self.gate.sure(text)
            if len(sure) > len(draft.shown) and sure.startswith(draft.shown):
                on_token(sure[len(draft.shown) :])
                draft.shown = sure
        return cut is not None


class StopWhen(Step):
    """The caller's stop_when(text) ends generation (once the gate decided, when it is on)."""

    def __init__(self, gate: Gate):
        self.gate = gate

    def after(self, draft: Draft) -> bool:
        stop_when = draft.request.stop_when
        if draft.required or draft.stop_at is not None or stop_when is None:
            return False
        if not stop_when(draft.text):
            return False
        draft.reason = "stop_when"
        if not self.gate.on:
            return True
        draft.stop_at = len(draft.text)
        return False


class Finish(Step):
    """The final text: partial word, degenerate output and whitespace trimmed (shaping.finish)."""

    def __init__(self, gate: Gate):
        self.gate = gate

    def end(self, draft: Draft) -> None:
        hit_token_cap = draft.reason == "max_tokens" and not self.gate.on
        draft.final = shaping.finish(
            draft.prompt.text_before, draft.text, hit_token_cap=hit_token_cap
        )


class NameCompletion(Step):
    """A known name completes the word being typed (names.NameIndex), even where the gate
    left nothing.

    The model's own suggestion stays when it already completes the same name
    (it may say more), when it completes another known name's word (after
    "Ma", "Martian" where the index ranked "Mars" first: the model read the
    sentence, the index only which came last), when the word starts a sentence
    and the model is sure of something (there "Th" is "The" far more often
    than "Thomas"), and whenever the name was typed in full (then only
    " Quenby" where the model has nothing). `matched` names the full name the
    suggestion completed.
    """

    def __init__(self, names: NameIndex):
        self.names = names
        self.matched: tuple[str, ...] = ()

    def end(self, draft: Draft) -> None:
        match = self.names.match(draft.prompt.text_before)
        if match is None:
            return
        model = draft.final or ""
        said = match.typed + model
        if (
            model
            and not match.surname_only
            and said.startswith(match.word)
            and not said[len(match.word) : len(match.word) + 1].isalnum()
        ):
            self.matched = (match.name,)  # the model says it already
            return
        if model and (match.surname_only or match.sentence_start):
            return
        if model and self.names.knows(COMPLETED_WORD.match(said).group()):
            return  # the model completes another known name's word
        draft.final, draft.reason, draft.confidence = match.text, "name", None
        self.matched = (match.name,)


class Propose(Step):
    """The next token's distribution: the model's, blended with the project memory's
    n-grams (project_memory.py), then the document's on top.

    Starts the chain with the distribution after the prompt; after each
    token, evaluates it and proposes the next (unless it was the last).
    Probabilities go into buffers reused token after token, read from
    llama.cpp's logits without a copy; without the n-grams they are computed
    only if a later step asks (sampling.NextToken).
    """

    def __init__(
        self,
        model: LlamaModel,
        ngrams: DocumentNgrams,
        weights: NgramWeights,
        n_vocab: int,
        project: NgramCounts | None = None,
        project_weights: NgramWeights | None = None,
    ):
        self.model = model
        self.ngrams = ngrams
        self.weights = weights
        # The counts as they are now: a build finishing meanwhile does not change them here.
        self.project = project if ngrams.enabled else None
        self.project_weights = project_weights or weights
        self.project_sum = 0.0  # the project memory's share of each distribution, summed
        self._softmax = Softmax(n_vocab)
        self._probs = np.empty(n_vocab, dtype=np.float32)

    def start(self, draft: Draft) -> None:
        # While the typed text is re-spelt the way it was typed, the document holds
        # that very text: its own tokens are not evidence (" da" over " day").
        own = draft.prompt.removed_tokens
        self._propose(draft, own[0] if own else None)

    def after(self, draft: Draft) -> bool:
        if draft.step + 1 >= draft.max_steps:
            return False
        draft.next.stale = True
        self.model.append(draft.token)
        prompt, own_tokens = draft.prompt, draft.prompt.removed_tokens
        n = len(draft.context) - len(prompt.tokens)
        own = None
        if (
            draft.required
            and n < len(own_tokens)
            and draft.context[len(prompt.tokens) :] == own_tokens[:n]
        ):
            own = own_tokens[n]
        self._propose(draft, own)
        return False

    def _propose(self, draft: Draft, own: int | None) -> None:
        logits, probs = self.model.logits_view(), self._probs
        if not self.ngrams.enabled:

            def materialize():
                softmax_into(logits, probs)
                return probs

            draft.next = NextToken(logits, materialize=materialize)
            return
        model = self._softmax(logits)
        context, entropy = draft.context, model.entropy
        project = Blend()
        if self.project is not None:
            project = self.project_weights.blend(self.project, context, entropy)
        document = self.weights.blend(self.ngrams.counts, context, entropy, own)
        # The document's blend comes last: the project keeps what it left of its share.
        blend_into(model, (project, document), probs)
        self.project_sum += project.share * document.keep
        draft.lam_sum += 1.0 - project.keep * document.keep if project.parts else document.share
        draft.next = NextToken(logits, probs)
