"""One estimate of the time per step fits a time-budgeted run and gives the ETA shown.

A 115-minute run once showed "ETA 3:02:43" at minute 18: the bar divided the
elapsed time by the share of steps done (an average that counts the slow
first steps and the evaluations), while the schedule was fitted from the
median of the recent steps. Now the planner's `remaining_s` is the only ETA.
"""

from __future__ import annotations

import itertools
import re

import pytest

from finetune.report import Progress, clock, read_metrics
from finetune.schedule import BUDGET_SHARE, SchedulePlanner
from tests.finetune.test_train import _tiny_config
from tests.finetune.training_corpus import write_corpus


def _planner(**kwargs) -> SchedulePlanner:
    settings = dict(
        lr=1e-3, warmup_steps=10, min_lr_ratio=0.1, train_tokens=10**9, tokens_per_step=1000
    )
    return SchedulePlanner.plan(**{**settings, **kwargs})


def test_a_budgeted_run_needs_the_time_left_in_its_budget_not_its_average_pace():
    planner = _planner(max_minutes=115)
    assert planner.fitted and planner.total_steps is None
    # Minute 18, step 540: the first steps compiled and evaluations took their
    # time (2 s a step on average), but the steps now take 1 s.
    for seconds in [1.0, 1.1, 0.9] * 20:
        planner.record(seconds)
    elapsed, step = 18 * 60.0, 540
    assert planner.refit(step, elapsed)
    remaining = planner.remaining_s(step, elapsed)
    left = 115 * 60 * BUDGET_SHARE - elapsed
    assert left - 1.0 <= remaining <= left  # within one step of the budget left
    assert planner.total_steps == step + int(left / 1.0)
    assert clock(remaining) == "1:33:33"  # the old bar said 3:07:06 here


def test_a_run_of_fixed_steps_needs_its_steps_left_times_the_median_step():
    planner = _planner(max_steps=1000)
    for seconds in (0.5, 0.5, 9.0, 0.5, 0.5):  # one step slowed by a busy machine
        planner.record(seconds)
    assert not planner.refit(100, 60.0)  # a step count is never refitted
    assert planner.remaining_s(100, 60.0) == pytest.approx(900 * 0.5)


def test_nothing_is_promised_before_steps_are_timed():
    assert _planner(max_steps=1000).remaining_s(1, 1.0) is None
    budgeted = _planner(max_minutes=10)
    assert budgeted.remaining_s(1, 60.0) == pytest.approx(600 * BUDGET_SHARE - 60)


def test_the_bar_shows_the_eta_it_is_given(capsys):
    planner = _planner(max_minutes=115)
    for _ in range(5):
        planner.record(1.5)
    planner.refit(540, 1080.0)
    remaining = planner.remaining_s(540, 1080.0)
    with Progress(planner.total_steps, 0) as bar:
        bar.update(540, planner.total_steps, 4.2, 1000.0, None, 1080.0, remaining)
    shown = re.findall(r"ETA (\S+)", capsys.readouterr().err)
    assert shown and set(shown) == {clock(remaining)}


def test_a_training_run_shows_the_planners_eta_on_every_line(tmp_path, capsys):
    from finetune.train import train

    books, val = write_corpus(tmp_path)
    out = tmp_path / "out"
    # A 9-second budget: the planner fits the run's length, as for a real one.
    train(_tiny_config(books, val, out, tmp_path / "cache", max_minutes=0.15, eval_every=1000))
    rows = [r for r in read_metrics(out / "metrics.jsonl") if "loss" in r]
    expected = [clock(r["remaining_s"]) for r in rows]
    shown = re.findall(r"ETA (\S+)", capsys.readouterr().err)
    assert len(rows) > 5

    def squeeze(etas: list[str]) -> list[str]:  # the bar is redrawn after notes and at close
        return [eta for eta, _ in itertools.groupby(etas)]

    assert squeeze(shown) == squeeze(expected)
    assert rows[-1]["step"] == rows[-1]["total_steps"]  # the run ended where the planner said


# --------------------------------------------------------------------------- --schedule wsd


def test_wsd_warms_up_holds_the_peak_then_cools_down_by_one_minus_sqrt():
    from finetune.schedule import lr_factor

    total, warmup, floor, cooldown = 1000, 10, 0.1, 0.2

    def f(step: int) -> float:
        return lr_factor(step, total, warmup, floor, "wsd", cooldown)

    # Warmup: linear up to the peak.
    assert [f(s) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    # Stable: the peak until the last 20% of the steps.
    assert {f(s) for s in range(10, 800)} == {1.0}
    # Cooldown: floor + (1 - floor)(1 - sqrt(progress)), from the peak to the floor.
    for step in (800, 820, 850, 900, 950, 999, 1000):
        progress = (step - 800) / 200
        assert f(step) == pytest.approx(floor + (1 - floor) * (1 - progress**0.5)), step
    assert f(900) == pytest.approx(0.1 + 0.9 * (1 - 0.5**0.5))  # 0.364, a linear one: 0.55
    # 1 - sqrt drops fastest first: the first tenth of the cooldown loses more
    # than the last tenth, unlike a cosine, which is flat at both ends.
    assert f(800) - f(820) > 3 * (f(980) - f(1000))
    lrs = [f(s) for s in range(10, 1001)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))


def test_cosine_is_the_default_and_unchanged():
    from finetune.schedule import lr_at, lr_factor

    for step in (0, 9, 10, 400, 999):
        assert lr_factor(step, 1000, 10, 0.1) * 1e-3 == pytest.approx(
            lr_at(step, 1000, 1e-3, 10, 0.1)
        )


def test_a_wsd_run_logs_the_peak_then_the_cooldown(tmp_path):
    from finetune.train import train

    books, val = write_corpus(tmp_path)
    out = tmp_path / "out"
    cfg = _tiny_config(
        books, val, out, tmp_path / "cache",
        max_steps=10, warmup_steps=1, eval_every=1000, schedule="wsd", cooldown=0.4, lr=1e-2,
    )  # fmt: skip
    train(cfg)
    lrs = [r["lr"] for r in read_metrics(out / "metrics.jsonl") if "loss" in r]
    # A one-step warmup reaches the peak at once; steps 1-6 hold it; 7-10 cool down.
    assert lrs[:6] == pytest.approx([1e-2] * 6)
    assert lrs[6:] == pytest.approx([1e-3 + 9e-3 * (1 - (k / 4) ** 0.5) for k in range(4)])
