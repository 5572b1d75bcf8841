"""The suggestion chain: steps in order, a step can end generation, a new step joins by being listed."""

from __future__ import annotations

import pytest

from writer_app.engine import Engine, EngineConfig, GenerationCancelled
from writer_app.engine.pipeline import Draft, Request, Step, run
from writer_app.engine.prompt import Prompt
from writer_app.engine.steps import Gate

BASE = {"n_threads": 1}


class Log(Step):
    """Records its hooks in a shared list; ends generation after `stop_after` tokens."""

    def __init__(self, name: str, log: list, stop_after: int | None = None):
        self.name, self.log, self.stop_after = name, log, stop_after

    def start(self, draft):
        self.log.append((self.name, "start"))

    def before(self, draft):
        self.log.append((self.name, "before", draft.step))
        return False

    def after(self, draft):
        self.log.append((self.name, "after", draft.step))
        if self.stop_after is not None and draft.step + 1 >= self.stop_after:
            draft.reason = f"{self.name} stopped"
            return True
        return False

    def end(self, draft):
        self.log.append((self.name, "end"))


def a_draft(max_steps: int) -> Draft:
    prompt = Prompt("", [1, 2], b"", [], 0)
    return Draft(prompt, Request(), max_steps=max_steps, context=[1, 2], required=b"")


def test_each_token_runs_every_before_hook_then_every_after_hook_in_chain_order():
    log: list = []
    draft = run([Log("a", log), Log("b", log)], a_draft(2))
    assert log == [
        ("a", "start"),
        ("b", "start"),
        ("a", "before", 0),
        ("b", "before", 0),
        ("a", "after", 0),
        ("b", "after", 0),
        ("a", "before", 1),
        ("b", "before", 1),
        ("a", "after", 1),
        ("b", "after", 1),
        ("a", "end"),
        ("b", "end"),
    ]
    assert draft.reason == "max_tokens"


def test_a_step_that_ends_generation_skips_the_later_steps_of_that_token():
    log: list = []
    draft = run([Log("a", log, stop_after=1), Log("b", log)], a_draft(5))
    assert ("b", "after", 0) not in log and ("a", "before", 1) not in log
    assert log[-2:] == [("a", "end"), ("b", "end")]  # the suggestion is still finished
    assert draft.reason == "a stopped"


def test_a_stale_request_raises_generation_cancelled():
    Request(should_cancel=lambda: False).check()
    with pytest.raises(GenerationCancelled, match="newer request"):
        Request(should_cancel=lambda: True).check()


def test_the_gate_lets_through_only_what_passed_a_word_boundary():
    gate = Gate(0.5, ends_word=None)
    assert gate.sure("flew over") == ""
    gate.cuts.append((5, 0.8))
    assert gate.sure("flew over") == "flew "[:5]
    assert Gate(0.0, ends_word=None).sure("flew over") == "flew over"


class StopAfterThreeTokens(Step):
    """A new rule: no suggestion longer than three tokens (the re-spelt one included)."""

    def after(self, draft):
        if draft.n_generated >= 3:
            draft.reason = "three tokens"
            return True
        return False


class ThreeTokenEngine(Engine):
    def chain(self, pick=None):
        steps = super().chain() if pick is None else super().chain(pick)
        steps.insert(-1, StopAfterThreeTokens())  # before Propose: no 4th token is evaluated
        return steps


def test_a_step_added_to_the_chain_takes_part_in_every_suggestion(trained_gguf):
    config = EngineConfig(model_path=trained_gguf, confidence=0.0, **BASE)
    with Engine(config) as plain, ThreeTokenEngine(config) as short:
        full = plain.suggest("The dragon")
        cut = short.suggest("The dragon")
    assert full.text == " flew over the mountain."
    # Healing took " dragon" back: the three tokens are " dragon", " flew", " over".
    assert cut.text == " flew over"
    assert cut.extra.stop == "three tokens" and cut.extra.generated_tokens == 3
